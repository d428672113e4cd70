"""``gait regress bootstrap|add`` output pinned to the reference (cmd/gait/regress.go)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest


def _cli(*args: str) -> tuple[int, str]:
    from gait.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["gait", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.argv = argv
    return code, out.getvalue()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _cli("demo")[0] == 0
    return tmp_path


def test_bootstrap_json_has_the_reference_fields_only(demo: Path) -> None:
    code, out = _cli("regress", "bootstrap", "--from", "run_demo", "--json")
    assert code == 0
    body = json.loads(out)
    assert "fixture_set" not in body and "graders" not in body
    assert body["status"] == "pass" and body["fixture_name"] == "run_demo"
    assert body["artifact_paths"] == ["regress_result.json"]


def test_add_prints_one_line_and_rejects_non_runpack_receipts(demo: Path) -> None:
    code, out = _cli("regress", "add", "--from", "run_demo")
    assert (code, out) == (0, "regress add ok: fixture=run_demo run_id=run_demo\n")
    receipt = demo / "trace_capture.json"
    receipt.write_text(
        json.dumps(
            {
                "schema_id": "gait.capture.receipt",
                "schema_version": "1.0.0",
                "artifact_type": "trace",
                "artifact_path": "t.json",
            }
        )
    )
    code, out = _cli("regress", "add", "--from", str(receipt), "--json")
    assert code == 6
    assert json.loads(out)["error"] == (
        'capture receipt artifact_type "trace" is not supported by regress add'
    )
