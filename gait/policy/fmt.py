"""``policy fmt``: the normalized policy written back as YAML.

Two forms, both in the fixed key order of the model and both loading back to
the same normalized policy (same digest):

* minimal (the default): only what the author has to say. A key is left out
  when the policy normalizes to the same thing without it (a default, or a
  value the normalizer derives from another key, like ``tool_names`` from the
  ``tool_name`` alias). ``schema_id``, ``schema_version``, ``default_verdict``,
  ``rules`` and each rule's ``name`` are always written.
* full: every key with its normalized value, zero values and nulls included
  (the reference formatter's layout).

Full-line comments stay above the key (or rule) they preceded, and
end-of-line comments stay on their key's line, even when rules are reordered.
A comment on a key that the minimal form leaves out moves above the next key
written, so no comment is ever lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gait.policy.model import Policy
from gait.policy.source import PathKey, Positions

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
# Dotted versions such as 1.0.0 read back as strings (never numbers), so they
# stay unquoted as authors write them.
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){2,}$")
# Go durations (10m0s, 1h30m, 250ms) have letters, so they read back as strings too.
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})
# Characters a YAML reader rejects (DEL, C1 controls, U+FFFE/U+FFFF) or folds as line
# breaks inside a double-quoted scalar (NEL, U+2028, U+2029): written as escapes.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if (_PLAIN.match(text) and text.lower() not in _RESERVED) or (
        _VERSION.match(text) or _DURATION.match(text)
    ):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


_BLOCK_START = re.compile(r"(^|[:-]\s+)[|>][-+0-9]*$")


@dataclass
class Comments:
    """Comments of the original text keyed by the path they belong to."""

    leading: dict[PathKey, list[str]] = field(default_factory=dict)
    trailing: dict[PathKey, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)  # comments above the first key
    footer: list[str] = field(default_factory=list)


_OPENERS = ("", ":", "-", "[", "{", ",", "?")


def _comment_start(line: str, quote: str = "") -> tuple[int, str]:
    """Index of a ``#`` that starts a comment (outside quoted scalars), or -1, and
    the quote still open at the end of the line (quoted scalars may span lines).

    A quote only opens a quoted scalar where a scalar starts (line start or after
    ``:``, ``-``, ``[``, ``{``, ``,``, ``?``); in ``don't`` it is plain text.
    """
    escaped = False
    prev = ""  # last non-blank character outside quotes
    for i, ch in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif (ch == "\\" and quote == '"') or (
                ch == quote == "'" and line[i + 1 : i + 2] == "'"
            ):
                escaped = True  # \x in "...", '' in '...'
            elif ch == quote:
                quote = ""
                prev = ch
            continue
        if ch in "\"'" and prev in _OPENERS:
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return i, ""
        elif ch not in " \t":
            nxt = line[i + 1 : i + 2]
            if ch in ":,":
                prev = ch
            elif ch in "-?" and prev in _OPENERS and nxt in ("", " ", "\t"):
                prev = ch
            elif ch in "[{" and prev in _OPENERS:
                prev = ch
            else:
                prev = "a"  # inside a plain scalar: "0{'" is text, not a flow opener
    return -1, quote


def owner_path(path: PathKey) -> PathKey:
    """Comments attach to mapping keys (and whole rules), never to list items: a
    path into a list stops at the list's key."""
    out: list[str | int] = []
    for i, part in enumerate(path):
        if isinstance(part, int) and not (i == 1 and path[0] == "rules"):
            break
        out.append(part)
    return tuple(out)


def owners_by_line(
    positions: Positions, owner: Callable[[PathKey], PathKey | None]
) -> dict[int, PathKey]:
    """Source line -> the shortest ``owner`` of the paths placed on it (None: no owner)."""
    by_line: dict[int, PathKey] = {}
    for path, (line, _col) in positions.items():
        found = owner(path)
        if found is None:
            continue
        current = by_line.get(line)
        if current is None or len(found) < len(current):
            by_line[line] = found
    return by_line


class CommentCollector:
    """Builds :class:`Comments` from a source read top to bottom: full-line comments
    wait for the next key, the ones before the first key are the header, the ones
    after the last key the footer. Rule paths are renumbered to the sorted order."""

    def __init__(self, rule_order: dict[int, int]) -> None:
        self.out = Comments()
        self.pending: list[str] = []
        self.seen_key = False
        self.rule_order = rule_order

    def above(self, comment: str) -> None:
        self.pending.append(comment)

    def at(self, path: PathKey, trailing: str) -> None:
        """A source line of ``path``; ``trailing`` is its end-of-line comment or ""."""
        path = _renumber(path, self.rule_order)
        if self.pending and not self.seen_key:
            # the file's opening comments stay at the top, whatever key comes first
            self.out.header, self.pending = self.pending, []
        self.seen_key = True
        if self.pending:
            self.out.leading.setdefault(path, []).extend(self.pending)
            self.pending = []
        if trailing:
            self.out.trailing[path] = trailing

    def finish(self) -> Comments:
        self.out.footer = self.pending
        return self.out


def _yaml_owner(path: PathKey) -> PathKey | None:
    from gait.policy.source import KEY_MARK

    if path and path[0] == KEY_MARK:
        return owner_path(path[1:])
    if len(path) == 2 and path[0] == "rules":
        return path  # a rule item: its "- " line belongs to the rule itself
    return None


def collect_comments(text: str, positions: Positions, rule_order: dict[int, int]) -> Comments:
    by_line = owners_by_line(positions, _yaml_owner)
    collect = CommentCollector(rule_order)
    quote = ""  # a quoted scalar left open by the previous line
    block = -1  # indentation of the line that opened a block scalar (| or >)
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip())
        if block >= 0:
            if not line.strip() or indent > block:
                continue  # block scalar content: a "#" there is text
            block = -1
        idx, quote = _comment_start(line, quote)
        if not quote and _BLOCK_START.search(line[: idx if idx >= 0 else len(line)].rstrip()):
            block = indent
        stripped = line.strip()
        if idx >= 0 and not line[:idx].strip():
            collect.above(stripped)
            continue
        if not stripped:
            continue
        path = by_line.get(number)
        if path is None:
            # e.g. a list item line: its end-of-line comment goes above the next key
            if idx > 0:
                collect.above(line[idx:].strip())
            continue
        collect.at(path, line[idx:].strip() if idx > 0 else "")
    return collect.finish()


def _renumber(path: PathKey, rule_order: dict[int, int]) -> PathKey:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        return ("rules", rule_order.get(path[1], path[1]), *path[2:])
    return path


# Written even when equal to their default: they say what the file is and what
# happens to a call no rule matches.
_ALWAYS = frozenset({("schema_id",), ("schema_version",), ("default_verdict",), ("rules",)})


def _defaults(cls: type[msgspec.Struct]) -> dict[str, Any]:
    cached = _DEFAULTS.get(cls)
    if cached is None:
        cached = {}
        for info in msgspec.structs.fields(cls):
            if info.default_factory is not msgspec.NODEFAULT:
                cached[info.name] = info.default_factory()
            else:
                cached[info.name] = info.default
        _DEFAULTS[cls] = cached
    return cached


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _is_default(obj: msgspec.Struct, name: str) -> bool:
    return bool(getattr(obj, name) == _defaults(type(obj))[name])


def _leaves(obj: msgspec.Struct, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the non-default leaf values of ``obj``, in field order."""
    out: list[tuple[str, ...]] = []
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if isinstance(value, msgspec.Struct):
            out.extend(_leaves(value, (*path, name)))
        elif not _is_default(obj, name):
            out.append((*path, name))
    return out


def _reset(obj: msgspec.Struct, path: tuple[str, ...]) -> msgspec.Struct:
    """``obj`` with the leaf at ``path`` set back to its default."""
    head = path[0]
    if len(path) == 1:
        value = _defaults(type(obj))[head]
    else:
        value = _reset(getattr(obj, head), path[1:])
    return msgspec.structs.replace(obj, **{head: value})


def _minimize(
    target: msgspec.Struct, normalize: Any, keep: frozenset[tuple[str, ...]]
) -> msgspec.Struct:
    """Drop, one at a time, each leaf whose absence normalizes to ``target`` again."""
    from gait.errors import GaitError

    current = target
    for path in _leaves(target):
        if path in keep:
            continue
        candidate = _reset(current, path)
        try:
            same = normalize(candidate) == target
        except GaitError:
            same = False
        if same:
            current = candidate
    return current


def minimal_policy(policy: Policy) -> Policy:
    """The smallest raw policy that normalizes to ``policy`` (itself normalized)."""
    from gait.errors import PolicyError
    from gait.policy.normalize import _normalize_rule, normalize_policy

    def fail(message: str, path: PathKey = ()) -> PolicyError:
        return PolicyError(message)

    top = msgspec.structs.replace(policy, rules=())
    small = _minimize(top, normalize_policy, _ALWAYS)
    keep_name = frozenset({("name",)})
    rules = tuple(
        _minimize(rule, lambda r: _normalize_rule(r, 0, fail), keep_name) for rule in policy.rules
    )
    return msgspec.structs.replace(small, rules=rules)


class _Writer:
    def __init__(self, comments: Comments | None, *, full: bool = True) -> None:
        self.lines: list[str] = []
        self.c = comments or Comments()
        self.full = full
        self.carry: list[str] = []  # comments of keys left out, for the next key written

    def lead(self, path: PathKey, indent: str) -> None:
        for comment in (*self.carry, *self.c.leading.get(path, ())):
            self.lines.append(f"{indent}{comment}")
        self.carry = []

    def line(self, path: PathKey, text: str) -> None:
        tail = self.c.trailing.get(path)
        self.lines.append(f"{text}  {tail}" if tail else text)

    def skip(self, value: Any, path: PathKey) -> None:
        """Keep the comments of a key that is not written (and of its sub-keys)."""
        self.carry.extend(self.c.leading.get(path, ()))
        tail = self.c.trailing.get(path)
        if tail:
            self.carry.append(tail)
        if isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                self.skip(getattr(value, name), (*path, name))

    def written(self, obj: msgspec.Struct, name: str, path: PathKey) -> bool:
        if self.full or path in _ALWAYS or (len(path) == 3 and path[-1] == "name"):
            return True
        if "-" in path:  # inside a list item: leave out what equals the item's default
            return not _is_default(obj, name)
        value = getattr(obj, name)
        if isinstance(value, msgspec.Struct):
            return bool(_leaves(value))
        return not _is_default(obj, name)

    def struct(self, obj: msgspec.Struct, path: PathKey, indent: str) -> None:
        for name in obj.__struct_fields__:
            value = getattr(obj, name)
            sub = (*path, name)
            # UNSET: a key that is absent unless used (flow predicates), in both forms.
            if value is msgspec.UNSET or not self.written(obj, name, sub):
                self.skip(value, sub)
                continue
            self.lead(sub, indent)
            if isinstance(value, msgspec.Struct):
                self.line(sub, f"{indent}{name}:")
                self.struct(value, sub, indent + "  ")
            elif isinstance(value, tuple) and name == "rules" and not path:
                if not value:
                    self.line(sub, f"{indent}{name}: []")
                    continue
                self.line(sub, f"{indent}{name}:")
                for i, rule in enumerate(value):
                    rule_path = ("rules", i)
                    self.lead(rule_path, indent + "  ")
                    start = len(self.lines)
                    self.struct(rule, rule_path, indent + "    ")
                    first = self.lines[start]
                    offset = start
                    while self.lines[offset].lstrip().startswith("#"):
                        # a comment above the rule's first key belongs above its "- " line
                        self.lines[offset] = f"{indent}  {self.lines[offset].lstrip()}"
                        offset += 1
                    first = self.lines[offset]
                    self.lines[offset] = f"{indent}  - {first[len(indent) + 4 :]}"
                    tail = self.c.trailing.get(rule_path)  # comment on the "- " line
                    if tail:
                        self.lines[offset] += f"  {tail}"
            elif isinstance(value, tuple) and value and isinstance(value[0], msgspec.Struct):
                # A list of mappings (flow predicates): one "- " item per struct.
                self.line(sub, f"{indent}{name}:")
                for item in value:
                    start = len(self.lines)
                    self.struct(item, (*sub, "-"), indent + "    ")
                    if len(self.lines) == start:  # every field default: an empty mapping
                        self.lines.append(f"{indent}  - {{}}")
                        continue
                    first = self.lines[start]
                    self.lines[start] = f"{indent}  - {first[len(indent) + 4 :]}"
            elif isinstance(value, tuple):
                self.line(sub, f"{indent}{name}: [{', '.join(yaml_scalar(v) for v in value)}]")
            else:
                self.line(sub, f"{indent}{name}: {yaml_scalar(value)}")


def format_policy(policy: Policy, comments: Comments | None = None, *, full: bool = False) -> str:
    """YAML text of a normalized policy (minimal unless ``full``); ends with a newline."""
    writer = _Writer(comments, full=full)
    if comments and comments.header:
        writer.lines.extend(comments.header)
    writer.struct(policy if full else minimal_policy(policy), (), "")
    writer.lines.extend(writer.carry)
    if comments and comments.footer:
        writer.lines.extend(comments.footer)
    return "\n".join(writer.lines) + "\n"


def rule_order(decoded: Policy) -> dict[int, int]:
    """Original rule index → index after the normalizer's stable sort."""
    keyed = sorted(
        range(len(decoded.rules)),
        key=lambda i: (decoded.rules[i].priority, decoded.rules[i].name.strip().encode("utf-8")),
    )
    return {orig: new for new, orig in enumerate(keyed)}


def format_source(
    data: bytes, path_name: str, kind: str, *, full: bool = False
) -> tuple[Policy, str]:
    """Normalize a policy source and return it with its formatted text.

    YAML keeps the author's comments (minimal form unless ``full``); a DSL
    source is rewritten as canonical DSL.
    """
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_policy, decode_text, load_yaml, locate

    text = decode_text(data, path_name)
    if kind == "dsl":
        from gait.policy.dsl import parse_dsl_policy, render_dsl

        # the grammar types every value: the parser builds the model, as the compiler reads it
        decoded, positions = parse_dsl_policy(text, path_name)
        policy = normalize_policy(decoded, lambda p: locate(path_name, positions, p))
        return policy, render_dsl(policy)
    raw, positions, texts = load_yaml(text, path_name)
    decoded = decode_policy(raw, positions, texts, path_name)
    policy = normalize_policy(decoded, lambda p: locate(path_name, positions, p))
    comments = collect_comments(text, positions, rule_order(decoded))
    return policy, format_policy(policy, comments, full=full)
