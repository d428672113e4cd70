"""``policy fmt`` rendering (policy.md §15): idempotent, digest-preserving, comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from gait.policy import load_policy_file, load_policy_source
from gait.policy.digest import policy_digest
from gait.policy.fmt import format_policy, format_source
from tests.policy.test_properties import dsl_docs

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
RUNNING = REPO / "tests" / "engine" / "data" / "running_example" / "policy.yaml"
SHIPPED = sorted([*REPO.glob("policies/*.yaml"), *REPO.glob("examples/**/*.yaml")])
ALL_POLICIES = [*SHIPPED, DATA / "every_key.yaml", RUNNING]


def fmt(text: str) -> str:
    return format_source(text.encode("utf-8"), "p.yaml", "yaml")[1]


def fmt_full(text: str) -> str:
    """The full form: every key with its normalized value."""
    return format_source(text.encode("utf-8"), "p.yaml", "yaml", full=True)[1]


def keys_at(text: str, indent: str) -> list[str]:
    """Mapping keys written at exactly ``indent`` (list-item dashes count as indentation)."""
    out = []
    for line in text.splitlines():
        body = line.replace("- ", "  ", 1) if line.lstrip().startswith("- ") else line
        if (
            body.startswith(indent)
            and not body[len(indent)].isspace()
            and not body.lstrip().startswith("#")
        ):
            out.append(body.strip().split(":", 1)[0])
    return out


@pytest.mark.parametrize("path", ALL_POLICIES, ids=lambda p: p.name)
def test_fmt_is_idempotent(path: Path) -> None:
    once = format_source(path.read_bytes(), str(path), "yaml")[1]
    assert fmt(once) == once


@pytest.mark.parametrize("path", ALL_POLICIES, ids=lambda p: p.name)
def test_fmt_preserves_digest(path: Path) -> None:
    policy, formatted = format_source(path.read_bytes(), str(path), "yaml")
    reloaded = load_policy_source(formatted.encode(), "f.yaml", "yaml")
    assert policy_digest(reloaded) == policy_digest(load_policy_file(path))
    assert reloaded == policy


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_fmt_keeps_every_comment_of_shipped_policies(path: Path) -> None:
    text = path.read_text()
    comments = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    formatted = fmt(text)
    for comment in comments:
        assert comment in formatted


def test_fmt_output_ends_with_newline() -> None:
    assert fmt("").endswith("\n")


def test_fmt_top_level_key_order() -> None:
    assert keys_at(fmt_full("default_verdict: block\n"), "") == [
        "schema_id",
        "schema_version",
        "default_verdict",
        "default_action",
        "scripts",
        "fail_closed",
        "mcp_trust",
        "rules",
    ]


def test_fmt_rule_key_order() -> None:
    text = fmt_full("rules:\n  - {name: r, effect: allow}\n")
    assert keys_at(text, "    ") == [
        "name",
        "priority",
        "effect",
        "action",
        "match",
        "endpoint",
        "reason_codes",
        "violations",
        "min_approvals",
        "require_distinct_approvers",
        "require_context_evidence",
        "required_context_evidence_mode",
        "max_context_age_seconds",
        "require_broker_credential",
        "broker_reference",
        "broker_scopes",
        "rate_limit",
        "destructive_budget",
        "dataflow",
    ]


def test_fmt_match_key_order_and_null_pointers() -> None:
    text = fmt_full("rules:\n  - {name: r, effect: allow}\n")
    assert keys_at(text, "      ")[:8] == [
        "tool_name",
        "tool_names",
        "risk_classes",
        "target_kinds",
        "target_values",
        "endpoint_class",
        "endpoint_classes",
        "discovery_method",
    ]
    assert "      max_delegation_depth: null\n" in text
    assert "        readOnlyHint: null\n" in text


def test_fmt_writes_zero_values_explicitly() -> None:
    text = fmt_full("rules:\n  - {name: r, effect: allow}\n")
    for line in (
        "    priority: 0",
        "    reason_codes: []",
        '    broker_reference: ""',
        "      enabled: false",
    ):
        assert line + "\n" in text


def test_fmt_empty_rules_is_empty_list() -> None:
    assert "\nrules: []\n" in fmt_full("default_verdict: allow\n")


def test_fmt_running_example_normalizations() -> None:
    text = fmt_full(RUNNING.read_text())
    names = [
        line.split("name: ", 1)[1] for line in text.splitlines() if line.startswith("  - name: ")
    ]
    assert names == ["deny-external-egress", "read-files", "write-needs-review"]
    assert "      tool_name: FS.Read\n      tool_names: [fs.read]\n" in text
    assert "      target_kinds: [host, url]\n" in text
    assert "  risk_classes: [critical, high]\n" in text
    write_rule = text[text.index("  - name: write-needs-review") :]
    assert "    require_distinct_approvers: true\n" in write_rule


def test_fmt_aliases_written_back_as_given() -> None:
    text = fmt_full(
        "default_action: Block\nrules:\n  - name: r\n    action: ALLOW\n"
        "    match: {endpoint_class: [FS.Read]}\n"
    )
    assert "\ndefault_verdict: block\ndefault_action: Block\n" in text
    assert "    effect: allow\n    action: ALLOW\n" in text
    assert "      endpoint_class: [FS.Read]\n      endpoint_classes: [fs.read]\n" in text


def test_fmt_fills_endpoint_and_dataflow_defaults() -> None:
    text = fmt_full(
        "rules:\n  - name: r\n    effect: allow\n    endpoint: {path_denylist: [/x]}\n"
        "    dataflow: {enabled: true}\n"
    )
    assert '      action: block\n      destructive_action: ""\n' in text
    assert "      tainted_sources: [external, tool_output]\n" in text
    assert "      action: require_approval\n" in text


def test_fmt_keeps_leading_and_trailing_comments() -> None:
    text = fmt("# top\ndefault_verdict: block  # why block\n")
    assert "# top\n" in text
    assert "default_verdict: block  # why block\n" in text


def test_fmt_moves_rule_comments_with_their_rule() -> None:
    source = (
        "rules:\n"
        "  # about z\n"
        "  - name: z\n    priority: 5\n    effect: allow  # z effect\n"
        "  # about a\n"
        "  - name: a\n    priority: 1\n    effect: block\n"
    )
    text = fmt(source)
    assert text.index("# about a") < text.index("- name: a") < text.index("# about z")
    assert text.index("# about z") < text.index("- name: z")
    assert "    effect: allow  # z effect\n" in text


def test_fmt_keeps_nested_key_comment_above_its_key() -> None:
    text = fmt(
        "rules:\n  - name: r\n    effect: block\n    match:\n      # tools!\n      tool_names: [X]\n"
    )
    assert "      # tools!\n      tool_names: [x]\n" in text


def test_fmt_keeps_footer_comment() -> None:
    assert fmt("default_verdict: block\n# the end\n").endswith("# the end\n")


def test_fmt_keeps_hash_inside_quoted_string() -> None:
    text = fmt("rules:\n  - name: 'a # not a comment'\n    effect: allow\n")
    assert '"a # not a comment"' in text
    assert fmt(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "true",
        "null",
        "1.0",
        "007",
        "a: b",
        " lead",
        "x\ny",
        'q"uote',
        "back\\slash",
        "é ü",
        "-x",
        "[x]",
        "del\x7f",
        "c1\x85\x9f",
        "ls\u2028ps\u2029",
    ],
)
def test_fmt_quotes_names_that_would_change_meaning(name: str) -> None:
    import json

    source = f"rules:\n  - name: {json.dumps(name)}\n    effect: allow\n"
    policy, text = format_source(source.encode(), "p.yaml", "yaml")
    reloaded = load_policy_source(text.encode(), "f.yaml", "yaml")
    assert reloaded.rules[0].name == name.strip()
    assert reloaded == policy


def test_fmt_of_dsl_source_is_canonical_dsl() -> None:
    data = (DATA / "handwritten.gaitpol").read_bytes()
    policy, text = format_source(data, "h.gaitpol", "dsl")
    assert text.startswith("# gait policy (canonical DSL)\n")
    assert format_source(text.encode(), "h.gaitpol", "dsl")[1] == text
    assert format_policy(policy) == format_policy(load_policy_file(RUNNING))


def test_fmt_keeps_comment_on_rule_dash_line() -> None:
    text = fmt("rules:\n  - name: r  # the r rule\n    effect: block\n")
    assert "  - name: r  # the r rule\n" in text


def test_fmt_keeps_comment_on_flow_rule_line() -> None:
    text = fmt("rules:\n  - {name: q, effect: allow}  # flow rule\n")
    assert "  - name: q  # flow rule\n" in text


def test_fmt_keeps_comment_on_list_item_line() -> None:
    source = (
        "rules:\n  - name: r\n    effect: block\n    reason_codes:\n      - a  # why a\n      - b\n"
    )
    assert "# why a" in fmt(source)


def test_fmt_comment_above_first_rule_key_is_stable() -> None:
    once = fmt("rules:\n- effect: allow\n  # about the name\n  name: r\n")
    assert "  # about the name\n  - name: r\n" in once
    assert fmt(once) == once


@pytest.mark.parametrize(
    "line",
    [
        "    broker_reference: don't  # apostrophe in a plain scalar",
        "    broker_reference: 'it''s # not a comment'  # real comment",
        '    broker_reference: "a\\"b # not a comment"  # real comment',
    ],
)
def test_fmt_finds_comment_after_quotes(line: str) -> None:
    text = fmt(f"rules:\n  - name: r\n    effect: block\n{line}\n")
    expected = line[line.rindex("  # ") + 2 :]
    assert sum(1 for out in text.splitlines() if out.endswith(expected)) == 1


def test_fmt_keeps_comment_after_multi_line_quoted_scalar() -> None:
    source = "rules:\n  - name: 'a\n\n      b'  # after the name\n    effect: block\n"
    text = fmt(source)
    assert "# after the name" in text
    assert fmt(text) == text


def test_fmt_hash_inside_multi_line_quoted_scalar_is_not_a_comment() -> None:
    source = 'rules:\n  - name: "a\n      # b"\n    effect: block\n'
    policy, text = format_source(source.encode(), "p.yaml", "yaml")
    assert policy.rules[0].name == "a # b"
    assert "\n  # b" not in text and "    # b" not in text


def test_fmt_block_scalar_text_is_not_a_comment() -> None:
    source = (
        "rules:\n  - name: r\n    effect: block\n    broker_reference: |  # about ref\n"
        "      line # not a comment\n      # nor this\n    reason_codes: [a]  # codes\n"
    )
    policy, text = format_source(source.encode(), "p.yaml", "yaml")
    assert policy.rules[0].broker_reference == "line # not a comment\n# nor this"
    comments = [line.strip() for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments == []
    assert "  # about ref\n" in text and "reason_codes: [a]  # codes\n" in text


def test_opening_comments_stay_at_the_top_whatever_key_comes_first() -> None:
    out = fmt(
        "# Team policy\n# owner: platform\ndefault_verdict: block\nschema_id: gait.gate.policy\n"
    )
    lines = out.splitlines()
    assert lines[:3] == ["# Team policy", "# owner: platform", "schema_id: gait.gate.policy"]
    assert fmt(out) == out


def _fmt_dsl_through_mapping(data: bytes) -> tuple[object, str]:
    """What ``fmt`` did for a .gaitpol before it took the parser's model: the model
    as a plain mapping, decoded again as a YAML mapping would be."""
    import msgspec

    from gait.policy.dsl import parse_dsl_policy, render_dsl
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_policy, decode_text, locate

    text = decode_text(data, "p.gaitpol")
    model, positions = parse_dsl_policy(text, "p.gaitpol")
    decoded = decode_policy(msgspec.to_builtins(model), positions, {}, "p.gaitpol", "dsl")
    policy = normalize_policy(decoded, lambda p: locate("p.gaitpol", positions, p))
    return policy, render_dsl(policy)


def _outcome(fn: object, data: bytes) -> tuple[str, object]:
    from gait.errors import GaitError

    try:
        return ("ok", fn(data))  # type: ignore[operator]
    except GaitError as err:
        return (type(err).__name__, (str(err), err.exit_code))


@settings(max_examples=150, deadline=None)
@given(dsl_docs)
def test_fmt_of_dsl_same_as_through_a_mapping(text: str) -> None:
    """Policy, text and error of ``fmt`` on generated DSL are those of the mapping route."""
    data = text.encode("utf-8")
    new = _outcome(lambda d: format_source(d, "p.gaitpol", "dsl"), data)
    assert new == _outcome(_fmt_dsl_through_mapping, data)


@pytest.mark.parametrize(
    "path", [DATA / "handwritten.gaitpol", *ALL_POLICIES], ids=lambda p: p.name
)
def test_fmt_of_rendered_and_handwritten_dsl_same_as_through_a_mapping(path: Path) -> None:
    from gait.policy.dsl import render_dsl

    data = path.read_bytes()
    if path.suffix != ".gaitpol":
        data = render_dsl(load_policy_file(path)).encode("utf-8")
    policy, text = format_source(data, "p.gaitpol", "dsl")
    assert (policy, text) == _fmt_dsl_through_mapping(data)
