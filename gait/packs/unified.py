"""Unified packs (``gait pack build|verify|inspect|diff|export``, scout_packs.md §4).

A run pack carries the original runpack (``source/runpack.zip``) plus a
small payload describing it, and a hash chain of proof records, one per
member: each record names a member's path, hash, size and type and the
digest of the record before it, so records cannot be dropped, reordered or
swapped without the chain breaking. ``pack_id`` is the digest of the manifest
itself (with ``pack_id`` blanked), so the id names exactly one content set.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gait.canonical import canonical_bytes, digest, sha256_hex
from gait.errors import GaitError, InvalidInput
from gait.packs.common import ZERO_TIME, entry_type, jcs, zip_bytes
from gait.packs.verify import (
    PACK_MANIFEST,
    SCHEMA_VERSION,
    UNIFIED_MANIFEST_SCHEMA,
    PackVerifyReport,
    check_members,
    check_signatures,
)
from gait.runpack.zipread import ZipArchive, ZipEntryError

if TYPE_CHECKING:
    from gait.packs.source import SourceRun
    from gait.runpack.verify import ProgressFn
    from gait.signing import KeyPair

__all__ = [
    "PROOF_RECORDS",
    "RUN_PAYLOAD",
    "SOURCE_RUNPACK",
    "UnifiedPack",
    "build_run_pack",
    "unified_pack_id",
    "verify_unified",
]

RUN_PAYLOAD = "run_payload.json"
SOURCE_RUNPACK = "source/runpack.zip"
CONTEXT_ENVELOPE = "context_envelope.json"
PROOF_RECORDS = "proof_records.jsonl"
PROOF_SCHEMA = "gait.pack.proof_record"
RUN_PAYLOAD_SCHEMA = "gait.pack.run"
PACK_TYPES = ("run", "job", "call")


@dataclass
class UnifiedPack:
    pack_id: str
    pack_type: str
    source_ref: str
    manifest: dict[str, Any]
    zip_bytes: bytes


def unified_pack_id(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "signatures"}
    body["pack_id"] = ""
    return digest(body)


def _proof_records(members: dict[str, bytes], sign_key: KeyPair | None) -> bytes:
    lines = []
    previous = ""
    for index, name in enumerate(sorted(members), start=1):
        record: dict[str, Any] = {
            "schema_id": PROOF_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "index": index,
            "entry_path": name,
            "entry_sha256": sha256_hex(members[name]),
            "entry_size_bytes": len(members[name]),
            "entry_type": entry_type(name),
            "previous_record_digest": previous,
        }
        record["record_digest"] = digest(record)
        if sign_key is not None:
            from gait.signing import sign_digest

            record["signature"] = sign_digest(sign_key, record["record_digest"])
        previous = record["record_digest"]
        lines.append(canonical_bytes(record) + b"\n")
    return b"".join(lines)


def _normalized_runpack(pack: SourceRun) -> bytes:
    """The runpack re-encoded by our writer: same content, canonical container."""
    members = dict(pack.members)
    members["manifest.json"] = canonical_bytes(pack.manifest_raw)
    return zip_bytes(members)


def build_run_pack(
    pack: SourceRun,
    *,
    sign_key: KeyPair | None = None,
    producer_version: str = "0.0.0-dev",
) -> UnifiedPack:
    """A ``run`` pack for an integrity-checked runpack (nothing is written)."""
    refs = pack.refs
    receipts = sorted(refs.receipts or [], key=lambda r: r.ref_id)
    payload: dict[str, Any] = {
        "schema_id": RUN_PAYLOAD_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": pack.run.created_at or ZERO_TIME,
        "run_id": pack.run_id,
        "capture_mode": pack.manifest.capture_mode,
        "manifest_digest": pack.manifest.manifest_digest,
        "intents_count": pack.intent_count,
        "results_count": pack.result_count,
        "refs_count": len(receipts),
    }
    if refs.context_set_digest:
        payload["context_set_digest"] = refs.context_set_digest
    if refs.context_evidence_mode:
        payload["context_evidence_mode"] = refs.context_evidence_mode
    if receipts:
        # as the original: the receipt count, and one redaction mode or "mixed"
        payload["context_ref_count"] = len(receipts)
        modes = {(r.redaction_mode or "").strip() or "unknown" for r in receipts}
        payload["context_privacy_mode"] = modes.pop() if len(modes) == 1 else "mixed"
    members: dict[str, bytes] = {
        RUN_PAYLOAD: jcs(payload),
        SOURCE_RUNPACK: _normalized_runpack(pack),
    }
    if receipts and refs.context_set_digest:
        members[CONTEXT_ENVELOPE] = jcs(
            {
                "schema_id": "gait.context.envelope",
                "schema_version": SCHEMA_VERSION,
                "created_at": pack.run.created_at or ZERO_TIME,
                # Required envelope fields, so the file reads back as an envelope
                # (gait.intent.envelope, the reference's parser).
                "producer_version": refs.producer_version or producer_version,
                "context_set_id": pack.run_id,
                "context_set_digest": refs.context_set_digest,
                "evidence_mode": refs.context_evidence_mode or "best_effort",
                "records": [r.to_json() for r in receipts],
            }
        )
    return _finish(members, "run", pack.run_id, sign_key, producer_version)


JOB_PAYLOAD = "job_payload.json"
JOB_PAYLOAD_SCHEMA = "gait.pack.job"
JOB_STATE = "job_state.json"
JOB_EVENTS = "job_events.jsonl"


def build_job_pack(
    root: str,
    job_id: str,
    *,
    sign_key: KeyPair | None = None,
    producer_version: str = "0.0.0-dev",
) -> UnifiedPack:
    """A ``job`` pack: the durable job's state, its event history and a summary payload."""
    from gait.packs.jobs import JobStore

    store = JobStore(root)
    state = store.load(job_id)
    reason = store.divergence(job_id)
    if reason:
        raise InvalidInput(f"job {job_id} state diverged from its history: {reason}")
    events = store.events(job_id)
    # the original's job payload (core/pack: gait.pack.job) and member names
    payload: dict[str, Any] = {
        "schema_id": JOB_PAYLOAD_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": state.get("created_at") or ZERO_TIME,
        "job_id": job_id,
        "status": state.get("status") or "running",
        "stop_reason": state.get("stop_reason") or "none",
        "status_reason_code": state.get("status_reason_code") or "submitted",
        "environment_fingerprint": state.get("environment_fingerprint") or "",
        "checkpoint_count": len(state.get("checkpoints") or []),
        "approval_count": len(state.get("approvals") or []),
    }
    members: dict[str, bytes] = {
        JOB_PAYLOAD: jcs(payload),
        JOB_STATE: jcs(state),
        JOB_EVENTS: b"".join(canonical_bytes(e) + b"\n" for e in events),
    }
    return _finish(members, "job", job_id, sign_key, producer_version)


