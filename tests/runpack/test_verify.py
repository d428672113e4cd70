"""Runpack verification (runpack.md §4) through the library and the in-process CLI."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.demo import build_demo_runpack
from gait.runpack.record import record_runpack
from gait.runpack.verify import verify_runpack
from gait.runpack.zipwrite import ZipMember, write_zip
from gait.signing import KeyPair, encode_public_key

Cli = Callable[..., tuple[int, str]]


def _members(data: bytes, tmp: Path) -> dict[str, bytes]:
    path = tmp / "src.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rezip(tmp: Path, members: dict[str, bytes], name: str = "t.zip") -> Path:
    path = tmp / name
    path.write_bytes(write_zip(ZipMember(k, v) for k, v in members.items()))
    return path


def test_demo_pack_verifies(demo_path: Path) -> None:
    report = verify_runpack(demo_path)
    assert report.ok and report.signature_status == "missing" and report.files_checked == 4
    assert report.run_id == "run_demo"


def test_unsigned_pack_fails_when_signature_required(demo_path: Path) -> None:
    report = verify_runpack(demo_path, require_signature=True)
    assert not report.ok and report.signature_errors == ["manifest has no signatures"]


def test_changed_run_json_is_a_hash_mismatch(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    members["run.json"] = members["run.json"].replace(b"run_demo", b"run_demX")
    report = verify_runpack(_rezip(tmp_path, members))
    assert not report.ok
    assert [m.path for m in report.hash_mismatches] == ["run.json"]


def test_renamed_member_is_missing_and_unexpected(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    members["runx.json"] = members.pop("run.json")
    report = verify_runpack(_rezip(tmp_path, members))
    assert not report.ok
    assert report.missing_files == ["run.json"] and report.unexpected_files == ["runx.json"]


def test_added_member_fails(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    members["extra.txt"] = b"hello"
    report = verify_runpack(_rezip(tmp_path, members))
    assert not report.ok and report.unexpected_files == ["extra.txt"]


def test_dropped_member_fails(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    del members["refs.json"]
    report = verify_runpack(_rezip(tmp_path, members))
    assert not report.ok and report.missing_files == ["refs.json"]


def test_dropped_manifest_is_a_verification_failure(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    del members["manifest.json"]
    with pytest.raises(VerificationFailed, match=r"missing manifest\.json"):
        verify_runpack(_rezip(tmp_path, members))


def test_manifest_not_listing_a_required_member_reports_it_missing(
    tmp_path: Path, demo_zip: bytes
) -> None:
    members = _members(demo_zip, tmp_path)
    manifest = json.loads(members["manifest.json"])
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "refs.json"]
    members["manifest.json"] = json.dumps(manifest).encode()
    report = verify_runpack(_rezip(tmp_path, members))
    assert "refs.json" in report.missing_files
    assert [m.path for m in report.hash_mismatches] == ["manifest.json"]


def test_manifest_with_wrong_schema_is_invalid_input(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    manifest = json.loads(members["manifest.json"])
    manifest["schema_version"] = "2.0.0"
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(InvalidInput, match=r"schema_version must be 1\.0\.0"):
        verify_runpack(_rezip(tmp_path, members))


def test_manifest_that_is_not_json_is_invalid_input(tmp_path: Path, demo_zip: bytes) -> None:
    members = _members(demo_zip, tmp_path)
    members["manifest.json"] = b"{not json"
    with pytest.raises(InvalidInput, match=r"parse manifest\.json"):
        verify_runpack(_rezip(tmp_path, members))


def test_duplicate_entries_fail_with_their_code(
    tmp_path: Path, demo_zip: bytes, raw_zip: Callable[..., bytes]
) -> None:
    members = _members(demo_zip, tmp_path)
    entries = [(k, v, 0o100644, None) for k, v in members.items()]
    entries.append(("run.json", b"{}", 0o100644, None))
    path = tmp_path / "dup.zip"
    path.write_bytes(raw_zip(entries))
    with pytest.raises(VerificationFailed) as info:
        verify_runpack(path)
    assert info.value.code == "runpack_duplicate_entries"
    assert info.value.message == "zip contains duplicate entries: run.json"


def test_traversal_member_is_reported_not_extracted(
    tmp_path: Path, demo_zip: bytes, raw_zip: Callable[..., bytes]
) -> None:
    members = _members(demo_zip, tmp_path)
    entries = [(k, v, 0o100644, None) for k, v in sorted(members.items())]
    entries.append(("../evil.txt", b"x", 0o100644, None))
    path = tmp_path / "evil.zip"
    path.write_bytes(raw_zip(entries))
    before = sorted(os.listdir(tmp_path.parent))
    report = verify_runpack(path)
    assert not report.ok
    assert "../evil.txt: zip entry path traverses parent directories" in report.zip_errors
    assert sorted(os.listdir(tmp_path.parent)) == before


def test_signed_pack_verifies_with_its_key(tmp_path: Path, fixed_key: KeyPair) -> None:
    path = tmp_path / "s.zip"
    path.write_bytes(record_runpack({"run_id": "run_s"}, sign_key=fixed_key).zip_bytes)
    report = verify_runpack(path, public_key=fixed_key, require_signature=True)
    assert report.ok
    assert (report.signature_status, report.signatures_total, report.signatures_valid) == (
        "verified",
        1,
        1,
    )


def test_signed_pack_without_key_is_skipped_but_ok(tmp_path: Path, fixed_key: KeyPair) -> None:
    path = tmp_path / "s.zip"
    path.write_bytes(record_runpack({"run_id": "run_s"}, sign_key=fixed_key).zip_bytes)
    report = verify_runpack(path)
    assert report.ok and report.signature_status == "skipped"
    assert report.signature_errors == ["public key not configured"]


def test_signed_pack_with_other_key_fails(
    tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    path = tmp_path / "s.zip"
    path.write_bytes(record_runpack({"run_id": "run_s"}, sign_key=fixed_key).zip_bytes)
    report = verify_runpack(path, public_key=other_key)
    assert not report.ok and report.signature_status == "failed"
    assert report.signature_errors == ["key id mismatch"]


def test_cli_verify_json_fields_and_exit_codes(demo_path: Path, gait_inproc: Cli) -> None:
    code, out = gait_inproc("verify", str(demo_path), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] is True
    assert payload["signature_note"].startswith("unsigned local/dev artifacts")
    assert payload["next_commands"][0].startswith("gait regress bootstrap --from run_demo")
    assert "missing_files" not in payload and "hash_mismatches" not in payload


def test_cli_verify_with_public_key_file(
    tmp_path: Path, fixed_key: KeyPair, gait_inproc: Cli
) -> None:
    path = tmp_path / "s.zip"
    path.write_bytes(record_runpack({"run_id": "run_s"}, sign_key=fixed_key).zip_bytes)
    key_file = tmp_path / "pub.key"
    key_file.write_text(encode_public_key(fixed_key) + "\n")
    code, out = gait_inproc("verify", str(path), "--public-key", str(key_file), "--json")
    assert code == 0 and json.loads(out)["signature_status"] == "verified"


def test_cli_strict_profile_without_key_is_invalid_input(demo_path: Path, gait_inproc: Cli) -> None:
    code, out = gait_inproc("verify", str(demo_path), "--profile", "strict", "--json")
    assert code == 6 and "strict verify profile requires" in json.loads(out)["error"]


def test_cli_profile_any_case_and_unknown_value(demo_path: Path, gait_inproc: Cli) -> None:
    # cmd/gait/verify.go parseArtifactVerifyProfile: trimmed and lowercased, empty = standard
    code, out = gait_inproc("verify", str(demo_path), "--profile", " STRICT ", "--json")
    assert code == 6 and "strict verify profile requires" in json.loads(out)["error"]
    code, out = gait_inproc("verify", str(demo_path), "--profile", "", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out = gait_inproc("verify", str(demo_path), "--profile", "Fancy", "--json")
    assert code == 6
    assert json.loads(out)["error"] == (
        'unsupported --profile value "Fancy" (expected standard or strict)'
    )


def test_cli_verify_unknown_run_id_is_invalid_input(
    tmp_path: Path, gait_inproc: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = gait_inproc("verify", "run_missing", "--json")
    assert code == 6
    assert json.loads(out)["error"] == "runpack not found for run_id: run_missing"


def test_manifest_digest_of_demo_matches_demo_footer_digest() -> None:
    result = build_demo_runpack("0.1.0")
    manifest = json.loads(result.members["manifest.json"])
    assert manifest["manifest_digest"] == result.manifest_digest


def _go_style_zip(members: dict[str, bytes]) -> bytes:
    """The layout of the Go reference writer (archive/zip + SetMode(0644) + fixed Modified):
    data descriptors, an extended-timestamp extra field in both headers, flate output."""
    import struct
    import zlib

    body, central = bytearray(), bytearray()
    extra = struct.pack("<HHBI", 0x5455, 5, 1, 315532800)
    for name in sorted(members):
        data, raw = members[name], name.encode()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH) + b"\x01\x00\x00\xff\xff"
        crc, offset = zlib.crc32(data), len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 8, 8, 0, 0x21, 0, 0, 0, len(raw), len(extra)
        )
        body += raw + extra + packed
        body += struct.pack("<IIII", 0x08074B50, crc, len(packed), len(data))
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            0x0314,
            20,
            8,
            8,
            0,
            0x21,
            crc,
            len(packed),
            len(data),
            len(raw),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        central += raw + extra
    n = len(members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(body), 0)
    return bytes(body + central + end)


def test_go_reference_layout_is_accepted(tmp_path: Path, demo_zip: bytes) -> None:
    path = tmp_path / "go.zip"
    path.write_bytes(_go_style_zip(_members(demo_zip, tmp_path)))
    report = verify_runpack(path)
    assert report.ok, report.to_json()
