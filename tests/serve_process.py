"""A real ``gait mcp serve`` child process on 127.0.0.1 (ephemeral port), as a user starts it.

Its start-up line gives the bound port; stderr goes to a file so tests can assert that
hostile traffic never produced a traceback. The test that starts one stops it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Bounds, not waits: a loaded CI machine may take long to import and start a server.
START_TIMEOUT = 120.0
# Longer than the server's own drain (gait.serve.server.DRAIN_SECONDS, 30 s): a stop
# that is still draining is not a failed stop.
STOP_TIMEOUT = 60.0


class ServeProcess:
    """One ``gait mcp serve --json`` child; ``url`` is its base URL once started."""

    def __init__(
        self,
        workdir: Path,
        args: list[str],
        env: dict[str, str] | None = None,
        *,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
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
        self.ready: dict[str, Any] = self._read_ready_line(start_timeout)
        self.url = f"http://{self.ready['listen']}"

    def _read_ready_line(self, timeout: float) -> dict[str, Any]:
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
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

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
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
