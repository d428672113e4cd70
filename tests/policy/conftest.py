from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
