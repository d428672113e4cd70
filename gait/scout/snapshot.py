"""``gait scout snapshot`` / ``gait scout diff``: an inventory of agent tools and MCP servers.

As the original (core/scout snapshot, coverage, diff): the snapshot walks the
roots (skipping ``.git``, ``.beads``, ``node_modules``, ``__pycache__``) and

* in ``.py`` files, when the file looks like a LangChain tool module (``@tool``,
  ``StructuredTool.from_function`` or ``Tool(``), records every ``def`` name as
  a ``framework:langchain`` tool; when it looks like an OpenAI Agents module
  (``@function_tool``, ``from agents import``, ``openai.agents``, ``tools=[``),
  records the ``name=``/``tool_name=`` strings and ``def`` names as
  ``framework:openai_agents`` tools (a file without ``def`` is named after itself);
* in ``.json``/``.yaml``/``.yml`` files, records the keys of every
  ``mcpServers``/``servers`` mapping as ``mcp_server`` items (a file whose name
  contains ``mcp`` must parse; others that do not are skipped).

Each item gets a risk level from its name (critical, high or low). Items with
the same id merge (smallest locator, highest risk, tags united). The
``snapshot_id`` is ``snap_`` + the first 12 hex of the digest of the workspace
and items. Coverage compares tool names with the ``tool_names`` the policies'
rules match; diff compares two snapshots item by item.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.packs.common import normalize_identifier, unique_sorted

__all__ = ["build_coverage", "build_snapshot", "diff_snapshots", "number"]

SKIP_DIRS = {".git", ".beads", "node_modules", "__pycache__"}
MAX_FILE_BYTES = 16 * 1024 * 1024
_RISK_SCORE = {"critical": 4, "high": 3, "medium": 2}
_DEF = re.compile(r"^\s*def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.M)
_LANGCHAIN = re.compile(r"^\s*@tool(?:\s*\(|\s*$)", re.M)
_OPENAI = re.compile(r"^\s*@function_tool(?:\s*\(|\s*$)", re.M)
_NAME_ARG = re.compile(r"(?:name|tool_name)\s*=\s*['\"]([A-Za-z0-9._:-]+)['\"]")


def classify_risk(name: str) -> str:
    lower = name.lower()
    if any(t in lower for t in ("delete", "drop", "destroy", "wire", "payment", "transfer")):
        return "critical"
    if any(
        t in lower for t in ("write", "update", "export", "send", "email", "remove", "overwrite")
    ):
        return "high"
    return "low"


def _risk_score(level: str) -> int:
    return _RISK_SCORE.get(level.lower(), 1)


def _glob(pattern: str) -> re.Pattern[str]:
    """A Go filepath.Match pattern: ``*`` and ``?`` never cross ``/``."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                return re.compile(r"(?!)")  # a malformed class matches nothing
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "!" + body[1:]
            out.append(
                "[" + ("^" + re.escape(body[1:]) if body.startswith("!") else re.escape(body)) + "]"
            )
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _matches(path: str, patterns: Sequence[str]) -> bool:
    return any(_glob(p).match(path) or p in path for p in patterns)


def _item(path: str, name: str, kind: str, tag: str) -> dict[str, Any]:
    prefix = f"tool:{tag}:" if kind == "tool" else "mcp_server:"
    return {
        "id": prefix + normalize_identifier(name),
        "kind": kind,
        "name": name,
        "locator": path,
        "risk_level": classify_risk(name),
        "tags": [tag],
    }


def _merge(items: dict[str, dict[str, Any]], new: Iterable[dict[str, Any]]) -> None:
    for item in new:
        seen = items.get(item["id"])
        if seen is None:
            items[item["id"]] = {**item, "tags": list(item["tags"])}
            continue
        if item["locator"] < seen["locator"]:
            seen["locator"] = item["locator"]
        if _risk_score(item["risk_level"]) > _risk_score(seen["risk_level"]):
            seen["risk_level"] = item["risk_level"]
        seen["tags"] = unique_sorted([*seen["tags"], *item["tags"]])


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise InvalidInput(f"read {what} {path}: {err.strerror or err}") from err
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"read {what} {path}: larger than {MAX_FILE_BYTES} bytes")
    return data


