"""Runpack commands through the installed ``gait`` command, in temporary directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

FOOTER = (
    r"^GAIT run_id=([A-Za-z0-9_-]+) manifest=sha256:([a-f0-9]{64}) "
    r'verify="gait verify ([A-Za-z0-9_-]+)"$'
)


def gait(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    full_env = {**os.environ, "GAIT_NO_CACHE": "1", "HOME": str(cwd), **(env or {})}
    return subprocess.run(
        [*base, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def gait_json(*args: str, cwd: Path, code: int = 0) -> dict[str, Any]:
    proc = gait(*args, "--json", cwd=cwd)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    proc = gait("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def test_demo_twice_in_clean_dirs_is_byte_identical(tmp_path: Path) -> None:
    outs, zips = [], []
    for name in ("a", "b"):
        work = tmp_path / name
        work.mkdir()
        proc = gait("demo", cwd=work)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
        zips.append((work / "gait-out" / "runpack_run_demo.zip").read_bytes())
    assert outs[0] == outs[1] and zips[0] == zips[1]
    lines = outs[0].splitlines()
    assert lines[1:4] == [
        "run_id=run_demo",
        "bundle=./gait-out/runpack_run_demo.zip",
        lines[3],
    ]
    assert lines[0] == "mode=standard" and lines[4] == "verify=ok"
    import re

    match = re.match(FOOTER, lines[3].removeprefix("ticket_footer="))
    assert match is not None and match.group(1) == match.group(3) == "run_demo"


def test_demo_json_has_the_spec_fields(tmp_path: Path) -> None:
    out = gait_json("demo", cwd=tmp_path)
    assert set(out) >= {
        "ok",
        "mode",
        "run_id",
        "bundle",
        "ticket_footer",
        "verify",
        "next_commands",
        "metrics_opt_in",
        "correlation_id",
    }
    assert out["verify"] == "ok" and out["bundle"] == "./gait-out/runpack_run_demo.zip"


def test_acceptance_flow(demo_dir: Path) -> None:
    verified = gait_json("verify", "run_demo", cwd=demo_dir)
    assert verified["ok"] is True and verified["signature_status"] == "missing"
    receipt = gait("run", "receipt", "--from", "run_demo", cwd=demo_dir)
    assert receipt.returncode == 0
    assert receipt.stdout.startswith("GAIT run_id=run_demo manifest=sha256:")
    replay = gait_json("run", "replay", "run_demo", cwd=demo_dir)
    assert (
        replay["mode"] == "stub" and [s["execution"] for s in replay["steps"]] == ["recorded"] * 3
    )
    diff = gait_json("run", "diff", "run_demo", "./gait-out/runpack_run_demo.zip", cwd=demo_dir)
    assert diff["ok"] is True


def test_tampered_run_json_makes_verify_exit_2(demo_dir: Path) -> None:
    path = demo_dir / "gait-out" / "runpack_run_demo.zip"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["run.json"] = members["run.json"].replace(b'"demo"', b'"dem0"', 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(members.items()):
            zf.writestr(name, data)
    out = gait_json("verify", "run_demo", cwd=demo_dir, code=2)
    assert any(m["path"] == "run.json" for m in out["hash_mismatches"])
    text = gait("verify", "run_demo", cwd=demo_dir)
    assert text.returncode == 2
    # the original's lines and order (cmd/gait/verify.go writeVerifyOutput)
    assert text.stdout.splitlines() == [
        "verify failed: gait-out/runpack_run_demo.zip",
        "hash mismatches: 1",
        "signature status: missing",
        "signature note: unsigned local/dev artifacts are expected by default; "
        "use --require-signature for strict verification",
        "next: gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml"
        " | gait demo --durable | gait demo --policy",
    ]


def test_flipped_byte_in_place_exits_2_without_traceback(demo_dir: Path) -> None:
    path = demo_dir / "gait-out" / "runpack_run_demo.zip"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    proc = gait("verify", "run_demo", cwd=demo_dir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_duplicate_entry_zip_is_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", "{}")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("manifest.json", "{}")
    before = sorted(os.listdir(tmp_path))
    out = gait_json("verify", str(path), cwd=tmp_path, code=2)
    assert out["error_code"] == "runpack_duplicate_entries"
    assert sorted(os.listdir(tmp_path)) == before


def test_traversal_symlink_and_bomb_zips_fail_cleanly(tmp_path: Path) -> None:
    cases = {
        "traversal.zip": [("../escape.txt", 0o100644)],
        "symlink.zip": [("link", 0o120777)],
    }
    for name, entries in cases.items():
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for entry, mode in entries:
                info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = mode << 16
                zf.writestr(info, "/etc/passwd")
        proc = gait("verify", str(path), "--json", cwd=tmp_path)
        assert proc.returncode == 2, (name, proc.stdout)
        assert "Traceback" not in proc.stderr
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("run.json", b"\0" * (8 * 1024 * 1024))  # ~1000:1, over the 500:1 cap
    out = gait_json("verify", str(bomb), cwd=tmp_path, code=2)
    assert out["error_code"] == "runpack_zip_ratio_too_high"
    assert not (tmp_path.parent / "escape.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bomb.zip",
        "symlink.zip",
        "traversal.zip",
    ]


def test_not_a_zip_and_missing_file_exit_6(tmp_path: Path) -> None:
    (tmp_path / "notes.zip").write_text("hello")
    assert gait_json("verify", "notes.zip", cwd=tmp_path, code=6)["ok"] is False
    missing = gait_json("verify", "./nope.zip", cwd=tmp_path, code=6)
    assert missing["error"] == "runpack not found: ./nope.zip"


def test_inspect_text_one_line_per_step(demo_dir: Path) -> None:
    proc = gait("run", "inspect", "--from", "run_demo", cwd=demo_dir)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "run inspect: run_id=run_demo intents=3 results=3 capture_mode=reference"
    assert lines[2:] == [
        "1. intent=intent_1 tool=tool.search status=ok",
        "2. intent=intent_2 tool=tool.fetch status=ok",
        "3. intent=intent_3 tool=tool.summarize status=ok",
    ]


def test_inspect_of_tampered_pack_exits_6(demo_dir: Path) -> None:
    path = demo_dir / "gait-out" / "runpack_run_demo.zip"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    assert gait("run", "inspect", "run_demo", cwd=demo_dir).returncode == 6


def test_policy_demo_records_a_blocked_call_and_replay_agrees(tmp_path: Path) -> None:
    out = gait_json("demo", "--policy", cwd=tmp_path)
    assert (out["policy_verdict"], out["matched_rule"]) == (
        "block",
        "block-destructive-tool-delete",
    )
    assert "destructive_tool_blocked" in out["reason_codes"]
    assert out["steps"] == [
        "tool.search:allow",
        "tool.fetch:allow",
        "tool.delete:block",
        "tool.summarize:allow",
    ]
    assert gait_json("verify", "run_demo_policy", cwd=tmp_path)["ok"] is True
    replay = gait_json(
        "run",
        "replay",
        "run_demo_policy",
        "--policy",
        "gait-out/policy_demo_high_risk.yaml",
        cwd=tmp_path,
    )
    assert replay["reevaluation"]["divergences"] == []
    assert replay["reevaluation"]["policy_matches_recorded"] is True


def test_replay_with_permissive_policy_reports_divergence_exit_2(tmp_path: Path) -> None:
    gait_json("demo", "--policy", cwd=tmp_path)
    (tmp_path / "allow.yaml").write_text(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n"
    )
    out = gait_json(
        "run", "replay", "run_demo_policy", "--policy", "allow.yaml", cwd=tmp_path, code=2
    )
    (divergence,) = out["reevaluation"]["divergences"]
    assert (divergence["tool_name"], divergence["replay_verdict"]) == ("tool.delete", "allow")


def test_diff_of_different_runs_exits_2_and_writes_output(tmp_path: Path) -> None:
    gait("demo", cwd=tmp_path)
    gait("demo", "--policy", cwd=tmp_path)
    out = gait_json(
        "run",
        "diff",
        "run_demo",
        "run_demo_policy",
        "--output",
        "d/diff.json",
        cwd=tmp_path,
        code=2,
    )
    assert out["summary"]["intents_changed"] is True
    written = json.loads((tmp_path / "d" / "diff.json").read_text())
    assert set(written) == {"privacy", "summary"}


def test_replay_real_tools_without_opt_ins_exits_8(demo_dir: Path) -> None:
    proc = gait("run", "replay", "run_demo", "--real-tools", "--json", cwd=demo_dir)
    assert proc.returncode == 8


def test_record_spec_input_then_verify(tmp_path: Path) -> None:
    doc = {
        "run": {"run_id": "run_rec", "created_at": "2026-02-05T00:00:00Z"},
        "intents": [{"intent_id": "i1", "tool_name": "tool.x", "args": {"a": 1}}],
        "results": [{"intent_id": "i1", "status": "ok", "result": {"b": 2}}],
    }
    (tmp_path / "in.json").write_text(json.dumps(doc))
    out = gait_json("run", "record", "--input", "in.json", cwd=tmp_path)
    assert out["bundle"] == "./gait-out/runpack_run_rec.zip"
    assert out["signature_status"] == "missing"
    assert gait_json("verify", "run_rec", cwd=tmp_path)["ok"] is True
    refs = json.loads(
        zipfile.ZipFile(tmp_path / "gait-out" / "runpack_run_rec.zip").read("refs.json")
    )
    assert refs["context_evidence_mode"] == "best_effort"


def test_record_event_log_signed_in_dev_mode(tmp_path: Path) -> None:
    events = [
        {"type": "run", "run_id": "run_ev", "created_at": "2026-02-05T00:00:00Z"},
        {"type": "intent", "intent_id": "i1", "tool_name": "tool.x", "args": {"a": 1}},
        {"type": "decision", "intent_id": "i1", "verdict": "allow"},
        {"type": "result", "intent_id": "i1", "result": {"ok": True}},
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    out = gait_json(
        "run", "record", "events.jsonl", "--key-mode", "dev", "--run-id", "run_x", cwd=tmp_path
    )
    assert out["run_id"] == "run_x" and out["signature_status"] == "signed"
    assert out["warnings"] == [
        "dev mode: signed with this user's dev key, not a production key; "
        "signatures verify only where this dev key is"
    ]
    # The pack names this user's dev key, so verify checks it with that key.
    verified = gait_json("verify", "run_x", cwd=tmp_path)
    assert verified["signature_status"] == "verified" and verified["key_source"] == "dev"
    assert "per-user dev key" in verified["signature_note"]


def test_record_rejects_raw_receipts_without_opt_in(tmp_path: Path) -> None:
    doc = {
        "run": {"run_id": "run_raw"},
        "refs": {
            "receipts": [
                {
                    "ref_id": "r",
                    "redaction_mode": "raw",
                    "query_digest": "a" * 64,
                    "content_digest": "b" * 64,
                }
            ]
        },
    }
    (tmp_path / "in.json").write_text(json.dumps(doc))
    out = gait_json("run", "record", "in.json", cwd=tmp_path, code=6)
    assert "--unsafe-context-raw" in out["error"]


def test_receipt_on_tampered_pack_exits_2(demo_dir: Path) -> None:
    path = demo_dir / "gait-out" / "runpack_run_demo.zip"
    data = bytearray(path.read_bytes())
    data[200] ^= 0x04
    path.write_bytes(bytes(data))
    out = gait_json("run", "receipt", "--from", "run_demo", cwd=demo_dir, code=2)
    assert out["error"].startswith("runpack verification failed")


def test_demo_modes_conflict_exit_6(tmp_path: Path) -> None:
    assert gait("demo", "--durable", "--policy", cwd=tmp_path).returncode == 6


def test_record_prod_key_then_verify_with_public_key(tmp_path: Path) -> None:
    keys = gait_json("keys", "init", cwd=tmp_path)
    (tmp_path / "in.json").write_text(json.dumps({"run": {"run_id": "run_signed"}}))
    out = gait_json(
        "run", "record", "in.json", "--private-key", keys["private_key_path"], cwd=tmp_path
    )
    assert out["signature_status"] == "signed" and out["signature_key_id"] == keys["key_id"]
    verified = gait_json(
        "verify",
        "run_signed",
        "--profile",
        "strict",
        "--public-key",
        keys["public_key_path"],
        cwd=tmp_path,
    )
    assert verified["signature_status"] == "verified" and verified["signatures_valid"] == 1


def test_verify_chain_runpack_and_signed_trace(tmp_path: Path) -> None:
    gait_json("demo", "--policy", cwd=tmp_path)
    keys = gait_json("keys", "init", cwd=tmp_path)
    gait(
        "gate",
        "eval",
        "--policy",
        "gait-out/policy_demo_high_risk.yaml",
        "--intent",
        "gait-out/intent_demo_delete.json",
        "--trace-out",
        "t.json",
        "--key-mode",
        "prod",
        "--private-key",
        keys["private_key_path"],
        cwd=tmp_path,
    )
    out = gait_json(
        "verify",
        "chain",
        "--run",
        "run_demo_policy",
        "--trace",
        "t.json",
        "--public-key",
        keys["public_key_path"],
        cwd=tmp_path,
    )
    assert out["ok"] is True and out["trace"]["signature_status"] == "verified"
    assert out["run"]["run_id"] == "run_demo_policy"
