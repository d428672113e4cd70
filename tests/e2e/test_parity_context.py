"""Context evidence on runs through the installed ``gait`` (issue 16 item 2).

``run record --context-envelope`` → refs carry the verified context set →
``verify`` checks it → ``regress`` enforces it with ``context_conformance``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import digest

from .cli_helpers import gait, gait_json


def record(ref_id: str = "ctx_001", content: str = "2" * 64, at: str = "") -> dict[str, Any]:
    return {
        "ref_id": ref_id,
        "source_type": "doc_store",
        "source_locator": "docs://policy/security",
        "query_digest": "1" * 64,
        "content_digest": content,
        "retrieved_at": at or "2026-02-14T00:00:00Z",
        "redaction_mode": "reference",
        "immutability": "immutable",
    }


def write_envelope(path: Path, *records: dict[str, Any], **extra: Any) -> Path:
    body = {
        "schema_id": "gait.context.envelope",
        "schema_version": "1.0.0",
        "created_at": "2026-02-14T00:00:00Z",
        "producer_version": "test",
        "context_set_id": "ctx_set_e2e",
        "context_set_digest": "",
        "evidence_mode": "required",
        "records": list(records),
        **extra,
    }
    path.write_text(json.dumps(body, indent=2))
    return path


def write_run_record(path: Path, run_id: str = "run_ctx") -> Path:
    body = {
        "run": {
            "run_id": run_id,
            "created_at": "2026-02-14T00:00:00Z",
            "env": {"os": "linux", "arch": "amd64", "runtime": "python"},
            "timeline": [{"event": "start", "ts": "2026-02-14T00:00:00Z"}],
        },
        "intents": [{"intent_id": "intent_1", "tool_name": "tool.search", "args": {"q": "x"}}],
        "results": [{"intent_id": "intent_1", "status": "ok", "result": {"ok": True}}],
        "refs": {"receipts": []},
        "capture_mode": "reference",
    }
    path.write_text(json.dumps(body))
    return path


def refs_of(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as archive:
        return json.loads(archive.read("refs.json"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_run_record(tmp_path / "run_record.json")
    write_envelope(tmp_path / "env.json", record("ctx_002", at="2026-02-14T00:00:05Z"), record())
    return tmp_path


def test_record_with_envelope_carries_the_context_set(work: Path) -> None:
    out = gait_json(
        "run",
        "record",
        "--input",
        "run_record.json",
        "--out-dir",
        "out",
        "--context-envelope",
        "env.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
    )
    assert out["ok"] is True and out["bundle"] == "./out/runpack_run_ctx.zip"
    refs = refs_of(work / "out" / "runpack_run_ctx.zip")
    receipts = refs["receipts"]
    assert [r["ref_id"] for r in receipts] == ["ctx_001", "ctx_002"]
    assert refs["context_evidence_mode"] == "required"
    assert refs["context_ref_count"] == 2
    # the envelope's self-digest: JCS digest of its sorted records
    assert refs["context_set_digest"] == digest(receipts)
    verified = gait_json("verify", "out/runpack_run_ctx.zip", cwd=work)
    assert verified["ok"] is True and "context_errors" not in verified
    # deterministic: recording again gives the same bytes
    first = (work / "out" / "runpack_run_ctx.zip").read_bytes()
    gait_json(
        "run",
        "record",
        "run_record.json",
        "--out-dir",
        "out2",
        "--context-envelope",
        "env.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
    )
    assert (work / "out2" / "runpack_run_ctx.zip").read_bytes() == first


def test_envelope_mode_applies_without_the_flag(work: Path) -> None:
    write_envelope(work / "be.json", record(), evidence_mode="best_effort")
    gait_json("run", "record", "run_record.json", "--context-envelope", "be.json", cwd=work)
    assert refs_of(work / "gait-out" / "runpack_run_ctx.zip")["context_evidence_mode"] == (
        "best_effort"
    )


def test_required_mode_without_envelope_fails(work: Path) -> None:
    out = gait_json(
        "run",
        "record",
        "run_record.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
        code=6,
    )
    assert out["error"] == "context evidence mode required but context_set_digest is missing"
    assert not (work / "gait-out").exists()


def test_tampered_envelope_digest(work: Path) -> None:
    write_envelope(work / "bad.json", record(), context_set_digest="f" * 64)
    out = gait_json(
        "run",
        "record",
        "run_record.json",
        "--context-envelope",
        "bad.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
        code=6,
    )
    assert out["error"] == "context_set_digest mismatch"
    # best_effort: the reference records without the envelope, with a warning
    out = gait_json("run", "record", "run_record.json", "--context-envelope", "bad.json", cwd=work)
    assert out["warnings"] == ["context envelope ignored: context_set_digest mismatch"]
    assert "context_set_digest" not in refs_of(work / "gait-out" / "runpack_run_ctx.zip")


def test_missing_envelope_in_required_mode_and_raw_records(work: Path) -> None:
    proc = gait(
        "run",
        "record",
        "run_record.json",
        "--context-envelope",
        "nope.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
    )
    assert proc.returncode == 6
    assert "read context envelope" in proc.stdout + proc.stderr
    raw = dict(record(), redaction_mode="raw")
    write_envelope(work / "raw.json", raw)
    out = gait_json(
        "run", "record", "run_record.json", "--context-envelope", "raw.json", cwd=work, code=6
    )
    assert "--unsafe-context-raw" in out["error"]
    gait_json(
        "run",
        "record",
        "run_record.json",
        "--context-envelope",
        "raw.json",
        "--unsafe-context-raw",
        cwd=work,
    )


def test_verify_catches_receipts_that_no_longer_match_the_digest(work: Path) -> None:
    gait_json("run", "record", "run_record.json", "--context-envelope", "env.json", cwd=work)
    # a re-recorded pack whose receipts were swapped but whose digest was kept:
    # every member hash is consistent, only the context evidence is wrong
    good = refs_of(work / "gait-out" / "runpack_run_ctx.zip")
    rr = json.loads((work / "run_record.json").read_text())
    rr["refs"] = {**good, "receipts": [record(content="3" * 64), good["receipts"][1]]}
    (work / "forged.json").write_text(json.dumps(rr))
    out = gait_json("run", "record", "forged.json", "--out-dir", "forged", cwd=work, code=2)
    assert out["error"] == "recorded runpack failed verification"
    verified = gait_json("verify", "forged/runpack_run_ctx.zip", cwd=work, code=2)
    assert verified["ok"] is False
    assert verified["context_errors"] == ["refs: context_set_digest mismatch"]
    assert "hash_mismatches" not in verified
    # the unified `pack verify` reads a legacy runpack through the same check
    packed = gait_json("pack", "verify", "forged/runpack_run_ctx.zip", cwd=work, code=2)
    assert packed["ok"] is False
    assert packed["errors"] == ["refs: context_set_digest mismatch"]


def test_regress_context_conformance_through_envelopes(work: Path) -> None:
    gait_json(
        "run",
        "record",
        "run_record.json",
        "--context-envelope",
        "env.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
    )
    init = gait_json("regress", "init", "--from", "run_ctx", cwd=work)
    fixture = json.loads((work / "fixtures" / init["fixture_name"] / "fixture.json").read_text())
    assert fixture["context_conformance"] == "required"
    assert (
        fixture["expected_context_set_digest"]
        == refs_of(work / "gait-out" / "runpack_run_ctx.zip")["context_set_digest"]
    )
    result = gait_json("regress", "run", cwd=work)
    assert result["status"] == "pass"

    # candidate recorded with different context content: semantic drift → exit 5
    write_envelope(work / "env2.json", record(content="9" * 64), record("ctx_002"))
    gait_json(
        "run",
        "record",
        "run_record.json",
        "--out-dir",
        "cand",
        "--context-envelope",
        "env2.json",
        "--context-evidence-mode",
        "required",
        cwd=work,
    )
    meta_path = work / "fixtures" / init["fixture_name"] / "fixture.json"
    meta = json.loads(meta_path.read_text())
    meta["candidate_runpack"] = str(work / "cand" / "runpack_run_ctx.zip")
    meta_path.write_text(json.dumps(meta))
    result = gait_json("regress", "run", cwd=work, code=5)
    assert result["top_failure_grader"].endswith("context_conformance")
    written = json.loads((work / result["output"]).read_text())
    grader = next(g for g in written["graders"] if g["name"].endswith("context_conformance"))
    assert grader["status"] == "fail"
    assert grader["reason_codes"] == ["context_set_digest_mismatch"]


CONTEXT_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: need-context
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
    require_context_evidence: true
    required_context_evidence_mode: required
    max_context_age_seconds: 3600
"""
CONTEXT = {"identity": "alice", "workspace": "/repo", "risk_class": "high"}