def _python_items(path: str) -> list[dict[str, Any]]:
    text = _read(path, "python file").decode("utf-8", "replace")
    names = sorted(m.group(1).strip() for m in _DEF.finditer(text))
    if not names:
        names = [os.path.splitext(os.path.basename(path))[0]]
    found: dict[str, dict[str, Any]] = {}
    if _LANGCHAIN.search(text) or "StructuredTool.from_function" in text or "Tool(" in text:
        _merge(found, (_item(path, n, "tool", "framework:langchain") for n in names))
    if (
        _OPENAI.search(text)
        or "from agents import" in text
        or "openai.agents" in text
        or "tools=[" in text
    ):
        named = unique_sorted([*(m.group(1).strip() for m in _NAME_ARG.finditer(text)), *names])
        _merge(found, (_item(path, n, "tool", "framework:openai_agents") for n in named))
    return list(found.values())


def _server_names(value: Any, names: set[str]) -> None:
    if isinstance(value, dict):
        for key, nested in value.items():
            if str(key).strip().lower() in ("mcpservers", "servers") and isinstance(nested, dict):
                names.update(str(k).strip() for k in nested if str(k).strip())
            _server_names(nested, names)
    elif isinstance(value, list):
        for nested in value:
            _server_names(nested, names)


def _config_items(path: str) -> list[dict[str, Any]]:
    looks_like_mcp = "mcp" in os.path.basename(path).lower()
    data = _read(path, "config")
    yaml_file = path.lower().endswith((".yaml", ".yml"))
    try:
        if yaml_file:
            from gait.safeyaml import load

            payload = load(data, f"parse mcp yaml {path}")
        else:
            from gait.safejson import loads

            payload = loads(data, f"parse mcp json {path}")
    except GaitError as err:
        if looks_like_mcp:
            raise InvalidInput(err.message) from err
        return []
    names: set[str] = set()
    _server_names(payload, names)
    if not looks_like_mcp and not names:
        return []
    return [_item(path, n, "mcp_server", "mcp") for n in sorted(names)]


def _walk(root: str, include: Sequence[str], exclude: Sequence[str]) -> list[dict[str, Any]]:
    try:
        is_dir = os.path.isdir(root)
        os.stat(root)
    except OSError as err:
        raise InvalidInput(f"stat root {root}: {err.strerror or err}") from err
    if not is_dir:
        raise InvalidInput(f"root is not a directory: {root}")
    out: list[dict[str, Any]] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d.lower() not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(directory, name).replace(os.sep, "/")
            if _matches(path, exclude) or (include and not _matches(path, include)):
                continue
            ext = os.path.splitext(path)[1].lower()
            if ext == ".py":
                out += _python_items(path)
            elif ext in (".json", ".yaml", ".yml"):
                out += _config_items(path)
    return out


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """Field order and empty-field rules of the original's InventoryItem."""
    out = {k: item[k] for k in ("id", "kind", "name", "locator")}
    if item.get("risk_level"):
        out["risk_level"] = item["risk_level"]
    if item.get("tags"):
        out["tags"] = item["tags"]
    if item.get("last_seen_run"):
        out["last_seen_run"] = item["last_seen_run"]
    return out


