"""Issue 11 B10/B12: non-regular inputs are refused without blocking; big policies are fine."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gait.errors import GaitError, InvalidInput
from gait.gate.tokens import read_token
from gait.intent import read_intent_file
from gait.policy.source import MAX_POLICY_BYTES, read_policy_bytes
from gait.runpack.zipread import ZipFormatError, open_zip
from gait.trace import read_trace


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


READERS = {
    "policy": read_policy_bytes,
    "intent": read_intent_file,
    "token": lambda p: read_token(str(p)),
    "trace": read_trace,
    "zip": open_zip,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_fifo_is_refused_without_hanging(fifo: Path, reader: str) -> None:
    started = time.monotonic()
    with pytest.raises((GaitError, ZipFormatError)) as info:
        READERS[reader](fifo)
    assert time.monotonic() - started < 5
    assert "regular file" in str(info.value)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_dev_zero_is_refused(reader: str) -> None:
    with pytest.raises((GaitError, ZipFormatError)) as info:
        READERS[reader](Path("/dev/zero"))
    assert "regular file" in str(info.value)


def test_policy_of_20_mb_compiles(tmp_path: Path) -> None:
    from gait.policy import compile_policy

    path = tmp_path / "big.yaml"
    name = "n" * 10_000_000
    path.write_text(
        "# " + "c" * 10_000_000 + f'\nrules:\n  - {{name: "{name}", effect: allow}}\n',
        encoding="utf-8",
    )
    assert path.stat().st_size > 20_000_000
    compiled = compile_policy(read_policy_bytes(path).decode(), use_cache=False)
    assert compiled.ir.rows[0].name == name


def test_policy_over_the_limit_names_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_POLICY_BYTES + 1)
    with pytest.raises(InvalidInput, match=str(MAX_POLICY_BYTES)):
        read_policy_bytes(path)
