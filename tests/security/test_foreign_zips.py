"""Issue 11 C14 and B13: runpacks rewritten by other zip writers verify; garbage is not a zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.runpack.demo import build_demo_runpack

DEMO = build_demo_runpack("0.1.0").zip_bytes


def _rewrite(src: Path, dst: Path, *, method: int, order=sorted, mode=0o644, extra=b"") -> None:
    with zipfile.ZipFile(src) as zin:
        members = [(i.filename, zin.read(i)) for i in zin.infolist()]
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in order(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = mode << 16
            info.extra = extra
            zout.writestr(info, data)


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


VARIANTS = {
    "deflated": {"method": zipfile.ZIP_DEFLATED},
    "stored": {"method": zipfile.ZIP_STORED},
    "reversed_order": {"method": zipfile.ZIP_DEFLATED, "order": lambda m: list(reversed(m))},
    "mode_0644_no_type_bits": {"method": zipfile.ZIP_DEFLATED, "mode": 0o644},
    "mode_regular_0600": {"method": zipfile.ZIP_STORED, "mode": 0o100600},
    "extra_field": {"method": zipfile.ZIP_DEFLATED, "extra": b"\xfe\xca\x04\x00abcd"},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rewritten_runpack_verifies_and_reads(tmp_path: Path, capsys, variant: str) -> None:
    src = tmp_path / "orig.zip"
    src.write_bytes(DEMO)
    dst = tmp_path / f"{variant}.zip"
    _rewrite(src, dst, **VARIANTS[variant])
    assert dst.read_bytes() != DEMO
    code, payload = _run(capsys, "verify", str(dst))
    assert (code, payload["ok"]) == (0, True), payload
    code, payload = _run(capsys, "run", "inspect", str(dst))
    assert code == 0, payload
    code, payload = _run(capsys, "run", "diff", str(src), str(dst))
    assert code == 0, payload


def test_rewritten_runpack_with_changed_content_still_fails(tmp_path: Path, capsys) -> None:
    src = tmp_path / "orig.zip"
    src.write_bytes(DEMO)
    dst = tmp_path / "changed.zip"

    def tamper(members):
        return [
            (n, d.replace(b"tool.", b"tooL.") if n == "intents.jsonl" else d) for n, d in members
        ]

    _rewrite(src, dst, method=zipfile.ZIP_DEFLATED, order=tamper)
    code, payload = _run(capsys, "verify", str(dst))
    assert code == 2 and payload["ok"] is False


def test_symlink_member_still_fails_when_rewritten(tmp_path: Path, capsys) -> None:
    src = tmp_path / "orig.zip"
    src.write_bytes(DEMO)
    dst = tmp_path / "link.zip"
    _rewrite(src, dst, method=zipfile.ZIP_STORED, mode=0o120777)
    code, payload = _run(capsys, "verify", str(dst))
    assert code == 2 and payload["ok"] is False


@pytest.mark.parametrize("garbage", [b"PK\x03\x04" + b"\x00" * 64, b"PK\x03\x04garbage" * 50])
def test_zip_magic_then_garbage_is_not_a_zip(tmp_path: Path, capsys, garbage: bytes) -> None:
    path = tmp_path / "fake.zip"
    path.write_bytes(garbage)
    code, payload = _run(capsys, "verify", str(path))
    assert code == 6
    assert "not a valid zip" in payload["error"]


def test_the_writer_keeps_its_deterministic_bytes() -> None:
    assert build_demo_runpack("0.1.0").zip_bytes == DEMO


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_signed_recorder_pack_rewritten_verifies_its_signature(
    tmp_path: Path, capsys, fixed_key, method: int
) -> None:
    from gait.runpack.recorder import Recorder
    from gait.signing import write_public_key

    ticks = iter(f"2026-02-05T00:00:{n:02d}Z" for n in range(60))
    rec = Recorder("run_signed", capture_mode="raw", clock=lambda: next(ticks))
    with rec:
        rec.call("tool.echo", lambda text: {"echo": text}, {"text": "hello"})
    src = tmp_path / "signed.zip"
    src.write_bytes(rec.build(sign_key=fixed_key).zip_bytes)
    write_public_key(tmp_path / "pub.key", fixed_key)
    dst = tmp_path / "rewritten.zip"
    _rewrite(src, dst, method=zipfile.ZIP_DEFLATED if method == zipfile.ZIP_BZIP2 else method)
    code, payload = _run(
        capsys, "verify", str(dst), "--require-signature", "--public-key", str(tmp_path / "pub.key")
    )
    assert (code, payload.get("signature_status")) == (0, "verified"), payload
    if method == zipfile.ZIP_BZIP2:  # a method gait does not read: refused, never "verified"
        _rewrite(src, dst, method=method)
        code, payload = _run(capsys, "verify", str(dst))
        assert code == 2 and payload["ok"] is False
