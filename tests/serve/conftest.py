"""A real ``gait mcp serve`` process on 127.0.0.1 (ephemeral port), stopped by every test.

The server is started the way a user starts it (the CLI in a child process) and
its start-up line gives the bound port. stderr goes to a file so tests can
assert that hostile traffic never produced a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve_process import ServeProcess

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_medium_risk.yaml"


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
    # A bound for a machine under load, not an expected time.
    return httpx.Client(base_url=base_url, timeout=60.0, **kwargs)
