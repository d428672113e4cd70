"""``gait approve-script`` and ``gait list-scripts`` (trace.md §7): the approved-script registry."""

from __future__ import annotations

import time
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.cli.verify import _key_flags
from gait.errors import InvalidInput


@gait_command(
    None,
    "approve-script",
    explain="Sign a registry entry that pre-approves one script under one policy until it expires.",
    help="Add a signed approved-script entry for a script intent to a registry file.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--policy", default="", help="Policy the script is approved under.")
@click.option("--intent", default="", help="Script intent JSON (with script.steps).")
@click.option("--registry", default="", help="Registry JSON file (created if missing).")
@click.option("--approver", default="", help="Approver identity.")
@click.option("--pattern-id", default="", help="Entry id (default: script_<hash prefix>).")
@click.option("--ttl", default="168h", show_default=True, help="Go duration until expiry.")
@click.option("--scope", default="", help="CSV of scopes recorded in the entry.")
@click.option("--key-mode", default="dev", show_default=True, help="dev (ephemeral) or prod.")
@click.option("--private-key", default=None, help="Base64 private key file (prod).")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key (prod).")
def approve_command(
    args: tuple[str, ...],
    policy: str,
    intent: str,
    registry: str,
    approver: str,
    pattern_id: str,
    ttl: str,
    scope: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.cli.common import csv_list, load_compiled, load_intent
    from gait.gate.approved_scripts import add_entry, build_entry
    from gait.policy.duration import parse_go_duration
    from gait.signing import format_rfc3339, resolve_signing_key

    if args:
        raise InvalidInput("unexpected positional arguments")
    if not all(v.strip() for v in (policy, intent, registry, approver)):
        raise InvalidInput("--policy, --intent, --registry, and --approver are required")
    try:
        ttl_ns = parse_go_duration(ttl)
    except ValueError as err:
        raise InvalidInput("invalid --ttl duration") from err
    if ttl_ns <= 0:
        raise InvalidInput("invalid --ttl duration")
    compiled = load_compiled(policy.strip())
    _, normalized = load_intent(intent.strip())
    if normalized.script is None:
        raise InvalidInput("intent must include script.steps")
    key, warnings = resolve_signing_key(
        key_mode.strip() or "dev", private_key=private_key, private_key_env=private_key_env
    )
    now = time.time_ns()
    entry = build_entry(
        pattern_id=pattern_id.strip() or f"pattern_{normalized.script_hash[:12]}",
        policy_digest=compiled.policy_digest,
        script_hash=normalized.script_hash,
        tool_sequence=[step.tool_name for step in normalized.script],
        approver=approver,
        created_at=format_rfc3339(*divmod(now, 1_000_000_000)),
        expires_at=format_rfc3339(*divmod(now + ttl_ns, 1_000_000_000)),
        scope=csv_list(scope),
        producer_version=__version__,
        key=key,
    )
    count = add_entry(registry.strip(), entry)
    payload: dict[str, Any] = {
        "ok": True,
        "registry": registry.strip(),
        "registry_path": registry.strip(),
        "pattern_id": entry["pattern_id"],
        "policy_digest": entry["policy_digest"],
        "script_hash": entry["script_hash"],
        "tool_sequence": entry["tool_sequence"],
        "expires_at": entry["expires_at"],
        "key_id": key.key_id,
        "entries": count,
        "warnings": warnings,
    }
    return Outcome(
        payload,
        text=[
            f"approve-script: pattern={entry['pattern_id']} registry={registry.strip()}",
            f"policy_digest={entry['policy_digest']} script_hash={entry['script_hash']}",
        ],
    )


@gait_command(
    None,
    "list-scripts",
    explain="List approved-script registry entries and, with a key, check their signatures.",
    help="List an approved-script registry (status valid|expired|invalid|unverified).",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--registry", default="", help="Registry JSON file.")
@_key_flags
def list_command(
    args: tuple[str, ...],
    registry: str,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait.gate.approved_scripts import entry_status, read_registry

    if args:
        raise InvalidInput("unexpected positional arguments")
    if not registry.strip():
        raise InvalidInput("--registry is required")
    key = None
    if any(v and v.strip() for v in (public_key, public_key_env, private_key, private_key_env)):
        from gait.signing import resolve_verify_key

        key = resolve_verify_key(
            public_key=public_key,
            public_key_env=public_key_env,
            private_key=private_key,
            private_key_env=private_key_env,
        )
    now = time.time_ns()
    rows = []
    for entry in read_registry(registry.strip()):
        status, detail = entry_status(entry, key, now)
        row = {
            "pattern_id": str(entry.get("pattern_id") or ""),
            "approver_identity": str(entry.get("approver_identity") or ""),
            "policy_digest": str(entry.get("policy_digest") or ""),
            "script_hash": str(entry.get("script_hash") or ""),
            "tool_sequence": list(entry.get("tool_sequence") or []),
            "expires_at": str(entry.get("expires_at") or ""),
            "expired": _expired(entry, now),
            "status": status,
        }
        if entry.get("scope"):
            row["scope"] = list(entry["scope"])
        if detail:
            row["error"] = detail
        rows.append(row)
    payload: dict[str, Any] = {"ok": True, "registry": registry.strip()}
    if rows:  # a zero count and no entries are left out, as the original
        payload.update(count=len(rows), entries=rows)
    lines = [f"list-scripts: {len(rows)} entries in {registry.strip()}"]
    # the original's line; with a key (our addition) the signature check is appended
    checked = key is not None
    lines += [
        f"- {r['pattern_id']} ({'expired' if r['expired'] else 'active'}) "
        f"approver={r['approver_identity']} expires={r['expires_at']}"
        + (f" status={r['status']}" if checked else "")
        for r in rows
    ]
    return Outcome(payload, text=lines)


def _expired(entry: dict[str, Any], now_ns: int) -> bool:
    """Not after now (an unreadable expiry counts as expired)."""
    from gait.signing import parse_rfc3339

    try:
        seconds, nanos = parse_rfc3339(str(entry.get("expires_at") or ""))
    except (ValueError, InvalidInput):
        return True
    return seconds * 1_000_000_000 + nanos <= now_ns
