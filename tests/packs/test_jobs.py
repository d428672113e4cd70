"""Durable jobs (cli.md §3.2 gait job), job packs and gait demo --durable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.packs.jobs import ApprovalNeeded, JobStore, JobTransitionError
from gait.packs.unified import build_job_pack
from gait.packs.verify import verify_any_pack


def _clock():
    ticks = iter(range(10_000))
    return lambda: f"2026-02-05T00:{next(ticks) // 60:02d}:{next(ticks) % 60:02d}Z"


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(str(tmp_path / "jobs"), clock=_clock())


def test_lifecycle_with_an_approval_gate(store: JobStore) -> None:
    # the original's runtime (core/jobruntime): statuses, stop reasons, reason codes, cp ids
    state = store.submit("job_a", identity="agent", env_fingerprint="env1")
    assert (state["status"], state["stop_reason"], state["status_reason_code"]) == (
        "running",
        "none",
        "submitted",
    )
    assert state["schema_id"] == "gait.job.runtime" and state["revision"] == 1
    store.checkpoint("job_a", "progress", "step 1")
    state = store.checkpoint("job_a", "decision-needed", "delete?", "approve delete")
    assert (state["status"], state["stop_reason"]) == ("decision_needed", "decision_needed")
    assert state["checkpoints"][1] == {
        "checkpoint_id": "cp_0002",
        "created_at": state["checkpoints"][1]["created_at"],
        "type": "decision-needed",
        "summary": "delete?",
        "required_action": "approve delete",
        "reason_code": "checkpoint_decision_needed",
    }
    with pytest.raises(ApprovalNeeded, match="approval required before resume") as info:
        store.resume("job_a", env_fingerprint="env1")
    assert info.value.exit_code == 4
    state = store.approve("job_a", "alice")
    assert state["status"] == "decision_needed" and state["approvals"][0]["reason"] == "approved"
    assert state["status_reason_code"] == "approval_recorded"
    with pytest.raises(InvalidInput, match="environment fingerprint mismatch: expected=env1"):
        store.resume("job_a", env_fingerprint="env2")
    state = store.resume("job_a", env_fingerprint="env2", allow_env_mismatch=True)
    assert (state["status"], state["status_reason_code"]) == (
        "running",
        "resumed_with_env_override",
    )
    state = store.checkpoint("job_a", "completed", "done")
    assert state["status"] == "completed" and state["revision"] == 6
    with pytest.raises(JobTransitionError, match="invalid transition: paused from completed"):
        store.pause("job_a")
    assert [e["type"] for e in store.events("job_a")] == [
        "submitted",
        "checkpoint_added",
        "checkpoint_added",
        "approved",
        "resumed",
        "checkpoint_added",
    ]
    assert store.divergence("job_a") == ""


def test_checkpoint_errors_and_emergency_stop(store: JobStore) -> None:
    store.submit("job_e")
    for kind, summary, action, message in (
        ("nope", "s", "", "type must be one of plan|progress"),
        ("progress", " ", "", "summary is required"),
        ("progress", "x" * 513, "", "summary exceeds max length 512"),
        ("decision-needed", "s", "", "required_action is required"),
    ):
        with pytest.raises(InvalidInput, match=message):
            store.checkpoint("job_e", kind, summary, action)
    state = store.emergency_stop("job_e", "ops")
    assert (state["status"], state["stop_reason"]) == ("emergency_stopped", "emergency_stopped")
    assert store.status("job_e") == "stopped"  # what the MCP surfaces check
    with pytest.raises(JobTransitionError):
        store.resume("job_e")


def test_submit_twice_and_bad_ids(store: JobStore) -> None:
    store.submit("job_b")
    with pytest.raises(InvalidInput, match="already exists"):
        store.submit("job_b")
    with pytest.raises(InvalidInput, match="invalid job id"):
        store.submit("../escape")
    with pytest.raises(InvalidInput, match="job not found"):
        store.pause("job_none")
    with pytest.raises(InvalidInput, match="job_id is required"):
        store.submit(" ")


def test_divergent_state_is_found_and_refused_for_packing(store: JobStore) -> None:
    store.submit("job_c")
    store.pause("job_c")
    state_path = Path(store.state_path("job_c"))
    state = json.loads(state_path.read_text())
    state["status"] = "running"
    state_path.write_text(json.dumps(state))
    assert "does not match" in store.divergence("job_c")
    with pytest.raises(InvalidInput, match="diverged"):
        build_job_pack(store.root, "job_c")


def test_job_pack_is_reproducible_and_verifies(store: JobStore, tmp_path: Path) -> None:
    store.submit("job_d", policy_digest="ab" * 32)
    store.checkpoint("job_d", "completed", "done")
    first = build_job_pack(store.root, "job_d")
    assert first.zip_bytes == build_job_pack(store.root, "job_d").zip_bytes
    path = tmp_path / "job.zip"
    path.write_bytes(first.zip_bytes)
    report = verify_any_pack(path)
    assert report.ok and report.pack_type == "job" and report.source_ref == "job_d"
    assert report.proof_records_verified == 3


def test_cli_job_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gait_inproc) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = gait_inproc("job", "submit", "--id", "j1", "--actor", "alice", "--json")
    submitted = json.loads(out)
    assert code == 0 and submitted["schema_id"] == "gait.job.output"
    assert submitted["operation"] == "submit" and submitted["job"]["status"] == "running"
    code, out = gait_inproc(
        "job", "checkpoint", "add", "--id", "j1", "--type", "decision-needed",
        "--summary", "s", "--required-action", "approve", "--json",
    )  # fmt: skip
    added = json.loads(out)
    assert code == 0 and added["job"]["status"] == "decision_needed"
    assert added["checkpoint"]["checkpoint_id"] == "cp_0001"
    code, out = gait_inproc("job", "checkpoint", "list", "--id", "j1", "--json")
    assert code == 0 and [c["checkpoint_id"] for c in json.loads(out)["checkpoints"]] == ["cp_0001"]
    code, out = gait_inproc("job", "checkpoint", "show", "--id", "j1", "--checkpoint", "cp_0001")
    assert code == 0 and out == "checkpoint: cp_0001 (decision-needed)\n"
    code, out = gait_inproc(
        "job", "checkpoint", "show", "--id", "j1", "--checkpoint", "missing", "--json"
    )
    assert code == 6 and json.loads(out)["error"] == "checkpoint not found: missing"
    code, out = gait_inproc("job", "resume", "--id", "j1", "--json")
    assert code == 4 and "approval required before resume" in json.loads(out)["error"]
    assert gait_inproc("job", "approve", "--id", "j1", "--actor", "bob", "--json")[0] == 0
    code, out = gait_inproc("job", "resume", "--id", "j1")
    assert code == 0 and out == (
        "job resume: id=j1 status=running stop_reason=none reason_code=resumed\n"
    )
    code, out = gait_inproc("job", "list", "--json")
    assert code == 0 and json.loads(out)["jobs"][0] == {
        "job_id": "j1",
        "revision": 4,
        "status": "running",
        "updated_at": json.loads(out)["jobs"][0]["updated_at"],
    }
    code, out = gait_inproc("job", "inspect", "--id", "j1")
    assert code == 0 and out.splitlines()[1] == "events=4"
    code, out = gait_inproc("pack", "build", "--type", "job", "--from", "j1", "--json")
    built = json.loads(out)
    assert code == 0 and built["pack_type"] == "job"
    assert built["path"] == f"gait-out/pack_{built['pack_id']}.zip"
    assert gait_inproc("pack", "verify", built["path"], "--json")[0] == 0
    code, out = gait_inproc("pack", "inspect", built["path"], "--json")
    payload = json.loads(out)["inspect"]["job_payload"]
    assert (payload["checkpoint_count"], payload["approval_count"]) == (1, 1)
    lineage = json.loads(out)["inspect"]["job_lineage"]
    assert lineage == {
        "event_count": 4,
        "last_event_type": "resumed",
        "checkpoint_refs": [
            {
                "checkpoint_id": "cp_0001",
                "type": "decision-needed",
                "reason_code": "checkpoint_decision_needed",
            }
        ],
    }
    assert gait_inproc("job", "cancel", "--id", "j1", "--json")[0] == 0
    code, out = gait_inproc("job", "pause", "--id", "j1", "--json")
    assert code == 6 and json.loads(out)["error"] == "invalid transition: paused from cancelled"
    code, out = gait_inproc("job", "status", "--id", "j1", "extra", "--json")
    assert code == 6


def test_demo_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gait_inproc) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = gait_inproc("demo", "--durable")
    assert code == 0
    lines = out.splitlines()
    assert lines[:8] == [
        "mode=durable",
        "run_id=run_demo",
        "job_id=job_demo_durable",
        "job_status=completed",
        "bundle=./gait-out/jobs/job_demo_durable/state.json",
        "pack_path=./gait-out/pack_job_demo_durable.zip",
        "verify=ok",
        "simulated_failure=resume blocked until approval",
    ]
    # the reference's next commands
    assert lines[8] == (
        "next=gait job inspect --id job_demo_durable --json,"
        "gait pack inspect ./gait-out/pack_job_demo_durable.zip --json,gait demo --policy"
    )
    first = Path("gait-out/pack_job_demo_durable.zip").read_bytes()
    assert gait_inproc("demo", "--durable", "--json")[0] == 0
    assert Path("gait-out/pack_job_demo_durable.zip").read_bytes() == first
    assert gait_inproc("demo", "--durable", "--policy")[0] == 6
