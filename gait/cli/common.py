"""Small helpers shared by command modules (loading inputs with spec error wording)."""

from __future__ import annotations

from typing import Any

from gait.errors import GaitError, InvalidInput


def one_positional(args: tuple[str, ...], usage: str) -> str:
    if len(args) != 1:
        raise InvalidInput(f"expected {usage}")
    value = args[0].strip()
    if not value:
        raise InvalidInput("policy path must not be empty")
    return value


def load_compiled(path: str) -> Any:
    from gait.policy import compile_policy_file

    return compile_policy_file(path)


def load_intent(path: str) -> tuple[dict[str, Any], Any]:
    """Read and normalize an intent file; errors keep the spec prefixes."""
    from gait.fsutil import path_text
    from gait.intent import normalize_intent, read_intent_file

    raw = read_intent_file(path_text(path))  # str(Path(path)), without loading pathlib
    return raw, normalize_intent(raw)


def cap_summary(text: str, limit: int = 240) -> str:
    if len(text) <= limit:
        return text
    suffix = f"...(+{len(text) - limit})"
    return text[: limit - len(suffix)] + suffix


def csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def exit_for_verdict(verdict: str) -> int:
    return {"block": 3, "require_approval": 4}.get(verdict, 0)


__all__ = [
    "GaitError",
    "cap_summary",
    "csv_list",
    "exit_for_verdict",
    "load_compiled",
    "load_intent",
]
