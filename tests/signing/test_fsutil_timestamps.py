"""Atomic writes and nanosecond RFC 3339 text (helpers the signed formats rely on)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.fsutil import atomic_write
from gait.signing import format_rfc3339, now_rfc3339, parse_rfc3339, to_rfc3339


def test_atomic_write_writes_bytes_with_exact_mode(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "f", b"abc", 0o640)
    finally:
        os.umask(old)
    assert (tmp_path / "f").read_bytes() == b"abc"
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640


def test_atomic_write_default_mode_is_0600_and_replaces(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"old")
    os.chmod(tmp_path / "f", 0o644)
    atomic_write(tmp_path / "f", b"new")
    assert (tmp_path / "f").read_bytes() == b"new"
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["f"]  # no temp file left behind


def test_atomic_write_without_overwrite_keeps_existing_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        atomic_write(tmp_path / "f", b"new", overwrite=False)
    assert (tmp_path / "f").read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["f"]


def test_atomic_write_without_overwrite_creates_new_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "g", b"x", overwrite=False)
    assert (tmp_path / "g").read_bytes() == b"x"
    assert os.listdir(tmp_path) == ["g"]


def test_atomic_write_needs_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "f", b"x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T18:33:26.576588546Z", "2026-11-24T18:33:26.576588546Z"),
        ("2026-11-24T18:33:26.500000000Z", "2026-11-24T18:33:26.5Z"),
        ("2026-11-24T18:33:26.000Z", "2026-11-24T18:33:26Z"),
        ("2026-11-24T20:33:26.1+02:00", "2026-11-24T18:33:26.1Z"),
        ("2026-01-01T00:30:00-01:00", "2026-01-01T01:30:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_rfc3339_text_is_normalized_to_utc_keeping_nanoseconds(text: str, expected: str) -> None:
    assert to_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24",
        "2026-11-24T18:33:26",
        "2026-13-01T00:00:00Z",
        "2026-11-24T18:33:26.1234567890Z",
        "x",
    ],
)
def test_invalid_rfc3339_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput, match="invalid RFC 3339 time"):
        parse_rfc3339(text)


def test_parse_keeps_digits_seven_to_nine() -> None:
    seconds, nanos = parse_rfc3339("2026-11-24T18:33:26.576588546Z")
    assert nanos == 576588546
    assert format_rfc3339(seconds, nanos) == "2026-11-24T18:33:26.576588546Z"


def test_datetime_is_rendered_in_utc() -> None:
    moment = datetime(2026, 1, 2, 5, 4, 5, 120000, tzinfo=timezone(timedelta(hours=2)))
    assert to_rfc3339(moment) == "2026-01-02T03:04:05.12Z"
    assert to_rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"


def test_now_is_current_utc_text() -> None:
    text = now_rfc3339()
    assert text.endswith("Z")
    seconds, _ = parse_rfc3339(text)
    assert abs(seconds - datetime.now(UTC).timestamp()) < 5
