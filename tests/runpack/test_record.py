"""Record normalization, manifest digest and signing (runpack.md §1–§3)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import canonical_bytes, digest
from gait.errors import InvalidInput
from gait.runpack.record import (
    check_output_path,
    manifest_digest,
    record_runpack,
    write_runpack,
)
from gait.signing import KeyPair

RUN = {"run_id": "run_t", "created_at": "2026-02-05T00:00:00Z", "env": {"os": "o", "arch": "a"}}


def _intent(n: int, **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"i{n}", "tool_name": "tool.x", "args": {"n": n}, **extra}


def _result(n: int, **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"i{n}", "status": "ok", "result": {"v": n}, **extra}


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


def test_run_id_is_required() -> None:
    with pytest.raises(InvalidInput, match="run_id is required"):
        record_runpack({"created_at": "2026-02-05T00:00:00Z"})


def test_defaults_flow_from_run_into_records() -> None:
    res = record_runpack(RUN, [_intent(1)], [_result(1)], producer_version="9.9.9")
    intent = _lines(res.members["intents.jsonl"])[0]
    run = json.loads(res.members["run.json"])
    assert run["producer_version"] == "9.9.9" and run["env"]["runtime"] == "python"
    assert run["schema_id"] == "gait.runpack.run" and run["timeline"] is None
    assert intent["schema_id"] == "gait.runpack.intent"
    assert (intent["created_at"], intent["run_id"], intent["producer_version"]) == (
        "2026-02-05T00:00:00Z",
        "run_t",
        "9.9.9",
    )


def test_members_are_jcs_and_jsonl_ends_each_line_with_newline() -> None:
    res = record_runpack(RUN, [_intent(1), _intent(2)], [_result(1)])
    run = json.loads(res.members["run.json"])
    assert res.members["run.json"] == canonical_bytes(run)
    assert res.members["intents.jsonl"].count(b"\n") == 2
    assert res.members["intents.jsonl"].endswith(b"\n")


def test_empty_intents_and_results_are_zero_byte_members() -> None:
    res = record_runpack(RUN)
    assert res.members["intents.jsonl"] == b"" and res.members["results.jsonl"] == b""


def test_digests_are_filled_from_args_and_result() -> None:
    res = record_runpack(RUN, [_intent(1)], [_result(1)])
    assert _lines(res.members["intents.jsonl"])[0]["args_digest"] == digest({"n": 1})
    assert _lines(res.members["results.jsonl"])[0]["result_digest"] == digest({"v": 1})


def test_missing_args_and_digest_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="intent i1 requires args_digest"):
        record_runpack(RUN, [{"intent_id": "i1", "tool_name": "t"}])


def test_normalization_args_must_agree_with_given_digest() -> None:
    with pytest.raises(InvalidInput, match="intent i1 args digest mismatch"):
        record_runpack(
            RUN,
            [{"intent_id": "i1", "tool_name": "t", "args_digest": "0" * 64}],
            intent_args={"i1": {"n": 1}},
        )


def test_normalization_payload_fills_result_digest_without_storing_it() -> None:
    res = record_runpack(
        RUN, [_intent(1)], [{"intent_id": "i1", "status": "ok"}], result_payloads={"i1": {"z": 1}}
    )
    result = _lines(res.members["results.jsonl"])[0]
    assert result["result_digest"] == digest({"z": 1}) and "result" not in result


def test_args_are_omitted_when_absent() -> None:
    res = record_runpack(RUN, [{"intent_id": "i1", "tool_name": "t", "args_digest": "A" * 64}])
    intent = _lines(res.members["intents.jsonl"])[0]
    assert "args" not in intent and intent["args_digest"] == "a" * 64


def test_trace_receipt_digests_are_derived() -> None:
    refs = {
        "receipts": [{"ref_id": "trace_i1", "source_type": "GAIT.trace", "source_locator": "x"}]
    }
    res = record_runpack(RUN, [_intent(1)], [_result(1)], refs)
    receipt = json.loads(res.members["refs.json"])["receipts"][0]
    assert receipt["query_digest"] == digest(
        {"tool_name": "tool.x", "args_digest": digest({"n": 1})}
    )
    assert receipt["content_digest"] == digest({"v": 1})


def test_trace_receipt_with_wrong_digest_is_rejected() -> None:
    refs = {
        "receipts": [
            {"ref_id": "trace_i1", "source_type": "gait.trace", "content_digest": "1" * 64}
        ]
    }
    with pytest.raises(InvalidInput, match="content digest mismatch"):
        record_runpack(RUN, [_intent(1)], [_result(1)], refs)


def test_other_receipts_need_both_digests() -> None:
    with pytest.raises(InvalidInput, match="receipt r requires query_digest"):
        record_runpack(RUN, refs={"receipts": [{"ref_id": "r", "source_type": "kb"}]})


def test_refs_normalization_sorts_lowercases_and_counts() -> None:
    receipts = [
        {"ref_id": "b", "query_digest": "A" * 64, "content_digest": "B" * 64},
        {"ref_id": "a", "query_digest": "c" * 64, "content_digest": "d" * 64, "immutability": "X"},
    ]
    refs = json.loads(record_runpack(RUN, refs={"receipts": receipts}).members["refs.json"])
    assert [r["ref_id"] for r in refs["receipts"]] == ["a", "b"]
    assert refs["receipts"][1]["query_digest"] == "a" * 64
    assert refs["receipts"][1]["immutability"] == "unknown"
    assert refs["receipts"][0]["immutability"] == "x"
    assert refs["receipts"][1]["retrieved_at"] == "1980-01-01T00:00:00Z"
    assert refs["context_ref_count"] == 2


def test_bad_context_set_digest_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="context_set_digest must be sha256 hex"):
        record_runpack(RUN, refs={"context_set_digest": "xyz"})


def test_timestamps_are_normalized_to_utc_z() -> None:
    run = {**RUN, "created_at": "2026-02-05T01:00:00.500+01:00"}
    assert json.loads(record_runpack(run).members["run.json"])["created_at"] == (
        "2026-02-05T00:00:00.5Z"
    )


def test_manifest_lists_four_files_sorted_with_member_hashes() -> None:
    res = record_runpack(RUN, [_intent(1)], [_result(1)])
    manifest = json.loads(res.members["manifest.json"])
    assert [f["path"] for f in manifest["files"]] == [
        "intents.jsonl",
        "refs.json",
        "results.jsonl",
        "run.json",
    ]
    for item in manifest["files"]:
        assert item["sha256"] == hashlib.sha256(res.members[item["path"]]).hexdigest()
    assert "signatures" not in manifest and manifest["capture_mode"] == "reference"


def test_manifest_digest_is_jcs_digest_with_blank_digest_and_no_signatures() -> None:
    manifest = json.loads(record_runpack(RUN).members["manifest.json"])
    body = dict(manifest, manifest_digest="")
    assert manifest["manifest_digest"] == hashlib.sha256(canonical_bytes(body)).hexdigest()
    assert manifest_digest(manifest) == manifest["manifest_digest"]


def test_unknown_capture_mode_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="capture mode"):
        record_runpack(RUN, capture_mode="full")


def test_same_inputs_give_identical_zip_bytes() -> None:
    assert (
        record_runpack(RUN, [_intent(1)]).zip_bytes == record_runpack(RUN, [_intent(1)]).zip_bytes
    )


def test_signature_covers_manifest_without_signatures(fixed_key: KeyPair) -> None:
    res = record_runpack(RUN, sign_key=fixed_key)
    manifest = json.loads(res.members["manifest.json"])
    (sig,) = manifest["signatures"]
    signable = {k: v for k, v in manifest.items() if k != "signatures"}
    assert sig["signed_digest"] == digest(signable)
    assert sig["alg"] == "ed25519" and sig["key_id"] == fixed_key.key_id
    fixed_key.public.verify(base64.b64decode(sig["sig"]), bytes.fromhex(sig["signed_digest"]))
    assert res.manifest_digest == manifest_digest(manifest)


def test_write_is_atomic_0600_and_creates_parent(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "runpack_run_t.zip"
    res = record_runpack(RUN)
    write_runpack(target, res)
    assert target.read_bytes() == res.zip_bytes
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) & 0o777 <= 0o750
    assert [p.name for p in target.parent.iterdir()] == ["runpack_run_t.zip"]


@pytest.mark.parametrize("path", ["../out.zip", "a/../../b.zip", "", "  "])
def test_output_path_with_parent_segment_or_empty_is_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        check_output_path(path)


@pytest.mark.parametrize("run_id", ["a/b", "..\\x", "..", ""])
def test_run_id_that_would_escape_the_output_dir_is_refused(tmp_path: Path, run_id: str) -> None:
    from gait.runpack.record import default_runpack_path

    with pytest.raises(InvalidInput):
        default_runpack_path(tmp_path, run_id)
