"""The DSL grammar knows the policy format: every model field is accepted in its
block and refused by the parser everywhere else, with line:col, the alternatives
in words and a caret; the transformer builds the same model as the YAML decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from gait.errors import PolicyError
from gait.policy import _dsl_tables
from gait.policy.digest import policy_digest
from gait.policy.dsl import parse_dsl_policy
from gait.policy.model import FlowCondition, Policy, Rule
from gait.policy.source import decode_policy

DATA = Path(__file__).parent / "data"

# Where each block of the model is written, as (prefix, suffix) around a statement.
PLACES: dict[str, tuple[str, str, type[msgspec.Struct]]] = {
    "policy": ("policy { ", " }", Policy),
    "rule": ('rule "r" { ', " }", Rule),
    "match": ('rule "r" { match { ', " } }", Rule),
    "tool_annotations": ('rule "r" { match { tool_annotations { ', " } } }", Rule),
    "after": ('rule "r" { match { after [{ ', " }] } }", FlowCondition),
    "endpoint": ('rule "r" { endpoint { ', " } }", Rule),
    "rate_limit": ('rule "r" { rate_limit { ', " } }", Rule),
    "destructive_budget": ('rule "r" { destructive_budget { ', " } }", Rule),
    "dataflow": ('rule "r" { dataflow { ', " } }", Rule),
    "scripts": ("policy { scripts { ", " } }", Policy),
    "fail_closed": ("policy { fail_closed { ", " } }", Policy),
    "mcp_trust": ("policy { mcp_trust { ", " } }", Policy),
}
STRUCTS = {
    "policy": Policy,
    "rule": Rule,
    "match": msgspec.structs.fields(Rule)[4].type,
    "after": FlowCondition,
}


def struct_of(place: str) -> Any:
    if place in STRUCTS:
        return STRUCTS[place]
    owners = [Policy, Rule, STRUCTS["match"]]
    for owner in owners:
        for f in msgspec.structs.fields(owner):
            if f.name == place:
                return f.type
    raise AssertionError(place)


def sample(info: Any) -> tuple[str, Any]:
    """DSL text of a value of the field's type, and the value the model holds."""
    if isinstance(info, mi.UnionType):  # int | None, flow lists | UNSET
        info = next(t for t in info.types if not isinstance(t, mi.NoneType))
    if isinstance(info, mi.StrType):
        return '"x"', "x"
    if isinstance(info, mi.BoolType):
        return "true", True
    if isinstance(info, mi.IntType):
        return "7", 7
    if isinstance(info, mi.FloatType):
        return "0.5", 0.5
    if isinstance(info, mi.VarTupleType) and isinstance(info.item_type, mi.StrType):
        return '["a", b]', ("a", "b")
    if isinstance(info, mi.VarTupleType):
        return "[{ min_count 2 }]", (FlowCondition(min_count=2),)
    if isinstance(info, mi.StructType):
        return "{ }", info.cls()
    raise AssertionError(info)


def fields_of(place: str) -> dict[str, Any]:
    info = mi.type_info(struct_of(place))
    skip = {("policy", "rules"), ("rule", "name")}
    return {f.name: f.type for f in info.fields if (place, f.name) not in skip}


def pick(policy: Policy, place: str) -> Any:
    if place == "policy":
        return policy
    if place in ("scripts", "fail_closed", "mcp_trust"):
        return getattr(policy, place)
    rule = policy.rules[0]
    if place == "rule":
        return rule
    if place in ("match", "tool_annotations", "after"):
        m = rule.match
        return {
            "match": m,
            "tool_annotations": m.tool_annotations,
            "after": (m.after or [None])[0],
        }[place]
    return getattr(rule, place)


CASES = [(place, name) for place in PLACES for name in fields_of(place)]


@pytest.mark.parametrize(("place", "name"), CASES, ids=[f"{p}.{n}" for p, n in CASES])
def test_every_model_field_is_accepted_in_its_block(place: str, name: str) -> None:
    text, value = sample(fields_of(place)[name])
    before, after, _ = PLACES[place]
    policy, _ = parse_dsl_policy(f"{before}{name} {text}{after}\n", "p.gaitpol")
    assert getattr(pick(policy, place), name) == value


