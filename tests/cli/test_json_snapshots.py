"""The JSON of the commands issue 13 touched, in syrupy snapshots.

Any change to these outputs (a field, a message, a verdict, a digest) shows up
in review as a snapshot diff. Inputs are copied into a temporary directory and
named relatively, so the output does not depend on where the tests run.
``correlation_id`` is left out: in-process it hashes pytest's own argv.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from gait.cli.main import main

from .conftest import EXAMPLES, INTENTS

CASES: list[tuple[str, list[str]]] = [
    ("validate", ["policy", "validate", "high.yaml"]),
    ("validate-empty", ["policy", "validate", "empty.yaml"]),
    ("validate-empty-strict", ["policy", "validate", "empty.yaml", "--strict"]),
    ("fmt-check", ["policy", "fmt", "high.yaml", "--check"]),
    ("fmt-check-unformatted", ["policy", "fmt", "messy.yaml", "--check"]),
    ("fmt-minimal", ["policy", "fmt", "messy.yaml"]),
    ("test-block", ["policy", "test", "high.yaml", "delete.json"]),
    ("test-array", ["policy", "test", "high.yaml", "array.json"]),
    ("test-truncated", ["policy", "test", "high.yaml", "truncated.json"]),
    ("test-typo", ["policy", "test", "high.yaml", "typo.json"]),
    ("gate-eval-positional", ["gate", "eval", "high.yaml", "delete.json"]),
    ("gate-eval-again", ["gate", "eval", "high.yaml", "delete.json"]),
    ("regress-no-config", ["regress", "run"]),
    ("run-record-missing", ["run", "record", "nope.json"]),
    ("cache-clear", ["cache", "clear", "--dry-run"]),
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("snap")
    shutil.copy(EXAMPLES / "base_high_risk.yaml", work / "high.yaml")
    shutil.copy(INTENTS / "intent_delete.json", work / "delete.json")
    (work / "empty.yaml").write_text("")
    (work / "messy.yaml").write_text(
        "rules:\n  - {name: b, priority: 0, effect: allow, match: {tool_names: [X]}}\n"
        "  - name: a  # first\n    effect: block\n    min_approvals: 0\n"
        "default_verdict: block\nfail_closed: {enabled: false}\n"
    )
    (work / "array.json").write_text("[]\n")
    (work / "truncated.json").write_text('{"tool_name": "tool.read", "args": {')
    delete = (INTENTS / "intent_delete.json").read_text()
    (work / "typo.json").write_text(delete.replace('"tool_name"', '"toolname"'))
    out: dict[str, Any] = {}
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.setenv("GAIT_CACHE_DIR", str(work / "no-cache"))
    try:
        for name, argv in CASES:
            stdout = _capture(argv).replace(str(work), "<work>")
            payload = json.loads(stdout)
            payload.pop("correlation_id")
            out[name] = payload
    finally:
        mp.undo()
    return out


def _capture(argv: list[str]) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        main([*argv, "--json"])
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_cli_json(outputs: dict[str, Any], name: str, snapshot: Any) -> None:
    assert outputs[name] == snapshot


def test_repeated_decision_gets_a_new_trace_name(outputs: dict[str, Any]) -> None:
    first, again = outputs["gate-eval-positional"], outputs["gate-eval-again"]
    assert first["trace_id"] == again["trace_id"]
    assert again["trace_path"] == first["trace_path"].replace(".json", "_2.json")
