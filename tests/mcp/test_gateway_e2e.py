"""`gait mcp wrap` end to end: the real CLI between the SDK's stdio client and a real server.

The wrapped server (fixtures/recording_server.py) appends a line to a record file
whenever one of its tools runs, so "the tool was never called" is checked on the
server's side, not on the gateway's word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SERVER = FIXTURES / "recording_server.py"
POLICY = FIXTURES / "wrap_policy.yaml"
SESSION_TIMEOUT_S = 60


def gait(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gait.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Keys:
    private: Path
    public: Path


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    out = gait("keys", "init", "--out-dir", str(tmp_path / "keys"), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return Keys(tmp_path / "keys" / "gait_private.key", tmp_path / "keys" / "gait_public.key")


@dataclass
class Wrapped:
    session: ClientSession
    record: Path
    trace_dir: Path

    def ran(self) -> list[str]:
        if not self.record.exists():
            return []
        return [json.loads(line)["tool"] for line in self.record.read_text().splitlines()]

    def traces(self) -> list[Path]:
        return sorted(self.trace_dir.glob("trace_*.json"))

    async def call(
        self, name: str, args: dict[str, Any], meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        return await self.session.call_tool(name, args, meta=meta)


@asynccontextmanager
async def wrapped(
    tmp_path: Path, keys: Keys, *flags: str, policy: Path = POLICY
) -> AsyncIterator[Wrapped]:
    record = tmp_path / "calls.jsonl"
    trace_dir = tmp_path / "traces"
    argv = [
        "-m",
        "gait.cli.main",
        "mcp",
        "wrap",
        "--policy",
        str(policy),
        "--trace-dir",
        str(trace_dir),
        "--key-mode",
        "prod",
        "--private-key",
        str(keys.private),
        *flags,
        "--",
        sys.executable,
        str(SERVER),
        "--record",
        str(record),
    ]
    params = StdioServerParameters(
        command=sys.executable, args=argv, env=dict(os.environ), cwd=str(tmp_path)
    )
    with open(tmp_path / "gateway.stderr", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield Wrapped(session, record, trace_dir)


def run(
    tmp_path: Path,
    keys: Keys,
    body: Callable[[Wrapped], Awaitable[None]],
    *flags: str,
    policy: Path = POLICY,
) -> None:
    async def main() -> None:
        with anyio.fail_after(SESSION_TIMEOUT_S):
            async with wrapped(tmp_path, keys, *flags, policy=policy) as w:
                await body(w)

    anyio.run(main)


def decision(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is True
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def direct_results(tmp_path: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """The same calls made straight to the server, for comparing results byte for byte."""

    async def main() -> list[Any]:
        params = StdioServerParameters(
            command=sys.executable,
            args=[str(SERVER), "--record", str(tmp_path / "direct.jsonl")],
            env=dict(os.environ),
        )
        out = []
        with anyio.fail_after(SESSION_TIMEOUT_S), open(os.devnull, "w") as devnull:
            async with (
                stdio_client(params, errlog=devnull) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                for name, args in calls:
                    result = await session.call_tool(name, args)
                    out.append(result.model_dump(by_alias=True, exclude_none=True))
        return out

    return anyio.run(main)


# --- forwarding ---------------------------------------------------------------


def test_allowed_calls_run_and_return_the_servers_result_unchanged(
    tmp_path: Path, keys: Keys
) -> None:
    """Tools are listed with their annotations, allowed calls run and come back exactly as
    the server answers them directly, and a forwarded call's progress reaches the agent."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("echo", {"text": "héllo"}),
        ("read_file", {"path": "/srv/a.txt"}),
        ("fail", {"message": "boom"}),  # the tool's own error passes through too
    ]
    got: list[Any] = []
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def body(w: Wrapped) -> None:
        tools = {t.name: t for t in (await w.session.list_tools()).tools}
        assert set(tools) == {
            "read_file",
            "write_file",
            "delete_file",
            "echo",
            "count",
            "fail",
            "crash",
            "mark_read_destructive",
        }
        delete = tools["delete_file"].annotations
        assert delete is not None and delete.destructive_hint is True
        assert w.ran() == []  # listing runs nothing
        for name, args in calls:
            result = await w.call(name, args)
            got.append(result.model_dump(by_alias=True, exclude_none=True))
        assert w.ran() == ["echo", "read_file", "fail"]
        counted = await w.session.call_tool("count", {"n": 3}, progress_callback=on_progress)
        assert counted.is_error is False

    run(tmp_path, keys, body)
    assert got == direct_results(tmp_path, calls)
    assert got[0]["structuredContent"] == {"echo": "héllo", "length": 5}
    assert got[2]["isError"] is True
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


