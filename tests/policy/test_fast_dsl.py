"""The compiler's fast canonical-DSL parse against Lark's own parser.

``parse_canonical_dsl`` drives the generated LALR tables in one loop with its
own regex lexer. It must see the same terminals (type and text) as Lark's
contextual lexer and build the same mapping; on anything else it must give up
(return None) so that Lark's parser runs and reports the error.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.policy.compiler import load_policy_source
from gait.policy.dsl import _canonical_parser, _fast_canonical_parse, render_dsl

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *(REPO / "examples" / "policy").glob("*.yaml"),
        *(REPO / "policies").glob("*.yaml"),
        *(Path(__file__).parent / "data").glob("*.yaml"),
        REPO / "tests" / "engine" / "data" / "running_example" / "policy.yaml",
    ]
)


def lark_view(text: str) -> tuple[list[tuple[str, str]], Any]:
    """Terminals Lark's lexer feeds its parser, and the mapping it builds."""
    interactive = _canonical_parser().parse_interactive(text)
    tokens = [(tok.type, str(tok)) for tok in interactive.iter_parse()]
    return tokens, interactive.resume_parse()


def fast_view(text: str) -> tuple[list[tuple[str, str]], Any]:
    trace: list[tuple[str, str]] = []
    return trace, _fast_canonical_parse(text, trace)


