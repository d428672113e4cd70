"""Fixtures for runpack tests: the demo pack, deterministic keys, zip builders."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gait.runpack.demo import build_demo_runpack
from gait.runpack.zipwrite import deflate
from gait.signing import KeyPair, key_id_for

PRODUCER = "0.1.0"


def _keypair(seed: bytes) -> KeyPair:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    probe = KeyPair(private.public_key(), private, "", "test")
    return KeyPair(probe.public, private, key_id_for(probe.public_bytes), "test")


@pytest.fixture
def fixed_key() -> KeyPair:
    return _keypair(bytes(range(32)))


@pytest.fixture
def other_key() -> KeyPair:
    return _keypair(bytes(range(1, 33)))


@pytest.fixture(scope="session")
def demo_zip() -> bytes:
    return build_demo_runpack(PRODUCER).zip_bytes


@pytest.fixture
def demo_path(tmp_path: Path, demo_zip: bytes) -> Path:
    path = tmp_path / "runpack_run_demo.zip"
    path.write_bytes(demo_zip)
    return path


def cli_exit(*args: str) -> tuple[int, str]:
    """Run ``gait <args>`` in-process; returns (exit code, stdout)."""
    from gait.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture
def gait_inproc() -> Callable[..., tuple[int, str]]:
    return cli_exit


RawEntry = tuple[str, bytes, int, int | None]


@pytest.fixture
def raw_zip() -> Callable[[list[RawEntry]], bytes]:
    return build_raw_zip


def build_raw_zip(entries: list[RawEntry]) -> bytes:
    """A zip built by hand: (name, data, unix mode, declared size or None) per entry.

    Lets tests create what well-behaved writers refuse to: duplicate names,
    ``..`` paths, symlinks, and headers that lie about their sizes.
    """
    body = bytearray()
    central = bytearray()
    for name, data, mode, declared in entries:
        raw_name = name.encode("utf-8")
        packed = deflate(data)
        crc = zlib.crc32(data)
        size = len(data) if declared is None else declared
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(raw_name), 0
        )
        body += raw_name + packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            0x0314,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(packed),
            size,
            len(raw_name),
            0,
            0,
            0,
            0,
            mode << 16,
            offset,
        )
        central += raw_name
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return bytes(body + central + end)