def _finish(
    members: dict[str, bytes],
    pack_type: str,
    source_ref: str,
    sign_key: KeyPair | None,
    producer_version: str,
) -> UnifiedPack:
    members[PROOF_RECORDS] = _proof_records(members, sign_key)
    manifest: dict[str, Any] = {
        "schema_id": UNIFIED_MANIFEST_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": ZERO_TIME,
        "producer_version": producer_version,
        "pack_id": "",
        "pack_type": pack_type,
        "source_ref": source_ref,
        "contents": [
            {"path": name, "sha256": sha256_hex(members[name]), "type": entry_type(name)}
            for name in sorted(members)
        ],
    }
    manifest["pack_id"] = unified_pack_id(manifest)
    if sign_key is not None:
        from gait.signing import sign_digest

        manifest["signatures"] = [sign_digest(sign_key, digest(manifest))]
    members[PACK_MANIFEST] = jcs(manifest)
    return UnifiedPack(
        pack_id=manifest["pack_id"],
        pack_type=pack_type,
        source_ref=source_ref,
        manifest=manifest,
        zip_bytes=zip_bytes(members),
    )


def _read(archive: ZipArchive, name: str) -> bytes | None:
    entry = archive.find(name)
    if entry is None:
        return None
    try:
        return archive.read(entry)
    except ZipEntryError:
        return None  # already reported as a hash mismatch by check_members


def _check_proof_chain(
    archive: ZipArchive,
    contents: dict[str, str],
    report: PackVerifyReport,
    public_key: KeyPair | None,
) -> None:
    data = _read(archive, PROOF_RECORDS)
    if data is None:
        if PROOF_RECORDS not in contents:
            report.errors.append(f"missing {PROOF_RECORDS}")
        return
    expected = sorted(p for p in contents if p != PROOF_RECORDS)
    previous = ""
    seen: list[str] = []
    from gait.safejson import NotJSON, loads_line

    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            record = loads_line(line, PROOF_RECORDS, number)
        except NotJSON:
            report.errors.append(f"{PROOF_RECORDS} line {number}: invalid JSON")
            return
        except InvalidInput as err:  # a repeated key in a signed record: a changed pack
            report.errors.append(err.message)
            return
        if not isinstance(record, dict):
            report.errors.append(f"{PROOF_RECORDS} line {number}: not an object")
            return
        body = {k: v for k, v in record.items() if k not in ("record_digest", "signature")}
        where = f"{PROOF_RECORDS} line {number}"
        if record.get("index") != number:
            report.errors.append(f"{where}: index out of order")
        if record.get("previous_record_digest") != previous:
            report.errors.append(f"{where}: chain broken (previous_record_digest)")
        if record.get("record_digest") != digest(body):
            report.errors.append(f"{where}: record_digest mismatch")
        path = str(record.get("entry_path") or "")
        if contents.get(path, "").lower() != str(record.get("entry_sha256") or "").lower():
            report.errors.append(f"{where}: entry_sha256 does not match manifest for {path}")
        signature = record.get("signature")
        if signature is not None and public_key is not None:
            from gait.signing import verify_signature

            try:
                verify_signature(signature, str(record.get("record_digest") or ""), public_key)
            except GaitError as err:
                report.errors.append(f"{where}: signature {err.message}")
        previous = str(record.get("record_digest") or "")
        seen.append(path)
        report.proof_records_verified += 1
    if seen != expected:
        report.errors.append(f"{PROOF_RECORDS}: records do not cover exactly the pack members")


