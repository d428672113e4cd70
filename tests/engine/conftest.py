from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


INTENT_BASE: dict = {
    "tool_name": "tool.read",
    "args": {"path": "/repo/a.txt"},
    "targets": [{"kind": "path", "value": "/repo/a.txt", "operation": "read"}],
    "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
    "context": {"identity": "agent", "workspace": "/repo", "risk_class": "low"},
}


def make_intent(**overrides: object) -> dict:
    """A valid raw intent; keyword arguments replace top-level fields, ``context`` is merged."""
    import copy

    intent = copy.deepcopy(INTENT_BASE)
    for key, value in overrides.items():
        if key == "context":
            intent["context"].update(value)  # type: ignore[arg-type]
        else:
            intent[key] = value
    return intent


def compile_text(text: str):
    from gait.policy import compile_policy

    return compile_policy(text, use_cache=False)


@pytest.fixture
def intent():
    """``intent(**overrides)`` → a valid raw intent mapping."""
    return make_intent


@pytest.fixture
def decide():
    """``decide(policy_yaml, **intent_overrides)`` → Decision."""
    from gait.engine import evaluate

    def run(policy_text: str, **overrides: object):
        return evaluate(compile_text(policy_text), make_intent(**overrides))

    return run


@pytest.fixture
def compile_yaml():
    """``compile_yaml(policy_text)`` → CompiledPolicy (no cache)."""
    return compile_text
