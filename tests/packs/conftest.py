"""Fixtures for pack tests: the demo runpack in a directory of its own."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.runpack.demo import build_demo_runpack

PRODUCER = "0.1.0"
DEMO_ZIP = build_demo_runpack(PRODUCER).zip_bytes


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    path = tmp_path / "runpack_run_demo.zip"
    path.write_bytes(DEMO_ZIP)
    return path


def cli(*args: str) -> tuple[int, str]:
    """``gait <args>`` in-process: (exit code, stdout)."""
    from gait.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture
def gait_inproc() -> Callable[..., tuple[int, str]]:
    return cli


@pytest.fixture
def raw_zip_builder() -> Callable[..., bytes]:
    from tests.runpack.conftest import build_raw_zip

    return build_raw_zip
