"""``gate eval --state`` and ``state:`` in .gait/config.yaml (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: deletes
    effect: allow
    match:
      tool_names: [tool.delete]
    destructive_budget: {requests: 1, window: hour}
"""
INTENT = {
    "schema_id": "gait.gate.intent_request",
    "schema_version": "1.0.0",
    "created_at": "2026-02-18T00:00:00Z",
    "tool_name": "tool.delete",
    "args": {"path": "/w/db"},
    "targets": [{"kind": "path", "value": "/w/db", "operation": "delete"}],
    "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
    "context": {"identity": "alice", "workspace": "/w", "risk_class": "medium", "phase": "plan"},
}


@pytest.fixture(autouse=True)
def files() -> None:
    Path("policy.yaml").write_text(POLICY)
    Path("intent.json").write_text(json.dumps(INTENT))


def gait(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    from gait.cli.main import main

    capsys.readouterr()
    code = main(["gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
                 "--json", *args])  # fmt: skip
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_state_flag_takes_a_redis_url(
    capsys: pytest.CaptureFixture[str], shared_redis_url: str, prefix: str
) -> None:
    url = f"{shared_redis_url}?key_prefix={prefix}"
    code, first = gait(capsys, "--state", url)
    assert (code, first["verdict"], first["destructive_budget_used"]) == (0, "dry_run", 1)
    code, second = gait(capsys, "--state", url)
    assert code == 3
    assert "destructive_budget_exceeded" in second["reason_codes"]
    assert not Path(".gait-out/gate_rate_limits.json").exists()


def test_state_flag_takes_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert gait(capsys, "--state", "s/state.json")[0] == 0
    assert gait(capsys, "--state", "s/state.json")[0] == 3
    assert json.loads(Path("s/state.json").read_text())["schema_id"] == "gait.gate.rate_limit_state"


def test_config_state_is_used(
    capsys: pytest.CaptureFixture[str], shared_redis_url: str, prefix: str
) -> None:
    Path(".gait").mkdir()
    Path(".gait/config.yaml").write_text(f"state: {shared_redis_url}?key_prefix={prefix}\n")
    # a project file chooses the state location only when the user trusts it (security.md)
    assert gait(capsys, "--trust-project-keys")[0] == 0
    code, out = gait(capsys, "--trust-project-keys")
    assert code == 3 and "destructive_budget_exceeded" in out["reason_codes"]
    assert not Path(".gait-out").exists()
    # An explicit flag beats the config file.
    assert gait(capsys, "--state", "local.json", "--trust-project-keys")[0] == 0


def test_legacy_state_flag_beats_config_state(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".gait").mkdir()
    Path(".gait/config.yaml").write_text("state: from-config.json\n")
    code, out = gait(capsys, "--rate-limit-state", "mine.json")
    assert code == 0, out
    assert Path("mine.json").exists()
    assert not Path("from-config.json").exists()


def test_unreachable_redis_blocks_the_budgeted_call(capsys: pytest.CaptureFixture[str]) -> None:
    from .redis_server import free_port

    code, out = gait(capsys, "--state", f"redis://127.0.0.1:{free_port()}/0")
    assert code == 3
    assert out["verdict"] == "block"
    assert "state_unavailable" in out["reason_codes"]
    assert out["violations"] == ["state_unavailable"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--state", "memcached://x"), 'unsupported state location scheme "memcached"'),
        (("--state", "a.json", "--rate-limit-state", "b.json"), "use either --state or"),
        (("--state", "redis://h:1/0?key_prefix=a b"), "key_prefix must be"),
    ],
)
def test_bad_state_locations_exit_6(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out = gait(capsys, *args)
    assert code == 6
    assert message in out["error"]


def test_config_state_must_be_text(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".gait").mkdir()
    Path(".gait/config.yaml").write_text("state: [a, b]\n")
    code, out = gait(capsys)
    assert code == 6
    assert "state must be a string" in out["error"]
