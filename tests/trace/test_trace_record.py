"""Building the ``gait.gate.trace`` record (trace.md §4)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

import gait
from gait.errors import InvalidInput
from gait.signing import KeyPair, parse_rfc3339, verify_record
from gait.trace import (
    build_trace_record,
    compute_event_id,
    compute_trace_id,
    project_trace,
    sign_trace,
)

POLICY, INTENT, ARGS = "a" * 64, "b" * 64, "c" * 64
OBSERVED = "2026-11-24T18:33:26.576588546Z"


def _build(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "policy_digest": POLICY,
        "intent_digest": INTENT,
        "args_digest": ARGS,
        "tool_name": "fs.write",
        "verdict": "block",
        "observed_at": OBSERVED,
    }
    values.update(overrides)
    return build_trace_record(**values)


def test_trace_id_is_first_12_bytes_of_sha256_of_policy_intent_verdict() -> None:
    expected = hashlib.sha256(f"{POLICY}:{INTENT}:block".encode()).hexdigest()[:24]
    assert compute_trace_id(POLICY, INTENT, "block") == expected
    assert _build()["trace_id"] == expected
    assert compute_trace_id(POLICY, INTENT, "allow") != expected


def test_event_id_hashes_trace_id_and_observed_at_text() -> None:
    record = _build()
    expected = hashlib.sha256(f"{record['trace_id']}:{OBSERVED}".encode()).hexdigest()[:24]
    assert record["event_id"] == expected == compute_event_id(record["trace_id"], OBSERVED)


def test_minimal_record_has_exactly_the_always_present_fields() -> None:
    assert list(_build()) == [
        "schema_id",
        "schema_version",
        "created_at",
        "observed_at",
        "producer_version",
        "trace_id",
        "event_id",
        "tool_name",
        "args_digest",
        "intent_digest",
        "policy_digest",
        "verdict",
    ]


def test_constant_and_default_fields() -> None:
    record = _build()
    assert (record["schema_id"], record["schema_version"]) == ("gait.gate.trace", "1.0.0")
    assert record["created_at"] == "1980-01-01T00:00:00Z"
    assert record["producer_version"] == gait.PRODUCER_VERSION
    assert record["observed_at"] == OBSERVED  # nanoseconds kept


def test_observed_at_defaults_to_now_with_nanosecond_text() -> None:
    record = _build(observed_at=None)
    seconds, _ = parse_rfc3339(record["observed_at"])
    assert abs(seconds - datetime.now(UTC).timestamp()) < 5
    assert record["event_id"] == compute_event_id(record["trace_id"], record["observed_at"])


def test_created_at_is_normalized_to_utc_text() -> None:
    assert (
        _build(created_at="2026-01-02T05:04:05.100+02:00")["created_at"] == "2026-01-02T03:04:05.1Z"
    )
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _build(created_at=moment)["created_at"] == "2026-01-02T03:04:05Z"


def test_optional_fields_are_written_when_set_in_reference_order() -> None:
    record = _build(
        correlation_id=" run_1 ",
        policy_id="gait.gate.policy",
        policy_version="1.0.0",
        violations=["z", "a", " a", ""],
        context_set_digest="d" * 64,
        context_evidence_mode="required",
        context_ref_count=2,
        context_source="context_envelope",
        latency_ms=1.5,
        approval_token_ref="tok1,tok2",
        delegation_ref={"requester_identity": "agent", "delegation_depth": 1, "scope_class": ""},
        skill_provenance={"skill_name": "s", "source": "registry", "publisher": "acme"},
        relationship={"parent_ref": {"kind": "session", "id": "s1"}},
    )
    assert record["correlation_id"] == "run_1"
    assert record["violations"] == ["a", "z"]
    assert record["delegation_ref"] == {"requester_identity": "agent", "delegation_depth": 1}
    assert record["skill_provenance"] == {
        "skill_name": "s",
        "source": "registry",
        "publisher": "acme",
    }
    keys = list(record)
    assert keys.index("policy_id") < keys.index("verdict") < keys.index("context_set_digest")
    assert keys.index("violations") < keys.index("latency_ms") < keys.index("delegation_ref")
    assert keys[-1] == "skill_provenance"


def test_empty_zero_false_optional_fields_are_omitted() -> None:
    record = _build(
        correlation_id=" ",
        violations=[],
        context_ref_count=0,
        script=False,
        pre_approved=False,
        latency_ms=0.0,
        delegation_ref=None,
    )
    for name in (
        "correlation_id",
        "violations",
        "context_ref_count",
        "script",
        "pre_approved",
        "latency_ms",
        "delegation_ref",
    ):
        assert name not in record


def test_script_fields_and_matched_rule_ids_from_step_verdicts() -> None:
    steps = [
        {"index": 0, "tool_name": "a", "verdict": "allow", "matched_rule": "r2"},
        {
            "index": 1,
            "tool_name": "b",
            "verdict": "block",
            "matched_rule": "r1",
            "reason_codes": [],
        },
        {"index": 2, "tool_name": "c", "verdict": "allow", "matched_rule": "r2"},
    ]
    record = _build(
        script=True,
        step_count=3,
        script_hash="e" * 64,
        composite_risk_class=" HIGH ",
        step_verdicts=steps,
    )
    assert record["matched_rule_ids"] == ["r1", "r2"]
    assert record["composite_risk_class"] == "high"
    assert record["step_verdicts"][1] == {
        "index": 1,
        "tool_name": "b",
        "verdict": "block",
        "matched_rule": "r1",
    }
    assert (record["script"], record["step_count"]) == (True, 3)


def test_negative_latency_is_clamped_to_zero_and_omitted() -> None:
    assert "latency_ms" not in _build(latency_ms=-4.0)


def test_verdict_and_intent_digest_are_required() -> None:
    with pytest.raises(InvalidInput, match="verdict is required"):
        _build(verdict=" ")
    with pytest.raises(InvalidInput, match="intent digest missing"):
        _build(intent_digest="")


def test_wrong_value_type_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="field context_ref_count: expected integer"):
        _build(context_ref_count="2")


class _Skill(msgspec.Struct, kw_only=True):
    """Shaped like the intent model's skill provenance (a msgspec Struct)."""

    skill_name: str
    source: str
    publisher: str
    digest: str = ""


