"""Any single changed byte of a pack is detected unless it changes no content.

As for runpacks (tests/runpack/test_tamper_property.py): bytes the zip format
ignores (version fields, timestamps, permission bits) may change and still
verify, but then every member name and byte read back is the original. Any
change to what the pack says exits 2 (6 when the file is no longer a zip) —
never 0, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError
from gait.packs.guard import GuardPackInputs, build_guard_pack
from gait.packs.incident import build_incident_pack
from gait.packs.source import read_source_run
from gait.packs.unified import build_run_pack
from gait.packs.verify import verify_any_pack, verify_guard_pack

from .conftest import DEMO_ZIP


def _packs(tmp: Path) -> dict[str, bytes]:
    path = tmp / "runpack_run_demo.zip"
    path.write_bytes(DEMO_ZIP)
    pack = read_source_run(path)
    return {
        "guard": build_guard_pack(pack, GuardPackInputs()).zip_bytes,
        "incident": build_incident_pack(pack).pack.zip_bytes,
        "unified": build_run_pack(pack).zip_bytes,
    }


def _exit(verify, path: Path) -> int:
    try:
        return 0 if verify(path).ok else 2
    except GaitError as err:
        return err.exit_code


def _contents(path: Path) -> dict[str, bytes]:
    from gait.runpack.zipread import open_zip

    with open_zip(path, strict=False) as archive:
        return {e.name: archive.read(e) for e in archive.entries}


def _escaped(verify, path: Path, original: dict[str, bytes]) -> bool:
    """True when a change verified although it changed what the pack says."""
    code = _exit(verify, path)
    if code == 0:
        return _contents(path) != original
    return code not in (2, 6)


import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as _tmp:
    PACKS = _packs(Path(_tmp))
    ORIGINALS = {}
    for _kind, _data in PACKS.items():
        (Path(_tmp) / "p.zip").write_bytes(_data)
        ORIGINALS[_kind] = _contents(Path(_tmp) / "p.zip")


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
    assert not _escaped(verify_any_pack, path, ORIGINALS[kind]), (kind, position, mask)
    if kind != "unified":
        assert not _escaped(verify_guard_pack, path, ORIGINALS[kind]), (kind, position, mask)


def test_every_position_of_a_guard_pack_inverted_is_detected(tmp_path: Path) -> None:
    pack = PACKS["guard"]
    path = tmp_path / "flipped.zip"
    escaped = []
    for position in range(0, len(pack), 2):
        data = bytearray(pack)
        data[position] ^= 0xFF
        path.write_bytes(bytes(data))
        if _escaped(verify_guard_pack, path, ORIGINALS["guard"]):
            escaped.append(position)
    assert escaped == []


def test_cli_exit_code_for_a_flipped_pack(tmp_path: Path, gait_inproc) -> None:
    data = bytearray(PACKS["guard"])
    data[len(data) // 3] ^= 0x01  # inside a member's bytes
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    assert gait_inproc("guard", "verify", str(path), "--json")[0] == 2
    assert gait_inproc("pack", "verify", str(path), "--json")[0] == 2
