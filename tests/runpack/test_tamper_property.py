"""Any single changed byte of a runpack makes verify exit 2 — never 0, never a traceback."""

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
Cli = Callable[..., tuple[int, str]]


def _exit_code(path: Path) -> int:
    """The CLI's mapping: report ok → 0, not ok → 2, GaitError → its exit code."""
    try:
        return 0 if verify_runpack(path).ok else 2
    except GaitError as err:
        return err.exit_code


def _recorder_pack() -> bytes:
    ticks = iter(f"2026-02-05T00:00:{n:02d}Z" for n in range(60))
    rec = Recorder("run_flip", capture_mode="raw", clock=lambda: next(ticks))
    with rec:
        rec.call("tool.echo", lambda text: {"echo": text}, {"text": "hello"})
        rec.call("tool.echo", lambda text: {"echo": text}, {"text": "hello"})
    return rec.build().zip_bytes


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
    assert code == 2, (position, mask, out)
    assert json.loads(out)["ok"] is False


def test_every_position_inverted_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "flipped.zip"
    escaped = []
    for position in range(len(DEMO)):
        data = bytearray(DEMO)
        data[position] ^= 0xFF
        path.write_bytes(bytes(data))
        if _exit_code(path) != 2:
            escaped.append(position)
    assert escaped == []


def test_low_bit_flips_of_a_recorder_pack_are_detected(tmp_path: Path) -> None:
    pack = _recorder_pack()
    path = tmp_path / "flipped.zip"
    escaped = []
    for position in range(0, len(pack), 3):
        data = bytearray(pack)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        if _exit_code(path) != 2:
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
