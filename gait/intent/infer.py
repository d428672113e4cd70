"""Endpoint class / domain / destructive inference for targets (intent.md §4).

Policies match on ``endpoint_class`` and ``destructive`` even when the agent
did not send them, so the gate infers them from the target kind, operation and
tool name. The tool-name hints are *substring* checks on the last ``/``
segment, reproduced on purpose (``tool.format`` contains ``rm``).
"""

from __future__ import annotations

from gait.intent._text import path_base, trim, trim_lower
from gait.intent.urls import host_domain, url_hostname

_PATH_READ_OPS = frozenset(("read", "get", "list", "open", "cat", "head", "download", "stat"))
_PATH_WRITE_OPS = frozenset(
    ("write", "append", "put", "create", "update", "save", "copy", "move", "rename")
)
_PATH_DELETE_OPS = frozenset(("delete", "remove", "rm", "unlink", "rmdir", "drop", "truncate"))
_DNS_OPS = frozenset(("dns", "resolve", "lookup"))
_EXEC_OPS = frozenset(("exec", "spawn", "run", "shell", "command"))
_DESTRUCTIVE_OPS = _PATH_DELETE_OPS | {"exec", "spawn"}
_DESTRUCTIVE_CLASSES = frozenset(("fs.delete", "proc.exec"))

_READ_HINTS = ("read", "list", "fetch", "search")
_WRITE_HINTS = ("write", "update", "save", "create")
_DELETE_HINTS = ("delete", "remove", "rm", "drop")
_EXEC_HINTS = ("exec", "shell", "command", "spawn", "run")


def _has_hint(tool_name: str, hints: tuple[str, ...]) -> bool:
    base = path_base(trim_lower(tool_name))
    return any(hint in base for hint in hints)


def _hint_flags(tool_name: str) -> tuple[bool, bool, bool, bool]:
    """(read, write, delete, exec) hints of ``tool_name``, remembered per name."""
    flags = _HINT_MEMO.get(tool_name)
    if flags is None:
        flags = (
            _has_hint(tool_name, _READ_HINTS),
            _has_hint(tool_name, _WRITE_HINTS),
            _has_hint(tool_name, _DELETE_HINTS),
            _has_hint(tool_name, _EXEC_HINTS),
        )
        if len(_HINT_MEMO) < 4096 and type(tool_name) is str:
            _HINT_MEMO[tool_name] = flags
    return flags


# Tool names repeat from call to call; the substring scans are a pure function
# of the name (bounded so a stream of odd names cannot grow it for ever).
_HINT_MEMO: dict[str, tuple[bool, bool, bool, bool]] = {}


def infer_endpoint_class(kind: str, operation: str, tool_name: str) -> str:
    """Endpoint class for a target that did not declare one."""
    if kind == "path":
        if operation in _PATH_READ_OPS:
            return "fs.read"
        if operation in _PATH_WRITE_OPS:
            return "fs.write"
        if operation in _PATH_DELETE_OPS:
            return "fs.delete"
        read, write, delete, _exec = _hint_flags(tool_name)
        if read:
            return "fs.read"
        if write:
            return "fs.write"
        if delete:
            return "fs.delete"
        return "other"
    if kind == "url" or kind == "host":
        return "net.dns" if operation in _DNS_OPS else "net.http"
    if kind == "other":
        if operation in _EXEC_OPS or _hint_flags(tool_name)[3]:
            return "proc.exec"
    return "other"


def infer_endpoint_domain(kind: str, value: str) -> str:
    """Domain for ``host`` / ``url`` targets; ``""`` for every other kind."""
    if kind == "url":
        return url_hostname(trim(value))
    if kind == "host":
        return host_domain(value)
    return ""


def infer_destructive(endpoint_class: str, operation: str) -> bool:
    """Whether a target is destructive by class or operation alone."""
    return endpoint_class in _DESTRUCTIVE_CLASSES or operation in _DESTRUCTIVE_OPS
