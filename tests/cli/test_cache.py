"""Issue 13 item 7: ``gait cache clear`` removes old compile-cache files, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_json

HEX = "ab" * 32


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GAIT_CACHE_DIR", str(directory))
    ir = directory / "ir"
    ir.mkdir(parents=True)
    (ir / f"{HEX}.msgpack").write_bytes(b"x" * 10)
    (ir / f".{HEX}.msgpack.123.tmp").write_bytes(b"y" * 5)
    return directory


def test_clear_removes_cache_files_and_the_empty_folder(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, "cache", "clear")
    assert code == 0
    assert (out["removed_files"], out["removed_bytes"]) == (2, 15)
    assert out["cache_dir"] == str(cache)
    assert not (cache / "ir").exists()
    code, again = run_json(capsys, "cache", "clear")
    assert code == 0 and again["removed_files"] == 0


def test_dry_run_removes_nothing(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "cache", "clear", "--dry-run")
    assert code == 0 and out["dry_run"] is True and out["removed_files"] == 2
    assert (cache / "ir" / f"{HEX}.msgpack").is_file()


def test_other_files_are_left_alone(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cache / "ir" / "notes.txt").write_text("mine")
    (cache / "keep.msgpack").write_bytes(b"z")
    outside = cache.parent / "outside.msgpack"
    outside.write_bytes(b"o")
    (cache / "ir" / f"{'cd' * 32}.msgpack").symlink_to(outside)
    code, out = run_json(capsys, "cache", "clear")
    assert code == 0 and out["removed_files"] == 2
    assert (cache / "ir" / "notes.txt").read_text() == "mine"
    assert (cache / "keep.msgpack").exists() and outside.exists()


def test_missing_cache_dir_is_fine(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GAIT_CACHE_DIR", str(tmp_path / "nothing"))
    code, out = run_json(capsys, "cache", "clear")
    assert code == 0 and out["removed_files"] == 0
