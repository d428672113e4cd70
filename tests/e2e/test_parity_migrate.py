"""``gait migrate`` through the installed command (issue 16 item 1)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from .cli_helpers import gait, gait_json

# A run record as the reference CLI's Go structs marshal it: every field present,
# zero values included (empty schema ids, zero times, null timeline and receipts).
LEGACY_RUN_RECORD = {
    "run": {
        "schema_id": "", "schema_version": "", "created_at": "2025-06-01T00:00:00Z",
        "producer_version": "", "run_id": "run_recorded",
        "env": {"os": "", "arch": "", "runtime": ""}, "timeline": None,
    },
    "intents": [{
        "schema_id": "", "schema_version": "", "created_at": "0001-01-01T00:00:00Z",
        "producer_version": "", "run_id": "", "intent_id": "intent_1",
        "tool_name": "tool.search", "args_digest": "", "args": {"q": "x"},
    }],
    "results": [{
        "schema_id": "", "schema_version": "", "created_at": "0001-01-01T00:00:00Z",
        "producer_version": "", "run_id": "", "intent_id": "intent_1", "status": "ok",
        "result_digest": "", "result": {"ok": True},
    }],
    "refs": {
        "schema_id": "", "schema_version": "", "created_at": "0001-01-01T00:00:00Z",
        "producer_version": "", "run_id": "", "receipts": None,
    },
    "capture_mode": "",
}  # fmt: skip


def test_runpack_recorded_from_a_legacy_run_record_migrates_and_verifies(tmp_path: Path) -> None:
    (tmp_path / "record_input.json").write_text(json.dumps(LEGACY_RUN_RECORD, indent=2))
    gait_json("run", "record", "--input", "record_input.json", "--run-id", "run_recorded",
              cwd=tmp_path)  # fmt: skip
    gait_json("verify", "gait-out/runpack_run_recorded.zip", cwd=tmp_path)
    out = gait_json("migrate", "--input", "gait-out/runpack_run_recorded.zip", cwd=tmp_path)
    assert out["ok"] is True and out["artifact"] == "runpack"
    assert out["output"] == "gait-out/runpack_run_recorded_migrated.zip"
    assert out["status"] == "no_change"  # recorded by the current writer: already current
    migrated = tmp_path / out["output"]
    assert gait_json("verify", out["output"], cwd=tmp_path)["ok"] is True
    first = migrated.read_bytes()
    # migrating twice (by run_id, and the migrated pack itself) changes nothing
    again = gait_json("migrate", "run_recorded", cwd=tmp_path)
    assert again["status"] == "no_change" and migrated.read_bytes() == first
    # the migrated pack's default output is itself: refused, as the reference
    again = gait_json("migrate", out["output"], cwd=tmp_path, code=6)
    assert again["error"] == "--out must differ from input path"
    assert migrated.read_bytes() == first


def _legacy_zip(path: Path) -> None:
    members = {
        "run.json": json.dumps({"run_id": "run_old", "timeline": []}, indent=2).encode(),
        "intents.jsonl": b'{"intent_id": "i1", "tool_name": "tool.search", "args": {}}\n',
        "results.jsonl": b'{"intent_id": "i1", "status": "ok", "result": {}}\n',
    }
    manifest = {
        "schema_id": "gait.runpack.manifest",
        "schema_version": "1.0.0",
        "run_id": "run_old",
        "created_at": "2025-01-01T00:00:00Z",
        "files": [
            {"path": k, "sha256": hashlib.sha256(v).hexdigest()} for k, v in sorted(members.items())
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        for name, data in members.items():
            archive.writestr(name, data)


def test_legacy_layout_is_upgraded(tmp_path: Path) -> None:
    _legacy_zip(tmp_path / "old.zip")
    assert gait("verify", "old.zip", cwd=tmp_path).returncode == 2
    out = gait_json("migrate", "old.zip", cwd=tmp_path)
    assert out["status"] == "migrated" and out["output"] == "runpack_run_old_migrated.zip"
    assert "refs.json: added (empty)" in out["changes"]
    verified = gait_json("verify", "runpack_run_old_migrated.zip", cwd=tmp_path)
    assert verified["ok"] is True and verified["files_checked"] == 4
    first = (tmp_path / "runpack_run_old_migrated.zip").read_bytes()
    gait_json("migrate", "old.zip", cwd=tmp_path)
    assert (tmp_path / "runpack_run_old_migrated.zip").read_bytes() == first
    # the migrated pack works with the rest of the CLI
    assert gait_json("run", "inspect", "runpack_run_old_migrated.zip", cwd=tmp_path)["ok"]
    proc = gait("migrate", "old.zip", "--out", "m/new.zip", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("migrate ok: old.zip -> m/new.zip (migrated)")


def test_failures(tmp_path: Path) -> None:
    _legacy_zip(tmp_path / "old.zip")
    with zipfile.ZipFile(tmp_path / "old.zip") as archive:
        data = {n: archive.read(n) for n in archive.namelist()}
    data["intents.jsonl"] = data["intents.jsonl"].replace(b"tool.search", b"tool.delete")
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as archive:
        for name, body in data.items():
            archive.writestr(name, body)
    out = gait_json("migrate", "tampered.zip", cwd=tmp_path, code=2)
    assert "hash mismatch: intents.jsonl" in out["error"]
    assert not (tmp_path / "runpack_run_old_migrated.zip").exists()
    for args, message in [
        (("old.zip", "--target", "v2"), "only v1"),
        ((), "missing required --input"),
        (("missing.zip",), "runpack not found: missing.zip"),
        (("no_such_run",), "runpack not found for run_id: no_such_run"),
        (("old.zip", "--out", "old.zip"), "--out must differ from input path"),
    ]:
        out = gait_json("migrate", *args, cwd=tmp_path, code=6)
        assert message in out["error"], out
    assert "--target" in gait("migrate", "--help", cwd=tmp_path).stdout
