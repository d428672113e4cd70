#!/usr/bin/env python3
"""Regenerate the TextMate grammar of the policy DSL (.gaitpol) in docs/editors/.

Usage: python tools/gen_tmlanguage.py [--check]

The keyword lists come from the language itself, so the editor grammar cannot
drift from it: field keys, block keywords and flow predicates from the policy
model (gait/policy/model.py: a field holding a struct is a block, a field
holding a list of structs is a flow predicate, any other field is a key), the
rule-header keywords, declarations, verdicts and constants from the string
literals of grammar/gait.lark. Two files are written from one definition:

* docs/editors/gaitpol.tmLanguage.json (VS Code, JetBrains, Shiki, ...)
* docs/editors/gaitpol.tmLanguage (the XML property-list form: Sublime Text, TextMate)

Every regular expression is written in the subset that Oniguruma (the engine
of TextMate grammars) and Python's ``re`` read alike: no named groups, no
possessive or atomic groups, no ``\\h``/``\\G``/``\\p{..}``; tests/test_tmlanguage.py
compiles each one with ``re`` (and Oniguruma when installed) and tokenizes the
corpus .gaitpol files with both.

``--check`` writes nothing and exits 1 when a file differs from what the model
and the grammar give now.
"""

from __future__ import annotations

import argparse
import json
import plistlib
import re
import sys
import typing
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GRAMMAR = REPO / "grammar" / "gait.lark"
JSON_OUT = REPO / "docs" / "editors" / "gaitpol.tmLanguage.json"
PLIST_OUT = REPO / "docs" / "editors" / "gaitpol.tmLanguage"

SCOPE = "source.gaitpol"
# Names that end a bare word or keyword: the DSL lexer's own rule (`tool_namesx`
# and `fs.read` are one word each), used on both sides of every keyword.
NAME_CHARS = r"A-Za-z0-9_.\-"
BEFORE = rf"(?<![{NAME_CHARS}])"
AFTER = rf"(?![{NAME_CHARS}])"
# Keys the DSL writes another way: rules are `rule` blocks, a rule's name is its header.
NOT_KEYS = frozenset({"rules", "name"})
DECLARATIONS = ("policy", "rule")
CONSTANTS = ("true", "false", "null")


