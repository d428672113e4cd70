"""``gait guard retain``: age out trace files and evidence/incident packs under a root.

Only files whose names say what they are take part (``trace_*.json``,
``evidence_pack_*.zip|.gaitenc``, ``incident_pack_*.zip|.gaitenc``); a file is
deleted when its age (now - mtime) exceeds its kind's TTL, and a TTL of 0 or
less keeps everything of that kind. ``--dry-run`` reports without deleting.
"""

from __future__ import annotations

import os
import time
from typing import Any

from gait.errors import InvalidInput

__all__ = ["apply_retention", "retention_kind"]

_NS = 1_000_000_000


def _seconds(ns: int) -> int:
    """Whole seconds truncated toward zero, as Go's int64(d.Seconds())."""
    return ns // _NS if ns >= 0 else -(-ns // _NS)


def retention_kind(path: str) -> str:
    base = os.path.basename(path).lower()
    if base.startswith("trace_") and base.endswith(".json"):
        return "trace"
    for prefix in ("evidence_pack_", "incident_pack_"):
        if base.startswith(prefix) and base.endswith((".zip", ".gaitenc")):
            return "pack"
    return ""


def _candidates(root: str) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []

    def fail(err: OSError) -> None:
        raise InvalidInput(f"scan retention root: {err.strerror or err}: {err.filename}")

    if not os.path.exists(root):
        raise InvalidInput(f"scan retention root: no such file or directory: {root}")
    for parent, dirs, files in os.walk(root, onerror=fail):
        dirs.sort()
        for name in files:
            path = os.path.join(parent, name)
            kind = retention_kind(path)
            if not kind or os.path.islink(path):
                continue
            found.append((path, kind, os.stat(path).st_mtime_ns))
    if os.path.isfile(root) and retention_kind(root):
        found.append((root, retention_kind(root), os.stat(root).st_mtime_ns))
    found.sort(key=lambda c: c[0])
    return found


def apply_retention(
    root: str,
    trace_ttl_ns: int,
    pack_ttl_ns: int,
    *,
    dry_run: bool = False,
    report_out: str = "",
    producer_version: str = "0.0.0-dev",
    now_ns: int | None = None,
) -> dict[str, Any]:
    """Delete (or, dry run, list) expired artifacts; returns the retention report."""
    from gait.signing.timestamps import format_rfc3339

    root = os.path.normpath(root.strip() or ".")
    now = time.time_ns() if now_ns is None else now_ns
    deleted: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    candidates = _candidates(root)
    for path, kind, mtime in candidates:
        ttl = trace_ttl_ns if kind == "trace" else pack_ttl_ns
        age = max(0, now - mtime)
        event = {
            "path": path,
            "kind": kind,
            "modified_at": format_rfc3339(mtime // _NS, mtime % _NS),
            "age_seconds": age // _NS,
            "action": "kept",
        }
        if ttl > 0 and age > ttl:
            event["action"] = "deleted"
            if not dry_run:
                try:
                    os.remove(path)
                except OSError as err:
                    raise InvalidInput(
                        f"delete retained file {path}: {err.strerror or err}"
                    ) from err
            deleted.append(event)
        else:
            kept.append(event)
    report: dict[str, Any] = {
        "schema_id": "gait.guard.retention_report",
        "schema_version": "1.0.0",
        "created_at": format_rfc3339(now // _NS, now % _NS),
        "producer_version": producer_version.strip() or "0.0.0-dev",
        "root_path": root,
        "dry_run": dry_run,
        "trace_ttl_seconds": _seconds(trace_ttl_ns),
        "pack_ttl_seconds": _seconds(pack_ttl_ns),
        "scanned_files": len(candidates),
        "deleted_files": deleted,
        "kept_files": kept,
    }
    if report_out.strip():
        from gait.canonical import canonical_bytes
        from gait.packs.common import write_pack

        write_pack(report_out.strip(), canonical_bytes(report))
    return report