def _fresh(work: Path) -> Path:
    from datetime import UTC, datetime, timedelta

    recent = (datetime.now(UTC) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return write_envelope(work / "fresh.json", record(at=recent))


def test_gate_eval_with_envelope(work: Path) -> None:
    (work / "policy.yaml").write_text(CONTEXT_POLICY)
    intent = {"tool_name": "tool.read", "args": {"path": "/tmp/x"}, "context": CONTEXT}
    (work / "intent.json").write_text(json.dumps(intent))
    base = ("gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json")
    # without evidence: the rule's context requirements block (exit 3)
    out = gait_json(*base, "--trace-out", "t0.json", cwd=work, code=3)
    assert "context_evidence_missing" in out["reason_codes"]
    # a fresh verified envelope satisfies them; the trace says where they came from
    env = _fresh(work)
    out = gait_json(*base, "--context-envelope", env.name, "--trace-out", "t1.json", cwd=work)
    assert out["verdict"] == "allow"
    assert out["context_source"] == "context_envelope"
    assert out["context_evidence_mode"] == "required" and out["context_ref_count"] == 1
    trace = json.loads((work / "t1.json").read_text())
    assert trace["context_source"] == "context_envelope"
    assert trace["context_set_digest"] == out["context_set_digest"]
    # an old envelope is verified but too old for the rule (1980 records)
    old = write_envelope(work / "old.json", record(at="2020-01-01T00:00:00Z"))
    out = gait_json(
        *base, "--context-envelope", old.name, "--trace-out", "t2.json", cwd=work, code=3
    )
    assert out["reason_codes"] == ["context_freshness_exceeded", "matched_rule_need_context"]
    # tampered envelope and a conflicting claim in the intent: exit 6, no trace
    write_envelope(work / "bad.json", record(), context_set_digest="f" * 64)
    out = gait_json(
        *base, "--context-envelope", "bad.json", "--trace-out", "t3.json", cwd=work, code=6
    )
    assert out["error"] == "context_set_digest mismatch"
    claim = {**intent, "context": {**CONTEXT, "context_set_digest": "a" * 64}}
    (work / "claim.json").write_text(json.dumps(claim))
    out = gait_json(
        "gate",
        "eval",
        "--policy",
        "policy.yaml",
        "--intent",
        "claim.json",
        "--context-envelope",
        env.name,
        "--trace-out",
        "t4.json",
        cwd=work,
        code=6,
    )
    assert out["error"] == "context envelope digest does not match context.context_set_digest"
    assert not (work / "t3.json").exists() and not (work / "t4.json").exists()


def test_mcp_proxy_with_envelope(work: Path) -> None:
    (work / "policy.yaml").write_text(CONTEXT_POLICY)
    call = {"name": "tool.read", "arguments": {"path": "/tmp/x"}, "context": CONTEXT}
    (work / "call.json").write_text(json.dumps(call))
    base = ("mcp", "proxy", "--policy", "policy.yaml", "--call", "call.json")
    gait_json(*base, "--trace-out", "p0.json", cwd=work, code=3)
    env = _fresh(work)
    out = gait_json(*base, "--context-envelope", env.name, "--trace-out", "p1.json", cwd=work)
    assert out["verdict"] == "allow"
    assert json.loads((work / "p1.json").read_text())["context_source"] == "context_envelope"
    # the call may name its envelope itself
    in_call = {**call, "context": {**CONTEXT, "context_envelope_path": env.name}}
    (work / "call2.json").write_text(json.dumps(in_call))
    out = gait_json(
        "mcp",
        "proxy",
        "--policy",
        "policy.yaml",
        "--call",
        "call2.json",
        "--trace-out",
        "p2.json",
        cwd=work,
    )
    assert out["verdict"] == "allow"
    # ... but not swap the envelope the boundary was given
    out = gait_json("mcp", "proxy", "--policy", "policy.yaml", "--call", "call2.json",
                    "--context-envelope", env.name, "--trace-out", "p4.json",
                    cwd=work, code=6)  # fmt: skip
    assert "already configured at the boundary" in out["error"]
    write_envelope(work / "bad.json", record(), context_set_digest="f" * 64)
    out = gait_json(
        *base, "--context-envelope", "bad.json", "--trace-out", "p3.json", cwd=work, code=6
    )
    assert out["error"] == "context_set_digest mismatch"
    assert not (work / "p3.json").exists() and not (work / "p4.json").exists()


def test_regress_runtime_only_context_drift(work: Path) -> None:
    gait_json("run", "record", "run_record.json", "--context-envelope", "env.json", cwd=work)
    init = gait_json("regress", "init", "--from", "run_ctx", cwd=work)
    # the same documents retrieved again later: only retrieved_at (and so the digest) moved
    write_envelope(
        work / "later.json",
        record("ctx_002", at="2026-03-01T00:00:05Z"),
        record(at="2026-03-01T00:00:00Z"),
    )
    gait_json("run", "record", "run_record.json", "--out-dir", "cand",
              "--context-envelope", "later.json", cwd=work)  # fmt: skip
    meta_path = work / "fixtures" / init["fixture_name"] / "fixture.json"
    meta = json.loads(meta_path.read_text())
    meta["candidate_runpack"] = str(work / "cand" / "runpack_run_ctx.zip")
    meta["diff_allow_changed_files"] = ["refs.json"]  # leave the verdict to the context grader
    meta_path.write_text(json.dumps(meta))

    def grader(result: dict[str, Any]) -> dict[str, Any]:
        written = json.loads((work / result["output"]).read_text())
        return next(g for g in written["graders"] if g["name"].endswith("context_conformance"))

    blocked = grader(gait_json("regress", "run", cwd=work, code=5))
    assert blocked["reason_codes"] == ["context_runtime_drift_blocked"]
    assert blocked["context_conformance"] == "runtime_only"
    allowed = grader(gait_json("regress", "run", "--allow-context-runtime-drift", cwd=work))
    assert allowed["status"] == "pass" and allowed["context_conformance"] == "runtime_only"


def test_run_pack_envelope_reads_back_as_an_envelope(work: Path) -> None:
    gait_json("run", "record", "run_record.json", "--context-envelope", "env.json",
              "--context-evidence-mode", "required", cwd=work)  # fmt: skip
    gait_json("pack", "build", "--type", "run", "--from", "run_ctx", "--out", "p.zip", cwd=work)
    with zipfile.ZipFile(work / "p.zip") as archive:
        (work / "from_pack.json").write_bytes(archive.read("context_envelope.json"))
    # the pack's envelope is a valid envelope: recording with it gives the same context set
    gait_json("run", "record", "run_record.json", "--out-dir", "again",
              "--context-envelope", "from_pack.json", cwd=work)  # fmt: skip
    first = refs_of(work / "gait-out" / "runpack_run_ctx.zip")
    again = refs_of(work / "again" / "runpack_run_ctx.zip")
    assert again["context_set_digest"] == first["context_set_digest"]
    assert again["receipts"] == first["receipts"]
    assert again["context_evidence_mode"] == "required"
