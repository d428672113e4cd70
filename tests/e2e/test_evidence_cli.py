"""End-to-end: evidence commands as a user runs them (doctor, docs examples, next= hints)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.inproc import run_cli as _cli


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


# ---------------------------------------------------------------- doctor
def test_doctor_fresh_directory_warns_with_fixes(workdir: Path) -> None:
    code, out = _cli("doctor", "--json")
    result = json.loads(out)
    assert code == 0 and result["ok"] is True
    assert result["schema_id"] == "gait.doctor.result" and result["status"] == "warn"
    names = [c["name"] for c in result["checks"]]
    assert names[:10] == [
        "workdir",
        "output_dir",
        "job_runtime_durability",
        "temp_dir",
        "registry_cache",
        "gate_rate_limit_lock",
        "onboarding_binary",
        "key_source_ambiguity",
        "key_permissions",
        "key_config",
    ]
    by_name = {c["name"]: c for c in result["checks"]}
    assert by_name["output_dir"]["status"] == "warn"
    assert "mkdir -p 'gait-out'" in result["fix_commands"]
    assert "mkdir -p ~/.gait/registry" in result["fix_commands"]
    assert result["summary"].startswith("doctor: onboarding_mode=installed_binary status=warn")


def test_doctor_passes_once_fixed(workdir: Path) -> None:
    (workdir / "gait-out").mkdir()
    (Path(os.environ["HOME"]) / ".gait" / "registry").mkdir(parents=True)
    code, out = _cli("doctor", "--json")
    by_name = {c["name"]: c["status"] for c in json.loads(out)["checks"]}
    assert code == 0
    assert by_name["output_dir"] == by_name["registry_cache"] == "pass"


def test_doctor_stale_lock_and_divergent_job_state(workdir: Path) -> None:
    out_dir = workdir / "gait-out"
    (out_dir / "jobs" / "job_a").mkdir(parents=True)
    (out_dir / "jobs" / "job_a" / "state.json").write_text("{torn")
    lock = out_dir / "gate_rate_limits.json.lock"
    lock.write_text("{}")
    os.utime(lock, (1, 1))
    code, out = _cli("doctor", "--json")
    by_name = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0
    assert by_name["job_runtime_durability"]["status"] == "fail"
    assert by_name["gate_rate_limit_lock"]["status"] == "warn"
    assert by_name["gate_rate_limit_lock"]["fix_command"] == f"rm -f '{lock.relative_to(workdir)}'"


def test_doctor_key_checks(workdir: Path) -> None:
    code, out = _cli("doctor", "--key-mode", "prod", "--json")
    by_name = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0 and by_name["key_config"]["status"] == "fail"
    assert _cli("keys", "init", "--out-dir", "keys", "--json")[0] == 0
    os.chmod("keys/gait_private.key", 0o664)  # group-writable: the reference warns
    code, out = _cli(
        "doctor",
        "--key-mode",
        "prod",
        "--private-key",
        "keys/gait_private.key",
        "--public-key",
        "keys/gait_public.key",
        "--json",
    )
    by_name = {c["name"]: c for c in json.loads(out)["checks"]}
    assert by_name["key_config"]["status"] == "pass"
    assert by_name["key_permissions"]["status"] == "warn"
    code, out = _cli("doctor", "--private-key", "a", "--private-key-env", "B", "--json")
    by_name = {c["name"]: c for c in json.loads(out)["checks"]}
    assert by_name["key_source_ambiguity"]["status"] == "fail"


PROD_CONFIG = """\
gate:
  policy: .gait.yaml
  profile: oss-prod
  key_mode: prod
retention:
  trace_ttl: 168h
  session_ttl: 72h
  export_ttl: 24h
mcp_serve:
  listen: 127.0.0.1:8787
  max_request_bytes: 1048576
  http_verdict_status: strict
