"""Context envelopes: verified context evidence (trace.md §8, runpack.md §1.4).

An envelope (schema ``gait.context.envelope`` 1.0.0) lists the reference
records an agent relied on and a ``context_set_digest`` over them: the JCS
SHA-256 of the records, normalized and sorted (by ref_id, source_type,
source_locator, content_digest), as the reference implementation computes it,
so envelopes written by either implementation verify in both. An empty
digest is filled in; a present one must match.

Consumers: ``gait run record --context-envelope`` (the records become the
runpack's receipts), ``gait verify`` (a runpack's receipts must still digest
to its context_set_digest), and the gate / mcp proxy (:func:`apply_envelope`
overrides the intent's context-evidence claims with the verified values).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any

import msgspec

from gait.canonical import canonical_bytes, digest
from gait.errors import InvalidInput
from gait.intent._text import is_sha256_hex
from gait.intent.refs_check import refs_context_errors

__all__ = [
    "CONTEXT_SOURCE",
    "ENVELOPE_SCHEMA",
    "EVIDENCE_MODES",
    "MAX_ENVELOPE_BYTES",
    "ContextEnvelope",
    "EnvelopeOverrides",
    "apply_envelope",
    "context_set_digest",
    "envelope_from_refs",
    "load_envelope",
    "normalize_evidence_mode",
    "normalize_record",
    "parse_envelope",
    "refs_context_errors",
    "refs_from_envelope_file",
    "refs_with_envelope",
]

ENVELOPE_SCHEMA = "gait.context.envelope"
ENVELOPE_VERSION = "1.0.0"
MAX_ENVELOPE_BYTES = 1024 * 1024
EVIDENCE_MODES = ("best_effort", "required")
CONTEXT_SOURCE = "context_envelope"
ZERO_RETRIEVED_AT = "1980-01-01T00:00:00Z"
_IMMUTABILITY = ("unknown", "mutable", "immutable")
_ENVELOPE_FIELDS = frozenset(
    (
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "context_set_id",
        "context_set_digest",
        "evidence_mode",
        "records",
    )
)
_RECORD_FIELDS = frozenset(
    (
        "ref_id",
        "source_type",
        "source_locator",
        "query_digest",
        "content_digest",
        "retrieved_at",
        "redaction_mode",
        "immutability",
        "sensitivity_label",
        "freshness_sla_seconds",
        "retrieval_params",
    )
)


def normalize_evidence_mode(mode: str) -> str:
    """``best_effort`` / ``required`` / ``""`` (unset); anything else is exit 6."""
    text = mode.strip().lower()
    if text and text not in EVIDENCE_MODES:
        raise InvalidInput("context evidence mode must be best_effort or required")
    return text


def _time(value: Any, where: str, default: str) -> str:
    from gait.intent.times import parse_rfc3339

    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be an RFC 3339 string")
    return parse_rfc3339(value.strip()) or default


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{key} must be a string")
    return value.strip()


def normalize_record(record: Any, where: str = "record") -> dict[str, Any]:
    """One reference record in its digested form (also a runpack receipt)."""
    if not isinstance(record, Mapping):
        raise InvalidInput(f"{where} must be a JSON object")
    unknown = sorted(set(record) - _RECORD_FIELDS)
    if unknown:
        raise InvalidInput(f"{where}: unknown field {unknown[0]}")
    out: dict[str, Any] = {
        key: _text(record, key, where)
        for key in ("ref_id", "source_type", "source_locator", "redaction_mode")
    }
    if not all(out.values()):
        raise InvalidInput(
            "context record fields ref_id/source_type/source_locator/redaction_mode "
            f"are required ({where})"
        )
    for key in ("query_digest", "content_digest"):
        out[key] = _text(record, key, where).lower()
        if not is_sha256_hex(out[key]):
            raise InvalidInput(f"context record digests must be sha256 hex ({where}.{key})")
    immutability = _text(record, "immutability", where).lower() or "unknown"
    if immutability not in _IMMUTABILITY:
        raise InvalidInput(
            f"context record immutability must be unknown|mutable|immutable ({where})"
        )
    out["immutability"] = immutability
    out["retrieved_at"] = _time(
        record.get("retrieved_at"), f"{where}.retrieved_at", ZERO_RETRIEVED_AT
    )
    label = _text(record, "sensitivity_label", where)
    if label:
        out["sensitivity_label"] = label
    sla = record.get("freshness_sla_seconds")
    if sla is not None:
        if isinstance(sla, bool) or not isinstance(sla, int):
            raise InvalidInput(f"{where}.freshness_sla_seconds must be an integer")
        if sla < 0:
            raise InvalidInput(f"context record freshness_sla_seconds must be >= 0 ({where})")
        if sla:
            out["freshness_sla_seconds"] = sla
    params = record.get("retrieval_params")
    if params is not None:
        if not isinstance(params, Mapping):
            raise InvalidInput(f"{where}.retrieval_params must be a JSON object")
        if params:
            out["retrieval_params"] = dict(params)
    return out


def _record_key(record: Mapping[str, Any]) -> tuple[str, str, str, str, bytes]:
    # The reference's order, then the whole record: ties (same ref, source and
    # content) would otherwise keep input order and change the digest.
    return (
        record["ref_id"],
        record["source_type"],
        record["source_locator"],
        record["content_digest"],
        canonical_bytes(record),
    )


def context_set_digest(records: list[dict[str, Any]]) -> str:
    """Digest of normalized records, in the envelope's sorted order."""
    return digest(sorted(records, key=_record_key))


