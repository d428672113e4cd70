"""pytest plugin (entry point ``pytest11``: ``gait``): the ``gait_policy`` fixture.

::

    def test_prod_blocks_deletes(gait_policy):
        policy = gait_policy("policies/prod.yaml")
        assert policy.evaluate({"tool_name": "fs.delete", ...}).verdict == "block"

    def test_decisions_snapshot(gait_policy, snapshot):  # syrupy
        assert gait_policy("policies/prod.yaml").evaluate("tests/intents/read.json") == snapshot

A relative policy path is looked up in the current directory first, then in
the pytest root directory. Each policy is compiled once per test session.

pytest loads this module for every run in an environment where gait is
installed, so it imports nothing from gait at start-up: the engine is loaded
the first time a test asks for a policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gait.regress.harness import PolicyUnderTest

__all__ = ["gait_policy"]


@pytest.fixture(scope="session")
def _gait_policy_cache() -> dict[tuple[str, int, int], Any]:
    return {}


def _resolve(path: str | os.PathLike[str], rootpath: Path) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    rooted = rootpath / candidate
    return rooted if rooted.exists() else candidate


@pytest.fixture
def gait_policy(
    request: pytest.FixtureRequest, _gait_policy_cache: dict[tuple[str, int, int], Any]
) -> Callable[[str | os.PathLike[str]], PolicyUnderTest]:
    """``gait_policy(path)`` → a compiled :class:`gait.regress.harness.PolicyUnderTest`."""
    rootpath = Path(request.config.rootpath)

    def load(path: str | os.PathLike[str]) -> PolicyUnderTest:
        from gait.regress.harness import PolicyUnderTest

        resolved = _resolve(path, rootpath)
        try:
            stat = resolved.stat()
            key = (str(resolved.resolve()), stat.st_mtime_ns, stat.st_size)
        except OSError:
            return PolicyUnderTest(resolved)  # raises the policy loader's own error
        cached = _gait_policy_cache.get(key)
        if cached is None:
            cached = _gait_policy_cache[key] = PolicyUnderTest(resolved)
        return cached

    return load
