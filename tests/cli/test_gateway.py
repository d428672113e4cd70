"""``gait gateway ingest``: flags, JSON/text output, exit codes and the records it writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gait.signing import encode_private_key

from .conftest import run, run_json

MINTMCP = "\n".join(
    [
        '{"timestamp":"2026-02-20T12:00:00Z","tool_name":"tool.read","verdict":"allow","request_id":"req-a"}',
        '{"timestamp":"2026-02-20T12:00:01Z","tool_name":"tool.write","verdict":"block","request_id":"req-b","reason_code":"policy_blocked"}',
    ]
)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mintmcp.log.jsonl").write_text(MINTMCP)
    return tmp_path


def test_ingest_json(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(
        capsys, "gateway", "ingest", "--source", "mintmcp", "--log-path", "mintmcp.log.jsonl"
    )
    assert code == 0
    out.pop("correlation_id")
    warnings = out.pop("warnings")
    assert warnings and warnings[0].startswith("dev mode")
    assert out == {
        "ok": True,
        "schema_id": "gait.gateway.output",
        "schema_version": "1.0.0",
        "operation": "ingest",
        "source": "mintmcp",
        "log_path": "mintmcp.log.jsonl",
        "proof_records_out": "gateway_mintmcp_policy_enforcement.jsonl",
        "input_events": 2,
        "output_records": 2,
    }
    text = (work / "gateway_mintmcp_policy_enforcement.jsonl").read_text()
    assert text.count('"record_type":"policy_enforcement"') == 2


def test_ingest_text(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "gateway",
        "ingest",
        "--source",
        "MintMCP",
        "--log-path",
        "mintmcp.log.jsonl",
        "--proof-out",
        "out/records.jsonl",
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "gateway ingest: source=mintmcp input=2 output=2 proof=out/records.jsonl"
    assert lines[1].startswith("warnings: dev mode")
    assert (work / "out" / "records.jsonl").is_file()


def test_prod_key_signs_with_that_key(
    work: Path, capsys: pytest.CaptureFixture[str], fixed_key
) -> None:
    (work / "k.key").write_text(encode_private_key(fixed_key) + "\n")
    code, out = run_json(
        capsys,
        "gateway",
        "ingest",
        "--source",
        "mintmcp",
        "--log-path",
        "mintmcp.log.jsonl",
        "--key-mode",
        "prod",
        "--private-key",
        "k.key",
        "--proof-out",
        "p.jsonl",
    )
    assert code == 0 and "warnings" not in out
    for line in (work / "p.jsonl").read_text().splitlines():
        integrity = json.loads(line)["integrity"]
        assert integrity["signing_key_id"] == fixed_key.key_id
        sig = base64.b64decode(integrity["signature"].removeprefix("base64:"))
        fixed_key.public.verify(sig, integrity["record_hash"].encode())


def test_records_snapshot(
    work: Path, capsys: pytest.CaptureFixture[str], fixed_key, snapshot
) -> None:
    """The exact bytes for a fixed log and key: any format change shows up in review."""
    (work / "k.key").write_text(encode_private_key(fixed_key) + "\n")
    code, _ = run_json(
        capsys,
        "gateway",
        "ingest",
        "--source",
        "mintmcp",
        "--log-path",
        "mintmcp.log.jsonl",
        "--key-mode",
        "prod",
        "--private-key",
        "k.key",
        "--proof-out",
        "p.jsonl",
    )
    assert code == 0
    assert (work / "p.jsonl").read_text() == snapshot


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--source", "kong"], "expected --source <kong|docker|mintmcp> and --log-path <path>"),
        (["--log-path", "x.log"], "expected --source <kong|docker|mintmcp> and --log-path <path>"),
        (["--source", "kong", "--log-path", "x", "extra"], "unexpected positional arguments"),
        (
            ["--source", "envoy", "--log-path", "mintmcp.log.jsonl"],
            "unsupported gateway source: envoy",
        ),
        (
            ["--source", "kong", "--log-path", "nope.log"],
            "read gateway logs: open nope.log: no such file or directory",
        ),
        (
            ["--source", "kong", "--log-path", "mintmcp.log.jsonl", "--key-mode", "prod"],
            "prod mode requires a private key source",
        ),
        (
            ["--source", "kong", "--log-path", "mintmcp.log.jsonl", "--private-key", "k"],
            "dev mode does not accept explicit key sources",
        ),
    ],
)
def test_invalid_input_exits_6(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    code, out = run_json(capsys, "gateway", "ingest", *args)
    assert code == 6 and out["ok"] is False and out["error"] == error
    assert out["schema_id"] == "gait.gateway.output" and out["operation"] == "ingest"
    assert out["error_code"] == "invalid_input"
    code, text, err = run(capsys, "gateway", "ingest", *args)
    assert code == 6 and text == "" and err == f"gateway ingest error: {error}\n"


def test_bad_line_exits_6_and_writes_nothing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "k.log").write_text('{"status":200}\nnot json\n')
    code, out = run_json(capsys, "gateway", "ingest", "--source", "kong", "--log-path", "k.log")
    assert code == 6 and out["error"] == "parse gateway log line 2: line is not valid JSON"
    assert not (work / "gateway_kong_policy_enforcement.jsonl").exists()


def test_unwritable_output_exits_1(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "taken").write_text("a file")
    code, out = run_json(
        capsys,
        "gateway",
        "ingest",
        "--source",
        "mintmcp",
        "--log-path",
        "mintmcp.log.jsonl",
        "--proof-out",
        "taken/p.jsonl",
    )
    assert code == 1 and out["error_category"] == "io_failure"


def test_group_usage_help_and_explain(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    explain = (
        "Ingest gateway audit logs and emit signed policy_enforcement proof records "
        "for compliance evidence.\n"
    )
    assert run(capsys, "gateway")[0] == 6
    assert run(capsys, "gateway", "unknown")[0] == 6
    assert run(capsys, "gateway", "--explain")[1] == explain
    assert run(capsys, "gateway", "ingest", "--explain")[1] == explain
    code, out, _ = run(capsys, "gateway", "ingest", "--help")
    assert code == 0
    for flag in (
        "--source",
        "--log-path",
        "--proof-out",
        "--key-mode",
        "--private-key",
        "--private-key-env",
        "--json",
    ):
        assert flag in out