@pytest.mark.parametrize(("place", "name"), CASES, ids=[f"{p}.{n}" for p, n in CASES])
def test_every_model_field_is_refused_in_other_blocks(place: str, name: str) -> None:
    text, _ = sample(fields_of(place)[name])
    for other, (before, after, _) in PLACES.items():
        if name in fields_of(other):
            continue
        source = f"{before}{name} {text}{after}\n"
        with pytest.raises(PolicyError) as info:
            parse_dsl_policy(source, "p.gaitpol")
        col = len(before) + 1
        assert info.value.message.startswith(
            f'parse policy dsl: [1:{col}] "{name}" is not a field'
        ), (
            source,
            info.value.message,
        )
        assert info.value.location is not None and info.value.location.column == col


def test_grammar_fields_are_the_model_fields() -> None:
    """No keyword of the grammar is a field the model lacks, and none is missing."""
    keywords = {w for words in _dsl_tables.KEYWORDS.values() for w in words}
    model = {name for place in PLACES for name in fields_of(place)}
    syntax = {"policy", "rule", "true", "false", "null", *("allow", "block", "dry_run")}
    syntax.add("require_approval")
    assert keywords - syntax == model


def test_sections_read_from_the_model_are_the_grammar_blocks() -> None:
    """The parser's block table (derived from the model's nested structs) names each
    block the test places know, with its struct, in the order the hints list them."""
    from gait.policy import model
    from gait.policy.dsl import _SECTIONS

    assert list(_SECTIONS.items()) == [
        ("scripts", model.Scripts),
        ("fail_closed", model.FailClosed),
        ("mcp_trust", model.McpTrust),
        ("match", model.Match),
        ("endpoint", model.Endpoint),
        ("rate_limit", model.Limit),
        ("destructive_budget", model.Limit),
        ("dataflow", model.Dataflow),
        ("tool_annotations", model.ToolAnnotations),
    ]
    keywords = {w for words in _dsl_tables.KEYWORDS.values() for w in words}
    assert set(_SECTIONS) <= keywords


# ------------------------------------------------------------- messages ---


