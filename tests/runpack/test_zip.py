"""Deterministic zip writer and safe reader (runpack.md §2, §7)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.runpack.zipread import (
    MAX_READ_BYTES,
    ZipFormatError,
    open_zip,
    safe_extract,
    unsafe_name_reason,
)
from gait.runpack.zipwrite import ZipMember, write_zip

RawZip = Callable[[list[tuple[str, bytes, int, int | None]]], bytes]
MEMBERS = [ZipMember("run.json", b'{"a":1}'), ZipMember("intents.jsonl", b""), ZipMember("b", b"x")]


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_same_members_give_identical_bytes_whatever_the_input_order() -> None:
    assert write_zip(MEMBERS) == write_zip(list(reversed(MEMBERS)))


def test_entries_are_sorted_deflated_fixed_time_mode_0644(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(write_zip(MEMBERS))
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["b", "intents.jsonl", "run.json"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert zf.comment == b"" and all(i.extra == b"" for i in infos)
        assert zf.read("run.json") == b'{"a":1}'
        assert zf.read("intents.jsonl") == b""


def test_executable_member_gets_mode_0755(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(write_zip([ZipMember("tool.sh", b"#!", executable=True)]))
    with zipfile.ZipFile(path) as zf:
        assert zf.infolist()[0].external_attr >> 16 == 0o100755


@pytest.mark.parametrize("name", ["../x", "/abs", "a//b", "dir/", "a\\b", ""])
def test_writer_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError):
        write_zip([ZipMember(name, b"x")])


def test_writer_refuses_duplicate_names() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        write_zip([ZipMember("a", b"1"), ZipMember("a", b"2")])


def test_reader_accepts_writer_output_without_layout_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(write_zip(MEMBERS))
    with open_zip(path) as archive:
        assert archive.layout_errors == [] and archive.unsafe == [] and archive.duplicates == []
        assert archive.read(archive.find("run.json")) == b'{"a":1}'  # type: ignore[arg-type]


def test_reader_reports_layout_of_foreign_writer(tmp_path: Path) -> None:
    path = tmp_path / "py.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("run.json", "{}")  # stored, mode 0600, zipfile's own layout
    with open_zip(path) as archive:
        assert any("not deflate" in e for e in archive.layout_errors)


def test_trailing_garbage_is_a_layout_error(tmp_path: Path) -> None:
    path = tmp_path / "t.zip"
    path.write_bytes(write_zip(MEMBERS) + b"junk")
    with open_zip(path) as archive:
        assert any("trailing data" in e for e in archive.layout_errors)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "traverses parent"),
        ("a/../../evil.txt", "traverses parent"),
        ("/etc/passwd", "absolute path"),
        ("\\windows\\evil", "absolute path"),
        ("C:/evil.txt", "drive letter"),
        ("..\\evil.txt", "traverses parent"),
    ],
)
def test_unsafe_names_are_named(name: str, reason: str) -> None:
    assert reason in (unsafe_name_reason(name) or "")


def test_symlink_entry_is_flagged(tmp_path: Path, raw_zip: RawZip) -> None:
    path = tmp_path / "link.zip"
    path.write_bytes(raw_zip([("link", b"/etc/passwd", 0o120777, None)]))
    with open_zip(path) as archive:
        assert archive.unsafe == [("link", "zip entry is a symlink")]


def test_duplicate_names_are_reported_after_normalizing_backslashes(
    tmp_path: Path, raw_zip: RawZip
) -> None:
    path = tmp_path / "dup.zip"
    path.write_bytes(raw_zip([("a/b", b"1", 0o100644, None), ("a\\b", b"2", 0o100644, None)]))
    with open_zip(path) as archive:
        assert archive.duplicates == ["a/b"]


def test_declared_entry_size_over_cap_is_rejected_at_open(tmp_path: Path, raw_zip: RawZip) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw_zip([("big", b"0" * 10, 0o100644, 1001)]))
    with pytest.raises(ZipFormatError) as info:
        open_zip(path, max_entry_bytes=1000)
    assert info.value.reason == "zip_entry_too_large"


def test_declared_total_size_over_cap_is_rejected(tmp_path: Path, raw_zip: RawZip) -> None:
    path = tmp_path / "bomb.zip"
    # 5 x (4 GiB - 1) declared: over the 16 GiB total, each member under its own cap
    entries = [(f"m{i}", b"0", 0o100644, 0xFFFFFFFF) for i in range(5)]
    path.write_bytes(raw_zip(entries))
    with pytest.raises(ZipFormatError) as info:
        open_zip(path)
    assert info.value.reason == "zip_total_too_large"


def test_inflating_past_the_declared_size_stops(tmp_path: Path, raw_zip: RawZip) -> None:
    path = tmp_path / "liar.zip"
    path.write_bytes(raw_zip([("liar", b"\0" * 1_000_000, 0o100644, 1000)]))
    with open_zip(path, strict=False) as archive:
        entry = archive.entries[0]
        with pytest.raises(Exception, match="exceeds max size"):
            archive.read(entry)


@pytest.mark.parametrize(
    "entries",
    [
        [("ok.txt", b"1", 0o100644, None), ("../escape.txt", b"2", 0o100644, None)],
        [("ok.txt", b"1", 0o100644, None), ("/tmp/abs.txt", b"2", 0o100644, None)],
        [("ok.txt", b"1", 0o100644, None), ("link", b"/etc", 0o120777, None)],
        [("ok.txt", b"1", 0o100644, None), ("ok.txt", b"2", 0o100644, None)],
        [("ok.txt", b"1", 0o100644, None), ("bomb", b"\0" * 100_000, 0o100644, 10)],
        [("ok.txt", b"1", 0o100644, None), ("huge", b"0", 0o100644, MAX_READ_BYTES + 1)],
    ],
    ids=["traversal", "absolute", "symlink", "duplicate", "lying-size", "declared-bomb"],
)
def test_safe_extract_writes_nothing_for_malicious_zips(
    tmp_path: Path, entries: list[tuple[str, bytes, int, int | None]], raw_zip: RawZip
) -> None:
    zpath = tmp_path / "evil.zip"
    zpath.write_bytes(raw_zip(entries))
    dest = tmp_path / "out"
    dest.mkdir()
    before = _listing(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - any refusal is fine; the point is no writes
        safe_extract(zpath, dest)
    assert _listing(tmp_path) == before
    assert not (tmp_path.parent / "escape.txt").exists()


def test_safe_extract_writes_a_clean_zip(tmp_path: Path) -> None:
    zpath = tmp_path / "ok.zip"
    zpath.write_bytes(write_zip([ZipMember("d/a.txt", b"A"), ZipMember("b.txt", b"B")]))
    written = safe_extract(zpath, tmp_path / "out")
    assert sorted(os.path.basename(p) for p in written) == ["a.txt", "b.txt"]
    assert (tmp_path / "out" / "d" / "a.txt").read_bytes() == b"A"


def test_not_a_zip_is_not_zip_like(tmp_path: Path) -> None:
    path = tmp_path / "text.zip"
    path.write_text("hello")
    with pytest.raises(ZipFormatError) as info:
        open_zip(path)
    assert (info.value.reason, info.value.zip_like) == ("not_a_zip", False)


def test_large_file_is_streamed_from_disk(tmp_path: Path) -> None:
    payload = os.urandom(9 * 1024 * 1024)  # incompressible: the zip itself is > 8 MiB
    path = tmp_path / "big.zip"
    path.write_bytes(write_zip([ZipMember("blob", payload)]))
    assert path.stat().st_size > 8 * 1024 * 1024
    with open_zip(path) as archive:
        assert archive._source is not None and archive._source._data is None
        import hashlib

        assert archive.sha256(archive.entries[0]) == hashlib.sha256(payload).hexdigest()
