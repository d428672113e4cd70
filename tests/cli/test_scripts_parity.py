"""``gait approve-script`` / ``gait list-scripts`` as the original (cmd/gait/*_script*.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_evidence_cli import SCRIPT_POLICY, _script_intent
from tests.inproc import run_cli


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(SCRIPT_POLICY)
    _script_intent(Path("intent.json"))
    run_cli("keys", "init", "--out-dir", "keys")
    return tmp_path


def _approve(*args: str) -> tuple[int, str]:
    return run_cli(
        "approve-script", "--policy", "policy.yaml", "--intent", "intent.json",
        "--registry", "reg.json", "--key-mode", "prod", "--private-key", "keys/gait_private.key",
        *args,
    )  # fmt: skip


def test_approve_script_output(work: Path) -> None:
    code, text = _approve("--approver", "alice", "--json")
    out = json.loads(text)
    assert code == 0 and out["pattern_id"] == "pattern_" + out["script_hash"][:12]
    assert out["registry_path"] == "reg.json"
    code, text = _approve("--approver", "alice", "--pattern-id", "p2", "--scope", "ci")
    lines = text.splitlines()
    assert code == 0 and lines[0] == "approve-script: pattern=p2 registry=reg.json"
    assert lines[1] == f"policy_digest={out['policy_digest']} script_hash={out['script_hash']}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--policy, --intent, --registry, and --approver are required"),
        (("--approver", "a", "--ttl", "soon"), "invalid --ttl duration"),
        (("--approver", "a", "--ttl", "-1h"), "invalid --ttl duration"),
    ],
)
def test_approve_script_errors(work: Path, args: tuple[str, ...], message: str) -> None:
    code, text = _approve(*args, "--json")
    assert code == 6 and json.loads(text)["error"] == message


def test_list_scripts_output(work: Path) -> None:
    _approve("--approver", "alice", "--pattern-id", "p1", "--scope", "ci")
    code, text = run_cli("list-scripts", "--registry", "reg.json", "--json")
    row = json.loads(text)["entries"][0]
    assert code == 0 and row["expired"] is False and row["scope"] == ["ci"]
    code, text = run_cli("list-scripts", "--registry", "reg.json")
    lines = text.splitlines()
    assert lines[0] == "list-scripts: 1 entries in reg.json"
    assert lines[1] == f"- p1 (active) approver=alice expires={row['expires_at']}"
    Path("empty.json").write_text('{"entries": []}')
    code, text = run_cli("list-scripts", "--registry", "empty.json", "--json")
    out = json.loads(text)
    assert code == 0 and "count" not in out and "entries" not in out
