"""Remembered target / provenance / context normalization equals the general path.

normalize remembers each normalized part per raw fields (the target without its
value, the context without its request_id). These properties run random raw
parts through the remembering functions twice (first a miss, then a hit), and a
second part sharing the first one's remembered shape, and compare every result
or rejection with the general functions run on the same input.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.intent import normalize
from gait.intent._raw import RawArgProvenance, RawContext, RawIntent, RawTarget

WORDS = [
    "",
    " ",
    "path",
    "Path ",
    "URL",
    "url",
    "host",
    "\tHOST\u3000",
    "other",
    "bucket",
    "read",
    "Write",
    "delete",
    "exec",
    "resolve",
    "fs.read",
    "net.http",
    "NET.DNS",
    "proc.exec",
    "bogus",
    "mcp-tool",
    "MCP Tool",
    "dynamic_mcp",
    "unknown",
    "user",
    "External",
    "tool_output",
    "\u0130nternal",
    "\u00c9t\u00e9",
    "a" * 64,
    "A" * 64,
    "sha256:x",
    "high",
    "Low ",
    "plan",
    "apply",
    "required",
    "best_effort",
    "example.COM",
    "*.example.com",
]
URLISH = [
    "https://Collector.Evil.test/upload",
    " https://user:pw@example.com:8443/a?b=c ",
    "http://[::1]:80/x",
    "http://[fe80::1%25en0]/",
    "https://ex%41mple.com/",
    "https://exa mple.com/",
    "http://%zz/",
    "//no-scheme.example/p",
    "ftp://h\u00e9llo.test/",
    "example.com:443",
    "[::1]",
    "/repo/../etc/passwd",
    "/repo/README.md",
    "C:\\repo\\x",
    "",
    "  ",
]
text = st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=6))


def field(*likely: str | None) -> st.SearchStrategy[Any]:
    """Mostly values that pass normalization, sometimes anything."""
    common = st.sampled_from([None, *likely])
    return st.one_of(common, common, common, common, text)


values = st.one_of(st.none(), st.sampled_from(URLISH), st.text(max_size=12))
# 1 and 0 stand for hand-built RawTargets: only True counts (1 == True, yet 1 is not True)
flags = st.sampled_from([None, True, False, 1, 0])
tools = st.sampled_from(["fs.read", "http.post", "fs.write", "tool.format", "x/rm_tool", "run"])
targets = st.builds(
    RawTarget,
    kind=field("path", "Path ", "URL", " url", "host", "\tHOST\u3000", "other", "bucket"),
    value=values,
    operation=field("read", "Write", "delete", "exec", "resolve", "post", ""),
    sensitivity=field("", "High", "secret"),
    endpoint_class=field("", "fs.read", "net.http", "NET.DNS", "proc.exec", "other"),
    endpoint_domain=field("", " ", "example.COM", "*.example.com", "h\u00e9llo.test"),
    destructive=flags,
    discovery_method=field("", "unknown", "dynamic-mcp", "MCP Tool", "static"),
    read_only_hint=flags,
    destructive_hint=flags,
    idempotent_hint=flags,
    open_world_hint=flags,
)


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except normalize._Reject as err:
        return ("reject", err.reason)


@pytest.fixture(autouse=True)
def _fresh_memos() -> Any:
    saved = [dict(m) for m in _memos()]
    for memo in _memos():
        memo.clear()
    yield
    for memo, old in zip(_memos(), saved, strict=True):
        memo.clear()
        memo.update(old)


def _memos() -> list[dict[Any, Any]]:
    return [normalize._TARGET_MEMO, normalize._PROVENANCE_MEMO, normalize._CONTEXT_MEMO]


@settings(max_examples=300, deadline=None)
@given(tools, targets, values)
def test_targets_remembered_equal_general(tool: str, raw: RawTarget, other_value: Any) -> None:
    general = outcome(normalize._norm_target_general, tool, raw)
    assert outcome(normalize._norm_target, tool, raw) == general  # miss
    assert outcome(normalize._norm_target, tool, raw) == general  # hit
    # another value under the same remembered shape
    sibling = normalize._replace(raw, value=other_value)
    assert outcome(normalize._norm_target, tool, sibling) == outcome(
        normalize._norm_target_general, tool, sibling
    )


@settings(max_examples=300, deadline=None)
@given(targets, tools, tools)
def test_the_tool_name_is_part_of_the_shape(raw: RawTarget, first: str, second: str) -> None:
    # endpoint_class inference reads tool-name hints
    for tool in (first, second, first):
        assert outcome(normalize._norm_target, tool, raw) == outcome(
            normalize._norm_target_general, tool, raw
        )


@settings(max_examples=200, deadline=None)
@given(tools, st.lists(targets, min_size=1, max_size=6))
def test_target_sequences_equal_general(tool: str, raws: list[RawTarget]) -> None:
    # shapes seen earlier in the run are hits for later targets
    for raw in raws:
        assert outcome(normalize._norm_target, tool, raw) == outcome(
            normalize._norm_target_general, tool, raw
        )


@pytest.mark.parametrize(
    "flag",
    ["destructive", "read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"],
)
def test_hand_built_int_flags_are_not_true(flag: str) -> None:
    tool = "fs.read"
    real = RawTarget(kind="path", value="/a", operation="read", **{flag: True})
    odd = RawTarget(kind="path", value="/a", operation="read", **{flag: 1})
    assert getattr(normalize._norm_target(tool, real), flag) is True  # remembered first
    assert getattr(normalize._norm_target(tool, odd), flag) is False
    assert normalize._norm_target(tool, odd) == normalize._norm_target_general(tool, odd)


def test_a_remembered_shape_keeps_each_calls_value_and_domain() -> None:
    first = RawTarget(kind="url", value=" https://A.example/x ", operation="post")
    second = RawTarget(kind="url", value="https://user@B.example:8443/y", operation="post")
    assert normalize._norm_target("http.post", first).endpoint_domain == "a.example"
    hit = normalize._norm_target("http.post", second)
    assert (hit.value, hit.endpoint_domain) == ("https://user@B.example:8443/y", "b.example")
    assert hit == normalize._norm_target_general("http.post", second)
    with pytest.raises(normalize._Reject, match="targets require kind and value"):
        normalize._norm_target("http.post", RawTarget(kind="url", value=" ", operation="post"))


def test_tool_name_hints_are_part_of_the_shape() -> None:
    raw = RawTarget(kind="path", value="/a", operation="touch")
    assert normalize._norm_target("x/read_file", raw).endpoint_class == "fs.read"
    assert normalize._norm_target("x/write_file", raw).endpoint_class == "fs.write"


def test_request_ids_are_trimmed_on_hits() -> None:
    base = {"identity": "bot", "workspace": "/w", "risk_class": "low"}
    assert normalize._norm_context(RawContext(**base, request_id="r1")).request_id == "r1"
    hit = normalize._norm_context(RawContext(**base, request_id=" r2\u3000"))
    assert hit.request_id == "r2"
    assert normalize._norm_context(RawContext(**base)).request_id == ""


def test_unhashable_fields_take_the_general_path() -> None:
    odd = RawTarget(kind="path", value="/a", operation=["read"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        normalize._norm_target_general("fs.read", odd)
    with pytest.raises(TypeError):
        normalize._norm_target("fs.read", odd)  # as the general path fails on it
    assert normalize._TARGET_MEMO == {}
    ctx = RawContext(identity="i", workspace="/w", risk_class="low", auth_context={" k ": " v "})
    assert normalize._norm_context(ctx) == normalize._norm_context_general(ctx)
    assert normalize._CONTEXT_MEMO == {}


provenances = st.builds(
    RawArgProvenance,
    arg_path=field("$.path", " $.body ", "$"),
    source=field("user", "External", "tool_output", "system "),
    source_ref=field("", "web:page-42", " x "),
    integrity_digest=field("", "a" * 64, "A" * 64, " " + "b" * 64),
)


@settings(max_examples=200, deadline=None)
@given(provenances)
def test_provenance_remembered_equal_general(raw: RawArgProvenance) -> None:
    general = outcome(normalize._norm_provenance_general, raw)
    assert outcome(normalize._norm_provenance_entry, raw) == general
    assert outcome(normalize._norm_provenance_entry, raw) == general


strings = st.one_of(st.none(), st.lists(st.one_of(st.none(), text), max_size=3))
contexts = st.builds(
    RawContext,
    identity=field("dev-bot", " Dev Bot "),
    workspace=field("/repo", "C:\\repo", " /repo "),
    risk_class=field("low", "High ", "medium"),
    phase=field("", "plan", "Apply", "later"),
    job_id=field("", "j1"),
    session_id=field("", " s1 "),
    request_id=field("", "r1", " r2 "),
    auth_context=st.one_of(st.none(), st.just({}), st.just({" a ": " b "})),
    credential_scopes=strings,
    environment_fingerprint=field("", "fp"),
    context_set_digest=field("", "c" * 64, "C" * 64),
    context_evidence_mode=field("", "required", "Best_Effort", "always"),
    context_refs=strings,
)


@settings(max_examples=300, deadline=None)
@given(contexts, field("r1", " r2 ", "\tr3\u3000"))
def test_context_remembered_equal_general(raw: RawContext, other_request: Any) -> None:
    general = outcome(normalize._norm_context_general, raw)
    assert outcome(normalize._norm_context, raw) == general
    assert outcome(normalize._norm_context, raw) == general
    sibling = normalize._replace(raw, request_id=other_request)
    assert outcome(normalize._norm_context, sibling) == outcome(
        normalize._norm_context_general, sibling
    )
    sibling = normalize._replace(raw, auth_context={"k": other_request})
    assert outcome(normalize._norm_context, sibling) == outcome(
        normalize._norm_context_general, sibling
    )


def test_memos_are_bounded() -> None:
    limit = normalize._MEMO_LIMIT
    for i in range(limit + 50):
        normalize._norm_target("fs.read", RawTarget(kind="path", value="/a", operation=f"op{i}"))
        normalize._norm_context(RawContext(identity=f"id{i}", workspace="/w", risk_class="low"))
    assert len(normalize._TARGET_MEMO) == limit
    assert len(normalize._CONTEXT_MEMO) == limit
    late = RawContext(identity=f"id{limit + 49}", workspace="/w", risk_class="low")
    assert normalize._norm_context(late).identity == f"id{limit + 49}"


args_values = st.one_of(
    st.none(),
    st.just({}),
    st.dictionaries(
        st.sampled_from(["path", " path ", "Path", "", " ", "url", "body"]),
        st.one_of(st.sampled_from([" v ", "x", 1, 2.5, True, None]), st.just({" k ": [" a "]})),
        max_size=3,
    ),
)
GOOD_CONTEXT = RawContext(identity="bot", workspace="/w", risk_class="low")
# lists of valid entries, sometimes repeating one: dedup and order matter there
good_targets = st.lists(
    st.builds(
        RawTarget,
        kind=st.sampled_from(["path", "url", "Host"]),
        value=st.sampled_from(["/b", "/a", " /a", "https://x.test/", "y.test"]),
        operation=st.sampled_from([None, "read", "write"]),
        destructive=flags,
    ),
    min_size=2,
    max_size=4,
).map(lambda items: items + items[:1])
good_provenance = st.lists(
    st.builds(
        RawArgProvenance,
        arg_path=st.sampled_from(["$.b", "$.a"]),
        source=st.sampled_from(["user", "External"]),
    ),
    min_size=2,
    max_size=4,
).map(lambda items: items + items[:1])
plain_intents = st.builds(
    RawIntent,
    tool_name=field("fs.read", " FS.Write ", "http.post", ""),
    args=args_values,
    targets=st.one_of(st.none(), st.lists(st.one_of(st.none(), targets), max_size=3), good_targets),
    arg_provenance=st.one_of(
        st.none(), st.lists(st.one_of(st.none(), provenances), max_size=3), good_provenance
    ),
    context=st.one_of(st.none(), contexts, st.just(GOOD_CONTEXT), st.just(GOOD_CONTEXT)),
    relationship=st.one_of(st.none(), st.just({}), st.just({"parent": "x"})),
    schema_id=field("gait.gate.intent_request", "other"),
    schema_version=field("1.0.0", "2"),
    created_at=field("", "2026-01-01T00:00:00Z"),
    producer_version=field("", "0.1.0"),
)


@settings(max_examples=250, deadline=None)
@given(plain_intents)
def test_plain_intents_normalize_as_on_the_script_capable_path(raw: RawIntent) -> None:
    # _normalize_script is the path every intent took before plain ones got their own
    fast = outcome(normalize._normalize, raw)
    assert fast == outcome(normalize._normalize_script, raw)
    assert outcome(normalize._normalize, raw) == fast  # remembered parts now
    if fast[0] == "ok":
        assert fast[1].script is None and fast[1].script_hash == ""


def test_plain_intents_keep_each_request_id() -> None:
    def intent(request_id: str | None) -> RawIntent:
        context = RawContext(
            identity="bot", workspace="/w", risk_class="low", request_id=request_id
        )
        return RawIntent(
            tool_name="t", targets=[RawTarget(kind="path", value="/x")], context=context
        )

    for request_id, expected in (("r1", "r1"), (" r2 ", "r2"), (None, ""), ("r3", "r3"), ("", "")):
        assert normalize._normalize(intent(request_id)).context.request_id == expected
