"""``gait warm stop`` given a reply it cannot read: reported, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.inproc import run_cli


def _serve_once(path: str, reply: bytes) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(10)

    def answer() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.recv(256)
                conn.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("reply", [b"Qnot-a-pid\n", b"Q\n", b"Q-1\n"])
def test_stop_with_an_unreadable_pid(
    reply: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "w"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("GAIT_WARM_DIR", str(folder))
    monkeypatch.setenv("GAIT_WARM", "0")
    thread = _serve_once(str(folder / "k1.sock"), reply)
    code, out = run_cli("warm", "stop", "--json")
    thread.join(10)
    assert not thread.is_alive()
    payload = json.loads(out)
    assert code == 0 and payload["ok"] is True
    assert payload["servers"] == [{"key": "k1", "pid": 0}]
    assert payload["stopped"] == 1
    assert os.path.exists(folder / "k1.sock")
