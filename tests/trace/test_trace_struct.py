"""The trace record as msgspec Structs: the derived rules equal the former hand-written
table, and the Struct fast path projects exactly like the general rules (or fails the same)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.errors import InvalidInput
from gait.signing import format_rfc3339, generate_keypair, now_rfc3339, parse_rfc3339
from gait.trace import record as record_module
from gait.trace.record import (
    _as_is,
    _fast_projection,
    _keep_text,
    _now_text,
    _projection,
    build_trace_record,
    sign_built_trace,
    sign_trace,
)
from gait.trace.schema import TRACE_FIELDS, shape

# The rules as gait/trace/schema.py spelt them by hand before the Structs:
# (name, kind, always written, nested rules).
_NODE = (("kind", "str", True, ()), ("id", "str", True, ()))
FORMER_TABLE = (
    ("schema_id", "str", True, ()),
    ("schema_version", "str", True, ()),
    ("created_at", "time", False, ()),
    ("observed_at", "time", False, ()),
    ("producer_version", "str", True, ()),
    ("trace_id", "str", True, ()),
    ("event_id", "str", False, ()),
    ("correlation_id", "str", False, ()),
    ("tool_name", "str", True, ()),
    ("args_digest", "str", True, ()),
    ("intent_digest", "str", True, ()),
    ("policy_digest", "str", True, ()),
    ("policy_id", "str", False, ()),
    ("policy_version", "str", False, ()),
    ("matched_rule_ids", "strs", False, ()),
    ("verdict", "str", True, ()),
    ("context_set_digest", "str", False, ()),
    ("context_evidence_mode", "str", False, ()),
    ("context_ref_count", "int", False, ()),
    ("context_source", "str", False, ()),
    ("script", "bool", False, ()),
    ("step_count", "int", False, ()),
    ("script_hash", "str", False, ()),
    ("composite_risk_class", "str", False, ()),
    (
        "step_verdicts",
        "objs",
        False,
        (
            ("index", "int", True, ()),
            ("tool_name", "str", True, ()),
            ("verdict", "str", True, ()),
            ("reason_codes", "strs", False, ()),
            ("violations", "strs", False, ()),
            ("matched_rule", "str", False, ()),
        ),
    ),
    ("pre_approved", "bool", False, ()),
    ("pattern_id", "str", False, ()),
    ("registry_reason", "str", False, ()),
    ("violations", "strs", False, ()),
    ("latency_ms", "float", False, ()),
    ("approval_token_ref", "str", False, ()),
    (
        "delegation_ref",
        "obj",
        False,
        (
            ("delegation_token_ref", "str", False, ()),
            ("requester_identity", "str", False, ()),
            ("delegation_depth", "int", False, ()),
            ("scope_class", "str", False, ()),
            ("chain_digest", "str", False, ()),
            ("reason_codes", "strs", False, ()),
        ),
    ),
    ("mcp_trust", "any", False, ()),
    (
        "relationship",
        "obj",
        False,
        (
            ("parent_ref", "obj", False, _NODE),
            ("entity_refs", "objs", False, _NODE),
            (
                "policy_ref",
                "obj",
                False,
                (
                    ("policy_id", "str", False, ()),
                    ("policy_version", "str", False, ()),
                    ("policy_digest", "str", False, ()),
                    ("matched_rule_ids", "strs", False, ()),
                ),
            ),
            (
                "agent_chain",
                "objs",
                False,
                (("identity", "str", True, ()), ("role", "str", True, ())),
            ),
            (
                "edges",
                "objs",
                False,
                (
                    ("kind", "str", True, ()),
                    ("from", "obj", True, _NODE),
                    ("to", "obj", True, _NODE),
                ),
            ),
            ("parent_record_id", "str", False, ()),
            ("related_record_ids", "strs", False, ()),
            ("related_entity_ids", "strs", False, ()),
            (
                "agent_lineage",
                "objs",
                False,
                (
                    ("agent_id", "str", True, ()),
                    ("delegated_by", "str", False, ()),
                    ("delegation_record_id", "str", False, ()),
                ),
            ),
        ),
    ),
    (
        "skill_provenance",
        "obj",
        False,
        (
            ("skill_name", "str", True, ()),
            ("skill_version", "str", False, ()),
            ("source", "str", True, ()),
            ("publisher", "str", True, ()),
            ("digest", "str", False, ()),
            ("signature_key_id", "str", False, ()),
        ),
    ),
    ("flow_refs", "strs", False, ()),
    (
        "signature",
        "obj",
        False,
        (
            ("alg", "str", True, ()),
            ("key_id", "str", True, ()),
            ("sig", "str", True, ()),
            ("signed_digest", "str", False, ()),
        ),
    ),
)


def _table(fields: Any) -> tuple[Any, ...]:
    return tuple((f.name, f.kind, f.keep_empty, _table(f.fields)) for f in fields)


def test_rules_derived_from_the_structs_equal_the_former_table() -> None:
    assert _table(TRACE_FIELDS) == FORMER_TABLE


KEY = generate_keypair()


def _full_record() -> dict[str, Any]:
    """A signed record with every nested object, as a file would hold it."""
    record = build_trace_record(
        policy_digest="a" * 64,
        intent_digest="b" * 64,
        args_digest="c" * 64,
        tool_name="fs.write",
        verdict="block",
        created_at="2026-01-02T03:04:05.5Z",
        observed_at="2026-11-24T18:33:26.576588546Z",
        correlation_id="corr",
        policy_id="gait.gate.policy",
        policy_version="1.0.0",
        violations=["v1", "v2"],
        context_set_digest="d" * 64,
        context_evidence_mode="required",
        context_ref_count=2,
        script=True,
        step_count=1,
        script_hash="e" * 64,
        composite_risk_class="high",
        step_verdicts=[
            {"index": 0, "tool_name": "a", "verdict": "block", "matched_rule": "r1"},
        ],
        latency_ms=1.25,
        approval_token_ref="tok",
        delegation_ref={"delegation_token_ref": "d1", "delegation_depth": 1},
        relationship={
            "parent_ref": {"kind": "trace", "id": "p"},
            "edges": [
                {"kind": "calls", "from": {"kind": "a", "id": "1"}, "to": {"kind": "b", "id": "2"}}
            ],
            "agent_chain": [{"identity": "x", "role": "y"}],
        },
        skill_provenance={"skill_name": "s", "source": "git", "publisher": "p"},
        flow_refs=["f1"],
    )
    return sign_trace(record, KEY)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


FULL = _full_record()
PATHS = _paths(FULL)
ODD_VALUES = [
    None,
    "",
    "x",
    0,
    0.0,
    -0.0,
    1.5,
    -2,
    True,
    False,
    [],
    {},
    ["a", None],
    [{"kind": "k"}],
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    float("nan"),
    float("inf"),
    ("t",),
    "2026-13-01T00:00:00Z",
]
_DELETE = object()


def _mutated(record: dict[str, Any], edits: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    for path, value in edits:
        parent: Any = out
        try:
            for step in path[:-1]:
                parent = parent[step]
            if value is _DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced part of the path
    return out


def _outcome(call: Any) -> tuple[str, str]:
    try:
        result = call()
    except InvalidInput as err:
        return "error", err.message
    # key order and int/float spelling are part of what is signed and written
    return "ok", json.dumps(result, allow_nan=True)


edits = st.lists(
    st.tuples(
        st.sampled_from(PATHS)
        | st.sampled_from([("extra",), ("latency_ms",), ("mcp_trust",), ("signature", "extra")]),
        st.sampled_from([*ODD_VALUES, _DELETE]),
    ),
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(edits=edits, time_check=st.sampled_from(["keep", "as_is"]))
def test_fast_projection_equals_the_general_rules(edits, time_check) -> None:
    raw = _mutated(FULL, edits)
    time_text = _keep_text if time_check == "keep" else _as_is
    general = _outcome(lambda: shape(copy.deepcopy(raw), TRACE_FIELDS, time_text=time_text))
    try:
        fast = _fast_projection(copy.deepcopy(raw), time_text)
    except InvalidInput as err:  # a time text the rules refuse, with the same words
        assert general == ("error", err.message)
    else:
        if fast is not None:  # where it applies, the fast path gives the same record
            assert general == ("ok", json.dumps(fast, allow_nan=True))
    # and so does the projection as a whole, warm or cold
    assert _outcome(lambda: _projection(copy.deepcopy(raw), time_text)) == general


def test_fast_path_applies_to_written_records() -> None:
    assert _fast_projection(FULL, _keep_text) == FULL
    unsigned = {k: v for k, v in FULL.items() if k != "signature"}
    assert _fast_projection(unsigned, _as_is) == unsigned


def test_warm_projections_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("general path taken")

    monkeypatch.setattr(record_module, "_projections", record_module._COLD_CALLS)
    monkeypatch.setattr(record_module, "shape", refuse)
    assert _projection(FULL, _keep_text) == FULL


def test_cold_projections_take_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return shape(*args, **kwargs)

    monkeypatch.setattr(record_module, "_projections", 0)
    monkeypatch.setattr(record_module, "shape", counting)
    for _ in range(record_module._COLD_CALLS + 2):
        assert _projection(FULL, _keep_text) == FULL
    assert len(calls) == record_module._COLD_CALLS


def test_general_path_words_the_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "_projections", record_module._COLD_CALLS)
    broken = {**FULL, "context_ref_count": "2", "verdict": None}
    with pytest.raises(InvalidInput, match=r"^field verdict: missing$"):
        _projection(broken, _keep_text)  # field order decides which error is named


def test_sign_built_trace_equals_sign_trace_with_a_signature_present() -> None:
    assert sign_built_trace(FULL, KEY) == sign_trace(FULL, KEY)


@settings(max_examples=300, deadline=None)
@given(ns=st.integers(min_value=0, max_value=253402300799 * 10**9 + 999_999_999))
def test_now_text_renders_like_format_rfc3339(ns: int) -> None:
    import time as time_module

    original = time_module.time_ns
    try:
        time_module.time_ns = lambda: ns  # type: ignore[assignment]
        assert _now_text() == format_rfc3339(*divmod(ns, 1_000_000_000))
        # a second call within the same second reuses the cached date part
        time_module.time_ns = lambda: ns - ns % 10**9 + (ns + 7) % 10**9  # type: ignore[assignment]
        later = time_module.time_ns()
        assert _now_text() == format_rfc3339(*divmod(later, 1_000_000_000))
    finally:
        time_module.time_ns = original  # type: ignore[assignment]


def test_now_text_is_wall_clock() -> None:
    before, now, after = now_rfc3339(), _now_text(), now_rfc3339()
    assert before[:19] <= now[:19] <= after[:19]


def test_signature_is_closed_so_extra_fields_leave_the_fast_path() -> None:
    tampered = {**FULL, "signature": {**FULL["signature"], "note": "x"}}
    assert _fast_projection(tampered, _keep_text) is None
    # the general rules ignore it; gait.trace.store refuses it by name
    assert "note" not in shape(tampered, TRACE_FIELDS, time_text=_keep_text)["signature"]


def _parses(text: str) -> bool:
    try:
        parse_rfc3339(text)
    except InvalidInput:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    head=st.sampled_from(
        ["2026-11-24T18:33:26", "2026-02-29T00:00:00", "2024-02-29T23:59:60", "0001-01-01T00:00:00"]
    ),
    tail=st.text(alphabet="0123456789.Zz+-:\u0663 ", max_size=14),
    prime=st.sampled_from([".5Z", "Z", "+01:00", ".123456789Z"]),
)
def test_keep_text_accepts_exactly_what_parse_rfc3339_accepts(head, tail, prime) -> None:
    _keep_text_outcome(head + prime)  # may remember this head as valid
    assert _keep_text_outcome(head + tail) == _parses(head + tail)


def _keep_text_outcome(text: str) -> bool:
    try:
        assert _keep_text(text) == text
    except InvalidInput:
        return False
    return True
