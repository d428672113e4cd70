"""JSON envelope and plain-text rendering shared by every command."""

from __future__ import annotations

import sys

from gait.errors import RETRYABLE_CATEGORIES, GaitError, exit_class

# typing costs a one-shot command ~10 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def correlation_id(argv: list[str]) -> str:
    if not argv:
        return "0" * 24
    joined = "\x1f".join(a.strip() for a in argv).encode("utf-8")
    canonical = sys.modules.get("gait.canonical")  # loaded: its SHA-256 (see use_builtin_sha256)
    if canonical is not None:
        return canonical.sha256_hex(joined)[:24]
    import hashlib  # only JSON output carries a correlation id

    return hashlib.sha256(joined).hexdigest()[:24]


def envelope(payload: dict[str, Any], exit_code: int, argv: list[str]) -> dict[str, Any]:
    """Add the fields every JSON output carries (``ok``, ``correlation_id``, error fields)."""
    out = dict(payload)
    out.setdefault("ok", exit_code in (0, 3, 4) and not out.get("error"))
    out.setdefault("correlation_id", correlation_id(argv))
    if out.get("error"):
        meaning = exit_class(exit_code)
        out.setdefault("error_code", meaning.code)
        category = out.setdefault("error_category", meaning.category)
        out.setdefault("retryable", category in RETRYABLE_CATEGORIES)
        _add_migration(out, str(out["error"]))
        out.setdefault("hint", meaning.hint)
    return out


def _add_migration(out: dict[str, Any], error: str) -> None:
    """Legacy spellings (cli.md §1.1): the replacement as ``hint`` and ``migration``."""
    if not ("deprecated " in error or "legacy policy proposal" in error):
        return
    from gait.cli.migration import migration_for

    hint, migration = migration_for(error)
    if migration is None:
        return
    if hint:
        out.setdefault("hint", hint)
    current = out.get("migration")
    if not (isinstance(current, dict) and "kind" in current):  # a reader's own detail map
        out["migration"] = migration


def dumps(obj: Any) -> str:
    """One line, keys sorted at every level, UTF-8 text."""
    canonical = sys.modules.get("gait.canonical")
    if canonical is not None and canonical._plain(obj):
        # Plain values (gait.canonical._plain: exact str/int/bool/None, lists, ASCII keys,
        # floats only where repr and msgspec agree) encode to the same text in C, without
        # loading the json package (tests/cli/test_output_dumps.py holds them equal).
        msgspec = sys.modules["msgspec"]  # gait.canonical imports it
        try:
            return canonical._sorted_encoder().encode(obj).decode("utf-8")
        except (UnicodeEncodeError, msgspec.EncodeError):  # lone surrogates: json's text
            pass
    import json  # plain-text output never needs it

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _streams(value: Any) -> bool:
    """Whether ``value`` holds a lazily produced array (``__json_stream__``) in some dict."""
    if getattr(type(value), "__json_stream__", False):
        return True
    if isinstance(value, dict):
        return any(_streams(v) for v in value.values())
    return False


def write_json(obj: Any, *, err: bool = False) -> None:
    """``dumps(obj)`` plus a newline, written piece by piece when ``obj`` holds lazy arrays.

    The bytes are exactly those of :func:`dumps`: keys sorted at every level,
    the same separators; lazy arrays are consumed one item at a time, so the
    whole document is never held in memory.
    """
    stream = sys.stderr if err else sys.stdout
    if not _streams(obj):
        write_line(dumps(obj), err=err)
        return
    pending: list[str] = []
    size = 0

    def put(text: str) -> None:
        nonlocal size
        pending.append(text)
        size += len(text)
        if size >= 1 << 16:
            stream.write("".join(pending))
            pending.clear()
            size = 0

    try:
        _write_value(obj, put)
    except BaseException:
        stream.write("".join(pending))  # what was produced, then the caller reports the error
        stream.flush()
        raise
    pending.append("\n")
    stream.write("".join(pending))
    stream.flush()


def _write_value(value: Any, put: Any) -> None:
    if getattr(type(value), "__json_stream__", False):
        put("[")
        first = True
        for item in value:
            if not first:
                put(",")
            first = False
            _write_value(item, put)
        put("]")
    elif isinstance(value, dict) and _streams(value):
        import json

        put("{")
        for n, (key, item) in enumerate(sorted(value.items())):
            put(("," if n else "") + json.dumps(key, ensure_ascii=False) + ":")
            _write_value(item, put)
        put("}")
    else:
        put(dumps(value))


def error_payload(err: GaitError) -> dict[str, Any]:
    payload: dict[str, Any] = {"ok": False, "error": err.message}
    payload["error_code"] = err.code
    payload["error_category"] = err.category
    if err.location is not None:
        payload["location"] = err.location.as_dict()
    payload.update(err.details)
    return payload


def write_line(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text)
    if not text.endswith("\n"):
        stream.write("\n")
    stream.flush()
