"""``gait migrate``: rewrite a legacy runpack in the current v1 format (cli.md).

A legacy runpack is one whose members are intact (every hash the manifest
lists matches) but whose content predates the current writer: records
without schema ids or versions (or older versions), non-canonical JSON,
unsorted receipts, uppercase digests, missing defaults, no ``refs.json``, an
unset manifest digest. Migration reads it leniently, checks what it can
(hashes, the manifest digest when there is one), and rebuilds it through the
one writer (:func:`gait.runpack.record.record_runpack`), so the result is
exactly what ``gait run record`` would have written and ``gait verify``
accepts it.

Idempotent: a current pack rebuilds to the same bytes (status
``no_change``); defaults a legacy pack lacks are taken from the pack itself
(manifest created_at, ``unknown`` host), never from the migrating machine,
so migrating twice gives the same bytes. A signed pack whose content does not
change keeps its signature (its bytes are copied); when normalization
changes the content the old signature cannot cover it and is dropped with a
warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.model import (
    INTENT_SCHEMA,
    MANIFEST_SCHEMA,
    MEMBER_INTENTS,
    MEMBER_MANIFEST,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    REFS_SCHEMA,
    RESULT_SCHEMA,
    RUN_SCHEMA,
    SCHEMA_VERSION,
)

__all__ = ["MIGRATE_TARGETS", "MigrateResult", "default_migrated_path", "migrate_runpack"]

MIGRATE_TARGETS = ("v1",)
LEGACY_VERSIONS = ("", "1", "1.0", "1.0.0", "v1", "0.1.0", "0.9.0")
LEGACY_CREATED_AT = "1980-01-01T00:00:00Z"
_UNKNOWN_ENV = {"os": "unknown", "arch": "unknown", "runtime": "unknown"}


@dataclass
class MigrateResult:
    input: str
    output: str
    run_id: str
    status: str  # "migrated" | "no_change"
    manifest_digest: str
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": True,
            "input": self.input,
            "output": self.output,
            "artifact": "runpack",
            "status": self.status,
            "run_id": self.run_id,
            "target": "v1",
            "manifest_digest": self.manifest_digest,
            "changes": self.changes,
            "warnings": self.warnings,
        }
        return {k: v for k, v in out.items() if k == "ok" or v}


def default_migrated_path(input_path: str, run_id: str) -> str:
    """``runpack_<run_id>_migrated.zip`` next to the input (``<stem>_migrated.zip`` without a run id)."""
    folder = os.path.dirname(input_path)
    if run_id and not any(c in run_id for c in ("/", "\\", "\x00")) and run_id not in (".", ".."):
        name = f"runpack_{run_id}_migrated.zip"
    else:
        stem, _ext = os.path.splitext(os.path.basename(input_path))
        name = f"{stem}_migrated.zip"
    return os.path.join(folder, name)


def _json(data: bytes, member: str) -> Any:
    from gait.safejson import loads

    return loads(data, f"parse {member}")


def _jsonl(data: bytes, member: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        value = _json(line, f"{member} line {number}")
        if not isinstance(value, dict):
            raise InvalidInput(f"parse {member} line {number}: record must be a JSON object")
        out.append(value)
    return out


def _read_legacy(path: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and members of a runpack of any v1 generation, integrity-checked."""
    from gait.canonical import sha256_hex
    from gait.runpack.record import manifest_digest
    from gait.runpack.verify import open_runpack_zip
    from gait.runpack.zipread import ZipEntryError

    with open_runpack_zip(path) as archive:
        if archive.duplicates:
            raise VerificationFailed(
                "zip contains duplicate entries: " + ", ".join(archive.duplicates),
                code="runpack_duplicate_entries",
            )
        entry = archive.find(MEMBER_MANIFEST)
        if entry is None:
            raise InvalidInput(
                "unsupported artifact type (no manifest.json: only runpack zips are migratable)"
            )
        try:
            manifest = _json(archive.read(entry), MEMBER_MANIFEST)
            if not isinstance(manifest, dict):
                raise InvalidInput("parse manifest.json: manifest must be a JSON object")
            members: dict[str, bytes] = {}
            for name in (MEMBER_RUN, MEMBER_INTENTS, MEMBER_RESULTS, MEMBER_REFS):
                found = archive.find(name)
                if found is not None:
                    members[name] = archive.read(found)
        except ZipEntryError as err:
            raise VerificationFailed(f"source runpack unreadable: {err.message}") from err
    schema_id = str(manifest.get("schema_id") or "")
    if schema_id not in ("", MANIFEST_SCHEMA):
        raise InvalidInput(f"unsupported artifact type: {schema_id}")
    version = str(manifest.get("schema_version") or "")
    if version not in LEGACY_VERSIONS:
        raise InvalidInput(f"unsupported runpack schema_version: {version}")
    files = manifest.get("files") or []
    if not isinstance(files, list):
        raise InvalidInput("parse manifest.json: files must be a JSON array")
    listed: dict[str, str] = {}
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise InvalidInput("parse manifest.json: files entries need a path")
        listed[item["path"].replace("\\", "/")] = str(item.get("sha256") or "").lower()
    problems: list[str] = []
    for name in (MEMBER_RUN, MEMBER_INTENTS, MEMBER_RESULTS, MEMBER_REFS):
        if name not in members:
            if name != MEMBER_REFS or name in listed:  # legacy packs may predate refs.json
                problems.append(f"missing {name}")
            continue
        if name not in listed:
            problems.append(f"{name} is not listed in the manifest")
        elif sha256_hex(members[name]) != listed[name]:
            problems.append(f"hash mismatch: {name}")
    claimed = str(manifest.get("manifest_digest") or "").lower()
    if claimed and claimed != manifest_digest(manifest):
        problems.append("hash mismatch: manifest.json")
    if problems:
        raise VerificationFailed(
            "source runpack failed verification: " + "; ".join(problems),
            code="runpack_migrate_source_invalid",
        )
    return manifest, members


