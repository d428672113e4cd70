"""The rule DSL: canonical rendering of a normalized policy, and parsing DSL text.

Rendering writes only non-default values, in the fixed key order of the model,
so the text is short, stable and diff-friendly. Parsing (Lark, LALR) yields the
same plain mapping a YAML file would, plus source positions; both surfaces then
share one decoder and one normalizer.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from json.encoder import encode_basestring as _quote
from typing import Any

import msgspec

from gait.errors import Location, PolicyError
from gait.policy.model import Policy, Rule
from gait.policy.source import PathKey, Positions
from gait.safejson import MAX_DEPTH, MAX_INT_DIGITS, deep_recursion
from gait.vocab import VERDICTS

_BARE_KEYS = frozenset({"default_verdict"})
astuple = msgspec.structs.astuple


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if value is None:
        return "null"
    if type(value) is str:
        return _quote(
            value
        )  # what json.dumps(value, ensure_ascii=False) returns, minus its overhead
    return json.dumps(value, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, tuple | list):
        try:  # lists of strings, nearly all of them: quoted in one C loop
            return "[" + ", ".join(map(_quote, value)) + "]"
        except TypeError:  # a number, boolean or null among them
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


@cache
def _layout(cls: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    """(field name, default value) of a model struct, in field order, built once per type."""
    default = cls()
    return tuple(zip(cls.__struct_fields__, msgspec.structs.astuple(default), strict=True))


def _struct_lines(
    obj: msgspec.Struct, indent: str, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Non-default fields of ``obj``, recursing into nested structs."""
    lines: list[str] = []
    changed = [
        (name, value)
        for (name, default), value in zip(_layout(type(obj)), astuple(obj), strict=True)
        if value != default and name not in skip
    ]
    for name, value in changed:
        if value and isinstance(value, tuple) and isinstance(value[0], msgspec.Struct):
            # a list of blocks (flow predicates): one block per line
            lines.append(f"{indent}{name} [")
            for item in value:
                inner = " ".join(line.strip() for line in _struct_lines(item, ""))
                lines.append(f"{indent}  {{ {inner} }}," if inner else f"{indent}  {{}},")
            lines.append(f"{indent}]")
            continue
        if isinstance(value, msgspec.Struct):
            inner = _struct_lines(value, indent + "  ")
            if inner:
                lines.append(f"{indent}{name} {{")
                lines.extend(inner)
                lines.append(f"{indent}}}")
            continue
        if name in _BARE_KEYS and value in VERDICTS:
            lines.append(f"{indent}{name} {value}")
        else:
            lines.append(f"{indent}{name} {_value(value)}")
    return lines


_RULE_HEADER = frozenset({"name", "priority", "effect"})


def render_rule(rule: Rule) -> list[str]:
    header = f"rule {_quote(rule.name)}"
    if rule.priority:
        header += f" priority {rule.priority}"
    if rule.effect in VERDICTS:
        header += f" => {rule.effect}"
    body = _struct_lines(rule, "  ", skip=_RULE_HEADER)
    if not body:
        return [header + " {}"]
    return [header + " {", *body, "}"]


def render_dsl(policy: Policy) -> str:
    """Canonical DSL text of a normalized policy (ends with a newline)."""
    out = ["# gait policy (canonical DSL)"]
    head = _struct_lines(policy, "  ", skip=frozenset({"rules"}))
    out.append("policy {")
    out.extend(head)
    out.append("}")
    for rule in policy.rules:
        out.append("")
        out.extend(render_rule(rule))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------- parsing ---


@lru_cache(maxsize=1)
def _parser() -> Any:
    # Tables generated from grammar/gait.lark (tools/gen_dsl_parser.py): no grammar
    # compile per process, no lark import, and no on-disk parser cache to trust.
    from gait.policy._dsl_parser import Lark_StandAlone

    return Lark_StandAlone()


