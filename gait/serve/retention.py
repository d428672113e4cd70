"""Retention of server-written artifacts (§3.4): newest ``max-count`` kept, old files removed.

Only files matching a class's name pattern are touched; in-progress atomic
writes are dot-prefixed ``*.tmp`` files, so a sweep never removes a trace that
is still being written.
"""

from __future__ import annotations

import contextlib
import os

from gait.serve.config import RetentionRule

__all__ = ["matches_class", "sweep"]


def matches_class(artifact_class: str, name: str) -> bool:
    if name.startswith("."):
        return False
    if artifact_class == "trace":
        return name.endswith(".json") and "trace" in name
    if artifact_class == "runpack":
        return name.endswith(".zip") and (name.startswith("runpack_") or "_cp_" in name)
    if artifact_class == "pack":
        return name.endswith(".zip") and name.startswith("pack_")
    if artifact_class == "session":
        return name.endswith((".json", ".jsonl", ".state"))
    return False


def sweep(directory: str, artifact_class: str, rule: RetentionRule, now_ns: int) -> tuple[int, int]:
    """Apply ``rule`` to ``directory``; returns (removed for age, removed for count)."""
    if not rule.active or not directory:
        return 0, 0
    entries: list[tuple[int, str, str]] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                if not matches_class(artifact_class, entry.name):
                    continue
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        entries.append((entry.stat().st_mtime_ns, entry.name, entry.path))
    except FileNotFoundError:
        return 0, 0
    entries.sort(reverse=True)  # newest first; name breaks ties deterministically
    removed_age = removed_count = 0
    for index, (mtime_ns, _name, path) in enumerate(entries):
        too_old = rule.max_age_ns > 0 and now_ns - mtime_ns > rule.max_age_ns
        too_many = rule.max_count > 0 and index >= rule.max_count
        if not (too_old or too_many):
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue  # another request's sweep got there first
        if too_old:
            removed_age += 1
        else:
            removed_count += 1
    return removed_age, removed_count
