"""Files shipped with gait (grammar, policy templates), found in the wheel or a source checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``grammar`` or ``policies``: inside the wheel (gait/_data/NAME) or at the repo top."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return (data_dir("grammar") / "gait.lark").read_text(encoding="utf-8")


def policy_template(name: str) -> Path:
    return data_dir("policies") / name
