"""Issue 11 B9/B12: deep and huge intents exit 6 naming the limit; 900 levels are valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.runpack.model import IntentRecord
from gait.runpack.reader import _decode_lines
from gait.safejson import MAX_DEPTH

CTX = {"identity": "agent", "workspace": "/w", "risk_class": "low"}


def _intent(args_value: str) -> str:
    return '{"tool_name":"t","context":' + json.dumps(CTX) + ',"args":{"a":' + args_value + "}}"


def _eval(tmp_path: Path, capsys, text: str) -> tuple[int, dict]:
    (tmp_path / "p.yaml").write_text("rules:\n  - {name: a, effect: allow}\n", encoding="utf-8")
    (tmp_path / "i.json").write_text(text, encoding="utf-8")
    code = main(
        [
            "gate", "eval", "--policy", str(tmp_path / "p.yaml"), "--intent",
            str(tmp_path / "i.json"), "--trace-out", str(tmp_path / "t.json"), "--json",
        ]
    )  # fmt: skip
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_args_nested_900_levels_are_valid(tmp_path: Path, capsys) -> None:
    code, payload = _eval(tmp_path, capsys, _intent("[" * 899 + "]" * 899))
    assert (code, payload["verdict"]) == (0, "allow"), payload


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 100_000])
def test_deeper_than_the_limit_is_exit_6_naming_it(tmp_path: Path, capsys, depth: int) -> None:
    code, payload = _eval(tmp_path, capsys, _intent("[" * depth + "]" * depth))
    assert code == 6
    assert f"nesting exceeds {MAX_DEPTH} levels" in payload["error"]


@pytest.mark.parametrize(
    ("digits", "problem"),
    [
        (310, f"json: cannot unmarshal number {'9' * 310} into Go value of type float64"),
        (4400, "Integer value out of range - at `$.args[...]`"),
    ],
)
def test_huge_integers_are_exit_6(tmp_path: Path, capsys, digits: int, problem: str) -> None:
    code, payload = _eval(tmp_path, capsys, _intent("9" * digits))
    assert code == 6
    assert payload["error"] == f"parse intent json: {problem}"


def test_runpack_records_nested_too_deep_are_invalid_input() -> None:
    line = b'{"args":' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    with pytest.raises(InvalidInput, match="nesting exceeds"):
        _decode_lines(line, IntentRecord, "intents.jsonl")
