"""One JSON reader rule for every untrusted document (issue 11 A6, B9).

* Repeated keys in one object (exactly, or differing only in case) are
  rejected with the key named: two spellings must never be decided differently.
* Integers longer than :data:`MAX_INT_DIGITS` digits, ``NaN``/``Infinity`` and
  non-finite floats are rejected instead of overflowing later.
* Nesting deeper than :data:`MAX_DEPTH` is rejected before parsing
  (:func:`check_depth`); the parser never ends in ``RecursionError``.
* Lone UTF-16 surrogate escapes are rejected by :func:`loads` (such text
  cannot be signed or digested).

Errors are :class:`gait.errors.InvalidInput` (exit 6) whose message starts with
the ``what`` the caller names; verifiers turn them into verification failures.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gait.errors import InvalidInput

MAX_DEPTH = 1000
"""Deepest JSON/YAML nesting gait reads (arrays and objects both count)."""

MAX_INT_DIGITS = 300
"""Longest integer literal gait reads; longer ones exceed every field's range."""

# Frames Python needs per nesting level while parsing, normalizing and encoding.
_FRAMES_PER_LEVEL = 4


# Parsing, normalizing, digesting and writing a document each recurse once per
# nesting level, several frames deep. Documents are bounded at MAX_DEPTH before
# any of that starts, so a floor of a few frames per level can never be exceeded
# by accepted input, while Python's default (1000) would reject valid documents.
_RECURSION_FLOOR = MAX_DEPTH * 5 + 1000
if sys.getrecursionlimit() < _RECURSION_FLOOR:
    sys.setrecursionlimit(_RECURSION_FLOOR)


class DuplicateKey(InvalidInput):
    code = "duplicate_key"


class NestingTooDeep(InvalidInput):
    """Brackets nest deeper than :data:`MAX_DEPTH` (verifiers report it as a failed check)."""

    code = "json_nesting_too_deep"


class NotJSON(InvalidInput):
    """The bytes are not JSON at all (syntax or encoding), as opposed to JSON that
    breaks a rule above. Readers that try JSON first and then another format
    fall back only on this one: a repeated key must never be retried as YAML."""


@contextmanager
def deep_recursion(levels: int = MAX_DEPTH) -> Iterator[None]:
    """Room on the Python stack for ``levels`` of nesting (restored afterwards)."""
    old = sys.getrecursionlimit()
    need = _current_depth() + levels * _FRAMES_PER_LEVEL + 200
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    finally:
        if need > old:
            sys.setrecursionlimit(old)


