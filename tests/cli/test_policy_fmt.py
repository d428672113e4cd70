"""Issue 13 item 2: ``policy fmt`` writes the minimal canonical form; shipped policies are clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.policy import load_policy_source
from gait.policy.digest import policy_digest
from gait.policy.fmt import format_source

from .conftest import REPO, run, run_json

SHIPPED = sorted(
    [
        *REPO.glob("policies/*.yaml"),
        *REPO.glob("examples/**/*.yaml"),
        *REPO.glob("examples/**/*.gaitpol"),
    ]
)


def fmt(text: str) -> str:
    return format_source(text.encode(), "p.yaml", "yaml")[1]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_policy_is_fmt_clean(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "policy", "fmt", str(path), "--check")
    assert (code, out["ok"]) == (0, True), out
    assert "changed" not in out


@pytest.mark.parametrize(
    "template", ["baseline-lowrisk", "baseline-mediumrisk", "baseline-highrisk"]
)
def test_policy_init_output_is_fmt_clean(
    template: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = str(tmp_path / "p.yaml")
    code, _ = run_json(capsys, "policy", "init", template, "--out", out_path)
    assert code == 0
    code, out = run_json(capsys, "policy", "fmt", out_path, "--check")
    assert code == 0 and out["ok"] is True


def test_write_keeps_the_example_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The stumble: --write turned the 27-line example into 247 lines of defaults."""
    source = REPO / "examples" / "policy" / "base_low_risk.yaml"
    target = tmp_path / "p.yaml"
    target.write_bytes(source.read_bytes())
    code, _ = run_json(capsys, "policy", "fmt", str(target), "--write")
    assert code == 0
    assert target.read_bytes() == source.read_bytes()
    assert len(target.read_text().splitlines()) < 40


def test_defaults_and_derived_values_are_left_out() -> None:
    text = fmt(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\n"
        "fail_closed: {enabled: false}\n"
        "rules:\n  - name: r\n    priority: 0\n    effect: block\n"
        "    min_approvals: 2\n    require_distinct_approvers: true\n"
        "    match: {tool_name: Fs.Write, tool_names: [fs.write], risk_classes: []}\n"
        "    dataflow: {enabled: true, tainted_sources: [external, tool_output]}\n"
        "    rate_limit: {requests: 5, window: minute, scope: tool_identity}\n"
    )
    assert text == (
        "schema_id: gait.gate.policy\n"
        "schema_version: 1.0.0\n"
        "default_verdict: block\n"
        "rules:\n"
        "  - name: r\n"
        "    effect: block\n"
        "    match:\n"
        "      tool_name: Fs.Write\n"
        "    min_approvals: 2\n"
        "    rate_limit:\n"
        "      requests: 5\n"
        "    dataflow:\n"
        "      tainted_sources: [external, tool_output]\n"
    )
    assert fmt(text) == text


def test_minimal_form_has_the_same_digest_as_the_full_form() -> None:
    source = (REPO / "policies" / "prompt_injection.yaml").read_bytes()
    policy, minimal = format_source(source, "p.yaml", "yaml")
    _, full = format_source(source, "p.yaml", "yaml", full=True)
    assert len(full) > 3 * len(minimal)
    for text in (minimal, full):
        reloaded = load_policy_source(text.encode(), "f.yaml", "yaml")
        assert policy_digest(reloaded) == policy_digest(policy)


def test_comment_on_a_left_out_key_moves_to_the_next_key() -> None:
    text = fmt(
        "default_verdict: block\nrules:\n  - name: r\n    # zero is the default\n"
        "    priority: 0  # kept anyway\n    effect: allow\n"
    )
    assert "    # zero is the default\n    # kept anyway\n    effect: allow\n" in text
    assert fmt(text) == text


def test_comment_on_a_trailing_left_out_key_is_not_lost() -> None:
    text = fmt("default_verdict: block\nrules: []\nfail_closed:\n  enabled: false  # later\n")
    assert "# later" in text
    assert fmt(text) == text


def test_full_flag_writes_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(REPO / "examples" / "policy" / "base_low_risk.yaml")
    code, out, _ = run(capsys, "policy", "fmt", path, "--full")
    assert code == 0
    assert "      max_delegation_depth: null\n" in out
    assert len(out.splitlines()) > 150


def test_quote_inside_a_plain_scalar_does_not_hide_later_comments() -> None:
    # Found by hypothesis: "0{'" is plain text, its quote does not open a string.
    source = (
        "rules:\n- name: r\n  effect: allow\n  endpoint:\n    path_denylist:\n    - 0{'\n"
        "# keep me\n  dataflow: {}\n"
    )
    text = fmt(source)
    assert "# keep me" in text
    assert fmt(text) == text


FLOW = b"""default_verdict: allow
rules:
  - name: no-exfil
    effect: block
    match:
      tool_names: [http.post]
      # only after a secret was read
      after:
        - {tool_names: [FS.Read], sensitivity: [secret], within: 600s}
        - {min_count: 1}
      not_after: [{tool_names: [approve], min_count: 2, same_target: true}]
"""


@pytest.mark.parametrize("full", [False, True])
def test_flow_predicates_round_trip_in_both_forms(full: bool) -> None:
    policy, text = format_source(FLOW, "p.yaml", "yaml", full=full)
    assert "UNSET" not in text
    again = load_policy_source(text.encode(), "f.yaml", "yaml")
    assert again == policy and policy_digest(again) == policy_digest(policy)
    assert format_source(text.encode(), "p.yaml", "yaml", full=full)[1] == text
    assert "# only after a secret was read" in text


def test_flow_items_are_minimal_block_mappings() -> None:
    text = format_source(FLOW, "p.yaml", "yaml")[1]
    assert (
        "      after:\n"
        "        - tool_names: [fs.read]\n"
        "          sensitivity: [secret]\n"
        "          within: 10m0s\n"
        "        - {}\n"
    ) in text
    assert "min_count: 1" not in text


def test_unused_flow_keys_are_not_written_in_the_full_form() -> None:
    text = format_source(b"rules:\n  - {name: r, effect: allow}\n", "p.yaml", "yaml", full=True)[1]
    assert "after" not in text
