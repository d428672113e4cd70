"""The per-user dev key: one key pair per user, made on first use in dev mode.

Dev mode used to sign with a fresh key on every run, so nothing it signed could
be checked afterwards, not even on the same machine. Keeping one key under the
user's state directory lets dev traces, approval tokens and runpacks verify
where they were made, while prod mode refuses this key outright.

Location: ``$GAIT_STATE_DIR`` if set, else ``$XDG_STATE_HOME/gait``, else
``~/.local/state/gait``; the files are ``keys/gait_dev_private.key`` (0600)
and ``keys/gait_dev_public.key``.
"""

from __future__ import annotations

import os
import stat

from gait.errors import InvalidInput
from gait.signing.keys import (
    KeyPair,
    generate_keypair,
    load_private_key,
    write_private_key,
    write_public_key,
)

__all__ = [
    "DEV_KEY_NAME",
    "dev_key_paths",
    "find_dev_key",
    "load_or_create_dev_key",
    "state_dir",
]

DEV_KEY_NAME = "gait_dev"


def state_dir() -> str:
    """The user's gait state directory (not created here)."""
    override = os.environ.get("GAIT_STATE_DIR", "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    # XDG says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "gait")
    return os.path.join(os.path.expanduser("~"), ".local", "state", "gait")


def dev_key_paths() -> tuple[str, str]:
    """``(private, public)`` paths of the per-user dev key."""
    keys = os.path.join(state_dir(), "keys")
    return (
        os.path.join(keys, f"{DEV_KEY_NAME}_private.key"),
        os.path.join(keys, f"{DEV_KEY_NAME}_public.key"),
    )


def _load(path: str) -> KeyPair:
    info = os.stat(path)
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise InvalidInput(
            f"dev key {path} is readable by other users (mode {mode:04o}); run: chmod 600 {path}"
        )
    pair = load_private_key(path)
    return KeyPair(pair.public, pair.private, pair.key_id, f"dev:{path}")


def find_dev_key() -> KeyPair | None:
    """The dev key if this user has one, else ``None``; never creates it."""
    private_path, _ = dev_key_paths()
    if not os.path.isfile(private_path):
        return None
    return _load(private_path)


def load_or_create_dev_key() -> KeyPair:
    """The dev key, created (0600, exclusive create) on first use.

    Raises ``OSError`` if the state directory cannot be written, so the caller
    can fall back to an ephemeral key.
    """
    private_path, public_path = dev_key_paths()
    if os.path.isfile(private_path):
        return _load(private_path)
    os.makedirs(os.path.dirname(private_path), mode=0o700, exist_ok=True)
    key = generate_keypair()
    try:
        write_private_key(private_path, key, overwrite=False)
    except FileExistsError:
        # Another process made it first: use theirs so both sign alike.
        return _load(private_path)
    write_public_key(public_path, key, overwrite=True)
    return KeyPair(key.public, key.private, key.key_id, f"dev:{private_path}")
