"""The field rules of the ``gait.gate.trace`` record (trace.md §4), as data.

One table drives both directions, so what is signed and what is verified can
never drift apart:

* building: caller values are checked, zero values of omit-empty fields are
  dropped, times are normalized to RFC 3339 UTC text;
* verifying: a parsed file is *projected* onto the known fields exactly as the
  reference re-serializes its struct — unknown keys ignored, ``null`` read as
  the zero value of an omit-empty field, omit-empty zeros dropped, wrong JSON
  types rejected — while time fields keep their original text (nanoseconds
  included, trace.md §3).

One deliberate difference from the reference: a field it always writes (not
omit-empty) must be present and non-null. The reference would read a missing
one as its zero value, which lets e.g. a renamed ``"index": 0`` key go
unnoticed; no file the reference writes lacks one, so failing closed costs
nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gait.errors import InvalidInput

__all__ = ["TRACE_FIELDS", "Field", "shape"]

_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class Field:
    """One JSON field: its kind and whether a zero value is still written.

    Kinds: ``str``, ``time``, ``int``, ``float``, ``bool``, ``strs`` (list of
    strings), ``obj`` (nested object; with ``keep_empty=False`` it is omitted
    only when absent/null, like a Go pointer), ``objs`` (list of objects) and
    ``any`` (kept verbatim). Time fields are always written. ``keep_empty``
    fields (and time fields) are required.
    """

    name: str
    kind: str
    keep_empty: bool = False
    fields: tuple[Field, ...] = ()


def _f(
    name: str, kind: str = "str", *, keep: bool = False, fields: tuple[Field, ...] = ()
) -> Field:
    return Field(name, kind, keep, fields)


_NODE = (_f("kind", keep=True), _f("id", keep=True))
_RELATIONSHIP = (
    _f("parent_ref", "obj", fields=_NODE),
    _f("entity_refs", "objs", fields=_NODE),
    _f(
        "policy_ref",
        "obj",
        fields=(
            _f("policy_id"),
            _f("policy_version"),
            _f("policy_digest"),
            _f("matched_rule_ids", "strs"),
        ),
    ),
    _f("agent_chain", "objs", fields=(_f("identity", keep=True), _f("role", keep=True))),
    _f(
        "edges",
        "objs",
        fields=(
            _f("kind", keep=True),
            _f("from", "obj", keep=True, fields=_NODE),
            _f("to", "obj", keep=True, fields=_NODE),
        ),
    ),
    _f("parent_record_id"),
    _f("related_record_ids", "strs"),
    _f("related_entity_ids", "strs"),
    _f(
        "agent_lineage",
        "objs",
        fields=(_f("agent_id", keep=True), _f("delegated_by"), _f("delegation_record_id")),
    ),
)
_STEP_VERDICT = (
    _f("index", "int", keep=True),
    _f("tool_name", keep=True),
    _f("verdict", keep=True),
    _f("reason_codes", "strs"),
    _f("violations", "strs"),
    _f("matched_rule"),
)
_DELEGATION_REF = (
    _f("delegation_token_ref"),
    _f("requester_identity"),
    _f("delegation_depth", "int"),
    _f("scope_class"),
    _f("chain_digest"),
    _f("reason_codes", "strs"),
)
_SKILL_PROVENANCE = (
    _f("skill_name", keep=True),
    _f("skill_version"),
    _f("source", keep=True),
    _f("publisher", keep=True),
    _f("digest"),
    _f("signature_key_id"),
)
_SIGNATURE = (
    _f("alg", keep=True),
    _f("key_id", keep=True),
    _f("sig", keep=True),
    _f("signed_digest"),
)

TRACE_FIELDS: tuple[Field, ...] = (
    _f("schema_id", keep=True),
    _f("schema_version", keep=True),
    _f("created_at", "time"),
    _f("observed_at", "time"),
    _f("producer_version", keep=True),
    _f("trace_id", keep=True),
    _f("event_id"),
    _f("correlation_id"),
    _f("tool_name", keep=True),
    _f("args_digest", keep=True),
    _f("intent_digest", keep=True),
    _f("policy_digest", keep=True),
    _f("policy_id"),
    _f("policy_version"),
    _f("matched_rule_ids", "strs"),
    _f("verdict", keep=True),
    _f("context_set_digest"),
    _f("context_evidence_mode"),
    _f("context_ref_count", "int"),
    _f("context_source"),
    _f("script", "bool"),
    _f("step_count", "int"),
    _f("script_hash"),
    _f("composite_risk_class"),
    _f("step_verdicts", "objs", fields=_STEP_VERDICT),
    _f("pre_approved", "bool"),
    _f("pattern_id"),
    _f("registry_reason"),
    _f("violations", "strs"),
    _f("latency_ms", "float"),
    _f("approval_token_ref"),
    _f("delegation_ref", "obj", fields=_DELEGATION_REF),
    _f("mcp_trust", "any"),
    _f("relationship", "obj", fields=_RELATIONSHIP),
    _f("skill_provenance", "obj", fields=_SKILL_PROVENANCE),
    _f("flow_refs", "strs"),  # gait's own: event ids of the earlier calls flow rules matched
    _f("signature", "obj", fields=_SIGNATURE),
)
"""Field order as the reference writes it; ``?`` fields of §4 are omit-empty."""


def shape(
    value: Mapping[str, Any],
    fields: tuple[Field, ...],
    *,
    time_text: Callable[[str], str],
    where: str = "",
) -> dict[str, Any]:
    """Apply the field rules to ``value``; ``time_text`` maps each time string.

    Raises :class:`InvalidInput` (``field <path>: expected <kind>`` or
    ``field <path>: missing``) when a value has the wrong JSON type or a
    required field is absent or null.
    """
    if not isinstance(value, Mapping):
        raise InvalidInput(f"field {where or '<record>'}: expected object")
    out: dict[str, Any] = {}
    for field in fields:
        path = f"{where}.{field.name}" if where else field.name
        raw = value.get(field.name)
        if raw is None and field.keep_empty and where == "signature":
            # a signature lacking e.g. key_id is for verification to judge, not a parse error
            raw = ""
        if raw is None and (field.keep_empty or field.kind == "time"):
            raise InvalidInput(f"field {path}: missing")
        if field.kind == "time":
            out[field.name] = time_text(_expect_str(raw, path))
            continue
        if field.kind in ("obj", "any"):
            if raw is not None:
                out[field.name] = (
                    raw
                    if field.kind == "any"
                    else shape(raw, field.fields, time_text=time_text, where=path)
                )
            continue
        item = _convert(field, raw, path, time_text)
        if item or field.keep_empty:
            out[field.name] = item
    return out


def _convert(field: Field, raw: Any, path: str, time_text: Callable[[str], str]) -> Any:
    kind = field.kind
    if kind == "str":
        return "" if raw is None else _expect_str(raw, path)
    if kind == "bool":
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise InvalidInput(f"field {path}: expected boolean")
        return raw
    if kind == "int":
        if raw is None:
            return 0
        if isinstance(raw, bool) or not isinstance(raw, int) or not -_INT64 <= raw < _INT64:
            raise InvalidInput(f"field {path}: expected integer")
        return raw
    if kind == "float":
        if raw is None:
            return 0
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise InvalidInput(f"field {path}: expected number")
        return raw
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise InvalidInput(f"field {path}: expected array")
    if kind == "strs":
        return ["" if v is None else _expect_str(v, f"{path}[{i}]") for i, v in enumerate(raw)]
    return [
        shape(v, field.fields, time_text=time_text, where=f"{path}[{i}]") for i, v in enumerate(raw)
    ]


def _expect_str(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"field {path}: expected string")
    return raw
