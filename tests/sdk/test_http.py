"""The SDK as an HTTP client of a real ``gait mcp serve`` (127.0.0.1, ephemeral port)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.sdk import (
    GaitCommandError,
    GateEnforcementError,
    HttpGate,
    ToolAdapter,
    capture_intent,
    run_session,
)

from .conftest import MEDIUM, path_target

COMPARED = (
    "verdict",
    "reason_codes",
    "violations",
    "matched_rule",
    "policy_digest",
    "intent_digest",
)


class Server:
    def __init__(self, workdir: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gait.cli.main",
                "mcp",
                "serve",
                "--json",
                "--policy",
                str(MEDIUM),
                "--listen",
                "127.0.0.1:0",
                *flags,
            ],
            cwd=workdir,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        box: list[bytes] = []
        reader = threading.Thread(
            target=lambda: box.append(self.proc.stdout.readline()), daemon=True
        )  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        if not box or not box[0]:
            self.stop()
            raise AssertionError("mcp serve did not start")
        self.url = f"http://{json.loads(box[0])['listen']}"
        self.workdir = workdir

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sdk-serve"))
    yield srv
    srv.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def run(*flags: str, env: dict[str, str] | None = None) -> Server:
        srv = Server(tmp_path, *flags, env=env)
        started.append(srv)
        return srv

    yield run
    for srv in started:
        srv.stop()


def _intents(ctx: dict[str, Any]) -> list[Any]:
    return [
        capture_intent(
            "tool.read",
            {"path": "/tmp/a"},
            ctx,
            targets=[path_target("/tmp/a", "read")],
            arg_provenance=[{"arg_path": "$.path", "source": "user"}],
            created_at="2026-02-05T00:00:00Z",
        ),
        capture_intent(
            "tool.write", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "write")]
        ),
        capture_intent(
            "tool.delete", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "delete")]
        ),
    ]


def test_http_decisions_equal_in_process(server: Server, policy: str, ctx: dict[str, Any]) -> None:
    remote = ToolAdapter(server_url=server.url)
    local = ToolAdapter(policy)
    for intent in _intents(ctx):
        over_http = remote.gate_intent(intent).to_dict()
        in_process = local.gate_intent(intent, trace_out="local.json").to_dict()
        assert {k: over_http.get(k) for k in COMPARED} == {k: in_process.get(k) for k in COMPARED}
        assert over_http["exit_code"] == in_process["exit_code"]
        assert (server.workdir / over_http["trace_path"]).is_file()


def test_http_execute_is_fail_closed(server: Server, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(server_url=server.url)
    read, _write, delete = _intents(ctx)
    ran: list[str] = []
    assert adapter.execute(read, lambda i: ran.append("read") or "ok").result == "ok"
    with pytest.raises(GateEnforcementError, match="verdict=block"):
        adapter.execute(delete, lambda i: ran.append("delete"))
    assert ran == ["read"]


def test_http_session_records_server_traces(server: Server, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(server_url=server.url)
    with run_session("run_http") as s:
        adapter.execute(_intents(ctx)[0], lambda i: 1)
    import zipfile

    with zipfile.ZipFile(s.capture.bundle_path) as z:  # type: ignore[union-attr]
        [receipt] = json.loads(z.read("refs.json"))["receipts"]
    assert receipt["ref_id"] == "trace_intent_0001"
    assert "trace_run_http_" in receipt["source_locator"]  # the server named it after the run id
    assert (server.workdir / receipt["source_locator"]).is_file()


def test_token_auth(start: Callable[..., Server], ctx: dict[str, Any]) -> None:
    srv = start(
        "--auth-mode",
        "token",
        "--auth-token-env",
        "SDK_TEST_TOKEN",
        env={"SDK_TEST_TOKEN": "s3cret"},
    )
    read = _intents(ctx)[0]
    assert (
        ToolAdapter(server_url=srv.url, server_token="s3cret").gate_intent(read).verdict == "allow"
    )
    with pytest.raises(GaitCommandError) as err:
        ToolAdapter(server_url=srv.url, server_token="wrong").gate_intent(read)
    assert err.value.exit_code == 401
    assert "invalid bearer authorization" in str(err.value)
    with pytest.raises(GateEnforcementError, match="reasons=gate_error"):
        ToolAdapter(server_url=srv.url).execute(read, lambda i: pytest.fail("must not run"))


def test_strict_status_codes_are_still_decisions(
    start: Callable[..., Server], ctx: dict[str, Any]
) -> None:
    srv = start("--http-verdict-status", "strict")
    with HttpGate(srv.url) as gate:
        adapter = ToolAdapter(gate=gate)
        verdicts = [adapter.gate_intent(i).verdict for i in _intents(ctx)]
    assert verdicts == ["allow", "require_approval", "block"]


def test_intents_a_tool_call_cannot_carry_are_refused(server: Server, ctx: dict[str, Any]) -> None:
    skill = capture_intent(
        "tool.read",
        {},
        ctx,
        targets=[path_target("/a", "read")],
        skill_provenance={"skill_name": "s", "source": "r", "publisher": "p"},
    )
    with pytest.raises(InvalidInput, match="skill_provenance"):
        ToolAdapter(server_url=server.url).gate_intent(skill)
    with pytest.raises(GateEnforcementError):
        ToolAdapter(server_url=server.url).execute(skill, lambda i: pytest.fail("must not run"))


def test_error_answers_raise_command_errors(
    start: Callable[..., Server], ctx: dict[str, Any]
) -> None:
    srv = start("--max-request-bytes", "64")
    with pytest.raises(GaitCommandError) as err:
        ToolAdapter(server_url=srv.url).gate_intent(_intents(ctx)[0])
    assert err.value.exit_code == 413
    assert "request body exceeds max-request-bytes" in str(err.value)
    assert err.value.command == f"POST {srv.url}/v1/evaluate"
    assert json.loads(err.value.stdout)["ok"] is False