def test_a_2026_protocol_client_is_gated_the_same_way(tmp_path: Path, keys: Keys) -> None:
    """The SDK's `Client` negotiates the 2026-07-28 era; the wrapped server speaks the
    handshake era. The agent's envelope must not leak into the wrapped server's session."""
    from mcp import Client

    record = tmp_path / "calls.jsonl"
    argv = ["-m", "gait.cli.main", "mcp", "wrap", str(POLICY),
            "--trace-dir", str(tmp_path / "traces"),
            "--key-mode", "prod", "--private-key", str(keys.private),
            "--", sys.executable, str(SERVER), "--record", str(record)]  # fmt: skip
    params = StdioServerParameters(command=sys.executable, args=argv, env=dict(os.environ))

    async def main() -> None:
        with anyio.fail_after(SESSION_TIMEOUT_S):
            async with Client(params) as client:
                assert client.protocol_version == "2026-07-28"
                names = {t.name for t in (await client.list_tools()).tools}
                assert "delete_file" in names
                echoed = await client.call_tool("echo", {"text": "hi"})
                assert echoed.is_error is False
                assert echoed.structured_content == {"echo": "hi", "length": 2}
                refused = await client.call_tool("delete_file", {"path": "/a"})
                assert refused.is_error is True
                assert refused.structured_content["verdict"] == "block"

    anyio.run(main)
    assert [json.loads(line)["tool"] for line in record.read_text().splitlines()] == ["echo"]


# --- refusals -----------------------------------------------------------------


def test_refused_calls_are_tool_errors_and_never_run(tmp_path: Path, keys: Keys) -> None:
    """block, dry_run and calls gait cannot decide (bad _meta tokens) never reach the tool."""

    async def body(w: Wrapped) -> None:
        result = await w.call("delete_file", {"path": "/srv/a.txt"})
        refused = decision(result)
        assert result.meta == {"gait/decision": refused}
        assert json.loads(result.content[1].text) == refused  # type: ignore[union-attr]
        assert refused["verdict"] == "block"
        assert "destructive_tool_blocked" in refused["reason_codes"]
        assert refused["matched_rule"] == "block-destructive-tools"
        assert refused["executed"] is False

        unknown = decision(await w.call("format_disk", {}))
        assert unknown["verdict"] == "block"
        assert unknown["reason_codes"] == ["default_block"]

        rehearsal = await w.call("write_file", {"path": "/notes/draft.txt", "content": "x"})
        dry = decision(rehearsal)
        assert dry["verdict"] == "dry_run"
        assert dry["reason_codes"] == ["draft_write_rehearsed"]
        assert "verdict=dry_run" in rehearsal.content[0].text  # type: ignore[union-attr]

        # read_file is allowed, but a token given as a file path is refused outright
        bad = decision(
            await w.call("read_file", {"path": "/a"}, {"gait/approval_tokens": "/etc/passwd"})
        )
        assert bad["verdict"] == "error"
        assert "gait/approval_tokens" in bad["error"]
        assert w.ran() == []

    run(tmp_path, keys, body)


