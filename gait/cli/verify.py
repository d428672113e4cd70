"""``gait verify <run_id|path>`` and ``gait verify chain`` (runpack.md §4)."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.cli.verify_runpack import (
    NOTES,
    load_verify_key,
    next_commands,
    verify_one,
    verify_payload,
    verify_text,
)
from gait.errors import InvalidInput

__all__ = [
    "NOTES",
    "command",
    "load_verify_key",
    "next_commands",
    "verify_payload",
    "verify_text",
]


def _key_flags(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--public-key", default=None, help="Base64 public key file."),
            click.option(
                "--public-key-env", default=None, help="Env var with a base64 public key."
            ),
            click.option(
                "--private-key", default=None, help="Base64 private key file (public derived)."
            ),
            click.option(
                "--private-key-env", default=None, help="Env var with a base64 private key."
            ),
        ]
    ):
        fn = option(fn)
    return fn


@gait_command(
    None,
    "verify",
    explain=(
        "Verify runpack integrity offline: file hashes, manifest digest, and optional signatures."
    ),
    help=(
        "Verify a runpack (run_id or path) offline. Exit 0 ok, 2 integrity or signature "
        "failure, 6 unreadable input. `gait verify chain --run X [--trace t.json] [--pack p.zip]` "
        "also verifies a signed trace and an evidence pack; `gait verify session-chain "
        "--chain c.json` re-checks every session checkpoint."
    ),
)
@click.argument("targets", nargs=-1, metavar="RUN_ID|PATH")
@click.option("--profile", default="standard", help="standard|strict (strict requires a key).")
@click.option("--require-signature", is_flag=True, help="Fail unless a signature verifies.")
@_key_flags
@click.option("--run", "run_target", default=None, help="verify chain: run_id or runpack path.")
@click.option("--trace", "trace_path", default=None, help="verify chain: signed trace file.")
@click.option("--pack", "pack_path", default=None, help="verify chain: evidence pack zip.")
@click.option("--chain", "chain_path", default=None, help="verify session-chain: chain JSON file.")
def command(
    targets: tuple[str, ...],
    profile: str,
    require_signature: bool,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
    run_target: str | None,
    trace_path: str | None,
    pack_path: str | None,
    chain_path: str | None,
    json: bool,
) -> Outcome:
    if targets and targets[0] == "session-chain":
        return _session_chain(
            targets[1:],
            chain_path,
            profile,
            require_signature,
            (public_key, public_key_env, private_key, private_key_env),
        )
    if chain_path:
        raise InvalidInput("--chain is only valid with `gait verify session-chain`")
    if targets and targets[0] == "chain":
        return _chain(
            targets[1:],
            run_target,
            trace_path,
            pack_path,
            profile,
            require_signature,
            (public_key, public_key_env, private_key, private_key_env),
        )
    if run_target or trace_path or pack_path:
        raise InvalidInput("--run/--trace/--pack are only valid with `gait verify chain`")
    return verify_one(
        targets,
        profile=profile,
        require_signature=require_signature,
        keys=(public_key, public_key_env, private_key, private_key_env),
    )


def _chain(
    rest: tuple[str, ...],
    run_target: str | None,
    trace_path: str | None,
    pack_path: str | None,
    profile: str,
    require_signature: bool,
    keys: tuple[str | None, str | None, str | None, str | None],
) -> Outcome:
    if rest:
        raise InvalidInput("unexpected positional arguments")
    if not (run_target and run_target.strip()):
        raise InvalidInput("--run is required")
    key, strict = load_verify_key(profile, *keys)
    require = require_signature or strict
    run_payload = verify_payload(run_target, key, require)
    payload: dict[str, Any] = {"run": run_payload}
    ok = bool(run_payload["ok"])
    if trace_path and trace_path.strip():
        from gait.trace import read_trace, verify_trace

        if key is None:
            raise InvalidInput("trace verification requires --public-key or a private key source")
        record = read_trace(trace_path)
        trace_out = verify_trace(record, key, path=trace_path)
        error = trace_out.pop("error", "")
        trace_payload = {k: v for k, v in trace_out.items() if v != ""}
        trace_payload["ok"] = not error
        if error:
            trace_payload["error"] = error
        payload["trace"] = trace_payload
        ok = ok and not error
    if pack_path and pack_path.strip():
        from gait.packs.verify import verify_any_pack

        pack_report = verify_any_pack(pack_path.strip(), public_key=key, require_signature=require)
        payload["pack"] = pack_report.to_json()
        ok = ok and pack_report.ok
    payload["ok"] = ok
    lines = [f"verify chain {'ok' if ok else 'failed'}: run={run_payload.get('path', '')}"]
    if "trace" in payload:
        lines.append(f"trace: {'ok' if payload['trace']['ok'] else 'failed'} {trace_path}")
    if "pack" in payload:
        lines.append(f"pack: {'ok' if payload['pack']['ok'] else 'failed'} {pack_path}")
    return Outcome(payload, 0 if ok else 2, text=lines)


def _session_chain(
    rest: tuple[str, ...],
    chain_path: str | None,
    profile: str,
    require_signature: bool,
    keys: tuple[str | None, str | None, str | None, str | None],
) -> Outcome:
    from gait.runpack.session import verify_chain

    values = [v for v in (*rest, *([chain_path] if chain_path else [])) if v.strip()]
    if len(values) != 1:
        raise InvalidInput("expected --chain <file> or one positional chain file")
    key, strict = load_verify_key(profile, *keys)
    payload = verify_chain(
        values[0].strip(), public_key=key, require_signature=require_signature or strict
    )
    ok = payload["ok"]
    lines = [
        f"verify session-chain {'ok' if ok else 'failed'}: {payload['chain_path']} "
        f"checkpoints={payload['checkpoints_checked']}"
    ]
    lines += [f"linkage error: {e}" for e in payload["linkage_errors"]]
    lines += [f"checkpoint error: {e}" for e in payload["checkpoint_errors"]]
    return Outcome(payload, 0 if ok else 2, text=lines)
