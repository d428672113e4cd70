"""Wrkr tool inventory: per-tool context for the policy's wrkr selectors (trace.md §5.2 step 4).

The inventory is a JSON file, either ``{"items": [...]}`` or a bare array, of
``{"tool_name", "data_class", "endpoint_class", "autonomy_level"}`` objects
(strings, trimmed and lowercased; unknown keys ignored; an item without a tool
name is skipped; a later item for the same tool replaces an earlier one). When
the inventory has an entry for a call's tool, the four values are written into
``context.auth_context`` as ``wrkr.tool_name`` … ``wrkr.autonomy_level``, where
the ``context_*`` selectors of policy.md §4 read them. Script steps are enriched
one by one (policy.md §13.4).

Whether a load failure blocks or only warns depends on the call (profile and
risk class), so the source raises and the gate pipeline decides.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import msgspec

from gait.errors import EXIT_POLICY_BLOCKED, GaitError, InvalidInput
from gait.intent.model import Intent

__all__ = [
    "MAX_INVENTORY_BYTES",
    "WRKR_KEYS",
    "InputUnavailable",
    "InventorySource",
    "ToolContext",
    "WrkrInventory",
    "fail_closed_for",
    "load_inventory",
    "parse_inventory",
]

MAX_INVENTORY_BYTES = 16 << 20
WRKR_KEYS = ("wrkr.tool_name", "wrkr.data_class", "wrkr.endpoint_class", "wrkr.autonomy_level")
_FIELDS = ("tool_name", "data_class", "endpoint_class", "autonomy_level")


class InputUnavailable(GaitError):
    """A gate input (wrkr inventory, approved-script registry) failed where gait must fail closed (exit 3)."""

    exit_code = EXIT_POLICY_BLOCKED
    code = "policy_blocked"
    category = "policy_blocked"


def fail_closed_for(profile: str, risk_class: str) -> bool:
    """Unavailable inputs block for ``oss-prod`` and for high/critical risk calls."""
    return profile == "oss-prod" or risk_class.strip().lower() in ("high", "critical")


class ToolContext(msgspec.Struct, frozen=True, kw_only=True):
    tool_name: str
    data_class: str = ""
    endpoint_class: str = ""
    autonomy_level: str = ""

    def auth_entries(self) -> dict[str, str]:
        return dict(zip(WRKR_KEYS, (getattr(self, f) for f in _FIELDS), strict=True))


class WrkrInventory(msgspec.Struct, frozen=True):
    """The tools of one inventory file; ``path`` is what traces name as ``context_source``."""

    path: str
    tools: Mapping[str, ToolContext]

    def context_for(self, tool_name: str) -> ToolContext | None:
        return self.tools.get(tool_name.strip().lower())

    def apply(self, intent: Intent) -> Intent:
        """``intent`` with the tool's wrkr keys in ``auth_context`` (the same object when unlisted)."""
        found = self.context_for(intent.tool_name)
        if found is None:
            return intent
        auth = {**(intent.context.auth_context or {}), **found.auth_entries()}
        context = msgspec.structs.replace(intent.context, auth_context=auth)
        return msgspec.structs.replace(intent, context=context)


def parse_inventory(data: bytes | str, path: str = "") -> dict[str, ToolContext]:
    """Tools of an inventory document. Errors: InvalidInput ``parse wrkr inventory: …``
    (JSON errors name ``path`` when given)."""
    from gait.safejson import loads

    doc = loads(data, f"parse wrkr inventory {path}" if path else "parse wrkr inventory")
    items: Any = doc
    where = "inventory"
    if isinstance(doc, dict):
        if "items" not in doc:
            raise InvalidInput('parse wrkr inventory: expected an array or an object with "items"')
        items, where = doc["items"], "items"
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidInput(f"parse wrkr inventory: {where} must be an array")
    tools: dict[str, ToolContext] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"parse wrkr inventory: {where}[{index}] must be an object")
        values: dict[str, str] = {}
        for name in _FIELDS:
            value = item.get(name)
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise InvalidInput(
                    f"parse wrkr inventory: {where}[{index}].{name} must be a string"
                )
            values[name] = value.strip().lower()
        if values["tool_name"]:
            tools[values["tool_name"]] = ToolContext(**values)
    return tools


def load_inventory(path: str) -> WrkrInventory:
    """Read and parse an inventory file (at most 16 MiB). Errors: InvalidInput naming the file."""
    from gait.fsutil import go_os_error, read_regular_file

    clean = os.path.normpath(path.strip()) if path.strip() else ""
    if not clean:
        raise InvalidInput("wrkr inventory path is required")
    try:
        data = read_regular_file(clean, MAX_INVENTORY_BYTES)
    except OSError as err:
        raise InvalidInput(f"read wrkr inventory: {go_os_error(clean, err)}") from err
    return WrkrInventory(clean, parse_inventory(data, clean))


class InventorySource:
    """An inventory file read again only when it changes (long-lived gates see edits)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int, int], WrkrInventory] | None = None

    def load(self) -> WrkrInventory:
        stamp: tuple[int, int, int] | None = None
        try:
            info = os.stat(self.path.strip())
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except (OSError, ValueError):
            pass
        cached = self._cached
        if stamp is not None and cached is not None and cached[0] == stamp:
            return cached[1]
        inventory = load_inventory(self.path)
        if stamp is not None:
            with self._lock:
                self._cached = (stamp, inventory)
        return inventory