def _check_job_payload(archive: ZipArchive, raw: dict[str, Any], report: PackVerifyReport) -> None:
    data = _read(archive, JOB_PAYLOAD)
    state_data = _read(archive, JOB_STATE)
    from gait.safejson import NotJSON, loads

    try:
        payload = loads(data or b"null", JOB_PAYLOAD)
        state = loads(state_data or b"null", JOB_STATE)
    except NotJSON:
        report.errors.append("job pack payload is not valid JSON")
        return
    except InvalidInput as err:  # a repeated key: a changed pack, named
        report.errors.append(err.message)
        return
    if not isinstance(payload, dict) or payload.get("schema_id") != JOB_PAYLOAD_SCHEMA:
        report.errors.append(f"{JOB_PAYLOAD}: schema_id must be {JOB_PAYLOAD_SCHEMA}")
        return
    job_id = payload.get("job_id")
    if (
        job_id != raw.get("source_ref")
        or not isinstance(state, dict)
        or state.get("job_id") != job_id
    ):
        report.errors.append(f"{JOB_PAYLOAD}: does not describe {JOB_STATE}")


def _check_payloads(archive: ZipArchive, raw: dict[str, Any], report: PackVerifyReport) -> None:
    if raw.get("pack_type") == "job":
        _check_job_payload(archive, raw, report)
        return
    data = _read(archive, RUN_PAYLOAD)
    if data is None:
        if raw.get("pack_type") == "run":
            report.errors.append(f"run pack without a readable {RUN_PAYLOAD}")
        return
    from gait.safejson import NotJSON, loads

    try:
        payload = loads(data, RUN_PAYLOAD)
    except NotJSON:
        report.errors.append(f"{RUN_PAYLOAD}: invalid JSON")
        return
    except InvalidInput as err:  # a repeated key: a changed pack, named
        report.errors.append(err.message)
        return
    if not isinstance(payload, dict) or payload.get("schema_id") != RUN_PAYLOAD_SCHEMA:
        report.errors.append(f"{RUN_PAYLOAD}: schema_id must be {RUN_PAYLOAD_SCHEMA}")
        return
    report.run_id = str(payload.get("run_id") or "")
    source = _read(archive, SOURCE_RUNPACK)
    if source is None:
        return
    from gait.runpack.verify import verify_runpack

    with tempfile.TemporaryDirectory(prefix="gait-pack-") as tmp:
        inner_path = os.path.join(tmp, "runpack.zip")
        with open(inner_path, "wb") as handle:
            handle.write(source)
        try:
            inner = verify_runpack(inner_path)
        except GaitError as err:
            report.errors.append(f"{SOURCE_RUNPACK}: {err.message}")
            return
    if not inner.ok:
        report.errors.append(f"{SOURCE_RUNPACK}: embedded runpack failed verification")
    if inner.run_id != report.run_id or inner.manifest_digest != payload.get("manifest_digest"):
        report.errors.append(f"{RUN_PAYLOAD}: does not describe {SOURCE_RUNPACK}")


def verify_unified(
    archive: ZipArchive,
    raw: dict[str, Any],
    report: PackVerifyReport,
    public_key: KeyPair | None,
    require_signature: bool,
    progress: ProgressFn | None = None,
) -> None:
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise InvalidInput(f"{PACK_MANIFEST}: schema_version must be {SCHEMA_VERSION}")
    report.pack_id = str(raw.get("pack_id") or "")
    report.pack_type = str(raw.get("pack_type") or "")
    report.source_ref = str(raw.get("source_ref") or "")
    check_members(archive, raw, report, progress)
    if unified_pack_id(raw) != report.pack_id.lower():
        report.errors.append("pack_id does not match the manifest")
    contents = {str(c.get("path")): str(c.get("sha256")) for c in raw.get("contents") or []}
    _check_proof_chain(archive, contents, report, public_key)
    _check_payloads(archive, raw, report)
    check_signatures(report, raw, public_key, require_signature)
