"""``gait cache clear``: remove compiled-policy cache files left by earlier gait versions.

gait no longer caches compiled policies on disk (compiling is fast enough and
a cache is one more thing that can go stale or be tampered with). Earlier
versions wrote ``<cache dir>/ir/<sha256>.msgpack`` files under
``$GAIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/gait``, else ``~/.cache/gait``;
this command removes exactly those files (nothing else in the folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command

group = GaitGroup(
    name="cache",
    help="Manage gait's on-disk cache.",
    explain="Manage gait's on-disk cache (gait keeps no compile cache; clear removes old files).",
    context_settings={"help_option_names": ["--help", "-h"]},
)

_CACHE_FILE = re.compile(r"^\.?[0-9a-f]{64}\.msgpack(\.\d+\.tmp)?$")


def cache_dir() -> Path:
    """Where earlier gait versions kept compiled policies."""
    base = os.environ.get("GAIT_CACHE_DIR", "").strip()
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "gait"


def clear_cache(directory: Path, *, dry_run: bool = False) -> dict[str, Any]:
    """Remove the cache files under ``directory/ir``; returns what was (or would be) removed."""
    ir = directory / "ir"
    files = 0
    size = 0
    try:
        entries = sorted(ir.iterdir()) if ir.is_dir() and not ir.is_symlink() else []
    except OSError:
        entries = []
    for entry in entries:
        if not _CACHE_FILE.match(entry.name) or entry.is_symlink() or not entry.is_file():
            continue
        try:
            length = entry.stat().st_size
            if not dry_run:
                entry.unlink()
        except OSError:
            continue
        files += 1
        size += length
    if not dry_run and ir.is_dir() and not ir.is_symlink():
        try:
            ir.rmdir()  # only when nothing else is left in it
        except OSError:
            pass
    return {"cache_dir": str(directory), "removed_files": files, "removed_bytes": size}


@gait_command(
    group,
    "clear",
    explain="Remove compiled-policy cache files written by earlier gait versions.",
    help=(
        "Remove the compiled-policy cache files (ir/<sha256>.msgpack) that earlier gait "
        "versions wrote under $GAIT_CACHE_DIR, $XDG_CACHE_HOME/gait or ~/.cache/gait. "
        "Other files in that folder are left alone. gait itself keeps no compile cache."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--dry-run", is_flag=True, help="Only report what would be removed.")
def clear(args: tuple[str, ...], dry_run: bool, json: bool) -> Outcome:
    from gait.errors import InvalidInput

    if args:
        raise InvalidInput("unexpected positional arguments")
    payload: dict[str, Any] = {"ok": True, **clear_cache(cache_dir(), dry_run=dry_run)}
    if dry_run:
        payload["dry_run"] = True
    verb = "would remove" if dry_run else "removed"
    text = [
        f"cache clear ok: {verb} {payload['removed_files']} file(s), "
        f"{payload['removed_bytes']} bytes from {payload['cache_dir']}"
    ]
    return Outcome(payload, text=text)
