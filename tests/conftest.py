from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The warm start server (gait.cli.warm) stays off for the suite: CLI tests run
# cold and leave no daemon behind; tests/cli/test_warm*.py turn it on privately.
os.environ["GAIT_WARM"] = "0"

if TYPE_CHECKING:
    from gait.signing import KeyPair

GaitRunner = Callable[..., subprocess.CompletedProcess[str]]


def _keypair(seed: bytes) -> KeyPair:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gait.signing import KeyPair, key_id_for

    private = Ed25519PrivateKey.from_private_bytes(seed)
    probe = KeyPair(private.public_key(), private, "", "test")
    return KeyPair(probe.public, private, key_id_for(probe.public_bytes), "test")


@pytest.fixture
def fixed_key() -> KeyPair:
    """A deterministic key (seed 00 01 .. 1f) so signatures are reproducible."""
    return _keypair(bytes(range(32)))


@pytest.fixture
def other_key() -> KeyPair:
    return _keypair(bytes(range(1, 33)))


@pytest.fixture
def gait_cli() -> GaitRunner:
    """Run the installed CLI in a child process, as a user would."""

    def run(
        *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gait.cli.main", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled-policy cache goes to a throwaway directory, never the user's cache."""
    old = os.environ.get("GAIT_CACHE_DIR")
    os.environ["GAIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("gait-cache"))
    yield
    if old is None:
        os.environ.pop("GAIT_CACHE_DIR", None)
    else:
        os.environ["GAIT_CACHE_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The per-user dev key and other user state go to a throwaway directory."""
    old = os.environ.get("GAIT_STATE_DIR")
    os.environ["GAIT_STATE_DIR"] = str(tmp_path_factory.mktemp("gait-state"))
    yield
    if old is None:
        os.environ.pop("GAIT_STATE_DIR", None)
    else:
        os.environ["GAIT_STATE_DIR"] = old
