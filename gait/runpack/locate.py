"""Where a runpack is: ``<run_id|path>`` to the file (runpack.md §4.1).

Its own module so that ``gait verify`` resolves its argument without loading
the runpack reader (and the intake and record modules behind it).
"""

from __future__ import annotations

import os
import stat

from gait.errors import InvalidInput


def looks_like_path(arg: str) -> bool:
    """§4.1: contains ``/`` or ``\\``, or ends with ``.zip`` (any case)."""
    return "/" in arg or "\\" in arg or arg.lower().endswith(".zip")


def resolve_runpack(arg: str, *, cwd: str | os.PathLike[str] | None = None) -> str:
    """Turn ``<run_id|path>`` into the runpack file path, or raise InvalidInput (exit 6)."""
    text = (arg or "").strip()
    if not text:
        raise InvalidInput("runpack path or run_id is required")
    if looks_like_path(text) and _is_regular_file(text, cwd):
        return text  # the common case, without loading pathlib; anything else below
    from pathlib import Path

    base = Path(cwd) if cwd is not None else Path.cwd()
    if looks_like_path(text):
        candidate = Path(text)
        full = candidate if candidate.is_absolute() else base / candidate
        if not full.is_file():
            raise InvalidInput(f"runpack not found: {text}")
        return text
    candidates = [
        base / "gait-out" / f"runpack_{text}.zip",
        Path.home() / ".gait" / "runpacks" / f"runpack_{text}.zip",
    ]
    for candidate in candidates:
        if candidate.is_file():
            if candidate == candidates[0] and cwd is None:
                return os.path.join("gait-out", f"runpack_{text}.zip")
            return str(candidate)
    raise InvalidInput(f"runpack not found for run_id: {text}")


def _is_regular_file(text: str, cwd: str | os.PathLike[str] | None) -> bool:
    """True when ``text`` (under ``cwd``) names a regular file; False means "ask pathlib".

    The kernel resolves the joined text as pathlib's ``is_file`` resolves its
    normalized form (dropped ``.`` and empty parts name the same file), so a
    regular file found here is found there too.
    """
    base = os.getcwd() if cwd is None else cwd  # raises where Path.cwd() would
    try:
        full = text if text.startswith("/") else os.path.join(base, text)
        return stat.S_ISREG(os.stat(full).st_mode)
    except (OSError, ValueError, TypeError):
        return False