def _current(record: dict[str, Any], schema: str, changes: list[str], what: str) -> None:
    if record.get("schema_id") != schema:
        changes.append(f"{what}: schema_id set to {schema}")
        record["schema_id"] = schema
    if record.get("schema_version") != SCHEMA_VERSION:
        changes.append(f"{what}: schema_version set to {SCHEMA_VERSION}")
        record["schema_version"] = SCHEMA_VERSION


def migrate_runpack(path: str, *, out: str = "", target: str = "v1") -> MigrateResult:
    """Rewrite the runpack at ``path`` in the current format; see the module docstring."""
    from gait.fsutil import atomic_write
    from gait.runpack.record import check_output_path, record_runpack
    from gait.runpack.verify import verify_runpack

    if target.strip() not in MIGRATE_TARGETS:
        raise InvalidInput("unsupported --target (only v1 is currently available)")
    if not path.lower().endswith(".zip"):
        raise InvalidInput("unsupported artifact type (only runpack zip is currently migratable)")
    manifest, members = _read_legacy(path)
    changes: list[str] = []
    run = _json(members[MEMBER_RUN], MEMBER_RUN)
    if not isinstance(run, dict):
        raise InvalidInput("parse run.json: run must be a JSON object")
    run_id = str(run.get("run_id") or manifest.get("run_id") or "").strip()
    if not run_id:
        raise InvalidInput("source runpack missing run_id")
    run["run_id"] = run_id
    _current(run, RUN_SCHEMA, changes, MEMBER_RUN)
    if not run.get("created_at"):
        run["created_at"] = manifest.get("created_at") or LEGACY_CREATED_AT
        changes.append("run.json: created_at defaulted")
    if not isinstance(run.get("env"), dict):
        run["env"] = dict(_UNKNOWN_ENV)
        changes.append("run.json: env defaulted to unknown")
    else:
        for key, value in _UNKNOWN_ENV.items():
            run["env"].setdefault(key, value)
    intents = _jsonl(members[MEMBER_INTENTS], MEMBER_INTENTS)
    results = _jsonl(members[MEMBER_RESULTS], MEMBER_RESULTS)
    for n, rec in enumerate(intents, start=1):
        _current(rec, INTENT_SCHEMA, changes, f"{MEMBER_INTENTS}[{n}]")
    for n, rec in enumerate(results, start=1):
        _current(rec, RESULT_SCHEMA, changes, f"{MEMBER_RESULTS}[{n}]")
    if MEMBER_REFS in members:
        refs = _json(members[MEMBER_REFS], MEMBER_REFS)
        if not isinstance(refs, dict):
            raise InvalidInput("parse refs.json: refs must be a JSON object")
    else:
        refs = {"receipts": []}
        changes.append("refs.json: added (empty)")
    _current(refs, REFS_SCHEMA, changes, MEMBER_REFS)
    capture = str(manifest.get("capture_mode") or "reference")
    built = record_runpack(
        run,
        intents,
        results,
        refs,
        capture_mode=capture,
        producer_version=str(run.get("producer_version") or ""),
        # What the source already holds is carried over, not newly captured.
        unsafe_context_raw=True,
    )
    with open(path, "rb") as handle:
        original = handle.read()
    warnings: list[str] = []
    data = built.zip_bytes
    signed = bool(manifest.get("signatures"))
    if data != original and built.manifest_digest == str(manifest.get("manifest_digest") or ""):
        # Same content, same digest: keep the source bytes and with them its signatures.
        data = original
    elif signed:
        warnings.append(
            "source signatures dropped: migration changed the signed content; re-sign the "
            "migrated runpack"
        )
    if data != original and not changes:
        changes.append("members rewritten in canonical form")
    status = "no_change" if data == original else "migrated"
    target_path = check_output_path(out.strip() or default_migrated_path(path, run_id))
    if os.path.abspath(target_path) == os.path.abspath(path):
        # As the reference: refused even when nothing would change.
        raise InvalidInput("--out must differ from input path")
    parent = os.path.dirname(target_path)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    atomic_write(target_path, data, 0o600)
    report = verify_runpack(target_path)
    if not report.ok:
        raise VerificationFailed("migrated runpack failed verification")
    return MigrateResult(
        input=path,
        output=target_path,
        run_id=run_id,
        status=status,
        manifest_digest=report.manifest_digest,
        changes=sorted(set(changes)),
        warnings=warnings,
    )
