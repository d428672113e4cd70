"""On-disk cache of compiled policies, keyed by the digest of the source bytes.

A warm ``gait policy test`` then skips YAML, Lark and normalization entirely.
The cache is an optimization only: any read or write problem is ignored.
Set ``GAIT_NO_CACHE=1`` to disable it, ``GAIT_CACHE_DIR`` to move it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gait import __version__


def cache_dir() -> Path | None:
    if os.environ.get("GAIT_NO_CACHE", "").strip() not in ("", "0", "false"):
        return None
    base = os.environ.get("GAIT_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "gait"


def cache_key(source: bytes, kind: str, grammar: str) -> str:
    h = hashlib.sha256()
    for part in (__version__.encode(), kind.encode(), hashlib.sha256(grammar.encode()).digest()):
        h.update(part)
        h.update(b"\x00")
    h.update(source)
    return h.hexdigest()


def load(key: str) -> bytes | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return (directory / "ir" / f"{key}.msgpack").read_bytes()
    except OSError:
        return None


def store(key: str, data: bytes) -> None:
    directory = cache_dir()
    if directory is None:
        return
    target = directory / "ir" / f"{key}.msgpack"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        return