def error(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_dsl_policy(text, "p.gaitpol")
    return info.value.message


def test_misplaced_field_names_where_it_belongs_with_caret() -> None:
    msg = error('rule "a" => allow {\n  match {\n    min_approvals 2\n  }\n}\n')
    first, *snippet = msg.split("\n")
    assert first.startswith(
        'parse policy dsl: [3:5] "min_approvals" is not a field of match (it is a field of rule)'
        "; expected a field (after, allowed_delegate_identities,"
    )
    assert first.endswith('tool_names, workspace_prefixes) or "}"')
    assert snippet == [
        "  --> p.gaitpol:3:5",
        "   |",
        " 3 |     min_approvals 2",
        "   |     ^",
    ]


def test_rule_field_in_policy_block() -> None:
    msg = error("policy {\n  tool_names [a]\n}\n")
    assert msg.startswith('parse policy dsl: [2:3] "tool_names" is not a field of policy')


def test_after_outside_match() -> None:
    msg = error('rule "a" => block { after [{ tool_names [x] }] }')
    assert msg.startswith(
        'parse policy dsl: [1:21] "after" is not a field of rule (it is a field of match)'
    )


def test_field_of_a_flow_block_is_checked() -> None:
    msg = error('rule "a" => block { match { after [{ min_approvals 1 }] } }')
    assert msg.startswith(
        'parse policy dsl: [1:38] "min_approvals" is not a field of after [{...}] '
        "(it is a field of rule)"
    )


def test_unknown_effect_in_header() -> None:
    msg = error('rule "a" => blocked {}')
    assert msg.startswith(
        'parse policy dsl: [1:13] unexpected "blocked"; expected a verdict '
        "(allow, block, dry_run or require_approval)"
    )


def test_endpoint_action_is_block_or_require_approval() -> None:
    msg = error('rule "a" => allow { endpoint { action allow } }')
    assert msg.startswith(
        'parse policy dsl: [1:39] "action" takes block or require_approval, a quoted string or null'
    )


def test_boolean_field_takes_true_or_false() -> None:
    msg = error("policy { fail_closed { enabled yes } }")
    assert msg.startswith(
        'parse policy dsl: [1:32] "enabled" takes true, false or null; found "yes"'
    )


def test_unknown_field_and_legacy_hint() -> None:
    assert 'unknown field "efect" in rule' in error('rule "a" { efect block }')
    assert "legacy policy proposal field" in error("policy { boundaries [] }")


def test_rule_name_and_rules_are_written_as_blocks() -> None:
    assert "the rule name is written in the header" in error('rule "a" { name "b" }')
    assert "written as rule blocks" in error("policy { rules [] }")


def test_keyword_prefix_is_not_split() -> None:
    # `tool_namesx` is one unknown name, not `tool_names` followed by `x`
    assert 'unknown field "tool_namesx" in match' in error('rule "a" { match { tool_namesx [a] } }')


def test_end_of_file_points_after_the_last_token() -> None:
    msg = error('rule "a" => allow {\n  match { tool_names ["x"]')
    assert msg.startswith("parse policy dsl: [2:27] unexpected end of file")


# ------------------------------------------------------------- the model ---


def test_transformer_builds_the_model_the_yaml_decoder_builds() -> None:
    text = (DATA / "handwritten.gaitpol").read_text()
    policy, positions = parse_dsl_policy(text, "h.gaitpol")
    raw = msgspec.to_builtins(policy)
    assert decode_policy(raw, positions, {}, "h.gaitpol", "dsl") == policy
    assert positions[("rules", 0, "match", "tool_name")] == (10, 21)
    assert positions[("rules", 1, "priority")] == (13, 38)


def test_semantic_errors_keep_positions() -> None:
    from gait.policy import load_policy_source

    text = 'rule "a" => block {\n  match { after [{ within "soon" }] }\n}\n'
    with pytest.raises(PolicyError) as info:
        load_policy_source(text.encode(), "p.gaitpol", "dsl")
    loc = info.value.location
    assert loc is not None and (loc.line, loc.column) == (2, 27)
    assert loc.field == "rules[0].match.after[0].within"


def test_duplicate_field_is_reported_at_the_second() -> None:
    msg = error('rule "a" => allow {\n  min_approvals 1\n  min_approvals 2\n}')
    assert msg == 'parse policy dsl: [3:3] mapping key "min_approvals" already defined'


def test_null_leaves_the_default() -> None:
    policy, _ = parse_dsl_policy('rule "a" { broker_scopes null min_approvals null }', "p")
    assert policy.rules[0] == Rule(name="a")


def test_every_key_twin_keeps_the_digest() -> None:
    from gait.policy import load_policy_file
    from gait.policy.dsl import render_dsl
    from gait.policy.normalize import normalize_policy

    policy = load_policy_file(DATA / "every_key.yaml")
    again, _ = parse_dsl_policy(render_dsl(policy), "x.gaitpol")
    assert policy_digest(normalize_policy(again)) == policy_digest(policy)


def test_long_line_snippet_shows_the_part_around_the_column() -> None:
    text = 'rule "a" { match { tool_names [' + "x, " * 2000 + "@, " + "y, " * 2000 + "] } }"
    first, _, _, source, caret = error(text).split("\n")
    assert first.startswith("parse policy dsl: [1:6032] unexpected character '@'")
    assert len(source) < 120 and source.startswith(" 1 | ...") and source.endswith("...")
    assert source[caret.index("^")] == "@"


def test_between_blocks_the_file_may_end() -> None:
    assert error("policy { } foo").startswith(
        'parse policy dsl: [1:12] unexpected "foo"; expected a policy block, a rule block '
        "or end of file"
    )
