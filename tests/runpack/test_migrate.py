"""gait.runpack.migrate: legacy runpacks rewritten in the current format."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import digest
from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.migrate import default_migrated_path, migrate_runpack
from gait.runpack.reader import read_runpack
from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.verify import verify_runpack
from gait.signing import KeyPair


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def legacy_pack(path: Path, *, refs: bool = True, **manifest_extra: Any) -> Path:
    """A runpack as an older writer made it: pretty JSON, no schema ids, uppercase digests."""
    args, result = {"q": "x"}, {"ok": True}
    members = {
        "run.json": json.dumps(
            {"run_id": "run_legacy", "env": {"os": "linux"}, "timeline": []}, indent=2
        ).encode(),
        "intents.jsonl": (
            json.dumps(
                {
                    "intent_id": "intent_1",
                    "tool_name": "tool.search",
                    "args": args,
                    "args_digest": digest(args).upper(),
                }
            )
            + "\n"
        ).encode(),
        "results.jsonl": (
            json.dumps({"intent_id": "intent_1", "status": "ok", "result": result}) + "\n"
        ).encode(),
    }
    if refs:
        receipts = [
            {"ref_id": r, "source_type": "kb", "source_locator": "kb://x",
             "query_digest": "A" * 64, "content_digest": "b" * 64}
            for r in ("ref_b", "ref_a")
        ]  # fmt: skip
        members["refs.json"] = json.dumps({"receipts": receipts}).encode()
    manifest = {
        "schema_id": "gait.runpack.manifest",
        "schema_version": "1.0.0",
        "run_id": "run_legacy",
        "created_at": "2025-06-01T00:00:00Z",
        "files": [{"path": k, "sha256": _sha(v)} for k, v in sorted(members.items())],
        **manifest_extra,
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_legacy_pack_is_rewritten_and_verifies(tmp_path: Path) -> None:
    source = legacy_pack(tmp_path / "runpack_run_legacy.zip")
    assert not verify_runpack(source).ok  # not a current pack: no manifest digest, no refs hash
    result = migrate_runpack(str(source))
    assert result.status == "migrated"
    assert result.output == str(tmp_path / "runpack_run_legacy_migrated.zip")
    assert "run.json: schema_id set to gait.runpack.run" in result.changes
    report = verify_runpack(result.output)
    assert report.ok and report.manifest_digest == result.manifest_digest
    pack = read_runpack(result.output)
    assert pack.run.schema_id == "gait.runpack.run"
    assert pack.run.created_at == "2025-06-01T00:00:00Z"  # from the manifest, not the clock
    assert (pack.run.env.os, pack.run.env.arch) == ("linux", "unknown")  # never the host's
    assert pack.intents[0].args_digest == digest({"q": "x"})
    assert [r.ref_id for r in pack.refs.receipts] == ["ref_a", "ref_b"]
    assert pack.refs.receipts[0].query_digest == "a" * 64
    # idempotent: again from the source gives the same bytes; the migrated pack is current
    first = Path(result.output).read_bytes()
    assert migrate_runpack(str(source)).status == "migrated"
    assert Path(result.output).read_bytes() == first
    again = migrate_runpack(result.output, out=str(tmp_path / "again.zip"))
    assert again.status == "no_change"
    assert Path(again.output).read_bytes() == first


def test_pack_without_refs_json_gets_empty_refs(tmp_path: Path) -> None:
    result = migrate_runpack(str(legacy_pack(tmp_path / "old.zip", refs=False)))
    assert "refs.json: added (empty)" in result.changes
    assert read_runpack(result.output).refs.receipts == []


def test_current_pack_is_no_change_and_keeps_its_signature(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    built = record_runpack(
        {"run_id": "run_signed", "created_at": "2026-01-01T00:00:00Z"}, sign_key=fixed_key
    )
    source = tmp_path / "runpack_run_signed.zip"
    write_runpack(source, built)
    result = migrate_runpack(str(source), out=str(tmp_path / "out" / "m.zip"))
    assert result.status == "no_change" and not result.warnings
    assert (tmp_path / "out" / "m.zip").read_bytes() == source.read_bytes()
    report = verify_runpack(result.output, public_key=fixed_key, require_signature=True)
    assert report.signature_status == "verified"


def test_signed_legacy_content_drops_the_signature_with_a_warning(tmp_path: Path) -> None:
    fake = [{"alg": "ed25519", "key_id": "k", "sig": "AA==", "signed_digest": "0" * 64}]
    source = legacy_pack(tmp_path / "s.zip", signatures=fake)
    result = migrate_runpack(str(source))
    assert result.status == "migrated"
    assert result.warnings and "signatures dropped" in result.warnings[0]
    assert verify_runpack(result.output).signature_status == "missing"


@pytest.mark.parametrize("member", ["run.json", "intents.jsonl", "results.jsonl", "refs.json"])
def test_tampered_member_is_refused_and_nothing_written(tmp_path: Path, member: str) -> None:
    source = legacy_pack(tmp_path / "t.zip")
    with zipfile.ZipFile(source) as archive:
        data = {n: archive.read(n) for n in archive.namelist()}
    data[member] = data[member] + b" "
    with zipfile.ZipFile(source, "w") as archive:
        for name, body in data.items():
            archive.writestr(name, body)
    with pytest.raises(VerificationFailed, match=f"hash mismatch: {re.escape(member)}"):
        migrate_runpack(str(source))
    assert not (tmp_path / "runpack_run_legacy_migrated.zip").exists()


def test_refusals(tmp_path: Path) -> None:
    source = legacy_pack(tmp_path / "runpack_x.zip")
    with pytest.raises(InvalidInput, match="only v1"):
        migrate_runpack(str(source), target="v2")
    with pytest.raises(InvalidInput, match="--out must differ"):
        migrate_runpack(str(source), out=str(source))
    # a current pack too (the reference refuses before comparing contents)
    current = migrate_runpack(str(source)).output
    with pytest.raises(InvalidInput, match="--out must differ"):
        migrate_runpack(current, out=current)
    with pytest.raises(InvalidInput, match="traverse"):
        migrate_runpack(str(source), out="../x.zip")
    bad = legacy_pack(tmp_path / "bad.zip", manifest_digest="f" * 64)
    with pytest.raises(VerificationFailed, match=r"hash mismatch: manifest\.json"):
        migrate_runpack(str(bad))
    other = legacy_pack(tmp_path / "v9.zip", schema_version="9.0.0")
    with pytest.raises(InvalidInput, match=r"unsupported runpack schema_version: 9\.0\.0"):
        migrate_runpack(str(other))
    notpack = tmp_path / "other.zip"
    with zipfile.ZipFile(notpack, "w") as archive:
        archive.writestr("pack_manifest.json", "{}")
    with pytest.raises(InvalidInput, match="unsupported artifact type"):
        migrate_runpack(str(notpack))
    text = tmp_path / "trace.json"
    text.write_text("{}")
    with pytest.raises(InvalidInput, match="only runpack zip"):
        migrate_runpack(str(text))


def test_default_path() -> None:
    assert default_migrated_path("a/b/runpack_x.zip", "run_1") == "a/b/runpack_run_1_migrated.zip"
    assert default_migrated_path("a/pack.zip", "../x") == "a/pack_migrated.zip"


def test_cli_text_is_the_reference_line_and_changes_go_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gait.cli.main import main

    monkeypatch.chdir(tmp_path)
    legacy_pack(tmp_path / "runpack_x.zip")
    assert main(["migrate", "./runpack_x.zip"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert len(out) == 1 and out[0].startswith("migrate ok: ./runpack_x.zip -> ")
    assert out[0].endswith("(migrated)")
    assert captured.err.startswith("change: ")
