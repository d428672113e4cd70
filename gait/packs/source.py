"""The runpack a pack is built from, read with integrity checks but without decoding records.

Packs need the manifest, ``run.json``, ``refs.json``, the raw member bytes and
how many intents and results there are — never the records themselves. So
this reader checks exactly what :func:`gait.runpack.reader.read_runpack`
checks (container, members, hashes, manifest digest) and skips decoding the
two JSONL members, which for a large run is most of the reading cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import msgspec

from gait.errors import InvalidInput
from gait.runpack.intake import (
    check_manifest_digest,
    checked_manifest,
    open_checked_zip,
    read_record_members,
)
from gait.runpack.model import (
    MEMBER_INTENTS,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    Manifest,
    Refs,
    Run,
)

__all__ = ["SourceRun", "read_source_run"]


@dataclass
class SourceRun:
    path: str
    manifest: Manifest
    manifest_raw: dict[str, Any]
    run: Run
    refs: Refs
    members: dict[str, bytes]
    intent_count: int
    result_count: int

    @property
    def run_id(self) -> str:
        return self.manifest.run_id


def _records(data: bytes) -> int:
    """Non-empty lines, counted without splitting (the writer never emits blank lines)."""
    if not data.strip():
        return 0
    text = data.strip(b"\n")
    return text.count(b"\n") + 1 - text.count(b"\n\n")


def read_source_run(path: str | os.PathLike[str]) -> SourceRun:
    """Integrity-checked read; any defect is InvalidInput (exit 6), duplicates exit 2."""
    fspath = os.fspath(path)
    with open_checked_zip(fspath) as archive:
        raw, manifest, expected = checked_manifest(archive)
        members = read_record_members(archive, expected)
    check_manifest_digest(raw, manifest)
    from gait.safejson import check_depth, check_duplicate_keys

    for member in (MEMBER_RUN, MEMBER_REFS):
        # msgspec keeps the last of two equal keys and ignores a case variant: refuse both
        check_depth(members[member], f"parse runpack {fspath} {member}")
        check_duplicate_keys(members[member], f"parse runpack {fspath} {member}")
    try:
        run = msgspec.json.decode(members[MEMBER_RUN], type=Run)
        refs = msgspec.json.decode(members[MEMBER_REFS], type=Refs)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise InvalidInput(f"parse runpack {fspath}: {err}") from err
    return SourceRun(
        path=fspath,
        manifest=manifest,
        manifest_raw=raw,
        run=run,
        refs=refs,
        members=members,
        intent_count=_records(members[MEMBER_INTENTS]),
        result_count=_records(members[MEMBER_RESULTS]),
    )