def test_approval_token_in_meta_turns_require_approval_into_a_forwarded_call(
    tmp_path: Path, keys: Keys
) -> None:
    args = {"path": "/srv/config.yaml", "content": "replicas: 3"}
    approvers = tmp_path / "approvers"
    made = gait("keys", "init", "--out-dir", str(approvers), "--prefix", "approvers", cwd=tmp_path)
    assert made.returncode == 0, made.stderr

    def mint(pending: dict[str, Any], private_key: Path, out: Path) -> dict[str, Any]:
        minted = gait(
            "approve",
            "--intent-digest", pending["intent_digest"],
            "--policy-digest", pending["policy_digest"],
            "--ttl", "30m", "--scope", "tool:write_file",
            "--approver", "alice", "--reason-code", "CHG-7",
            "--key-mode", "prod", "--private-key", str(private_key),
            "--out", str(out), "--json",
            cwd=tmp_path,
        )  # fmt: skip
        assert minted.returncode == 0, minted.stderr
        return json.loads(out.read_text())

    async def body(w: Wrapped) -> None:
        pending = decision(await w.call("write_file", args))
        assert pending["verdict"] == "require_approval"
        assert "approval_token_missing" in pending["reason_codes"]
        assert w.ran() == []

        token = await anyio.to_thread.run_sync(
            mint, pending, approvers / "approvers_private.key", tmp_path / "approval.json"
        )
        # signed with the trace key, not an approver key: rejected
        forged = await anyio.to_thread.run_sync(
            mint, pending, keys.private, tmp_path / "forged.json"
        )
        refused = decision(await w.call("write_file", args, {"gait/approval_tokens": [forged]}))
        assert refused["verdict"] == "require_approval"
        assert "approval_token_signature_invalid" in refused["reason_codes"]

        # a token for another call does not help
        other = decision(
            await w.call(
                "write_file",
                {**args, "content": "replicas: 300"},
                {"gait/approval_tokens": [token]},
            )
        )
        assert other["verdict"] == "require_approval"
        assert "approval_token_intent_mismatch" in other["reason_codes"]
        assert w.ran() == []

        granted = await w.call("write_file", args, {"gait/approval_tokens": token})
        assert granted.is_error is False
        assert granted.structured_content == {"result": "wrote 11 bytes to /srv/config.yaml"}
        assert w.ran() == ["write_file"]
        audits = list(w.trace_dir.glob("approval_audit_*.json"))
        assert len(audits) == 4  # one per call that met the approval rule

    run(
        tmp_path,
        keys,
        body,
        "--approval-public-key",
        str(approvers / "approvers_public.key"),
    )


def test_changed_annotations_apply_to_the_next_call(tmp_path: Path, keys: Keys) -> None:
    async def body(w: Wrapped) -> None:
        assert (await w.call("read_file", {"path": "/a"})).is_error is False
        # the wrapped server re-annotates read_file as destructive, notifies list_changed
        assert (await w.call("mark_read_destructive", {})).is_error is False
        refused = decision(await w.call("read_file", {"path": "/a"}))
        assert refused["verdict"] == "block"
        assert refused["matched_rule"] == "block-destructive-tools"
        assert w.ran() == ["read_file", "mark_read_destructive"]

    run(tmp_path, keys, body)


def test_rate_limits_count_in_the_state_given_by_flag(tmp_path: Path, keys: Keys) -> None:
    policy = tmp_path / "limited.yaml"
    policy.write_text(
        "schema_id: gait.gate.policy\n"
        "schema_version: 1.0.0\n"
        "default_verdict: block\n"
        "rules:\n"
        "  - name: echo-once\n"
        "    effect: allow\n"
        "    match: {tool_names: [echo]}\n"
        "    rate_limit: {requests: 1, window: hour, scope: tool}\n"
    )
    state = tmp_path / "state" / "limits.json"

    async def body(w: Wrapped) -> None:
        assert (await w.call("echo", {"text": "1"})).is_error is False
        limited = decision(await w.call("echo", {"text": "2"}))
        assert limited["verdict"] == "block"
        assert "rate_limit_exceeded" in limited["reason_codes"]
        assert w.ran() == ["echo"]

    run(tmp_path, keys, body, "--state", str(state), policy=policy)
    assert state.is_file()


# --- traces -------------------------------------------------------------------


def test_every_decision_writes_a_distinct_trace_that_verifies(tmp_path: Path, keys: Keys) -> None:
    seen: list[dict[str, Any]] = []

    async def body(w: Wrapped) -> None:
        await w.call("echo", {"text": "a"})
        await w.call("echo", {"text": "a"})  # same call twice: two decisions, two traces
        seen.append(decision(await w.call("delete_file", {"path": "/a"})))
        assert len(w.traces()) == 3

    run(tmp_path, keys, body, "--run-id", "nightly")
    traces = sorted((tmp_path / "traces").glob("trace_*.json"))
    assert len(traces) == 3
    assert all(t.name.startswith("trace_run_nightly_") for t in traces)
    verdicts = []
    for trace in traces:
        out = gait(
            "trace", "verify", str(trace), "--public-key", str(keys.public), "--json", cwd=tmp_path
        )
        assert out.returncode == 0, out.stdout + out.stderr
        verdicts.append(json.loads(trace.read_text())["verdict"])
    assert sorted(verdicts) == ["allow", "allow", "block"]
    assert Path(seen[0]["trace_path"]) in traces


