"""A ``gait mcp serve`` subprocess for tests: started on an ephemeral loopback port, stopped by the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

START_TIMEOUT = 60.0


class ServeProcess:
    """Runs ``gait mcp serve --json <args>`` in ``workdir``; ``url`` is read from its first line."""

    def __init__(self, workdir: Path, args: list[str]) -> None:
        self.stderr = open(workdir / f"serve_{time.monotonic_ns()}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gait.cli.main", "mcp", "serve", "--json", *args],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        # readline in a thread so a server that never prints cannot hang the test
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(START_TIMEOUT)
        if not box or not box[0]:
            self.stop()
            raise AssertionError("mcp serve did not start")
        self.url = f"http://{json.loads(box[0])['listen']}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()
