"""The TextMate grammar of .gaitpol (docs/editors/): current, portable, and right.

* the generated files match the policy model and grammar/gait.lark
  (``tools/gen_tmlanguage.py --check``);
* every regular expression compiles in Python ``re`` (and in Oniguruma, the
  engine editors use, when ``onigurumacffi`` is installed) and avoids the
  constructs the two read differently;
* a small TextMate tokenizer (match, begin/end, captures, includes; earliest
  match wins, ties to the first pattern) run over every corpus .gaitpol and the
  canonical DSL of every shipped policy gives each token of the DSL's own lexer
  (Lark, from grammar/gait.lark) the scope its kind calls for.
"""

from __future__ import annotations

import functools
import json
import plistlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gait.errors import PolicyError
from gait.policy import load_policy_file, load_policy_source
from gait.policy.dsl import render_dsl

REPO = Path(__file__).resolve().parents[1]
EDITORS = REPO / "docs" / "editors"
GRAMMAR = json.loads((EDITORS / "gaitpol.tmLanguage.json").read_text(encoding="utf-8"))
ROOT = "source.gaitpol"

try:
    import onigurumacffi
except ImportError:  # optional: Python re is checked either way
    onigurumacffi = None


# ------------------------------------------------------------ generated files ---


def test_generated_files_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gen_tmlanguage.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_check_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import gen_tmlanguage
    finally:
        sys.path.remove(str(REPO / "tools"))
    stale = tmp_path / "gaitpol.tmLanguage.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(gen_tmlanguage, "JSON_OUT", stale)
    monkeypatch.setattr(gen_tmlanguage, "PLIST_OUT", tmp_path / "gaitpol.tmLanguage")
    monkeypatch.setattr(gen_tmlanguage, "REPO", tmp_path)
    assert gen_tmlanguage.main(["--check"]) == 1
    assert gen_tmlanguage.main([]) == 0
    assert json.loads(stale.read_text(encoding="utf-8")) == GRAMMAR
    assert gen_tmlanguage.main(["--check"]) == 0


def test_plist_form_holds_the_same_grammar() -> None:
    with open(EDITORS / "gaitpol.tmLanguage", "rb") as fh:
        assert plistlib.load(fh) == GRAMMAR