def parse_dsl(text: str, path_name: str) -> tuple[dict[str, Any], Positions]:
    """Parse DSL text into the plain policy mapping and the positions of its values."""
    from gait.policy._dsl_parser import (
        LarkError,
        UnexpectedCharacters,
        UnexpectedInput,
        UnexpectedToken,
    )

    parser = _parser()
    try:
        with deep_recursion(MAX_DEPTH):
            tree = _parse_within_budget(parser, text, path_name)
    except UnexpectedInput as err:
        line, col = getattr(err, "line", 0) or 0, getattr(err, "column", 0) or 0
        if isinstance(err, UnexpectedToken):
            tok = err.token
            what = "end of file" if tok.type == "$END" else f"{tok.type.lower()} {str(tok)!r}"
            expected = ", ".join(sorted(e.lower() for e in err.expected)[:8])
            problem = f"unexpected {what}; expected one of: {expected}"
        elif isinstance(err, UnexpectedCharacters):
            problem = f"unexpected character {text[err.pos_in_stream]!r}"
        else:
            problem = "unexpected end of input"
        raise PolicyError(
            f"parse policy dsl: [{line}:{col}] {problem}",
            location=Location(path_name, line, col),
        ) from err
    except LarkError as err:
        raise PolicyError(f"parse policy dsl: {err}", location=Location(path_name)) from err
    with deep_recursion(MAX_DEPTH):
        return _Builder(path_name).build(tree)


MAX_DSL_TOKENS = 5_000_000
"""Most tokens a DSL policy may have (comments and whitespace are free)."""
MAX_DSL_RULES = 200_000
"""Most rule blocks in one DSL policy."""


def _parse_within_budget(parser: Any, text: str, path_name: str) -> Any:
    """Parse ``text`` while holding the token, rule and nesting budgets.

    One lexing pass: each token the parser's own lexer produces is counted
    before it is fed, so a budget stops the parse before any tree is built
    (the loop is the parser's own ``parse``, with the check added).
    """
    from gait.policy._dsl_parser import Token

    def fail(message: str, tok: Any) -> PolicyError:
        line, col = getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0
        return PolicyError(
            f"parse policy dsl: [{line}:{col}] {message}", location=Location(path_name, line, col)
        )

    state = parser.parse_interactive(text).parser_state
    feed = state.feed_token
    tokens = rules = depth = 0
    token = None
    for token in state.lexer.lex(state):
        tokens += 1
        kind = token.type
        if kind in ("LBRACE", "LSQB"):
            depth += 1
            if depth > MAX_DEPTH:
                raise fail(f"nesting exceeds {MAX_DEPTH} levels", token)
        elif kind in ("RBRACE", "RSQB"):
            depth -= 1
        elif kind == "RULE":
            rules += 1
            if rules > MAX_DSL_RULES:
                raise fail(f"more than {MAX_DSL_RULES} rules", token)
        elif kind == "INT_LIT" and len(token.lstrip("+-")) > MAX_INT_DIGITS:
            raise fail(f"number has more than {MAX_INT_DIGITS} digits", token)
        if tokens > MAX_DSL_TOKENS:
            raise fail(f"more than {MAX_DSL_TOKENS} tokens", token)
        feed(token)
    end = Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
    return feed(end, True)


def parse_canonical_dsl(text: str) -> dict[str, Any]:
    """Parse DSL text that :func:`render_dsl` wrote into the plain policy mapping.

    The compiler's round trip: the same grammar and tables as :func:`parse_dsl`,
    but the mapping is built while parsing and no positions are kept, since
    rendered text has no author to point at. Any difference from the policy it
    was rendered from is caught by the compiler's comparison, not here.
    """
    from gait.policy._dsl_parser import LarkError

    fast = _fast_canonical_parse(text)
    if fast is not None:
        return fast
    try:
        return _canonical_parser().parse(text)
    except LarkError as err:
        raise PolicyError(f"parse policy dsl (canonical): {err}") from err


