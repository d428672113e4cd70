"""Integrity checks shared by every reader of a runpack (runpack.md §6.3).

:func:`gait.runpack.reader.read_runpack`, :func:`gait.runpack.stream.open_stream`
and the pack builder's source reader all refuse a pack the same way: the
same checks, in the same order, with the same messages. Duplicate entries
stay a verification error (exit 2); every other defect is InvalidInput
(exit 6), because only the ``verify`` family reports integrity as exit 2.
"""

from __future__ import annotations

from typing import Any

from gait.canonical import sha256_hex
from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.model import DOCUMENT_MEMBERS, MAX_DOCUMENT_BYTES, RECORD_MEMBERS, Manifest
from gait.runpack.record import manifest_digest
from gait.runpack.verify import ALL_MEMBERS, load_manifest, open_runpack_zip
from gait.runpack.zipread import (
    MAX_READ_BYTES,
    ZipArchive,
    ZipEntryError,
    normalize_entry_name,
)

__all__ = [
    "check_layout",
    "check_manifest_digest",
    "checked_manifest",
    "open_checked_zip",
    "read_record_members",
]


def open_checked_zip(fspath: str) -> ZipArchive:
    """Open the zip; any failure to open is invalid input here, not a verify failure."""
    try:
        return open_runpack_zip(fspath)
    except VerificationFailed as err:
        raise InvalidInput(err.message) from err


def checked_manifest(archive: ZipArchive) -> tuple[dict[str, Any], Manifest, dict[str, str]]:
    """Manifest (raw and parsed), after refusing unsafe or unexpected entries.

    Also returns the manifest's ``path -> sha256`` map, normalized for lookup.
    """
    try:
        raw, manifest = load_manifest(archive)
    except VerificationFailed as err:
        if err.code == "runpack_duplicate_entries":
            raise
        raise InvalidInput(err.message) from err
    problems = [f"{name}: {reason}" for name, reason in archive.unsafe]
    problems += [
        f"unexpected member {e.name}"
        for e in archive.entries
        if normalize_entry_name(e.name) not in ALL_MEMBERS
    ]
    if problems:
        raise InvalidInput("runpack zip invalid: " + "; ".join(sorted(problems)))
    expected = {f.path.replace("\\", "/"): f.sha256.lower() for f in manifest.files or []}
    return raw, manifest, expected


def read_record_members(archive: ZipArchive, expected: dict[str, str]) -> dict[str, bytes]:
    """Read each record member whole, refusing one that is missing, unlisted or altered."""
    members: dict[str, bytes] = {}
    for name in RECORD_MEMBERS:
        entry = archive.find(name)
        if entry is None or name not in expected:
            raise InvalidInput(f"runpack missing {name}")
        cap = MAX_DOCUMENT_BYTES if name in DOCUMENT_MEMBERS else MAX_READ_BYTES
        if entry.size > cap:
            # valid but too big to hold whole: inspect, diff, replay and verify stream it
            raise InvalidInput(
                f"runpack member too large to load into memory: {name} "
                f"({entry.size} bytes, limit {cap})"
            )
        try:
            data = archive.read(entry, max_bytes=cap)
        except ZipEntryError as err:
            raise InvalidInput(f"runpack hash mismatch: {name} ({err.message})") from err
        if sha256_hex(data) != expected[name]:
            raise InvalidInput(f"runpack hash mismatch: {name}")
        members[name] = data
    return members


def check_layout(archive: ZipArchive) -> None:
    """Refuse a zip whose layout problems were collected while reading it."""
    if archive.layout_errors:
        raise InvalidInput("runpack zip invalid: " + "; ".join(sorted(archive.layout_errors)))


def check_manifest_digest(raw: dict[str, Any], manifest: Manifest) -> None:
    if manifest.manifest_digest.lower() != manifest_digest(raw):
        raise InvalidInput("runpack hash mismatch: manifest.json (manifest digest)")
