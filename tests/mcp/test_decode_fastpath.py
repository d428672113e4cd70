"""The decoder's fast path for call text must give what the general path gives: same call or same error."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import gait.mcp.decode as dec
from gait.errors import GaitError

ADAPTER_KEYS = {
    "mcp": ["name", "args", "target", "targets", "context", "script", "server", "created_at"],
    "openai": ["function", "name", "arguments"],
    "anthropic": ["type", "name", "input"],
    "langchain": ["tool", "tool_input"],
    "claude_code": ["tool_name", "tool_input", "name", "input", "session_id", "hook_event_name"],
}
INNER_KEYS = [
    "kind", "value", "operation", "path", "identity", "workspace", "session_id", "run_id",
    "steps", "name", "args", "arguments", "readOnlyHint", "annotations", "command",
]  # fmt: skip
TOOL_NAMES = ["tool.read", " Tool.Write ", "Bash", "read", "", "x"]


@contextlib.contextmanager
def general_only() -> Iterator[None]:
    """Disable both fast paths, so the decoder runs its general (checked) path."""
    shape, value = dec._fast_shape, dec._fast_json
    dec._fast_shape = lambda data, adapter: None  # type: ignore[assignment]
    dec._fast_json = lambda data: dec._UNPROVEN  # type: ignore[assignment]
    try:
        yield
    finally:
        dec._fast_shape, dec._fast_json = shape, value  # type: ignore[assignment]


def outcome(data: bytes, adapter: str) -> tuple[str, Any]:
    try:
        call = dec.decode_tool_call(data, adapter=adapter)
    except GaitError as err:
        return "error", (type(err).__name__, err.message, err.exit_code, err.details)
    return "ok", call


def pairs_text(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object from key/value pairs, repeated keys kept (json.dumps would merge them)."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TOOL_NAMES),
    st.text(max_size=6),
)


def keys(base: list[str]) -> st.SearchStrategy[str]:
    # mostly exact names; some case variants (a repeat once folded) and unknown keys
    return st.one_of(
        st.sampled_from(base),
        st.sampled_from(base),
        st.sampled_from(base),
        st.sampled_from(base).map(str.upper),
        st.text(max_size=4),
    )


def objects(base: list[str], depth: int) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(keys(base), values(depth)), max_size=5).map(pairs_text)


def values(depth: int) -> st.SearchStrategy[str]:
    text = st.one_of(st.sampled_from(TOOL_NAMES), st.text(max_size=6)).map(json.dumps)
    if depth <= 0:
        return st.one_of(text, text, scalars.map(json.dumps))
    inner = objects(INNER_KEYS, depth - 1)
    return st.one_of(
        text,
        text,
        scalars.map(json.dumps),
        inner,
        inner,
        st.lists(inner, max_size=2).map(lambda xs: "[" + ",".join(xs) + "]"),
        inner.map(json.dumps),  # an object given as a JSON string (openai/langchain args)
    )


def well_typed(adapter: str) -> st.SearchStrategy[str]:
    """A payload of the adapter's shape, with some unknown keys."""
    name = st.sampled_from(TOOL_NAMES).map(json.dumps)
    args = objects(INNER_KEYS, 1)
    extra = st.lists(st.tuples(st.text(max_size=4), values(0)), max_size=2)
    target = st.builds(
        lambda kind, value, op: json.dumps({"kind": kind, "value": value, "operation": op}),
        st.sampled_from(["path", "url", "host", "other", "Path "]),
        st.sampled_from(["/repo/a", "https://x.test/a", "x.test", " "]),
        st.sampled_from(["read", "write", "execute", ""]),
    )
    fields = {
        "mcp": [("name", name), ("args", args), ("context", objects(INNER_KEYS, 0)),
                ("targets", st.lists(target, max_size=2).map(lambda xs: f"[{','.join(xs)}]"))],
        "openai": [("function", st.tuples(name, args.map(json.dumps)).map(
            lambda t: pairs_text([("name", t[0]), ("arguments", t[1])])))],
        "anthropic": [("type", st.just('"tool_use"')), ("name", name), ("input", args)],
        "langchain": [("tool", name), ("tool_input", st.one_of(args, args.map(json.dumps)))],
        "claude_code": [("tool_name", name), ("tool_input", args),
                        ("session_id", name), ("hook_event_name", name)],
    }[adapter]  # fmt: skip
    parts = st.tuples(*(st.tuples(st.just(k), v) for k, v in fields))
    return st.tuples(parts, extra).map(lambda pe: pairs_text([*pe[0], *pe[1]]))


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    adapter = draw(st.sampled_from(sorted(ADAPTER_KEYS)))
    text = draw(st.one_of(well_typed(adapter), objects(ADAPTER_KEYS[adapter], 2)))
    if draw(st.booleans()):
        text = draw(st.sampled_from(["", " ", "[", "[]", "null", "1", text + "x", text[:-1]]))
    return adapter, text.encode()


@settings(max_examples=250, deadline=None)
@given(payloads())
def test_fast_path_matches_general_path(case: tuple[str, bytes]) -> None:
    adapter, data = case
    fast = outcome(data, adapter)
    with general_only():
        general = outcome(data, adapter)
    assert fast == general


GOOD = {
    "mcp": {
        "name": "tool.read",
        "args": {"path": "/repo/README.md"},
        "targets": [{"kind": "path", "value": "/repo/README.md", "operation": "read"}],
        "context": {"identity": "bench", "workspace": "/repo", "run_id": "r1"},
    },
    "openai": {"function": {"name": "tool.read", "arguments": '{"path": "/x"}'}},
    "anthropic": {"type": "tool_use", "name": "tool.write", "input": {"path": "/x"}},
    "langchain": {"tool": "tool.search", "tool_input": '{"q": "gait"}'},
    "claude_code": {"tool_name": "Bash", "tool_input": {"command": "ls"}, "session_id": "s"},
}


def test_fast_path_taken_for_plain_payloads() -> None:
    for adapter, payload in GOOD.items():
        data = json.dumps(payload).encode()
        assert dec._fast_shape(data, adapter) is not None, adapter
        fast = outcome(data, adapter)
        with general_only():
            assert outcome(data, adapter) == fast
        assert fast[0] == "ok"


def test_repeated_key_falls_back_and_names_the_key() -> None:
    data = b'{"name": "tool.read", "Name": "tool.write"}'
    assert dec._fast_shape(data, "mcp") is None
    kind, (_cls, message, code, _details) = outcome(data, "mcp")
    assert (kind, code) == ("error", 6)
    assert "duplicate key 'Name'" in message
    nested = b'{"function": {"name": "tool.read", "arguments": "{\\"a\\": 1, \\"A\\": 2}"}}'
    kind, (_cls, message, code, _details) = outcome(nested, "openai")
    assert (kind, code) == ("error", 6)
    assert message.startswith("decode openai arguments: duplicate key")


def test_deep_nesting_takes_the_general_path() -> None:
    deep = b'{"name": "tool.read", "args": {"a": ' + b"[" * 1001 + b"]" * 1001 + b"}}"
    assert dec._fast_shape(deep, "mcp") is None
    fast = outcome(deep, "mcp")
    with general_only():
        assert outcome(deep, "mcp") == fast
