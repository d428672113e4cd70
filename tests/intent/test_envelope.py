"""Context envelopes: normalization, self-digest, overrides, refs checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.canonical import digest
from gait.errors import InvalidInput
from gait.intent.envelope import (
    apply_envelope,
    build_envelope,
    context_set_digest,
    envelope_from_refs,
    load_envelope,
    parse_envelope,
    refs_context_errors,
    refs_with_envelope,
)
from gait.intent.normalize import normalize_intent

H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64


def record(ref_id: str = "ctx_001", **extra: Any) -> dict[str, Any]:
    base = {
        "ref_id": ref_id,
        "source_type": "doc_store",
        "source_locator": "docs://policy/security",
        "query_digest": H1,
        "content_digest": H2,
        "retrieved_at": "2026-02-14T00:00:00Z",
        "redaction_mode": "reference",
        "immutability": "immutable",
    }
    base.update(extra)
    return base


def envelope(*records: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {
        "schema_id": "gait.context.envelope",
        "schema_version": "1.0.0",
        "created_at": "2026-02-14T00:00:00Z",
        "producer_version": "test",
        "context_set_id": "ctx_set",
        "context_set_digest": "",
        "evidence_mode": "required",
        "records": list(records),
    }
    base.update(extra)
    return base


def test_empty_digest_is_computed_over_sorted_normalized_records() -> None:
    env = build_envelope(envelope(record("b"), record("a", content_digest=H3.upper())))
    assert [r["ref_id"] for r in env.records] == ["a", "b"]
    assert env.records[0]["content_digest"] == H3  # lowercased before digesting
    assert env.context_set_digest == digest([dict(r) for r in env.records])
    # the digest given back is accepted (self-verifying)
    again = build_envelope(
        envelope(
            record("a", content_digest=H3),
            record("b"),
            context_set_digest=env.context_set_digest.upper(),
        )
    )
    assert again.context_set_digest == env.context_set_digest


def test_defaults_of_a_record() -> None:
    env = build_envelope(
        envelope(
            record(immutability="", retrieved_at=None, freshness_sla_seconds=0, retrieval_params={})
        )
    )
    (rec,) = env.records
    assert rec["immutability"] == "unknown"
    assert rec["retrieved_at"] == "1980-01-01T00:00:00Z"
    assert "freshness_sla_seconds" not in rec and "retrieval_params" not in rec


def test_digest_mismatch_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="context_set_digest mismatch"):
        build_envelope(envelope(record(), context_set_digest="f" * 64))
    with pytest.raises(InvalidInput, match="must be sha256 hex"):
        build_envelope(envelope(record(), context_set_digest="xyz"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_id": "other"}, "unsupported context envelope schema_id"),
        ({"schema_version": "2.0.0"}, "unsupported context envelope schema_version"),
        ({"context_set_id": " "}, "context_set_id is required"),
        ({"evidence_mode": "sometimes"}, "best_effort or required"),
        ({"extra": 1}, 'unknown field "extra"'),
        ({"records": {}}, "records must be a JSON array"),
        ({"records": [record(query_digest="nothex")]}, "digests must be sha256 hex"),
        ({"records": [record(source_type="")]}, "are required"),
        ({"records": [record(immutability="frozen")]}, "immutability"),
        ({"records": [record(freshness_sla_seconds=-1)]}, ">= 0"),
        ({"records": [record(retrieved_at="yesterday")]}, "RFC 3339"),
        ({"records": [{**record(), "secret": "x"}]}, "unknown field secret"),
    ],
)
def test_bad_envelopes_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_envelope(envelope(record(), **change))


def test_load_bounds_and_local_paths(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(envelope(record())))
    assert load_envelope(str(path)).ref_ids == ("ctx_001",)
    with pytest.raises(InvalidInput, match="local filesystem path"):
        load_envelope("https://example.com/env.json")
    with pytest.raises(InvalidInput, match="not a regular file"):
        load_envelope(str(tmp_path))
    with pytest.raises(InvalidInput, match="No such file"):
        load_envelope(str(tmp_path / "missing.json"))
    path.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(InvalidInput, match="size limit"):
        load_envelope(str(path))
    with pytest.raises(InvalidInput, match="parse context envelope"):
        parse_envelope("{not json")


def _intent(**ctx: Any) -> Any:
    context = {"identity": "alice", "workspace": "/repo", "risk_class": "high", **ctx}
    return normalize_intent({"tool_name": "tool.read", "args": {}, "context": context})


def test_apply_overrides_intent_context() -> None:
    env = build_envelope(
        envelope(
            record("b", retrieved_at="2026-02-14T00:00:00Z"),
            record("a", retrieved_at="2026-02-14T00:00:30.9Z"),
            record("a", source_locator="docs://other"),
        )
    )
    out = apply_envelope(_intent(auth_context={"user": "u"}), env, now="2026-02-14T00:01:00Z")
    ctx = out.context
    assert ctx.context_set_digest == env.context_set_digest
    assert ctx.context_evidence_mode == "required"
    assert ctx.context_refs == ("a", "b")  # sorted, unique
    assert ctx.auth_context == {"user": "u", "context_age_seconds": 60}
    # no records: age from the envelope's created_at
    empty = build_envelope(envelope())
    assert empty.context_age_seconds("2026-02-14T00:00:05Z") == 5
    assert empty.context_age_seconds("2026-02-13T00:00:00Z") == 0  # never negative


def test_apply_rejects_a_differing_claim() -> None:
    env = build_envelope(envelope(record()))
    same = apply_envelope(
        _intent(context_set_digest=env.context_set_digest.upper()), env, now="2026-02-14T00:00:00Z"
    )
    assert same.context.context_set_digest == env.context_set_digest
    with pytest.raises(InvalidInput, match=r"digest does not match context\.context_set_digest"):
        apply_envelope(_intent(context_set_digest="a" * 64), env, now="2026-02-14T00:00:00Z")
    with pytest.raises(InvalidInput, match="evidence mode does not match"):
        apply_envelope(
            _intent(context_evidence_mode="best_effort"), env, now="2026-02-14T00:00:00Z"
        )


def test_refs_round_trip_and_checks() -> None:
    env = build_envelope(envelope(record("b"), record("a")))
    refs = refs_with_envelope({"run_id": "run_x", "receipts": []}, env, "")
    assert refs["context_ref_count"] == 2
    assert [r["ref_id"] for r in refs["receipts"]] == ["a", "b"]
    assert refs["context_evidence_mode"] == "required"
    again = envelope_from_refs(refs)
    assert again is not None and again.context_set_digest == env.context_set_digest
    assert refs_context_errors(refs) == []
    tampered = {
        **refs,
        "receipts": [{**refs["receipts"][0], "content_digest": H3}, refs["receipts"][1]],
    }
    assert refs_context_errors(tampered) == ["refs: context_set_digest mismatch"]
    # a bare digest claim in best_effort mode has nothing to check against
    assert refs_context_errors({"context_set_digest": "a" * 64}) == []
    assert refs_context_errors({"context_evidence_mode": "required"}) == [
        "context evidence mode required but context_set_digest is missing"
    ]
    assert envelope_from_refs({"receipts": []}) is None


_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _hex, _hex), max_size=5), st.randoms())
def test_digest_ignores_record_order(rows: list[tuple[str, str, str]], rnd: Any) -> None:
    records = [record(r, query_digest=q, content_digest=c) for r, q, c in rows]
    shuffled = list(records)
    rnd.shuffle(shuffled)
    a = build_envelope(envelope(*records))
    b = build_envelope(envelope(*shuffled))
    assert a.context_set_digest == b.context_set_digest
    assert context_set_digest(list(a.records)) == a.context_set_digest


def test_refs_from_envelope_file_modes(tmp_path: Path) -> None:
    from gait.intent.envelope import refs_from_envelope_file

    good = tmp_path / "env.json"
    good.write_text(json.dumps(envelope(record(), evidence_mode="best_effort")))
    refs, mode, warnings = refs_from_envelope_file({"receipts": []}, str(good), "")
    assert mode == "best_effort" and warnings == [] and refs["context_ref_count"] == 1
    refs, mode, _ = refs_from_envelope_file({}, str(good), "required")
    assert mode == "required" and refs["context_evidence_mode"] == "required"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(envelope(record(), context_set_digest="f" * 64)))
    refs, mode, warnings = refs_from_envelope_file({"receipts": []}, str(bad), "best_effort")
    assert warnings == ["context envelope ignored: context_set_digest mismatch"]
    assert "context_set_digest" not in refs
    for kwargs in ({"evidence_mode": "required"}, {"evidence_mode": "", "strict": True}):
        with pytest.raises(InvalidInput, match="context_set_digest mismatch"):
            refs_from_envelope_file({}, str(bad), **kwargs)  # type: ignore[arg-type]
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(envelope(record(redaction_mode="raw"))))
    with pytest.raises(InvalidInput, match="--unsafe-context-raw"):
        refs_from_envelope_file({}, str(raw), "")
    assert refs_from_envelope_file({}, str(raw), "", unsafe_context_raw=True)[1] == "required"


def test_sdk_record_runpack_takes_an_envelope(tmp_path: Path) -> None:
    from gait.runpack.reader import read_runpack
    from gait.sdk.artifacts import record_runpack

    env = tmp_path / "env.json"
    env.write_text(json.dumps(envelope(record())))
    capture = record_runpack(
        {"run": {"run_id": "run_sdk", "created_at": "2026-01-01T00:00:00Z"}},
        out_dir=str(tmp_path / "out"),
        context_envelope=str(env),
    )
    refs = read_runpack(capture.bundle_path).refs
    assert refs.context_evidence_mode == "required" and refs.context_ref_count == 1
    assert refs.context_set_digest == build_envelope(envelope(record())).context_set_digest
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(envelope(record(), context_set_digest="f" * 64)))
    with pytest.raises(InvalidInput, match="context_set_digest mismatch"):
        record_runpack({"run": {"run_id": "run_sdk2"}}, out_dir=str(tmp_path / "o2"),
                       context_envelope=str(bad))  # fmt: skip
    assert not (tmp_path / "o2").exists()
