"""A real ``gait mcp serve`` process on 127.0.0.1 (ephemeral port), stopped by every test.

The server is started the way a user starts it (the CLI in a child process) and
its start-up line gives the bound port. stderr goes to a file so tests can
assert that hostile traffic never produced a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_medium_risk.yaml"
START_TIMEOUT = 30.0


class ServeProcess:
    """One ``gait mcp serve --json`` child; ``url`` is its base URL once started."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.stderr_path = workdir / f"serve_stderr_{time.monotonic_ns()}.log"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gait.cli.main", "mcp", "serve", "--json", *args],
            cwd=workdir,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.stdout_rest = b""
        self.ready: dict[str, Any] = self._read_ready_line()
        self.url = f"http://{self.ready['listen']}"

    def _read_ready_line(self) -> dict[str, Any]:
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(START_TIMEOUT)
        if not box or not box[0]:
            self.stop()
            raise AssertionError(f"server did not start: {self.stderr_text()}")
        return json.loads(box[0])

    def stderr_text(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.stdout_rest = self.proc.stdout.read()  # the process has exited: no blocking
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """``start_server(*flags, env=...)`` -> a running ServeProcess; all stopped at teardown."""
    started: list[ServeProcess] = []

    def start(
        *flags: str, env: dict[str, str] | None = None, policy: Path = POLICY
    ) -> ServeProcess:
        args = ["--policy", str(policy), "--listen", "127.0.0.1:0", *flags]
        proc = ServeProcess(tmp_path, args, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One default server for the many read-only request tests of a module."""
    workdir = tmp_path_factory.mktemp("serve")
    proc = ServeProcess(
        workdir,
        [
            "--policy",
            str(POLICY),
            "--listen",
            "127.0.0.1:0",
            "--max-request-bytes",
            "4096",
            "--read-timeout",
            "1",
            "--header-timeout",
            "1",
        ],
    )
    yield proc
    proc.stop()


def call_body(tool: str = "tool.read", path: str = "/tmp/x", **extra: Any) -> dict[str, Any]:
    """A native MCP call in a request body; ``operation`` follows the tool name."""
    operation = tool.rsplit(".", 1)[-1]
    call = {
        "name": tool,
        "args": {"path": path},
        "targets": [{"kind": "path", "value": path, "operation": operation}],
        "context": {"identity": "alice", "workspace": "/repo", "session_id": "s1"},
    }
    return {"call": call, **extra}


def client(base_url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10.0, **kwargs)
