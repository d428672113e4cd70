"""The rule DSL: canonical rendering, parsing, hand-written ``.gaitpol`` files, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.errors import PolicyError
from gait.policy import compile_policy, compile_policy_file, load_policy_file, load_policy_source
from gait.policy.digest import policy_digest
from gait.policy.dsl import parse_canonical_dsl, parse_dsl_policy, render_dsl
from gait.policy.fmt import format_policy
from gait.policy.model import Policy
from gait.policy.normalize import normalize_policy
from gait.policy.source import decode_policy

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
SHIPPED = sorted(
    [*REPO.glob("policies/*.yaml"), *REPO.glob("examples/**/*.yaml")],
    key=lambda p: str(p.relative_to(REPO)),
)
ALL_POLICIES = [
    *SHIPPED,
    DATA / "every_key.yaml",
    REPO / "tests/engine/data/running_example/policy.yaml",
]
CANDIDATE_DIGEST = "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f"


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def from_dsl(text: str) -> Policy:
    return load_policy_source(text.encode("utf-8"), "p.gaitpol", "dsl")


def dsl_error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        from_dsl(text)
    return info.value


def test_shipped_policy_set_is_not_empty() -> None:
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("path", ALL_POLICIES, ids=ids(ALL_POLICIES))
def test_canonical_dsl_parses_back_to_the_same_normalized_policy(path: Path) -> None:
    policy = load_policy_file(path)
    assert from_dsl(render_dsl(policy)) == policy


@pytest.mark.parametrize("path", ALL_POLICIES, ids=ids(ALL_POLICIES))
def test_canonical_dsl_keeps_the_digest(path: Path) -> None:
    policy = load_policy_file(path)
    assert policy_digest(from_dsl(render_dsl(policy))) == policy_digest(policy)


@pytest.mark.parametrize("path", ALL_POLICIES, ids=ids(ALL_POLICIES))
def test_yaml_to_dsl_to_yaml_round_trip(path: Path) -> None:
    policy = load_policy_file(path)
    assert format_policy(from_dsl(render_dsl(policy))) == format_policy(policy)


@pytest.mark.parametrize("path", ALL_POLICIES, ids=ids(ALL_POLICIES))
def test_canonical_dsl_is_a_fixed_point(path: Path) -> None:
    text = render_dsl(load_policy_file(path))
    assert render_dsl(from_dsl(text)) == text


def test_formatted_yaml_reloads_to_the_same_policy() -> None:
    policy = load_policy_file(DATA / "every_key.yaml")
    again = load_policy_source(format_policy(policy).encode(), "f.yaml", "yaml")
    assert again == policy


def test_canonical_dsl_ends_with_newline_and_has_one_policy_block() -> None:
    text = render_dsl(load_policy_file(DATA / "every_key.yaml"))
    assert text.endswith("\n")
    assert text.count("\npolicy {") == 1


def test_canonical_dsl_writes_rules_in_evaluation_order() -> None:
    text = render_dsl(load_policy_file(REPO / "tests/engine/data/running_example/policy.yaml"))
    order = [
        text.index(f'rule "{n}"')
        for n in ("deny-external-egress", "read-files", "write-needs-review")
    ]
    assert order == sorted(order)


def test_canonical_dsl_omits_default_values() -> None:
    text = render_dsl(from_dsl('rule "r" => allow {}\n'))
    assert "priority" not in text
    assert "endpoint" not in text
    assert 'rule "r" => allow {}' in text


# ------------------------------------------------------------ hand-written ---


def test_handwritten_gaitpol_loads_to_the_running_example() -> None:
    assert policy_digest(load_policy_file(DATA / "handwritten.gaitpol")) == CANDIDATE_DIGEST


def test_handwritten_gaitpol_compiles_from_path() -> None:
    compiled = compile_policy_file(DATA / "handwritten.gaitpol", use_cache=False)
    assert compiled.policy_digest == CANDIDATE_DIGEST
    assert [r.name for r in compiled.rows] == [
        "deny-external-egress",
        "read-files",
        "write-needs-review",
    ]


def test_dsl_kind_selected_by_argument() -> None:
    compiled = compile_policy("policy { default_verdict allow }\n", kind="dsl", use_cache=False)
    assert compiled.ir.default_verdict == "allow"


def test_dsl_empty_text_is_default_policy() -> None:
    assert from_dsl("").default_verdict == "require_approval"


def test_dsl_comments_are_ignored() -> None:
    assert (
        from_dsl("# c\npolicy { # c2\n default_verdict block # c3\n}\n").default_verdict == "block"
    )


def test_dsl_names_keep_special_characters() -> None:
    policy = from_dsl('rule "Deny <All> & Co-Op \\"x\\" \\\\ é" => block {}\n')
    assert policy.rules[0].name == 'Deny <All> & Co-Op "x" \\ é'
    assert from_dsl(render_dsl(policy)) == policy


def test_dsl_negative_priority_in_header() -> None:
    assert from_dsl('rule "r" priority -3 => allow {}\n').rules[0].priority == -3


def test_dsl_float_and_null_values() -> None:
    policy = from_dsl(
        'policy { mcp_trust { snapshot "s" min_score 0.5 } }\n'
        'rule "r" => allow { match { max_delegation_depth null } }\n'
    )
    assert policy.mcp_trust.min_score == 0.5
    assert policy.rules[0].match.max_delegation_depth is None


def test_dsl_and_yaml_run_the_same_normalization() -> None:
    yaml_policy = load_policy_source(
        b"rules:\n  - {name: r, effect: allow, match: {target_kinds: [URL, host, url]}}\n",
        "p.yaml",
        "yaml",
    )
    assert from_dsl('rule "r" => allow { match { target_kinds [URL, host, url] } }') == yaml_policy


# ------------------------------------------------------------ DSL errors ---


def test_dsl_syntax_error_names_line_and_column() -> None:
    err = dsl_error('policy {\n  default_verdict block\n\nrule "r" => allow {}\n')
    assert err.message.startswith("parse policy dsl: [4:")
    assert err.location is not None and err.location.line == 4 and err.location.column >= 1


def test_dsl_bad_character_names_line_and_column() -> None:
    err = dsl_error('rule "r" => allow {\n  match { tool_names [@] }\n}\n')
    assert err.message.startswith("parse policy dsl: [2:23]")


def test_dsl_unknown_key_is_unknown_field_with_position() -> None:
    err = dsl_error('rule "r" => allow {\n  efect block\n}\n')
    assert 'unknown field "efect"' in err.message
    assert err.location is not None and err.location.line == 2 and err.location.column > 0


def test_dsl_scalar_for_list_is_a_syntax_error() -> None:
    err = dsl_error('rule "r" => allow { match { tool_names "fs.read" } }\n')
    assert err.message.startswith(
        'parse policy dsl: [1:40] "tool_names" takes a list of strings ["a", b] or null; '
        'found string "fs.read"'
    )


def test_dsl_unknown_bare_effect_is_a_syntax_error() -> None:
    err = dsl_error('rule "r" { effect blocked }\n')
    assert err.message.startswith('parse policy dsl: [1:19] "effect" takes a verdict')


def test_dsl_invalid_quoted_effect_uses_spec_wording() -> None:
    assert (
        dsl_error('rule "r" { effect "blocked" }\n').message
        == 'invalid rule effect "blocked" for r'
    )


def test_dsl_duplicate_key_is_error() -> None:
    err = dsl_error("policy { default_verdict block default_verdict allow }\n")
    assert 'mapping key "default_verdict" already defined' in err.message


def test_dsl_header_and_body_effect_conflict_is_error() -> None:
    assert (
        "already set in the rule header"
        in dsl_error('rule "r" => allow { effect block }\n').message
    )


def test_dsl_second_policy_block_is_error() -> None:
    err = dsl_error("policy { }\npolicy { }\n")
    assert "only one policy block" in err.message


def test_dsl_rules_key_inside_policy_block_is_rejected() -> None:
    with pytest.raises(PolicyError):
        from_dsl('policy { rules [] }\nrule "r" => allow {}\n')


def test_dsl_unterminated_block_reports_end_of_file() -> None:
    assert "end of file" in dsl_error('rule "r" => allow {\n').message


@pytest.mark.parametrize(
    "text",
    ['rule "\\ud83d" => allow {}\n', 'rule "r" => allow { broker_reference "a\\udc00" }\n'],
    ids=["rule-name", "value"],
)
def test_dsl_lone_surrogate_escape_is_policy_error(text: str) -> None:
    err = dsl_error(text)
    assert err.message.startswith("parse policy dsl: [1:")
    assert "lone surrogate" in err.message


def test_dsl_surrogate_pair_escape_is_one_character() -> None:
    assert from_dsl('rule "\\ud83d\\ude00" => allow {}\n').rules[0].name == "\U0001f600"


def test_dsl_non_utf8_is_policy_error() -> None:
    with pytest.raises(PolicyError):
        load_policy_source(b"\xff\xfe rule", "p.gaitpol", "dsl")


def test_through_dsl_rejects_nothing_for_normalized_policies() -> None:
    """The compiler's DSL pass (render → parse → decode → normalize) is lossless."""
    policy = load_policy_file(DATA / "every_key.yaml")
    text = render_dsl(policy)
    decoded, _ = parse_dsl_policy(text, "x")
    assert normalize_policy(decoded) == policy
    assert normalize_policy(decode_policy(parse_canonical_dsl(text), {}, {}, "x")) == policy
