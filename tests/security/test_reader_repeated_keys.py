"""One rule for repeated keys in every reader (issue 11 A6, B9).

Each reader of a file or payload gait is handed refuses a repeated key, and a
key repeated in another case (``owner`` next to ``Owner``), naming the key:
exit 6 for input, exit 2 when the document sits inside an artifact being
verified, a block where the reader's failure already blocks (credential broker,
fail-closed enrichment). Readers are reached through the CLI where a command
reaches them, else through the library function.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.safejson import DuplicateKey

# (repeat the key exactly, repeat it in another case)
VARIANTS = [pytest.param(False, id="same-case"), pytest.param(True, id="case-variant")]


def repeat_key(doc: bytes | str, key: str, variant: bool, value: str = '"repeated"') -> bytes:
    """``doc`` (a JSON object, or JSONL whose first line is one) with ``key`` also
    written before everything else (as ``value``), in another case when ``variant``."""
    data = doc.encode() if isinstance(doc, str) else doc
    assert data.lstrip().startswith(b"{") and f'"{key}"'.encode() in data
    spelled = key[0].upper() + key[1:] if variant else key
    body = data.lstrip()
    return b'{"' + spelled.encode() + b'":' + value.encode() + b"," + body[1:]


def assert_names_key(message: str, key: str, variant: bool) -> None:
    assert f"duplicate key '{key}'" in message, message
    if variant:
        assert f"also spelled '{key[0].upper() + key[1:]}'" in message, message


def cli(*args: str) -> tuple[int, dict[str, Any]]:
    """``gait <args> --json`` in-process: exit code and the one JSON line."""
    from gait.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([*args, "--json"])
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, out.getvalue()
    return code, json.loads(lines[0])


def refused(code: int, payload: dict[str, Any], key: str, variant: bool, exit_code: int = 6):
    assert code == exit_code, payload
    assert payload["ok"] is False
    assert "Traceback" not in json.dumps(payload)
    assert_names_key(payload["error"], key, variant)


POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: limited
    effect: allow
    rate_limit: {requests: 5, window: hour, scope: tool}
    match:
      tool_names: [tool.read]
"""

BROKER_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: needs-credential
    effect: allow
    require_broker_credential: true
    broker_reference: ref1
    match:
      tool_names: [tool.read]
