"""The pure half of `gait mcp wrap`: tools/call -> ToolCall payload, tokens, names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gait.errors import InvalidInput
from gait.mcp.decode import decode_tool_call
from gait.mcp.gateway_call import (
    META_APPROVAL_TOKENS,
    META_DELEGATION_TOKENS,
    annotation_hints,
    build_tool_call,
    derive_targets,
    forwarded_meta,
    refusal_text,
    tokens_from_meta,
    tool_operation,
    trace_file_name,
)


def test_declared_annotations_become_snake_case_hints_and_undeclared_are_omitted() -> None:
    hints = annotation_hints({"readOnlyHint": False, "destructiveHint": True, "title": "x"})
    assert hints == {"read_only_hint": False, "destructive_hint": True}
    assert annotation_hints(None) == {}


def test_non_boolean_annotation_values_are_ignored() -> None:
    assert annotation_hints({"destructiveHint": "yes"}) == {}


@pytest.mark.parametrize(
    ("name", "hints", "operation"),
    [
        ("read_file", {}, "read"),
        ("deleteFile", {}, "delete"),
        ("write_file", {}, "write"),
        ("run_shell", {}, "execute"),
        ("frobnicate", {}, ""),
        ("frobnicate", {"destructive_hint": True}, "delete"),
        # the server's read-only hint fills a gap; it never overrides a riskier verb
        ("frobnicate", {"read_only_hint": True}, "read"),
        ("delete_cache_view", {"read_only_hint": True}, "delete"),
        ("run_query", {"read_only_hint": True}, "execute"),
        ("write_note", {"read_only_hint": True, "destructive_hint": True}, "write"),
        ("get_item", {"read_only_hint": True}, "read"),
        ("get_item", {"destructive_hint": True}, "read"),
    ],
)
def test_operation_comes_from_risky_name_verbs_then_read_only_hint(
    name: str, hints: dict[str, bool], operation: str
) -> None:
    assert tool_operation(name, hints) == operation


def test_targets_come_from_well_known_argument_names_with_hints_on_each() -> None:
    targets = derive_targets(
        "copy_files",
        {"paths": ["/a", "/b", 3], "url": "https://example.com/x", "host": "db", "other": "/no"},
        {"destructiveHint": False, "openWorldHint": True},
    )
    values = [(t["kind"], t["value"]) for t in targets]
    assert values == [
        ("path", "/a"),
        ("path", "/b"),
        ("url", "https://example.com/x"),
        ("host", "db"),
    ]
    for target in targets:
        assert target["operation"] == "write"
        assert target["destructive_hint"] is False
        assert target["open_world_hint"] is True
        assert "read_only_hint" not in target


def test_command_arguments_become_execute_targets() -> None:
    (target,) = derive_targets("tool", {"command": "rm -rf /"}, None)
    assert target["kind"] == "other"
    assert target["operation"] == "execute"


def test_url_given_under_a_path_argument_is_a_url_target() -> None:
    (target,) = derive_targets("read_file", {"path": "file:///etc/passwd"}, None)
    assert target["kind"] == "url"


def test_tool_call_payload_decodes_and_leaves_out_empty_context_fields() -> None:
    payload = build_tool_call(
        "delete_file",
        {"path": "/tmp/x"},
        {"destructiveHint": True},
        {"identity": "agent-7", "workspace": "", "session_id": "s1"},
    )
    assert payload["context"] == {"identity": "agent-7", "session_id": "s1"}
    call = decode_tool_call(payload, adapter="mcp", profile="standard")
    intent = call.intent
    assert intent.tool_name == "delete_file"
    assert intent.context.identity == "agent-7"
    (target,) = intent.targets
    assert target.value == "/tmp/x"
    assert target.destructive is True  # destructive_hint reaches the normalized intent
    assert target.endpoint_class == "fs.delete"


def test_same_call_gives_same_intent_digest() -> None:
    from gait.intent import intent_digest

    def digest() -> str:
        payload = build_tool_call("write_file", {"path": "/p", "content": "c"}, None, {})
        return intent_digest(decode_tool_call(payload).intent)

    assert digest() == digest()


def test_tokens_from_meta_accepts_one_object_or_a_list() -> None:
    token = {"schema_id": "gait.gate.approval_token"}
    approvals, delegations = tokens_from_meta(
        {META_APPROVAL_TOKENS: token, META_DELEGATION_TOKENS: [token, token]}
    )
    assert approvals == [token]
    assert delegations == [token, token]
    assert tokens_from_meta(None) == ([], [])


@pytest.mark.parametrize("bad", ["/etc/passwd", ["/etc/passwd"], 3, [{"a": 1}, "x"]])
def test_tokens_from_meta_rejects_paths_and_non_objects(bad: object) -> None:
    with pytest.raises(InvalidInput, match="gait/approval_tokens"):
        tokens_from_meta({META_APPROVAL_TOKENS: bad})


def test_forwarded_meta_drops_gait_tokens_and_reserved_keys() -> None:
    meta = {
        META_APPROVAL_TOKENS: [{}],
        "io.modelcontextprotocol/clientInfo": {},
        "progressToken": 1,
        "progress_token": 1,
        "example.com/trace": "abc",
    }
    assert forwarded_meta(meta) == {"example.com/trace": "abc"}
    assert forwarded_meta({META_APPROVAL_TOKENS: []}) is None


def test_trace_file_name_is_utc_stamped_and_sequenced() -> None:
    name = trace_file_name("run:mcp/x", 1_700_000_000_123_456_789, 7)
    assert name == "trace_run_mcp_x_20231114T221320.123456789_000007.json"


@given(st.integers(0, 2**62), st.integers(1, 10**5), st.integers(1, 10**5))
def test_trace_file_names_differ_by_sequence(now: int, a: int, b: int) -> None:
    assert (trace_file_name("r", now, a) == trace_file_name("r", now, b)) == (a == b)


def test_refusal_text_tells_the_agent_how_to_pass_an_approval() -> None:
    text = refusal_text(
        {
            "verdict": "require_approval",
            "reason_codes": ["write_requires_approval"],
            "intent_digest": "ab",
            "policy_digest": "cd",
        }
    )
    assert "verdict=require_approval" in text
    assert "intent_digest=ab" in text
    assert META_APPROVAL_TOKENS in text


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_arg_names = st.sampled_from(["path", "paths", "url", "host", "command", "q", "file", "uris"])


@given(
    name=st.text(min_size=1, max_size=16).filter(str.strip),
    arguments=st.dictionaries(_arg_names | st.text(max_size=8), _json, max_size=4),
    annotations=st.dictionaries(
        st.sampled_from(["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]),
        st.booleans() | st.none(),
    ),
)
def test_any_call_decodes_or_is_invalid_input(
    name: str, arguments: dict[str, object], annotations: dict[str, object]
) -> None:
    """Whatever the agent sends, the gateway gets an intent or InvalidInput, never a crash."""
    payload = build_tool_call(name, arguments, annotations, {"identity": "a"})
    try:
        call = decode_tool_call(payload)
    except InvalidInput:
        return
    # targets come only from the arguments' own strings, each marked as MCP-discovered
    strings = {
        v.strip()
        for value in arguments.values()
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str)
    }
    for target in call.intent.targets:
        assert target.value.strip() in strings
        assert target.discovery_method == "mcp"


def test_refusal_text_says_a_forwarded_call_may_have_run() -> None:
    text = refusal_text(
        {"verdict": "allow", "forwarded": True, "reason_codes": ["ok"], "error": "closed"}
    )
    assert "may or may not have run: closed" in text
    assert "not executed" not in text
    assert refusal_text({"verdict": "allow", "error": "gone"}).endswith(": gone")


def test_argument_names_match_without_case_underscores_or_dashes() -> None:
    # A server that spells file_path as filePath must not hide the path from the policy.
    targets = derive_targets(
        "delete_file",
        {"filePath": "/etc/a", "File-Name": ["/etc/b"], "URL": "https://x.test/", "Cmd": "ls"},
        None,
    )
    values = sorted((t["kind"], t["value"], t["operation"]) for t in targets)
    assert values == [
        ("other", "ls", "execute"),
        ("path", "/etc/a", "delete"),
        ("path", "/etc/b", "delete"),
        ("url", "https://x.test/", "delete"),
    ]
    # file_path and filepath are one name: one target per value, not two
    assert len(derive_targets("read_file", {"file_path": "/a"}, None)) == 1
