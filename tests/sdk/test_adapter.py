"""ToolAdapter.execute and @gate_tool: the tool runs only on allow; gait failures block."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gait.sdk import GateEnforcementError, ToolAdapter, capture_intent, gate_tool

from .conftest import path_target

DRY_RUN_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: dry_run
rules: []
"""


class Calls:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, intent: Any) -> dict[str, Any]:
        self.seen.append(intent)
        return {"done": True}


def test_allow_runs_the_executor(policy: str, ctx: dict[str, Any]) -> None:
    calls = Calls()
    intent = capture_intent(
        "tool.read", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "read")]
    )
    outcome = ToolAdapter(policy).execute(intent, calls)
    assert outcome.executed is True
    assert outcome.result == {"done": True}
    assert outcome.decision.verdict == "allow"
    assert calls.seen == [intent]


@pytest.mark.parametrize(
    ("tool", "op", "verdict", "exit_code", "reasons"),
    [
        (
            "tool.delete",
            "delete",
            "block",
            3,
            "destructive_apply_requires_approval,destructive_blocked",
        ),
        (
            "tool.write",
            "write",
            "require_approval",
            4,
            "approval_token_missing,write_requires_approval",
        ),
    ],
)
def test_non_allow_raises_and_never_runs(
    policy: str, ctx: dict[str, Any], tool: str, op: str, verdict: str, exit_code: int, reasons: str
) -> None:
    calls = Calls()
    intent = capture_intent(tool, {}, ctx, targets=[path_target("/tmp/a", op)])
    with pytest.raises(GateEnforcementError) as err:
        ToolAdapter(policy).execute(intent, calls)
    assert str(err.value) == f"execution blocked by gate verdict={verdict} reasons={reasons}"
    assert err.value.exit_code == exit_code
    assert err.value.decision.verdict == verdict
    assert calls.seen == []


def test_dry_run_returns_without_running(tmp_path: Path, ctx: dict[str, Any]) -> None:
    policy = tmp_path / "dry.yaml"
    policy.write_text(DRY_RUN_POLICY)
    calls = Calls()
    outcome = ToolAdapter(str(policy)).execute(capture_intent("tool.read", {}, ctx), calls)
    assert (outcome.executed, outcome.decision.verdict, calls.seen) == (False, "dry_run", [])


def test_invalid_intent_blocks_with_gate_error(policy: str) -> None:
    calls = Calls()
    bad = capture_intent("tool.read", {}, {"identity": "", "workspace": "/w", "risk_class": "high"})
    with pytest.raises(GateEnforcementError) as err:
        ToolAdapter(policy).execute(bad, calls)
    assert str(err.value) == "execution blocked by gate verdict=block reasons=gate_error"
    assert err.value.decision.ok is False
    assert "identity" in err.value.decision.error
    assert calls.seen == []


def test_missing_policy_blocks_instead_of_crashing(tmp_path: Path, ctx: dict[str, Any]) -> None:
    calls = Calls()
    adapter = ToolAdapter(str(tmp_path / "missing.yaml"))
    with pytest.raises(GateEnforcementError) as err:
        adapter.execute(capture_intent("tool.read", {}, ctx), calls)
    assert "policy file not readable" in err.value.decision.error
    assert calls.seen == []


