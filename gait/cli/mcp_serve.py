"""``gait mcp serve``: the HTTP decision service (serve_sdk.md §3).

Flags are validated (exit 6) and the serve extra is checked (exit 7) before
any web framework is imported; then the policy is compiled once, the socket is
bound, the start-up line is printed and the command serves until stopped.
"""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import Exit, Outcome, gait_command
from gait.cli.mcp import group
from gait.errors import InvalidInput

_RETENTION = ("trace", "runpack", "pack", "session")


def _retention_options(fn: Any) -> Any:
    for name in reversed(_RETENTION):
        fn = click.option(
            f"--{name}-max-count",
            default=0,
            type=int,
            show_default=True,
            help=f"Keep at most this many {name} files (0 = no limit).",
        )(fn)
        fn = click.option(
            f"--{name}-max-age",
            default="0",
            show_default=True,
            help=f"Delete {name} files older than this Go duration, e.g. 168h (0 = never).",
        )(fn)
    return fn


@gait_command(
    group,
    "serve",
    explain=(
        "Run an HTTP decision service: POST /v1/evaluate (JSON), /v1/evaluate/sse, "
        "/v1/evaluate/stream (NDJSON) and GET /healthz; every decision is signed and traced."
    ),
    help=(
        "Run the HTTP decision service for --policy (compiled once; reloaded on SIGHUP or "
        "when the file changes). Endpoints: POST /v1/evaluate, /v1/evaluate/sse, "
        "/v1/evaluate/stream, GET /healthz. Needs the serve extra: pip install 'gait[serve]'."
    ),
)
@click.argument("args", nargs=-1, metavar="[POLICY]")
@click.option("--policy", default="", help="Policy file (.yaml or .gaitpol); may be positional.")
@click.option(
    "--listen",
    default="127.0.0.1:8787",
    show_default=True,
    help="host:port to listen on (port 0 picks a free port). Non-loopback needs token auth.",
)
@click.option(
    "--adapter",
    default="mcp",
    show_default=True,
    help="Default payload adapter: mcp, openai, anthropic, langchain, claude_code.",
)
@click.option("--profile", default="standard", show_default=True, help="standard or oss-prod.")
@click.option(
    "--job-root", default="./gait-out/jobs", show_default=True, help="Job state root directory."
)
@click.option(
    "--context-envelope",
    default="",
    help="Verified context envelope applied to every call (read once at start-up).",
)
@click.option(
    "--auth-mode", default="off", show_default=True, help="off or token (Bearer token auth)."
)
@click.option("--auth-token-env", default="", help="Env var holding the bearer token.")
@click.option(
    "--max-request-bytes",
    default=1_048_576,
    type=int,
    show_default=True,
    help="Largest accepted request body; bigger bodies get 413.",
)
@click.option(
    "--http-verdict-status",
    default="compat",
    show_default=True,
    help="compat: 200 for every decision; strict: 403 block, 409 require_approval/dry_run.",
)
@click.option(
    "--allow-client-artifact-paths",
    is_flag=True,
    help="Let requests choose trace/runpack/pack/session paths on the server.",
)
@click.option(
    "--trace-dir",
    default="./gait-out/mcp-serve/traces",
    show_default=True,
    help="Directory for the signed trace of every decision.",
)
@click.option("--runpack-dir", default="", help="Directory for runpacks (request emit_runpack).")
@click.option(
    "--pack-dir",
    default="",
    help="Directory for run packs: on request (emit_pack) and for every state-changing call.",
)
@click.option(
    "--session-dir",
    default="./gait-out/mcp-serve/sessions",
    show_default=True,
    help="Directory for session journals.",
)
@_retention_options
@click.option("--export-log-out", default="", help="Append one JSONL decision record per request.")
@click.option("--export-otel-out", default="", help="Append one OTel-style JSONL log per request.")
@click.option("--key-mode", default="dev", show_default=True, help="dev or prod signing keys.")
@click.option("--private-key", default="", help="Signing key file (prod).")
@click.option("--private-key-env", default="", help="Env var holding the signing key (prod).")
@click.option(
    "--state",
    default="",
    help="Shared state for rate limits/budgets: a file path or redis://host:port/db.",
)
@click.option(
    "--reload-interval",
    default=2.0,
    type=float,
    show_default=True,
    help="Seconds between policy file change checks (0: reload on SIGHUP only).",
)
@click.option(
    "--read-timeout",
    default=30.0,
    type=float,
    show_default=True,
    help="Seconds allowed to receive a request body before 408.",
)
@click.option(
    "--header-timeout",
    default=5.0,
    type=float,
    show_default=True,
    help="Seconds allowed to send the request headers; slower connections are closed.",
)
@click.option(
    "--decision-threads",
    default=16,
    type=int,
    show_default=True,
    help="Worker threads for decisions (signing and trace writes block).",
)
@click.option(
    "--trace-durability",
    default="strict",
    show_default=True,
    help="strict: an answer waits until its trace is fsynced; batch: the answer does not "
    "wait and traces are fsynced in batches within 10 ms (a power loss may lose that window).",
)
@click.option(
    "--workers",
    default=1,
    type=int,
    show_default=True,
    help="Server processes sharing the socket (use the cores; each loads the policy).",
)
@click.option(
    "--max-concurrency",
    default=1024,
    type=int,
    show_default=True,
    help="Connections served at once per process; more get 503 (bounds memory).",
)
@click.option("--access-log", is_flag=True, help="Log one line per request to stderr.")
def command(args: tuple[str, ...], json: bool, **opts: Any) -> Outcome:
    import sys

    from gait.cli.output import dumps, envelope, write_line
    from gait.serve.config import RetentionRule, ServeConfig, parse_duration_flag, validate_config

    policy = opts["policy"].strip()
    if args:
        if policy or len(args) > 1:
            raise InvalidInput("unexpected positional arguments")
        policy = args[0].strip()
    retention = {}
    for name in _RETENTION:
        rule = RetentionRule(
            max_age_ns=parse_duration_flag(f"--{name}-max-age", opts[f"{name}_max_age"]),
            max_count=opts[f"{name}_max_count"],
        )
        if rule.max_count < 0:
            raise InvalidInput(f"--{name}-max-count must be >= 0")
        if rule.active:
            retention[name] = rule
    config = validate_config(
        ServeConfig(
            policy=policy,
            listen=opts["listen"],
            adapter=opts["adapter"],
            profile=opts["profile"],
            job_root=opts["job_root"],
            context_envelope=opts["context_envelope"].strip(),
            auth_mode=opts["auth_mode"],
            auth_token_env=opts["auth_token_env"],
            max_request_bytes=opts["max_request_bytes"],
            http_verdict_status=opts["http_verdict_status"],
            allow_client_artifact_paths=opts["allow_client_artifact_paths"],
            trace_dir=opts["trace_dir"],
            runpack_dir=opts["runpack_dir"].strip(),
            pack_dir=opts["pack_dir"].strip(),
            session_dir=opts["session_dir"].strip(),
            retention=retention,
            export_log_out=opts["export_log_out"].strip(),
            export_otel_out=opts["export_otel_out"].strip(),
            key_mode=opts["key_mode"],
            private_key=opts["private_key"].strip(),
            private_key_env=opts["private_key_env"].strip(),
            state=opts["state"].strip(),
            reload_interval=opts["reload_interval"],
            read_timeout=opts["read_timeout"],
            header_timeout=opts["header_timeout"],
            decision_threads=opts["decision_threads"],
            trace_durability=opts["trace_durability"],
            workers=opts["workers"],
            max_concurrency=opts["max_concurrency"],
            access_log=opts["access_log"],
        )
    )
    from gait.serve.deps import missing_serve_dependency

    missing = missing_serve_dependency()
    if missing is not None:
        raise missing
    from gait.serve.server import run_server
    from gait.serve.service import DecisionService

    service = DecisionService(config)  # compile + key errors surface here, before binding

    def ready(address: str) -> None:
        if json:
            payload = {
                "ok": True,
                "listen": address,
                "policy": config.policy,
                "adapter": config.adapter,
                "profile": config.profile,
            }
            write_line(dumps(envelope(payload, 0, ["gait", *sys.argv[1:]])))
        else:
            write_line(f"mcp serve: listening={address} adapter={config.adapter}")
            for warning in service.gate.key_warnings:
                write_line(f"warning: {warning}", err=True)
        sys.stdout.flush()

    run_server(config, on_ready=ready, service=service)
    raise Exit(0)
