"""Group-commit trace writing: atomic files, shared fsyncs, strict vs batch durability."""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from gait.fsutil import GroupCommit
from gait.serve.tracesink import GroupCommitTraceSink
from tests.serve.conftest import call_body, client


class FsyncLog:
    """Wraps os.fsync (the real call still happens): which inodes/folders were synced."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, delay: float = 0.0, fail: bool = False):
        self.files: list[int] = []
        self.dirs: list[int] = []
        self.lock = threading.Lock()
        self.delay = delay
        self.fail = fail
        real = os.fsync

        def fsync(fd: int) -> None:
            info = os.fstat(fd)
            if self.fail and stat.S_ISREG(info.st_mode):
                raise OSError(errno.EIO, "injected I/O error")
            if self.delay:
                time.sleep(self.delay)
            real(fd)
            with self.lock:
                (self.dirs if stat.S_ISDIR(info.st_mode) else self.files).append(info.st_ino)

        monkeypatch.setattr(os, "fsync", fsync)


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_strict_write_returns_only_once_file_and_folder_are_synced(tmp_path, monkeypatch):
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=True)
    gc.write(tmp_path / "a.json", b"{}\n")
    assert (tmp_path / "a.json").read_bytes() == b"{}\n"
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
    assert _inode(tmp_path / "a.json") in log.files
    assert _inode(tmp_path) in log.dirs
    assert gc.pending() == 0
    assert sorted(os.listdir(tmp_path)) == ["a.json"]  # no temp file left


def test_concurrent_strict_writers_share_folder_fsyncs(tmp_path, monkeypatch):
    # A slow first flush makes the other writers pile up behind it: they must share one flush.
    log = FsyncLog(monkeypatch, delay=0.02)
    gc = GroupCommit(wait=True)
    n = 16
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        start.wait()
        try:
            gc.write(tmp_path / f"t{i}.json", f"{i}\n".encode())
            # Durable when write returns, whatever batch it went in.
            assert _inode(tmp_path / f"t{i}.json") in log.files
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(log.files) == n
    assert len(log.dirs) < n // 2, log.dirs  # one per batch, not one per write
    for i in range(n):
        assert (tmp_path / f"t{i}.json").read_bytes() == f"{i}\n".encode()


def test_batch_mode_answers_before_fsync_and_close_flushes(tmp_path, monkeypatch):
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=False, interval=60.0)  # the timer never fires within the test
    for i in range(5):
        gc.write(tmp_path / f"b{i}.json", b"x")
    assert gc.pending() == 5
    assert log.files == [] and log.dirs == []
    assert (tmp_path / "b4.json").read_bytes() == b"x"  # visible (renamed) already
    gc.close()
    assert gc.pending() == 0
    assert sorted(log.files) == sorted(_inode(tmp_path / f"b{i}.json") for i in range(5))
    assert log.dirs == [_inode(tmp_path)]


def test_batch_mode_background_flush_within_interval(tmp_path, monkeypatch):
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=False, interval=0.01)
    try:
        gc.write(tmp_path / "c.json", b"y")
        inode = _inode(tmp_path / "c.json")
        deadline = time.monotonic() + 5
        while inode not in log.files and time.monotonic() < deadline:
            time.sleep(0.005)
        assert inode in log.files  # no writer waited: the background thread synced it
        assert gc.pending() == 0
    finally:
        gc.close()


def test_no_overwrite_keeps_existing_file_and_leaves_no_temp(tmp_path):
    gc = GroupCommit(wait=True)
    (tmp_path / "k.json").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        gc.write(tmp_path / "k.json", b"new", overwrite=False)
    assert (tmp_path / "k.json").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["k.json"]


def test_fsync_error_reaches_the_writer(tmp_path, monkeypatch):
    FsyncLog(monkeypatch, fail=True)
    gc = GroupCommit(wait=True)
    with pytest.raises(OSError, match="injected"):
        gc.write(tmp_path / "e.json", b"z")
    # The next batch starts clean: nothing stays pending.
    assert gc.pending() == 0


def test_sink_writes_the_bytes_and_names_of_the_default_sink(tmp_path):
    from gait.gate.pipeline import FileTraceSink

    record = {"b": 1, "a": "é", "nested": {"z": [1, 2]}}
    plain = FileTraceSink().write_trace(str(tmp_path / "p" / "t.json"), record)
    sink = GroupCommitTraceSink("strict")
    grouped = sink.write_trace(str(tmp_path / "g" / "t.json"), record)
    assert Path(plain).read_bytes() == Path(grouped).read_bytes()
    # Names gait picks itself never replace an earlier file: the next goes to _2.
    other = sink.write_trace(str(tmp_path / "g" / "t.json"), {"c": 3}, keep_existing=True)
    assert other == str(tmp_path / "g" / "t_2.json")
    assert Path(grouped).read_bytes() == Path(plain).read_bytes()
    sink.close()


def test_config_rejects_unknown_durability(tmp_path):
    from gait.errors import InvalidInput
    from gait.serve.config import ServeConfig, validate_config

    cfg = validate_config(ServeConfig(policy="p.yaml", trace_durability=" Batch "))
    assert cfg.trace_durability == "batch"
    with pytest.raises(InvalidInput, match="--trace-durability"):
        validate_config(ServeConfig(policy="p.yaml", trace_durability="sometimes"))


@pytest.mark.parametrize("durability", ["strict", "batch"])
def test_server_traces_verify_after_sigterm(start_server, tmp_path, durability):
    from gait.trace.store import read_trace

    server = start_server("--trace-dir", "tr", "--trace-durability", durability)
    answered: list[str] = []
    lock = threading.Lock()

    def fire() -> None:
        with client(server.url) as http:
            for _ in range(10):
                answer = http.post("/v1/evaluate", json=call_body())
                assert answer.status_code == 200
                with lock:
                    answered.append(answer.json()["trace_path"])

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    assert len(answered) == 40 and len(set(answered)) == 40
    names = sorted(p.name for p in (tmp_path / "tr").iterdir())
    assert not [n for n in names if n.startswith(".")]  # no temp file left behind
    for path in answered:
        assert read_trace(tmp_path / path)["verdict"] == "allow"
    assert "Traceback" not in server.stderr_text()
