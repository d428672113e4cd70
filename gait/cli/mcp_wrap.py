"""``gait mcp wrap``: put the gate in front of a real MCP server (stdio in, stdio out)."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import Exit, Outcome, gait_command
from gait.cli.mcp import group
from gait.errors import GaitError, InvalidInput

_SERVER_ARGV = "gait.mcp_wrap.server"

_HELP = (
    "Run an MCP server (stdio) that starts the wrapped MCP server given after `--`, "
    "lists its tools, and gates every tools/call: allowed calls are forwarded and "
    "their results returned unchanged; block, require_approval and dry_run are "
    "answered with an MCP tool error and the tool is never called. One signed "
    "trace per decision in --trace-dir. stdout is the MCP channel; logs go to stderr.\n\n"
    "Example: gait mcp wrap --policy policy.yaml -- python my_server.py"
)


@gait_command(
    group,
    "wrap",
    explain=(
        "Gate every tools/call of a wrapped MCP server: forward allowed calls, refuse the "
        "rest with an MCP tool error, sign a trace per decision."
    ),
    help=_HELP,
)
@click.argument("args", nargs=-1, metavar="[POLICY] -- SERVER_COMMAND [SERVER_ARGS]...")
@click.option("--policy", default="", help="Policy file (.yaml or .gaitpol); may be positional.")
@click.option(
    "--trace-dir",
    default="./gait-out/mcp-wrap/traces",
    show_default=True,
    help="Directory for one signed trace (and approval/delegation audit) per decision.",
)
@click.option("--profile", default="standard", show_default=True, help="standard or oss-prod.")
@click.option("--key-mode", default="dev", show_default=True, help="Trace signing: dev or prod.")
@click.option("--private-key", default=None, help="Signing key file (prod).")
@click.option("--private-key-env", default=None, help="Env var holding the signing key (prod).")
@click.option("--approval-public-key", default=None, help="Key file that verifies approval tokens.")
@click.option(
    "--approval-public-key-env", default=None, help="Env var with the approval verify key."
)
@click.option(
    "--state",
    default=None,
    help="Shared state for budgets and rate limits: a file path or redis://host:port/db.",
)
@click.option("--identity", default="", help="context.identity of every call (agent identity).")
@click.option("--workspace", default="", help="context.workspace of every call.")
@click.option("--risk-class", default="", help="context.risk_class of every call (default high).")
@click.option("--session-id", default="", help="context.session_id of every call.")
@click.option("--phase", default="", help="context.phase of every call (plan or apply).")
@click.option("--run-id", default="", help="Run id used in trace names (default per call).")
@click.option(
    "--job-id",
    default="",
    help="context.job_id of every call: once `gait job stop` stops the job, calls are blocked.",
)
@click.option(
    "--job-root",
    default="./gait-out/jobs",
    show_default=True,
    help="Job store root for the emergency stop: a stopped (or unknown) --job-id blocks calls.",
)
@click.option(
    "--server-id",
    default="",
    help="The wrapped server's id in the policy's mcp_trust snapshot.",
)
@click.option(
    "--server-name",
    default="",
    help="The wrapped server's name in the mcp_trust snapshot (when it has no --server-id).",
)
@click.option(
    "--startup-timeout",
    default=30.0,
    show_default=True,
    type=float,
    help="Seconds the wrapped server has to answer the MCP handshake.",
)
def _wrap(args: tuple[str, ...], json: bool, **opts: Any) -> Outcome:
    ctx = click.get_current_context()
    server_argv = list(ctx.meta.get(_SERVER_ARGV) or [])
    policy = opts["policy"].strip()
    positional = list(args)
    if not policy and positional:
        policy = positional.pop(0).strip()
    if positional:
        raise InvalidInput(
            f"unexpected arguments {' '.join(positional)!r}: put the wrapped server command after --"
        )
    if not policy:
        raise InvalidInput("--policy is required")
    if not server_argv or not server_argv[0].strip():
        raise InvalidInput(
            "missing wrapped MCP server command: gait mcp wrap --policy <policy> -- <command ...>"
        )
    if opts["startup_timeout"] <= 0:
        raise InvalidInput("--startup-timeout must be > 0")
    from gait.gate.choices import check_key_mode, check_profile

    profile = check_profile(opts["profile"])
    key_mode = check_key_mode(opts["key_mode"])
    context = {
        "identity": opts["identity"].strip(),
        "workspace": opts["workspace"].strip(),
        "risk_class": opts["risk_class"].strip().lower(),
        "session_id": opts["session_id"].strip(),
        "phase": opts["phase"].strip().lower(),
        "job_id": opts["job_id"].strip(),
    }
    if profile == "oss-prod":
        missing = [f"--{k.replace('_', '-')}" for k in ("identity", "workspace", "session_id")]
        missing = [flag for flag in missing if not context[flag[2:].replace("-", "_")]]
        if missing:
            raise InvalidInput(f"oss-prod profile requires {', '.join(missing)}")

    missing = _missing_sdk()
    if missing is not None:
        raise missing

    from gait.gate import Gate, GateOptions

    def opt(name: str) -> str | None:
        value = opts.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    options = GateOptions(
        profile=profile,
        key_mode=key_mode,
        private_key=opt("private_key"),
        private_key_env=opt("private_key_env"),
        approval_public_key=opt("approval_public_key"),
        approval_public_key_env=opt("approval_public_key_env"),
        state=opt("state"),
    )
    gate = Gate.from_policy_file(policy, options)

    from gait.mcp.gateway import GatewayConfig, run_gateway
    from gait.packs.jobs import JobStore

    job_root = opts["job_root"].strip() or "./gait-out/jobs"

    config = GatewayConfig(
        command=server_argv,
        trace_dir=opts["trace_dir"].strip() or "./gait-out/mcp-wrap/traces",
        profile=profile,
        context=context,
        run_id=opts["run_id"].strip(),
        startup_timeout_s=opts["startup_timeout"],
        server={"server_id": opts["server_id"].strip(), "server_name": opts["server_name"].strip()},
        job_root=job_root,
        job_status=JobStore(job_root).status,
    )
    run_gateway(gate, config)
    # The session is over and stdout belongs to the agent's MCP client: print nothing.
    raise Exit(0)


def _missing_sdk() -> GaitError | None:
    """Exit 7 naming the extra to install when the MCP SDK is absent."""
    import importlib.util

    if importlib.util.find_spec("mcp") is not None:
        return None
    return GaitError(
        "mcp wrap needs the official MCP Python SDK (missing dependency); install with: "
        'pip install "gait[mcp]"',
        exit_code=7,
        code="dependency_missing",
        category="dependency_missing",
    )


command: click.Command = _wrap
_parse_args = command.parse_args


def _split_server_argv(ctx: click.Context, args: list[str]) -> list[str]:
    """Everything after the first ``--`` is the wrapped server's command, untouched by click."""
    if "--" in args:
        at = args.index("--")
        ctx.meta[_SERVER_ARGV] = args[at + 1 :]
        args = args[:at]
    return _parse_args(ctx, args)


command.parse_args = _split_server_argv  # type: ignore[method-assign]
