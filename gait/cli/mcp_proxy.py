"""``gait mcp proxy`` (alias ``gait mcp bridge``): decide one tool-call payload; never execute it."""

from __future__ import annotations

import sys
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.cli.mcp import group
from gait.errors import InvalidInput

_EXPLAIN = (
    "Decode an MCP or adapter-formatted tool call, evaluate it against a policy exactly as "
    "`gate eval` would, and write a signed trace. The tool is never executed."
)
_HELP = (
    "Decide one tool call (--call FILE, or - for stdin) against --policy and write a signed "
    "trace; the tool is never executed. Exit 0 allow/dry_run, 3 block, 4 require_approval, "
    "6 invalid input."
)


def _read_call(path: str) -> bytes:
    if path == "-":
        try:
            return sys.stdin.buffer.read()
        except OSError as err:
            raise InvalidInput(f"read stdin payload: {err}") from None
    from gait.fsutil import go_os_error

    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        raise InvalidInput(f"read call payload: {go_os_error(path, err)}") from None


def _options(fn: Any) -> Any:
    options = [
        click.argument("args", nargs=-1, metavar="[POLICY] [CALL]"),
        click.option(
            "--policy", default="", help="Policy file (.yaml or .gaitpol); or 1st positional."
        ),
        click.option(
            "--call",
            "call_path",
            default="",
            help="Tool call JSON file, - for stdin; or 2nd positional.",
        ),
        click.option(
            "--adapter",
            default="mcp",
            show_default=True,
            help="Payload format: mcp, openai, anthropic, langchain or claude_code.",
        ),
        click.option(
            "--profile",
            default="standard",
            show_default=True,
            help="standard (fallback context) or oss-prod (explicit context, prod keys).",
        ),
        click.option(
            "--context-envelope",
            default="",
            help="Context envelope JSON: verified, then overrides the intent's context evidence.",
        ),
        click.option(
            "--job-root",
            default="./gait-out/jobs",
            show_default=True,
            help="Job store root: calls whose context.job_id is stopped (or unknown) are blocked.",
        ),
        click.option(
            "--trace-out",
            default="",
            help="Trace path (default trace_<run id>_<UTC timestamp>.json in the current folder).",
        ),
        click.option("--run-id", default="", help="Run id for the proxy artifacts."),
        click.option("--runpack-out", default="", help="Also write a one-intent runpack zip here."),
        click.option(
            "--pack-out",
            default="",
            help="Also write a signed run pack zip (built from the runpack) here.",
        ),
        click.option(
            "--export-log-out", default="", help="Append one JSON log line per decision here."
        ),
        click.option(
            "--export-otel-out",
            default="",
            help="Append one OTel-style JSON line per decision here.",
        ),
        click.option(
            "--key-mode", default="dev", show_default=True, help="Signing key mode: dev or prod."
        ),
        click.option("--private-key", default="", help="Signing private key file (prod)."),
        click.option(
            "--private-key-env", default="", help="Env var holding the signing private key (prod)."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run(args: tuple[str, ...], **opts: Any) -> Outcome:
    from gait.cli.output import correlation_id
    from gait.gate import Gate, GateOptions
    from gait.mcp.decode import decode_tool_call
    from gait.mcp.proxy import check_context_envelope, evaluate_call
    from gait.packs.jobs import JobStore

    policy = opts["policy"].strip()
    call_path = opts["call_path"].strip()
    rest = list(args)
    if not policy and rest:
        policy = rest.pop(0).strip()
    if not call_path and rest:
        call_path = rest.pop(0).strip()
    if not policy or not call_path or rest:
        raise InvalidInput("expected --policy <policy.yaml> and --call <tool_call.json|->")

    from gait.gate.choices import check_key_mode, check_profile

    profile = check_profile(opts["profile"])
    key_mode = check_key_mode(opts["key_mode"])
    call = decode_tool_call(_read_call(call_path), adapter=opts["adapter"], profile=profile)
    check_context_envelope(call, opts["context_envelope"])
    options = GateOptions(
        profile=profile,
        key_mode=key_mode,
        private_key=opts["private_key"].strip() or None,
        private_key_env=opts["private_key_env"].strip() or None,
    )
    # Checked before the policy is read, as the spec orders the steps.
    if profile == "oss-prod" and key_mode != "prod":
        raise InvalidInput("oss-prod profile requires --key-mode prod")
    pack_out = opts["pack_out"].strip()
    # Checked before deciding, so a bad path leaves no trace behind.
    if pack_out:
        from gait.serve.packs import check_pack_out

        check_pack_out(pack_out)
    job_root = opts["job_root"].strip() or "./gait-out/jobs"
    gate = Gate.from_policy_file(policy, options)
    try:
        result = evaluate_call(
            gate,
            call,
            run_id=opts["run_id"],
            trace_path=opts["trace_out"].strip() or None,
            runpack_out=opts["runpack_out"].strip() or None,
            export_log_out=opts["export_log_out"].strip() or None,
            export_otel_out=opts["export_otel_out"].strip() or None,
            context_envelope=opts["context_envelope"].strip() or None,
            job_root=job_root,
            job_status=JobStore(job_root).status,
            correlation_id=correlation_id(["gait", *sys.argv[1:]]),
        )
    finally:
        gate.close()  # the state store's connections
    if pack_out:
        from gait.serve.packs import write_decision_pack  # the same packs as mcp serve

        result.pack_path, result.pack_id = write_decision_pack(gate, result, pack_out)
    payload = result.payload()
    text = [f"mcp proxy: verdict={result.verdict}", f"trace: {payload.get('trace_path', '')}"]
    if result.runpack_path:
        text.append(f"runpack: {result.runpack_path}")
    if result.pack_path:
        text.append(f"pack: {result.pack_path}")
    return Outcome(payload, exit_code=result.exit_code, text=text)


def _command(name: str) -> click.Command:
    def run(args: tuple[str, ...], json: bool, **opts: Any) -> Outcome:
        return _run(args, **opts)

    command = gait_command(group, name, explain=_EXPLAIN, help=_HELP)(_options(run))
    if name != "proxy":
        from gait.cli.outcome import run_body

        # The alias reports errors as "mcp proxy error: ..." too (cmd/gait/mcp.go
        # writeMCPProxyOutput serves both names).
        def callback(**kwargs: Any) -> None:
            run_body("mcp proxy", bool(kwargs.get("json")), lambda: run(**kwargs))

        command.callback = callback
    return command


proxy = _command("proxy")
bridge = _command("bridge")
