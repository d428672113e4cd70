"""Gateway.call_tool fails closed: whatever goes wrong inside gait, the tool is not called.

The end-to-end tests drive the real CLI; a bug inside the gate cannot be provoked
from outside, so here the gate itself is replaced by one that raises, and the
wrapped server by a stand-in that records whether anything was sent to it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from mcp import types

from gait.errors import StateContention
from gait.mcp.gateway import Gateway, GatewayConfig


class RecordingUpstream:
    """Stands in for the ClientSession to the wrapped server; counts forwarded requests."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_request(self, request: Any, result_type: Any) -> Any:
        self.sent.append(request)
        return types.CallToolResult(content=[])

    async def list_tools(self, params: Any = None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[])


class RaisingGate:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        # evaluate_call reads the policy's mcp_trust block before deciding
        trust = SimpleNamespace(enabled=False)
        self.compiled = SimpleNamespace(policy=SimpleNamespace(mcp_trust=trust))

    def decide(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RuntimeError("bug in the gate"), "internal_failure"),
        (StateContention("acquire rate limit lock: timeout"), "state_contention"),
    ],
)
def test_an_exception_inside_the_gate_is_a_refusal_and_nothing_is_forwarded(
    tmp_path: Any, error: BaseException, code: str
) -> None:
    upstream = RecordingUpstream()
    config = GatewayConfig(command=["unused"], trace_dir=str(tmp_path))
    with open(tmp_path / "log.txt", "w") as log:
        gateway = Gateway(RaisingGate(error), config, upstream, log=log)  # type: ignore[arg-type]
        params = types.CallToolRequestParams(name="read_file", arguments={"path": "/a"})
        result = anyio.run(gateway.call_tool, None, params)
    assert result.is_error is True
    assert result.structured_content["executed"] is False
    assert result.structured_content["verdict"] == "error"
    assert result.structured_content["reason_codes"] == [code]
    assert upstream.sent == []
    assert "(not executed)" in (tmp_path / "log.txt").read_text()
