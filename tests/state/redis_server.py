"""A real ``redis-server`` for tests: loopback, ephemeral port, temporary directory.

Persistence is an append-only file synced on every write, so a restarted server
keeps the counters it acknowledged (what a production deployment that wants
exact budgets across Redis restarts configures too, see docs/scale.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_BINARY = shutil.which("redis-server")


def require_redis_server() -> str:
    """The binary, or skip (outside CI only): CI installs it, so there it must be present."""
    if REDIS_BINARY:
        return REDIS_BINARY
    if os.environ.get("CI"):
        pytest.fail("redis-server is required in CI (.ci/run installs it)")
    pytest.skip("redis-server not installed (apt-get install redis-server); runs in CI")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, directory: Path, *, fsync: str = "always") -> None:
        self.binary = require_redis_server()
        self.fsync = fsync
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        for _attempt in range(3):
            self.proc = subprocess.Popen(
                [self.binary, *self._args()],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return self
            self.stop()
            self.port = free_port()  # the port was taken between probe and bind
        raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}")

    def _args(self) -> list[str]:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.directory),
            "save": "",
            "appendonly": "yes",
            "appendfsync": self.fsync,
            "daemonize": "no",
            "logfile": str(self.directory / "redis.log"),
        }
        return [part for name, value in options.items() for part in (f"--{name}", value)]

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.RedisError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the server dies without a goodbye (clients see resets)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
