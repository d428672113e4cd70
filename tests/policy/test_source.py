"""Strict policy parsing (policy.md §1): YAML with positions, unknown keys, types, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.errors import GaitError, PolicyError
from gait.policy import compile_policy, load_policy_file, load_policy_source


def load(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return load_policy_source(data, "p.yaml", "yaml")


def error(text: str | bytes) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load(text)
    return info.value


def test_unknown_rule_key_is_unknown_field_error() -> None:
    err = error("rules:\n  - name: r\n    efect: block\n")
    assert err.message.startswith("parse policy yaml: ")
    assert 'unknown field "efect"' in err.message


def test_unknown_top_level_key_is_unknown_field_error() -> None:
    err = error("default_verdict: block\nrulez: []\n")
    assert err.message.startswith("parse policy yaml: ")
    assert 'unknown field "rulez"' in err.message


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("match", "tool"),
        ("endpoint", "path_allow"),
        ("dataflow", "sources"),
        ("rate_limit", "limit"),
        ("destructive_budget", "max"),
    ],
)
def test_unknown_nested_key_is_unknown_field_error(section: str, key: str) -> None:
    err = error(f"rules:\n  - name: r\n    effect: block\n    {section}:\n      {key}: 1\n")
    assert f'unknown field "{key}"' in err.message


def test_unknown_key_in_fail_closed_scripts_and_mcp_trust() -> None:
    for section in ("fail_closed", "scripts", "mcp_trust"):
        err = error(f"{section}:\n  bogus: 1\n")
        assert 'unknown field "bogus"' in err.message, section


def test_unknown_tool_annotation_hint_is_rejected() -> None:
    err = error(
        "rules:\n  - name: r\n    effect: block\n    match:\n"
        "      tool_annotations: {read_only_hint: true}\n"
    )
    assert 'unknown field "read_only_hint"' in err.message


def test_unknown_field_error_names_line_column_and_field() -> None:
    err = error("rules:\n  - name: r\n    efect: block\n")
    assert err.location is not None
    assert (err.location.file, err.location.line) == ("p.yaml", 3)
    assert err.location.field == "rules[0].efect"


def test_scalar_where_list_expected_is_sequence_error() -> None:
    err = error("rules:\n  - name: r\n    effect: block\n    match:\n      tool_names: fs.read\n")
    assert err.message.startswith(
        "parse policy yaml: [5:19] string was used where sequence is expected"
    )


def test_scalar_endpoint_class_is_sequence_error() -> None:
    err = error(
        "rules:\n  - name: r\n    effect: block\n    match:\n      endpoint_class: fs.delete\n"
    )
    assert "string was used where sequence is expected" in err.message
    assert err.location is not None and err.location.field == "rules[0].match.endpoint_class"


@pytest.mark.parametrize(
    "yaml_text",
    [
        "rules:\n  - name: r\n    effect: block\n    reason_codes: x\n",
        "rules:\n  - name: r\n    effect: block\n    violations: x\n",
        "rules:\n  - name: r\n    effect: block\n    broker_scopes: x\n",
        "rules:\n  - name: r\n    effect: block\n    match:\n      discovery_method: mcp\n",
        "rules:\n  - name: r\n    effect: block\n    match:\n      risk_classes: high\n",
        "rules:\n  - name: r\n    effect: block\n    endpoint:\n      egress_classes: net.http\n",
        "rules:\n  - name: r\n    effect: block\n    dataflow:\n      tainted_sources: external\n",
        "fail_closed:\n  enabled: true\n  required_fields: targets\n",
        "fail_closed:\n  enabled: true\n  risk_classes: high\n",
        "mcp_trust:\n  snapshot: s.json\n  publisher_allowlist: acme\n",
    ],
)
def test_every_list_key_rejects_a_scalar(yaml_text: str) -> None:
    assert "string was used where sequence is expected" in error(yaml_text).message


def test_duplicate_top_level_key_is_error() -> None:
    err = error("default_verdict: block\ndefault_verdict: allow\n")
    assert err.message.startswith("parse policy yaml: ")
    assert 'mapping key "default_verdict" already defined' in err.message


def test_duplicate_key_inside_rule_is_error() -> None:
    err = error("rules:\n  - name: r\n    effect: block\n    effect: allow\n")
    assert 'mapping key "effect" already defined' in err.message
    assert err.location is not None and err.location.line == 4


def test_legacy_keys_message_lists_fields_in_fixed_order() -> None:
    err = error("unknown_server: x\nname: p\nversion: 1\n")
    assert err.message == (
        "parse policy yaml: legacy policy proposal fields are not supported "
        "[version, name, unknown_server]: "
        "version->schema_id|schema_version (set schema_id=gait.gate.policy and schema_version=1.0.0); "
        "name-> (drop the top-level name; name individual rules instead); "
        "unknown_server->mcp_trust.action (use mcp_trust.action for unknown servers)"
    )


@pytest.mark.parametrize(
    ("key", "replacement"),
    [
        ("version", "version->schema_id|schema_version"),
        ("name", "name-> "),
        ("boundaries", "boundaries->rules|mcp_trust"),
        ("defaults", "defaults->default_verdict|fail_closed"),
        ("trust_sources", "trust_sources->mcp_trust.snapshot"),
        ("unknown_server", "unknown_server->mcp_trust.action"),
    ],
)
def test_each_legacy_key_names_its_replacement(key: str, replacement: str) -> None:
    err = error(f"{key}: x\n")
    assert err.message.startswith(
        f"parse policy yaml: legacy policy proposal fields are not supported [{key}]: {replacement}"
    )


def test_legacy_check_runs_before_unknown_field_check() -> None:
    assert "legacy policy proposal fields" in error("boundaries: []\nbogus: 1\n").message


@pytest.mark.parametrize(
    ("yaml_text", "got", "want"),
    [
        ("rules:\n  - name: r\n    effect: block\n    priority: abc\n", "string", "integer"),
        ("fail_closed:\n  enabled: maybe\n", "string", "boolean"),
        ("rules: {a: 1}\n", "mapping", "sequence"),
        ("rules:\n  - name: r\n    effect: block\n    match: [a]\n", "sequence", "mapping"),
        ("rules:\n  - name: r\n    effect: block\n    min_approvals: 1.5\n", "number", "integer"),
        ("scripts:\n  block_mixed_risk: 1\n", "integer", "boolean"),
    ],
)
def test_wrong_type_names_got_and_expected(yaml_text: str, got: str, want: str) -> None:
    assert f"{got} was used where {want} is expected" in error(yaml_text).message


def test_top_level_sequence_is_rejected() -> None:
    assert "sequence was used where mapping is expected" in error("- a\n- b\n").message


def test_top_level_scalar_is_rejected() -> None:
    assert "string was used where mapping is expected" in error("hello\n").message


def test_numeric_rule_name_is_read_as_its_text() -> None:
    policy = load("rules:\n  - name: 007\n    effect: block\n")
    assert policy.rules[0].name == "007"


def test_bad_yaml_is_parse_error_with_position() -> None:
    err = error("rules: [\n")
    assert err.message.startswith("parse policy yaml: [")
    assert err.location is not None and err.location.line >= 1


def test_tab_indentation_is_parse_error() -> None:
    assert error("rules:\n\t- name: x\n").message.startswith("parse policy yaml: ")


def test_merge_keys_are_rejected() -> None:
    assert "merge keys" in error("x: &a {b: 1}\ny:\n  <<: *a\n").message


def test_empty_file_is_valid_with_defaults() -> None:
    policy = load("")
    assert (policy.schema_id, policy.schema_version) == ("gait.gate.policy", "1.0.0")
    assert policy.default_verdict == "require_approval"
    assert policy.rules == ()
    assert policy.fail_closed.enabled is False


def test_comment_only_file_is_valid_with_defaults() -> None:
    assert load("# nothing here\n").default_verdict == "require_approval"


def test_explicit_null_document_is_valid_with_defaults() -> None:
    assert load("~\n").default_verdict == "require_approval"


def test_null_values_leave_defaults() -> None:
    policy = load("default_verdict: block\nrules:\nfail_closed:\n")
    assert policy.rules == ()
    assert policy.fail_closed.enabled is False


def test_utf8_bom_is_accepted() -> None:
    assert load(b"\xef\xbb\xbfdefault_verdict: block\n").default_verdict == "block"


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\xff\xfe",
        bytes(range(256)),
        b"\x00\x00\x00\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "\u0000abc".encode(),
    ],
)
def test_binary_garbage_is_policy_error(data: bytes) -> None:
    with pytest.raises(PolicyError) as info:
        load(data)
    assert info.value.message.startswith("parse policy yaml: ")


def test_fifty_megabyte_file_is_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.write(b"default_verdict: block\n# ")
        fh.write(b"x" * (50 * 1024 * 1024))
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    assert "read policy" in info.value.message


def test_fifty_megabyte_bytes_are_policy_error() -> None:
    with pytest.raises(PolicyError):
        compile_policy(b"# " + b"x" * (50 * 1024 * 1024), use_cache=False)


def test_missing_file_is_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(tmp_path / "absent.yaml")
    assert "read policy" in info.value.message


def test_directory_is_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy_file(tmp_path)


def test_alias_bomb_is_policy_error_not_hang() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(GaitError):
        load("\n".join(lines) + "\n")


def test_deeply_nested_yaml_is_policy_error() -> None:
    with pytest.raises(GaitError):
        load("a: " + "[" * 20000 + "]" * 20000 + "\n")


@pytest.mark.parametrize(
    ("spelling", "expected"), [("yes", True), ("On", True), ("no", False), ("OFF", False)]
)
def test_yaml11_boolean_spellings_are_accepted_for_boolean_fields(
    spelling: str, expected: bool
) -> None:
    from gait.policy import load_policy_source

    policy = load_policy_source(f"fail_closed:\n  enabled: {spelling}\n".encode(), "p.yaml", "yaml")
    assert policy.fail_closed.enabled is expected


def test_yaml11_boolean_spellings_stay_strings_in_string_fields() -> None:
    from gait.policy import load_policy_source

    policy = load_policy_source(b"rules:\n  - name: yes\n    effect: allow\n", "p.yaml", "yaml")
    assert policy.rules[0].name == "yes"
