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
    """Wraps os.fsync and fsutil's syncfs (the real calls still happen): what was synced."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False):
        from gait import fsutil

        self.files: list[int] = []
        self.dirs: list[int] = []
        self.syncfs: list[int] = []
        self.lock = threading.Lock()
        real_fsync, real_syncfs = os.fsync, fsutil._syncfs

        def fsync(fd: int) -> None:
            info = os.fstat(fd)
            if fail and stat.S_ISREG(info.st_mode):
                raise OSError(errno.EIO, "injected I/O error")
            real_fsync(fd)
            with self.lock:
                (self.dirs if stat.S_ISDIR(info.st_mode) else self.files).append(info.st_ino)

        def syncfs(fd: int) -> bool:
            if fail:
                raise OSError(errno.EIO, "injected I/O error")
            done = real_syncfs(fd)
            with self.lock:
                self.syncfs.append(os.fstat(fd).st_dev)
            return done

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(fsutil, "_syncfs", syncfs)

    def synced(self, path: Path) -> bool:
        """Durable: its inode fsynced, or a syncfs of its filesystem ran after it was written."""
        info = path.stat()
        return info.st_ino in self.files or info.st_dev in self.syncfs


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


def test_concurrent_strict_writers_are_each_durable_on_return(tmp_path, monkeypatch):
    # Strict writes stay parallel: the kernel's journal shares their commits.
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=True)
    n = 16
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        start.wait()
        try:
            gc.write(tmp_path / f"t{i}.json", f"{i}\n".encode())
            assert _inode(tmp_path / f"t{i}.json") in log.files
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(log.files) == n and _inode(tmp_path) in log.dirs
    for i in range(n):
        assert (tmp_path / f"t{i}.json").read_bytes() == f"{i}\n".encode()


def test_batch_mode_answers_before_fsync_and_close_flushes(tmp_path, monkeypatch):
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=False, interval=60.0)  # the timer never fires within the test
    for i in range(5):
        gc.write(tmp_path / f"b{i}.json", b"x")
    assert gc.pending() == 5
    assert log.files == [] and log.dirs == [] and log.syncfs == []
    assert (tmp_path / "b4.json").read_bytes() == b"x"  # visible (renamed) already
    assert sorted(os.listdir(tmp_path)) == [f"b{i}.json" for i in range(5)]  # no temp left
    gc.close()
    assert gc.pending() == 0
    assert all(log.synced(tmp_path / f"b{i}.json") for i in range(5))
    gc.write(tmp_path / "late.json", b"l")  # after close: a plain durable write
    assert _inode(tmp_path / "late.json") in log.files


def test_batch_mode_background_flush_within_interval(tmp_path, monkeypatch):
    log = FsyncLog(monkeypatch)
    gc = GroupCommit(wait=False, interval=0.01)
    try:
        gc.write(tmp_path / "c.json", b"y")
        deadline = time.monotonic() + 30  # a bound for a loaded machine
        while not log.synced(tmp_path / "c.json") and time.monotonic() < deadline:
            time.sleep(0.005)
        assert log.synced(tmp_path / "c.json")  # no writer waited: the flusher synced it
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


def test_fsync_errors_reach_the_writer_or_the_flush(tmp_path, monkeypatch):
    FsyncLog(monkeypatch, fail=True)
    with pytest.raises(OSError, match="injected"):
        GroupCommit(wait=True).write(tmp_path / "e.json", b"z")
    gc = GroupCommit(wait=False, interval=60.0)
    gc.write(tmp_path / "f.json", b"z")
    with pytest.raises(OSError, match="injected"):
        gc.flush()
    assert gc.pending() == 0  # the next batch starts clean
    gc._stop.set()


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
        t.join(60)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0  # longer than the server's own 30 s drain
    assert len(answered) == 40 and len(set(answered)) == 40
    names = sorted(p.name for p in (tmp_path / "tr").iterdir())
    assert not [n for n in names if n.startswith(".")]  # no temp file left behind
    for path in answered:
        assert read_trace(tmp_path / path)["verdict"] == "allow"
    assert "Traceback" not in server.stderr_text()
