"""Project defaults for ``gate eval`` from ``.gait/config.yaml`` (trace.md §5.1 ``--config``).

Values only fill flags the user left empty. A missing default file is fine; a
missing explicit file is an error.

Keys that decide whether an approval, delegation or script is trusted are never
taken silently from a file someone else could have planted (issue 11 A2): from
the working-directory default file, or from any file not owned by this user or
writable by others, they are used only with ``trust_project_keys``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from gait.errors import InvalidInput

DEFAULT_CONFIG = ".gait/config.yaml"
# config key -> gate eval option name
GATE_KEYS = {
    "policy": "policy",
    "profile": "profile",
    "key_mode": "key_mode",
    "private_key": "private_key",
    "private_key_env": "private_key_env",
    "approval_public_key": "approval_public_key",
    "approval_public_key_env": "approval_public_key_env",
    "approval_private_key": "approval_private_key",
    "approval_private_key_env": "approval_private_key_env",
    "rate_limit_state": "rate_limit_state",
    "state": "state",
    "credential_broker": "credential_broker",
    "credential_env_prefix": "credential_env_prefix",
    "credential_ref": "credential_ref",
    "credential_scopes": "credential_scopes",
    "credential_command": "credential_command",
    "credential_command_args": "credential_command_args",
    "credential_evidence_path": "credential_evidence_out",
    "trace_path": "trace_out",
    "wrkr_inventory_path": "wrkr_inventory",
}


# options that choose a trust anchor (a key that verifies approvals, delegations or scripts)
TRUST_ANCHOR_OPTIONS = frozenset(
    {
        "approval_public_key",
        "approval_public_key_env",
        "approval_private_key",
        "approval_private_key_env",
        "delegation_public_key",
        "delegation_public_key_env",
        "approved_script_public_key",
        "approved_script_public_key_env",
        # a planted command would run with the user's rights when a broker credential is due
        "credential_command",
        "credential_command_args",
    }
)
# The signing key verifies approvals, delegations and scripts when no verify key is given
# (standard profile only), so it is a trust anchor unless the user names an approval key.
SIGNING_KEY_OPTIONS = frozenset({"private_key", "private_key_env"})
_APPROVAL_KEY_OPTIONS = frozenset(
    {
        "approval_public_key",
        "approval_public_key_env",
        "approval_private_key",
        "approval_private_key_env",
    }
)


def _privately_owned(target: Path) -> bool:
    """Owned by this user and writable by no one else (the file and its folder)."""
    if not hasattr(os, "geteuid"):
        return False
    uid = os.geteuid()
    for item in (target, target.resolve().parent):
        try:
            info = item.stat()
        except OSError:
            return False
        if info.st_uid != uid or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def load_gate_defaults(
    path: str | None,
    *,
    trust_project_keys: bool = False,
    given: frozenset[str] = frozenset(),
    profile: str = "standard",
) -> dict[str, str]:
    """The ``gate:`` map of the config file as option name → string value.

    Raises :class:`InvalidInput` when an untrusted file (the working-directory
    default, or one another user could write) names a trust anchor and
    ``trust_project_keys`` is false. Options in ``given`` (set by the user's own
    flags, which win anyway) are not checked. ``profile`` is the user's own
    profile: unless it (or the file) says ``oss-prod``, a signing key from the
    file is an anchor too when the user names no approval verify key.
    """
    explicit = bool(path and path.strip())
    target = Path(path.strip() if explicit and path else DEFAULT_CONFIG)
    if not target.exists():
        if explicit:
            raise InvalidInput(f"config file not found: {target}")
        return {}
    if not target.is_file():
        raise InvalidInput(f"read config {target}: not a regular file")
    try:
        import yaml

        doc: Any = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"read config {target}: {err}") from err
    except yaml.YAMLError as err:
        raise InvalidInput(f"parse config {_yaml_where(target, err)}") from err
    if not isinstance(doc, dict):
        raise InvalidInput(f"parse config {target}: expected a mapping")
    gate = doc.get("gate") or {}
    if not isinstance(gate, dict):
        raise InvalidInput(f"parse config {target}: gate must be a mapping")
    out: dict[str, str] = {}
    for key, value in gate.items():
        option = GATE_KEYS.get(str(key))
        if option is None:
            raise InvalidInput(f'parse config {target}: unknown gate key "{key}"')
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if value is not None and str(value).strip():
            out[option] = str(value).strip()
    # Top-level ``state:`` (the shared-state location); ``gate.state`` wins over it.
    state = doc.get("state")
    if state is not None and not isinstance(state, str):
        raise InvalidInput(f"parse config {target}: state must be a string")
    if state and state.strip() and "state" not in out:
        out["state"] = state.strip()
    options = TRUST_ANCHOR_OPTIONS
    if "oss-prod" not in (profile, out.get("profile")) and not (_APPROVAL_KEY_OPTIONS & given):
        options = options | SIGNING_KEY_OPTIONS
    anchors = sorted((options & out.keys()) - given)
    if anchors and not trust_project_keys and (not explicit or not _privately_owned(target)):
        why = "is a project file" if not explicit else "is not yours alone to write"
        raise InvalidInput(
            f"config {target} names {', '.join('gate.' + a for a in anchors)}, but {why}; "
            "keys that verify approvals (and broker commands) are not taken from it unless you "
            "pass --trust-project-keys (or give the value with its own flag or environment "
            "variable)",
            details={"config": str(target), "keys": anchors},
        )
    return out


def _yaml_where(target: Path, err: Any) -> str:
    """``file:line:col: problem`` from a PyYAML error, without its source excerpt."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or "invalid YAML"
    context = getattr(err, "context", None)
    where = f"{target}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(target)
    detail = f"{problem} ({context})" if context else problem
    return f"{where}: {detail}"