def build_snapshot(
    roots: Sequence[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    producer_version: str = "0.0.0-dev",
    created_at: str = "",
) -> dict[str, Any]:
    from gait.canonical import digest

    clean = sorted({os.path.normpath(r.strip()) for r in roots if r.strip()}) or ["."]
    include = sorted(p.strip() for p in include if p.strip())
    exclude = sorted(p.strip() for p in exclude if p.strip())
    items: dict[str, dict[str, Any]] = {}
    for root in clean:
        _merge(items, _walk(root, include, exclude))
    ordered = sorted(
        (_public(i) for i in items.values()),
        key=lambda i: (i["id"], i["kind"], i["name"], i["locator"]),
    )
    workspace = clean[0] if len(clean) == 1 else ",".join(clean)
    if not created_at:
        from gait.signing import now_rfc3339

        created_at = now_rfc3339()
    snapshot_id = "snap_" + digest({"workspace": workspace, "items": ordered})[:12]
    snapshot: dict[str, Any] = {
        "schema_id": "gait.scout.inventory_snapshot",
        "schema_version": "1.0.0",
        "created_at": created_at,
        "producer_version": producer_version.strip() or "0.0.0-dev",
        "snapshot_id": snapshot_id,
    }
    if workspace:
        snapshot["workspace"] = workspace
    snapshot["items"] = ordered
    return snapshot


def number(value: float) -> float | int:
    """Go prints a whole float64 without a fraction (100, not 100.0)."""
    return int(value) if float(value).is_integer() else value


def build_coverage(snapshot: dict[str, Any], policy_paths: Sequence[str]) -> dict[str, Any]:
    from gait.policy import compile_policy_file

    discovered: set[str] = set()
    high_risk: dict[str, str] = {}
    for item in snapshot.get("items") or []:
        if not isinstance(item, dict):
            continue
        if str(item.get("kind") or "").strip().lower() not in ("tool", "mcp_server"):
            continue
        name = str(item.get("name") or "").strip().lower()
        discovered.add(name)
        if item.get("risk_level") in ("high", "critical"):
            high_risk[str(item.get("id") or "")] = name
    gated: set[str] = set()
    digests = []
    paths = unique_sorted(p for raw in policy_paths for p in str(raw).split(","))
    for path in paths:
        try:
            compiled = compile_policy_file(path)
        except GaitError as err:
            raise InvalidInput(f"load policy {path}: {err.message}") from err
        digests.append(compiled.policy_digest)
        for rule in compiled.policy.rules:
            gated.update(t.strip().lower() for t in rule.match.tool_names if t.strip())
    ungated = sorted(i for i, name in high_risk.items() if name not in gated)
    gated_count = sum(1 for name in discovered if name in gated)
    percent = 100.0
    if discovered:
        # rounded half away from zero to two decimals, as the original
        percent = int(gated_count / len(discovered) * 100 * 100 + 0.5) / 100
    report: dict[str, Any] = {
        "snapshot_id": snapshot.get("snapshot_id", ""),
        "discovered_tools": len(discovered),
        "gated_tools": gated_count,
        "high_risk_ungated_tools": len(ungated),
        "coverage_percent": number(percent),
    }
    for key, values in (
        ("policy_digests", sorted(digests)),
        ("discovered_tool_names", sorted(discovered)),
        ("gated_tool_names", sorted(gated)),
        ("high_risk_ungated_tool_ids", ungated),
    ):
        if values:
            report[key] = values
    return report


def diff_snapshots(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    def index(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
        items = [i for i in snapshot.get("items") or [] if isinstance(i, dict)]
        return {str(i.get("id") or ""): i for i in items}

    def field(item: dict[str, Any], key: str) -> str:
        return str(item.get(key) or "")

    def brief(item: dict[str, Any]) -> dict[str, Any]:
        out = {k: field(item, k) for k in ("id", "kind", "name", "locator")}
        if field(item, "risk_level"):
            out["risk_level"] = field(item, "risk_level")
        return out

    lefts, rights = index(left), index(right)
    added = [brief(rights[i]) for i in sorted(rights) if i not in lefts]
    removed = [brief(lefts[i]) for i in sorted(lefts) if i not in rights]
    changed = []
    for item_id in sorted(i for i in rights if i in lefts):
        before, after = lefts[item_id], rights[item_id]
        same = all(field(before, k) == field(after, k) for k in ("kind", "name", "locator"))
        same = same and field(before, "risk_level") == field(after, "risk_level")
        tags = [unique_sorted(x.get("tags") or []) for x in (before, after)]
        if same and tags[0] == tags[1]:
            continue
        change = {
            "id": item_id,
            "kind": field(after, "kind"),
            "name": field(after, "name"),
            "before_locator": field(before, "locator"),
            "after_locator": field(after, "locator"),
        }
        if field(before, "risk_level"):
            change["before_risk_level"] = field(before, "risk_level")
        if field(after, "risk_level"):
            change["after_risk_level"] = field(after, "risk_level")
        changed.append(change)
    out: dict[str, Any] = {
        "left_snapshot_id": field(left, "snapshot_id"),
        "right_snapshot_id": field(right, "snapshot_id"),
    }
    for key, values in (("added", added), ("removed", removed), ("changed", changed)):
        if values:
            out[key] = values
    out.update(added_count=len(added), removed_count=len(removed), changed_count=len(changed))
    return out
