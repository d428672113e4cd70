"""A reader for the plain block YAML most policies are written in, without libyaml.

Loading PyYAML costs about 10 ms per process, more than compiling a typical
policy, and its node tree costs a big policy most of its YAML time. Policies
are mostly indented ``key: value`` lines, ``- `` items and one-line ``[a, b]``
lists; this reader takes exactly that shape and gives the same plain values
``source._plain_values`` builds from libyaml's nodes.

It fails closed: anything outside that shape (anchors, tags, block or
multi-line scalars, escapes, tabs, text other than ASCII outside comments, a
scalar whose reading depends on YAML 1.1 resolution, repeated keys, budgets
near their limits, ...) makes :func:`read` return None and the caller reads
the text with libyaml, so every error and its location stay those of the
full reader.
``tests/policy/test_yaml_lite.py`` compares both readers.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from gait.safejson import MAX_DEPTH, MAX_INT_DIGITS

_INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT_RE = re.compile(r"[-+]?[0-9]+\.[0-9]+\Z")
_KEY_RE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +(.*))?\Z")
# ASCII control characters other than newline (tabs, CR and the rest): not for us.
_ODD_CHARS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# A line that is neither blank nor only a comment: (indentation, the rest).
_LINE_RE = re.compile(r"^( *)([^ #\n][^\n]*)$", re.MULTILINE)
_AFTER_VALUE_RE = re.compile(r"(?: +(?:#.*)?)?\Z")


@functools.cache
def _flow_patterns(close: str) -> tuple[Any, Any, Any]:
    """Double-quoted, single-quoted and plain scalars of a flow collection, each
    with the separator after it ("," or ``close``)."""
    end = f" *([,{close}])"
    return (
        re.compile(r' *"([^"\\]*)"' + end),
        re.compile(r" *'((?:[^']|'')*)'" + end),
        # ":" inside a plain scalar only before a letter, digit or "/" (https://...);
        # the match keeps trailing spaces, which the caller strips
        re.compile(
            r" *((?:[^,\[\]{}#:'\" ]|:(?=[A-Za-z0-9/]))(?:[^,\[\]{}#:'\"]|:(?=[A-Za-z0-9/]))*)"
            + f"([,{close}])"
        ),
    )


# a one-line list of plain scalars without ":" (and not empty: "[ ]" goes the long way)
_ITEM = r""" *[^\[\]{}#:'\", ][^\[\]{}#:'\",]*"""
_SIMPLE_FLOW_RE = re.compile(rf"\[({_ITEM}(?:,{_ITEM})*)\](?: +(?:#.*)?)?\Z")


@functools.cache
def _quoted_patterns() -> tuple[Any, Any]:
    """Double- and single-quoted block scalars (compiled on first use)."""
    return (
        re.compile(r'"([^"\\]*)"(?: +(?:#.*)?)?\Z'),
        re.compile(r"'((?:[^']|'')*)'(?: +(?:#.*)?)?\Z"),
    )


@functools.cache
def _flow_key_pattern() -> Any:
    return re.compile(r" *([A-Za-z0-9_][A-Za-z0-9_./-]*): +")


# Plain scalars whose meaning YAML 1.1 resolution and the core schema agree on.
_WORDS: dict[str, Any] = {
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
# A plain scalar may not start with these (or only in ways this reader leaves to libyaml).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_DEPTH_LIMIT = min(MAX_DEPTH - 2, 64)  # well inside the recursion limit


_MISSING = object()


class _NotPlain(Exception):
    """The text leaves the shape this reader handles: read it with libyaml."""


def read(text: str, max_nodes: int) -> dict[str, Any] | None:
    """The document's plain values, or None when libyaml must read it."""
    if _ODD_CHARS.search(text) is not None:
        return None
    lines = [(len(indent), content) for indent, content in _LINE_RE.findall(text)]
    if not text.isascii():
        # other text than ASCII is only taken in comments, and only characters libyaml
        # reads as printable text (not C1 controls, NEL, line/paragraph separators, BOM)
        odd = re.compile("[\x80-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
        if odd.search(text) is not None or not all(c.isascii() for _, c in lines):
            return None
    if not lines or lines[0][0] != 0:
        return None
    reader = _Reader(lines)
    try:
        value = reader.mapping(0, 1)
    except (_NotPlain, RecursionError):  # a caller deep in its own stack: libyaml
        return None
    # the full reader's budgets: values, and parse events (keys too, collections twice)
    nodes = reader.nodes + 1
    if reader.pos != len(lines) or nodes > max_nodes - 16:
        return None
    if nodes + reader.keys + reader.collections + 5 > 2 * max_nodes - 16:
        return None
    return value


class _Reader:
    __slots__ = ("collections", "keys", "lines", "memo", "nodes", "pos")

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        self.pos = 0
        self.nodes = 0
        self.keys = 0
        self.collections = 1
        self.memo: dict[str, Any] = {}

    def nested(self, pos: int, read: Any, indent: int, depth: int) -> tuple[Any, int]:
        """The collection ``read`` finds at line ``pos`` one level down: it and the
        line after it. Every nested block goes through here, so the depth budget too."""
        if depth >= _DEPTH_LIMIT:
            raise _NotPlain
        self.pos = pos
        self.collections += 1
        return read(indent, depth + 1), self.pos

    def block(self, indent: int, depth: int) -> Any:
        content = self.lines[self.pos][1]
        if content[0] == "-" and (len(content) == 1 or content[1] == " "):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        lines, count = self.lines, len(self.lines)
        key_match, intern, memo_get = _KEY_RE.match, sys.intern, self.memo.get
        out: dict[str, Any] = {}
        pos = self.pos
        while pos < count:
            at, content = lines[pos]
            if at < indent:
                break
            if at > indent:
                raise _NotPlain
            m = key_match(content)
            if m is None:
                raise _NotPlain
            key = intern(m[1])
            if key in out or len(key) > 1000:
                raise _NotPlain
            rest = m[2]
            pos += 1
            if rest and rest[0] != "#":
                value = memo_get(rest, _MISSING)  # a plain scalar met before
                out[key] = self.scalar_or_flow(rest) if value is _MISSING else value
                continue
            value: Any = None
            if pos < count:
                next_at, next_content = lines[pos]
                if next_at > indent:
                    value, pos = self.nested(pos, self.block, next_at, depth)
                elif next_at == indent and next_content[0] == "-":
                    # a sequence written at its key's own indentation
                    value, pos = self.nested(pos, self.sequence, indent, depth)
            out[key] = value
        self.pos = pos
        self.keys += len(out)
        self.nodes += len(out)
        return out

    def sequence(self, indent: int, depth: int) -> list[Any]:
        lines, count = self.lines, len(self.lines)
        key_match = _KEY_RE.match
        out: list[Any] = []
        pos = self.pos
        while pos < count:
            at, content = lines[pos]
            if at < indent:
                break
            if at > indent:
                raise _NotPlain
            if content[0] != "-" or (len(content) > 1 and content[1] != " "):
                break  # the parent mapping goes on (or is the wrong shape: it checks)
            rest = content[1:].lstrip(" ")
            if not rest or rest[0] in "#-":
                raise _NotPlain  # empty or nested items: libyaml
            if key_match(rest) is not None:
                # "- key: value" opens a mapping at the key's column
                lines[pos] = (at + len(content) - len(rest), rest)
                value, pos = self.nested(pos, self.mapping, lines[pos][0], depth)
                out.append(value)
            else:
                value = self.memo.get(rest, _MISSING)
                out.append(self.scalar_or_flow(rest) if value is _MISSING else value)
                pos += 1
        self.pos = pos
        self.nodes += len(out)
        return out

    def scalar_or_flow(self, rest: str) -> Any:
        first = rest[0]
        if first == "[":
            return self.flow(rest)
        if first == '"':
            m = _quoted_patterns()[0].match(rest)
            if m is None:
                raise _NotPlain
            return _quoted(m[1])
        if first == "'":
            m = _quoted_patterns()[1].match(rest)
            if m is None:
                raise _NotPlain
            return _quoted(m[1].replace("''", "'"))
        if first == "{":
            return self.flow_mapping(rest)
        cut = rest.find(" #")
        text = (rest if cut < 0 else rest[:cut]).rstrip(" ")
        if ": " in text or text[-1] == ":":
            raise _NotPlain
        return self.plain(text)

    def flow(self, rest: str) -> list[Any]:
        """A one-line ``[a, "b", 'c']`` of scalars."""
        self.collections += 1
        m = _SIMPLE_FLOW_RE.match(rest)
        if m is not None:
            # only plain scalars, no ":" (the common case): split on the commas
            memo, plain = self.memo, self.plain
            out = []
            for item in m[1].split(","):
                item = item.strip(" ")
                value = memo.get(item, _MISSING)
                out.append(plain(item) if value is _MISSING else value)
            self.nodes += len(out)
            return out
        out = []
        if rest[1:].lstrip(" ").startswith("]"):
            end = rest.index("]") + 1
        else:
            pos, closer = 1, ","
            while closer == ",":
                value, pos, closer = self.flow_item(rest, pos, _flow_patterns("\\]"))
                out.append(value)
            end = pos
        if _AFTER_VALUE_RE.match(rest, end) is None:
            raise _NotPlain
        self.nodes += len(out)
        return out

    def flow_mapping(self, rest: str) -> dict[str, Any]:
        """A one-line ``{key: scalar, ...}``."""
        self.collections += 1
        out: dict[str, Any] = {}
        if rest[1:].lstrip(" ").startswith("}"):
            end = rest.index("}") + 1
        else:
            pos, closer = 1, ","
            while closer == ",":
                m = _flow_key_pattern().match(rest, pos)
                if m is None:
                    raise _NotPlain
                key = sys.intern(m[1])
                if key in out or len(key) > 1000:
                    raise _NotPlain  # libyaml limits implicit keys to 1,024 characters
                out[key], pos, closer = self.flow_item(rest, m.end(), _flow_patterns("}"))
            end = pos
        if _AFTER_VALUE_RE.match(rest, end) is None:
            raise _NotPlain
        self.keys += len(out)
        self.nodes += len(out)
        return out

    def flow_item(
        self, rest: str, pos: int, patterns: tuple[Any, Any, Any]
    ) -> tuple[Any, int, str]:
        """One scalar of a flow collection: (value, position after its separator, separator)."""
        head = pos
        while rest[head : head + 1] == " ":
            head += 1
        first = rest[head : head + 1]
        if first == '"':
            m = patterns[0].match(rest, pos)
            value = _quoted(m[1]) if m else None
        elif first == "'":
            m = patterns[1].match(rest, pos)
            value = _quoted(m[1].replace("''", "'")) if m else None
        else:
            m = patterns[2].match(rest, pos)
            value = self.plain(m[1].rstrip(" ")) if m else None
        if m is None:
            raise _NotPlain  # also a list that goes on past the line
        return value, m.end(), m[2]

    def plain(self, text: str) -> Any:
        memo = self.memo
        try:
            return memo[text]
        except KeyError:
            pass
        first = text[0]
        if first in _INDICATORS and (first != "-" or len(text) == 1 or text[1] == " "):
            raise _NotPlain  # only "-" followed by text starts a plain scalar here
        if text.startswith(("---", "...")):
            raise _NotPlain
        if len(text) > MAX_INT_DIGITS and _INT_RE.match(text):
            raise _NotPlain
        if first.isalpha() or first in "/_":
            word = _WORDS.get(text, text)
            if word is text and text.lower() in ("null", "true", "false"):
                raise _NotPlain  # nULL, tRUE: the two readings differ
        elif _INT_RE.match(text):
            word = int(text)
        elif _FLOAT_RE.match(text):
            word = float(text)
        elif _core_keeps_text(text):
            word = text
        else:
            raise _NotPlain
        memo[text] = word
        return word


def _quoted(text: str) -> str:
    if len(text) > MAX_INT_DIGITS and _INT_RE.match(text):
        raise _NotPlain  # the full reader reports long digit strings, quoted or not
    return text


def _core_keeps_text(text: str) -> bool:
    """True when the core schema reads ``text`` as the string itself (see source._scalar)."""
    from gait.policy.source import _core_scalar

    return _core_scalar(text) is text
