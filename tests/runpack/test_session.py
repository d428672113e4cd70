"""Session journals, checkpoints, chains (runpack.md §6.7), reduce (§6.6), capture/regress add."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.runpack.reader import read_runpack
from gait.runpack.reduce import reduce_runpack, reduced_run_id
from gait.runpack.session import (
    append_event,
    checkpoint,
    checkpoint_digest,
    compact,
    read_journal,
    resolve_checkpoint,
    start_session,
    status,
    verify_chain,
)


@pytest.fixture
def journal(tmp_path: Path) -> str:
    path = str(tmp_path / "sess.jsonl")
    start_session(path, "sess-1", "run_sess", producer_version="0.1.0", now="2026-02-05T00:00:00Z")
    return path


def _append(path: str, tool: str, verdict: str, n: int, **extra: object) -> dict:
    return append_event(
        path, {"tool_name": tool, "verdict": verdict, **extra}, now=f"2026-02-05T00:00:{n:02d}Z"
    )


def test_start_refuses_to_overwrite(journal: str) -> None:
    before = Path(journal).read_bytes()
    with pytest.raises(InvalidInput, match="already initialized with different session/run"):
        start_session(journal, "s", "run_x")
    # the same session again is a no-op, as the reference
    again = start_session(journal, "sess-1", "run_sess")
    assert (again.session_id, again.run_id) == ("sess-1", "run_sess")
    assert Path(journal).read_bytes() == before


def test_append_numbers_events_and_validates(journal: str) -> None:
    assert _append(journal, "tool.search", "allow", 1)["sequence"] == 1
    event = _append(journal, "tool.delete", "block", 2, reason_codes=["b", "a", "a"])
    assert event["sequence"] == 2 and event["reason_codes"] == ["a", "b"]
    with pytest.raises(InvalidInput, match="--verdict"):
        _append(journal, "tool.x", "maybe", 3)
    with pytest.raises(InvalidInput, match="--tool"):
        _append(journal, " ", "allow", 3)
    assert status(journal)["events"] == 2


def test_concurrent_appends_never_share_a_sequence(journal: str) -> None:
    def worker(n: int) -> None:
        for _ in range(10):
            append_event(journal, {"tool_name": f"tool.t{n}", "verdict": "allow"})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    seqs = [e["sequence"] for e in read_journal(journal).events]
    assert sorted(seqs) == list(range(1, 41))


def test_checkpoint_writes_a_runpack_and_chain(journal: str, tmp_path: Path) -> None:
    _append(journal, "tool.search", "allow", 1)
    _append(journal, "tool.delete", "block", 2, violations=["destructive"])
    record, chain_path = checkpoint(journal, str(tmp_path / "cp1.zip"))
    assert record["run_id"] == "run_sess_cp_0001" and (record["seq_start"], record["seq_end"]) == (
        1,
        2,
    )
    assert record["checkpoint_digest"] == checkpoint_digest(record["manifest_digest"], "", 1, 1, 2)
    assert chain_path == str(tmp_path / "sess_chain.json")
    pack = read_runpack(tmp_path / "cp1.zip")
    assert [i.tool_name for i in pack.intents] == ["tool.search", "tool.delete"]
    assert [r.status for r in pack.results] == ["ok", "error"]
    assert pack.results[1].result == {"verdict": "block", "violations": ["destructive"]}
    assert pack.run.created_at == "2026-02-05T00:00:01Z"
    with pytest.raises(InvalidInput, match="no new session events"):
        checkpoint(journal, str(tmp_path / "cp_again.zip"))
    _append(journal, "tool.fetch", "allow", 3)
    second, _ = checkpoint(journal, str(tmp_path / "cp2.zip"))
    assert second["prev_checkpoint_digest"] == record["checkpoint_digest"]
    report = verify_chain(chain_path)
    assert report["ok"] and report["checkpoints_checked"] == 2
    path, entry = resolve_checkpoint(chain_path, "1")
    assert Path(path) == tmp_path / "cp1.zip" and entry["checkpoint_index"] == 1
    assert Path(resolve_checkpoint(chain_path)[0]) == tmp_path / "cp2.zip"


def test_checkpoints_are_reproducible_from_the_journal(journal: str, tmp_path: Path) -> None:
    _append(journal, "tool.search", "allow", 1)
    checkpoint(journal, str(tmp_path / "a.zip"), chain_out=str(tmp_path / "a_chain.json"))
    copy = tmp_path / "copy.jsonl"
    lines = Path(journal).read_text().splitlines()
    copy.write_text("\n".join(lines[:2]) + "\n")
    checkpoint(str(copy), str(tmp_path / "b.zip"), chain_out=str(tmp_path / "b_chain.json"))
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_chain_tampering_is_reported(journal: str, tmp_path: Path) -> None:
    _append(journal, "tool.search", "allow", 1)
    _, chain_path = checkpoint(journal, str(tmp_path / "cp1.zip"))
    _append(journal, "tool.fetch", "allow", 2)
    checkpoint(journal, str(tmp_path / "cp2.zip"))
    chain = json.loads(Path(chain_path).read_text())
    chain["checkpoints"][1]["prev_checkpoint_digest"] = "0" * 64
    Path(chain_path).write_text(json.dumps(chain))
    report = verify_chain(chain_path)
    assert not report["ok"] and any("prev_checkpoint_digest" in e for e in report["linkage_errors"])
    data = bytearray((tmp_path / "cp1.zip").read_bytes())
    data[60] ^= 0xFF
    (tmp_path / "cp1.zip").write_bytes(bytes(data))
    report = verify_chain(chain_path)
    assert report["checkpoint_errors"] and "checkpoint 1" in report["checkpoint_errors"][0]


def test_compact_drops_checkpointed_events(journal: str, tmp_path: Path) -> None:
    _append(journal, "tool.a", "allow", 1)
    _append(journal, "tool.b", "allow", 2)
    checkpoint(journal, str(tmp_path / "cp1.zip"))
    _append(journal, "tool.c", "allow", 3)
    dry = compact(journal, dry_run=True)
    assert dry["dropped"] == 2 and len(read_journal(journal).events) == 3
    compact(journal)
    after = read_journal(journal)
    assert [e["sequence"] for e in after.events] == [3]
    assert _append(journal, "tool.d", "allow", 4)["sequence"] == 4
    assert checkpoint(journal, str(tmp_path / "cp2.zip"))[0]["seq_start"] == 3


def _pack_with_failures(tmp_path: Path) -> Path:
    from gait.runpack.record import record_runpack, write_runpack

    run = {"run_id": "run_red", "created_at": "2026-02-05T00:00:00Z"}
    intents = [
        {"intent_id": f"intent_{n}", "tool_name": f"tool.t{n}", "args": {"n": n}} for n in (1, 2, 3)
    ]
    results = [
        {"intent_id": "intent_1", "status": "ok", "result": {"ok": True}},
        {"intent_id": "intent_2", "status": "error", "result": {"ok": False}},
    ]
    path = tmp_path / "runpack_run_red.zip"
    write_runpack(path, record_runpack(run, intents, results, {"receipts": []}))
    return path


def test_reduce_picks_the_first_matching_intent(tmp_path: Path) -> None:
    source = _pack_with_failures(tmp_path)
    missing = reduce_runpack(str(source), "missing_result")
    assert missing.run_id == "run_red_reduced_missingresult"
    assert Path(missing.out_path).name == "runpack_run_red_reduced_missing_result.zip"
    pack = read_runpack(missing.out_path)
    assert [i.intent_id for i in pack.intents] == ["intent_3"] and pack.results == []
    non_ok = reduce_runpack(str(source), "non_ok_status", out=str(tmp_path / "r.zip"))
    assert [r.status for r in read_runpack(non_ok.out_path).results] == ["error"]
    report = json.loads(Path(non_ok.report_path).read_text())
    assert report["schema_id"] == "gait.runpack.reduce_report"
    # the reference's report fields
    assert report["run_id"] == "run_red" and report["still_failing"] is True
    assert (report["original_intent_count"], report["reduced_intent_count"]) == (3, 1)
    assert (report["original_result_count"], report["reduced_result_count"]) == (2, 1)
    assert report["selected_intent_id"] == "intent_2" and non_ok.report_path.endswith(
        ".reduce_report.json"
    )
    assert reduced_run_id("demo", "non_ok_status") == "run_demo_reduced_nonokstatus"


def test_reduce_without_a_match_or_with_a_bad_predicate(tmp_path: Path) -> None:
    from gait.runpack.demo import build_demo_runpack

    demo = tmp_path / "runpack_run_demo.zip"
    demo.write_bytes(build_demo_runpack("0.1.0").zip_bytes)
    # the reference's messages (core/runpack/reduce.go)
    with pytest.raises(InvalidInput, match=r"^predicate missing_result not triggered by runpack$"):
        reduce_runpack(str(demo), "missing_result")
    with pytest.raises(InvalidInput, match=r'^unsupported predicate "slow"$'):
        reduce_runpack(str(demo), "slow")


def test_cli_session_capture_regress_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gait_inproc
) -> None:
    monkeypatch.chdir(tmp_path)
    j = "s.jsonl"
    assert (
        gait_inproc(
            "run", "session", "start", "--journal", j, "--session-id", "s", "--run-id", "run_s"
        )[0]
        == 0
    )
    code, out = gait_inproc(
        "run",
        "session",
        "append",
        "--journal",
        j,
        "--tool",
        "tool.delete",
        "--verdict",
        "block",
        "--json",
    )
    # the reference's shapes: {operation, journal, event|checkpoint|status}
    body = json.loads(out)
    assert code == 0 and body["operation"] == "append" and body["event"]["sequence"] == 1
    assert body["event"]["session_id"] == "s" and body["event"]["run_id"] == "run_s"
    assert body["event"]["schema_id"] == "gait.runpack.session_event"
    code, out = gait_inproc("run", "session", "status", "--journal", j, "--json")
    status = json.loads(out)["status"]
    assert (status["event_count"], status["checkpoint_count"], status["last_sequence"]) == (1, 0, 1)
    code, out = gait_inproc(
        "run", "session", "checkpoint", "--journal", j, "--out", "cp1.zip", "--json"
    )
    body = json.loads(out)
    assert code == 0 and body["chain_path"] == "s_chain.json"
    cp = body["checkpoint"]
    assert (cp["checkpoint_index"], cp["sequence_start"], cp["sequence_end"]) == (1, 1, 1)
    assert cp["runpack_path"] == "cp1.zip" and cp["run_id"] == "run_s"
    assert "prev_checkpoint_digest" not in cp
    code, out = gait_inproc("run", "session", "checkpoint", "--journal", j, "--out", "cp2.zip")
    assert code == 6  # nothing new: "no new session events available for checkpoint"
    code, out = gait_inproc("run", "session", "status", "--journal", j)
    assert out.splitlines() == [
        "session status: session_id=s run_id=run_s events=1 checkpoints=1 last_sequence=1",
        "journal: s.jsonl",
    ]
    code, out = gait_inproc("run", "session", "compact", "--journal", j, "--dry-run")
    assert out.splitlines()[0].startswith(
        "session compact: compacted=true dry_run=true events=1->0 checkpoints=1 bytes="
    )
    code, out = gait_inproc("verify", "session-chain", "--chain", "s_chain.json", "--json")
    assert code == 0 and json.loads(out)["checkpoints_checked"] == 1
    code, out = gait_inproc("capture", "--from", "s_chain.json", "--json")
    receipt = json.loads(out)
    # as the reference, a chain checkpoint's receipt names the session's run
    assert code == 0 and receipt["artifact_type"] == "runpack" and receipt["run_id"] == "run_s"
    assert receipt["artifact_path"] == "cp1.zip" and "next_commands" not in receipt
    code, out = gait_inproc("capture", "--from", "./cp1.zip", "--out", "c2.json")
    assert out.splitlines() == ["capture ok: type=runpack path=./cp1.zip", "receipt: c2.json"]
    written = Path("c2.json").read_text()
    assert written.startswith("{\n  ") and "session_chain_path" not in written
    assert (
        json.loads(Path("gait-out/capture.json").read_text())["session_chain_path"]
        == "s_chain.json"
    )
    code, out = gait_inproc("regress", "add", "--from", "gait-out/capture.json", "--json")
    added = json.loads(out)
    assert code == 0 and added["source"] == "gait-out/capture.json"
    assert added["fixture_name"] == "run_s_cp_0001"
    code, out = gait_inproc("regress", "run", "--json")
    assert code == 0, out
    code, out = gait_inproc(
        "run", "reduce", "--from", "cp1.zip", "--predicate", "non_ok_status", "--json"
    )
    assert code == 0 and json.loads(out)["report"]["selected_intent_id"] == "intent_1"
    Path("s_chain.json").write_text("{}")
    code, out = gait_inproc("verify", "session-chain", "s_chain.json", "--json")
    assert code == 6


def test_regress_init_from_a_unified_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gait_inproc
) -> None:
    from gait.runpack.demo import build_demo_runpack

    monkeypatch.chdir(tmp_path)
    Path("runpack_run_demo.zip").write_bytes(build_demo_runpack("0.1.0").zip_bytes)
    code, out = gait_inproc(
        "pack", "build", "--from", "./runpack_run_demo.zip", "--out", "p.zip", "--json"
    )
    assert code == 0
    code, out = gait_inproc("regress", "init", "--from", "p.zip", "--json")
    assert code == 0 and json.loads(out)["run_id"] == "run_demo"
    assert (
        Path("fixtures/run_demo/runpack.zip").read_bytes()
        == Path("runpack_run_demo.zip").read_bytes()
    )


def test_append_reads_only_the_header_and_the_last_record(
    journal: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gait.runpack.session as session

    for n in range(3):
        _append(journal, "tool.read", "allow", n)
    checkpoint(journal, str(tmp_path / "cp1.zip"))  # last record: a checkpoint (seq_end 3)

    def no_full_parse(*_a: object) -> None:
        raise AssertionError("append_event parsed the whole journal")

    monkeypatch.setattr(session, "_parse", no_full_parse)
    # A last record longer than one read-back chunk is still found whole.
    long_path = "/t/" + "x" * (3 * 64 * 1024)
    assert _append(journal, "tool.write", "allow", 4)["sequence"] == 4
    assert _append(journal, "tool.write", "allow", 5, trace_path=long_path)["sequence"] == 5
    assert _append(journal, "tool.write", "block", 6)["sequence"] == 6
    monkeypatch.undo()
    events = read_journal(journal).events
    assert [e["sequence"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[4]["trace_path"] == long_path


def test_append_refuses_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"record_type":"event","sequence":1}\n')
    with pytest.raises(InvalidInput, match="first record must be"):
        append_event(str(path), {"tool_name": "tool.read", "verdict": "allow"})
    path.write_text("")
    with pytest.raises(InvalidInput, match="is empty"):
        append_event(str(path), {"tool_name": "tool.read", "verdict": "allow"})


def test_start_never_leaves_a_journal_without_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = tmp_path / "s.jsonl"

    def failing_fsync(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(InvalidInput, match="No space left"):
        start_session(str(path), "s", "run_s")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # neither a headerless journal nor a temp file


def test_racing_starts_create_one_complete_journal(tmp_path: Path) -> None:
    path = str(tmp_path / "race.jsonl")
    outcomes: list[str] = []
    seen: list[bytes] = []
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        barrier.wait(10)
        try:
            start_session(path, "s", f"run_{n}")
            outcomes.append("created")
        except InvalidInput as err:
            outcomes.append(err.message)
        # whoever reads right after never sees an empty file
        seen.append(Path(path).read_bytes())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("created") == 1
    assert len(seen) == 4 and all(data.endswith(b"\n") for data in seen)
    assert all("different session/run" in o for o in outcomes if o != "created")
    assert read_journal(path).events == []
    assert [p.name for p in tmp_path.iterdir()] == ["race.jsonl"]


def test_chain_file_entries_and_inspect_as_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gait_inproc
) -> None:
    monkeypatch.chdir(tmp_path)
    j = "s.jsonl"
    gait_inproc("run", "session", "start", "--journal", j, "--session-id", "s", "--run-id", "run_s")
    for verdict in ("allow", "block"):
        gait_inproc("run", "session", "append", "--journal", j, "--tool", "t", "--verdict", verdict)
        assert (
            gait_inproc("run", "session", "checkpoint", "--journal", j, "--out", f"{verdict}.zip")[
                0
            ]
            == 0
        )
    chain = json.loads(Path("s_chain.json").read_text())
    first, second = chain["checkpoints"]
    # the reference's SessionCheckpoint fields
    assert first["schema_id"] == "gait.runpack.session_checkpoint" and first["run_id"] == "run_s"
    assert (first["sequence_start"], first["sequence_end"]) == (1, 1)
    assert "prev_checkpoint_digest" not in first
    assert second["prev_checkpoint_digest"] == first["checkpoint_digest"]
    # like the reference, a bare name is a run_id: the chain needs a path-looking argument
    assert gait_inproc("run", "inspect", "s_chain.json")[0] == 6
    code, out = gait_inproc("run", "inspect", "./s_chain.json")
    assert code == 0
    assert out.splitlines() == [
        "run inspect: artifact=session_chain session_id=s run_id=run_s checkpoints=2",
        "path: ./s_chain.json",
        "1. runpack=allow.zip seq=1..1",
        "2. runpack=block.zip seq=2..2",
    ]
    code, out = gait_inproc("run", "inspect", "./s_chain.json", "--json")
    body = json.loads(out)
    assert body["artifact_type"] == "session_chain" and body["checkpoint_count"] == 2
    # two chains are compared checkpoint-wise, as the reference
    Path("one.json").write_text(json.dumps({**chain, "checkpoints": [first]}))
    code, out = gait_inproc("run", "diff", "./s_chain.json", "./s_chain.json")
    assert (code, out) == (0, "diff ok: run_s vs run_s\n")
    code, out = gait_inproc("run", "diff", "./s_chain.json", "./one.json", "--json")
    summary = json.loads(out)["summary"]
    assert code == 2 and summary["files_changed"] == ["left_only_checkpoint_2"]
    assert summary["manifest_changed"] is True
    # a broken link is reported with the reference's wording
    second["prev_checkpoint_digest"] = "0" * 64
    Path("s_chain.json").write_text(json.dumps(chain))
    code, out = gait_inproc("verify", "session-chain", "s_chain.json", "--json")
    assert code == 2
    errors = json.loads(out)["linkage_errors"]
    assert "prev_checkpoint_digest mismatch at checkpoint 2" in errors
    assert "checkpoint_digest mismatch at checkpoint 2" in errors
    code, out = gait_inproc("verify", "session-chain", "s_chain.json")
    assert out.splitlines()[0] == "verify session-chain failed: s_chain.json"
    assert out.splitlines()[1].startswith("linkage errors: prev_checkpoint_digest mismatch")
