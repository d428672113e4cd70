"""``policy compile --emit yaml``: any policy source written as its canonical YAML twin.

The YAML is exactly what ``policy fmt`` writes (same writer, same minimal or
``full`` form), so a YAML source comes back as its ``fmt`` output and a DSL
source becomes the file ``fmt`` would print for its YAML twin. Both load back
to the same normalized policy, hence the same ``policy_digest``.

A DSL source's comments come along: a full-line comment goes above the key (or
rule) that follows it, an end-of-line comment stays on its key's line, as
``fmt`` does for YAML. Only the banner line ``render_dsl`` writes at the top of
canonical DSL is dropped, since it is not true of the YAML.
"""

from __future__ import annotations

import re
from functools import cache

from gait.policy.fmt import (
    CommentCollector,
    Comments,
    format_policy,
    format_source,
    owner_path,
    owners_by_line,
    rule_order,
)
from gait.policy.model import Policy
from gait.policy.source import KEY_MARK, PathKey, Positions

# Characters a YAML reader refuses anywhere in a stream, or reads as a line break
# (which would turn the rest of a comment into YAML content): written as \uXXXX text.
_YAML_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\x85\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)


def emit_yaml(data: bytes, path_name: str, kind: str, *, full: bool = False) -> tuple[Policy, str]:
    """Normalize a policy source and return it with its canonical YAML text.

    ``kind`` is ``"yaml"`` or ``"dsl"`` (as :func:`gait.policy.compiler.source_kind`
    answers). Raises :class:`gait.errors.PolicyError` for a bad source.
    """
    if kind != "dsl":
        return format_source(data, path_name, "yaml", full=full)
    from gait.policy.dsl import parse_dsl_policy
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_text, locate

    text = decode_text(data, path_name)
    decoded, positions = parse_dsl_policy(text, path_name)
    policy = normalize_policy(decoded, lambda p: locate(path_name, positions, p))
    comments = dsl_comments(text, positions, rule_order(decoded))
    return policy, format_policy(policy, comments, full=full)


@cache
def _banner() -> str:
    from gait.policy.dsl import render_dsl

    return render_dsl(Policy()).split("\n", 1)[0]


def _comment_start(line: str) -> int:
    """Index of the ``#`` that starts a comment (outside a JSON string), or -1."""
    in_string = escaped = False
    for i, ch in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return i
    return -1


def _owner(path: PathKey) -> PathKey | None:
    """The key (or whole rule) a source line belongs to, as in ``fmt``; None for the
    document itself (and key marks, which the DSL parser does not write)."""
    if not path or path[0] == KEY_MARK:
        return None
    return owner_path(path)


def _clean(comment: str) -> str:
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", comment.rstrip("\r").strip())


def dsl_comments(text: str, positions: Positions, order: dict[int, int]) -> Comments:
    """Comments of DSL ``text`` keyed by the policy path they describe (``fmt``'s shape).

    ``positions`` are the parser's (1-based line of each key and value);
    ``order`` maps a rule's index in the file to its index after normalization.
    """
    by_line = owners_by_line(positions, _owner)
    collect = CommentCollector(order)
    used: set[PathKey] = set()  # a key whose value spans lines owns only its first line
    banner = _banner()
    # Lark counts lines by "\n" alone, so split the same way (not splitlines()).
    for number, line in enumerate(text.split("\n"), start=1):
        idx = _comment_start(line)
        comment = _clean(line[idx:]) if idx >= 0 else ""
        if number == 1 and comment == banner and not line[:idx].strip():
            continue
        if idx >= 0 and not line[:idx].strip():
            collect.above(comment)
            continue
        path = by_line.get(number)
        if path is not None and path in used:
            path = None
        if path is None:
            if comment:
                collect.above(comment)  # e.g. after "}" or a list item: above the next key
            continue
        used.add(path)
        collect.at(path, comment)
    return collect.finish()
