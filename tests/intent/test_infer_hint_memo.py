"""Remembered tool-name hints give the endpoint class the substring scans give."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.intent import infer

NAMES = st.one_of(
    st.sampled_from(
        ["tool.exec", "Tool.Format", "fs/READ", " shell.run ", "a/b/remove", "x", "", "tool.write"]
    ),
    st.text(alphabet="abcdefghilmnoprstuwx./ -_\t", max_size=14),
)
OPS = st.sampled_from(["", "read", "write", "rm", "exec", "execute", "resolve", "post", "x"])
KINDS = st.sampled_from(["path", "url", "host", "other", "repo", "x"])


def scan(kind: str, operation: str, tool_name: str) -> str:
    """The inference without the memo: each hint set scanned on every call."""
    has = infer._has_hint
    if kind == "path":
        if operation in infer._PATH_READ_OPS:
            return "fs.read"
        if operation in infer._PATH_WRITE_OPS:
            return "fs.write"
        if operation in infer._PATH_DELETE_OPS:
            return "fs.delete"
        if has(tool_name, infer._READ_HINTS):
            return "fs.read"
        if has(tool_name, infer._WRITE_HINTS):
            return "fs.write"
        if has(tool_name, infer._DELETE_HINTS):
            return "fs.delete"
        return "other"
    if kind in ("url", "host"):
        return "net.dns" if operation in infer._DNS_OPS else "net.http"
    if kind == "other" and (operation in infer._EXEC_OPS or has(tool_name, infer._EXEC_HINTS)):
        return "proc.exec"
    return "other"


@settings(max_examples=400, deadline=None)
@given(KINDS, OPS, NAMES)
def test_memo_equals_scan(kind: str, operation: str, tool_name: str) -> None:
    expected = scan(kind, operation, tool_name)
    assert infer.infer_endpoint_class(kind, operation, tool_name) == expected
    assert infer.infer_endpoint_class(kind, operation, tool_name) == expected  # memo hit


def test_memo_is_bounded_and_still_right() -> None:
    for index in range(5000):
        infer.infer_endpoint_class("other", "", f"tool.n{index}")
    assert len(infer._HINT_MEMO) <= 4096
    assert infer.infer_endpoint_class("other", "", "tool.shell9999") == "proc.exec"
    assert infer.infer_endpoint_class("path", "", "tool.format") == "fs.delete"  # 'rm' in 'format'
