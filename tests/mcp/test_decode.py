"""Adapter payloads → intents, as serve_sdk.md §1 specifies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import InvalidInput
from gait.intent import intent_digest, normalize_intent
from gait.mcp.decode import (
    ADAPTERS,
    FALLBACK_CONTEXT_WARNING,
    claude_code_tool_name,
    decode_tool_call,
)

FULL_CONTEXT = {"identity": "alice", "workspace": "/repo", "session_id": "sess-1"}


def test_native_call_maps_name_args_targets_and_context() -> None:
    call = {
        "name": " Tool.Write ",
        "args": {"path": "/tmp/out.txt"},
        "targets": [{"kind": "path", "value": "/tmp/out.txt", "operation": "write"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {
            **FULL_CONTEXT,
            "risk_class": "Medium",
            "phase": "plan",
            "job_id": "job-7",
            "request_id": "req-1",
            "run_id": "Run X!",
            "credential_scopes": ["b", "a", "a"],
            "environment_fingerprint": "env:1",
            "context_envelope_path": " env.json ",
        },
        "created_at": "2026-02-05T01:00:00+01:00",
    }
    decoded = decode_tool_call(json.dumps(call))
    intent = decoded.intent
    assert decoded.adapter == "mcp"
    assert intent.tool_name == "tool.write"
    assert intent.args == {"path": "/tmp/out.txt"}
    assert [(t.kind, t.value, t.endpoint_class) for t in intent.targets] == [
        ("path", "/tmp/out.txt", "fs.write")
    ]
    assert [(p.arg_path, p.source) for p in intent.arg_provenance] == [("$.path", "user")]
    ctx = intent.context
    assert (ctx.identity, ctx.workspace, ctx.risk_class, ctx.phase) == (
        "alice",
        "/repo",
        "medium",
        "plan",
    )
    assert ctx.credential_scopes == ("a", "b")
    assert intent.created_at == "2026-02-05T00:00:00Z"
    assert intent.producer_version == "0.0.0-dev"
    # Fields the intent has no place for stay on the decoded call.
    assert decoded.run_id == "Run X!"
    assert decoded.session_id == "sess-1"
    assert decoded.job_id == "job-7"
    assert decoded.context_envelope_path == "env.json"
    assert decoded.warnings == ()


def test_context_defaults_and_fallback_warning_in_standard_profile() -> None:
    decoded = decode_tool_call({"name": "tool.read"})
    ctx = decoded.intent.context
    assert (ctx.identity, ctx.workspace, ctx.risk_class) == ("mcp-proxy", ".", "high")
    assert decoded.intent.created_at == "1980-01-01T00:00:00Z"
    assert decoded.intent.args == {}
    assert decoded.warnings == (FALLBACK_CONTEXT_WARNING,)


@pytest.mark.parametrize("missing", ["identity", "workspace", "session_id"])
def test_strict_profile_requires_identity_workspace_session(missing: str) -> None:
    context = {k: v for k, v in FULL_CONTEXT.items() if k != missing}
    with pytest.raises(InvalidInput) as err:
        decode_tool_call({"name": "tool.read", "context": context}, profile="oss-prod")
    assert str(err.value) == f"context.{missing} is required in strict profile"
    assert err.value.exit_code == 6


def test_strict_profile_accepts_full_context_without_warning() -> None:
    decoded = decode_tool_call({"name": "tool.read", "context": FULL_CONTEXT}, profile="oss-prod")
    assert decoded.warnings == ()
    assert decoded.intent.context.risk_class == "high"


@pytest.mark.parametrize(
    ("legacy", "kind"),
    [("https://legacy.example/x", "url"), ("/etc/passwd", "path"), ("db.internal", "host")],
)
def test_legacy_target_kind_inference(legacy: str, kind: str) -> None:
    intent = decode_tool_call({"name": "tool.read", "target": legacy}).intent
    assert [(t.kind, t.value) for t in intent.targets] == [(kind, legacy)]


def test_legacy_target_ignored_when_targets_given() -> None:
    intent = decode_tool_call(
        {
            "name": "tool.read",
            "target": "https://legacy.example/x",
            "targets": [{"kind": "path", "value": "/a"}],
        }
    ).intent
    assert [t.value for t in intent.targets] == ["/a"]


def test_target_hint_aliases_are_ored_and_annotations_override() -> None:
    intent = decode_tool_call(
        {
            "name": "tool.read",
            "targets": [
                {
                    "kind": "path",
                    "value": "/a",
                    "readOnlyHint": True,
                    "destructive_hint": False,
                    "destructiveHint": True,
                    "discoveryMethod": "Dynamic-MCP",
                    "annotations": {"idempotentHint": "true", "readOnlyHint": "false"},
                }
            ],
        }
    ).intent
    (t,) = intent.targets
    assert t.read_only_hint is False  # annotation string "false" overrides the alias
    assert t.destructive_hint is True
    assert t.idempotent_hint is True
    assert t.open_world_hint is False
    assert t.discovery_method == "dynamic_mcp"


def test_script_call_becomes_script_intent() -> None:
    decoded = decode_tool_call(
        {
            "name": "ignored",
            "args": {"x": 1},
            "script": {
                "steps": [
                    {"name": "tool.read", "targets": [{"kind": "path", "value": "/a"}]},
                    {"name": "tool.write", "args": {"p": "/b"}},
                ]
            },
        }
    )
    intent = decoded.intent
    assert intent.tool_name == "script"
    assert intent.args == {}
    assert intent.script is not None
    assert [s.tool_name for s in intent.script] == ["tool.read", "tool.write"]
    assert intent.script[1].args == {"p": "/b"}
    assert intent.script_hash


def test_script_step_without_name_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"^script\.steps\[1\]\.name is required$"):
        decode_tool_call({"script": {"steps": [{"name": "tool.read"}, {"args": {}}]}})


def test_name_required_without_script() -> None:
    with pytest.raises(InvalidInput, match=r"^tool call name is required$"):
        decode_tool_call({"name": "  ", "script": {"steps": []}})


def test_auth_context_gets_auth_mode_and_oauth_evidence() -> None:
    ctx = decode_tool_call(
        {
            "name": "tool.read",
            "context": {
                "auth_context": {"tenant": "t1"},
                "auth_mode": " oauth ",
                "oauth_evidence": {"issuer": "https://idp", "scopes": ["repo"]},
            },
        }
    ).intent.context
    assert ctx.auth_context == {
        "tenant": "t1",
        "auth_mode": "oauth",
        "oauth_evidence": {"issuer": "https://idp", "scopes": ["repo"]},
    }


def test_delegation_is_carried() -> None:
    intent = decode_tool_call(
        {
            "name": "tool.read",
            "delegation": {
                "requester_identity": "bot",
                "scope_class": "read",
                "token_refs": ["tok-1"],
                "chain": [{"delegator_identity": "alice", "delegate_identity": "bot"}],
            },
        }
    ).intent
    assert intent.delegation is not None
    assert intent.delegation.requester_identity == "bot"
    assert [(c.delegator_identity, c.delegate_identity) for c in intent.delegation.chain] == [
        ("alice", "bot")
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"path": "/a"}', {"path": "/a"}),
        ({"path": "/a"}, {"path": "/a"}),
        (None, {}),
        ("", {}),
        ("   ", {}),
    ],
)
def test_openai_arguments_forms(arguments: Any, expected: dict[str, Any]) -> None:
    payload = {"function": {"name": "tool.read", "arguments": arguments}}
    decoded = decode_tool_call(payload, adapter="openai")
    assert decoded.adapter == "openai"
    assert decoded.intent.tool_name == "tool.read"
    assert decoded.intent.args == expected


def test_openai_takes_only_name_and_args() -> None:
    decoded = decode_tool_call(
        {
            "function": {"name": "tool.read", "arguments": "{}"},
            "context": {"identity": "mallory"},
            "targets": [{"kind": "path", "value": "/a"}],
        },
        adapter="openai",
    )
    assert decoded.intent.context.identity == "mcp-proxy"
    assert decoded.intent.targets == ()
    assert decoded.warnings == (FALLBACK_CONTEXT_WARNING,)


@pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "{not json", 7, [1]])
def test_openai_non_object_arguments_are_rejected(arguments: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_tool_call(
            {"function": {"name": "tool.read", "arguments": arguments}}, adapter="openai"
        )
    assert "openai arguments" in str(err.value)
    assert err.value.location is not None
    assert err.value.location.field == "function.arguments"


def test_anthropic_tool_use() -> None:
    decoded = decode_tool_call(
        '{"type":"tool_use","id":"toolu_1","name":"tool.write","input":{"path":"/a"}}',
        adapter="anthropic",
    )
    assert (decoded.intent.tool_name, decoded.intent.args) == ("tool.write", {"path": "/a"})


def test_anthropic_input_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match=r"field input"):
        decode_tool_call({"type": "tool_use", "name": "x", "input": "{}"}, adapter="anthropic")


@pytest.mark.parametrize(
    ("tool_input", "expected"),
    [({"q": "x"}, {"q": "x"}), ('{"q": "x"}', {"q": "x"}), (None, {})],
)
def test_langchain_tool_input_forms(tool_input: Any, expected: dict[str, Any]) -> None:
    decoded = decode_tool_call(
        {"tool": "tool.search", "tool_input": tool_input}, adapter="langchain"
    )
    assert decoded.intent.tool_name == "tool.search"
    assert decoded.intent.args == expected


def test_langchain_string_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="langchain tool_input"):
        decode_tool_call({"tool": "t", "tool_input": "plain words"}, adapter="langchain")


@pytest.mark.parametrize(
    ("raw", "mapped"),
    [
        ("Read", "tool.read"),
        ("Grep", "tool.read"),
        ("web_fetch", "tool.read"),
        ("WebSearch", "tool.read"),
        ("Edit", "tool.write"),
        ("Notebook-Edit", "tool.write"),
        ("Bash", "tool.exec"),
        ("Task", "tool.delegate"),
        ("mcp.GitHub.create_issue", "mcp.github.create_issue"),
        ("My Tool-X", "tool.my_tool_x"),
        ("  ", ""),
    ],
)
def test_claude_code_name_mapping(raw: str, mapped: str) -> None:
    assert claude_code_tool_name(raw) == mapped


def test_claude_code_hook_payload() -> None:
    decoded = decode_tool_call(
        {
            "session_id": "cc-1",
            "hook_event_name": "PreToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": "/repo/a.py", "url": "https://x.example/a"},
        },
        adapter="claude-code",
    )
    intent = decoded.intent
    assert decoded.adapter == "claude_code"
    assert intent.tool_name == "tool.read"
    assert intent.context.session_id == "cc-1"
    assert intent.context.auth_context == {
        "hook_event_name": "PreToolUse",
        "adapter": "claude_code",
    }
    assert sorted((t.kind, t.value, t.operation) for t in intent.targets) == [
        ("path", "/repo/a.py", "read"),
        ("url", "https://x.example/a", "read"),
    ]


@pytest.mark.parametrize(
    ("name", "args", "target"),
    [
        ("Write", {"path": "/a"}, ("path", "/a", "write")),
        ("Bash", {"cmd": "ls"}, ("other", "ls", "execute")),
        ("Task", {"prompt": "do it"}, ("other", "do it", "delegate")),
    ],
)
def test_claude_code_target_inference(
    name: str, args: dict[str, Any], target: tuple[str, str, str]
) -> None:
    intent = decode_tool_call({"name": name, "input": args}, adapter="claudecode").intent
    assert [(t.kind, t.value, t.operation) for t in intent.targets] == [target]


def test_claude_code_bash_is_destructive_exec() -> None:
    intent = decode_tool_call(
        {"tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}, adapter="claude_code"
    ).intent
    (t,) = intent.targets
    assert (t.endpoint_class, t.destructive) == ("proc.exec", True)


def test_claude_code_requires_a_name() -> None:
    with pytest.raises(InvalidInput, match="claude code tool call name is required"):
        decode_tool_call({"tool_input": {}}, adapter="claude_code")


def test_unknown_adapter() -> None:
    with pytest.raises(InvalidInput, match=r"^unsupported adapter: gemini$"):
        decode_tool_call({"name": "x"}, adapter="gemini")


def test_empty_adapter_means_mcp() -> None:
    assert decode_tool_call({"name": "x"}, adapter="").adapter == "mcp"
    assert "mcp" in ADAPTERS


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ('{"name": "x", "args": [1]}', "args"),
        ('{"name": 5}', "name"),
        ('{"name": "x", "targets": {"kind": "path"}}', "targets"),
        (
            '{"name": "x", "targets": [{"kind": "path", "value": "/a", "readOnlyHint": "yes"}]}',
            "targets[0].readOnlyHint",
        ),
        ('{"name": "x", "context": {"identity": ["a"]}}', "context.identity"),
        ('{"name": "x", "context": {"credential_scopes": "a"}}', "context.credential_scopes"),
        (
            '{"name": "x", "script": {"steps": [{"name": "a", "args": "s"}]}}',
            "script.steps[0].args",
        ),
        ('{"name": "x", "created_at": "yesterday"}', "created_at"),
    ],
)
def test_malformed_native_payload_names_the_field(payload: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_tool_call(payload)
    assert err.value.exit_code == 6
    assert err.value.location is not None and err.value.location.field == field
    assert field in str(err.value)


@pytest.mark.parametrize("payload", ["", "   ", "{", "[]", "null", "42", b"\xff\xfe"])
def test_non_object_payloads_are_invalid_input(payload: str | bytes) -> None:
    with pytest.raises(InvalidInput, match="parse mcp tool call"):
        decode_tool_call(payload)


def test_normalization_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unsupported target kind"):
        decode_tool_call({"name": "x", "targets": [{"kind": "planet", "value": "mars"}]})


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unsupported --profile"):
        decode_tool_call({"name": "x"}, profile="lax")


def test_intent_request_normalizes_to_the_same_digest() -> None:
    decoded = decode_tool_call(
        {
            "name": "tool.write",
            "args": {"b": 1, "a": [2]},
            "target": "/tmp/x",
            "context": FULL_CONTEXT,
        }
    )
    again = normalize_intent(json.loads(json.dumps(decoded.intent_request)))
    assert intent_digest(again) == intent_digest(decoded.intent)


def test_same_call_through_every_adapter_has_one_digest() -> None:
    args = {"path": "/tmp/x", "n": 1}
    payloads = {
        "mcp": {"name": "tool.write", "args": args},
        "openai": {"function": {"name": "tool.write", "arguments": json.dumps(args)}},
        "anthropic": {"type": "tool_use", "name": "tool.write", "input": args},
        "langchain": {"tool": "tool.write", "tool_input": args},
    }
    digests = {
        adapter: intent_digest(decode_tool_call(p, adapter=adapter).intent)
        for adapter, p in payloads.items()
    }
    assert len(set(digests.values())) == 1, digests


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    [
        "name",
        "args",
        "target",
        "targets",
        "script",
        "context",
        "function",
        "arguments",
        "input",
        "tool",
        "tool_input",
        "tool_name",
        "created_at",
        "delegation",
        "kind",
        "value",
        "steps",
    ]
)
_PAYLOAD = st.dictionaries(_KEYS, _JSON | st.dictionaries(_KEYS, _JSON, max_size=3), max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_PAYLOAD, adapter=st.sampled_from(ADAPTERS))
def test_any_payload_decodes_or_raises_invalid_input(payload: dict[str, Any], adapter: str) -> None:
    try:
        first = decode_tool_call(json.dumps(payload), adapter=adapter)
    except InvalidInput as err:
        assert str(err)
        return
    second = decode_tool_call(payload, adapter=adapter)
    assert intent_digest(first.intent) == intent_digest(second.intent)
    assert first.intent.tool_name


@pytest.mark.parametrize(
    ("payload", "adapter", "key"),
    [
        ('{"name": "tool.read", "name": "tool.delete"}', "mcp", "'name'"),
        ('{"name": "tool.read", "Name": "tool.delete"}', "mcp", "'Name'"),
        ({"name": "tool.read", "args": {"Path": "/a", "path": "/b"}}, "mcp", "'path'"),
        ('{"function": {"name": "x", "arguments": "{\\"a\\": 1, \\"A\\": 2}"}}', "openai", "'A'"),
        ('{"tool": "x", "tool_input": "{\\"q\\": 1, \\"q\\": 2}"}', "langchain", "'q'"),
    ],
)
def test_repeated_or_case_variant_keys_are_rejected(
    payload: str | dict[str, Any], adapter: str, key: str
) -> None:
    # Two spellings of one key must never be read two ways (as for intent files).
    with pytest.raises(InvalidInput, match="duplicate key " + key) as err:
        decode_tool_call(payload, adapter=adapter)
    assert err.value.exit_code == 6