# --- the wrapped server dies ----------------------------------------------------


def test_calls_fail_closed_once_the_wrapped_server_is_gone(tmp_path: Path, keys: Keys) -> None:
    async def body(w: Wrapped) -> None:
        crashed = decision(await w.call("crash", {}))
        assert crashed["verdict"] == "allow"
        assert crashed["forwarded"] is True
        assert crashed["executed"] is None  # sent, then the server died: unknown
        after = decision(await w.call("read_file", {"path": "/a"}))
        assert after["verdict"] == "allow"  # the gate allowed it ...
        assert after["executed"] is False  # ... but there was nothing safe to forward to
        assert "not running" in after["error"]
        assert w.ran() == ["crash"]

    run(tmp_path, keys, body)
    assert "failing closed" in (tmp_path / "gateway.stderr").read_text()


# --- the same decision as gate eval --------------------------------------------


PARITY_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "/srv/a.txt"}),
    ("delete_file", {"path": "/srv/a.txt"}),
    ("write_file", {"path": "/srv/b.txt", "content": "x"}),
]


def test_decisions_match_gate_eval_for_the_same_intent(tmp_path: Path, keys: Keys) -> None:
    from gait.mcp.decode import decode_tool_call
    from gait.mcp.gateway_call import build_tool_call

    annotations: dict[str, dict[str, Any]] = {}
    refusals: dict[str, Any] = {}
    context = {"identity": "agent-1", "workspace": "/srv"}

    async def body(w: Wrapped) -> None:
        for tool in (await w.session.list_tools()).tools:
            ann = tool.annotations
            annotations[tool.name] = ann.model_dump(by_alias=True, exclude_none=True) if ann else {}
        for name, args in PARITY_CALLS:
            result = await w.call(name, args)
            refusals[name] = result.structured_content if result.is_error else None

    run(tmp_path, keys, body, "--identity", "agent-1", "--workspace", "/srv")
    # reason codes and matched rule are not in the trace: the gateway's log line has them
    # for every verdict, its refusal for non-allow verdicts
    logged: dict[str, dict[str, str]] = {}
    for line in (tmp_path / "gateway.stderr").read_text().splitlines():
        if line.startswith("gait mcp wrap: tool=") and " verdict=" in line:
            fields = dict(part.split("=", 1) for part in line.split(": ", 1)[1].split())
            logged[fields["tool"]] = fields
    verdicts = []
    for name, args in PARITY_CALLS:
        call = decode_tool_call(build_tool_call(name, args, annotations[name], context))
        intent_file = tmp_path / f"intent_{name}.json"
        intent_file.write_text(json.dumps(call.intent_request))
        out = gait(
            "gate", "eval", "--policy", str(POLICY), "--intent", str(intent_file),
            "--key-mode", "prod", "--private-key", str(keys.private),
            "--trace-out", str(tmp_path / f"eval_{name}.json"), "--json",
            cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode in (0, 3, 4), out.stdout + out.stderr
        evaluated = json.loads(out.stdout)
        verdicts.append(evaluated["verdict"])
        log = logged[name]
        trace = json.loads(Path(log["trace"]).read_text())
        for key in ("verdict", "policy_digest", "intent_digest"):
            assert trace[key] == evaluated[key], (name, key)
        assert log["verdict"] == evaluated["verdict"]
        assert log["reasons"] == ",".join(evaluated.get("reason_codes") or ["-"])
        assert log["rule"] == (evaluated.get("matched_rule") or "-")
        refusal = refusals[name]
        if evaluated["verdict"] == "allow":
            assert refusal is None
            continue
        for key in ("verdict", "policy_digest", "intent_digest", "matched_rule"):
            assert refusal[key] == evaluated[key], (name, key)
        assert refusal["reason_codes"] == evaluated["reason_codes"]
    assert verdicts == ["allow", "block", "require_approval"]
