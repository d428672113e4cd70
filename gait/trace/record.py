"""Building and signing ``gait.gate.trace`` records (trace.md §4).

The builder takes plain values (whatever produced the decision), so the
engine, the MCP proxy and tests all emit byte-identical records for the same
inputs. Time fields are RFC 3339 UTC text from the start and stay text.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

import gait
from gait.canonical import digest, sha256_hex
from gait.errors import InvalidInput
from gait.signing import (
    KeyPair,
    format_rfc3339,
    parse_rfc3339,
    sign_digest,
    sign_record,
    to_rfc3339,
)
from gait.trace.schema import TraceRecord, fields_of, shape

__all__ = [
    "DEFAULT_CREATED_AT",
    "TRACE_SCHEMA_ID",
    "TRACE_SCHEMA_VERSION",
    "build_trace_record",
    "compute_event_id",
    "compute_trace_id",
    "project_trace",
    "sign_built_trace",
    "sign_trace",
]

TRACE_SCHEMA_ID = "gait.gate.trace"
TRACE_SCHEMA_VERSION = "1.0.0"
DEFAULT_CREATED_AT = "1980-01-01T00:00:00Z"
"""``created_at`` when the intent carried none (fixed, so traces stay reproducible)."""


def compute_trace_id(policy_digest: str, intent_digest: str, verdict: str) -> str:
    """First 12 bytes (24 hex) of sha256 of ``policy:intent:verdict``: same decision, same id."""
    text = f"{policy_digest}:{intent_digest}:{verdict}"
    return sha256_hex(text.encode("utf-8"))[:24]


def compute_event_id(trace_id: str, observed_at: str) -> str:
    """First 12 bytes hex of sha256 of ``trace_id:observed_at``: one id per emission."""
    return sha256_hex(f"{trace_id}:{observed_at}".encode())[:24]


_UTC_TAIL = re.compile(r"(?:\.\d{1,9})?Z")
_valid_heads: tuple[str, str] = ("", "")  # date and time (19 characters) of recent valid UTC texts


def _keep_text(text: str) -> str:
    """Validate RFC 3339 text and keep it as written (it is what was signed).

    Repeated texts (``created_at``) are remembered; consecutive ``observed_at``
    values mostly share their date and time to the second: when the first 19
    characters equal those of a recent valid UTC text and the rest is a
    fraction and ``Z``, the text is valid without parsing it again.
    """
    global _valid_heads
    head = text[:19]
    if head in _valid_heads and head and _UTC_TAIL.fullmatch(text, 19):
        return text
    _parsed_text(text)  # raises for anything that is not RFC 3339
    if _UTC_TAIL.fullmatch(text, 19):
        _valid_heads = (head, _valid_heads[0])
    return text


@lru_cache(maxsize=256)
def _parsed_text(text: str) -> None:
    parse_rfc3339(text)


def project_trace(record: Mapping[str, Any]) -> dict[str, Any]:
    """Project a parsed record onto the known trace fields (see :mod:`gait.trace.schema`).

    This is what the reference re-serializes before hashing, so verifying the
    projection matches it exactly; time text is kept as written.
    """
    return _projection(record, _keep_text)


def _unique_sorted(values: Iterable[str]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def _plain(value: Any) -> Any:
    """msgspec Structs (e.g. the intent model's skill provenance) to plain data."""
    if value is None or type(value) is dict:
        return value
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def build_trace_record(
    *,
    policy_digest: str,
    intent_digest: str,
    args_digest: str,
    tool_name: str,
    verdict: str,
    created_at: str | datetime | None = None,
    observed_at: str | datetime | None = None,
    producer_version: str | None = None,
    correlation_id: str = "",
    policy_id: str = "",
    policy_version: str = "",
    matched_rule_ids: Iterable[str] = (),
    violations: Iterable[str] = (),
    context_set_digest: str = "",
    context_evidence_mode: str = "",
    context_ref_count: int = 0,
    context_source: str = "",
    script: bool = False,
    step_count: int = 0,
    script_hash: str = "",
    composite_risk_class: str = "",
    step_verdicts: Iterable[Mapping[str, Any]] = (),
    pre_approved: bool = False,
    pattern_id: str = "",
    registry_reason: str = "",
    latency_ms: float = 0.0,
    approval_token_ref: str = "",
    delegation_ref: Mapping[str, Any] | None = None,
    mcp_trust: Mapping[str, Any] | None = None,
    relationship: Mapping[str, Any] | None = None,
    skill_provenance: Mapping[str, Any] | Any | None = None,
    flow_refs: Iterable[str] = (),
) -> dict[str, Any]:
    """The unsigned trace record for one decision, fields in the reference order.

    ``created_at`` defaults to ``1980-01-01T00:00:00Z``, ``observed_at`` to now
    (nanosecond text); ``producer_version`` to :data:`gait.PRODUCER_VERSION`.
    Violations are trimmed, de-duplicated and sorted; ``matched_rule_ids``
    default to the unique sorted ``matched_rule`` of ``step_verdicts``;
    negative latency becomes 0; ``composite_risk_class`` is lowercased; every
    empty/zero/false ``?`` field is left out. Nested values
    (``delegation_ref``, ``relationship``, ...) are taken as given.
    Raises :class:`InvalidInput` when ``verdict`` or ``intent_digest`` is empty
    or a value has the wrong type.
    """
    verdict = verdict.strip()
    if not verdict:
        raise InvalidInput("gate result verdict is required for trace emission")
    if not intent_digest.strip():
        raise InvalidInput("intent digest missing after normalization")
    steps = [_plain(step) for step in step_verdicts]
    rule_ids = list(matched_rule_ids) or [str(s.get("matched_rule") or "") for s in steps]
    observed = _time_text(observed_at) if observed_at else _now_text()
    trace_id = compute_trace_id(policy_digest, intent_digest, verdict)
    latency = max(latency_ms, 0)
    if type(latency) is float and latency == 0:
        latency = 0  # omitted either way; as an int the fast projection takes it
    raw: dict[str, Any] = {
        "schema_id": TRACE_SCHEMA_ID,
        "schema_version": TRACE_SCHEMA_VERSION,
        "created_at": _time_text(created_at) if created_at else DEFAULT_CREATED_AT,
        "observed_at": observed,
        "producer_version": (producer_version or "").strip()
        or gait.PRODUCER_VERSION
        or "0.0.0-dev",
        "trace_id": trace_id,
        "event_id": compute_event_id(trace_id, observed),
        "correlation_id": correlation_id.strip(),
        "tool_name": tool_name,
        "args_digest": args_digest,
        "intent_digest": intent_digest,
        "policy_digest": policy_digest,
        "policy_id": policy_id.strip(),
        "policy_version": policy_version.strip(),
        "matched_rule_ids": _unique_sorted(rule_ids),
        "verdict": verdict,
        "context_set_digest": context_set_digest,
        "context_evidence_mode": context_evidence_mode,
        "context_ref_count": context_ref_count,
        "context_source": context_source.strip(),
        "script": script,
        "step_count": step_count,
        "script_hash": script_hash,
        "composite_risk_class": composite_risk_class.strip().lower(),
        "step_verdicts": steps,
        "pre_approved": pre_approved,
        "pattern_id": pattern_id.strip(),
        "registry_reason": registry_reason.strip(),
        "violations": _unique_sorted(violations),
        "latency_ms": latency,
        "approval_token_ref": approval_token_ref.strip(),
        "delegation_ref": _plain(delegation_ref),
        "mcp_trust": _plain(mcp_trust),
        "relationship": _plain(relationship),
        "skill_provenance": _plain(skill_provenance),
        "flow_refs": _unique_sorted(flow_refs),
    }
    return _project_built(raw)


def _project_built(raw: dict[str, Any]) -> dict[str, Any]:
    # both time fields were normalized by the builder: no need to parse them again
    return _projection(raw, _as_is)


_COLD_CALLS = 2
_projections = 0  # racy under threads, harmlessly: both paths give the same result


def _projection(raw: Mapping[str, Any], time_text: Callable[[str], str]) -> dict[str, Any]:
    """``shape(raw, TRACE_FIELDS, time_text=time_text)``, through the Struct when it can.

    The first calls of a process take the general rules: msgspec's first use of
    :class:`TraceRecord` costs a few hundred µs, more than a one-shot command
    that projects one or two records would save.
    """
    global _projections
    if _projections >= _COLD_CALLS:
        out = _fast_projection(raw, time_text)
        if out is not None:
            return out
    else:
        _projections += 1
    return shape(raw, fields_of(TraceRecord), time_text=time_text)


def _fast_projection(
    raw: Mapping[str, Any], time_text: Callable[[str], str]
) -> dict[str, Any] | None:
    """:func:`_projection` through msgspec, or None where it does not apply.

    msgspec checks the types against :class:`TraceRecord` and leaves the
    omit-empty zeros out while encoding. That covers the records writers build
    and the files they write; anything it does not take as is (a wrong type, a
    ``null`` where the rules read a zero value, a zero or non-finite float, a
    ``mcp_trust`` value, which is kept verbatim, a non-dict mapping) is left to
    :func:`shape`, the general rules, which also word the errors.
    """
    if type(raw) is not dict or raw.get("mcp_trust") is not None:
        return None
    latency = raw.get("latency_ms", 0)
    kind = type(latency)
    if not (kind is int or (kind is float and latency != 0 and math.isfinite(latency))):
        return None
    try:
        built = msgspec.convert(raw, TraceRecord, strict=True)
    except msgspec.ValidationError:
        return None
    out: dict[str, Any] = msgspec.to_builtins(built)
    out["created_at"] = time_text(out["created_at"])
    out["observed_at"] = time_text(out["observed_at"])
    return out


@lru_cache(maxsize=256)
def _text_time(text: str) -> str:
    return to_rfc3339(text)


def _time_text(value: str | datetime) -> str:
    """:func:`to_rfc3339`; text (mostly the same few ``created_at`` values) is memoized."""
    if isinstance(value, str):
        return _text_time(value)
    return to_rfc3339(value)


_last_second: tuple[int, str] = (-1, "")  # (unix second, its text up to the seconds)


def _now_text() -> str:
    """:func:`gait.signing.now_rfc3339`, rendering the date part once per second."""
    global _last_second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached_seconds, prefix = _last_second  # one tuple: threads never see half an update
    if seconds != cached_seconds:
        prefix = format_rfc3339(seconds)[:-1]
        _last_second = (seconds, prefix)
    if nanos:
        return f"{prefix}.{nanos:09d}".rstrip("0") + "Z"
    return prefix + "Z"


def _as_is(text: str) -> str:
    return text


def sign_trace(record: Mapping[str, Any], key: KeyPair) -> dict[str, Any]:
    """Sign a trace record (§3) over its projection, so the signed bytes are what is written."""
    return sign_record(project_trace(record), key)


def sign_built_trace(record: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """:func:`sign_trace` for a record straight from :func:`build_trace_record`.

    That record already is its own projection (shaping is idempotent), so the
    second projection is skipped: same signed bytes, about a third less work.
    """
    if "signature" in record:
        return sign_record(record, key)
    signed = dict(record)
    signed["signature"] = sign_digest(key, digest(record))
    return signed
