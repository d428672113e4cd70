"""Fixtures for pack tests: the demo runpack in a directory of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gait.runpack.demo import build_demo_runpack
from tests.inproc import run_cli

PRODUCER = "0.1.0"
DEMO_ZIP = build_demo_runpack(PRODUCER).zip_bytes


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    path = tmp_path / "runpack_run_demo.zip"
    path.write_bytes(DEMO_ZIP)
    return path


@pytest.fixture
def gait_inproc() -> Callable[..., tuple[int, str]]:
    return run_cli


@pytest.fixture
def raw_zip_builder() -> Callable[..., bytes]:
    from tests.runpack.conftest import build_raw_zip

    return build_raw_zip