def test_broken_policy_blocks(tmp_path: Path, ctx: dict[str, Any]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_id: gait.gate.policy\nschema_version: 9.0.0\n")
    calls = Calls()
    with pytest.raises(GateEnforcementError):
        ToolAdapter(str(bad)).execute(capture_intent("tool.read", {}, ctx), calls)
    assert calls.seen == []


def test_unreachable_service_blocks(ctx: dict[str, Any]) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = ToolAdapter(server_url=f"http://127.0.0.1:{port}", timeout=2.0)
    calls = Calls()
    with pytest.raises(GateEnforcementError) as err:
        adapter.execute(capture_intent("tool.read", {}, ctx), calls)
    assert "gait service request failed" in err.value.decision.error
    assert calls.seen == []


def test_executor_exception_propagates(policy: str, ctx: dict[str, Any]) -> None:
    def boom(_intent: Any) -> None:
        raise RuntimeError("disk full")

    intent = capture_intent("tool.read", {}, ctx, targets=[path_target("/tmp/a", "read")])
    with pytest.raises(RuntimeError, match="disk full"):
        ToolAdapter(policy).execute(intent, boom)


def test_raw_mapping_intent_is_accepted(policy: str, ctx: dict[str, Any]) -> None:
    raw = {
        "tool_name": "tool.read",
        "args": {},
        "context": ctx,
        "targets": [path_target("/tmp/a", "read")],
    }
    assert ToolAdapter(policy).execute(raw, Calls()).executed is True


# --- @gate_tool ------------------------------------------------------------------


def test_gate_tool_passes_bound_arguments_with_defaults(policy: str, ctx: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []
    adapter = ToolAdapter(policy)

    def targets(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        return [path_target(args[1], "read")]

    class Repo:
        @gate_tool(
            adapter,
            ctx,
            tool_name="tool.read",
            targets=targets,
            trace_out=lambda a, k: "read_trace.json",
        )
        def read(self, path: str, limit: int = 10) -> str:
            seen.append({"path": path, "limit": limit})
            return "content"

    assert Repo().read("/tmp/a") == "content"
    assert seen == [{"path": "/tmp/a", "limit": 10}]
    import json

    trace = json.loads(Path("read_trace.json").read_text())
    from gait.canonical import digest

    assert trace["args_digest"] == digest({"path": "/tmp/a", "limit": 10})  # no self


def test_gate_tool_blocks_without_calling(policy: str, ctx: dict[str, Any]) -> None:
    ran: list[str] = []

    @gate_tool(ToolAdapter(policy), ctx, targets=lambda a, k: [path_target(k["path"], "delete")])
    def delete_file(path: str) -> None:
        ran.append(path)

    with pytest.raises(GateEnforcementError, match="verdict=block"):
        delete_file(path="/etc/passwd")
    assert ran == []


def test_gate_tool_args_mapper_and_function_name(policy: str, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(policy, write_trace=False)
    seen: list[Any] = []

    @gate_tool(
        adapter,
        lambda a, k: {**ctx, "identity": k["user"]},
        args_mapper=lambda a, k: {"path": k["path"]},
        targets=lambda a, k: [path_target(k["path"], "read")],
    )
    def fetch(*, path: str, user: str) -> str:
        seen.append((path, user))
        return path

    assert fetch(path="/tmp/z", user="bob") == "/tmp/z"
    assert seen == [("/tmp/z", "bob")]


def test_gate_tool_dry_run_raises(tmp_path: Path, ctx: dict[str, Any]) -> None:
    policy = tmp_path / "dry.yaml"
    policy.write_text(DRY_RUN_POLICY)

    @gate_tool(ToolAdapter(str(policy)), ctx)
    def noop() -> int:
        raise AssertionError("must not run")

    with pytest.raises(GateEnforcementError, match="verdict=dry_run"):
        noop()


def test_gate_tool_non_json_arguments_block(policy: str, ctx: dict[str, Any]) -> None:
    @gate_tool(ToolAdapter(policy), ctx)
    def take(thing: object) -> None:
        raise AssertionError("must not run")

    with pytest.raises(GateEnforcementError, match="reasons=gate_error"):
        take(object())


def test_gate_tool_async(policy: str, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(policy)

    @gate_tool(adapter, ctx, tool_name="tool.read", targets=[path_target("/tmp/a", "read")])
    async def read() -> str:
        return "ok"

    @gate_tool(adapter, ctx, tool_name="tool.delete", targets=[path_target("/tmp/a", "delete")])
    async def delete() -> str:
        raise AssertionError("must not run")

    assert asyncio.run(read()) == "ok"
    with pytest.raises(GateEnforcementError):
        asyncio.run(delete())
