"""Framework call shapes (OpenAI Agents, AutoGen, AutoGPT, LangChain) → intents, as documented."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.sdk import ToolAdapter, framework_intent
from gait.sdk.frameworks import framework_call

ARGS = {"path": "/tmp/gait/out.txt", "content": "hello"}
SKILL = {"skill_name": "writer", "source": "registry", "publisher": "acme"}
PAYLOADS = {
    "openai_agents": {"name": "write_file", "arguments": ARGS},
    "autogen": {"function_call": {"name": "write_file", "arguments": json.dumps(ARGS)}},
    "autogpt": {"command": {"name": "write_file", "args": ARGS}, "skill_provenance": SKILL},
    "langchain": {"name": "write_file", "args": ARGS, "id": "call_1", "type": "tool_call"},
}
CTX = {
    "identity": "agent-7",
    "workspace": "/srv/agent",
    "session_id": "sess-1",
    "auth_context": {"auth_mode": "oauth"},
    "credential_scopes": ["fs:write"],
    "environment_fingerprint": "env:abc",
}


@pytest.mark.parametrize("framework", sorted(PAYLOADS))
def test_write_file_becomes_tool_write_with_a_path_target(framework: str) -> None:
    req = framework_intent(framework, PAYLOADS[framework], CTX)
    doc = req.to_dict()
    assert doc["tool_name"] == "tool.write"
    assert doc["args"] == ARGS
    assert doc["targets"] == [
        {
            "kind": "path",
            "value": "/tmp/gait/out.txt",
            "operation": "write",
            "endpoint_class": "fs.write",
        }
    ]
    assert doc["arg_provenance"] == [{"arg_path": "$.path", "source": "user"}]
    assert doc["context"]["risk_class"] == "high"
    assert doc["context"]["credential_scopes"] == ["fs:write"]
    target = req.intent.targets[0]
    assert (target.endpoint_class, target.operation) == ("fs.write", "write")
    assert (req.intent.skill_provenance is not None) == (framework == "autogpt")


def test_autogpt_skill_provenance_is_carried() -> None:
    req = framework_intent("autogpt", PAYLOADS["autogpt"], CTX)
    skill = req.intent.skill_provenance
    assert skill is not None and (skill.skill_name, skill.publisher) == ("writer", "acme")


def test_same_intent_whatever_the_framework() -> None:
    from gait.intent import intent_digest

    digests = {
        intent_digest(
            framework_intent(f, PAYLOADS[f], CTX, created_at="2026-02-05T00:00:00Z").intent
        )
        for f in ("openai_agents", "autogen", "langchain")
    }
    assert len(digests) == 1


def test_openai_agents_arguments_may_be_a_json_string() -> None:
    assert framework_call("openai_agents", {"name": "t", "arguments": '{"a": 1}'}) == (
        "t",
        {"a": 1},
    )
    assert framework_call("openai_agents", {"name": "t", "arguments": None}) == ("t", {})


@pytest.mark.parametrize(
    ("framework", "payload", "message"),
    [
        (
            "autogen",
            {"function_call": {"name": "t", "arguments": "{not json"}},
            "function_call.arguments is not valid JSON",
        ),
        (
            "autogen",
            {"function_call": {"name": "t", "arguments": "[1]"}},
            "function_call.arguments must be a JSON object",
        ),
        ("autogen", {}, "function_call must be a JSON object"),
        ("autogpt", {"command": {"args": {}}}, "command.name is required"),
        ("openai_agents", {"name": " "}, "name is required"),
        ("langchain", {"name": "t", "args": 3}, "args must be a JSON object"),
        ("crewai", {"name": "t"}, "unsupported framework: crewai"),
    ],
)
def test_malformed_payloads_name_the_field(
    framework: str, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as err:
        framework_call(framework, payload)
    assert err.value.exit_code == 6


def test_file_tool_without_path_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"args\.path is required"):
        framework_intent("openai_agents", {"name": "write_file", "arguments": {}}, CTX)


def test_unknown_tools_keep_their_name() -> None:
    req = framework_intent("openai_agents", {"name": "search_web", "arguments": {"q": "x"}}, CTX)
    assert req.tool_name == "search_web" and req.to_dict()["targets"] == []


def test_framework_intent_is_decided(policy: str) -> None:
    adapter = ToolAdapter(policy, write_trace=False)
    read = framework_intent(
        "openai_agents", {"name": "read_file", "arguments": {"path": "/a"}}, CTX
    )
    delete = framework_intent(
        "autogen", {"function_call": {"name": "delete_file", "arguments": '{"path": "/a"}'}}, CTX
    )
    assert adapter.gate_intent(read).verdict == "allow"
    assert adapter.gate_intent(delete).verdict == "block"
