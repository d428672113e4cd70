"""``gait scout snapshot`` / ``gait scout diff``: an inventory of the agent tools a codebase defines.

The snapshot walks source roots and records every tool it can see: Python
functions decorated as tools (``@tool``, ``@mcp.tool()``, ``@gate_tool``),
``Tool(name=...)`` objects and ``"tool_name": ...`` fields in JSON (intents,
fixtures), plus which agent frameworks are imported. With ``--policy`` it
also reports policy coverage: each tool is run through the real engine with
a minimal intent, and a tool no rule matches is uncovered (it gets the
policy's default verdict). The snapshot has no clock in it, so two snapshots
of the same tree are byte-identical and ``scout diff`` shows only real change.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from typing import Any

from gait.canonical import digest
from gait.errors import GaitError, InvalidInput
from gait.scout.signal import FIXED_TIME, classify_tool

__all__ = ["DEFAULT_INCLUDE", "build_snapshot", "coverage", "diff_snapshots"]

DEFAULT_INCLUDE = ("*.py", "*.json", "*.js", "*.ts")
SKIP_DIRS = {".git", ".hg", "node_modules", ".venv", "venv", "__pycache__", "gait-out", ".tox"}
MAX_FILE_BYTES = 2 * 1024 * 1024

_DECORATED = re.compile(
    r"^[ \t]*@(?:[\w.]+\.)?(?:tool|gate_tool)\b[^\n]*\n(?:[ \t]*@[^\n]*\n)*[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)",
    re.M,
)
_TOOL_OBJECT = re.compile(r"\bTool\(\s*name\s*=\s*[\"']([^\"']+)[\"']")
_TOOL_FIELD = re.compile(r"\"tool_name\"\s*:\s*\"([^\"]+)\"")
_FRAMEWORKS = {
    "anthropic": re.compile(r"^\s*(?:import|from)\s+anthropic\b", re.M),
    "autogen": re.compile(r"^\s*(?:import|from)\s+autogen\b", re.M),
    "crewai": re.compile(r"^\s*(?:import|from)\s+crewai\b", re.M),
    "langchain": re.compile(r"^\s*(?:import|from)\s+langchain\w*\b", re.M),
    "mcp": re.compile(r"^\s*(?:import|from)\s+mcp\b", re.M),
    "openai": re.compile(r"^\s*(?:import|from)\s+openai\b", re.M),
}


def _files(root: str, include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    out = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in include):
                continue
            if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in exclude):
                continue
            out.append(path)
    return out


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def build_snapshot(
    roots: Sequence[str],
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    producer_version: str = "0.0.0-dev",
) -> dict[str, Any]:
    if not roots:
        raise InvalidInput("--roots must name at least one directory")
    tools: dict[str, list[dict[str, Any]]] = {}
    frameworks: set[str] = set()
    scanned = 0
    for root in roots:
        if not os.path.isdir(root):
            raise InvalidInput(f"scout snapshot root is not a directory: {root}")
        for path in _files(root, include or DEFAULT_INCLUDE, exclude):
            try:
                if os.path.getsize(path) > MAX_FILE_BYTES:
                    continue
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError):
                continue
            scanned += 1
            shown = os.path.relpath(path, root).replace(os.sep, "/")
            if len(roots) > 1:
                shown = f"{root.rstrip('/')}/{shown}"
            found = []
            if path.endswith(".py"):
                found += [
                    (m.group(1), m.start(1), "decorated_function")
                    for m in _DECORATED.finditer(text)
                ]
                frameworks.update(n for n, rx in _FRAMEWORKS.items() if rx.search(text))
            found += [(m.group(1), m.start(1), "tool_object") for m in _TOOL_OBJECT.finditer(text)]
            if path.endswith(".json"):
                found += [
                    (m.group(1), m.start(1), "tool_name_field") for m in _TOOL_FIELD.finditer(text)
                ]
            for name, offset, kind in found:
                tools.setdefault(name.strip(), []).append(
                    {"path": shown, "line": _line(text, offset), "kind": kind}
                )
    entries = [
        {
            "tool_name": name,
            "tool_class": classify_tool(name),
            "locations": sorted(locs, key=lambda loc: (loc["path"], loc["line"], loc["kind"])),
        }
        for name, locs in sorted(tools.items())
        if name
    ]
    body = {"tools": entries, "frameworks": sorted(frameworks)}
    return {
        "schema_id": "gait.scout.snapshot",
        "schema_version": "1.0.0",
        "created_at": FIXED_TIME,
        "producer_version": producer_version,
        "roots": list(roots),
        "files_scanned": scanned,
        "tool_count": len(entries),
        "frameworks": body["frameworks"],
        "tools": entries,
        "snapshot_digest": digest(body),
    }


def coverage(snapshot: dict[str, Any], policy_paths: Sequence[str]) -> dict[str, Any]:
    """Which snapshot tools some rule of each policy matches (evaluated by the engine)."""
    from gait.engine import evaluate
    from gait.intent import normalize_intent
    from gait.policy import compile_policy_file

    entries = []
    covered: set[str] = set()
    for policy_path in policy_paths:
        compiled = compile_policy_file(policy_path)
        for tool in snapshot["tools"]:
            name = tool["tool_name"]
            try:
                intent = normalize_intent(
                    {
                        "schema_id": "gait.gate.intent_request",
                        "schema_version": "1.0.0",
                        "tool_name": name,
                        "args": {},
                        "targets": [],
                        "context": {"identity": "scout", "workspace": ".", "risk_class": "low"},
                    }
                )
                decision = evaluate(compiled, intent)
            except GaitError as err:
                entries.append({"policy": policy_path, "tool_name": name, "error": err.message})
                continue
            matched = decision.matched_rule or ""
            if matched:
                covered.add(name)
            entry = {"policy": policy_path, "tool_name": name, "verdict": decision.verdict}
            if matched:
                entry["matched_rule"] = matched
            entries.append(entry)
    names = [t["tool_name"] for t in snapshot["tools"]]
    total = len(names)
    return {
        "schema_id": "gait.scout.coverage",
        "schema_version": "1.0.0",
        "created_at": FIXED_TIME,
        "policies": list(policy_paths),
        "tools_total": total,
        "tools_covered": len(covered),
        "coverage_percent": round(100.0 * len(covered) / total, 1) if total else 100.0,
        "uncovered_tools": [n for n in names if n not in covered],
        "entries": entries,
    }


def diff_snapshots(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    for side, snap in (("left", left), ("right", right)):
        if snap.get("schema_id") != "gait.scout.snapshot":
            raise InvalidInput(f"{side} is not a gait.scout.snapshot file")
    ltools = {t["tool_name"]: t for t in left.get("tools") or []}
    rtools = {t["tool_name"]: t for t in right.get("tools") or []}
    changed = sorted(
        name
        for name in ltools.keys() & rtools.keys()
        if ltools[name].get("locations") != rtools[name].get("locations")
        or ltools[name].get("tool_class") != rtools[name].get("tool_class")
    )
    lf, rf = set(left.get("frameworks") or []), set(right.get("frameworks") or [])
    summary = {
        "added_tools": sorted(rtools.keys() - ltools.keys()),
        "removed_tools": sorted(ltools.keys() - rtools.keys()),
        "changed_tools": changed,
        "added_frameworks": sorted(rf - lf),
        "removed_frameworks": sorted(lf - rf),
        "added_destructive_tools": sorted(
            n for n in rtools.keys() - ltools.keys() if rtools[n].get("tool_class") == "destructive"
        ),
    }
    summary["changed"] = any(summary[k] for k in list(summary))
    return summary
