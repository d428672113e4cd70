"""``gait pack`` CLI output as the original's (cmd/gait/pack.go): envelope, text lines, diff."""

from __future__ import annotations

import json
from pathlib import Path

from gait.signing.keys import encode_private_key, generate_keypair


def _build(gait_inproc, *args: str) -> tuple[int, dict]:
    code, text = gait_inproc("pack", "build", *args, "--json")
    return code, json.loads(text)


def test_build_envelope_and_positional_source(gait_inproc, demo_path: Path) -> None:
    code, out = _build(gait_inproc, str(demo_path))  # first positional is --from
    assert code == 0
    assert out["schema_id"] == "gait.pack.output" and out["schema_version"] == "1.0.0"
    assert out["operation"] == "build" and out["pack_type"] == "run"
    assert "warnings" not in out  # omitted when empty
    code, text = gait_inproc("pack", "build", "--from", str(demo_path))
    assert code == 0 and text.splitlines()[0] == f"pack build ok: {out['path']} (run)"


def test_build_key_mode_none_with_private_key_signs(
    gait_inproc, demo_path: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "k.b64"
    key_file.write_text(encode_private_key(generate_keypair()))
    code, out = _build(
        gait_inproc,
        "--from",
        str(demo_path),
        "--private-key",
        str(key_file),
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert code == 0 and out["signed"] is True
    code, text = gait_inproc("pack", "verify", out["path"], "--json")
    assert json.loads(text)["signature_status"] == "skipped"


def test_build_rejects_unknown_key_mode(gait_inproc, demo_path: Path) -> None:
    code, text = gait_inproc("pack", "build", "--from", str(demo_path), "--key-mode", "x", "--json")
    assert code == 6 and "--key-mode must be none, dev, or prod" in text


def test_verify_nests_result(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    _, built = _build(gait_inproc, "--from", str(demo_path), "--out", str(tmp_path / "p.zip"))
    code, text = gait_inproc("pack", "verify", built["path"], "--json")
    out = json.loads(text)
    assert code == 0 and out["operation"] == "verify"
    assert out["verify"] == {
        "files_checked": 3,
        "pack_id": built["pack_id"],
        "pack_type": "run",
        "proof_records_verified": 2,
        "signature_status": "missing",
        "source_ref": "run_demo",
    }
    code, text = gait_inproc("pack", "verify", built["path"])
    assert text.splitlines()[0] == f"pack verify ok: {built['path']}"


def test_inspect_payload_and_lineage(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    _, built = _build(gait_inproc, "--from", str(demo_path), "--out", str(tmp_path / "p.zip"))
    code, text = gait_inproc("pack", "inspect", built["path"], "--json")
    detail = json.loads(text)["inspect"]
    assert code == 0 and detail["manifest"]["pack_id"] == built["pack_id"]
    assert detail["run_payload"]["schema_id"] == "gait.pack.run"
    lineage = detail["run_lineage"]
    assert lineage["receipt_count"] == detail["run_payload"]["refs_count"]
    assert [r["intent_id"] for r in lineage["intent_results"]] == sorted(
        r["intent_id"] for r in lineage["intent_results"]
    )
    code, text = gait_inproc("pack", "inspect", built["path"])
    assert text.splitlines()[0] == f"pack inspect ok: {built['pack_id']} (run)"
    code, text = gait_inproc("pack", "inspect", str(demo_path), "--json")
    legacy = json.loads(text)["inspect"]
    assert legacy["legacy_type"] == "runpack" and "manifest" not in legacy


def test_diff_same_and_output_file(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    _, built = _build(gait_inproc, "--from", str(demo_path), "--out", str(tmp_path / "p.zip"))
    code, text = gait_inproc("pack", "diff", built["path"], built["path"])
    assert code == 0 and text == "pack diff ok\n"
    out_file = tmp_path / "diff.json"
    code, text = gait_inproc(
        "pack", "diff", built["path"], str(demo_path), "--output", str(out_file), "--json"
    )
    payload = json.loads(text)
    assert code == 2 and payload["ok"] is False and payload["path"] == str(out_file)
    written = json.loads(out_file.read_text())
    assert list(written) == [
        "schema_id",
        "schema_version",
        "created_at",
        "left_pack_id",
        "right_pack_id",
        "left_pack_type",
        "right_pack_type",
        "summary",
    ]
    summary = written["summary"]
    assert summary["changed"] is True and summary["manifest_delta"] is True
    assert summary["added_files"] == ["intents.jsonl", "refs.json", "results.jsonl", "run.json"]
    assert summary["context_drift_classification"] == "none"
    code, text = gait_inproc("pack", "diff", built["path"], "--json")
    assert code == 6 and "expected <left> <right>" in text


def test_input_error_messages(gait_inproc, demo_path: Path) -> None:
    def error(*args: str) -> str:
        code, text = gait_inproc(*args, "--json")
        assert code == 6
        return json.loads(text)["error"]

    assert error("pack", "build") == "--from is required"
    assert error("pack", "build", "--from", str(demo_path), "--type", "x") == (
        "--type must be run, job, or call"
    )
    assert error("pack", "verify") == "expected <pack.zip>"
    assert error("pack", "inspect") == "expected <pack.zip>"
    assert error("guard", "verify") == "expected <evidence_pack.zip>"
    assert error("pack", "export", str(demo_path)) == (
        "at least one export output is required (--otel-out or --postgres-sql-out)"
    )