# One pattern for every terminal of the grammar (same expressions as grammar/gait.lark),
# leading whitespace absorbed, groups named after Lark's terminal types. Names are
# typed afterwards from the parser state, as Lark's contextual lexer does: KEY, WORD,
# VERDICT and the keywords share one spelling. ERROR catches any other character.
_CANONICAL_TOKEN = re.compile(
    r"[ \t\f\r\n]*(?:"
    r"(?P<KEYNAME>[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_.\-]))"
    r"|(?P<WORDNAME>[A-Za-z_][A-Za-z0-9_.\-]*)"
    r'|(?P<STRING>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")'
    r"|(?P<LBRACE>\{)|(?P<RBRACE>\})|(?P<LSQB>\[)|(?P<RSQB>\])|(?P<COMMA>,)|(?P<__ANON_0>=>)"
    r"|(?P<INT_LIT>[-+]?[0-9]+(?![0-9.eE]))"
    r"|(?P<FLOAT>[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+)"
    r"|(?P<COMMENT>#[^\n]*)"
    r"|(?P<ERROR>[^ \t\f\r\n])"
    r")"
)
_KEYWORD_TYPES = {
    "policy": "POLICY",
    "rule": "RULE",
    "priority": "PRIORITY",
    "true": "TRUE",
    "false": "FALSE",
    "null": "NULL",
}


@lru_cache(maxsize=1)
def _fast_tables() -> tuple[Any, ...]:
    """The generated LALR tables and the canonical transformer's callbacks, flattened
    for the driver below: per state, token type -> (True, next state, its actions)
    or (False, rule size, rule origin, callback or None where it would return
    its only child); and per state, how a name is typed
    there: (keyword or verdict spelling -> type, type of another KEY-shaped name,
    type of a name with dots or dashes), None where no terminal accepts it."""
    from gait.policy._dsl_parser import ExpandSingleChild, Shift

    inner = _canonical_parser().parser.parser.parser
    table = inner.parse_table
    callbacks = inner.callbacks
    states: dict[int, dict[str, Any]] = {}
    names: dict[int, tuple[dict[str, str], str | None, str | None]] = {}
    for state in table.states:
        states[state] = {}
    for state, actions in table.states.items():
        flat = states[state]
        for kind, (action, arg) in actions.items():
            if action is Shift:
                flat[kind] = (True, arg, states[arg])
            else:
                size, callback = len(arg.expansion), callbacks[arg]
                if size == 1 and type(callback) is ExpandSingleChild:
                    callback = None  # returns its one child: the value stays as it is
                flat[kind] = (False, size, arg.origin.name, callback)
        spelled = {k: t for k, t in _KEYWORD_TYPES.items() if t in actions}
        if "VERDICT" in actions:
            spelled.update(dict.fromkeys(VERDICTS, "VERDICT"))
            names[state] = (spelled, None, None)
        elif "KEY" in actions:
            names[state] = (spelled, "KEY", None)
        elif "WORD" in actions:
            names[state] = (spelled, "WORD", "WORD")
        else:
            names[state] = (spelled, None, None)
    token_callbacks = frozenset(k for k in callbacks if isinstance(k, str))
    return states, names, table.start_states["start"], table.end_states["start"], token_callbacks


def _only_child(children: list[Any]) -> Any:
    return children[0]


