"""inspect (§6.3), diff (§6.4), replay (§6.5) and the receipt footer (§6.2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput, UnsafeOperation
from gait.runpack.diff import diff_ok, diff_runpacks, result_shape
from gait.runpack.inspect import FOOTER_RE, format_ticket_footer, inspect_runpack, inspect_text
from gait.runpack.reader import read_runpack, resolve_runpack
from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.recorder import Recorder
from gait.runpack.replay import check_real_replay, reevaluate, replay_stub, stub_type

T0 = "2026-02-05T00:00:00Z"


def _pack(
    tmp: Path, name: str, intents: list[dict[str, Any]], results: list[dict[str, Any]], **kw: Any
) -> Any:
    path = tmp / f"{name}.zip"
    write_runpack(path, record_runpack({"run_id": name, "created_at": T0}, intents, results, **kw))
    return read_runpack(path)


def _intent(n: int, tool: str = "tool.x", **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"intent_{n}", "tool_name": tool, "args": {"n": n}, **extra}


def _result(n: int, **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"intent_{n}", "status": "ok", "result": {"v": n}, **extra}


def _gated_pack(tmp: Path, name: str, verdicts: dict[str, str]) -> Any:
    ticks: Iterator[int] = iter(range(1000))
    rec = Recorder(
        name,
        capture_mode="raw",
        clock=lambda: f"2026-02-05T00:00:{next(ticks):02d}.5Z",
        context={"identity": "a", "workspace": "/w", "risk_class": "high"},
        gate=lambda intent: {"verdict": verdicts.get(intent["tool_name"], "allow")},
    )
    with rec:
        for tool in verdicts:
            with rec.step(tool, {"t": tool}) as step:
                if step.allowed:
                    step.ok({"done": tool})
    rec.write(tmp / f"{name}.zip")
    return read_runpack(tmp / f"{name}.zip")


def test_footer_matches_the_contract_regex() -> None:
    footer = format_ticket_footer("run_demo", "A" * 64)
    match = FOOTER_RE.match(footer)
    assert match is not None and match.group(1) == match.group(3) == "run_demo"
    assert match.group(2) == "a" * 64


def test_inspect_entries_follow_intent_order_and_first_result_wins(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        "run_i",
        [_intent(2), _intent(1)],
        [_result(1), _result(1, status="error"), _result(9)],
    )
    payload = inspect_runpack(pack)
    assert [e["intent_id"] for e in payload["entries"]] == ["intent_2", "intent_1"]
    # As the reference: no result → no status in JSON; the text line says missing_result.
    assert "status" not in payload["entries"][0]
    assert payload["entries"][1]["status"] == "ok"
    assert payload["warnings"] == ["multiple result records for intent_id=intent_1 (kept first)"]
    assert [r["intent_id"] for r in payload["unmatched_results"]] == ["intent_9"]
    lines = inspect_text(payload)
    assert lines[2] == "1. intent=intent_2 tool=tool.x status=missing_result"
    assert lines[-3:] == [
        "unmatched_results=1",
        "   intent=intent_9 status=ok",
        "warnings: multiple result records for intent_id=intent_1 (kept first)",
    ]


def test_inspect_pulls_verdicts_from_result_payload(tmp_path: Path) -> None:
    result = _result(1, result={"verdict": "block", "reason_codes": ["b", "a", "a"]})
    payload = inspect_runpack(_pack(tmp_path, "run_v", [_intent(1)], [result]))
    entry = payload["entries"][0]
    assert entry["verdict"] == "block" and entry["reason_codes"] == ["a", "b"]
    assert "violations" not in entry  # empty lists are left out, as the reference
    assert inspect_text(payload)[3] == "   reason_codes=a,b"


def test_inspect_text_shows_tool_verdict_status_duration(tmp_path: Path) -> None:
    pack = _gated_pack(tmp_path, "run_g", {"tool.read": "allow", "tool.rm": "block"})
    lines = inspect_text(inspect_runpack(pack))
    assert lines[0] == "run inspect: run_id=run_g intents=2 results=2 capture_mode=raw"
    # The reference's step line (duration stays in JSON and the terminal table).
    assert lines[2] == "1. intent=intent_0001 tool=tool.read status=ok verdict=allow"
    assert lines[3] == "2. intent=intent_0002 tool=tool.rm status=block verdict=block"


def test_diff_of_identical_packs_is_ok(tmp_path: Path) -> None:
    a = _pack(tmp_path, "run_a", [_intent(1)], [_result(1)])
    b = _pack(tmp_path, "run_b", [_intent(1)], [_result(1)])
    summary = diff_runpacks(a, b)
    assert diff_ok(summary) and summary["files_changed"] == []
    assert (summary["run_id_left"], summary["run_id_right"]) == ("run_a", "run_b")


def test_diff_reports_changed_and_one_sided_records(tmp_path: Path) -> None:
    a = _pack(tmp_path, "run_a", [_intent(1), _intent(2)], [_result(1)])
    b = _pack(
        tmp_path, "run_b", [_intent(1, tool="tool.y"), _intent(3)], [_result(1, status="error")]
    )
    summary = diff_runpacks(a, b)
    assert not diff_ok(summary)
    assert summary["intents_changed"] and summary["results_changed"]
    assert summary["left_only_intents"] == ["intent_2"]
    assert summary["right_only_intents"] == ["intent_3"]
    fields = {(c["intent_id"], c["field"]) for c in summary["step_changes"]}
    assert ("intent_1", "tool_name") in fields and ("intent_1", "status") in fields


def test_diff_metadata_mode_compares_digests_but_not_payload_shapes(tmp_path: Path) -> None:
    a = _pack(tmp_path, "run_a", [_intent(1)], [_result(1, result={"v": 1})])
    b = _pack(tmp_path, "run_b", [_intent(1)], [_result(1, result={"v": "one"})])
    full = diff_runpacks(a, b)
    assert {c["field"] for c in full["step_changes"]} == {"result_shape"}
    metadata = diff_runpacks(a, b, privacy="metadata")
    assert metadata["results_changed"] is True  # result_digest still differs
    assert "step_changes" not in metadata


def test_diff_classifies_runtime_only_ref_drift(tmp_path: Path) -> None:
    def refs(when: str) -> dict[str, Any]:
        return {
            "receipts": [
                {
                    "ref_id": "r",
                    "query_digest": "a" * 64,
                    "content_digest": "b" * 64,
                    "retrieved_at": when,
                }
            ]
        }

    a = _pack(tmp_path, "run_a", [], [], refs=refs("2026-01-01T00:00:00Z"))
    b = _pack(tmp_path, "run_b", [], [], refs=refs("2026-01-02T00:00:00Z"))
    summary = diff_runpacks(a, b)
    assert summary["refs_changed"] and summary["context_drift_classification"] == "runtime_only"
    assert summary["context_runtime_only_changes"] is True


def test_diff_reports_verdict_and_result_shape_changes(tmp_path: Path) -> None:
    a = _gated_pack(tmp_path, "run_a", {"tool.read": "allow", "tool.rm": "allow"})
    b = _gated_pack(tmp_path, "run_b", {"tool.read": "allow", "tool.rm": "block"})
    changes = {c["field"] for c in diff_runpacks(a, b)["step_changes"]}
    assert {"verdict", "status"} <= changes


def test_result_shape_keeps_keys_and_types() -> None:
    assert result_shape({"a": [1, 2], "b": {"c": "x"}, "d": None}) == {
        "a": ["number"],
        "b": {"c": "string"},
        "d": "null",
    }


def test_stub_replay_uses_recorded_results_and_stubs_by_tool_class(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        "run_r",
        [_intent(1), _intent(2, tool="tool.fetch"), _intent(3, tool="tool.think")],
        [_result(1)],
    )
    out = replay_stub(pack)
    steps = out["steps"]
    assert steps[0]["execution"] == "recorded"
    assert (steps[1]["execution"], steps[1]["stub_type"]) == ("stubbed", "http")
    assert steps[2]["status"] == "missing_result"
    assert out["missing_results"] == ["intent_3"] and out["ok"] is False


def test_stub_digest_is_deterministic(tmp_path: Path) -> None:
    import hashlib

    pack = _pack(tmp_path, "run_r", [_intent(1, tool="Tool.SQL")], [])
    step = replay_stub(pack)["steps"][0]
    args_digest = pack.intents[0].args_digest
    seed = f"run_r:intent_1:tool.sql:{args_digest}:db"
    assert step["result_digest"] == hashlib.sha256(seed.encode()).hexdigest()


@pytest.mark.parametrize(
    ("tool", "kind"),
    [
        ("tool.fetch", "http"),
        ("fs.write", "file"),
        ("db.query", "db"),
        ("kafka.send", "queue"),
        ("x", ""),
    ],
)
def test_stub_classes(tool: str, kind: str) -> None:
    assert stub_type(tool) == kind


def test_duplicate_intent_ids_are_rejected_by_replay(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "run_d", [_intent(1), _intent(1)], [])
    with pytest.raises(InvalidInput, match="duplicate intent_id"):
        replay_stub(pack)


def test_real_replay_needs_every_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAIT_ALLOW_REAL_REPLAY", raising=False)
    with pytest.raises(UnsafeOperation, match="--unsafe-real-tools"):
        check_real_replay(real_tools=True, unsafe=False, allow_tools=["echo"], env_name="")
    with pytest.raises(UnsafeOperation, match="--allow-tools"):
        check_real_replay(real_tools=True, unsafe=True, allow_tools=[], env_name="")
    with pytest.raises(UnsafeOperation, match="GAIT_ALLOW_REAL_REPLAY=1"):
        check_real_replay(real_tools=True, unsafe=True, allow_tools=["echo"], env_name="")
    monkeypatch.setenv("GAIT_ALLOW_REAL_REPLAY", "1")
    check_real_replay(real_tools=True, unsafe=True, allow_tools=["echo"], env_name="")


class _Decision:
    def __init__(self, verdict: str) -> None:
        self.verdict = verdict
        self.reason_codes: tuple[str, ...] = ()


def test_reevaluation_reports_divergences(tmp_path: Path) -> None:
    pack = _gated_pack(tmp_path, "run_p", {"tool.read": "allow", "tool.rm": "block"})
    seen: list[dict[str, Any]] = []

    def evaluate(intent: dict[str, Any]) -> _Decision:
        seen.append(intent)
        return _Decision("allow")

    out = reevaluate(pack, evaluate, policy_digest="x" * 64)
    assert [d["intent_id"] for d in out["divergences"]] == ["intent_0002"]
    assert out["divergences"][0]["recorded_verdict"] == "block"
    assert seen[0]["context"] == {"identity": "a", "workspace": "/w", "risk_class": "high"}
    assert out["steps"][0]["intent_source"] == "recorded_gate_intent"


def test_reevaluation_skips_intents_without_args(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path, "run_n", [{"intent_id": "i", "tool_name": "t", "args_digest": "a" * 64}], []
    )
    out = reevaluate(pack, lambda i: _Decision("allow"), policy_digest="x" * 64)
    assert out["skipped"] == 1 and out["steps"][0]["reevaluation"] == "skipped"


def test_resolve_prefers_gait_out_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_pack = tmp_path / "home" / ".gait" / "runpacks" / "runpack_run_h.zip"
    home_pack.parent.mkdir(parents=True)
    home_pack.write_bytes(b"x")
    assert resolve_runpack("run_h", cwd=tmp_path) == str(home_pack)
    local = tmp_path / "gait-out" / "runpack_run_h.zip"
    local.parent.mkdir()
    local.write_bytes(b"x")
    assert resolve_runpack("run_h", cwd=tmp_path) == str(local)


@pytest.mark.parametrize("arg", ["a/b", "x.ZIP", "c\\d"])
def test_path_like_arguments_must_exist(tmp_path: Path, arg: str) -> None:
    with pytest.raises(InvalidInput, match=f"runpack not found: {json.dumps(arg)[1:-1]}"):
        resolve_runpack(arg, cwd=tmp_path)
