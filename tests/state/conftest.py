"""Fixtures for the state-store tests: a real Redis per test module where needed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_server import RedisServer, require_redis_server


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def shared_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for tests that only talk to it: ``GAIT_TEST_REDIS_URL`` (CI) or our own."""
    url = os.environ.get("GAIT_TEST_REDIS_URL", "").strip()
    if url:
        yield url
        return
    require_redis_server()
    server = RedisServer(tmp_path_factory.mktemp("redis"), fsync="everysec").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis this test owns (it may stop, kill and restart it)."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    """A fresh key prefix, so tests sharing one Redis never see each other's keys."""
    return f"gaittest{uuid.uuid4().hex[:12]}"