"""


def test_doctor_production_readiness(workdir: Path) -> None:
    (workdir / "gait-out").mkdir()
    code, out = _cli("doctor", "--production-readiness", "--json")
    result = json.loads(out)
    assert code == 2 and result["ok"] is False and result["status"] == "fail"
    (workdir / ".gait").mkdir()
    (workdir / ".gait" / "config.yaml").write_text(PROD_CONFIG)
    code, out = _cli("doctor", "--production-readiness", "--json")
    result = json.loads(out)
    scoped = [c["name"] for c in result["checks"] if c["scope"] == "production_readiness"]
    assert scoped == [
        "production_readiness_config",
        "production_profile",
        "production_key_mode",
        "production_context_strictness",
        "production_retention",
        "production_service_boundary",
    ]
    assert all(
        c["status"] == "pass" for c in result["checks"] if c["scope"] == "production_readiness"
    )
    assert code == 0
    (workdir / ".gait" / "config.yaml").write_text(
        PROD_CONFIG.replace("168h", "a week").replace("strict", "compat")
    )
    code, out = _cli("doctor", "--production-readiness", "--json")
    by_name = {c["name"]: c["status"] for c in json.loads(out)["checks"]}
    assert code == 2
    assert by_name["production_retention"] == by_name["production_service_boundary"] == "fail"


def test_doctor_non_fixable_exits_7(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gait.scout.doctor as doctor
    from gait.scout.doctor import Check

    monkeypatch.setattr(
        doctor, "check_temp_dir", lambda: Check("temp_dir", "universal", "fail", "x", "", True)
    )
    code, out = _cli("doctor", "--json")
    assert code == 7 and json.loads(out)["non_fixable"] is True


def test_doctor_text_summary_first(workdir: Path) -> None:
    code, out = _cli("doctor", "--summary")
    lines = out.splitlines()
    assert code == 0 and "- workdir: pass (workdir is writable)" not in lines
    assert lines[0].startswith("doctor: onboarding_mode=installed_binary status=warn failed=0 ")
    assert "- output_dir: warn (output directory does not exist)" in lines
    code, out = _cli("doctor")
    assert out.splitlines()[0] == lines[0]
    assert "- workdir: pass (workdir is writable)" in out.splitlines()
    assert "- output_dir: warn (output directory does not exist)\n  fix: mkdir -p 'gait-out'" in out


# ---------------------------------------------------------------- approved scripts
SCRIPT_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - {name: reads, effect: allow, match: {tool_names: [tool.read]}, reason_codes: [read_ok]}
"""


def _script_intent(path: Path) -> Path:
    step = {
        "tool_name": "tool.read",
        "args": {"path": "/a"},
        "targets": [{"kind": "path", "value": "/a", "operation": "read"}],
    }
    intent = {
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-05T00:00:00Z",
        "tool_name": "script",
        "args": {},
        "targets": [],
        "script": {"steps": [step, {**step, "tool_name": "Tool.Read"}]},
        "context": {"identity": "agent", "workspace": "/w", "risk_class": "low"},
    }
    path.write_text(json.dumps(intent))
    return path


def test_approve_script_then_list(workdir: Path) -> None:
    Path("policy.yaml").write_text(SCRIPT_POLICY)
    _script_intent(Path("intent.json"))
    assert _cli("keys", "init", "--out-dir", "keys")[0] == 0
    code, out = _cli(
        "approve-script",
        "--policy",
        "policy.yaml",
        "--intent",
        "intent.json",
        "--registry",
        "reg/scripts.json",
        "--approver",
        "alice",
        "--pattern-id",
        "p1",
        "--ttl",
        "1h",
        "--key-mode",
        "prod",
        "--private-key",
        "keys/gait_private.key",
        "--json",
    )
    entry = json.loads(out)
    assert code == 0 and entry["pattern_id"] == "p1" and entry["tool_sequence"] == ["tool.read"]
    stored = json.loads(Path("reg/scripts.json").read_text())["entries"][0]
    assert stored["schema_id"] == "gait.gate.approved_script_entry"
    assert stored["signature"]["key_id"] == entry["key_id"]
    code, out = _cli(
        "list-scripts",
        "--registry",
        "reg/scripts.json",
        "--public-key",
        "keys/gait_public.key",
        "--json",
    )
    listed = json.loads(out)
    assert code == 0 and listed["count"] == 1 and listed["entries"][0]["status"] == "valid"
    code, out = _cli("list-scripts", "--registry", "reg/scripts.json", "--json")
    assert json.loads(out)["entries"][0]["status"] == "unverified"
    stored["approver_identity"] = "mallory"
    Path("reg/scripts.json").write_text(json.dumps({"entries": [stored]}))
    code, out = _cli(
        "list-scripts",
        "--registry",
        "reg/scripts.json",
        "--public-key",
        "keys/gait_public.key",
        "--json",
    )
    row = json.loads(out)["entries"][0]
    assert row["status"] == "invalid" and "signed_digest mismatch" in row["error"]


