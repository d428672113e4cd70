"""``policy fmt``: the normalized policy written back as YAML (policy.md §15).

Every key is written, in the fixed order of the model, with its normalized
value. Full-line comments stay above the key (or rule) they preceded, and
end-of-line comments stay on their key's line, even when rules are reordered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gait.policy.model import Policy
from gait.policy.source import PathKey, Positions

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
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
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
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
        if ch in "\"'" and prev in ("", ":", "-", "[", "{", ",", "?"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return i, ""
        elif ch not in " \t":
            prev = ch
    return -1, quote


def _owner(path: PathKey) -> PathKey:
    """Comments attach to mapping keys (and whole rules), never to list items."""
    out: list[str | int] = []
    for i, part in enumerate(path):
        if isinstance(part, int) and not (i == 1 and path[0] == "rules"):
            break
        out.append(part)
    return tuple(out)


def collect_comments(text: str, positions: Positions, rule_order: dict[int, int]) -> Comments:
    from gait.policy.source import KEY_MARK

    by_line: dict[int, PathKey] = {}
    for path, (line, _col) in positions.items():
        if path and path[0] == KEY_MARK:
            owner = _owner(path[1:])
        elif len(path) == 2 and path[0] == "rules":
            owner = path  # a rule item: its "- " line belongs to the rule itself
        else:
            continue
        current = by_line.get(line)
        if current is None or len(owner) < len(current):
            by_line[line] = owner
    out = Comments()
    pending: list[str] = []
    seen_key = False
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
            pending.append(stripped)
            continue
        if not stripped:
            continue
        path = by_line.get(number)
        if path is None:
            # e.g. a list item line: its end-of-line comment goes above the next key
            if idx > 0:
                pending.append(line[idx:].strip())
            continue
        path = _renumber(path, rule_order)
        if pending and not seen_key:
            # the file's opening comments stay at the top, whatever key comes first
            out.header, pending = pending, []
        seen_key = True
        if pending:
            out.leading.setdefault(path, []).extend(pending)
            pending = []
        if idx > 0:
            out.trailing[path] = line[idx:].strip()
    out.footer = pending
    return out


def _renumber(path: PathKey, rule_order: dict[int, int]) -> PathKey:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        return ("rules", rule_order.get(path[1], path[1]), *path[2:])
    return path


class _Writer:
    def __init__(self, comments: Comments | None) -> None:
        self.lines: list[str] = []
        self.c = comments or Comments()

    def lead(self, path: PathKey, indent: str) -> None:
        for comment in self.c.leading.get(path, ()):
            self.lines.append(f"{indent}{comment}")

    def line(self, path: PathKey, text: str) -> None:
        tail = self.c.trailing.get(path)
        self.lines.append(f"{text}  {tail}" if tail else text)

    def struct(self, obj: msgspec.Struct, path: PathKey, indent: str) -> None:
        for name in obj.__struct_fields__:
            value = getattr(obj, name)
            sub = (*path, name)
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
            elif isinstance(value, tuple):
                self.line(sub, f"{indent}{name}: [{', '.join(yaml_scalar(v) for v in value)}]")
            else:
                self.line(sub, f"{indent}{name}: {yaml_scalar(value)}")


def format_policy(policy: Policy, comments: Comments | None = None) -> str:
    """YAML text of a normalized policy; ends with a newline."""
    writer = _Writer(comments)
    if comments and comments.header:
        writer.lines.extend(comments.header)
    writer.struct(policy, (), "")
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


def format_source(data: bytes, path_name: str, kind: str) -> tuple[Policy, str]:
    """Normalize a policy source and return it with its formatted text.

    YAML keeps the author's comments; a DSL source is rewritten as canonical DSL.
    """
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_policy, decode_text, load_yaml, locate

    text = decode_text(data, path_name)
    if kind == "dsl":
        from gait.policy.dsl import parse_dsl, render_dsl

        raw, positions = parse_dsl(text, path_name)
        decoded = decode_policy(raw, positions, {}, path_name, "dsl")
        policy = normalize_policy(decoded, lambda p: locate(path_name, positions, p))
        return policy, render_dsl(policy)
    raw, positions, texts = load_yaml(text, path_name)
    decoded = decode_policy(raw, positions, texts, path_name)
    policy = normalize_policy(decoded, lambda p: locate(path_name, positions, p))
    comments = collect_comments(text, positions, rule_order(decoded))
    return policy, format_policy(policy, comments)
