"""Inlined trims and the remembered Claude Code tool names give what the general code gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import gait.mcp.decode as dec

TEXTS = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "path", " Read ", "\u3000x\u3000", "a b", "\x85", "Bash", "web-fetch"]
    ),
    st.text(max_size=8),
)
FLAGS = st.one_of(st.none(), st.booleans())


@st.composite
def call_targets(draw: st.DrawFn) -> dec.CallTarget:
    return dec.CallTarget(
        kind=draw(TEXTS),
        value=draw(TEXTS),
        operation=draw(TEXTS),
        sensitivity=draw(TEXTS),
        discovery_method=draw(TEXTS),
        discovery_method_alias=draw(TEXTS),
        read_only_hint=draw(FLAGS),
        read_only_hint_alias=draw(FLAGS),
        destructive_hint=draw(FLAGS),
        destructive_hint_alias=draw(FLAGS),
        idempotent_hint=draw(FLAGS),
        idempotent_hint_alias=draw(FLAGS),
        open_world_hint=draw(FLAGS),
        open_world_hint_alias=draw(FLAGS),
    )


@settings(max_examples=300, deadline=None)
@given(call_targets())
def test_plain_target_equals_the_annotated_branch(target: dec.CallTarget) -> None:
    # An annotation map with no key the decoder reads takes the general branch,
    # which must produce the same mapping (same keys in the same order).
    general = dec._target(dec.msgspec.structs.replace(target, annotations={"unrelated": 1}))
    plain = dec._target(target)
    assert plain == general
    assert list(plain) == list(general)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXTS.filter(lambda t: t is not None), st.text(max_size=12)))
def test_remembered_tool_name_equals_the_mapping(raw: str) -> None:
    expected = dec._claude_code_tool_name(raw)
    assert dec.claude_code_tool_name(raw) == expected
    assert dec.claude_code_tool_name(raw) == expected  # second call: from the memo


def test_tool_name_memo_is_bounded() -> None:
    for index in range(1500):
        dec.claude_code_tool_name(f"Custom Tool {index}")
    assert len(dec._CLAUDE_MEMO) <= 1024
    assert dec.claude_code_tool_name("Custom Tool 1499") == "tool.custom_tool_1499"
    assert dec.claude_code_tool_name(" Bash ") == "tool.exec"


def _trim(value: str | None) -> str:
    return value.strip(dec._SPACE) if value else ""


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS, TEXTS, TEXTS, TEXTS)
def test_context_fields_trimmed_as_before(
    risk: str | None, phase: str | None, job: str | None, request: str | None, env: str | None
) -> None:
    ctx = dec.CallContext(
        identity="i",
        workspace="w",
        session_id="s",
        risk_class=risk,
        phase=phase,
        job_id=job,
        request_id=request,
        environment_fingerprint=env,
    )
    built, _ = dec.build_intent_request(dec.ToolCall(name="tool.x", context=ctx))
    expected: dict[str, Any] = {
        "identity": "i",
        "workspace": "w",
        "risk_class": _trim(risk) or dec.DEFAULT_RISK_CLASS,
        "phase": _trim(phase),
        "job_id": _trim(job),
        "session_id": "s",
        "request_id": _trim(request),
        "environment_fingerprint": _trim(env),
    }
    assert built["context"] == {k: v for k, v in expected.items() if v}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["path", "file_path", "command", "cmd", "url"]), TEXTS))
def test_first_text_as_before(args: dict[str, Any]) -> None:
    keys = ("path", "file_path", "command", "cmd", "url")
    expected = next((_trim(v) for k in keys if isinstance(v := args.get(k), str) and _trim(v)), "")
    assert dec._first_text(args, *keys) == expected