def _fast_canonical_parse(text: str, trace: list[Any] | None = None) -> dict[str, Any] | None:
    """LALR parse of rendered text with the generated tables, driven in one loop.

    Same tables, same callbacks and the same token types as Lark's own parse of
    it (tests/policy/test_fast_dsl.py compares both), without building a
    Token object per terminal. Returns None on anything unexpected: the caller
    then runs Lark's parser, which reports the error. ``trace`` (tests) receives
    the ``(type, text)`` of every terminal shifted.
    """
    states, names, start, end_state, token_callbacks = _fast_tables()
    if token_callbacks:
        return None
    stack = [start]
    values: list[Any] = []
    push_state, push_value = stack.append, values.append
    accepts = states[start]
    try:
        for m in _CANONICAL_TOKEN.finditer(text):
            kind = m.lastgroup
            value = m[kind]
            if kind == "KEYNAME":
                spelled, kind, _ = names[stack[-1]]
                kind = spelled.get(value, kind)
            elif kind == "WORDNAME":
                kind = names[stack[-1]][2]
            elif kind == "COMMENT":
                continue
            while True:
                step = accepts[kind]  # KeyError: not accepted here (None, ERROR included)
                if step[0]:
                    _, goto, accepts = step
                    push_state(goto)
                    push_value(value)
                    if trace is not None:
                        trace.append((kind, value))
                    break
                _, size, origin, callback = step
                if callback is None:
                    del stack[-1]
                    _, goto, accepts = states[stack[-1]][origin]
                    push_state(goto)
                    continue
                if size:
                    children = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    children = []
                _, goto, accepts = states[stack[-1]][origin]
                push_state(goto)
                push_value(callback(children))
    except KeyError:
        return None
    while True:
        step = states[stack[-1]].get("$END")
        if step is None or step[0]:
            return None
        _, size, origin, callback = step
        if callback is None:
            callback = _only_child
        if size:
            children = values[-size:]
            del stack[-size:]
            del values[-size:]
        else:
            children = []
        goto = states[stack[-1]].get(origin)
        if goto is None:
            return None
        push_state(goto[1])
        push_value(callback(children))
        if stack[-1] == end_state:
            result = values[-1]
            return result if isinstance(result, dict) else None


@lru_cache(maxsize=1)
def _canonical_parser() -> Any:
    from gait.policy._dsl_parser import Lark_StandAlone, Transformer

    class Plain(Transformer):  # one method per grammar rule or alias, applied inline
        def start(self, items: list[Any]) -> dict[str, Any]:
            doc: dict[str, Any] = {}
            rules = []
            for kind, value in items:
                if kind == "policy":
                    doc.update(value)
                else:
                    rules.append(value)
            if rules:
                doc["rules"] = rules
            return doc

        def policy_block(self, c: list[Any]) -> tuple[str, Any]:
            return ("policy", c[0])

        def rule_block(self, c: list[Any]) -> tuple[str, Any]:
            out: dict[str, Any] = {"name": _json_string(c[0])}
            for key, value in c[1:-1]:
                out[key] = value
            out.update(c[-1])
            return ("rule", out)

        def header_priority(self, c: list[Any]) -> tuple[str, Any]:
            return ("priority", c[0])

        def header_effect(self, c: list[Any]) -> tuple[str, Any]:
            return ("effect", str(c[0]))

        def block(self, c: list[Any]) -> dict[str, Any]:
            return dict(c)

        def assign(self, c: list[Any]) -> tuple[str, Any]:
            return (str(c[0]), c[1])

        section = assign

        def string(self, c: list[Any]) -> str:
            return _json_string(c[0])

        def signed_int(self, c: list[Any]) -> int:
            return int(c[0])

        def number(self, c: list[Any]) -> float:
            return float(c[0])

        def true(self, _c: list[Any]) -> bool:
            return True

        def false(self, _c: list[Any]) -> bool:
            return False

        def null(self, _c: list[Any]) -> None:
            return None

        def word(self, c: list[Any]) -> str:
            return str(c[0])

        def list(self, c: list[Any]) -> list[Any]:
            return c

    return Lark_StandAlone(transformer=Plain(), propagate_positions=False)


def _json_string(tok: Any) -> str:
    text = str(tok)
    if "\\" not in text:
        # the STRING terminal admits no quote or control character unescaped
        return text[1:-1]
    return json.loads(text)


