from __future__ import annotations

import pytest


def compile_text(text: str):
    from gait.policy import compile_policy

    return compile_policy(text, use_cache=False)


@pytest.fixture
def compile_yaml():
    return compile_text


CTX_HIGH = {"identity": "agent", "workspace": "/workspace", "risk_class": "high"}
CTX_LOW = {"identity": "agent", "workspace": "/workspace", "risk_class": "low"}