class EnvelopeOverrides(msgspec.Struct, frozen=True):
    """What a verified envelope sets on an intent's context."""

    context_set_digest: str
    context_evidence_mode: str
    context_refs: tuple[str, ...]
    context_age_seconds: int
    context_source: str = CONTEXT_SOURCE


class ContextEnvelope(msgspec.Struct, frozen=True):
    """A verified, normalized envelope; ``records`` sorted as digested."""

    context_set_id: str
    context_set_digest: str
    evidence_mode: str
    created_at: str
    producer_version: str
    records: tuple[dict[str, Any], ...]

    @property
    def ref_ids(self) -> tuple[str, ...]:
        return tuple(sorted({r["ref_id"] for r in self.records}))

    def has_raw_records(self) -> bool:
        return any(r["redaction_mode"].lower() == "raw" for r in self.records)

    def context_age_seconds(self, now: str) -> int:
        """Whole seconds from the oldest record (or created_at) to ``now`` (never < 0)."""
        from gait.intent.times import parse_rfc3339

        stamps = [r["retrieved_at"] for r in self.records] or [self.created_at]
        now_s = _epoch_seconds(parse_rfc3339(now) or ZERO_RETRIEVED_AT)
        return max(0, max(now_s - _epoch_seconds(s) for s in stamps))

    def overrides(self, now: str) -> EnvelopeOverrides:
        return EnvelopeOverrides(
            context_set_digest=self.context_set_digest,
            context_evidence_mode=self.evidence_mode,
            context_refs=self.ref_ids,
            context_age_seconds=self.context_age_seconds(now),
        )

    def receipts(self) -> list[dict[str, Any]]:
        """The records as runpack receipts (sorted by ref_id)."""
        return [dict(r) for r in sorted(self.records, key=lambda r: r["ref_id"])]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_id": ENVELOPE_SCHEMA,
            "schema_version": ENVELOPE_VERSION,
            "created_at": self.created_at,
            "producer_version": self.producer_version,
            "context_set_id": self.context_set_id,
            "context_set_digest": self.context_set_digest,
            "evidence_mode": self.evidence_mode,
            "records": [dict(r) for r in self.records],
        }


def _epoch_seconds(text: str) -> int:
    # Canonical UTC text from parse_rfc3339; whole seconds, fraction dropped.
    import calendar

    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def build_envelope(obj: Any, *, where: str = "context envelope") -> ContextEnvelope:
    """Normalize and verify a parsed envelope object (its own digest)."""
    if not isinstance(obj, Mapping):
        raise InvalidInput(f"parse {where}: must be a JSON object")
    unknown = sorted(set(obj) - _ENVELOPE_FIELDS)
    if unknown:
        raise InvalidInput(f'parse {where}: unknown field "{unknown[0]}"')
    schema_id = _text(obj, "schema_id", where) or ENVELOPE_SCHEMA
    if schema_id != ENVELOPE_SCHEMA:
        raise InvalidInput(f"unsupported context envelope schema_id: {schema_id}")
    version = _text(obj, "schema_version", where) or ENVELOPE_VERSION
    if version != ENVELOPE_VERSION:
        raise InvalidInput(f"unsupported context envelope schema_version: {version}")
    set_id = _text(obj, "context_set_id", where)
    if not set_id:
        raise InvalidInput("context_set_id is required")
    mode = normalize_evidence_mode(_text(obj, "evidence_mode", where)) or "best_effort"
    raw_records = obj.get("records")
    if raw_records is None:
        raw_records = []
    if not isinstance(raw_records, list):
        raise InvalidInput(f"{where}.records must be a JSON array")
    records = [normalize_record(r, f"records[{i}]") for i, r in enumerate(raw_records)]
    records.sort(key=_record_key)
    computed = context_set_digest(records)
    provided = _text(obj, "context_set_digest", where).lower()
    if provided:
        if not is_sha256_hex(provided):
            raise InvalidInput("context_set_digest must be sha256 hex")
        if provided != computed:
            raise InvalidInput("context_set_digest mismatch")
    return ContextEnvelope(
        context_set_id=set_id,
        context_set_digest=computed,
        evidence_mode=mode,
        created_at=_time(obj.get("created_at"), f"{where}.created_at", ZERO_RETRIEVED_AT),
        producer_version=_text(obj, "producer_version", where) or "0.0.0-dev",
        records=tuple(records),
    )


