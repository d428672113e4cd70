"""Any single changed byte of a runpack is detected unless it changes no content.

Verification is about content (issue 11 C14): bytes the zip format itself
ignores (timestamps, version fields, mode permission bits, deflate padding)
may change and still verify, but then every member name and every member byte
read back is exactly the original. Anything else exits 2 (or 6 when the file is
no longer a zip at all) — never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError
from gait.runpack.demo import build_demo_runpack
from gait.runpack.recorder import Recorder
from gait.runpack.verify import verify_runpack

DEMO = build_demo_runpack("0.1.0").zip_bytes


def _original(data: bytes) -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pack.zip"
        path.write_bytes(data)
        return _contents(path)


Cli = Callable[..., tuple[int, str]]


def _exit_code(path: Path) -> int:
    """The CLI's mapping: report ok → 0, not ok → 2, GaitError → its exit code."""
    try:
        return 0 if verify_runpack(path).ok else 2
    except GaitError as err:
        return err.exit_code


def _contents(path: Path) -> dict[str, bytes]:
    from gait.runpack.zipread import open_zip

    with open_zip(path, strict=False) as archive:
        return {e.name: archive.read(e) for e in archive.entries}


def _escaped(path: Path, original: dict[str, bytes]) -> bool:
    """True when a change verified although it changed what the pack says."""
    code = _exit_code(path)
    if code == 0:
        return _contents(path) != original
    return code not in (2, 6)


def _recorder_pack() -> bytes:
    ticks = iter(f"2026-02-05T00:00:{n:02d}Z" for n in range(60))
    rec = Recorder("run_flip", capture_mode="raw", clock=lambda: next(ticks))
    with rec:
        rec.call("tool.echo", lambda text: {"echo": text}, {"text": "hello"})
        rec.call("tool.echo", lambda text: {"echo": text}, {"text": "hello"})
    return rec.build().zip_bytes


ORIGINAL = _original(DEMO)


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(0, len(DEMO) - 1), mask=st.integers(1, 255))
def test_flipping_any_byte_makes_cli_verify_exit_2(
    tmp_path: Path, gait_inproc: Cli, position: int, mask: int
) -> None:
    data = bytearray(DEMO)
    data[position] ^= mask
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    code, out = gait_inproc("verify", str(path), "--json")
    assert code in (0, 2, 6), (position, mask, out)
    if code == 0:
        assert _contents(path) == ORIGINAL, (position, mask)
    else:
        assert json.loads(out)["ok"] is False


def test_every_position_inverted_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "flipped.zip"
    escaped = []
    for position in range(len(DEMO)):
        data = bytearray(DEMO)
        data[position] ^= 0xFF
        path.write_bytes(bytes(data))
        if _escaped(path, ORIGINAL):
            escaped.append(position)
    assert escaped == []


def test_low_bit_flips_of_a_recorder_pack_are_detected(tmp_path: Path) -> None:
    pack = _recorder_pack()
    path = tmp_path / "flipped.zip"
    original = _original(pack)
    escaped = []
    for position in range(0, len(pack), 3):
        data = bytearray(pack)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        if _escaped(path, original):
            escaped.append(position)
    assert escaped == []


def test_truncation_anywhere_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    escaped = []
    for length in range(0, len(DEMO), 7):
        path.write_bytes(DEMO[:length])
        if _exit_code(path) not in (2, 6):
            escaped.append(length)
    assert escaped == []