class _Builder:
    """Turns the parse tree into the plain mapping (a Lark tree walk, positions kept)."""

    def __init__(self, path_name: str) -> None:
        self.path_name = path_name
        self.positions: Positions = {}

    def _err(self, message: str, meta_or_tok: Any, path: PathKey) -> PolicyError:
        line = getattr(meta_or_tok, "line", 0) or 0
        col = getattr(meta_or_tok, "column", 0) or 0
        from gait.policy.source import field_name

        return PolicyError(
            f"parse policy dsl: [{line}:{col}] {message}",
            location=Location(self.path_name, line, col, field_name(path)),
        )

    def build(self, tree: Any) -> tuple[dict[str, Any], Positions]:
        doc: dict[str, Any] = {}
        rules: list[dict[str, Any]] = []
        seen_policy = False
        for item in tree.children:
            if item.data == "policy_block":
                if seen_policy:
                    raise self._err("only one policy block is allowed", item.meta, ())
                seen_policy = True
                self.positions[()] = (item.meta.line, item.meta.column)
                doc.update(self._block(item.children[0], ()))
            else:
                rules.append(self._rule(item, len(rules)))
        if rules:
            if "rules" in doc:
                raise self._err('"rules" is written as rule blocks', tree, ("rules",))
            doc["rules"] = rules
        self.positions.setdefault((), (1, 1))
        return doc, self.positions

    def _rule(self, node: Any, index: int) -> dict[str, Any]:
        path: PathKey = ("rules", index)
        name_tok = node.children[0]
        self.positions[path] = (node.meta.line, node.meta.column)
        out: dict[str, Any] = {"name": self._string(name_tok, (*path, "name"))}
        self.positions[(*path, "name")] = (name_tok.line, name_tok.column)
        for header in node.children[1:-1]:
            if header.data == "header_priority":
                key, value, tok = (
                    "priority",
                    self._int(header.children[0]),
                    header.children[0].children[0],
                )
            else:
                tok = header.children[0]
                key, value = "effect", str(tok)
            if key in out:
                raise self._err(f'duplicate "{key}" in rule header', tok, (*path, key))
            out[key] = value
            self.positions[(*path, key)] = (tok.line, tok.column)
        body = self._block(node.children[-1], path)
        for key, value in body.items():
            if key in out:
                raise self._err(
                    f'"{key}" is already set in the rule header', node.meta, (*path, key)
                )
            out[key] = value
        return out

    def _block(self, node: Any, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stmt in node.children:
            key_tok = stmt.children[0]
            key = str(key_tok)
            sub = (*path, key)
            if key in out:
                raise self._err(f'mapping key "{key}" already defined', key_tok, sub)
            target = stmt.children[1]
            if stmt.data == "section":
                self.positions[sub] = (key_tok.line, key_tok.column)
                out[key] = self._block(target, sub)
            else:
                out[key] = self._value(target, sub)
                if sub not in self.positions:
                    self.positions[sub] = (key_tok.line, key_tok.column)
        return out

    def _string(self, tok: Any, path: PathKey) -> str:
        """A JSON string literal; ``\\uD800``-style lone surrogates are not text."""
        value = json.loads(str(tok))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise self._err("string contains a lone surrogate escape", tok, path) from err
        return value

    def _int(self, node: Any) -> int:
        return int(str(node.children[0]))

    def _value(self, node: Any, path: PathKey) -> Any:
        kind = node.data
        meta = node.meta
        if not getattr(meta, "empty", True):
            self.positions[path] = (meta.line, meta.column)
        if kind == "string":
            return self._string(node.children[0], path)
        if kind == "signed_int":
            return self._int(node)
        if kind == "number":
            return float(str(node.children[0]))
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "null":
            return None
        if kind == "word":
            return str(node.children[0])
        if kind == "list":
            return [self._value(child, (*path, i)) for i, child in enumerate(node.children)]
        if kind == "block":
            return self._block(node, path)
        raise self._err(f"unsupported value {kind}", meta, path)