def parse_envelope(data: bytes | str, *, where: str = "context envelope") -> ContextEnvelope:
    """Parse and verify envelope JSON text."""
    from gait.safejson import loads

    if len(data) > MAX_ENVELOPE_BYTES:
        raise InvalidInput(f"context envelope exceeds size limit ({MAX_ENVELOPE_BYTES} bytes)")
    return build_envelope(loads(data, f"parse {where}"), where=where)


def load_envelope(path: str) -> ContextEnvelope:
    """Read a local envelope file (regular file, size-bounded) and verify it."""
    text = path.strip()
    if not text:
        raise InvalidInput("context envelope path is required")
    if "://" in text:
        raise InvalidInput("context envelope path must be a local filesystem path")
    try:
        fd = os.open(text, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise InvalidInput(f"read context envelope: {err.strerror or err}: {text}") from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"read context envelope: not a regular file: {text}")
        if info.st_size > MAX_ENVELOPE_BYTES:
            raise InvalidInput(
                f"context envelope exceeds size limit ({MAX_ENVELOPE_BYTES} bytes): {text}"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_ENVELOPE_BYTES + 1)
    finally:
        os.close(fd)
    return parse_envelope(data, where=f"context envelope {text}")


def apply_envelope(intent: Any, envelope: ContextEnvelope, *, now: str) -> Any:
    """Return ``intent`` with its context-evidence fields set from the envelope.

    A differing claim already on the intent is an error (exit 6), never
    silently replaced: the agent and its evidence disagree.
    """
    from gait.intent.prepare import CONTEXT_AGE_KEY

    ctx = intent.context
    over = envelope.overrides(now)
    claimed = ctx.context_set_digest.strip().lower()
    if claimed and claimed != over.context_set_digest:
        raise InvalidInput("context envelope digest does not match context.context_set_digest")
    claimed_mode = ctx.context_evidence_mode.strip().lower()
    if claimed_mode and claimed_mode != over.context_evidence_mode:
        raise InvalidInput(
            "context envelope evidence mode does not match context.context_evidence_mode"
        )
    auth = dict(ctx.auth_context or {})
    auth[CONTEXT_AGE_KEY] = over.context_age_seconds
    new_ctx = msgspec.structs.replace(
        ctx,
        context_set_digest=over.context_set_digest,
        context_evidence_mode=over.context_evidence_mode,
        context_refs=over.context_refs,
        auth_context=auth,
    )
    return msgspec.structs.replace(intent, context=new_ctx)


def envelope_from_refs(refs: Mapping[str, Any]) -> ContextEnvelope | None:
    """The envelope a runpack's refs stand for (None when they carry no context set)."""
    receipts = refs.get("receipts") or []
    digest_text = str(refs.get("context_set_digest") or "")
    if not digest_text.strip() and not receipts:
        return None
    return build_envelope(
        {
            "context_set_id": str(refs.get("run_id") or "refs"),
            "context_set_digest": digest_text,
            "evidence_mode": str(refs.get("context_evidence_mode") or ""),
            "created_at": refs.get("created_at"),
            "records": receipts,
        },
        where="refs",
    )


def refs_with_envelope(
    refs: Mapping[str, Any], envelope: ContextEnvelope, mode: str
) -> dict[str, Any]:
    """runpack refs whose context set is the envelope's: digest, mode, count, receipts."""
    out = dict(refs)
    out["context_set_digest"] = envelope.context_set_digest
    out["context_evidence_mode"] = mode or envelope.evidence_mode
    out["context_ref_count"] = len(envelope.records)
    out["receipts"] = envelope.receipts()
    return out


RAW_RECORDS_REFUSED = (
    "context envelope includes redaction_mode=raw; re-run with --unsafe-context-raw "
    "to allow unsafe context capture"
)


def refs_from_envelope_file(
    refs: Mapping[str, Any],
    path: str,
    evidence_mode: str,
    *,
    unsafe_context_raw: bool = False,
    strict: bool = False,
) -> tuple[dict[str, Any], str, list[str]]:
    """``run record --context-envelope``: the refs, evidence mode and warnings to record.

    ``evidence_mode`` is the mode asked for (flag or input refs; ``""`` when
    neither says). The verified records replace the refs' receipts. An
    envelope that cannot be read or verified fails in ``required`` mode; in
    best_effort mode it is left out with a warning, as the reference does
    (``strict``: it always fails, for callers that cannot show a warning).
    Records with ``redaction_mode=raw`` need ``unsafe_context_raw``.
    """
    mode = normalize_evidence_mode(evidence_mode)
    if not path.strip():
        raise InvalidInput("context envelope path is required")
    try:
        envelope = load_envelope(path)
    except InvalidInput as err:
        if mode == "required" or strict:
            raise
        return dict(refs), mode, [f"context envelope ignored: {err.message}"]
    if envelope.has_raw_records() and not unsafe_context_raw:
        raise InvalidInput(RAW_RECORDS_REFUSED)
    mode = mode or envelope.evidence_mode
    return refs_with_envelope(refs, envelope, mode), mode, []