def grammar_literals(text: str) -> list[str]:
    """The double-quoted literals of a Lark grammar (comments and /regexps/ skipped)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif ch == "/":  # a regexp terminal: skip to its closing slash
            i += 1
            while i < n and text[i] != "/":
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(json.loads(text[i : j + 1]))
            i = j + 1
        else:
            i += 1
    return out


def header_keywords(text: str, rule_fields: set[str]) -> list[str]:
    """Rule fields the grammar lets a rule header carry (`rule "x" priority 10 ...`)."""
    found = re.search(r"^rule_header\s*:(.*?)(?:^\s*$|\Z)", text, re.MULTILINE | re.DOTALL)
    if not found:
        raise SystemExit(f"{GRAMMAR}: no rule_header rule; update tools/gen_tmlanguage.py")
    words = re.findall(r'"([A-Za-z_]+)"|\b([A-Z][A-Z_]*)\b', found.group(1))
    names = {(lit or term).lower() for lit, term in words}
    return sorted(names & rule_fields)


def model_fields() -> tuple[set[str], set[str], set[str], set[str]]:
    """(block keys, flow-predicate keys, value keys, rule fields) of the policy model."""
    import msgspec

    from gait.policy import model

    blocks: set[str] = set()
    flows: set[str] = set()
    keys: set[str] = set()
    seen: set[type] = set()
    todo: list[type] = [model.Policy]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        for name in cls.__struct_fields__:
            hint = hints[name]
            structs = [
                t for t in _flatten(hint) if isinstance(t, type) and issubclass(t, msgspec.Struct)
            ]
            if name in NOT_KEYS:
                pass
            elif structs and typing.get_origin(hint) is None:
                blocks.add(name)
            elif structs:
                flows.add(name)
            else:
                keys.add(name)
            todo.extend(structs)
    rule_fields = set(model.Rule.__struct_fields__)
    return blocks, flows, keys, rule_fields


def _flatten(hint: Any) -> list[Any]:
    args = typing.get_args(hint)
    if not args:
        return [hint]
    return [t for a in args if a is not Ellipsis for t in _flatten(a)]


def words(names: list[str] | set[str]) -> str:
    """An alternation of whole names, longest first."""
    ordered = sorted(set(names), key=lambda s: (-len(s), s))
    return BEFORE + "(" + "|".join(re.escape(n) for n in ordered) + ")" + AFTER


def build() -> dict[str, Any]:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # run from a checkout without gait installed
    from gait.vocab import VERDICTS

    text = GRAMMAR.read_text(encoding="utf-8")
    literals = set(grammar_literals(text))
    blocks, flows, keys, rule_fields = model_fields()
    for word in (*DECLARATIONS, *CONSTANTS, "=>"):
        if word not in literals:
            raise SystemExit(f"{GRAMMAR}: no literal {word!r}; update tools/gen_tmlanguage.py")
    verdicts = sorted(v for v in VERDICTS if v in literals)
    if len(verdicts) != len(VERDICTS):
        raise SystemExit(f"{GRAMMAR}: verdict literals {verdicts} differ from gait.vocab")
    header = header_keywords(text, rule_fields)
    keys -= set(header)
    names = {lit for lit in literals if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", lit)}
    known = blocks | flows | keys | set(header) | set(DECLARATIONS) | set(CONSTANTS) | NOT_KEYS
    other = sorted(names - known - set(verdicts))

    repo: dict[str, Any] = {
        "comment": {
            "match": "(#).*$",
            "name": "comment.line.number-sign.gaitpol",
            "captures": {"1": {"name": "punctuation.definition.comment.gaitpol"}},
        },
        "string": {
            "begin": '"',
            "end": '"|$',
            "name": "string.quoted.double.gaitpol",
            "beginCaptures": {"0": {"name": "punctuation.definition.string.begin.gaitpol"}},
            "endCaptures": {"0": {"name": "punctuation.definition.string.end.gaitpol"}},
            "patterns": [
                {
                    "match": r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})',
                    "name": "constant.character.escape.gaitpol",
                },
                {"match": r"\\.", "name": "invalid.illegal.unrecognized-string-escape.gaitpol"},
            ],
        },
        "declaration": {"match": words(DECLARATIONS), "name": "keyword.declaration.gaitpol"},
        "header": {"match": words(header), "name": "keyword.other.header.gaitpol"},
        "arrow": {"match": "=>", "name": "keyword.operator.arrow.gaitpol"},
        "verdict": {"match": words(verdicts), "name": "constant.language.verdict.gaitpol"},
        "constant": {"match": words(CONSTANTS), "name": "constant.language.gaitpol"},
        "block": {"match": words(blocks), "name": "keyword.other.block.gaitpol"},
        "flow": {"match": words(flows), "name": "keyword.other.flow.gaitpol"},
        "key": {"match": words(keys), "name": "support.type.property-name.gaitpol"},
        "number": {
            "match": BEFORE
            + r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?"
            + AFTER,
            "name": "constant.numeric.gaitpol",
        },
        "word": {
            "match": BEFORE + rf"[A-Za-z_][{NAME_CHARS}]*",
            "name": "string.unquoted.gaitpol",
        },
        "punctuation": {
            "patterns": [
                {"match": r"\{", "name": "punctuation.section.block.begin.gaitpol"},
                {"match": r"\}", "name": "punctuation.section.block.end.gaitpol"},
                {"match": r"\[", "name": "punctuation.section.list.begin.gaitpol"},
                {"match": r"\]", "name": "punctuation.section.list.end.gaitpol"},
                {"match": ",", "name": "punctuation.separator.comma.gaitpol"},
            ]
        },
    }
    order = ["comment", "string", "declaration", "header", "arrow", "verdict", "constant"]
    order += ["block", "flow", "key"]
    if other:
        repo["keyword"] = {"match": words(other), "name": "keyword.other.gaitpol"}
        order.append("keyword")
    order += ["number", "word", "punctuation"]
    return {
        "name": "Gait policy",
        "scopeName": SCOPE,
        "fileTypes": ["gaitpol"],
        "comment": (
            "Generated by tools/gen_tmlanguage.py from gait/policy/model.py and "
            "grammar/gait.lark; do not edit by hand."
        ),
        "patterns": [{"include": f"#{name}"} for name in order],
        "repository": repo,
    }


def render(grammar: dict[str, Any]) -> dict[Path, bytes]:
    as_json = json.dumps(grammar, indent=2, ensure_ascii=False) + "\n"
    as_plist = plistlib.dumps(grammar, sort_keys=True)
    return {JSON_OUT: as_json.encode("utf-8"), PLIST_OUT: as_plist}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is out of date"
    )
    args = parser.parse_args(argv)
    files = render(build())
    stale = [p for p, data in files.items() if not p.is_file() or p.read_bytes() != data]
    if args.check:
        for path in stale:
            print(
                f"{path.relative_to(REPO)} is out of date: run python tools/gen_tmlanguage.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(files[path])
        tmp.replace(path)
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