def test_header_and_vscode_manifest() -> None:
    assert (GRAMMAR["scopeName"], GRAMMAR["fileTypes"]) == (ROOT, ["gaitpol"])
    manifest = json.loads((EDITORS / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".gaitpol"]
    assert (grammar["language"], grammar["scopeName"]) == (language["id"], ROOT)
    assert (EDITORS / grammar["path"]).resolve() == EDITORS / "gaitpol.tmLanguage.json"
    config = json.loads((EDITORS / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"


def test_keyword_lists_follow_the_model() -> None:
    from gait.policy import model

    repo = GRAMMAR["repository"]

    def names(key: str) -> set[str]:
        found = re.search(r"\]\)\((.*)\)\(\?!", repo[key]["match"])
        assert found, repo[key]["match"]
        return set(found.group(1).split("|"))

    assert "match" in names("block") and "dataflow" in names("block")
    assert names("flow") == {"after", "not_after"}
    assert names("verdict") == {"allow", "block", "dry_run", "require_approval"}
    every: set[str] = set()
    structs = [
        v for v in vars(model).values() if isinstance(v, type) and v.__module__ == model.__name__
    ]
    assert len(structs) >= 10
    for cls in structs:
        every |= set(cls.__struct_fields__)
    listed = names("block") | names("flow") | names("key") | names("header")
    assert listed == every - {"rules", "name"}


# ------------------------------------------------------------ regexes ---

# Constructs Oniguruma and Python re read differently (or one of them not at all).
_NOT_PORTABLE = re.compile(r"\(\?P|\(\?<[A-Za-z]|\(\?>|\\[hHGAzZKRX]|\\p\{|[*+?}][+]|\(\?[imx]")


def _regexes(node: Any) -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end") and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_regexes(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_regexes(item))
    return out


def test_every_regex_is_portable_and_compiles() -> None:
    found = _regexes(GRAMMAR)
    assert len(found) >= 15
    for pattern in found:
        assert not _NOT_PORTABLE.search(pattern), pattern
        re.compile(pattern)
        if onigurumacffi is not None:
            onigurumacffi.compile(pattern)


# ------------------------------------------------------------ tokenizer ---

Search = Callable[[str, int], Any]  # (line, pos) -> match with .start() .end() .span(i)


def python_engine(pattern: str) -> Search:
    compiled = re.compile(pattern)
    return lambda line, pos: compiled.search(line, pos)


def onig_engine(pattern: str) -> Search:
    compiled = onigurumacffi.compile(pattern)
    return lambda line, pos: compiled.search(line, pos)


class Tokenizer:
    """Enough of TextMate's algorithm for a grammar of match and begin/end rules."""

    def __init__(self, grammar: dict[str, Any], engine: Callable[[str], Search]) -> None:
        self.grammar = grammar
        self.engine = engine
        self.cache: dict[str, Search] = {}

    def regex(self, pattern: str) -> Search:
        if pattern not in self.cache:
            self.cache[pattern] = self.engine(pattern)
        return self.cache[pattern]

    def flatten(self, patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for rule in patterns:
            if "include" in rule:
                rule = self.grammar["repository"][rule["include"].removeprefix("#")]
            if "match" in rule or "begin" in rule:
                out.append(rule)
            else:
                out.extend(self.flatten(rule["patterns"]))
        return out

    def line_scopes(self, line: str, stack: list[dict[str, Any]]) -> list[tuple[str, ...]]:
        """The scope list of each character of ``line``; ``stack`` carries begin/end state."""
        scopes: list[tuple[str, ...]] = [()] * len(line)

        def base() -> tuple[str, ...]:
            return (ROOT, *(frame["name"] for frame in stack if "name" in frame))

        def paint(m: Any, names: tuple[str, ...], captures: dict[str, Any]) -> None:
            for i in range(m.start(), m.end()):
                scopes[i] = names
            for group, spec in sorted(captures.items(), key=lambda kv: int(kv[0])):
                start, end = m.span(int(group))
                for i in range(max(start, 0), end):
                    scopes[i] = (*scopes[i], spec["name"])

        pos = 0
        while pos <= len(line):
            frame = stack[-1] if stack else None
            rules = self.flatten(frame["patterns"] if frame else self.grammar["patterns"])
            best: tuple[int, int, str, Any, dict[str, Any] | None] | None = None
            if frame is not None:
                m = self.regex(frame["end"])(line, pos)
                if m is not None:
                    best = (m.start(), -1, "end", m, frame)
            for order, rule in enumerate(rules):
                m = self.regex(rule.get("match") or rule["begin"])(line, pos)
                if m is not None and (best is None or m.start() < best[0]):
                    best = (m.start(), order, "begin" if "begin" in rule else "match", m, rule)
            if best is None:
                break
            start, _order, kind, m, rule = best
            for i in range(pos, start):
                scopes[i] = base()
            if kind == "match":
                names = (*base(), rule["name"]) if "name" in rule else base()
                paint(m, names, rule.get("captures", {}))
                if m.end() == pos:  # an empty match must not stall the scan
                    if pos < len(line):
                        scopes[pos] = base()
                    pos += 1
                    continue
            elif kind == "begin":
                stack.append(rule)
                paint(m, base(), rule.get("beginCaptures", {}))
            else:
                paint(m, base(), rule.get("endCaptures", {}))
                stack.pop()
            pos = m.end()
        for i in range(pos, len(line)):
            scopes[i] = base()
        return scopes

    def text_scopes(self, text: str) -> list[list[tuple[str, ...]]]:
        stack: list[dict[str, Any]] = []
        return [self.line_scopes(line, stack) for line in text.split("\n")]


ENGINES = {"re": python_engine}
if onigurumacffi is not None:
    ENGINES["oniguruma"] = onig_engine


def test_a_line_gets_the_expected_scopes() -> None:
    line = (
        'rule "no \\"x\\" \\q" priority -5 => block { match { tool_names [fs.read, "a#b"] '
        "max_delegation_depth 2 after [{ within 1.5e3 }] require_delegation true } }  # why"
    )
    for engine in ENGINES.values():
        scopes = Tokenizer(GRAMMAR, engine).line_scopes(line, [])

        def at(fragment: str, scopes: list[tuple[str, ...]] = scopes) -> str:
            index = line.index(fragment)
            assert len({scopes[i] for i in range(index, index + len(fragment))}) == 1, fragment
            return scopes[index][-1]

        assert at("rule") == "keyword.declaration.gaitpol"
        assert at('\\"') == "constant.character.escape.gaitpol"
        assert at("\\q") == "invalid.illegal.unrecognized-string-escape.gaitpol"
        assert at("no ") == "string.quoted.double.gaitpol"
        assert at("priority") == "keyword.other.header.gaitpol"
        assert at("-5") == "constant.numeric.gaitpol"
        assert at("=>") == "keyword.operator.arrow.gaitpol"
        assert at("block") == "constant.language.verdict.gaitpol"
        assert at("{") == "punctuation.section.block.begin.gaitpol"
        assert at("match") == "keyword.other.block.gaitpol"
        assert at("tool_names") == "support.type.property-name.gaitpol"
        assert at("[") == "punctuation.section.list.begin.gaitpol"
        assert at("fs.read") == "string.unquoted.gaitpol"
        assert at(",") == "punctuation.separator.comma.gaitpol"
        assert at("a#b") == "string.quoted.double.gaitpol"
        assert at("max_delegation_depth") == "support.type.property-name.gaitpol"
        assert at("after") == "keyword.other.flow.gaitpol"
        assert at("within") == "support.type.property-name.gaitpol"
        assert at("1.5e3") == "constant.numeric.gaitpol"
        assert at("true") == "constant.language.gaitpol"
        assert scopes[line.index("# why")][-2:] == (
            "comment.line.number-sign.gaitpol",
            "punctuation.definition.comment.gaitpol",
        )
        assert scopes[-1][-1] == "comment.line.number-sign.gaitpol"


def test_names_inside_bare_words_are_not_keywords() -> None:
    line = "tool_names [rule.block, x-match, matchx, policy_2, 3rd]"
    scopes = Tokenizer(GRAMMAR, python_engine).line_scopes(line, [])
    for word in ("rule.block", "x-match", "matchx", "policy_2"):
        start = line.index(word)
        assert {scopes[i][-1] for i in range(start, start + len(word))} == {
            "string.unquoted.gaitpol"
        }, word


# ------------------------------------------------------------ corpus vs the DSL lexer ---


def _valid_dsl(path: Path) -> bool:
    try:
        load_policy_source(path.read_bytes(), str(path), "dsl")
    except PolicyError:
        return False
    return True


def corpus() -> list[tuple[str, str]]:
    docs = [
        (str(p.relative_to(REPO)), p.read_text(encoding="utf-8"))
        for p in sorted({*REPO.glob("tests/**/*.gaitpol"), *REPO.glob("examples/**/*.gaitpol")})
        if _valid_dsl(p)
    ]
    for path in sorted({*REPO.glob("policies/*.yaml"), *REPO.glob("examples/**/*.yaml")}):
        try:
            policy = load_policy_file(path)
        except PolicyError:
            continue  # not a policy (e.g. a regress or trust-snapshot file)
        docs.append((f"canonical DSL of {path.relative_to(REPO)}", render_dsl(policy)))
    every_key = REPO / "tests" / "policy" / "data" / "every_key.yaml"
    docs.append(("canonical DSL of every_key.yaml", render_dsl(load_policy_file(every_key))))
    docs.append(("sample", SAMPLE))
    for page in sorted((REPO / "docs").glob("*.md")):
        blocks = re.findall(r"^```[a-z]*\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)
        for n, block in enumerate(blocks):
            shown = re.match(r"\$ cat \S+\.gaitpol\n(.*?)(?=^\$ |\Z)", block, re.M | re.S)
            block = shown.group(1) if shown else block  # a transcript: the file it shows
            if re.match(r"\s*(#.*\n\s*)*(policy|rule)\b", block) and _valid_text(block):
                docs.append((f"docs/{page.name} block {n}", block))
    return docs


def _valid_text(text: str) -> bool:
    try:
        load_policy_source(text.encode("utf-8"), "doc.gaitpol", "dsl")
    except PolicyError:
        return False
    return True


# What the files above lack: escapes, flow predicates, floats, comments after braces.
SAMPLE = """\
policy {  # top
  default_verdict require_approval
  mcp_trust { enabled true snapshot "trust.json" min_score 0.5 max_age "1h" action block }
}
rule "say \\"hi\\" \\u00e9 \\\\ # not a comment" priority -3 => dry_run {
  match {
    tool_names [fs.delete, "x#y"]
    after [
      { tool_names ["fs.read"] same_target true within "10m0s" min_count 2 },  # seen
      {},
    ]
    not_after null
    max_delegation_depth 4
  }
  rate_limit { requests 5 window "minute" scope "tool" }
}# glued
"""


CORPUS = corpus()


def expected_scope(kind: str, text: str) -> str:
    repo = GRAMMAR["repository"]

    def listed(key: str) -> bool:
        return key in repo and re.fullmatch(repo[key]["match"], text) is not None

    if kind == "COMMENT":
        return "comment.line.number-sign.gaitpol"
    if kind == "STRING":
        return "string.quoted.double.gaitpol"
    if kind in ("INT_LIT", "FLOAT"):
        return "constant.numeric.gaitpol"
    punctuation = {
        "{": "punctuation.section.block.begin.gaitpol",
        "}": "punctuation.section.block.end.gaitpol",
        "[": "punctuation.section.list.begin.gaitpol",
        "]": "punctuation.section.list.end.gaitpol",
        ",": "punctuation.separator.comma.gaitpol",
        "=>": "keyword.operator.arrow.gaitpol",
    }
    if text in punctuation:
        return punctuation[text]
    for key in ("declaration", "header", "verdict", "constant", "block", "flow", "key"):
        if listed(key):
            return str(repo[key]["name"])
    assert kind == "WORD", (kind, text)
    return "string.unquoted.gaitpol"


_COMMENTS: list[Any] = []


@functools.cache
def _lark() -> Any:
    import lark

    return lark.Lark(
        (REPO / "grammar" / "gait.lark").read_text(encoding="utf-8"),
        parser="lalr",
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": _COMMENTS.append},
    )


def lark_tokens(text: str) -> list[Any]:
    """Every token the DSL's own lexer reads in ``text``, comments included."""
    import lark

    _COMMENTS.clear()
    tree = _lark().parse(text)
    return [*tree.scan_values(lambda v: isinstance(v, lark.Token)), *_COMMENTS]


def test_corpus_is_not_empty() -> None:
    names = [name for name, _ in CORPUS]
    assert "tests/policy/data/handwritten.gaitpol" in names
    assert sum(name.startswith("canonical DSL of policies/") for name in names) >= 4
    assert any(name.startswith("docs/policy-cli.md") for name in names)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[name for name, _ in CORPUS])
def test_every_dsl_token_gets_its_scope(name: str, text: str, engine: str) -> None:
    lines = Tokenizer(GRAMMAR, ENGINES[engine]).text_scopes(text)
    tokens = lark_tokens(text)
    assert tokens, name
    kinds = set()
    for tok in tokens:
        want = expected_scope(tok.type, str(tok))
        kinds.add(want)
        row = lines[tok.line - 1]
        for col in range(tok.column - 1, tok.column - 1 + len(str(tok))):
            scope = row[col]
            if tok.type in ("STRING", "COMMENT"):
                assert want in scope, (name, tok.line, str(tok), scope)  # escapes nest inside
            else:
                assert scope[-1] == want, (name, tok.line, str(tok), scope)
    assert "keyword.declaration.gaitpol" in kinds


def test_engines_agree_on_the_corpus() -> None:
    if onigurumacffi is None:
        # Oniguruma is the engine editors run; without it compare re with itself
        # on a fresh cache, which still checks the tokenizer is deterministic.
        engines = [python_engine, python_engine]
    else:
        engines = [python_engine, onig_engine]
    for _name, text in CORPUS:
        one, two = (Tokenizer(GRAMMAR, e).text_scopes(text) for e in engines)
        assert one == two
