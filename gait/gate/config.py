"""Project defaults for ``gate eval`` from ``.gait/config.yaml`` (trace.md §5.1 ``--config``).

Values only fill flags the user left empty. A missing default file is fine; a
missing explicit file is an error.

Keys that decide whether an approval, delegation or script is trusted are never
taken silently from a file someone else could have planted (issue 11 A2): from
the working-directory default file, or from any file not owned by this user or
writable by others, they are used only with ``trust_project_keys``.

The same trust covers where such a file makes gait write and count: without it,
a path-valued setting (:data:`PROJECT_PATH_OPTIONS`) must resolve inside the
project folder (the folder holding ``.gait/``) or the file is refused, and a
state location (:data:`STATE_OPTIONS`) is ignored with a warning, so a planted
file can neither overwrite the user's files nor reset budgets by pointing at a
fresh state file.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

from gait.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path  # imported where a config file exists: gate eval's usual
    # case is no file, and pathlib (with urllib.parse, ipaddress) costs it ~3 ms

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


# options naming a file gait writes (or, for the inventory, reads): confined to the project
PROJECT_PATH_OPTIONS = frozenset({"trace_out", "credential_evidence_out", "wrkr_inventory"})
# options choosing where budgets, rate limits and approval uses are counted
STATE_OPTIONS = frozenset({"state", "rate_limit_state"})
MAX_CONFIG_BYTES = 1 << 20


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
    warnings: list[str] | None = None,
) -> dict[str, str]:
    """The ``gate:`` map of the config file as option name → string value.

    Raises :class:`InvalidInput` when an untrusted file (the working-directory
    default, or one another user could write) names a trust anchor, or a path
    outside its project folder, and ``trust_project_keys`` is false; a state
    location from such a file is dropped and a warning appended to
    ``warnings``. Options in ``given`` (set by the user's own flags, which win
    anyway) are not checked. ``profile`` is the user's own profile: unless it
    (or the file) says ``oss-prod``, a signing key from the file is an anchor
    too when the user names no approval verify key.
    """
    explicit = bool(path and path.strip())
    if not explicit:
        try:
            os.stat(DEFAULT_CONFIG)
        except FileNotFoundError:
            return {}  # the usual case; any other outcome takes the path below
        except (OSError, ValueError):
            pass
    from pathlib import Path

    target = Path(path.strip() if explicit and path else DEFAULT_CONFIG)
    if not target.exists():
        if explicit:
            raise InvalidInput(f"config file not found: {target}")
        return {}
    if not target.is_file():
        raise InvalidInput(f"read config {target}: not a regular file")
    from gait.fsutil import read_regular_file
    from gait.safeyaml import load

    try:
        data = read_regular_file(target, MAX_CONFIG_BYTES)
    except OSError as err:
        raise InvalidInput(f"read config {target}: {err.strerror or err}") from err
    doc: Any = load(data, "parse config", source=str(target)) or {}
    if not isinstance(doc, dict):
        raise InvalidInput(f"parse config {target}: expected a mapping")
    gate = doc.get("gate") or {}
    if not isinstance(gate, dict):
        raise InvalidInput(f"parse config {target}: gate must be a mapping")
    out: dict[str, str] = {}
    names: dict[str, str] = {}  # option -> how the file spells it, for messages
    for key, value in gate.items():
        option = GATE_KEYS.get(str(key))
        if option is None:
            raise InvalidInput(f'parse config {target}: unknown gate key "{key}"')
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if value is not None and str(value).strip():
            out[option] = str(value).strip()
            names[option] = f"gate.{key}"
    # Top-level ``state:`` (the shared-state location); ``gate.state`` wins over it.
    state = doc.get("state")
    if state is not None and not isinstance(state, str):
        raise InvalidInput(f"parse config {target}: state must be a string")
    if state and state.strip() and "state" not in out:
        out["state"] = state.strip()
        names["state"] = "state"
    if trust_project_keys or (explicit and _privately_owned(target)):
        return out
    why = "is a project file" if not explicit else "is not yours alone to write"
    options = TRUST_ANCHOR_OPTIONS
    if "oss-prod" not in (profile, out.get("profile")) and not (_APPROVAL_KEY_OPTIONS & given):
        options = options | SIGNING_KEY_OPTIONS
    anchors = sorted((options & out.keys()) - given)
    if anchors:
        raise InvalidInput(
            f"config {target} names {', '.join('gate.' + a for a in anchors)}, but {why}; "
            "keys that verify approvals (and broker commands) are not taken from it unless you "
            "pass --trust-project-keys (or give the value with its own flag or environment "
            "variable)",
            details={"config": str(target), "keys": anchors},
        )
    _confine_paths(target, out, names, given, why)
    if STATE_OPTIONS & given:
        return out  # the user's own flag for either name wins; the file's is not used
    dropped = sorted(names[o] for o in STATE_OPTIONS & out.keys())
    for option in STATE_OPTIONS:
        out.pop(option, None)
    if dropped and warnings is not None:
        warnings.append(
            f"config {target} sets {', '.join(dropped)}, but {why}; budgets and rate limits "
            "are counted in the default state location unless you pass --trust-project-keys "
            "(or give --state)"
        )
    return out


def project_root(target: Path) -> Path:
    """The folder a project config speaks for: the one holding ``.gait/``, or the
    file's own folder for a config kept elsewhere."""
    folder = target.resolve().parent
    return folder.parent if folder.name == ".gait" else folder


def _inside(value: str, root: Path) -> bool:
    """Whether ``value`` (relative to the working directory, as gait will use it)
    stays inside ``root`` once ``..`` and symlinks are resolved."""
    from pathlib import Path

    try:
        resolved = Path(os.path.realpath(value))
    except (OSError, ValueError):
        return False
    return resolved == root or resolved.is_relative_to(root)


def _confine_paths(
    target: Path, out: dict[str, str], names: dict[str, str], given: frozenset[str], why: str
) -> None:
    root = project_root(target)
    outside = sorted(
        names[o] for o in (PROJECT_PATH_OPTIONS & out.keys()) - given if not _inside(out[o], root)
    )
    if outside:
        raise InvalidInput(
            f"config {target} sets {', '.join(outside)} outside the project folder {root}, but "
            f"{why}; it may only name paths inside its project unless you pass "
            "--trust-project-keys (or give the value with its own flag)",
            details={"config": str(target), "keys": outside, "project": str(root)},
        )
