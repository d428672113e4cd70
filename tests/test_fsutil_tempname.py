"""fsutil's own temp names: atomic writes leave nothing behind and skip tempfile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gait.fsutil import _mkstemp, atomic_write


def test_atomic_write_leaves_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write(target, b"one", 0o640)
    atomic_write(target, b"two", 0o600)
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


def test_temp_names_are_fresh_hidden_and_private(tmp_path: Path) -> None:
    made = set()
    for _ in range(50):
        fd, name = _mkstemp(str(tmp_path), "x.json")
        os.close(fd)
        assert os.path.dirname(name) == str(tmp_path)
        base = os.path.basename(name)
        assert base.startswith(".x.json.") and base.endswith(".tmp")
        assert os.stat(name).st_mode & 0o777 == 0o600
        made.add(name)
    assert len(made) == 50


def test_a_write_does_not_import_tempfile(tmp_path: Path) -> None:
    code = (
        "import sys; from gait.fsutil import atomic_write; "
        f"atomic_write({str(tmp_path / 'f')!r}, b'x'); "
        "print('tempfile' in sys.modules, 'shutil' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