def test_msgspec_struct_values_are_accepted() -> None:
    record = _build(
        skill_provenance=_Skill(skill_name="s", source="git", publisher="p", digest="x")
    )
    assert record["skill_provenance"] == {
        "skill_name": "s",
        "source": "git",
        "publisher": "p",
        "digest": "x",
    }


def test_sign_trace_signs_the_projection(fixed_key: KeyPair) -> None:
    record = _build()
    signed = sign_trace(record, fixed_key)
    assert {k: v for k, v in signed.items() if k != "signature"} == record
    verify_record(signed, fixed_key)
    assert sign_trace(record, fixed_key) == signed  # Ed25519 is deterministic


def test_projection_drops_unknown_keys_and_empty_values_like_the_reference() -> None:
    record = _build()
    noisy = {
        **record,
        "extra": 1,
        "violations": [],
        "script": False,
        "event_id": None,
        "policy_id": "",
    }
    expected = {k: v for k, v in record.items() if k != "event_id"}
    assert project_trace(noisy) == expected


@pytest.mark.parametrize("name", ["trace_id", "verdict", "created_at", "observed_at"])
def test_projection_requires_always_written_fields(name: str) -> None:
    record = _build()
    for value in (None, "absent"):
        broken = (
            {**record, name: value}
            if value is None
            else {k: v for k, v in record.items() if k != name}
        )
        with pytest.raises(InvalidInput, match=f"^field {name}: missing$"):
            project_trace(broken)


def test_projection_requires_always_written_nested_fields() -> None:
    steps = [{"index": 0, "tool_name": "a", "verdict": "allow"}]
    record = _build(step_verdicts=steps)
    del record["step_verdicts"][0]["index"]
    with pytest.raises(InvalidInput, match=r"^field step_verdicts\[0\]\.index: missing$"):
        project_trace(record)


def test_projection_keeps_time_text_but_validates_it() -> None:
    assert project_trace(_build())["observed_at"] == OBSERVED
    with pytest.raises(InvalidInput, match="invalid RFC 3339 time"):
        project_trace({**_build(), "created_at": "yesterday"})
