"""Issue 11 A5: paths are normalized before allow/deny matching."""

from __future__ import annotations

import pytest

from gait.engine import evaluate
from gait.engine.matchers import path_forms

POLICY = """rules:
  - name: ws
    effect: allow
    endpoint:
      path_allowlist: [/workspace/**]
      path_denylist: [/workspace/secrets/**]
"""
CTX = {"identity": "agent", "workspace": "/workspace", "risk_class": "low"}


def _decide(compiled, value: str):
    target = {"kind": "path", "value": value, "operation": "read"}
    return evaluate(
        compiled, {"tool_name": "fs.read", "args": {}, "targets": [target], "context": CTX}
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("/workspace/../etc/passwd", "endpoint_path_not_allowlisted"),
        ("/workspace/./secrets/key", "endpoint_path_denied"),
        ("/workspace//secrets/key", "endpoint_path_denied"),
        ("/workspace/a/../secrets/key", "endpoint_path_denied"),
        ("/workspace/../../../etc/passwd", "endpoint_path_not_allowlisted"),
        ("/workspace\\..\\etc\\passwd", "endpoint_path_not_allowlisted"),
        ("/workspace/secrets\\key", "endpoint_path_denied"),
        ("../workspace/x", "endpoint_path_not_allowlisted"),
    ],
)
def test_tricky_paths_are_denied(compile_yaml, value: str, reason: str) -> None:
    d = _decide(compile_yaml(POLICY), value)
    assert d.verdict == "block", value
    assert reason in d.reason_codes


@pytest.mark.parametrize(
    "value", ["/workspace/a.txt", "/workspace/./a.txt", "/workspace//b/c", "/workspace/b/../a"]
)
def test_equivalent_spellings_of_allowed_paths_stay_allowed(compile_yaml, value: str) -> None:
    assert _decide(compile_yaml(POLICY), value).verdict == "allow"


def test_path_forms() -> None:
    assert path_forms("/a//b/./c/..") == ("/a/b",)
    assert path_forms("/..") is None
    assert path_forms("a\\..\\..\\b") is None
