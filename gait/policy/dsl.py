"""The rule DSL: canonical rendering of a normalized policy, and parsing DSL text.

Rendering writes only non-default values, in the fixed key order of the model,
so the text is short, stable and diff-friendly. Parsing follows grammar/gait.lark,
which names every block and field with its value type: the parser rejects a
misplaced field or a wrong-typed value, and the model is built while parsing,
with source positions for the normalizer's errors. Both surfaces then share one
normalizer.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import msgspec

from gait.errors import Location, PolicyError
from gait.policy.model import FlowCondition, Policy, Rule
from gait.policy.source import PathKey, Positions
from gait.safejson import MAX_DEPTH, MAX_INT_DIGITS, deep_recursion
from gait.vocab import VERDICTS

try:  # the C function json.encoder uses, without loading the json package (~1 ms)
    from _json import encode_basestring as _quote
except ImportError:  # pragma: no cover - an interpreter without the C accelerator
    from json.encoder import encode_basestring as _quote

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
    import json

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
#
# grammar/gait.lark names every block and field of the policy format with the
# type of its value, so the parser itself rejects a field in the wrong block or
# a value of the wrong type. tools/gen_dsl_parser.py generates two modules from
# it: _dsl_tables (the LALR tables as literals) and _dsl_parser (the same tables
# with Lark's standalone runtime). parse_dsl_policy (any author's text) drives
# the tables in one loop and builds the model with positions while parsing;
# when that loop meets anything unexpected, Lark's parser runs instead: a parse
# tree with positions, then the ModelBuilder Transformer over the same builder
# functions, or the syntax error with the block's alternatives and a caret.
# parse_canonical_dsl (text render_dsl wrote) builds the plain mapping the same
# way, without positions. tests/policy/test_fast_dsl.py proves both loops equal
# to Lark's parser.


def _sections() -> dict[str, type[msgspec.Struct]]:
    """The struct each block of the format decodes into, by the field that opens it:
    the fields of the policy and of a rule whose default is a struct, and so on
    inside them (level by level), which is also what render_dsl writes as blocks."""
    found: dict[str, type[msgspec.Struct]] = {}
    level: list[type[msgspec.Struct]] = [Policy, Rule]
    while level:
        inner = []
        for cls in level:
            for name, default in _layout(cls):
                if isinstance(default, msgspec.Struct):
                    found[name] = type(default)
                    inner.append(type(default))
        level = inner
    return found


_SECTIONS = _sections()
# Fields whose value is a list of blocks, and the struct of each block.
_BLOCK_LISTS: dict[str, type[msgspec.Struct]] = {"after": FlowCondition, "not_after": FlowCondition}
_FLOAT_FIELDS = frozenset({"min_score"})


@lru_cache(maxsize=1)
def _parser() -> Any:
    # Tables generated from grammar/gait.lark (tools/gen_dsl_parser.py): no grammar
    # compile per process, no lark import, and no on-disk parser cache to trust.
    from gait.policy._dsl_parser import Lark_StandAlone

    return Lark_StandAlone()


def parse_dsl_policy(text: str, path_name: str) -> tuple[Policy, Positions]:
    """Parse DSL text into the policy model (not yet normalized) and the positions
    of its values, for the errors normalization reports."""
    fast = _fast_model_parse(text)
    if fast is not None:
        return _raise_first(fast, path_name)
    # Lark's parser: reports the syntax error (or parses what the fast driver left to it)
    parser = _parser()
    with deep_recursion(MAX_DEPTH):
        tree = _parse_within_budget(parser, text, path_name)
    return _raise_first(_model_builder().transform(tree), path_name)


MAX_DSL_TOKENS = 5_000_000
"""Most tokens a DSL policy may have (comments and whitespace are free)."""
MAX_DSL_RULES = 200_000
"""Most rule blocks in one DSL policy."""


def _parse_within_budget(parser: Any, text: str, path_name: str) -> Any:
    """Parse ``text`` while holding the token, rule and nesting budgets.

    One lexing pass: each token the parser's own lexer produces is counted
    before it is fed, so a budget stops the parse before any tree is built
    (the loop is the parser's own ``parse``, with the check added). Syntax
    errors are reported with the block they occur in and what it accepts.
    """
    from gait.policy._dsl_parser import LarkError, Token, UnexpectedInput

    def fail(message: str, tok: Any) -> PolicyError:
        line, col = getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0
        return PolicyError(
            f"parse policy dsl: [{line}:{col}] {message}", location=Location(path_name, line, col)
        )

    state = parser.parse_interactive(text).parser_state
    feed = state.feed_token
    tokens = rules = depth = 0
    token = None
    try:
        for token in state.lexer.lex(state):
            tokens += 1
            kind = token.type
            if kind in ("LBRACE", "LSQB"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise fail(f"nesting exceeds {MAX_DEPTH} levels", token)
            elif kind in ("RBRACE", "RSQB"):
                depth -= 1
            elif kind == "_RULE":
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
    except UnexpectedInput as err:
        raise syntax_error(err, state.value_stack, text, path_name) from err
    except LarkError as err:
        raise PolicyError(f"parse policy dsl: {err}", location=Location(path_name)) from err


# ------------------------------------------------------ syntax errors ---

# What a terminal stands for, in the words of an error message.
_TERMINAL_WORDS = {
    "STRING": "a quoted string",
    "WORD": "a bare word",
    "INT_LIT": "an integer",
    "FLOAT": "a decimal number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "VERDICT": "a verdict (allow, block, dry_run or require_approval)",
    "ENFORCEMENT": "block or require_approval",
    "LSQB": '"["',
    "RSQB": '"]"',
    "LBRACE": '"{"',
    "RBRACE": '"}"',
    "COMMA": '","',
    "_ARROW": '"=>"',
    "_POLICY": "a policy block",
    "_RULE": "a rule block",
    "$END": "end of file",
}
# What a field's value must be, by the set of terminals that may start it.
_VALUE_WORDS = {
    frozenset({"LSQB", "NULL"}): 'a list of strings ["a", b] or null',
    frozenset({"STRING", "WORD", "NULL"}): "a string (quoted, or a bare word) or null",
    frozenset({"VERDICT", "STRING", "NULL"}): (
        "a verdict (allow, block, dry_run or require_approval), a quoted string or null"
    ),
    frozenset({"ENFORCEMENT", "STRING", "NULL"}): (
        "block or require_approval, a quoted string or null"
    ),
    frozenset({"TRUE", "FALSE", "NULL"}): "true, false or null",
    frozenset({"INT_LIT", "NULL"}): "an integer or null",
    frozenset({"INT_LIT", "FLOAT", "NULL"}): "a number or null",
}
_FLOW_LIST_WORDS = "a list of flow blocks [{ ... }] or null"


@cache
def _field_places() -> dict[str, tuple[str, ...]]:
    """Field name -> the blocks it may be written in (for "belongs in" hints)."""
    places: dict[str, list[str]] = {}
    blocks: list[tuple[str, type[msgspec.Struct]]] = [
        ("policy", Policy),
        ("rule", Rule),
        *_SECTIONS.items(),
        *((f"{k} [{{...}}]", v) for k, v in _BLOCK_LISTS.items()),
    ]
    for block, cls in blocks:
        for name in cls.__struct_fields__:
            if (cls, name) not in ((Policy, "rules"), (Rule, "name")):
                places.setdefault(name, [])
                if block not in places[name]:
                    places[name].append(block)
    return {k: tuple(v) for k, v in places.items()}


def _open_block(stack: list[Any]) -> str:
    """The block the parser is inside, read from the tokens still on its stack."""
    closed = 0
    for i in range(len(stack) - 1, -1, -1):
        kind = getattr(stack[i], "type", None)
        if kind == "RBRACE":
            closed += 1
        if kind != "LBRACE":
            continue
        if closed:
            closed -= 1
            continue
        before = stack[i - 1] if i else None
        kind = getattr(before, "type", None)
        if kind == "_POLICY":
            return "policy"
        if kind in ("LSQB", "COMMA"):
            for j in range(i - 1, -1, -1):
                if getattr(stack[j], "type", None) in ("AFTER", "NOT_AFTER"):
                    return f"{stack[j]} [{{...}}]"
            return "a flow block"
        if isinstance(before, str) and kind not in ("STRING", None):
            return str(before)
        return "rule"
    return "the file"


def _words(expected: frozenset[str], fields: dict[str, str]) -> str:
    """``expected`` terminals in words; ``fields`` (terminal -> field name) grouped."""
    parts = sorted({_TERMINAL_WORDS.get(e, e.lower()) for e in expected if e not in fields})
    if fields:
        parts.insert(0, "a field (" + ", ".join(sorted(fields.values())) + ")")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _found(tok: Any) -> str:
    kind, text = tok.type, str(tok)
    if kind == "$END":
        return "end of file"
    if kind == "STRING":
        return f"string {text}"
    if kind in ("INT_LIT", "FLOAT"):
        return f"number {text}"
    return f'"{text}"'


_SNIPPET_WIDTH = 100


def _snippet(text: str, path_name: str, line: int, col: int) -> str:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return f"  --> {path_name}:{line}:{col}"
    source = lines[line - 1].rstrip("\r")
    at = max(col - 1, 0)
    if len(source) > _SNIPPET_WIDTH:  # a long line: the part around the column
        start = max(0, min(at - _SNIPPET_WIDTH // 2, len(source) - _SNIPPET_WIDTH))
        head = "..." if start else ""
        tail = "..." if start + _SNIPPET_WIDTH < len(source) else ""
        source = head + source[start : start + _SNIPPET_WIDTH] + tail
        at = at - start + len(head)
    pad = "".join("\t" if ch == "\t" else " " for ch in source[:at])
    gutter = " " * len(str(line))
    return f"  --> {path_name}:{line}:{col}\n {gutter} |\n {line} | {source}\n {gutter} | {pad}^"


def syntax_error(err: Any, stack: list[Any], text: str, path_name: str) -> PolicyError:
    """A parser error as a PolicyError: position, what was found, what the block
    accepts there in words, and the source line with a caret under the column."""
    from gait.policy._dsl_parser import UnexpectedCharacters, UnexpectedToken

    line, col = getattr(err, "line", 0) or 0, getattr(err, "column", 0) or 0
    if isinstance(err, UnexpectedToken | UnexpectedCharacters) and "_RULE" in _expected(err):
        # between top-level blocks the file may also end (the lexer does not list $END)
        err_expected = frozenset({*_expected(err), "$END"})
    else:
        err_expected = None
    if isinstance(err, UnexpectedToken):
        tok = err.token
        expected = frozenset(err.expected)
        if tok.type == "$END" and getattr(tok, "end_line", None):
            # the end-of-file token borrows the last token's place: point just after it
            line, col = tok.end_line, tok.end_column
    elif isinstance(err, UnexpectedCharacters):
        tok = None
        expected = frozenset(err.allowed or ())
    else:
        tok, expected = None, frozenset()
    problem = _problem(tok, err_expected or expected, stack, text, err)
    return PolicyError(
        f"parse policy dsl: [{line}:{col}] {problem}\n{_snippet(text, path_name, line, col)}",
        location=Location(path_name, line, col),
    )


def _expected(err: Any) -> frozenset[str]:
    return frozenset(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())


def _problem(tok: Any, expected: frozenset[str], stack: list[Any], text: str, err: Any) -> str:
    places = _field_places()
    spelled = _spellings()
    fields = {e: spelled[e][0] for e in expected if e in spelled and spelled[e][0] in places}
    last = stack[-1] if stack else None
    if tok is None:
        pos = getattr(err, "pos_in_stream", None)
        char = text[pos] if pos is not None and pos < len(text) else ""
        found = f"unexpected character {char!r}" if char else "unexpected end of input"
        return f"{found}; expected {_words(expected, fields)}" if expected else found
    name = str(tok)
    if fields and "RBRACE" in expected:  # at the start of a statement inside a block
        block = _open_block(stack)
        if name in places and tok.type != "STRING":
            where = ", ".join(places[name])
            problem = f'"{name}" is not a field of {block} (it is a field of {where})'
        elif block == "rule" and name == "name":
            problem = 'the rule name is written in the header: rule "NAME" { ... }'
        elif block == "policy" and name == "rules":
            problem = '"rules" are written as rule blocks after the policy block'
        elif tok.type == "WORD" or name.isidentifier():
            problem = f'unknown field "{name}" in {block}'
            if block == "policy":
                legacy = _legacy_hint(name)
                problem += f" ({legacy})" if legacy else ""
        else:
            problem = f"unexpected {_found(tok)} in {block}"
        return f"{problem}; expected {_words(expected, fields)}"
    key = str(last) if isinstance(last, str) and getattr(last, "type", "") in spelled else ""
    if key in places:  # right after a field name: its value
        if key in _BLOCK_LISTS:
            want = _FLOW_LIST_WORDS
        else:
            want = _VALUE_WORDS.get(expected) or _words(expected, {})
        return f'"{key}" takes {want}; found {_found(tok)}'
    return f"unexpected {_found(tok)}; expected {_words(expected, {})}"


def _legacy_hint(name: str) -> str:
    from gait.policy.source import LEGACY_KEYS

    for key, _, note in LEGACY_KEYS:
        if key == name:
            return f"a legacy policy proposal field: {note}"
    return ""


def _spellings() -> dict[str, tuple[str, ...]]:
    """Keyword terminal -> the words it matches (``VERDICT`` -> allow, block, ...)."""
    from gait.policy._dsl_tables import KEYWORDS

    return KEYWORDS


# ------------------------------------------------------ model builder ---
#
# Parse tree -> policy model, bottom up, with the position of every value. Each
# value becomes ``(value, position, sub-positions, problems)``; paths in
# sub-positions and problems are relative and gain their prefix on the way up,
# so the whole document's positions are complete at the top. Problems the
# grammar cannot see (a field set twice, a lone surrogate escape) are collected
# and the first in the text is raised. One function per grammar rule or alias:
# the Lark Transformer (ModelBuilder) and the fast driver call the same ones;
# those taking ``pos`` get the position of the rule's first token (Lark's meta).


def _m_string(c: list[Any]) -> Any:
    tok = c[0]
    value = _json_string(tok)
    pos = (tok.line, tok.column)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return (None, pos, None, [((), pos, "string contains a lone surrogate escape")])
    return (value, pos, None, None)


def _leaf(convert: Any) -> Any:
    def leaf(c: list[Any]) -> Any:
        tok = c[0]
        return (convert(str(tok)), (tok.line, tok.column), None, None)

    return leaf


def _m_list(pos: tuple[int, int], c: list[Any]) -> Any:
    # the list's own position is its "[" (comments are placed by it)
    sub: dict[PathKey, tuple[int, int]] = {}
    problems: list[Any] = []
    for i, (_, ipos, isub, iprob) in enumerate(c):
        sub[(i,)] = ipos
        if isub:
            sub.update({(i, *rel): p for rel, p in isub.items()})
        if iprob:
            problems.extend(((i, *rel), p, m) for rel, p, m in iprob)
    return (tuple(item[0] for item in c), pos, sub, problems)


def _m_struct(cls: type[msgspec.Struct], fields: list[Any]) -> Any:
    values: dict[str, Any] = {}
    seen: set[str] = set()
    sub: dict[PathKey, tuple[int, int]] = {}
    problems: list[Any] = []
    for key, key_pos, (value, pos, vsub, vprob) in fields:
        if key in seen:
            problems.append(((key,), key_pos, f'mapping key "{key}" already defined'))
        seen.add(key)
        sub[(key,)] = pos or key_pos
        if vsub:
            sub.update({(key, *rel): p for rel, p in vsub.items()})
        if vprob:
            problems.extend(((key, *rel), p, m) for rel, p, m in vprob)
        if value is not None:
            values[key] = float(value) if key in _FLOAT_FIELDS else value
    return cls(**values), sub, problems


def _m_flow_block(pos: tuple[int, int], c: list[Any]) -> Any:
    struct, sub, problems = _m_struct(FlowCondition, c)
    return (struct, pos, sub, problems)


def _m_field(c: list[Any]) -> Any:
    key = c[0]
    return (str(key), (key.line, key.column), c[1])


def _m_section(c: list[Any]) -> Any:
    key = c[0]
    struct, sub, problems = _m_struct(_SECTIONS[str(key)], c[1:])
    pos = (key.line, key.column)
    return (str(key), pos, (struct, pos, sub, problems))


def _m_header_priority(c: list[Any]) -> Any:
    key = c[0]
    return ("priority", (key.line, key.column), c[1], True)


def _m_header_effect(c: list[Any]) -> Any:
    tok = c[0]
    pos = (tok.line, tok.column)
    return ("effect", pos, (str(tok), pos, None, None), True)


def _m_rule_block(pos: tuple[int, int], c: list[Any]) -> Any:
    name, name_pos, _, name_problems = _m_string([c[0]])
    problems = [(("name",), p, m) for _, p, m in name_problems or ()]
    header: dict[str, tuple[int, int]] = {}
    fields: list[Any] = [("name", name_pos, (name, name_pos, None, None))]
    for item in c[1:]:
        key, key_pos, value = item[:3]
        if len(item) == 4:  # from the header
            if key in header:
                problems.append(((key,), key_pos, f'duplicate "{key}" in rule header'))
                continue
            header[key] = key_pos
        elif key in header:
            problems.append(((key,), key_pos, f'"{key}" is already set in the rule header'))
            continue
        fields.append((key, key_pos, value))
    struct, sub, more = _m_struct(Rule, fields)
    return (struct, pos, sub, problems + more)


def _m_policy_block(pos: tuple[int, int], c: list[Any]) -> Any:
    struct, sub, problems = _m_struct(Policy, c)
    return (struct, pos, sub, problems)


def _m_start(c: list[Any]) -> Any:
    positions: Positions = {}
    problems: list[Any] = []
    policy: Policy | None = None
    rules: list[Rule] = []
    for value, pos, sub, prob in c:
        if isinstance(value, Policy):
            if policy is not None:
                problems.append(((), pos, "only one policy block is allowed"))
                continue
            policy = value
            positions[()] = pos
            positions.update(sub)
            problems.extend(prob)
        else:
            base: PathKey = ("rules", len(rules))
            rules.append(value)
            positions[base] = pos
            positions.update({(*base, *rel): p for rel, p in sub.items()})
            problems.extend(((*base, *rel), p, m) for rel, p, m in prob)
    positions.setdefault((), (1, 1))
    policy = policy or Policy()
    if rules:
        policy = msgspec.structs.replace(policy, rules=tuple(rules))
    return policy, positions, problems


# name -> (function, whether it takes the rule's position first)
_MODEL_CALLBACKS: dict[str, tuple[Any, bool]] = {
    "string": (_m_string, False),
    "word": (_leaf(str), False),
    "signed_int": (_leaf(int), False),
    "float": (_leaf(float), False),
    "true": (_leaf(lambda _t: True), False),
    "false": (_leaf(lambda _t: False), False),
    "null": (_leaf(lambda _t: None), False),
    "list": (_m_list, True),
    "flow_list": (_m_list, True),
    "flow_block": (_m_flow_block, True),
    "field": (_m_field, False),
    "section": (_m_section, False),
    "header_priority": (_m_header_priority, False),
    "header_effect": (_m_header_effect, False),
    "rule_block": (_m_rule_block, True),
    "policy_block": (_m_policy_block, True),
    "start": (_m_start, False),
}


def _raise_first(built: Any, path_name: str) -> tuple[Policy, Positions]:
    policy, positions, problems = built
    if problems:
        from gait.policy.source import field_name

        path, (line, col), message = min(problems, key=lambda p: p[1])
        raise PolicyError(
            f"parse policy dsl: [{line}:{col}] {message}",
            location=Location(path_name, line, col, field_name(path)),
        )
    return policy, positions


@lru_cache(maxsize=1)
def _model_builder() -> Any:
    """The model builder as a Lark Transformer over a parse tree with positions."""
    from gait.policy._dsl_parser import Transformer, v_args

    def method(fn: Any, takes_pos: bool) -> Any:
        if takes_pos:
            return v_args(meta=True)(lambda _self, meta, c: fn((meta.line, meta.column), c))
        return lambda _self, c: fn(c)

    methods = {name: method(fn, pos) for name, (fn, pos) in _MODEL_CALLBACKS.items()}
    return type("ModelBuilder", (Transformer,), methods)()


def parse_canonical_dsl(text: str) -> dict[str, Any]:
    """Parse DSL text that :func:`render_dsl` wrote into the plain policy mapping.

    The compiler's round trip: the same grammar and tables as :func:`parse_dsl_policy`,
    but the mapping is built while parsing and no positions are kept, since
    rendered text has no author to point at. Any difference from the policy it
    was rendered from is caught by the compiler's comparison, not here.
    """
    fast = _fast_canonical_parse(text)
    if fast is not None:
        return fast
    from gait.policy._dsl_parser import LarkError  # only now: the runtime costs ~15 ms

    try:
        return _canonical_parser().parse(text)
    except LarkError as err:
        raise PolicyError(f"parse policy dsl (canonical): {err}") from err


# ------------------------------------------------------ canonical fast path ---


@lru_cache(maxsize=1)
def _canonical_token() -> re.Pattern[str]:
    # One pattern for every terminal of the grammar (same expressions as grammar/gait.lark),
    # leading whitespace absorbed, groups named after Lark's terminal types. Names are
    # typed afterwards from the parser state, as Lark's contextual lexer does: keywords,
    # field names and WORD share one spelling. ERROR catches any other character.
    return re.compile(
        r"[ \t\f\r\n]*(?:"
        r"(?P<KEYNAME>[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_.\-]))"
        r"|(?P<WORDNAME>[A-Za-z_][A-Za-z0-9_.\-]*)"
        r'|(?P<STRING>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")'
        r"|(?P<LBRACE>\{)|(?P<RBRACE>\})|(?P<LSQB>\[)|(?P<RSQB>\])|(?P<COMMA>,)|(?P<_ARROW>=>)"
        r"|(?P<INT_LIT>[-+]?[0-9]+(?![0-9.eE]))"
        r"|(?P<FLOAT>[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+)"
        r"|(?P<COMMENT>#[^\n]*)"
        r"|(?P<ERROR>[^ \t\f\r\n])"
        r")"
    )


class _Splice(list):  # type: ignore[type-arg]
    """Children of a helper rule (``__x_star_0``, ``_rule``): spliced into its parent."""

    __slots__ = ()


def _compose(fn: Any, size: int, expand1: bool, keep: tuple[Any, ...], splice: bool) -> Any:
    """One rule's callback as Lark composes it: drop filtered tokens, splice helper
    rules' children, let a ``?rule``'s lone child stand for it, then the callback."""
    identity = keep == tuple((i, False) for i in range(size))
    if identity and not expand1 and not splice:
        return fn
    if splice and keep and all(not spliced for _, spliced in keep[1:]):
        # the helper rules of `x*` lists: start a list, or grow the one on the left
        rest = tuple(i for i, _ in keep[1:])
        if keep[0] == (0, True) and len(rest) == 1:
            (j,) = rest

            def grow(children: list[Any]) -> Any:
                kept = children[0]
                kept.append(children[j])
                return kept

            return grow
        if not keep[0][1]:
            first = tuple(i for i, _ in keep)
            return lambda children: _Splice([children[i] for i in first])

    if not splice and not expand1 and len(keep) <= 2:
        # the common shapes, without the general loop: `KEY "{" fields "}"`, `"[" items "]"`
        if not keep:
            return lambda _children: fn([])
        (a, a_spliced), (b, b_spliced) = (*keep, (-1, False))[:2]
        if len(keep) == 1 and not a_spliced:
            return lambda children: fn([children[a]])
        if len(keep) == 1:
            return lambda children: fn(list(children[a]))
        if not a_spliced and b_spliced:
            return lambda children: fn([children[a], *children[b]])
        if not a_spliced and not b_spliced:
            return lambda children: fn([children[a], children[b]])

    def callback(children: list[Any]) -> Any:
        if identity:
            kept = children
        else:
            kept = []
            for i, spliced in keep:
                if not spliced:
                    kept.append(children[i])
                elif kept:
                    kept.extend(children[i])
                else:
                    kept = children[i]  # left recursion: grow the same list, as Lark does
        if splice:
            return kept if type(kept) is _Splice else _Splice(kept)
        if expand1 and len(kept) == 1:
            return kept[0]
        return fn(kept)

    return callback


def _tables(make_callback: Any) -> tuple[Any, ...]:
    """The generated LALR tables (gait/policy/_dsl_tables.py) as the drivers below
    read them: ``states[state]`` maps a token type to a code, the state to shift
    to (code >= 0) or ``~rule`` (code < 0); ``rules[~code]`` is (rule size, rule
    origin, callback or None where it would return its only child); and
    ``names[state]`` says how a name is typed there: (spelling of each keyword
    accepted there -> its type, type of any other name or None where no
    terminal accepts it). A state where two keywords share a spelling types it
    as None (the driver gives up there and Lark decides).

    No Lark runtime is imported or built: the tables module is plain literals,
    and its per-state dicts are used as they are (a first compile used to spend
    more on copying them into other shapes than on parsing a shipped policy).
    """
    from gait.policy import _dsl_tables as t

    if list(t.STATES) != list(range(len(t.STATES))):
        raise AssertionError("DSL tables: states are not numbered 0..n-1")
    rules = []
    for origin, name, size, expand1, keep in t.RULES:
        if size == 1 and expand1 and keep == ((0, False),):
            rules.append((size, origin, None))  # returns its one child: the value stays
            continue
        rules.append((size, origin, make_callback(origin, name, size, expand1, keep)))
    return (*_state_tables(), tuple(rules))


@lru_cache(maxsize=1)
def _state_tables() -> tuple[Any, ...]:
    """(states, names, start state, end state): shared by both drivers. ``names``
    fills in per state on first use (:func:`_names_at`): a parse meets few states."""
    from gait.policy import _dsl_tables as t

    return tuple(t.STATES.values()), [None] * len(t.STATES), t.START, t.END


def _names_at(names: list[Any], state: int) -> tuple[dict[str, str | None], str | None]:
    """How a name is typed in ``state`` (see :func:`_tables`), remembered in ``names``."""
    from gait.policy import _dsl_tables as t

    actions = t.STATES[state]
    spelled: dict[str, str | None] = {}
    for kind in actions:
        for word in t.KEYWORDS.get(kind, ()):
            spelled[word] = kind if spelled.get(word, kind) == kind else None
    names[state] = entry = (spelled, "WORD" if "WORD" in actions else None)
    return entry


@lru_cache(maxsize=1)
def _fast_tables() -> tuple[Any, ...]:
    """Tables with the canonical callbacks (plain mapping, no positions)."""

    def make(origin: str, name: str, size: int, expand1: bool, keep: Any) -> Any:
        splice = origin.startswith("_")
        fn = _PLAIN_CALLBACKS.get(name)
        if fn is None and not splice and not expand1:
            raise AssertionError(f"no canonical callback for grammar rule {name}")
        return _compose(fn, size, expand1, keep, splice)

    return _tables(make)


@lru_cache(maxsize=1)
def _model_tables() -> tuple[Any, ...]:
    """Tables with the model builder's callbacks: each takes (children, position of
    the rule's first token)."""

    def make(origin: str, name: str, size: int, expand1: bool, keep: Any) -> Any:
        select = _compose(_p_list, size, False, keep, origin.startswith("_"))
        if origin.startswith("_"):
            return lambda children, _start: select(children)
        entry = _MODEL_CALLBACKS.get(name)
        if entry is None:
            if not expand1:
                raise AssertionError(f"no model callback for grammar rule {name}")
            return lambda children, _start: select(children)[0]
        fn, takes_pos = entry
        if takes_pos:
            return lambda children, start: fn(start, select(children))
        if expand1:

            def one_or_call(children: list[Any], _start: Any) -> Any:
                kept = select(children)
                return kept[0] if len(kept) == 1 else fn(kept)

            return one_or_call
        return lambda children, _start: fn(select(children))

    return _tables(make)


class _Tok:
    """A terminal of the fast driver: its text and where it starts (as Lark's Token)."""

    __slots__ = ("column", "line", "value")

    def __init__(self, value: str, line: int, column: int) -> None:
        self.value, self.line, self.column = value, line, column

    def __str__(self) -> str:
        return self.value


def _fast_model_parse(text: str, trace: list[Any] | None = None) -> Any:
    """Parse any DSL text with the generated tables into ``(policy, positions,
    problems)``, calling the same builder functions as the Lark Transformer.

    The driver of :func:`_fast_canonical_parse`, plus line and column of every
    terminal and the start of every rule (Lark's meta), and the token, rule and
    digit budgets. Returns None on anything unexpected, a budget included: Lark's
    parser then runs and reports it (tests/policy/test_fast_dsl.py compares both).
    """
    states, names, start, end_state, rule_of = _model_tables()
    stack = [start]
    values: list[Any] = []
    starts: list[Any] = []
    push_state, push_value, push_start = stack.append, values.append, starts.append
    accepts = states[start]
    line, line_start, prev_end = 1, 0, 0
    tokens = rules = 0
    max_tokens, max_rules = MAX_DSL_TOKENS, MAX_DSL_RULES
    count = text.count
    try:
        for m in _canonical_token().finditer(text):
            kind = m.lastgroup
            value = m[kind]
            begin = m.start(kind)
            if count("\n", prev_end, begin):  # newlines only ever sit in whitespace
                line += count("\n", prev_end, begin)
                line_start = text.rfind("\n", prev_end, begin) + 1
            prev_end = m.end()
            if kind == "KEYNAME":
                spelled, kind = names[stack[-1]] or _names_at(names, stack[-1])
                kind = spelled.get(value, kind)
            elif kind == "WORDNAME":
                kind = (names[stack[-1]] or _names_at(names, stack[-1]))[1]
            elif kind == "COMMENT":
                continue
            elif kind == "INT_LIT" and len(value.lstrip("+-")) > MAX_INT_DIGITS:
                return None
            tokens += 1
            if tokens > max_tokens:
                return None
            if kind == "_RULE":
                rules += 1
                if rules > max_rules:
                    return None
            pos = (line, begin - line_start + 1)
            while True:
                code = accepts[kind]  # KeyError: not accepted here (None, ERROR included)
                if code >= 0:  # shift
                    push_state(code)
                    accepts = states[code]
                    push_value(_Tok(value, *pos))
                    push_start(pos)
                    if trace is not None:
                        trace.append((kind, value))
                    break
                size, origin, callback = rule_of[~code]
                if callback is None:
                    del stack[-1]
                    goto = states[stack[-1]][origin]  # a rule's goto is always a shift
                    push_state(goto)
                    accepts = states[goto]
                    continue
                if size:
                    children = values[-size:]
                    first = starts[-size]
                    del stack[-size:]
                    del values[-size:]
                    del starts[-size:]
                else:
                    children, first = [], None
                goto = states[stack[-1]][origin]
                push_state(goto)
                accepts = states[goto]
                push_value(callback(children, first))
                push_start(first)
    except KeyError:
        return None
    result = _reduce_at_end(states, rule_of, end_state, stack, values, starts)
    return result if isinstance(result, tuple) and len(result) == 3 else None


def _reduce_at_end(
    states: Any,
    rule_of: Any,
    end_state: int,
    stack: list[Any],
    values: list[Any],
    starts: list[Any] | None,
) -> Any:
    """The reductions at the end of the text, up to the start rule: its value, or
    None where the text may not end. Shared by both drivers: ``starts`` holds the
    model driver's rule positions (its callbacks take them), None for the canonical one."""
    while True:
        code = states[stack[-1]].get("$END")
        if code is None or code >= 0:
            return None
        size, origin, callback = rule_of[~code]
        first = None
        if size:
            children = values[-size:]
            del stack[-size:]
            del values[-size:]
            if starts is not None:
                first = starts[-size]
                del starts[-size:]
        else:
            children = []
        goto = states[stack[-1]].get(origin)
        if goto is None or goto < 0:
            return None
        stack.append(goto)
        if callback is None:  # a pass-through rule: its one child stands for it
            values.append(children[0])
        elif starts is None:
            values.append(callback(children))
        else:
            values.append(callback(children, first))
        if starts is not None:
            starts.append(first)
        if stack[-1] == end_state:
            return values[-1]


def _fast_canonical_parse(text: str, trace: list[Any] | None = None) -> dict[str, Any] | None:
    """LALR parse of rendered text with the generated tables, driven in one loop.

    Same tables, same callbacks and the same token types as Lark's own parse of
    it (tests/policy/test_fast_dsl.py compares both), without building a
    Token object per terminal. Returns None on anything unexpected: the caller
    then runs Lark's parser, which reports the error. ``trace`` (tests) receives
    the ``(type, text)`` of every terminal shifted.
    """
    # The token loop is _fast_model_parse's without positions and budgets, on purpose:
    # one loop switched by "keep positions" measured 2% slower here (10,000 rules,
    # ~0.31 s CPU, median of 9 alternating runs), and every compile runs this parse.
    states, names, start, end_state, rule_of = _fast_tables()
    stack = [start]
    values: list[Any] = []
    push_state, push_value = stack.append, values.append
    accepts = states[start]
    try:
        for m in _canonical_token().finditer(text):
            kind = m.lastgroup
            value = m[kind]
            if kind == "KEYNAME":
                spelled, kind = names[stack[-1]] or _names_at(names, stack[-1])
                kind = spelled.get(value, kind)
            elif kind == "WORDNAME":
                kind = (names[stack[-1]] or _names_at(names, stack[-1]))[1]
            elif kind == "COMMENT":
                continue
            while True:
                code = accepts[kind]  # KeyError: not accepted here (None, ERROR included)
                if code >= 0:  # shift
                    push_state(code)
                    accepts = states[code]
                    push_value(value)
                    if trace is not None:
                        trace.append((kind, value))
                    break
                size, origin, callback = rule_of[~code]
                if callback is None:
                    del stack[-1]
                    goto = states[stack[-1]][origin]  # a rule's goto is always a shift
                    push_state(goto)
                    accepts = states[goto]
                    continue
                if size:
                    children = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    children = []
                goto = states[stack[-1]][origin]
                push_state(goto)
                accepts = states[goto]
                push_value(callback(children))
    except KeyError:
        return None
    result = _reduce_at_end(states, rule_of, end_state, stack, values, None)
    return result if isinstance(result, dict) else None


def _p_start(items: list[Any]) -> dict[str, Any]:
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


def _p_rule_block(c: list[Any]) -> tuple[str, Any]:
    out: dict[str, Any] = {"name": _json_string(c[0])}
    out.update(c[1:])
    return ("rule", out)


def _p_list(c: list[Any]) -> list[Any]:
    return c


# The canonical reading: one function per grammar rule or alias, applied while parsing.
_PLAIN_CALLBACKS: dict[str, Any] = {
    "start": _p_start,
    "policy_block": lambda c: ("policy", dict(c)),
    "rule_block": _p_rule_block,
    "header_priority": lambda c: ("priority", c[1]),
    "header_effect": lambda c: ("effect", str(c[0])),
    "field": lambda c: (str(c[0]), c[1]),
    "section": lambda c: (str(c[0]), dict(c[1:])),
    "flow_block": dict,
    "string": lambda c: _json_string(c[0]),
    "signed_int": lambda c: int(c[0]),
    "float": lambda c: float(c[0]),
    "true": lambda _c: True,
    "false": lambda _c: False,
    "null": lambda _c: None,
    "word": lambda c: str(c[0]),
    "list": _p_list,
    "flow_list": _p_list,
}


@lru_cache(maxsize=1)
def _canonical_parser() -> Any:
    """Lark's own parser with the canonical callbacks: reports the errors the fast
    driver gives up on, and is what tests/policy/test_fast_dsl.py compares it with."""
    from gait.policy._dsl_parser import Lark_StandAlone, Transformer

    methods = {name: staticmethod(fn) for name, fn in _PLAIN_CALLBACKS.items()}
    plain = type("Plain", (Transformer,), methods)
    return Lark_StandAlone(transformer=plain(), propagate_positions=False)


def _json_string(tok: Any) -> str:
    text = str(tok)
    if "\\" not in text:
        # the STRING terminal admits no quote or control character unescaped
        return text[1:-1]
    import json

    return json.loads(text)
