"""Migration hints for legacy spellings (cli.md §1.1 ``migration``).

Old command names, old flag names and legacy policy proposal fields are
rejected (exit 6); the error text names the replacement, and the JSON error
envelope carries it as a ``migration`` object plus a one-line ``hint``.
Imported only when an error message has one of the prefixes below.
"""

from __future__ import annotations

from typing import Any

COMMAND_PREFIX = "deprecated command spelling: "
FLAG_PREFIX = "deprecated flag spelling: "
POLICY_PREFIX = "legacy policy proposal fields are not supported ["

# Legacy command names still recognised, and what replaced them.
LEGACY_COMMANDS = {"mcp-verify": ("gait mcp-verify", "gait mcp verify")}
# command -> (old flag, new flag, fields the command's JSON error carries)
LEGACY_FLAGS: dict[str, tuple[str, str, dict[str, str]]] = {
    "capture": (
        "--save-as",
        "--out",
        {"schema_id": "gait.capture.receipt", "schema_version": "1.0.0"},
    ),
}


def uses_flag(args: list[str], flag: str) -> bool:
    """``--flag``, ``--flag=v`` or Go's ``-flag`` before any ``--``."""
    names = (flag, flag[1:])
    for arg in args:
        if arg == "--":
            return False
        if arg.strip().partition("=")[0] in names:
            return True
    return False


POLICY_HINT = (
    "use the repo-root `.gait.yaml` contract: `schema_id`, `schema_version`, "
    "`default_verdict`, optional `fail_closed`, optional `mcp_trust`, and `rules`"
)
# field -> (replacement fields, note); the order is the order fields are reported in
POLICY_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "version": (
        ("schema_id", "schema_version"),
        "set schema_id=gait.gate.policy and schema_version=1.0.0",
    ),
    "name": (
        (),
        "remove the top-level policy name; rule names remain under rules[].name when needed",
    ),
    "boundaries": (("rules", "mcp_trust"), ""),
    "defaults": (("default_verdict", "fail_closed"), ""),
    "trust_sources": (
        ("mcp_trust.snapshot",),
        "render external trust data to a local snapshot before evaluation",
    ),
    "unknown_server": (
        ("mcp_trust.action",),
        "enforce unknown servers through local snapshot coverage and a fail-closed action",
    ),
}


def command_error(deprecated: str, replacement: str) -> str:
    return f"{COMMAND_PREFIX}{deprecated.strip()} -> {replacement.strip()}"


def flag_error(deprecated: str, replacement: str) -> str:
    return f"{FLAG_PREFIX}{deprecated.strip()} -> {replacement.strip()}"


def _pair(body: str) -> tuple[str, str] | None:
    old, arrow, new = body.partition("->")
    return (old.strip(), new.strip()) if arrow else None


def policy_field_migrations(names: list[str]) -> list[dict[str, Any]]:
    """The known legacy fields among ``names``, once each, in the fixed report order."""
    wanted = {n.strip() for n in names}
    out = []
    for field, (replacements, note) in POLICY_FIELDS.items():
        if field not in wanted:
            continue
        entry: dict[str, Any] = {"field": field}
        if replacements:
            entry["replacement_fields"] = list(replacements)
        if note:
            entry["note"] = note
        out.append(entry)
    return out


def migration_for(error: str) -> tuple[str, dict[str, Any] | None]:
    """``(hint, migration)`` for a legacy-spelling error, ``("", None)`` for any other."""
    text = error.strip()
    if text.startswith(COMMAND_PREFIX):
        pair = _pair(text[len(COMMAND_PREFIX) :])
        if pair is None:
            return "", None
        return f"use `{pair[1]}` instead", {
            "kind": "command",
            "deprecated_command": pair[0],
            "replacement_command": pair[1],
        }
    if text.startswith(FLAG_PREFIX):
        pair = _pair(text[len(FLAG_PREFIX) :])
        if pair is None:
            return "", None
        return f"use `{pair[1]}` instead", {
            "kind": "flag",
            "deprecated_flag": pair[0],
            "replacement_flag": pair[1],
        }
    start = text.find(POLICY_PREFIX)
    if start >= 0:
        body, closed, _ = text[start + len(POLICY_PREFIX) :].partition("]")
        names = [n.strip() for n in body.split(",") if n.strip()] if closed else []
        if not names:
            return "", None
        migration: dict[str, Any] = {"kind": "policy_fields", "deprecated_fields": names}
        replacements = policy_field_migrations(names)
        if replacements:
            migration["field_replacements"] = replacements
        return POLICY_HINT, migration
    return "", None
