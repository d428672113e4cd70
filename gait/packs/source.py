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

from gait.canonical import sha256_hex
from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.model import (
    MEMBER_INTENTS,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    RECORD_MEMBERS,
    Manifest,
    Refs,
    Run,
)
from gait.runpack.record import manifest_digest
from gait.runpack.verify import ALL_MEMBERS, load_manifest, open_runpack_zip
from gait.runpack.zipread import ZipEntryError, normalize_entry_name

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
    try:
        archive = open_runpack_zip(fspath)
    except VerificationFailed as err:
        raise InvalidInput(err.message) from err
    with archive:
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
        members: dict[str, bytes] = {}
        for name in RECORD_MEMBERS:
            entry = archive.find(name)
            if entry is None or name not in expected:
                raise InvalidInput(f"runpack missing {name}")
            try:
                data = archive.read(entry)
            except ZipEntryError as err:
                raise InvalidInput(f"runpack hash mismatch: {name} ({err.message})") from err
            if sha256_hex(data) != expected[name]:
                raise InvalidInput(f"runpack hash mismatch: {name}")
            members[name] = data
    if manifest.manifest_digest.lower() != manifest_digest(raw):
        raise InvalidInput("runpack hash mismatch: manifest.json (manifest digest)")
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
