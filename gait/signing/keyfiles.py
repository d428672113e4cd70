"""Key pair files on disk: ``gait keys init`` and ``gait keys rotate`` (trace.md §2.2).

A private key is the one artifact that cannot be recreated, so nothing here
overwrites one unless the caller explicitly forces it, and even the
existence check cannot race with another writer (exclusive create).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from gait.errors import InvalidInput
from gait.signing.keys import KeyPair, generate_keypair, write_private_key, write_public_key

__all__ = ["KeyFiles", "init_key_files", "rotate_key_files", "rotated_prefix"]


@dataclass(frozen=True)
class KeyFiles:
    """What was written: the prefix used, the key id and both paths."""

    prefix: str
    key_id: str
    public_key_path: str
    private_key_path: str


def init_key_files(out_dir: str, prefix: str, *, force: bool = False) -> KeyFiles:
    """Generate a key pair into ``<out_dir>/<prefix>_{private,public}.key``.

    Without ``force`` an existing file is an error
    (``private key path already exists (use --force): P``); the directory is
    created if needed. Raises :class:`InvalidInput` for bad arguments,
    ``OSError`` for I/O failures.
    """
    directory = out_dir.strip() if out_dir else ""
    if not directory:
        raise InvalidInput("out-dir must not be empty")
    name = prefix.strip() if prefix else ""
    if not name:
        raise InvalidInput("prefix must not be empty")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidInput(f"prefix must be a file name prefix, not a path: {name}")
    private_path = os.path.normpath(os.path.join(directory, f"{name}_private.key"))
    public_path = os.path.normpath(os.path.join(directory, f"{name}_public.key"))
    if not force:
        for kind, path in (("private", private_path), ("public", public_path)):
            if os.path.lexists(path):
                raise InvalidInput(f"{kind} key path already exists (use --force): {path}")
    os.makedirs(directory, mode=0o750, exist_ok=True)
    key = generate_keypair()
    _write_pair(key, private_path, public_path, overwrite=force)
    return KeyFiles(name, key.key_id, public_path, private_path)


def rotated_prefix(prefix: str, now: datetime | None = None) -> str:
    """``<prefix>_<UTC YYYYMMDDTHHMMSSZ>``, the prefix ``keys rotate`` writes under."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{prefix.strip()}_{moment.strftime('%Y%m%dT%H%M%SZ')}"


def rotate_key_files(out_dir: str, prefix: str, *, now: datetime | None = None) -> KeyFiles:
    """Write a new timestamped key pair next to the old ones; never overwrites."""
    return init_key_files(out_dir, rotated_prefix(prefix, now), force=False)


def _write_pair(key: KeyPair, private_path: str, public_path: str, *, overwrite: bool) -> None:
    """Write both files; if the public one cannot be written, remove the new private one."""
    try:
        write_private_key(private_path, key, overwrite=overwrite)
    except FileExistsError as err:
        raise InvalidInput(
            f"private key path already exists (use --force): {private_path}"
        ) from err
    try:
        write_public_key(public_path, key, overwrite=overwrite)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(private_path)
        if isinstance(err, FileExistsError):
            raise InvalidInput(
                f"public key path already exists (use --force): {public_path}"
            ) from err
        raise
