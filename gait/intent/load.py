"""One-call loading of an intent file for CLIs and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gait.intent.decode import read_intent_file
from gait.intent.model import Intent
from gait.intent.normalize import normalize_intent

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["load_intent"]


def load_intent(path: str | Path) -> tuple[dict[str, Any], Intent]:
    """Read, decode and normalize ``path``; returns ``(bound raw dict, Intent)``.

    The raw dict is kept for callers that must fall back on it when
    normalization fails (fail-closed, policy.md §5), so on a normalization
    error this raises like :func:`normalize_intent` and the raw dict is lost;
    use :func:`read_intent_file` + :func:`normalize_intent` to keep it.
    """
    raw = read_intent_file(path)
    return raw, normalize_intent(raw)
