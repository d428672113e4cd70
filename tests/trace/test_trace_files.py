"""Writing, reading and verifying trace files (trace.md §4, §4.1)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.signing import KeyPair, sign_record
from gait.trace import (
    build_trace_record,
    default_trace_path,
    normalize_trace_path,
    read_trace,
    sign_trace,
    verify_trace,
    verify_trace_file,
    write_trace,
)

OBSERVED = "2026-11-24T18:33:26.576588546Z"


def _signed(key: KeyPair, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "policy_digest": "a" * 64,
        "intent_digest": "b" * 64,
        "args_digest": "c" * 64,
        "tool_name": "fs.write",
        "verdict": "require_approval",
        "observed_at": OBSERVED,
        "violations": ["approval_not_granted"],
        "latency_ms": 2.25,
    }
    values.update(overrides)
    return sign_trace(build_trace_record(**values), key)


def test_written_file_is_pretty_json_with_newline_and_mode_0600(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    record = _signed(fixed_key)
    path = write_trace(tmp_path / "t.json", record)
    text = Path(path).read_text()
    assert text == json.dumps(record, indent=2) + "\n"
    assert text.startswith('{\n  "schema_id": "gait.gate.trace",\n')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_same_record_signed_twice_writes_identical_bytes(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    first = write_trace(tmp_path / "1.json", _signed(fixed_key))
    second = write_trace(tmp_path / "2.json", _signed(fixed_key))
    assert Path(first).read_bytes() == Path(second).read_bytes()


def test_parent_directories_are_created(
    tmp_path: Path, fixed_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_trace("a/b/t.json", _signed(fixed_key)) == os.path.join("a", "b", "t.json")
    assert (tmp_path / "a" / "b" / "t.json").is_file()


@pytest.mark.parametrize("path", ["../t.json", "a/../../t.json", "a/../t.json", "..\\t.json"])
def test_relative_path_with_parent_segment_is_rejected(path: str) -> None:
    with pytest.raises(
        InvalidInput, match=r"^relative trace path must not traverse parent directories$"
    ):
        normalize_trace_path(path)


def test_absolute_path_may_contain_parent_segment(tmp_path: Path) -> None:
    assert normalize_trace_path(f"{tmp_path}/x/../t.json") == str(tmp_path / "t.json")


@pytest.mark.parametrize("path", ["", "  ", ".", "/"])
def test_empty_trace_path_is_rejected(path: str) -> None:
    with pytest.raises(InvalidInput, match=r"^trace path is required$"):
        normalize_trace_path(path)


def test_default_trace_path() -> None:
    assert default_trace_path("0123abcd") == "trace_0123abcd.json"


def test_verify_roundtrip_result(tmp_path: Path, fixed_key: KeyPair) -> None:
    record = _signed(fixed_key)
    path = write_trace(tmp_path / "t.json", record)
    assert verify_trace_file(path, fixed_key) == {
        "ok": True,
        "path": path,
        "trace_id": record["trace_id"],
        "verdict": "require_approval",
        "signature_status": "verified",
        "key_id": fixed_key.key_id,
    }


def test_nanosecond_observed_at_survives_the_file_roundtrip(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    path = write_trace(tmp_path / "t.json", _signed(fixed_key))
    assert read_trace(path)["observed_at"] == OBSERVED
    assert verify_trace_file(path, fixed_key)["ok"] is True
    # A verifier that went through datetime (microseconds) would hash different text:
    truncated = json.loads(Path(path).read_text())
    truncated["observed_at"] = "2026-11-24T18:33:26.576588Z"
    result = verify_trace(truncated, fixed_key)
    assert (result["ok"], result["error"]) == (False, "signed_digest mismatch")


def test_unknown_keys_and_reference_omitted_empties_still_verify(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    record = _signed(fixed_key)
    record.update(
        {"future_field": {"x": 1}, "script": False, "step_verdicts": [], "pattern_id": None}
    )
    path = tmp_path / "t.json"
    path.write_text(json.dumps(record, indent=4))
    assert verify_trace_file(path, fixed_key)["ok"] is True


def test_tampered_field_fails_with_digest_mismatch(tmp_path: Path, fixed_key: KeyPair) -> None:
    record = _signed(fixed_key)
    record["verdict"] = "allow"
    path = write_trace(tmp_path / "t.json", record)
    result = verify_trace_file(path, fixed_key)
    assert result["ok"] is False
    assert result["signature_status"] == "failed"
    assert result["error"] == "signed_digest mismatch"
    assert result["verdict"] == "allow"


def test_wrong_key_fails_with_key_id_mismatch(
    tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    path = write_trace(tmp_path / "t.json", _signed(fixed_key))
    result = verify_trace_file(path, other_key)
    assert (result["ok"], result["error"], result["key_id"]) == (
        False,
        "key id mismatch",
        fixed_key.key_id,
    )


def test_missing_signature(tmp_path: Path, fixed_key: KeyPair) -> None:
    record = _signed(fixed_key)
    del record["signature"]
    result = verify_trace_file(write_trace(tmp_path / "t.json", record), fixed_key)
    assert (result["ok"], result["error"], result["key_id"]) == (
        False,
        "trace signature missing",
        "",
    )


def test_signature_without_signed_digest(fixed_key: KeyPair) -> None:
    record = _signed(fixed_key)
    del record["signature"]["signed_digest"]
    assert verify_trace(record, fixed_key)["error"] == "missing signed_digest"


def test_signature_without_key_id_is_a_verification_result(fixed_key: KeyPair) -> None:
    # issue 11 B13: not "invalid input"; it verifies when the given key checks it
    record = _signed(fixed_key)
    del record["signature"]["key_id"]
    assert verify_trace(record, fixed_key)["ok"] is True


def test_signature_without_key_id_fails_with_another_key(fixed_key: KeyPair, other_key) -> None:
    record = _signed(fixed_key)
    del record["signature"]["key_id"]
    result = verify_trace(record, other_key)
    assert result["ok"] is False
    assert result["error"] == "signature verification failed"


def test_signature_with_unknown_field_fails_verification(fixed_key: KeyPair) -> None:
    record = _signed(fixed_key)
    record["signature"]["jey_id"] = record["signature"].pop("key_id")
    result = verify_trace(record, fixed_key)
    assert result["ok"] is False
    assert "jey_id" in result["error"]


def test_unreadable_file_is_invalid_input(tmp_path: Path, fixed_key: KeyPair) -> None:
    with pytest.raises(InvalidInput, match=r"^read trace record: "):
        verify_trace_file(tmp_path / "absent.json", fixed_key)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "^parse trace record: "),
        (b"[1, 2]", "^parse trace record: expected a JSON object$"),
        (b'{"latency_ms": NaN}', "^parse trace record: "),
        (b'{"verdict": "\xff"}', "^parse trace record: "),
        (b'{"verdict": "block"}', "^not a trace record: schema_id null$"),
        (
            b'{"schema_id": "gait.gate.approval_token"}',
            '^not a trace record: schema_id "gait.gate.approval_token"$',
        ),
        (
            b'{"schema_id": "gait.gate.trace", "schema_version": "2.0.0"}',
            '^unsupported trace schema_version: "2.0.0"$',
        ),
        (
            b'{"schema_id": "gait.gate.trace", "schema_version": "1.0.0"}',
            "^parse trace record: field created_at: missing$",
        ),
    ],
)
def test_unparsable_or_foreign_file_is_invalid_input(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        read_trace(path)


def test_wrongly_typed_field_is_invalid_input(tmp_path: Path, fixed_key: KeyPair) -> None:
    record = {**_signed(fixed_key), "verdict": 5}
    (tmp_path / "t.json").write_text(json.dumps(record))
    with pytest.raises(InvalidInput, match=r"^parse trace record: field verdict: expected string$"):
        read_trace(tmp_path / "t.json")


def test_record_signed_without_projection_by_another_producer_verifies(fixed_key: KeyPair) -> None:
    # A producer that signs its own struct (as the reference does) and adds nothing unknown.
    record = {k: v for k, v in _signed(fixed_key).items() if k != "signature"}
    assert verify_trace(sign_record(record, fixed_key), fixed_key)["ok"] is True