def test_approve_script_rejects_a_plain_intent(workdir: Path) -> None:
    Path("policy.yaml").write_text(SCRIPT_POLICY)
    intent = json.loads(_script_intent(Path("intent.json")).read_text())
    intent.pop("script")
    intent["tool_name"] = "tool.read"
    Path("intent.json").write_text(json.dumps(intent))
    code, out = _cli(
        "approve-script",
        "--policy",
        "policy.yaml",
        "--intent",
        "intent.json",
        "--registry",
        "r.json",
        "--approver",
        "a",
        "--json",
    )
    # the original's message (cmd/gait/approve_script.go)
    assert code == 6 and json.loads(out)["error"] == "intent must include script.steps"
    assert not Path("r.json").exists()


# ---------------------------------------------------------------- tour
def test_tour_walks_the_first_run_path(workdir: Path) -> None:
    code, out = _cli("tour")
    lines = out.splitlines()
    assert code == 0
    # The reference's lines (cmd/gait/tour.go).
    assert lines[:6] == [
        "tour mode=activation",
        "a1_demo=ok run_id=run_demo",
        "a2_verify=ok path=gait-out/runpack_run_demo.zip",
        "a3_regress_init=ok fixture=run_demo dir=fixtures/run_demo",
        "a4_regress_run=pass failed=0",
        "next=gait demo --durable | gait demo --policy | gait doctor --summary",
    ]
    assert lines[6].startswith("branch_hints=durable branch: ")
    assert lines[7] == "metrics_opt_in=export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl"
    assert Path("gait.yaml").is_file() and Path("gait-out/tour_junit.xml").is_file()
    assert Path("gait-out/tour_regress_result.json").is_file()
    code, out = _cli("tour", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["regress_status"] == "pass"
    assert payload["fixture_name"] == "run_demo" and payload["verify_status"] == "ok"
    assert "regress_failed" not in payload and payload["mode"] == "activation"


def test_doctor_adoption_summarizes_events(workdir: Path) -> None:
    env = {"os": "linux", "arch": "amd64"}
    events = [
        {
            "command": "demo",
            "exit_code": 0,
            "success": True,
            "elapsed_ms": 10,
            "created_at": "2026-02-06T15:00:00Z",
            "milestones": ["A1"],
            "environment": env,
        },
        {
            "command": "verify",
            "exit_code": 2,
            "success": False,
            "elapsed_ms": 30,
            "created_at": "2026-02-06T15:00:01Z",
            "environment": env,
        },
        {
            "command": "demo",
            "exit_code": 0,
            "success": True,
            "elapsed_ms": 20,
            "created_at": "2026-02-06T15:00:02Z",
            "milestones": ["A1"],
            "environment": env,
        },
    ]
    Path("a.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    code, out = _cli("doctor", "adoption", "--from", "a.jsonl", "--json")
    report = json.loads(out)["report"]
    assert code == 0 and report["total_events"] == 3 and report["failed_events"] == 1
    assert report["commands"][0] == {"command": "demo", "total": 2, "success": 2, "failure": 0}
    assert report["activation_medians_ms"] == {"m1_demo_elapsed_ms": 15}
    assert not report["activation_complete"] and len(report["blockers"]) == 3
    # a line that is not an event fails the read (exit 6), as in the reference
    Path("a.jsonl").write_text(Path("a.jsonl").read_text() + "not json\n")
    assert _cli("doctor", "adoption", "--from", "a.jsonl", "--json")[0] == 6
    assert _cli("doctor", "adoption", "--json")[0] == 6
