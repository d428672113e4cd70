"""``gait run replay|inspect|diff|receipt`` output pinned to the reference (cmd/gait/run*.go)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
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


def _json(*args: str, code: int = 0) -> dict[str, Any]:
    got, out = _cli(*args, "--json")
    assert got == code, out
    return json.loads(out)


def _record(
    tmp: Path, run_id: str, intents: list[dict[str, Any]], results: list[dict[str, Any]]
) -> Path:
    body = {
        "run": {"run_id": run_id, "created_at": "2026-02-05T00:00:00Z"},
        "intents": intents,
        "results": results,
        "refs": {"receipts": []},
    }
    src = tmp / f"{run_id}.json"
    src.write_text(json.dumps(body))
    out = _json("run", "record", "--input", str(src), "--out-dir", str(tmp / "gait-out"))
    return tmp / "gait-out" / f"runpack_{out['run_id']}.zip"


def _intent(n: int, tool: str = "tool.search") -> dict[str, Any]:
    return {
        "intent_id": f"intent_{n}",
        "tool_name": tool,
        "args": {"n": n},
        "created_at": "2026-02-05T00:00:00Z",
    }


def _result(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "intent_id": f"intent_{n}",
        "status": "ok",
        "result": {"n": n},
        "created_at": "2026-02-05T00:00:00Z",
        **extra,
    }


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    code, _ = _cli("demo")
    assert code == 0
    return tmp_path


def test_replay_text_and_json_as_the_reference(demo: Path) -> None:
    code, out = _cli("run", "replay", "run_demo")
    assert (code, out) == (0, "replay ok: run_demo (stub)\n")
    body = _json("run", "replay", "run_demo")
    # omitempty: no missing_results / warnings / requested_unsafe on a clean stub replay
    assert not {"missing_results", "warnings", "requested_unsafe"} & set(body)
    assert body["mode"] == "stub" and len(body["steps"]) == 3


def test_replay_missing_result_text(demo: Path) -> None:
    pack = _record(
        demo, "run_gap", [_intent(1, "tool.summarize"), _intent(2, "tool.x")], [_result(1)]
    )
    code, out = _cli("run", "replay", str(pack))
    assert code == 2
    assert out.splitlines() == ["replay failed: run_gap", "missing results: intent_2"]
    body = _json("run", "replay", str(pack), code=2)
    assert body["missing_results"] == ["intent_2"] and body["ok"] is False


def test_replay_unsafe_guards_as_the_reference(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAIT_ALLOW_REAL_REPLAY", raising=False)
    body = _json("run", "replay", "run_demo", "--real-tools", code=8)
    assert body["error"] == "real tool execution requires --unsafe-real-tools"
    assert "requested_unsafe" not in body
    body = _json("run", "replay", "run_demo", "--real-tools", "--unsafe-real-tools", code=8)
    assert body["error"] == "real tool execution requires --allow-tools with explicit tool names"
    assert body["requested_unsafe"] is True
    args = (
        "run",
        "replay",
        "run_demo",
        "--real-tools",
        "--unsafe-real-tools",
        "--allow-tools",
        "echo",
    )
    body = _json(*args, code=8)
    assert body["error"] == "real tool execution requires GAIT_ALLOW_REAL_REPLAY=1"
    # the positional count is checked first
    body = _json("run", "replay", "--real-tools", code=6)
    assert body["error"] == "expected run_id or path"
    # --unsafe-real-tools alone is reported even in stub mode
    assert _json("run", "replay", "run_demo", "--unsafe-real-tools")["requested_unsafe"] is True


def test_inspect_omits_empty_fields_and_prints_reference_lines(demo: Path) -> None:
    result = _result(
        1, result={"verdict": "block", "reason_codes": ["b", "a"], "violations": ["v"]}
    )
    pack = _record(demo, "run_ins", [_intent(1), _intent(2)], [result, _result(9, status="")])
    body = _json("run", "inspect", str(pack))
    first, second = body["entries"]
    assert first["verdict"] == "block" and first["reason_codes"] == ["a", "b"]
    assert "status" not in second and "reason_codes" not in second and "violations" not in second
    assert body["unmatched_results"] == [
        {"intent_id": "intent_9", "result_digest": body["unmatched_results"][0]["result_digest"]}
    ]
    assert "warnings" not in body
    code, out = _cli("run", "inspect", str(pack))
    assert code == 0
    assert out.splitlines()[2:] == [
        "1. intent=intent_1 tool=tool.search status=ok verdict=block",
        "   reason_codes=a,b",
        "   violations=v",
        "2. intent=intent_2 tool=tool.search status=missing_result",
        "unmatched_results=1",
        "   intent=intent_9 status=unknown",
    ]


def test_diff_text_uses_run_ids_and_summary_omits_empty(demo: Path) -> None:
    pack = _record(demo, "run_other", [_intent(1)], [_result(1)])
    code, out = _cli("run", "diff", "./gait-out/runpack_run_demo.zip", "run_demo")
    assert (code, out) == (0, "diff ok: run_demo vs run_demo\n")
    code, out = _cli("run", "diff", "run_demo", str(pack))
    assert code == 2 and out.splitlines()[0] == "diff changed: run_demo vs run_other"
    body = _json("run", "diff", "run_demo", "run_demo")
    assert "files_changed" not in body["summary"]
    assert "context_runtime_only_changes" not in body["summary"]
    assert "left_only_intents" not in body["summary"]
    body = _json("run", "diff", "run_demo", str(pack), "--output", "d.json", code=2)
    assert body["summary"]["left_only_intents"] == ["intent_2", "intent_3"]
    written = (demo / "d.json").read_text()
    assert json.loads(written) == {"privacy": "full", "summary": body["summary"]}
    assert "\n" not in written  # one compact document, as the reference's json.Marshal


def test_receipt_argument_errors_as_the_reference(demo: Path) -> None:
    assert _json("run", "receipt", code=6)["error"] == "missing required --from <run_id|path>"
    body = _json("run", "receipt", "--from", "run_demo", "extra", code=6)
    assert body["error"] == "unexpected positional arguments"
    body = _json("run", "inspect", "--from", "run_demo", "extra", code=6)
    assert body["error"] == "unexpected positional arguments"
    code, out = _cli("run", "receipt", "run_demo")
    assert code == 0 and out.startswith("GAIT run_id=run_demo manifest=sha256:")


def test_diff_argument_errors_as_the_reference(demo: Path) -> None:
    body = _json("run", "diff", "run_demo", code=6)
    assert body["error"] == "expected left and right run_id|path"
    body = _json("run", "diff", "run_demo", "run_demo", "--privacy", "FULL", code=6)
    assert body["error"] == "unsupported privacy mode: FULL"
    body = _json("run", "diff", "nope", "run_demo", "--privacy", "bad", code=6)
    assert body["error"] == "runpack not found for run_id: nope"
    assert _json("run", "diff", "run_demo", "run_demo", "--privacy", "metadata")["ok"] is True
