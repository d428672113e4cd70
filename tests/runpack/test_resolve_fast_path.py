"""resolve_runpack's pathlib-free check gives what the pathlib path gives, on a corpus of spellings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.runpack import locate, reader

SPELLINGS = [
    "p.zip",
    "./p.zip",
    "sub//p.zip",
    "sub/./p.zip",
    "sub/../p.zip",
    "p.zip/",
    "sub",
    "sub/",
    "missing.zip",
    "sub/missing.zip",
    "link.zip",
    "dangling.zip",
    "{root}/p.zip",
    "{root}//sub/p.zip",
    "//{root}/p.zip",
    "a\\b.zip",
    "run_x",
    "nul\x00.zip",
]


def outcome(arg: str, cwd: str | None) -> tuple[str, str]:
    try:
        assert reader.resolve_runpack is locate.resolve_runpack  # re-exported
        return "ok", locate.resolve_runpack(arg, cwd=cwd)
    except InvalidInput as err:
        return "invalid", err.message
    except (OSError, ValueError) as err:
        return "error", type(err).__name__


@pytest.mark.parametrize("use_cwd", [True, False])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_fast_check_matches_pathlib(
    spelling: str, use_cwd: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "p.zip").write_bytes(b"x")
    (tmp_path / "sub" / "p.zip").write_bytes(b"x")
    (tmp_path / "gait-out").mkdir()
    (tmp_path / "gait-out" / "runpack_run_x.zip").write_bytes(b"x")
    os.symlink(tmp_path / "p.zip", tmp_path / "link.zip")
    os.symlink(tmp_path / "gone.zip", tmp_path / "dangling.zip")
    monkeypatch.chdir(tmp_path if not use_cwd else tmp_path / "sub")
    arg = spelling.replace(
        "{root}", str(tmp_path).lstrip("/") if spelling.startswith("//") else str(tmp_path)
    )
    cwd = str(tmp_path) if use_cwd else None
    fast = outcome(arg, cwd)
    monkeypatch.setattr(locate, "_is_regular_file", lambda text, cwd: False)
    general = outcome(arg, cwd)
    assert fast == general
