"""gait.gateway.ingest: gateway log lines to signed, chained policy_enforcement records."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError, InvalidInput
from gait.gateway import ingest_logs
from gait.gateway.ingest import go_clean

KONG = [
    '{"time":"2026-02-20T10:00:00Z","route":{"name":"tool.read"},"consumer":{"username":"alice"},'
    '"status":200,"request_id":"req-1","reason_codes":["allowed"]}',
    '{"time":"2026-02-20T10:00:01Z","route":{"name":"tool.write"},"consumer":{"username":"alice"},'
    '"status":403,"request_id":"req-2","reason_code":"blocked_by_policy"}',
]


def _records(path: str | Path) -> list[dict[str, Any]]:
    # JSONL lines end at "\n" only: str.splitlines() would also split inside a string
    # holding U+0085 or U+2028, which canonical JSON writes unescaped.
    text = Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def _one(tmp_path: Path, source: str, line: str) -> dict[str, Any]:
    log = tmp_path / "one.log"
    log.write_text(line + "\n")
    result = ingest_logs(source, str(log), str(tmp_path / "one.jsonl"))
    (record,) = _records(result.proof_records_out)
    return record


def _sha(value: Any) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def _expected_hash(record: dict[str, Any]) -> str:
    """The record hash as the proof-record format defines it, computed independently."""
    whole_seconds = record["timestamp"].split(".")[0].rstrip("Z") + "Z"
    return _sha(
        {
            "record_id": record["record_id"],
            "record_version": record["record_version"],
            "timestamp": whole_seconds,
            "source": record["source"],
            "source_product": record["source_product"],
            "agent_id": record["agent_id"],
            "record_type": record["record_type"],
            "event": record["event"],
            "controls": record["controls"],
            "metadata": record["metadata"],
            "integrity": {
                "previous_record_hash": record["integrity"].get("previous_record_hash", "")
            },
        }
    )


def test_kong_records_are_signed_chained_and_hash_as_specified(tmp_path: Path, fixed_key) -> None:
    log = tmp_path / "kong.log.jsonl"
    log.write_text("\n".join(KONG))  # no final newline: the last line still counts
    out = tmp_path / "proof_records.jsonl"
    result = ingest_logs("kong", str(log), str(out), producer_version="0.0.0-test", key=fixed_key)
    assert (result.input_events, result.output_records) == (2, 2)
    assert result.proof_records_out == str(out) and result.source == "kong"
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2
    records = _records(out)
    for number, record in enumerate(records, start=1):
        line = raw.splitlines()[number - 1]
        assert line == rfc8785.dumps(record)  # each line is canonical JSON
        assert record["record_type"] == "policy_enforcement"
        assert record["source"] == "gait.gateway.kong" and record["source_product"] == "gait"
        assert record["record_version"] == "1.0" and record["agent_id"] == "alice"
        assert record["metadata"] == {
            "artifact_kind": "gait.gateway.policy_enforcement",
            "gateway_input_line": number,
            "gateway_log_path": str(log),
        }
        integrity = record["integrity"]
        assert integrity["record_hash"] == _expected_hash(record)
        assert integrity["signing_key_id"] == fixed_key.key_id
        assert integrity["signature"].startswith("base64:")
        signature = base64.b64decode(integrity["signature"].removeprefix("base64:"))
        fixed_key.public.verify(signature, integrity["record_hash"].encode())  # raises if bad
        id_digest = _sha(
            {k: record[k] for k in ("source", "source_product", "agent_id", "record_type", "event")}
            | {"timestamp": record["timestamp"]}
        )
        assert record["record_id"] == f"prf-{record['timestamp']}-{id_digest[7:15]}"
    first, second = records
    assert "previous_record_hash" not in first["integrity"]
    assert second["integrity"]["previous_record_hash"] == first["integrity"]["record_hash"]
    assert first["event"] == {
        "gateway_source": "kong",
        "gateway_log_digest": "sha256:" + hashlib.sha256(KONG[0].encode()).hexdigest(),
        "gateway_request_id": "req-1",
        "gateway_status_code": 200,
        "path": "",
        "policy_digest": first["event"]["gateway_log_digest"],  # no policy in the log
        "producer_version": "0.0.0-test",
        "reason_codes": ["allowed"],
        "tool_name": "tool.read",
        "verdict": "allow",
    }
    assert first["controls"] == {"permissions_enforced": False}
    assert second["event"]["verdict"] == "block" and second["controls"]["permissions_enforced"]
    assert second["event"]["reason_codes"] == ["blocked_by_policy"]
    assert first["timestamp"] == "2026-02-20T10:00:00Z"


def test_same_log_and_key_give_identical_bytes(tmp_path: Path, fixed_key) -> None:
    log = tmp_path / "kong.log"
    log.write_text("\n".join(KONG) + "\n")
    ingest_logs("kong", str(log), str(tmp_path / "a.jsonl"), key=fixed_key)
    ingest_logs("kong", str(log), str(tmp_path / "b.jsonl"), key=fixed_key)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_unsigned_records_have_no_signature_fields(tmp_path: Path) -> None:
    record = _one(tmp_path, "mintmcp", '{"tool_name":"t","verdict":"allow"}')
    assert set(record["integrity"]) == {"record_hash"}


def test_docker_nested_log_and_default_output_path(tmp_path: Path) -> None:
    inner = '{"tool_name":"tool.write","verdict":"block","request_id":"req-docker-1","reason_codes":["policy_blocked"]}'
    log = tmp_path / "docker.log.jsonl"
    log.write_text(json.dumps({"log": inner + "\n", "time": "2026-02-20T10:00:00Z"}) + "\n")
    result = ingest_logs("docker", str(log))
    assert result.proof_records_out == str(tmp_path / "gateway_docker_policy_enforcement.jsonl")
    (record,) = _records(result.proof_records_out)
    event = record["event"]
    assert (event["verdict"], event["tool_name"]) == ("block", "tool.write")
    assert event["gateway_request_id"] == "req-docker-1"
    assert record["timestamp"] == "2026-02-20T10:00:00Z"  # outer fields fill the gaps


def test_docker_plain_text_line_becomes_a_record_with_defaults(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    log.write_text("\n   \nplain text from a container\n")
    result = ingest_logs("docker", str(log), str(tmp_path / "o.jsonl"))
    assert (result.input_events, result.output_records) == (1, 1)
    (record,) = _records(result.proof_records_out)
    assert record["event"]["tool_name"] == "gateway.unknown"
    assert record["event"]["verdict"] == "unknown"
    assert record["event"]["reason_codes"] is None
    assert record["agent_id"] == "docker"
    # no time in the line: 1980-01-01 plus the line number (blank lines count)
    assert record["timestamp"] == "1980-01-01T00:00:03Z"
    assert record["metadata"]["gateway_input_line"] == 3


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"status": 200}, "allow"),
        ({"status": 302}, "allow"),
        ({"status": "404"}, "block"),
        ({"response": {"status": 500}}, "block"),
        ({"http": {"status": 199}}, "unknown"),
        ({}, "unknown"),
        ({"decision": "Denied"}, "block"),
        ({"action": "permit", "status": 403}, "allow"),  # an explicit verdict wins
        ({"outcome": "needs_approval"}, "require_approval"),
        ({"verdict": "observe"}, "dry_run"),
        ({"verdict": "error"}, "block"),
        ({"verdict": "maybe", "status": 200}, "unknown"),
    ],
)
def test_verdicts(tmp_path: Path, fields: dict[str, Any], verdict: str) -> None:
    record = _one(tmp_path, "kong", json.dumps(fields))
    assert record["event"]["verdict"] == verdict
    assert record["controls"]["permissions_enforced"] == (verdict in ("block", "require_approval"))


@pytest.mark.parametrize(
    ("fields", "timestamp"),
    [
        ({"timestamp": "2026-02-20T12:00:00+02:00"}, "2026-02-20T10:00:00Z"),
        ({"time": "2026-02-20T10:00:00.120Z"}, "2026-02-20T10:00:00.12Z"),
        ({"ts": "2026-02-20 10:00:05"}, "2026-02-20T10:00:05Z"),
        ({"ts": 1771581600}, "2026-02-20T10:00:00Z"),
        ({"ts": 1771581600250}, "2026-02-20T10:00:00.25Z"),
        ({"started_at": "1771581600"}, "2026-02-20T10:00:00Z"),
        ({"request": {"time": 1771581600.9}}, "2026-02-20T10:00:00Z"),
        ({"time": "yesterday", "ts": 1771581600}, "2026-02-20T10:00:00Z"),
        ({"time": "yesterday"}, "1980-01-01T00:00:01Z"),
    ],
)
def test_timestamps(tmp_path: Path, fields: dict[str, Any], timestamp: str) -> None:
    record = _one(tmp_path, "mintmcp", json.dumps(fields))
    assert record["timestamp"] == timestamp
    assert record["record_id"].startswith(f"prf-{timestamp.split('.')[0].rstrip('Z')}Z-")


def test_fields_and_reason_codes(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    record = _one(
        tmp_path,
        "mintmcp",
        json.dumps(
            {
                "request": {"path": "/v1/tools/run", "id": "r-9"},
                "user": " bob ",
                "reasons": ["b", " a ", "b", ""],
                "policy": {"reason_code": "c", "hash": digest},
                "status_code": 201,
            }
        ),
    )
    event = record["event"]
    assert event["tool_name"] == "/v1/tools/run" and event["path"] == "/v1/tools/run"
    assert event["gateway_request_id"] == "r-9" and record["agent_id"] == "bob"
    assert event["reason_codes"] == ["a", "b", "c"]
    assert event["policy_digest"] == digest and event["gateway_status_code"] == 201


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.log"
    bad.write_text("not-json\n")
    with pytest.raises(InvalidInput, match="unsupported gateway source: unknown"):
        ingest_logs("unknown", str(bad))
    with pytest.raises(InvalidInput, match=r"^parse gateway log line 1: line is not valid JSON$"):
        ingest_logs("kong", str(bad))
    bad.write_text('{"verdict":"allow"}\n[1, 2]\n')
    with pytest.raises(InvalidInput, match="parse gateway log line 2: line is not valid JSON"):
        ingest_logs("mintmcp", str(bad))
    with pytest.raises(InvalidInput, match=r"read gateway logs: open .*nope.log: no such file"):
        ingest_logs("kong", str(tmp_path / "nope.log"))
    with pytest.raises(
        InvalidInput, match=r"^log path: path must not resolve to current directory"
    ):
        ingest_logs("kong", "./")
    with pytest.raises(InvalidInput, match=r"^proof output path: path must not resolve"):
        ingest_logs("kong", str(bad), "a/..")
    # a policy digest that is not sha256 hex fails the record schema: nothing is written
    bad.write_text('{"verdict":"allow","policy_version":"v7"}\n')
    with pytest.raises(InvalidInput, match=r"validate proof record line 1: .*policy_digest"):
        ingest_logs("kong", str(bad), str(tmp_path / "never.jsonl"))
    assert not (tmp_path / "never.jsonl").exists()


def test_repeated_key_is_refused_not_guessed(tmp_path: Path) -> None:
    log = tmp_path / "dup.log"
    log.write_text('{"verdict":"allow","verdict":"block"}\n')
    for source in ("kong", "docker"):
        with pytest.raises(
            InvalidInput, match=r"parse gateway log line 1: .*duplicate key 'verdict'"
        ):
            ingest_logs(source, str(log), str(tmp_path / "o.jsonl"))


def test_empty_log_writes_an_empty_file(tmp_path: Path) -> None:
    log = tmp_path / "empty.log"
    log.write_text("\n\n")
    result = ingest_logs("kong", str(log), str(tmp_path / "sub" / "out.jsonl"))
    assert (result.input_events, result.output_records) == (0, 0)
    assert (tmp_path / "sub" / "out.jsonl").read_bytes() == b""


def test_unwritable_output_is_an_io_failure(tmp_path: Path) -> None:
    log = tmp_path / "k.log"
    log.write_text(KONG[0] + "\n")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GaitError) as caught:
        ingest_logs("kong", str(log), str(tmp_path / "file" / "out.jsonl"))
    assert caught.value.exit_code == 1 and caught.value.category == "io_failure"
    assert "create proof output directory" in caught.value.message


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("a/b/../c", "a/c"),
        ("//a//b/", "/a/b"),
        ("/../x", "/x"),
        ("../../x", "../../x"),
        ("./", "."),
        ("a/..", "."),
        ("", "."),
    ],
)
def test_go_clean(path: str, clean: str) -> None:
    assert go_clean(path) == clean


@given(st.lists(st.sampled_from(["a", "b", ".", "..", ""]), max_size=8), st.booleans())
def test_go_clean_is_idempotent_and_has_no_dot_segments(parts: list[str], rooted: bool) -> None:
    cleaned = go_clean(("/" if rooted else "") + "/".join(parts))
    assert go_clean(cleaned) == cleaned
    segments = cleaned.strip("/").split("/")
    assert "." not in segments or cleaned == "."
    assert "" not in segments or cleaned == "/"
    if rooted:
        assert cleaned.startswith("/") and ".." not in segments


_FIELD_NAMES = [
    "timestamp",
    "time",
    "ts",
    "status",
    "status_code",
    "verdict",
    "decision",
    "tool_name",
    "tool",
    "reason_codes",
    "reason_code",
    "request_id",
    "identity",
    "user",
    "path",
    "log",
    "route",
    "request",
    "response",
    "policy",
]
# Numbers stay in JSON's exactly representable integer range: the independent
# hash below uses the rfc8785 package, which refuses integers outside it.
_SAFE = 2**53 - 1
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-_SAFE, max_value=_SAFE)
    | st.floats(min_value=-_SAFE, max_value=_SAFE, allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_FIELD_NAMES), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(_FIELD_NAMES), _VALUES, max_size=6), min_size=1, max_size=4
    ),
    st.sampled_from(["kong", "docker", "mintmcp"]),
)
def test_any_json_object_lines_give_a_valid_chain_or_a_clear_error(
    tmp_path: Path, fixed_key, objects: list[dict[str, Any]], source: str
) -> None:
    log = tmp_path / "fuzz.log"
    out = tmp_path / "fuzz.jsonl"
    out.unlink(missing_ok=True)
    log.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    try:
        result = ingest_logs(source, str(log), str(out), key=fixed_key)
    except InvalidInput as err:
        # only a log-supplied policy digest that is not sha256 hex, or a time the
        # record format cannot hold, may refuse a JSON object line
        assert "policy_digest" in err.message or "year outside of range" in err.message
        assert not out.exists()
        return
    records = _records(out)
    assert result.output_records == len(records) == len(objects)
    previous = ""
    for record in records:
        assert record["integrity"].get("previous_record_hash", "") == previous
        assert record["integrity"]["record_hash"] == _expected_hash(record)
        assert record["event"]["verdict"] in {
            "allow",
            "block",
            "require_approval",
            "dry_run",
            "unknown",
        }
        previous = record["integrity"]["record_hash"]
