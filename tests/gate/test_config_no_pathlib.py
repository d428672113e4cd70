"""gate eval's config lookup and file store without pathlib on the usual path.

``load_gate_defaults`` answers "no default config here" with one ``os.stat``
and loads pathlib only when a file exists or a name was given; ``FileStore``
builds its ``Path`` on first use. These tests hold the answers to what the
pathlib-first code gave, over the layouts that take each branch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.gate.config import load_gate_defaults
from gait.state.filestore import FileStore


def _outcome(path: str | None) -> tuple[str, object]:
    try:
        return "ok", load_gate_defaults(path)
    except InvalidInput as err:
        return "error", str(err)


@pytest.mark.parametrize(
    ("layout", "path", "want"),
    [
        ("none", None, ("ok", {})),
        ("none", "", ("ok", {})),
        ("none", "   ", ("ok", {})),
        ("default", None, ("ok", {"profile": "oss-prod"})),
        ("default-dir", None, ("error", "read config .gait/config.yaml: not a regular file")),
        ("none", "missing.yaml", ("error", "config file not found: missing.yaml")),
        # pathlib's spelling of the name in the message, as before
        ("none", "./sub//missing.yaml", ("error", "config file not found: sub/missing.yaml")),
        ("own", " own.yaml ", ("ok", {"profile": "oss-prod"})),
        ("own", "own.yaml/", ("ok", {"profile": "oss-prod"})),  # pathlib drops the slash
    ],
)
def test_config_lookup_answers_as_before(
    layout: str, path: str | None, want: tuple[str, object], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if layout == "default":
        (tmp_path / ".gait").mkdir()
        (tmp_path / ".gait" / "config.yaml").write_text("gate:\n  profile: oss-prod\n")
    elif layout == "default-dir":
        (tmp_path / ".gait" / "config.yaml").mkdir(parents=True)
    elif layout == "own":
        (tmp_path / "own.yaml").write_text("gate:\n  profile: oss-prod\n")
        os.chmod(tmp_path / "own.yaml", 0o600)
        os.chmod(tmp_path, 0o700)
    assert _outcome(path) == want


def test_no_config_loads_no_pathlib(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from gait.gate.config import load_gate_defaults\n"
        "from gait.state.filestore import FileStore\n"
        "assert load_gate_defaults(None) == {}\n"
        "store = FileStore('.gait-out/x.json')\n"
        "print('pathlib' in sys.modules)\n"
        "store.path\n"
        "print('pathlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == ["False", "True"]


@pytest.mark.parametrize("given", ["a.json", "./a//b.json", "dir/", Path("p") / "q.json"])
def test_file_store_path_is_the_path_it_was_given(given: str | Path) -> None:
    store = FileStore(given)
    assert store.path == Path(given)
    assert store.path is store.path  # built once
    assert store.location == str(Path(given))


def test_file_store_counts_through_the_lazy_path(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from gait.policy.model import Limit

    store = FileStore(str(tmp_path / "state" / "limits.json"))
    limit = Limit(requests=1, window="minute", scope="tool")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = store.spend(limit, tool_name="t", identity="i", now=now)
    second = store.spend(limit, tool_name="t", identity="i", now=now)
    assert (first.allowed, second.allowed) == (True, False)
    assert (tmp_path / "state" / "limits.json").is_file()
