"""Any single changed byte of a pack makes pack verify / guard verify exit 2."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError
from gait.packs.guard import GuardPackInputs, build_guard_pack
from gait.packs.incident import build_incident_pack
from gait.packs.unified import build_run_pack
from gait.packs.verify import verify_any_pack, verify_guard_pack
from gait.runpack.reader import read_runpack

from .conftest import DEMO_ZIP


def _packs(tmp: Path) -> dict[str, bytes]:
    path = tmp / "runpack_run_demo.zip"
    path.write_bytes(DEMO_ZIP)
    pack = read_runpack(path)
    return {
        "guard": build_guard_pack(pack, GuardPackInputs()).zip_bytes,
        "incident": build_incident_pack(pack).pack.zip_bytes,
        "unified": build_run_pack(pack).zip_bytes,
    }


import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as _tmp:
    PACKS = _packs(Path(_tmp))


def _exit(verify, path: Path) -> int:
    try:
        return 0 if verify(path).ok else 2
    except GaitError as err:
        return err.exit_code


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(PACKS)),
    fraction=st.floats(0, 1, exclude_max=True),
    mask=st.integers(1, 255),
)
def test_flipping_any_byte_fails_verification(
    tmp_path: Path, kind: str, fraction: float, mask: int
) -> None:
    data = bytearray(PACKS[kind])
    position = int(fraction * len(data))
    data[position] ^= mask
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    assert _exit(verify_any_pack, path) == 2, (kind, position, mask)
    if kind != "unified":
        assert _exit(verify_guard_pack, path) == 2, (kind, position, mask)


def test_every_position_of_a_guard_pack_inverted_is_detected(tmp_path: Path) -> None:
    pack = PACKS["guard"]
    path = tmp_path / "flipped.zip"
    escaped = []
    for position in range(0, len(pack), 2):
        data = bytearray(pack)
        data[position] ^= 0xFF
        path.write_bytes(bytes(data))
        if _exit(verify_guard_pack, path) != 2:
            escaped.append(position)
    assert escaped == []


def test_cli_exit_code_for_a_flipped_pack(tmp_path: Path, gait_inproc) -> None:
    data = bytearray(PACKS["guard"])
    data[40] ^= 0x01
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    assert gait_inproc("guard", "verify", str(path), "--json")[0] == 2
    assert gait_inproc("pack", "verify", str(path), "--json")[0] == 2
