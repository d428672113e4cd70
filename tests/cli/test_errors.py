"""Issue 13 item 4: errors say what was expected and what to do next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import EXAMPLES, INTENTS, run, run_json

LOW = str(EXAMPLES / "base_low_risk.yaml")
HIGH = str(EXAMPLES / "base_high_risk.yaml")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_array_intent_says_an_object_was_expected(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "a.json").write_text("[]\n")
    code, out = run_json(capsys, "policy", "test", LOW, "a.json")
    assert code == 6
    assert "Go value" not in out["error"]
    assert out["error"] == (
        "parse intent json: expected an intent: a JSON object with tool_name, args, "
        "targets and context (got an array)"
    )


def test_truncated_intent_names_line_and_column(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "t.json").write_text('{\n  "tool_name": "tool.read",\n  "args": {')
    code, out = run_json(capsys, "gate", "eval", "--policy", LOW, "--intent", "t.json")
    assert code == 6
    assert out["error"] == (
        "parse intent json: unexpected end of JSON input: "
        "the file ends before the JSON value is complete (byte 41)"
    )
    assert out["location"] == {"file": "t.json", "line": 3, "column": 12}


def test_missing_run_record_input_names_the_file(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, "run", "record", "nope.json")
    assert code == 6
    assert out["error"] == "read input: No such file or directory: nope.json"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '"tool_name"',
            '"tool_nme"',
            'tool_name is required (unknown key "tool_nme": did you mean',
        ),
        (
            '"identity"',
            '"identiy"',
            'context.identity is required (unknown key "context.identiy": did you mean',
        ),
    ],
)
def test_misspelt_required_key_is_pointed_at(
    work: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    text = (INTENTS / "intent_read.json").read_text().replace(old, new)
    (work / "i.json").write_text(text)
    code, out = run_json(capsys, "policy", "test", LOW, "i.json")
    assert code == 6
    assert expected in out["error"]
    assert out["reason"] == expected.split(" (")[0]  # the spec's bare message is kept


def test_broken_gait_config_gives_file_line_column_not_pyyaml_text(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / ".gait").mkdir()
    (work / ".gait" / "config.yaml").write_text("gate:\n  state: x\n   bad: 1\n")
    code, out = run_json(
        capsys, "gate", "eval", "--policy", LOW, "--intent", str(INTENTS / "intent_read.json")
    )
    assert code == 6
    assert out["error"] == (
        "parse config .gait/config.yaml:3:7: mapping values are not allowed here"
    )
    assert "<unicode string>" not in out["error"] and "^" not in out["error"]


def test_regress_run_without_config_says_how_to_make_one(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, "regress", "run")
    assert code == 6
    assert "gait regress init --from" in out["error"]
    assert "gait.yaml" in out["error"]


def test_empty_policy_warns_and_fails_under_strict(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "empty.yaml").write_text("")
    code, out = run_json(capsys, "policy", "validate", "empty.yaml")
    assert code == 0
    assert out["warnings"] == [
        "policy has no rules: every call gets the default verdict require_approval"
    ]
    code, text, _ = run(capsys, "policy", "validate", "empty.yaml")
    assert "warning: policy has no rules" in text
    code, out = run_json(capsys, "policy", "validate", "empty.yaml", "--strict")
    assert code == 6 and out["error"].startswith("policy validate --strict: empty.yaml:")
    code, out = run_json(capsys, "policy", "validate", LOW, "--strict")
    assert code == 0 and "warnings" not in out


def test_why_renders_values_as_the_policy_writes_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(
        capsys, "policy", "test", HIGH, str(INTENTS / "intent_delete.json"), "--why"
    )
    assert code == 3
    assert "target_kinds: wants [bucket, host, queue, topic, url], intent has [path]" in text
    assert "['" not in text


def test_why_json_uses_the_same_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "policy", "test", HIGH, str(INTENTS / "intent_delete.json"), "--why", "--json"
    )
    dumped = json.dumps(json.loads(out))
    assert code == 3 and "wants [bucket, host, queue, topic, url]" in dumped
    assert "['" not in dumped
