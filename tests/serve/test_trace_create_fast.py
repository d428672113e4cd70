"""The one-step trace create (O_TMPFILE + linkat) gives what the temp-file route gives.

Every state a target path can be in is written both ways (the fast route, and the
general route it falls back to) and the folder contents and errors are compared.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from gait import fsutil
from gait.fsutil import GroupCommit, _create_anonymous

pytestmark = pytest.mark.skipif(
    not getattr(os, "O_TMPFILE", 0) or not os.path.isdir("/proc/self/fd"),
    reason="needs Linux O_TMPFILE and /proc",
)


def _snapshot(root: Path) -> dict[str, object]:
    """Every entry under root: kind, mode and bytes (symlinks by their target)."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir",)
            elif stat.S_ISFIFO(path.stat().st_mode):
                out[rel] = ("fifo",)  # never opened: a read would wait for a writer
            else:
                out[rel] = ("file", stat.S_IMODE(path.stat().st_mode), path.read_bytes())
    return out


def _prepare(root: Path, state: str) -> Path:
    target = root / "trace_x.json"
    if state == "file":
        target.write_bytes(b"old")
        target.chmod(0o644)
    elif state == "same":
        target.write_bytes(b"new-bytes")
    elif state == "symlink":
        (root / "real.json").write_bytes(b"real")
        target.symlink_to("real.json")
    elif state == "dangling":
        target.symlink_to("missing.json")
    elif state == "dir":
        target.mkdir()
    elif state == "fifo":
        os.mkfifo(target)
    elif state == "nofolder":
        return root / "gone" / "trace_x.json"
    return target


def _run(root: Path, state: str, *, wait: bool, overwrite: bool, fast: bool, monkeypatch):
    if not fast:
        monkeypatch.setattr(fsutil, "_create_anonymous", lambda *a, **k: (-1, ""))
    target = _prepare(root, state)
    gc = GroupCommit(wait=wait, interval=60.0)
    try:
        gc.write(target, b"new-bytes", overwrite=overwrite)
        outcome: object = "ok"
    except Exception as err:  # compared below: same type and message both ways
        text = re.sub(r"\.[0-9a-f]{12}\.tmp", ".<random>.tmp", str(err))
        outcome = (type(err).__name__, text.replace(str(root), "<root>"))
    finally:
        gc.close()
        monkeypatch.undo()
    return outcome, _snapshot(root)


STATES = ["absent", "file", "same", "symlink", "dangling", "dir", "fifo", "nofolder"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("wait", [True, False], ids=["strict", "batch"])
@pytest.mark.parametrize("overwrite", [True, False], ids=["replace", "fresh"])
def test_fast_create_matches_the_general_path(tmp_path, monkeypatch, state, wait, overwrite):
    fast_root, slow_root = tmp_path / "fast", tmp_path / "slow"
    fast_root.mkdir()
    slow_root.mkdir()
    slow = _run(
        slow_root, state, wait=wait, overwrite=overwrite, fast=False, monkeypatch=monkeypatch
    )
    fast = _run(
        fast_root, state, wait=wait, overwrite=overwrite, fast=True, monkeypatch=monkeypatch
    )
    assert fast == slow


def test_fast_create_names_a_complete_private_file_and_nothing_else(tmp_path):
    old = os.umask(0o077)
    try:
        fd, folder = _create_anonymous(str(tmp_path / "t.json"), b"abc", 0o600, False)
    finally:
        os.umask(old)
    assert fd >= 0 and folder == str(tmp_path)
    os.close(fd)
    assert os.listdir(tmp_path) == ["t.json"]  # no temp name ever appears
    assert (tmp_path / "t.json").read_bytes() == b"abc"
    assert stat.S_IMODE((tmp_path / "t.json").stat().st_mode) == 0o600
    # Umask never narrows or widens the mode asked for.
    old = os.umask(0o277)
    try:
        fd, _ = _create_anonymous(str(tmp_path / "u.json"), b"x", 0o640, False)
    finally:
        os.umask(old)
    os.close(fd)
    assert stat.S_IMODE((tmp_path / "u.json").stat().st_mode) == 0o640


def test_fast_create_never_replaces_and_leaves_no_trace_when_refused(tmp_path):
    (tmp_path / "t.json").write_bytes(b"keep")
    assert _create_anonymous(str(tmp_path / "t.json"), b"new", 0o600, False) == (-1, "")
    assert (tmp_path / "t.json").read_bytes() == b"keep"
    assert os.listdir(tmp_path) == ["t.json"]


def test_strict_fast_create_is_fsynced_before_it_is_named(tmp_path, monkeypatch):
    order: list[str] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        order.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def link(*args, **kwargs) -> None:
        order.append("link")
        real_link(*args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    GroupCommit(wait=True).write(tmp_path / "s.json", b"durable")
    assert order == ["file", "link", "dir"]
    assert (tmp_path / "s.json").read_bytes() == b"durable"


def test_proc_fd_folder_is_reopened_in_a_forked_child(tmp_path, monkeypatch):
    first = fsutil._proc_fd_dir()
    assert first >= 0 and fsutil._proc_fd_dir() == first
    opened: list[str] = []
    real_open = os.open

    def spy_open(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    fsutil._proc_fd_dir()
    assert opened == []  # same process: the cached folder
    monkeypatch.setattr(os, "getpid", lambda: -12345)  # what a child sees: another pid
    second = fsutil._proc_fd_dir()
    assert opened == ["/proc/self/fd"] and fsutil._PROC_FD[0] == (-12345, second)
    monkeypatch.undo()
    fd, _ = _create_anonymous(str(tmp_path / "after.json"), b"ok", 0o600, False)
    os.close(fd)
    assert fsutil._PROC_FD[0][0] == os.getpid()
    assert (tmp_path / "after.json").read_bytes() == b"ok"
