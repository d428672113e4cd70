"""The ``gait.gate.trace`` record (trace.md §4) as msgspec Structs.

The Structs are the one definition of the record: field names (JSON spelling),
order (as the reference writes it), types, and which fields are always
written (no default) or omit-empty (``?`` in §4: a default, left out when the
value equals it). Writers encode from them; the reader's projection rules
(:data:`TRACE_FIELDS`, :func:`shape`) are derived from them, so what is signed
and what is verified can never drift apart:

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

import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar

import msgspec

from gait.errors import InvalidInput

__all__ = [
    "AgentLineage",
    "ChainAgent",
    "DelegationRef",
    "Edge",
    "Field",
    "Node",
    "PolicyRef",
    "Relationship",
    "Signature",
    "SkillProvenance",
    "StepVerdict",
    "TraceRecord",
    "fields_of",
    "shape",
]

_INT64 = 2**63
Int64 = Annotated[int, msgspec.Meta(ge=-_INT64, le=_INT64 - 1)]
"""Go's int: the reference reads integers as int64."""


class _Record(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Base: keyword construction, omit-empty fields left out when encoded."""

    time_fields: ClassVar[tuple[str, ...]] = ()


class Node(_Record, kw_only=True):
    kind: str
    id: str


class PolicyRef(_Record, kw_only=True):
    policy_id: str = ""
    policy_version: str = ""
    policy_digest: str = ""
    matched_rule_ids: list[str] = msgspec.field(default_factory=list)


class ChainAgent(_Record, kw_only=True):
    identity: str
    role: str


class Edge(_Record, kw_only=True):
    kind: str
    from_: Node = msgspec.field(name="from")
    to: Node


class AgentLineage(_Record, kw_only=True):
    agent_id: str
    delegated_by: str = ""
    delegation_record_id: str = ""


class Relationship(_Record, kw_only=True):
    parent_ref: Node | None = None
    entity_refs: list[Node] = msgspec.field(default_factory=list)
    policy_ref: PolicyRef | None = None
    agent_chain: list[ChainAgent] = msgspec.field(default_factory=list)
    edges: list[Edge] = msgspec.field(default_factory=list)
    parent_record_id: str = ""
    related_record_ids: list[str] = msgspec.field(default_factory=list)
    related_entity_ids: list[str] = msgspec.field(default_factory=list)
    agent_lineage: list[AgentLineage] = msgspec.field(default_factory=list)


class StepVerdict(_Record, kw_only=True):
    index: Int64
    tool_name: str
    verdict: str
    reason_codes: list[str] = msgspec.field(default_factory=list)
    violations: list[str] = msgspec.field(default_factory=list)
    matched_rule: str = ""


class DelegationRef(_Record, kw_only=True):
    delegation_token_ref: str = ""
    requester_identity: str = ""
    delegation_depth: Int64 = 0
    scope_class: str = ""
    chain_digest: str = ""
    reason_codes: list[str] = msgspec.field(default_factory=list)


class SkillProvenance(_Record, kw_only=True):
    skill_name: str
    skill_version: str = ""
    source: str
    publisher: str
    digest: str = ""
    signature_key_id: str = ""


class Signature(_Record, kw_only=True, forbid_unknown_fields=True):
    """trace.md §3. Not covered by the digest, so the reader refuses unknown fields in it
    (:mod:`gait.trace.store` names the field; the Struct only leaves such records to it)."""

    alg: str
    key_id: str
    sig: str
    signed_digest: str = ""


class TraceRecord(_Record, kw_only=True):
    """One ``gait.gate.trace`` record, fields in the order the reference writes them."""

    time_fields: ClassVar[tuple[str, ...]] = ("created_at", "observed_at")

    schema_id: str
    schema_version: str
    created_at: str
    observed_at: str
    producer_version: str
    trace_id: str
    event_id: str = ""
    correlation_id: str = ""
    tool_name: str
    args_digest: str
    intent_digest: str
    policy_digest: str
    policy_id: str = ""
    policy_version: str = ""
    matched_rule_ids: list[str] = msgspec.field(default_factory=list)
    verdict: str
    context_set_digest: str = ""
    context_evidence_mode: str = ""
    context_ref_count: Int64 = 0
    context_source: str = ""
    script: bool = False
    step_count: Int64 = 0
    script_hash: str = ""
    composite_risk_class: str = ""
    step_verdicts: list[StepVerdict] = msgspec.field(default_factory=list)
    pre_approved: bool = False
    pattern_id: str = ""
    registry_reason: str = ""
    violations: list[str] = msgspec.field(default_factory=list)
    latency_ms: int | float = 0
    approval_token_ref: str = ""
    delegation_ref: DelegationRef | None = None
    mcp_trust: Any = None  # kept verbatim (its own format, trace.md §4)
    relationship: Relationship | None = None
    skill_provenance: SkillProvenance | None = None
    flow_refs: list[str] = msgspec.field(default_factory=list)  # gait's own: flow rule matches
    signature: Signature | None = None


# ----------------------------------------------------------- projection rules ---


class Field(msgspec.Struct, frozen=True, gc=False):
    """One JSON field as the projection sees it, derived from a Struct field.

    Kinds: ``str``, ``time``, ``int``, ``float``, ``bool``, ``strs`` (list of
    strings), ``obj`` (nested object; with ``keep_empty=False`` it is omitted
    only when absent/null, like a Go pointer), ``objs`` (list of objects) and
    ``any`` (kept verbatim). Time fields are always written. ``keep_empty``
    fields (required in the Struct, and time fields) are required.
    """

    name: str
    kind: str
    keep_empty: bool = False
    fields: tuple["Field", ...] = ()


def _kind(tp: Any) -> tuple[str, type[msgspec.Struct] | None]:
    """The projection kind of a Struct field type (and the nested Struct, if any)."""
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if tp is str:
        return "str", None
    if tp is bool:
        return "bool", None
    if tp is int:
        return "int", None
    if tp is Any:
        return "any", None
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return "obj", tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        kind, nested = _kind(args[0])
        if kind == "str":
            return "strs", None
        if kind == "obj":
            return "objs", nested
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if set(members) == {int, float}:
            return "float", None
        if len(members) == 1 and type(None) in args:
            kind, nested = _kind(members[0])
            if kind == "obj":
                return "obj", nested
    raise TypeError(f"no projection rule for field type {tp!r}")


_DERIVED: dict[type, tuple[Field, ...]] = {}


def fields_of(cls: type[_Record]) -> tuple[Field, ...]:
    """The projection rules of a record Struct, in its field order (computed once).

    ``fields_of(TraceRecord)`` (also spelt ``TRACE_FIELDS``) is the field order
    as the reference writes it; ``?`` fields of §4 are omit-empty.
    """
    found = _DERIVED.get(cls)
    if found is not None:
        return found
    out = []
    for info in msgspec.structs.fields(cls):
        kind, nested = _kind(info.type)
        keep = info.required
        if info.name in cls.time_fields:
            kind, keep = "time", False  # required by kind
        children = fields_of(nested) if nested is not None else ()
        out.append(Field(info.encode_name, kind, keep, children))
    _DERIVED[cls] = result = tuple(out)
    return result


def __getattr__(name: str) -> Any:
    # TRACE_FIELDS is derived on first use: resolving the Struct types costs about
    # a millisecond, which one-shot commands that only write traces never need.
    if name == "TRACE_FIELDS":
        return fields_of(TraceRecord)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
