"""``keys init`` / ``keys rotate`` library behaviour (trace.md §2.2)."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.signing import (
    init_key_files,
    load_private_key,
    load_public_key,
    rotate_key_files,
    rotated_prefix,
)

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_init_writes_matching_pair_with_0600(tmp_path: Path) -> None:
    files = init_key_files(str(tmp_path / "keys"), "gait")
    assert files.private_key_path == str(tmp_path / "keys" / "gait_private.key")
    assert files.public_key_path == str(tmp_path / "keys" / "gait_public.key")
    assert load_private_key(files.private_key_path).key_id == files.key_id
    assert load_public_key(files.public_key_path).key_id == files.key_id
    for path in (files.private_key_path, files.public_key_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_init_refuses_to_overwrite_private_key(tmp_path: Path) -> None:
    first = init_key_files(str(tmp_path), "gait")
    before = Path(first.private_key_path).read_bytes()
    with pytest.raises(InvalidInput) as info:
        init_key_files(str(tmp_path), "gait")
    assert (
        info.value.message
        == f"private key path already exists (use --force): {first.private_key_path}"
    )
    assert Path(first.private_key_path).read_bytes() == before


def test_init_refuses_when_only_public_key_exists(tmp_path: Path) -> None:
    (tmp_path / "gait_public.key").write_text("x\n")
    with pytest.raises(InvalidInput, match=r"^public key path already exists"):
        init_key_files(str(tmp_path), "gait")
    assert not (tmp_path / "gait_private.key").exists()


def test_init_force_replaces_pair(tmp_path: Path) -> None:
    first = init_key_files(str(tmp_path), "gait")
    second = init_key_files(str(tmp_path), "gait", force=True)
    assert second.key_id != first.key_id
    assert load_private_key(second.private_key_path).key_id == second.key_id


@pytest.mark.parametrize(
    ("out_dir", "prefix", "message"),
    [
        ("", "g", "out-dir must not be empty"),
        ("d", " ", "prefix must not be empty"),
        ("d", "a/b", "prefix must be a file name prefix"),
    ],
)
def test_init_rejects_bad_arguments(
    tmp_path: Path, out_dir: str, prefix: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        init_key_files(out_dir and str(tmp_path / out_dir), prefix)


def test_rotated_prefix_is_utc_compact_timestamp() -> None:
    assert rotated_prefix("gait", NOW) == "gait_20260304T050607Z"
    assert re.fullmatch(r"ops_\d{8}T\d{6}Z", rotated_prefix("ops"))


def test_rotate_writes_new_pair_next_to_old_one(tmp_path: Path) -> None:
    old = init_key_files(str(tmp_path), "gait")
    new = rotate_key_files(str(tmp_path), "gait", now=NOW)
    assert new.prefix == "gait_20260304T050607Z"
    assert new.key_id != old.key_id
    assert load_private_key(old.private_key_path).key_id == old.key_id


def test_rotate_never_overwrites(tmp_path: Path) -> None:
    first = rotate_key_files(str(tmp_path), "gait", now=NOW)
    before = Path(first.private_key_path).read_bytes()
    with pytest.raises(InvalidInput, match="already exists"):
        rotate_key_files(str(tmp_path), "gait", now=NOW)
    assert Path(first.private_key_path).read_bytes() == before
