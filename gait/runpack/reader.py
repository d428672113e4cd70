"""Locate runpacks (runpack.md §4.1) and read them with integrity checks (§6.3, §6.4 note).

:func:`read_runpack` is what inspect, replay, diff and receipt build on: it
refuses a pack unless every member is present, intact and matches the
manifest, then parses the records. Duplicate entries are a verification
error (exit 2, §7); every other defect is an invalid-input error (exit 6),
because only the ``verify`` family reports integrity problems as exit 2.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from gait.errors import InvalidInput
from gait.runpack.intake import (
    check_layout,
    check_manifest_digest,
    checked_manifest,
    open_checked_zip,
    read_record_members,
)
from gait.runpack.locate import looks_like_path, resolve_runpack
from gait.runpack.model import (
    MEMBER_INTENTS,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    IntentRecord,
    Manifest,
    Refs,
    ResultRecord,
    Run,
)
from gait.safejson import DuplicateKey, check_depth, check_duplicate_keys

__all__ = [
    "Runpack",
    "looks_like_path",
    "read_runpack",
    "resolve_runpack",
]


class Runpack(msgspec.Struct):
    """A parsed, integrity-checked runpack."""

    path: str
    manifest: Manifest
    manifest_raw: dict[str, Any]
    run: Run
    intents: list[IntentRecord]
    results: list[ResultRecord]
    refs: Refs
    members: dict[str, bytes]

    @property
    def run_id(self) -> str:
        return self.manifest.run_id


def _decode(data: bytes, kind: type[Any], member: str) -> Any:
    check_depth(data, f"parse {member}")
    # msgspec keeps the last of two equal keys and ignores a case variant: refuse both first
    check_duplicate_keys(data, f"parse {member}")
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise InvalidInput(f"parse {member}: {err}") from err
    except RecursionError:
        raise InvalidInput(f"parse {member}: JSON nesting too deep") from None


def _decode_lines(data: bytes, kind: type[Any], member: str) -> list[Any]:
    """JSONL → records, decoded as one JSON array (fast); on error, find the bad line.

    Each line is checked as :mod:`gait.runpack.stream` checks it (repeated keys,
    then the record type), so both report the same first bad line.
    """
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        return []
    check_depth(data, f"parse {member}")
    joined = b"[" + b",".join(lines) + b"]"
    try:
        records = msgspec.json.decode(joined, type=list[kind])  # type: ignore[valid-type]
        if len(records) == len(lines):
            check_duplicate_keys(joined, f"parse {member}")
            return records
    except (msgspec.DecodeError, msgspec.ValidationError, DuplicateKey):
        pass
    except RecursionError:
        raise InvalidInput(f"parse {member}: JSON nesting too deep") from None
    decoder = msgspec.json.Decoder(kind)
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        check_duplicate_keys(line, f"parse {member} line {number}")
        try:
            decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            raise InvalidInput(f"parse {member} line {number}: {err}") from err
    raise InvalidInput(f"parse {member}: records are not one JSON object per line")


def read_runpack(path: str | os.PathLike[str]) -> Runpack:
    """Read and integrity-check a runpack; see the module docstring for errors."""
    fspath = os.fspath(path)
    with open_checked_zip(fspath) as archive:
        raw, manifest, expected = checked_manifest(archive)
        members = read_record_members(archive, expected)
        check_layout(archive)
    check_manifest_digest(raw, manifest)
    return Runpack(
        path=fspath,
        manifest=manifest,
        manifest_raw=raw,
        run=_decode(members[MEMBER_RUN], Run, MEMBER_RUN),
        intents=_decode_lines(members[MEMBER_INTENTS], IntentRecord, MEMBER_INTENTS),
        results=_decode_lines(members[MEMBER_RESULTS], ResultRecord, MEMBER_RESULTS),
        refs=_decode(members[MEMBER_REFS], Refs, MEMBER_REFS),
        members=members,
    )