def rendered(path: Path) -> str:
    return render_dsl(load_policy_source(path.read_bytes(), str(path), "yaml"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_same_tokens_and_mapping_as_lark(path: Path) -> None:
    text = rendered(path)
    tokens, mapping = fast_view(text)
    assert mapping is not None
    assert (tokens, mapping) == lark_view(text)


def test_handwritten_dsl_with_comments_and_flow_lists() -> None:
    text = (Path(__file__).parent / "data" / "handwritten.gaitpol").read_text()
    tokens, mapping = fast_view(text)
    assert mapping is not None and tokens
    assert (tokens, mapping) == lark_view(text)


def test_generated_policy_of_many_shapes() -> None:
    import sys

    sys.path.insert(0, str(REPO / "tools" / "bench"))
    try:
        from bench_compile import generate_policy
    finally:
        sys.path.pop(0)
    text = render_dsl(load_policy_source(generate_policy(300).encode(), "gen.yaml", "yaml"))
    tokens, mapping = fast_view(text)
    assert mapping is not None and len(mapping["rules"]) == 300
    assert (tokens, mapping) == lark_view(text)


@pytest.mark.parametrize(
    "text",
    [
        "policy { a.b 1 }",  # a key with a dot: Lark's KEY stops at the dot
        'rule "a" => allowed {}',  # not a verdict
        "policy { a 1 } @",
        "policy { a 12abc }",
        'policy { a "\\x" }',
        "policy { a [1, 2 }",
        "policy {",
    ],
)
def test_gives_up_where_lark_fails(text: str) -> None:
    from gait.policy._dsl_parser import LarkError

    assert _fast_canonical_parse(text) is None
    with pytest.raises(LarkError):
        _canonical_parser().parse(text)


PIECES = [
    "policy", "rule", "priority", "=>", "{", "}", "[", "]", ",", "true", "false", "null",
    "match", "tool_names", "tool_name", "min_approvals", "enabled", "after", "readOnlyHint",
    "allow", "block", "dry_run", "require_approval", "key_1", "a.b-c", "x", '"s"',
    '"\\u00e9\\n"', "12", "-3", "+4", "1.5", ".5", "2e3", "1.", "# note\n", "\n", " ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.randoms(use_true_random=False))
def test_random_token_soup_agrees_with_lark(pieces: list[str], rng: random.Random) -> None:
    text = "".join(p + rng.choice(("", " ", "\n")) for p in pieces)
    tokens, mapping = fast_view(text)
    if mapping is None:
        return  # Lark decides (and reports errors); nothing to compare
    assert (tokens, mapping) == lark_view(text)


MATCH_STMTS = [
    'tool_names ["fs.read", w.x]',
    "tool_name rule",
    'risk_classes [high, "low",]',
    "require_delegation true",
    "max_delegation_depth 3",
    "max_delegation_depth null",
    "tool_annotations { readOnlyHint false destructiveHint null }",
    'after [{ tool_names [a] within "5m" same_target true }, {}]',
    "not_after null",
    "target_kinds []",
    'identities [null.x, "true"]',
]
RULE_STMTS = [
    "min_approvals 2", "violations [v]", 'broker_reference "b"', "broker_reference null",
    "rate_limit { requests 5 window minute scope tool }", "require_distinct_approvers false",
    'endpoint { enabled true action "block" destructive_action require_approval }',
    "dataflow { tainted_sources [external] action block }", "action allow",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(MATCH_STMTS), max_size=6, unique=True),
    st.lists(st.sampled_from(RULE_STMTS), max_size=4, unique=True),
    st.sampled_from(["", " priority 3", " => block", " priority -2 => dry_run"]),
)
def test_valid_rules_parse_fast_and_agree(match: list[str], body: list[str], header: str) -> None:
    inner = " ".join(body)
    text = (
        "policy { default_verdict allow mcp_trust { min_score 0.5 } }\n"
        f'rule "r"{header} {{ match {{ {" ".join(match)} }} {inner} }}\n'
    )
    tokens, mapping = fast_view(text)
    assert mapping is not None  # well-formed text never falls back
    assert (tokens, mapping) == lark_view(text)


# ------------------------------------------------ any DSL text, with positions ---
# parse_dsl_policy drives the same tables with the model builder's functions and
# the position of every terminal; Lark's parser with the ModelBuilder Transformer
# must build the same policy, positions and problems.


def lark_model(text: str) -> Any:
    from gait.policy.dsl import _model_builder, _parser

    return _model_builder().transform(_parser().parse(text))


def fast_model(text: str) -> tuple[list[tuple[str, str]], Any]:
    from gait.policy.dsl import _fast_model_parse

    trace: list[tuple[str, str]] = []
    return trace, _fast_model_parse(text, trace)


def lark_tokens(text: str) -> list[tuple[str, str]]:
    from gait.policy.dsl import _parser

    return [(tok.type, str(tok)) for tok in _parser().parse_interactive(text).iter_parse()]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_model_driver_agrees_with_lark_on_rendered_policies(path: Path) -> None:
    text = rendered(path)
    tokens, built = fast_model(text)
    assert built is not None
    assert built == lark_model(text)
    assert tokens == lark_tokens(text)


def test_model_driver_agrees_on_handwritten_text_with_problems() -> None:
    text = (Path(__file__).parent / "data" / "handwritten.gaitpol").read_text()
    text += '\nrule "dup" => allow {\n  min_approvals 1\n\tmin_approvals 2 # again\n}\n'
    text += 'rule "\\ud800" { effect "x" }\n'
    tokens, built = fast_model(text)
    assert built is not None and len(built[2]) == 2  # the repeated key, the lone surrogate
    assert built == lark_model(text)
    assert tokens == lark_tokens(text)


def test_model_driver_gives_up_on_errors_and_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    import gait.policy.dsl as dsl

    for text in ['rule "a" { match { min_approvals 1 } }', "policy {", "policy { } @"]:
        assert fast_model(text)[1] is None
    monkeypatch.setattr(dsl, "MAX_DSL_RULES", 2)
    assert fast_model('rule "a" {}\nrule "b" {}\nrule "c" {}')[1] is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.randoms(use_true_random=False))
def test_model_driver_on_token_soup_agrees_with_lark(pieces: list[str], rng: random.Random) -> None:
    text = "".join(p + rng.choice(("", " ", "\n", "\t")) for p in pieces)
    _, built = fast_model(text)
    if built is None:
        return  # Lark decides
    assert built == lark_model(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(MATCH_STMTS), max_size=6, unique=True),
    st.lists(st.sampled_from(RULE_STMTS), max_size=4, unique=True),
    st.sampled_from(["", " priority 3", " => block", " priority -2 => dry_run"]),
    st.sampled_from([" ", "\n  ", "\n# c\n\t", "\r\n  # crlf\r\n"]),
)
def test_model_driver_on_valid_rules(
    match: list[str], body: list[str], header: str, gap: str
) -> None:
    text = (
        f"policy {{{gap}default_verdict allow mcp_trust {{ min_score 1 }} }}\n"
        f'rule "r"{header} {{{gap}match {{ {gap.join(match)} }}{gap}{gap.join(body)} }}\n'
    )
    tokens, built = fast_model(text)
    assert built is not None
    assert built == lark_model(text)
    assert tokens == lark_tokens(text)
