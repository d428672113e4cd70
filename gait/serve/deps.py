"""Is the serve extra installed? Answered without importing it (``gait --help`` stays lean)."""

from __future__ import annotations

import importlib.util

from gait.errors import GaitError

__all__ = ["SERVE_EXTRA_HINT", "missing_serve_dependency"]

SERVE_EXTRA_HINT = "pip install 'gait[serve]'"
_REQUIRED = ("starlette", "uvicorn", "anyio")


def missing_serve_dependency() -> GaitError | None:
    """An exit-7 error naming the extra to install, or None when the stack is present."""
    missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return GaitError(
        f"mcp serve needs {', '.join(missing)} (missing dependency); install with: "
        f"{SERVE_EXTRA_HINT}",
        exit_code=7,
        code="dependency_missing",
        category="dependency_missing",
    )
