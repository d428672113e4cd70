"""Issue 11 B9/B10: policy readers fail with exit 6 naming the problem, within bounds."""

from __future__ import annotations

import time

import pytest

from gait.errors import EXIT_INVALID_INPUT, PolicyError
from gait.policy import compile_policy


def _fails(text: str, problem: str, *, dsl: bool = False) -> None:
    started = time.monotonic()
    with pytest.raises(PolicyError) as info:
        if dsl:
            from gait.policy.dsl import parse_dsl_policy

            parse_dsl_policy(text, "p.gaitpol")
        else:
            compile_policy(text, use_cache=False)
    assert time.monotonic() - started < 10
    assert info.value.exit_code == EXIT_INVALID_INPUT
    assert problem in str(info.value), str(info.value)


def test_recursive_yaml_alias() -> None:
    _fails("a: &a [*a]\nrules:\n  - {name: r, effect: allow}\n", "recursive alias")


@pytest.mark.parametrize("digits", [310, 5000])
def test_huge_yaml_integer(digits: int) -> None:
    _fails(f"rules:\n  - {{name: r, effect: allow, priority: {'9' * digits}}}\n", "digits")


@pytest.mark.parametrize("digits", [310, 5000])
def test_huge_dsl_integer(digits: int) -> None:
    _fails(f'rule "r" priority {"9" * digits} => allow {{}}\n', "digits", dsl=True)


# The grammar names every block, so nesting is bounded by the format itself: deep
# brackets are refused at the first one that is not allowed.
def test_deep_dsl_nesting() -> None:
    text = "policy {\n  default_verdict " + "[" * 2000 + "]" * 2000 + "\n}\n"
    _fails(text, "[2:19]", dsl=True)


def test_deep_dsl_sections() -> None:
    text = "policy {\n  x " + "{ y " * 2000 + "}" * 2000 + "\n}\n"
    _fails(text, '[2:3] unknown field "x"', dsl=True)


# The real budgets leave room for 100,000-rule policies; these tests shrink them so
# that "checked while parsing" is shown by an input far larger than the budget.


def test_dsl_token_budget_holds_while_lexing(monkeypatch: pytest.MonkeyPatch) -> None:
    import gait.policy.dsl as dsl

    monkeypatch.setattr(dsl, "MAX_DSL_TOKENS", 50_000)
    text = 'rule "a" => allow {\n match { tool_names [' + "a," * 1_000_000 + "] }\n}\n"
    _fails(text, "tokens", dsl=True)


def test_dsl_rule_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import gait.policy.dsl as dsl

    monkeypatch.setattr(dsl, "MAX_DSL_RULES", 1_000)
    text = "".join(f'rule "r{i}" => allow {{}}\n' for i in range(1_001))
    _fails(text, "rules", dsl=True)


def test_yaml_node_budget_holds_while_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import gait.policy.source as source

    monkeypatch.setattr(source, "_MAX_NODES", 50_000)
    text = "rules:\n  - {name: r, effect: allow}\nx: [" + "1," * 600_000 + "]\n"
    _fails(text, "nodes")


def test_budgets_leave_room_for_100k_rule_policies() -> None:
    import gait.policy.dsl as dsl
    import gait.policy.source as source

    assert dsl.MAX_DSL_RULES >= 100_000
    assert dsl.MAX_DSL_TOKENS >= 100_000 * 40
    assert source._MAX_NODES >= 100_000 * 20
