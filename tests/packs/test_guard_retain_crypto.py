"""``gait guard retain|encrypt|decrypt`` and guard pack's omitted fields (cmd/gait/guard.go)."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import pytest

from gait.packs.retention import apply_retention, retention_kind

DAY = 86_400 * 1_000_000_000


def _age(path: Path, days: float) -> None:
    when = (path.stat().st_mtime_ns - int(days * DAY)) / 1e9
    os.utime(path, (when, when))


def test_retention_kinds() -> None:
    assert retention_kind("a/trace_x.json") == "trace"
    assert retention_kind("EVIDENCE_PACK_1.ZIP") == "pack"
    assert retention_kind("incident_pack_1.gaitenc") == "pack"
    assert retention_kind("trace_x.jsonl") == "" and retention_kind("runpack_a.zip") == ""


def test_retention_deletes_only_expired(tmp_path: Path) -> None:
    old_trace, new_trace = tmp_path / "trace_old.json", tmp_path / "sub" / "trace_new.json"
    old_pack, other = tmp_path / "evidence_pack_a.zip", tmp_path / "notes.json"
    new_trace.parent.mkdir()
    for path in (old_trace, new_trace, old_pack, other):
        path.write_text("{}")
    _age(old_trace, 8)  # past the 7 day default
    _age(old_pack, 8)  # within the 30 day default
    _age(other, 100)
    report_path = tmp_path / "out" / "report.json"
    report = apply_retention(
        str(tmp_path), 168 * 3600 * 10**9, 720 * 3600 * 10**9, report_out=str(report_path)
    )
    assert [e["path"] for e in report["deleted_files"]] == [str(old_trace)]
    assert [e["action"] for e in report["kept_files"]] == ["kept", "kept"]
    assert report["scanned_files"] == 3 and report["trace_ttl_seconds"] == 604800
    assert not old_trace.exists() and new_trace.exists() and other.exists()
    written = json.loads(report_path.read_text())
    assert written["schema_id"] == "gait.guard.retention_report" and written["dry_run"] is False


def test_cli_retain_dry_run_and_errors(gait_inproc, tmp_path: Path) -> None:
    pack = tmp_path / "incident_pack_x.zip"
    pack.write_bytes(b"x")
    _age(pack, 2)
    code, text = gait_inproc(
        "guard", "retain", "--root", str(tmp_path), "--pack-ttl", "24h", "--dry-run", "--json"
    )
    out = json.loads(text)
    assert code == 0 and out["dry_run"] is True and pack.exists()
    assert out["deleted_files"][0]["kind"] == "pack" and "kept_files" not in out
    code, text = gait_inproc("guard", "retain", "--root", str(tmp_path))
    assert code == 0 and text == "guard retain ok: scanned=1 deleted=0\n"
    code, text = gait_inproc("guard", "retain", "--trace-ttl", "soon", "--json")
    assert (
        code == 6
        and json.loads(text)["error"] == 'parse --trace-ttl: time: invalid duration "soon"'
    )


def test_cli_encrypt_decrypt_round_trip(
    gait_inproc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    monkeypatch.setenv("GAIT_TEST_KEY", key)
    plain = tmp_path / "evidence_pack_a.zip"
    plain.write_bytes(b"secret evidence")
    code, text = gait_inproc("guard", "encrypt", str(plain), "--key-env", "GAIT_TEST_KEY", "--json")
    out = json.loads(text)
    assert code == 0 and out["path"] == str(plain) + ".gaitenc"
    assert out["algorithm"] == "aes-256-gcm" and out["key_mode"] == "env"
    assert out["key_ref"] == "GAIT_TEST_KEY" and out["plain_size"] == 15
    sealed = json.loads(Path(out["path"]).read_text())
    assert sealed["schema_id"] == "gait.guard.encrypted_artifact"
    assert b"secret" not in Path(out["path"]).read_bytes() and key not in out["path"]
    plain.unlink()
    # the key from a command (no shell), default output drops .gaitenc
    script = tmp_path / "key.py"
    script.write_text(f"print({key!r})\n")
    code, text = gait_inproc(
        "guard",
        "decrypt",
        "--in",
        out["path"],
        "--key-command",
        sys.executable,
        "--key-command-args",
        str(script),
        "--json",
    )
    back = json.loads(text)
    assert code == 0 and back["path"] == str(plain) and plain.read_bytes() == b"secret evidence"
    wrong = base64.b64encode(bytes(32)).decode()
    monkeypatch.setenv("GAIT_TEST_KEY", wrong)
    code, text = gait_inproc(
        "guard",
        "decrypt",
        out["path"],
        "--out",
        str(tmp_path / "x"),
        "--key-env",
        "GAIT_TEST_KEY",
        "--json",
    )
    assert code == 6 and "message authentication failed" in json.loads(text)["error"]
    assert not (tmp_path / "x").exists()


def test_cli_encrypt_errors(gait_inproc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = gait_inproc("guard", "encrypt", "--json")
    assert code == 6 and json.loads(text)["error"] == "expected --in <artifact>"
    code, text = gait_inproc("guard", "decrypt", "--json")
    assert code == 6 and json.loads(text)["error"] == "expected --in <artifact.gaitenc>"
    target = tmp_path / "a.bin"
    target.write_bytes(b"a")
    code, text = gait_inproc("guard", "encrypt", str(target), "--json")
    assert code == 6 and "missing key source" in json.loads(text)["error"]
    monkeypatch.setenv("GAIT_SHORT_KEY", base64.b64encode(b"short").decode())
    code, text = gait_inproc(
        "guard", "encrypt", str(target), "--key-env", "GAIT_SHORT_KEY", "--json"
    )
    assert code == 6 and "expected 32-byte key, got 5" in json.loads(text)["error"]


def test_guard_pack_omits_zero_counts(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    code, text = gait_inproc(
        "guard", "pack", "--run", str(demo_path), "--out", str(tmp_path / "e.zip"), "--json"
    )
    out = json.loads(text)
    assert code == 0 and out["controls"] == 3
    assert "rendered_artifacts" not in out and out["warnings"]
