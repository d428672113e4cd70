"""Incident packs (scout_packs.md §3): window selection, policy digests, determinism."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.packs.incident import build_incident_pack, parse_window
from gait.packs.source import read_source_run
from gait.packs.verify import verify_guard_pack


def _put(directory: Path, name: str, record: dict) -> Path:
    path = directory / name
    path.write_text(json.dumps(record))
    return path


@pytest.fixture
def incident_dir(demo_path: Path) -> Path:
    d = demo_path.parent
    _put(
        d,
        "trace_in.json",
        {
            "created_at": "2026-02-05T01:00:00Z",
            "trace_id": "t_in",
            "tool_name": "tool.delete",
            "verdict": "block",
            "policy_digest": "ab" * 32,
        },
    )
    _put(
        d,
        "trace_out.json",
        {
            "created_at": "2026-02-09T00:00:00Z",
            "trace_id": "t_out",
            "verdict": "allow",
            "policy_digest": "cd" * 32,
        },
    )
    (d / "trace_broken.json").write_text("{")
    _put(
        d,
        "regress_result.json",
        {
            "created_at": "2026-02-05T00:00:00Z",
            "status": "fail",
            "fixture_set": "default",
            "graders": [],
        },
    )
    _put(d, "approval_audit_in.json", {"created_at": "2026-02-05T01:00:00Z", "trace_id": "t_in"})
    _put(d, "approval_audit_other.json", {"created_at": "2026-02-05T01:00:00Z", "trace_id": "zz"})
    return d


def test_window_parsing() -> None:
    assert parse_window("90m") == 90 * 60 * 10**9
    assert parse_window("1h30m") == 90 * 60 * 10**9
    assert parse_window("0s") == 24 * 3600 * 10**9
    with pytest.raises(InvalidInput, match="--window"):
        parse_window("a day")


def test_selection_by_window_and_trace_link(incident_dir: Path, demo_path: Path) -> None:
    result = build_incident_pack(read_source_run(demo_path), window_ns=parse_window("24h"))
    assert [Path(p).name for p in result.traces] == ["trace_in.json"]
    assert [Path(p).name for p in result.regress] == ["regress_result.json"]
    assert result.approval_audit == ["approval_audit_01.json"]
    assert result.policy_digests == ["ab" * 32]
    assert (result.window_from, result.window_to) == (
        "2026-02-04T00:00:00Z",
        "2026-02-06T00:00:00Z",
    )
    manifest = result.pack.manifest
    assert manifest["template_id"] == "incident_response" and "signatures" not in manifest
    assert manifest["incident_window"] == {
        "from": "2026-02-04T00:00:00Z",
        "to": "2026-02-06T00:00:00Z",
        "window_seconds": 86400,
        "selection_anchor": "run_demo",
    }
    paths = [c["path"] for c in manifest["contents"]]
    assert "policy_digests.json" in paths and "trace_summary.json" in paths


def test_wider_window_takes_more_traces(incident_dir: Path, demo_path: Path) -> None:
    result = build_incident_pack(read_source_run(demo_path), window_ns=parse_window("200h"))
    assert [Path(p).name for p in result.traces] == ["trace_in.json", "trace_out.json"]
    assert result.policy_digests == ["ab" * 32, "cd" * 32]


def test_incident_pack_is_byte_reproducible_and_verifies(
    incident_dir: Path, demo_path: Path, tmp_path: Path
) -> None:
    first = build_incident_pack(read_source_run(demo_path)).pack.zip_bytes
    second = build_incident_pack(read_source_run(demo_path)).pack.zip_bytes
    assert first == second
    path = tmp_path / "incident.zip"
    path.write_bytes(first)
    report = verify_guard_pack(path)
    assert report.ok and report.signature_status == "missing"
    with zipfile.ZipFile(path) as zf:
        digests = json.loads(zf.read("policy_digests.json"))
    assert digests["run_id"] == "run_demo" and digests["policy_digests"] == ["ab" * 32]


def test_cli_incident_pack(gait_inproc, incident_dir: Path, demo_path: Path) -> None:
    code, text = gait_inproc(
        "incident", "pack", "--from", str(demo_path), "--window", "24h", "--json"
    )
    payload = json.loads(text)
    assert code == 0
    assert payload["trace_count"] == 1 and payload["regress_count"] == 1
    assert payload["approval_audit_count"] == 1 and "credential_evidence_count" not in payload
    code, text = gait_inproc("pack", "verify", payload["pack_path"], "--json")
    assert code == 0 and json.loads(text)["pack_type"] == "guard"


def test_cli_incident_pack_bad_window_is_exit_6(gait_inproc, demo_path: Path) -> None:
    code, text = gait_inproc(
        "incident", "pack", "--from", str(demo_path), "--window", "x", "--json"
    )
    assert code == 6 and "--window" in json.loads(text)["error"]


def test_cli_leaves_out_empty_fields(demo_path: Path, gait_inproc) -> None:
    # as the original's incidentPackOutput: zero counts and no policy digests are omitted
    code, text = gait_inproc("incident", "pack", str(demo_path), "--json")
    out = json.loads(text)
    assert code == 0 and "policy_digests" not in out and "trace_count" not in out
    assert out["template_id"] == "incident_response" and out["window_from"] < out["window_to"]


def test_cli_window_error_message(demo_path: Path, gait_inproc) -> None:
    code, text = gait_inproc("incident", "pack", str(demo_path), "--window", "soon", "--json")
    assert (
        code == 6 and json.loads(text)["error"] == 'parse --window: time: invalid duration "soon"'
    )