def _current_depth() -> int:
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs) and (len(pairs) < 2 or len({k.lower() for k in out}) == len(pairs)):
        return out  # the common case: every key distinct, also ignoring case
    out = {}
    folded: dict[str, str] = {}
    for key, value in pairs:
        fold = key.lower()
        if fold in folded:
            first = folded[fold]
            detail = f"{key!r}" if first == key else f"{key!r} (also spelled {first!r})"
            raise DuplicateKey(f"duplicate key {detail}", details={"key": key})
        folded[fold] = key
        out[key] = value
    return out


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidInput(f"integer with {len(text)} digits exceeds {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidInput(f"number {text[:40]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not valid JSON")


_KEEP_ONLY_SYNTAX = bytes(b for b in range(256) if b not in b'[]{}"\\')
_TO_PARENS = bytes.maketrans(b"[]{}", b"()()")


def _depth_exceeded(data: bytes | str) -> bool:
    """Whether brackets nest deeper than :data:`MAX_DEPTH`, in C-speed passes.

    Escapes and string contents are dropped, brackets become parentheses, and
    each pass removes every innermost pair: depth d is gone after d passes.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    syntax = raw.translate(None, _KEEP_ONLY_SYNTAX)
    if b'"' in syntax:
        syntax = b"".join(syntax.split(b'"')[::2])  # outside string literals only
    shape = syntax.translate(_TO_PARENS)
    for _ in range(MAX_DEPTH):
        if b"()" not in shape:
            return False  # fully reduced (or unbalanced: the parser reports that)
        shape = shape.replace(b"()", b"")
    return b"()" in shape


# compiled (and cached by re) only for text that has a \u escape at all
_SURROGATE_ESCAPE = rb"\\u[dD][89a-fA-F]"


def _lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    return False


def loads(data: bytes | str, what: str) -> Any:
    """Parse untrusted JSON under the rules above; errors name ``what``.

    Strings holding a lone UTF-16 surrogate escape (``"\\ud800"``) are not text
    and are rejected too: they cannot be signed or digested.
    """
    if _depth_exceeded(data):
        raise NestingTooDeep(f"{what}: JSON nesting exceeds {MAX_DEPTH} levels")
    if type(data) is bytes:
        value = _plain_loads(data)
        if value is not _NOT_PLAIN:
            return value
    import json  # here: plain documents never load it (~1 ms of a one-shot command)

    try:
        with deep_recursion():
            value = json.loads(
                data,
                object_pairs_hook=_pairs,
                parse_int=_int,
                parse_float=_float,
                parse_constant=_constant,
            )
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if b"\\u" in raw and re.search(_SURROGATE_ESCAPE, raw) and _lone_surrogate(value):
            raise InvalidInput("string contains a lone surrogate escape")
        return value
    except InvalidInput as err:
        err.message = f"{what}: {err.message}"
        err.args = (err.message,)
        raise
    except RecursionError:
        raise NestingTooDeep(f"{what}: JSON nesting exceeds {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise NotJSON(f"{what}: invalid JSON: {err}") from None


_NOT_PLAIN = object()
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def _plain_loads(data: bytes) -> Any:
    """What the general path of :func:`loads` returns, for documents that provably
    break none of its rules, decoded in C; ``_NOT_PLAIN`` for anything else.

    Taken only for ASCII bytes without ``\\u`` escapes (so no lone surrogate and
    no BOM), whose keys provably do not repeat (:func:`_no_repeated_keys`), that
    msgspec decodes (it refuses what the stdlib parser refuses here: raw control
    characters in strings, NaN/Infinity, trailing text) and whose value holds no
    float and no integer beyond 64 bits (the digit and range rules stay with the
    general path). Anything else, including every error, goes to the general path,
    which reports it in its own words.
    """
    if not data.isascii() or b"\\u" in data or not _no_repeated_keys(data):
        return _NOT_PLAIN
    import msgspec

    try:
        value = msgspec.json.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError):
        return _NOT_PLAIN
    return value if _only_plain(value) else _NOT_PLAIN


def _only_plain(value: Any) -> bool:
    """No float and no integer outside 64 bits anywhere in ``value``."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return _INT64_MIN <= value <= _UINT64_MAX
    if t is dict:
        return all(type(v) is str or _only_plain(v) for v in value.values())
    if t is list:
        return all(type(v) is str or _only_plain(v) for v in value)
    return False


def loads_line(line: bytes | str, what: str, number: int) -> Any:
    """One line of a JSONL file under the same rules; errors name ``what`` and the line."""
    return loads(line, f"{what} line {number}")


def check_depth(data: bytes | str, what: str) -> None:
    """Reject documents nested deeper than :data:`MAX_DEPTH`, naming the limit."""
    if _depth_exceeded(data):
        raise NestingTooDeep(f"{what}: JSON nesting exceeds {MAX_DEPTH} levels")


def _zero(_text: str) -> int:
    return 0


def check_duplicate_keys(data: bytes, what: str) -> None:
    """Reject repeated keys in a document another decoder will read.

    Only the keys matter here, so numbers are not converted; malformed JSON is
    left for the real decoder to report in its own words.
    """
    if _no_repeated_keys(data):
        return
    import json

    try:  # depth is bounded by the caller (check_depth); the recursion floor covers it
        json.loads(data, object_pairs_hook=_pairs, parse_int=_zero, parse_float=_zero,
                   parse_constant=_zero)  # fmt: skip
    except DuplicateKey as err:
        err.message = f"{what}: {err.message}"
        err.args = (err.message,)
        raise
    except (ValueError, UnicodeDecodeError, RecursionError):
        return


def _no_repeated_keys(data: bytes) -> bool:
    """Cheap proof, in C, that ``data`` repeats no key in one object, ignoring case.

    ASCII text without ``\\u`` escapes is lowercased (so case variants become
    equal), decoded (a repeated key collapses into one entry) and encoded again:
    getting the same bytes back proves nothing collapsed. Otherwise, without
    any escapes, every key ends in ``":`` once whitespace is gone; a string
    value starting with ``:`` after a removed space can only add to the
    original's count, so equal counts prove no key was dropped. ``False``
    means "not proven" and the full check runs.
    """
    if not isinstance(data, bytes) or not data.isascii() or b"\\u" in data:
        return False
    import msgspec

    low = data.lower()
    try:
        again = msgspec.json.encode(msgspec.json.decode(low))
    except (msgspec.DecodeError, RecursionError, OverflowError, ValueError):
        return False
    if again == low:
        return True
    if b"\\" in data:
        return False
    return low.translate(None, b" \t\r\n").count(b'":') == again.count(b'":')
