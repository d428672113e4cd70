"""Issue 13 item 1: dev mode keeps one per-user dev key, so what it signs verifies here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.signing import (
    DEV_EPHEMERAL_WARNING,
    DEV_KEY_WARNING,
    dev_key_paths,
    resolve_signing_key,
    resolve_verify_key,
    state_dir,
)

from .conftest import EXAMPLES, INTENTS, run, run_json

MEDIUM = str(EXAMPLES / "base_medium_risk.yaml")
WRITE = str(INTENTS / "intent_write.json")


@pytest.fixture
def fresh_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("GAIT_STATE_DIR", str(state))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return state


def test_state_dir_honours_override_then_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAIT_STATE_DIR", "/tmp/gs")
    assert state_dir() == "/tmp/gs"
    monkeypatch.delenv("GAIT_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", "/tmp/xdg")
    assert state_dir() == "/tmp/xdg/gait"
    monkeypatch.setenv("XDG_STATE_HOME", "relative")  # invalid per XDG: ignored
    monkeypatch.setenv("HOME", "/tmp/home")
    assert state_dir() == "/tmp/home/.local/state/gait"


def test_dev_key_is_created_once_0600_and_named_dev(fresh_state: Path) -> None:
    private, public = dev_key_paths()
    assert not os.path.exists(private)
    first, warnings = resolve_signing_key("dev")
    assert warnings == [DEV_KEY_WARNING] and "dev key" in DEV_KEY_WARNING
    assert Path(private).name == "gait_dev_private.key" and os.path.isfile(public)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert first.source == f"dev:{private}"
    assert resolve_signing_key("dev")[0].key_id == first.key_id


def test_unwritable_state_dir_falls_back_to_an_ephemeral_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GAIT_STATE_DIR", str(blocker / "state"))
    key, warnings = resolve_signing_key("dev")
    assert key.source == "ephemeral" and warnings == [DEV_EPHEMERAL_WARNING]


def test_dev_key_readable_by_others_is_refused(fresh_state: Path) -> None:
    resolve_signing_key("dev")
    private, _ = dev_key_paths()
    os.chmod(private, 0o644)
    with pytest.raises(InvalidInput, match=r"readable by other users .*chmod 600"):
        resolve_signing_key("dev")


def test_prod_mode_refuses_the_dev_key(fresh_state: Path) -> None:
    resolve_signing_key("dev")
    private, _ = dev_key_paths()
    with pytest.raises(InvalidInput, match=r"prod mode refuses the per-user dev key"):
        resolve_signing_key("prod", private_key=private)


def test_verify_key_falls_back_to_dev_key_only_when_asked(fresh_state: Path) -> None:
    with pytest.raises(InvalidInput, match="public key not configured"):
        resolve_verify_key(dev_fallback=True)  # no dev key yet: not created by verify
    assert not os.path.exists(dev_key_paths()[0])
    signing, _ = resolve_signing_key("dev")
    with pytest.raises(InvalidInput, match="public key not configured"):
        resolve_verify_key()
    key = resolve_verify_key(dev_fallback=True)
    assert key.key_id == signing.key_id and key.private is None
    assert key.source.startswith("dev:")


def test_dev_trace_verifies_and_says_which_key(
    fresh_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    assert code == 4 and out["warnings"] == [DEV_KEY_WARNING]
    code, verified = run_json(capsys, "trace", "verify", out["trace_path"])
    assert code == 0 and verified["signature_status"] == "verified"
    assert verified["key_source"] == "dev"
    assert verified["key_path"] == dev_key_paths()[0]
    code, text, _ = run(capsys, "trace", "verify", out["trace_path"])
    assert code == 0 and f"per-user dev key {dev_key_paths()[0]}" in text


def test_dev_trace_fails_against_another_users_dev_key(
    fresh_state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    monkeypatch.setenv("GAIT_STATE_DIR", str(fresh_state.parent / "other-user"))
    resolve_signing_key("dev")
    code, verified = run_json(capsys, "trace", "verify", out["trace_path"])
    assert code == 2 and "per-user dev key" in verified["error"]


def test_dev_approval_token_is_accepted_by_dev_gate_eval(
    fresh_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    assert code == 4 and first["verdict"] == "require_approval"
    code, token = run_json(
        capsys,
        "approve",
        "--intent-digest",
        first["intent_digest"],
        "--policy-digest",
        first["policy_digest"],
        "--ttl",
        "1h",
        "--scope",
        "tool:tool.write",
        "--approver",
        "alice",
        "--reason-code",
        "T-1",
        "--out",
        "token.json",
    )
    assert code == 0
    code, second = run_json(
        capsys,
        "gate",
        "eval",
        "--policy",
        MEDIUM,
        "--intent",
        WRITE,
        "--approval-token",
        "token.json",
    )
    assert code == 0 and second["verdict"] == "allow"
    assert "approval_granted" in second["reason_codes"]
    assert second["approval_ref"] == token["token_id"]


def _record_dev_pack(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    events = [
        {"type": "run", "run_id": "run_dev", "created_at": "2026-02-05T00:00:00Z"},
        {"type": "intent", "intent_id": "i1", "tool_name": "tool.x", "args": {"a": 1}},
        {"type": "result", "intent_id": "i1", "result": {"ok": True}},
    ]
    Path("events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    code, out = run_json(capsys, "run", "record", "events.jsonl", "--key-mode", "dev")
    assert code == 0 and out["signature_status"] == "signed"


def test_dev_runpack_verifies_with_the_dev_key(
    fresh_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record_dev_pack(capsys)
    code, out = run_json(capsys, "verify", "run_dev")
    assert code == 0
    assert out["signature_status"] == "verified" and out["key_source"] == "dev"


def test_someone_elses_dev_runpack_is_skipped_not_failed(
    fresh_state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_dev_pack(capsys)
    monkeypatch.setenv("GAIT_STATE_DIR", str(fresh_state.parent / "other-user"))
    resolve_signing_key("dev")
    code, out = run_json(capsys, "verify", "run_dev")
    assert code == 0 and out["signature_status"] == "skipped"
    assert "key_source" not in out