"""


def intent(risk: str = "low") -> dict[str, Any]:
    return {
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-05T00:00:00Z",
        "producer_version": "0.0.0",
        "tool_name": "tool.read",
        "args": {"path": "/workspace/a"},
        "targets": [{"kind": "path", "value": "/workspace/a", "operation": "read"}],
        "context": {"identity": "agent", "workspace": "/workspace", "risk_class": risk},
    }


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "intent.json").write_text(json.dumps(intent()))
    (tmp_path / "high.json").write_text(json.dumps(intent("high")))
    return tmp_path


def gate_eval(*extra: str, intent_file: str = "intent.json", policy: str = "policy.yaml"):
    return cli("gate", "eval", "--policy", policy, "--intent", intent_file, "--no-config", *extra)


# ------------------------------------------------------------ gate eval inputs


@pytest.mark.parametrize("variant", VARIANTS)
def test_wrkr_inventory(work: Path, variant: bool) -> None:
    doc = b'{"tool_name":"tool.read","owner":"team-a"}'
    (work / "inv.json").write_bytes(b'{"items":[' + repeat_key(doc, "owner", variant) + b"]}")
    code, out = gate_eval("--wrkr-inventory", "inv.json", intent_file="high.json")
    # a high-risk call fails closed on an unreadable inventory: blocked, key named
    refused(code, out, "owner", variant, exit_code=3)
    assert "inv.json" in out["error"]
    # low risk continues without the inventory, saying why in a warning
    code, out = gate_eval("--wrkr-inventory", "inv.json")
    assert code == 0 and out["verdict"] == "allow"
    assert any("duplicate key 'owner'" in w for w in out["warnings"]), out["warnings"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_approved_script_registry(work: Path, variant: bool) -> None:
    (work / "reg.json").write_bytes(repeat_key('{"entries":[]}', "entries", variant))
    code, out = gate_eval("--approved-script-registry", "reg.json", intent_file="high.json")
    refused(code, out, "entries", variant, exit_code=3)
    assert "reg.json" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_rate_limit_state_file(work: Path, variant: bool) -> None:
    code, out = gate_eval("--state", "state.json")
    assert code == 0, out
    state = json.loads((work / "state.json").read_text())
    counter = json.dumps(state["counters"][0], separators=(",", ":"))
    # another process wrote "count" twice: which one is the real count is unknowable
    state_text = json.dumps({**state, "counters": ["@"]}).replace(
        '"@"', repeat_key(counter, "count", variant).decode()
    )
    (work / "state.json").write_text(state_text)
    code, out = gate_eval("--state", "state.json")
    refused(code, out, "count", variant)
    assert "state.json" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_credential_command_output(work: Path, variant: bool) -> None:
    (work / "broker.yaml").write_text(BROKER_POLICY)
    answer = repeat_key('{"credential_ref":"cred-1"}', "credential_ref", variant).decode()
    script = work / "broker.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s' '{answer}'\n")
    script.chmod(0o755)
    code, out = gate_eval(
        "--credential-broker", "command", "--credential-command", str(script), policy="broker.yaml"
    )
    # no credential can be read from the answer: the call is blocked, the key named
    assert code == 3 and out["verdict"] == "block", out
    assert out["reason_codes"][0] == "broker_credential_missing"
    warning = next(w for w in out["warnings"] if w.startswith("credential broker:"))
    assert_names_key(warning, "credential_ref", variant)


# ------------------------------------------------------------ doctor


@pytest.mark.parametrize("variant", VARIANTS)
def test_doctor_project_config(work: Path, variant: bool) -> None:
    # (registry pins are plain digest files: doctor reads no JSON there)
    (work / ".gait").mkdir()
    doc = repeat_key('{"gate":{"profile":"oss-prod"}}', "gate", variant, value="{}")
    (work / ".gait" / "config.yaml").write_bytes(doc)
    code, out = cli("doctor", "--production-readiness")
    assert code == 2, out
    check = next(c for c in out["checks"] if c["name"] == "production_readiness_config")
    assert check["status"] == "fail"
    assert_names_key(check["message"], "gate", variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_doctor_adoption_events(work: Path, variant: bool) -> None:
    good = (
        '{"command":"gate","exit_code":0,"elapsed_ms":3,"created_at":"2026-02-06T15:00:00Z",'
        '"environment":{"os":"linux","arch":"amd64"}}'
    )
    (work / "events.jsonl").write_text(f"{good}\n")
    code, out = cli("doctor", "adoption", "--from", "events.jsonl")
    assert code == 0 and out["report"]["total_events"] == 1
    bad = repeat_key(good, "command", variant).decode()
    (work / "events.jsonl").write_text(f"{good}\n{bad}\n")
    code, out = cli("doctor", "adoption", "--from", "events.jsonl")
    refused(code, out, "command", variant)
    assert "adoption log line 2" in out["error"]


# ------------------------------------------------------------ run record input


@pytest.mark.parametrize("variant", VARIANTS)
def test_run_record_json_input(work: Path, variant: bool) -> None:
    record = {
        "run": {"run_id": "run_x", "created_at": "2026-02-05T00:00:00Z"},
        "intents": [],
        "results": [],
    }
    (work / "in.json").write_bytes(repeat_key(json.dumps(record, indent=2), "run", variant))
    code, out = cli("run", "record", "--input", "in.json")
    refused(code, out, "run", variant)
    assert "in.json" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_run_record_event_log_names_the_line(work: Path, variant: bool) -> None:
    lines = [
        '{"type":"run","run_id":"run_x","created_at":"2026-02-05T00:00:00Z"}',
        '{"type":"intent","intent_id":"i1","tool_name":"tool.read","args":{}}',
    ]
    lines[1] = repeat_key(lines[1], "tool_name", variant).decode()
    (work / "events.jsonl").write_text("\n".join(lines) + "\n")
    code, out = cli("run", "record", "--input", "events.jsonl")
    refused(code, out, "tool_name", variant)
    assert "events.jsonl line 2" in out["error"]


# ------------------------------------------------------------ sessions


@pytest.fixture
def session(work: Path) -> Path:
    journal = "j.jsonl"
    assert cli("run", "session", "start", "--journal", journal, "--session-id", "s",
               "--run-id", "run_s")[0] == 0  # fmt: skip
    assert cli("run", "session", "append", "--journal", journal, "--tool", "tool.read",
               "--verdict", "allow")[0] == 0  # fmt: skip
    assert cli("run", "session", "checkpoint", "--journal", journal, "--out", "cp.zip")[0] == 0
    return work


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("command", ["status", "compact", "append"])
def test_session_journal(session: Path, variant: bool, command: str) -> None:
    journal = session / "j.jsonl"
    lines = journal.read_text().splitlines()
    lines[1] = repeat_key(lines[1], "verdict", variant).decode()
    journal.write_text("\n".join(lines) + "\n")
    extra = ("--tool", "tool.read", "--verdict", "allow") if command == "append" else ()
    code, out = cli("run", "session", command, "--journal", "j.jsonl", *extra)
    if command == "append":
        # append reads only the first and the last record; the last is the checkpoint
        assert code == 0, out
        lines[-1] = repeat_key(lines[-1], "seq_end", variant).decode()
        journal.write_text("\n".join(lines) + "\n")
        code, out = cli("run", "session", command, "--journal", "j.jsonl", *extra)
        refused(code, out, "seq_end", variant)
        return
    refused(code, out, "verdict", variant)
    assert "j.jsonl line 2" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_session_chain_verify_is_a_failed_check(session: Path, variant: bool) -> None:
    code, out = cli("verify", "session-chain", "--chain", "j_chain.json")
    assert code == 0, out
    chain = session / "j_chain.json"
    chain.write_bytes(repeat_key(chain.read_bytes(), "run_id", variant))
    code, out = cli("verify", "session-chain", "--chain", "j_chain.json")
    refused(code, out, "run_id", variant, exit_code=2)
    # as a regress source it is input, not a verification: exit 6, key named
    code, out = cli("regress", "init", "--from", "j_chain.json")
    refused(code, out, "run_id", variant)


# ------------------------------------------------------------ runpack members


def rehash_runpack(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """``source`` with members replaced and the manifest's hashes and digest updated."""
    from gait.runpack.record import manifest_digest

    with zipfile.ZipFile(source) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members.update(changes)
    manifest = json.loads(members["manifest.json"])
    for item in manifest["files"]:
        item["sha256"] = hashlib.sha256(members[item["path"]]).hexdigest()
    manifest.pop("signatures", None)
    manifest["manifest_digest"] = manifest_digest(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return target


@pytest.fixture
def demo(work: Path) -> Path:
    from gait.runpack.demo import build_demo_runpack

    path = work / "demo.zip"
    path.write_bytes(build_demo_runpack("0.1.0").zip_bytes)
    return path


MEMBER_KEYS = [("run.json", "run_id"), ("refs.json", "run_id"),
               ("intents.jsonl", "tool_name"), ("results.jsonl", "intent_id")]  # fmt: skip


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("member", "key"), MEMBER_KEYS)
@pytest.mark.parametrize("command", ["inspect", "replay"])
def test_runpack_record_members(
    demo: Path, variant: bool, member: str, key: str, command: str
) -> None:
    with zipfile.ZipFile(demo) as z:
        data = z.read(member)
    if member.endswith(".jsonl"):
        lines = data.split(b"\n")
        lines[0] = repeat_key(lines[0], key, variant)
        changed = b"\n".join(lines)
    else:
        changed = repeat_key(data, key, variant)
    pack = rehash_runpack(demo, demo.with_name("changed.zip"), {member: changed})
    # the hashes match the manifest: only the rule catches the second spelling
    _code, report = cli("verify", str(pack))
    assert not report.get("hash_mismatches") and not report.get("missing_files"), report
    code, out = cli("run", command, str(pack))
    refused(code, out, key, variant)
    assert member in out["error"]
    if member.endswith(".jsonl"):
        assert f"{member} line 1" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_in_memory_and_streamed_readers_agree(demo: Path, variant: bool) -> None:
    from gait.runpack.reader import read_runpack
    from gait.runpack.stream import open_stream

    with zipfile.ZipFile(demo) as z:
        lines = z.read("results.jsonl").split(b"\n")
    lines[1] = repeat_key(lines[1], "intent_id", variant)
    pack = rehash_runpack(demo, demo.with_name("changed.zip"), {"results.jsonl": b"\n".join(lines)})
    with pytest.raises(DuplicateKey) as whole:
        read_runpack(pack)
    with pytest.raises(DuplicateKey) as streamed:
        open_stream(pack)
    assert whole.value.message == streamed.value.message
    assert "results.jsonl line 2" in whole.value.message


