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
    # The reference's lines (cmd/gait/verify.go writeVerifyChainOutput).
    lines = ["verify chain: ok" if ok else "verify chain failed"]
    if ok or run_payload.get("path"):
        lines.append(f"runpack: {run_payload.get('path', '')}")
    for name in ("trace", "pack"):
        if name in payload:
            part = payload[name]
            lines.append(f"{name}: {part.get('path', '')} ({part.get('signature_status', '')})")
    return Outcome(payload, 0 if ok else 2, text=lines)


def _session_chain(
    rest: tuple[str, ...],
    chain_path: str | None,
    profile: str,
    require_signature: bool,
    keys: tuple[str | None, str | None, str | None, str | None],
) -> Outcome:
    from gait.runpack.session import verify_chain

    # As the reference: --chain wins, else exactly one positional.
    rest_list = list(rest)
    target = (chain_path or "").strip()
    if not target and len(rest_list) == 1:
        target, rest_list = rest_list[0].strip(), []
    if not target or rest_list:
        raise InvalidInput("expected --chain <session_chain.json>")
    key, strict = load_verify_key(profile, *keys)
    payload = verify_chain(target, public_key=key, require_signature=require_signature or strict)
    ok = payload["ok"]
    if ok:
        lines = [
            f"verify session-chain: ok ({payload['chain_path']})",
            f"session={payload['session_id']} run={payload['run_id']} "
            f"checkpoints={payload['checkpoints_checked']}",
        ]
    else:
        lines = [f"verify session-chain failed: {payload['chain_path']}"]
        if payload["linkage_errors"]:
            lines.append("linkage errors: " + "; ".join(payload["linkage_errors"]))
        if payload["checkpoint_errors"]:
            lines.append("checkpoint errors: " + "; ".join(payload["checkpoint_errors"]))
    # Empty lists and a zero count are left out of the JSON, as the reference.
    for name in ("linkage_errors", "checkpoint_errors", "checkpoints_checked", "session_id"):
        if not payload.get(name):
            payload.pop(name, None)
    return Outcome(payload, 0 if ok else 2, text=lines)
