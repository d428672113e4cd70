"""The demo runs (runpack.md §5)."""

from __future__ import annotations

import hashlib
import json

from gait.canonical import digest
from gait.runpack.demo import DEMO_POLICY_YAML, build_demo_runpack, record_policy_demo


def _members() -> dict[str, bytes]:
    return build_demo_runpack("0.1.0").members


def test_demo_run_metadata_is_literal() -> None:
    run = json.loads(_members()["run.json"])
    assert run["run_id"] == "run_demo" and run["created_at"] == "2026-02-05T00:00:00Z"
    assert run["env"] == {"os": "demo", "arch": "demo", "runtime": "go"}
    assert run["timeline"] == [
        {"event": "start", "ts": "2026-02-05T00:00:00Z"},
        {"event": "finish", "ts": "2026-02-05T00:00:02Z"},
    ]
    assert run["producer_version"] == "0.1.0"


def test_demo_intents_and_results() -> None:
    members = _members()
    intents = [json.loads(x) for x in members["intents.jsonl"].splitlines()]
    results = [json.loads(x) for x in members["results.jsonl"].splitlines()]
    assert [i["tool_name"] for i in intents] == ["tool.search", "tool.fetch", "tool.summarize"]
    assert [i["intent_id"] for i in intents] == ["intent_1", "intent_2", "intent_3"]
    assert intents[1]["args"] == {"url": "https://example.local/demo"}
    assert intents[0]["args_digest"] == digest({"query": "gait demo: offline verification"})
    assert [r["result"] for r in results] == [
        {"ok": True, "message": f"demo result {n}"} for n in (1, 2, 3)
    ]
    assert {r["status"] for r in results} == {"ok"}


def test_demo_receipts_use_plain_string_hashes() -> None:
    refs = json.loads(_members()["refs.json"])
    assert refs["context_ref_count"] == 3
    first = refs["receipts"][0]
    assert first["query_digest"] == hashlib.sha256(b"query-1").hexdigest()
    assert first["content_digest"] == hashlib.sha256(b"content-1").hexdigest()
    assert (first["source_type"], first["source_locator"], first["immutability"]) == (
        "demo",
        "tool.search",
        "unknown",
    )


def test_demo_is_unsigned_reference_capture() -> None:
    manifest = json.loads(_members()["manifest.json"])
    assert "signatures" not in manifest and manifest["capture_mode"] == "reference"


def test_demo_bytes_are_identical_across_builds() -> None:
    assert build_demo_runpack("0.1.0").zip_bytes == build_demo_runpack("0.1.0").zip_bytes


def test_policy_demo_blocks_the_delete_and_never_runs_it() -> None:
    from gait.policy import compile_policy

    compiled = compile_policy(DEMO_POLICY_YAML, path="demo.yaml", use_cache=False)
    result = record_policy_demo(compiled, "0.1.0")
    results = [json.loads(x) for x in result.members["results.jsonl"].splitlines()]
    assert [r["status"] for r in results] == ["ok", "ok", "block", "ok"]
    blocked = results[2]["result"]
    assert blocked["executed"] is False and "destructive_tool_blocked" in blocked["reason_codes"]
    assert result.zip_bytes == record_policy_demo(compiled, "0.1.0").zip_bytes
