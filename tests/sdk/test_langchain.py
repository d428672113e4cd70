"""LangChain middleware against real langchain-core types (ToolCall, @tool, ToolMessage)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gait.sdk import (
    GaitLangChainCallbackHandler,
    GaitLangChainMiddleware,
    GateEnforcementError,
    ToolAdapter,
    run_session,
)

langchain_core = pytest.importorskip("langchain_core")  # in the dev environment; see docs/sdk.md
from langchain_core.messages import ToolMessage  # noqa: E402
from langchain_core.messages.tool import tool_call  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

RAN: list[str] = []


@tool
def read_file(path: str) -> str:
    """Read a file."""
    RAN.append(f"read:{path}")
    return "contents"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    RAN.append(f"delete:{path}")
    return "deleted"


TOOLS = {"read_file": read_file, "delete_file": delete_file}


def _request(name: str, path: str, call_id: str, **ctx: Any) -> Any:
    return SimpleNamespace(
        tool_call=tool_call(name=name, args={"path": path}, id=call_id),
        runtime=SimpleNamespace(context=SimpleNamespace(**ctx) if ctx else None),
    )


def _handler(request: Any) -> ToolMessage:
    return TOOLS[request.tool_call["name"]].invoke(request.tool_call)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


def test_allowed_call_runs_the_real_tool(policy: str, tmp_path: Path) -> None:
    events = GaitLangChainCallbackHandler()
    mw = GaitLangChainMiddleware(
        ToolAdapter(policy), trace_dir=str(tmp_path / "traces"), callback_handler=events
    )
    result = mw.wrap_tool_call(
        _request(
            "read_file", "/tmp/a", "call_1", identity="alice", run_id="run_lc", request_id="req-9"
        ),
        _handler,
    )
    assert isinstance(result, ToolMessage) and result.content == "contents"
    assert RAN == ["read:/tmp/a"]
    [meta] = events.decisions
    assert (meta.tool_name, meta.tool_call_id, meta.verdict, meta.executed) == (
        "read_file",
        "call_1",
        "allow",
        True,
    )
    assert (meta.run_id, meta.request_id) == ("run_lc", "req-9")
    assert meta.trace_path == str(tmp_path / "traces" / "read_file_call_1.json")
    assert Path(meta.trace_path).is_file() and meta.policy_digest and meta.intent_digest


def test_blocked_call_never_reaches_the_tool(policy: str) -> None:
    events = GaitLangChainCallbackHandler()
    mw = GaitLangChainMiddleware(ToolAdapter(policy, write_trace=False), callback_handler=events)
    with pytest.raises(GateEnforcementError, match="verdict=block"):
        mw.wrap_tool_call(_request("delete_file", "/etc/x", "call_2"), _handler)
    assert RAN == []
    assert [(d.verdict, d.executed) for d in events.decisions] == [("block", False)]


def test_default_context(policy: str) -> None:
    from gait.sdk.langchain import default_context

    ctx = default_context(
        _request(
            "read_file",
            "/a",
            "call_3",
            session_id="s-1",
            auth_context={"auth_mode": "oauth"},
            credential_scopes=["fs:read"],
        )
    )
    assert ctx["identity"] == "langchain-agent"
    assert ctx["risk_class"] == "high" and ctx["workspace"]
    assert (ctx["session_id"], ctx["request_id"]) == ("s-1", "call_3")
    assert ctx["auth_context"] == {"auth_mode": "oauth"} and ctx["credential_scopes"] == ["fs:read"]


def test_broken_callback_handler_is_ignored(policy: str) -> None:
    class Broken:
        def on_gait_decision(self, metadata: Any) -> None:
            raise RuntimeError("observer bug")

    mw = GaitLangChainMiddleware(ToolAdapter(policy, write_trace=False), callback_handler=Broken())
    assert mw.wrap_tool_call(_request("read_file", "/a", "c"), _handler).content == "contents"


def test_tool_call_without_name_blocks(policy: str) -> None:
    mw = GaitLangChainMiddleware(ToolAdapter(policy))
    bad = SimpleNamespace(tool_call={"args": {}, "id": "x"}, runtime=None)
    with pytest.raises(GateEnforcementError, match="reasons=gate_error"):
        mw.wrap_tool_call(bad, _handler)
    assert RAN == []


def test_async_middleware_and_session_recording(policy: str) -> None:
    mw = GaitLangChainMiddleware(ToolAdapter(policy))

    async def handler(request: Any) -> ToolMessage:
        return await TOOLS[request.tool_call["name"]].ainvoke(request.tool_call)

    async def agent() -> Any:
        out = await mw.awrap_tool_call(_request("read_file", "/a", "c1"), handler)
        with pytest.raises(GateEnforcementError):
            await mw.awrap_tool_call(_request("delete_file", "/a", "c2"), handler)
        return out

    with run_session("run_lc_async", capture_mode="raw", include_raw_payload=True) as s:
        assert asyncio.run(agent()).content == "contents"
    import json
    import zipfile

    with zipfile.ZipFile(s.capture.bundle_path) as z:  # type: ignore[union-attr]
        results = [json.loads(x) for x in z.read("results.jsonl").splitlines()]
    assert [r["status"] for r in results] == ["ok", "block"]
    assert results[0]["result"]["result"] == {"content": "contents"}


def test_in_a_real_langchain_agent(policy: str) -> None:
    """create_agent with a scripted chat model: the read runs, the delete never does."""
    pytest.importorskip("langchain.agents")
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class ScriptedModel(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    def agent_for(tool_name: str) -> Any:
        replies = iter(
            [
                AIMessage(
                    content="", tool_calls=[{"name": tool_name, "args": {"path": "/a"}, "id": "c1"}]
                ),
                AIMessage(content="done"),
            ]
        )
        mw = GaitLangChainMiddleware(
            ToolAdapter(policy, write_trace=False), callback_handler=events
        )
        return create_agent(
            ScriptedModel(messages=replies),
            tools=[read_file, delete_file],
            middleware=[mw.agent_middleware()],
        )

    events = GaitLangChainCallbackHandler()
    out = agent_for("read_file").invoke({"messages": [{"role": "user", "content": "read"}]})
    assert [m.content for m in out["messages"]][-2:] == ["contents", "done"]
    with pytest.raises(GateEnforcementError, match="verdict=block"):
        agent_for("delete_file").invoke({"messages": [{"role": "user", "content": "delete"}]})
    assert RAN == ["read:/a"]
    assert [(d.tool_name, d.verdict, d.executed) for d in events.decisions] == [
        ("read_file", "allow", True),
        ("delete_file", "block", False),
    ]