@pytest.mark.parametrize("variant", VARIANTS)
def test_pack_build_source_runpack(demo: Path, variant: bool) -> None:
    with zipfile.ZipFile(demo) as z:
        run = z.read("run.json")
    pack = rehash_runpack(demo, demo.with_name("changed.zip"),
                          {"run.json": repeat_key(run, "run_id", variant)})  # fmt: skip
    code, out = cli("pack", "build", "--type", "run", "--from", str(pack), "--out", "p.zip")
    refused(code, out, "run_id", variant)
    assert not (demo.parent / "p.zip").exists()


# ------------------------------------------------------------ packs


def rebuild_pack(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """An unsigned unified pack with members replaced, every hash, proof record and
    the pack_id made to match, so that only the changed content can fail."""
    from gait.packs.common import zip_bytes
    from gait.packs.unified import _proof_records, unified_pack_id

    with zipfile.ZipFile(source) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    manifest = json.loads(members.pop("pack_manifest.json"))
    members.pop("proof_records.jsonl")
    members.update(changes)
    members["proof_records.jsonl"] = _proof_records(
        {k: v for k, v in members.items() if k != "proof_records.jsonl"}, None
    )
    for item in manifest["contents"]:
        item["sha256"] = hashlib.sha256(members[item["path"]]).hexdigest()
    manifest.pop("signatures", None)
    manifest["pack_id"] = unified_pack_id(manifest)
    members["pack_manifest.json"] = json.dumps(manifest).encode()
    target.write_bytes(zip_bytes(members))  # gait's writer: the layout checks pass
    return target


@pytest.fixture
def run_pack(demo: Path) -> Path:
    code, out = cli("pack", "build", "--type", "run", "--from", str(demo), "--out", "pack.zip")
    assert code == 0, out
    return demo.parent / "pack.zip"


@pytest.mark.parametrize("variant", VARIANTS)
def test_pack_verify_run_payload(run_pack: Path, variant: bool) -> None:
    with zipfile.ZipFile(run_pack) as z:
        payload = z.read("run_payload.json")
    assert (
        cli("pack", "verify", str(rebuild_pack(run_pack, run_pack.with_name("same.zip"), {})))[0]
        == 0
    )  # the rebuild itself verifies
    changed = rebuild_pack(run_pack, run_pack.with_name("changed.zip"),
                           {"run_payload.json": repeat_key(payload, "run_id", variant)})  # fmt: skip
    code, out = cli("pack", "verify", str(changed))
    assert code == 2 and out["ok"] is False, out
    errors = out["errors"] if "errors" in out else out["pack"]["errors"]
    assert len(errors) == 1, errors
    assert_names_key(errors[0], "run_id", variant)
    assert errors[0].startswith("run_payload.json")


@pytest.mark.parametrize("variant", VARIANTS)
def test_pack_verify_proof_records(run_pack: Path, variant: bool) -> None:
    from gait.packs.common import zip_bytes

    with zipfile.ZipFile(run_pack) as z:
        members = {n: z.read(n) for n in z.namelist()}
    # the proof records are rebuilt by rebuild_pack: write a changed one by hand instead
    lines = members["proof_records.jsonl"].split(b"\n")
    lines[0] = repeat_key(lines[0], "entry_path", variant)
    members["proof_records.jsonl"] = b"\n".join(lines)
    manifest = json.loads(members["pack_manifest.json"])
    for item in manifest["contents"]:
        item["sha256"] = hashlib.sha256(members[item["path"]]).hexdigest()
    from gait.packs.unified import unified_pack_id

    manifest["pack_id"] = unified_pack_id(manifest)
    members["pack_manifest.json"] = json.dumps(manifest).encode()
    target = run_pack.with_name("changed.zip")
    target.write_bytes(zip_bytes(members))
    code, out = cli("pack", "verify", str(target))
    assert code == 2 and out["ok"] is False, out
    problem = [e for e in out["errors"] if "duplicate key" in e]
    assert len(problem) == 1 and problem[0].startswith("proof_records.jsonl line 1")
    assert_names_key(problem[0], "entry_path", variant)


@pytest.fixture
def job(work: Path) -> Path:
    assert cli("job", "submit", "--id", "j1", "--root", "jobs")[0] == 0
    return work / "jobs" / "j1"


@pytest.mark.parametrize("variant", VARIANTS)
def test_job_state(job: Path, variant: bool) -> None:
    state = job / "state.json"
    state.write_bytes(repeat_key(state.read_bytes(), "status", variant))
    code, out = cli("job", "status", "--id", "j1", "--root", "jobs")
    refused(code, out, "status", variant)
    assert "state.json" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_job_events(job: Path, variant: bool) -> None:
    events = job / "events.jsonl"
    # job events name their kind in "type", as the original's gait.job.event
    events.write_bytes(repeat_key(events.read_bytes(), "type", variant))
    code, out = cli("job", "inspect", "--id", "j1", "--root", "jobs")
    refused(code, out, "type", variant)
    assert "events.jsonl line 1" in out["error"]


def test_job_events_bad_line_is_input_not_a_crash(job: Path) -> None:
    (job / "events.jsonl").write_text('{"action": \n')
    code, out = cli("job", "inspect", "--id", "j1", "--root", "jobs")
    assert code == 6 and "events.jsonl line 1: invalid JSON" in out["error"], out


@pytest.mark.parametrize("variant", VARIANTS)
def test_incident_evidence(demo: Path, variant: bool) -> None:
    # A trace beside the run whose two created_at spellings disagree: read as the
    # last one it fell outside the window and was silently left out of the pack.
    doc = '{"trace_id":"t1","created_at":"1999-01-01T00:00:00Z","policy_digest":"x"}'
    in_window = '"2026-02-05T00:10:00Z"'
    (demo.parent / "trace_1.json").write_bytes(
        repeat_key(doc, "created_at", variant, value=in_window)
    )
    code, out = cli("incident", "pack", "--from", str(demo), "--window", "1h",
                    "--out", "incident.zip")  # fmt: skip
    refused(code, out, "created_at", variant)
    assert "trace_1.json" in out["error"]
    assert not (demo.parent / "incident.zip").exists()


# ------------------------------------------------------------ regress


@pytest.mark.parametrize("variant", VARIANTS)
def test_policy_test_fixture(work: Path, variant: bool) -> None:
    fixtures = work / "fixtures"
    fixtures.mkdir()
    doc = json.dumps({"intent": intent(), "expect": {"verdict": "allow"}})
    (fixtures / "one.json").write_bytes(repeat_key(doc, "expect", variant))
    code, out = cli("policy", "test", "policy.yaml", "fixtures")
    refused(code, out, "expect", variant)
    assert "one.json" in out["error"]


@pytest.fixture
def fixture_dir(demo: Path) -> Path:
    code, out = cli("regress", "init", "--from", str(demo), "--name", "demo")
    assert code == 0, out
    return demo.parent


@pytest.mark.parametrize("variant", VARIANTS)
def test_regress_fixture_metadata(fixture_dir: Path, variant: bool) -> None:
    meta = next(fixture_dir.glob("fixtures/demo/fixture.json"))
    meta.write_bytes(repeat_key(meta.read_bytes(), "runpack", variant))
    code, out = cli("regress", "run", "--output", "result.json")
    refused(code, out, "runpack", variant)
    assert "fixture.json" in out["error"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("form", ["json", "yaml"])
def test_regress_config(fixture_dir: Path, variant: bool, form: str) -> None:
    config = fixture_dir / "gait.yaml"
    if form == "json":
        text = repeat_key(json.dumps({"fixture_set": "a"}), "fixture_set", variant).decode()
    else:
        text = ("Fixture_set" if variant else "fixture_set") + ": b\nfixture_set: a\n"
    config.write_text(text)
    code, out = cli("regress", "run", "--output", "result.json")
    refused(code, out, "fixture_set", variant)
    assert "gait.yaml" in out["error"]


def test_regress_yaml_config_still_accepts_merge_keys(fixture_dir: Path) -> None:
    from gait.regress.config import read_config

    text = "base: &b {runpack: x.zip}\nfixtures:\n  - <<: *b\n    name: demo\n"
    (fixture_dir / "gait.yaml").write_text(text)
    config = read_config(fixture_dir / "gait.yaml")
    assert [(f.name, f.runpack) for f in config.fixtures] == [("demo", "x.zip")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_regress_capture_receipt(demo: Path, variant: bool) -> None:
    receipt = {
        "schema_id": "gait.regress.capture_receipt",
        "schema_version": "1.0.0",
        "artifact_type": "runpack",
        "artifact_path": str(demo),
    }
    from gait.regress import sources

    receipt["schema_id"] = sources.CAPTURE_SCHEMA
    path = demo.parent / "receipt.json"
    path.write_bytes(repeat_key(json.dumps(receipt), "artifact_path", variant))
    code, out = cli("regress", "add", "--from", str(path))
    refused(code, out, "artifact_path", variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_regress_pack_manifest(run_pack: Path, variant: bool) -> None:
    from gait.regress.sources import resolve_regress_source

    with zipfile.ZipFile(run_pack) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["pack_manifest.json"] = repeat_key(members["pack_manifest.json"], "pack_type", variant)
    target = run_pack.with_name("changed.zip")
    with zipfile.ZipFile(target, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    # without a full pack verify, the source reader alone must still refuse it
    with pytest.raises(DuplicateKey) as err:
        resolve_regress_source(str(target))
    assert_names_key(err.value.message, "pack_type", variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_policy_and_replay_context_files(demo: Path, variant: bool) -> None:
    context = demo.parent / "context.json"
    context.write_bytes(repeat_key('{"risk_class":"low","identity":"a"}', "risk_class", variant))
    code, out = cli(
        "run", "replay", str(demo), "--policy", "policy.yaml", "--context", str(context)
    )
    refused(code, out, "risk_class", variant)
    code, out = cli("regress", "init", "--from", str(demo), "--policy-context", str(context),
                    "--policy", "policy.yaml")  # fmt: skip
    refused(code, out, "risk_class", variant)


# (shared-state session journals, file and Redis: tests/state/test_journal_repeated_keys.py)


# ------------------------------------------------------------ SDK and serve


@pytest.mark.parametrize("variant", VARIANTS)
def test_sdk_write_trace(tmp_path: Path, variant: bool) -> None:
    from gait.sdk.artifacts import write_trace

    source = tmp_path / "trace.json"
    source.write_bytes(repeat_key('{"schema_id":"gait.gate.trace","verdict":"allow"}',
                                  "verdict", variant))  # fmt: skip
    with pytest.raises(DuplicateKey) as err:
        write_trace(source, tmp_path / "copy.json")
    assert_names_key(err.value.message, "verdict", variant)
    assert not (tmp_path / "copy.json").exists()


@pytest.mark.parametrize("variant", VARIANTS)
def test_sdk_framework_arguments(variant: bool) -> None:
    from gait.sdk.frameworks import framework_intent

    arguments = repeat_key('{"path":"/workspace/a"}', "path", variant).decode()
    call = {"function_call": {"name": "read_file", "arguments": arguments}}
    with pytest.raises(InvalidInput) as err:
        framework_intent("autogen", call, {"identity": "a", "workspace": "/w", "risk_class": "low"})
    assert_names_key(err.value.message, "path", variant)
    assert err.value.message.startswith("function_call.arguments")


@pytest.mark.parametrize("variant", VARIANTS)
def test_serve_request_body(variant: bool) -> None:
    from gait.serve.request import RequestRejected, decode_request

    body = repeat_key('{"adapter":"mcp","call":{"name":"tool.read","args":{}}}', "adapter", variant)
    if variant:
        # a case variant is an unknown field of the request (rejected before the key rule)
        with pytest.raises(RequestRejected) as rejected:
            decode_request(body)
        assert rejected.value.status == 400
        return
    with pytest.raises(RequestRejected) as rejected:
        decode_request(body)
    assert rejected.value.status == 400
    assert_names_key(rejected.value.message, "adapter", variant)
    # the same request with the key once is accepted
    assert decode_request(b'{"adapter":"mcp","call":{"name":"tool.read","args":{}}}').adapter
