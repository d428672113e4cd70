"""Unified run packs (scout_packs.md §4): proof chain, pack_id, verify, inspect, diff, export."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from gait.canonical import canonical_bytes
from gait.packs.source import read_source_run
from gait.packs.unified import build_run_pack
from gait.packs.verify import verify_any_pack
from gait.runpack.zipwrite import ZipMember, write_zip
from gait.signing import KeyPair


def _write(tmp_path: Path, data: bytes, name: str = "pack.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_run_pack_layout_and_id(demo_path: Path, tmp_path: Path) -> None:
    built = build_run_pack(read_source_run(demo_path), producer_version="0.1.0")
    members = _members(_write(tmp_path, built.zip_bytes))
    assert sorted(members) == [
        "pack_manifest.json",
        "proof_records.jsonl",
        "run_payload.json",
        "source/runpack.zip",
    ]
    manifest = json.loads(members["pack_manifest.json"])
    assert manifest["created_at"] == "1980-01-01T00:00:00Z" and len(manifest["pack_id"]) == 64
    assert {c["path"]: c["type"] for c in manifest["contents"]} == {
        "proof_records.jsonl": "jsonl",
        "run_payload.json": "json",
        "source/runpack.zip": "zip",
    }
    records = [json.loads(line) for line in members["proof_records.jsonl"].splitlines()]
    assert [r["entry_path"] for r in records] == ["run_payload.json", "source/runpack.zip"]
    assert records[0]["previous_record_digest"] == ""
    assert records[1]["previous_record_digest"] == records[0]["record_digest"]
    payload = json.loads(members["run_payload.json"])
    assert payload["schema_id"] == "gait.pack.run" and payload["intents_count"] == 3
    # The embedded runpack is the demo runpack, already in canonical form.
    assert members["source/runpack.zip"] == demo_path.read_bytes()


def test_run_pack_is_reproducible_and_verifies(
    demo_path: Path, tmp_path: Path, fixed_key: KeyPair
) -> None:
    pack = read_source_run(demo_path)
    first = build_run_pack(pack, sign_key=fixed_key).zip_bytes
    assert first == build_run_pack(pack, sign_key=fixed_key).zip_bytes
    report = verify_any_pack(_write(tmp_path, first), public_key=fixed_key, require_signature=True)
    assert report.ok and report.signature_status == "verified"
    assert report.proof_records_verified == 2 and report.pack_type == "run"


def test_rebuilt_pack_with_edited_payload_breaks_chain_and_id(
    demo_path: Path, tmp_path: Path
) -> None:
    members = _members(_write(tmp_path, build_run_pack(read_source_run(demo_path)).zip_bytes))
    payload = json.loads(members["run_payload.json"])
    payload["intents_count"] = 4
    members["run_payload.json"] = canonical_bytes(payload)
    # Re-hash the manifest entry so only the chain and the id can catch it.
    manifest = json.loads(members["pack_manifest.json"])
    import hashlib

    for item in manifest["contents"]:
        if item["path"] == "run_payload.json":
            item["sha256"] = hashlib.sha256(members["run_payload.json"]).hexdigest()
    members["pack_manifest.json"] = canonical_bytes(manifest)
    path = _write(tmp_path, write_zip(ZipMember(k, v) for k, v in members.items()), "t.zip")
    report = verify_any_pack(path)
    assert not report.ok
    assert "pack_id does not match the manifest" in report.errors
    assert any("entry_sha256" in e for e in report.errors)


def test_runpack_is_verified_as_legacy(demo_path: Path) -> None:
    report = verify_any_pack(demo_path)
    assert report.ok and report.legacy_type == "runpack" and report.run_id == "run_demo"


def test_cli_build_inspect_diff_export(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    code, text = gait_inproc("pack", "build", "--type", "run", "--from", str(demo_path), "--json")
    built = json.loads(text)
    assert code == 0 and Path(built["path"]).name == f"pack_{built['pack_id']}.zip"
    code, text = gait_inproc("pack", "inspect", built["path"], "--json")
    assert code == 0 and json.loads(text)["source_ref"] == "run_demo"
    code, text = gait_inproc("pack", "diff", built["path"], built["path"], "--json")
    assert code == 0 and json.loads(text)["ok"] is True
    code, text = gait_inproc("pack", "diff", built["path"], str(demo_path), "--json")
    diff = json.loads(text)
    # as the original: members only in the left side are "removed_files"
    assert code == 2 and diff["diff"]["Result"]["summary"]["removed_files"] == [
        "proof_records.jsonl",
        "run_payload.json",
        "source/runpack.zip",
    ]
    assert diff["schema_id"] == "gait.pack.output" and diff["operation"] == "diff"
    otel, sql = tmp_path / "o.jsonl", tmp_path / "o.sql"
    code, text = gait_inproc(
        "pack",
        "export",
        built["path"],
        "--otel-out",
        str(otel),
        "--postgres-sql-out",
        str(sql),
        "--json",
    )
    exported = json.loads(text)
    # the original's export record (core/pack/exporters.go): integrity counts and run metrics
    record = exported["export"]
    assert code == 0 and exported["otel_path"] == str(otel)
    assert (record["files_checked"], record["hash_mismatches"], record["signature_status"]) == (
        3,
        0,
        "missing",
    )
    assert record["metrics"]["tool_calls_total"] == 3 and record["created_at"] == (
        "1980-01-01T00:00:00Z"
    )
    lines = [json.loads(line) for line in otel.read_text().splitlines()]
    assert [r["record_type"] for r in lines] == ["span", "event"] + ["metric"] * 6
    assert lines[0]["trace_id"] == built["pack_id"][:32] and lines[0]["status"] == {"code": "ok"}
    assert lines[4]["name"] == "gait.pack.tool_calls_success_rate" and lines[4]["value_double"] == 1
    gait_inproc("pack", "export", built["path"], "--otel-out", str(otel), "--json")
    assert len(otel.read_text().splitlines()) == 16  # appended, as the original
    text_sql = sql.read_text()
    assert text_sql.startswith('CREATE TABLE IF NOT EXISTS "gait_pack_index" (')
    assert "ON CONFLICT (pack_id) DO UPDATE SET" in text_sql and "1.000000," in text_sql
    code, text = gait_inproc(
        "pack", "export", built["path"], "--postgres-sql-out", str(sql),
        "--postgres-table", "x;drop", "--json",
    )  # fmt: skip
    assert code == 6 and "postgres identifier must match" in json.loads(text)["error"]
    code, text = gait_inproc(
        "pack", "export", built["path"], "--postgres-sql-out", str(sql),
        "--postgres-include-ddl=false", "--postgres-table", "s.t", "--json",
    )  # fmt: skip
    assert code == 0 and sql.read_text().startswith('INSERT INTO "s"."t" (')
    code, text = gait_inproc("pack", "export", built["path"], "--json")
    assert code == 6 and "at least one export output is required" in json.loads(text)["error"]


def test_cli_build_call_type_is_refused(gait_inproc, demo_path: Path) -> None:
    code, text = gait_inproc("pack", "build", "--type", "call", "--from", str(demo_path), "--json")
    assert code == 6 and "not supported" in json.loads(text)["error"]


def test_cli_verify_chain_with_pack(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev.zip"
    assert gait_inproc("guard", "pack", str(demo_path), "--out", str(out))[0] == 0
    code, text = gait_inproc(
        "verify", "chain", "--run", str(demo_path), "--pack", str(out), "--json"
    )
    payload = json.loads(text)
    assert code == 0 and payload["pack"]["ok"] and payload["run"]["ok"]
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x20
    out.write_bytes(bytes(data))
    code, text = gait_inproc(
        "verify", "chain", "--run", str(demo_path), "--pack", str(out), "--json"
    )
    assert code == 2 and json.loads(text)["ok"] is False
