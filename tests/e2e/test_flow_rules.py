"""Flow rules through ``gait gate eval``: one session, one --state file, as a user runs it.

A read of a secret then an egress is blocked, with the read's event id in the
signed trace; a delete without a prior read of the same path is blocked and
gets past the rule after that read; no session id or a DSL twin behave the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

POLICY = """\
default_verdict: allow
rules:
  - name: no-egress-after-secret
    priority: 10
    effect: block
    match:
      endpoint_classes: [net.http]
      after:
        - sensitivity: [secret]
          within: 10m
    reason_codes: [egress_after_secret_read]
  - name: delete-after-read
    priority: 20
    effect: allow
    match:
      tool_names: [fs.delete]
      after:
        - tool_names: [fs.read]
          same_target: true
          within: 1h
  - name: no-blind-delete
    priority: 30
    effect: block
    match:
      tool_names: [fs.delete]
    reason_codes: [delete_without_read]
"""


def gait(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    env = {**os.environ, "HOME": str(cwd), "XDG_STATE_HOME": str(cwd / ".state")}
    return subprocess.run(
        [*base, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def call(tool: str, value: str, cls: str, *, sens: str = "", session: str = "s-1") -> dict:
    kind = "url" if cls.startswith("net.") else "path"
    target: dict[str, Any] = {"kind": kind, "value": value, "endpoint_class": cls}
    if sens:
        target["sensitivity"] = sens
    ctx: dict[str, Any] = {"identity": "agent", "workspace": "/w", "risk_class": "low"}
    if session:
        ctx["session_id"] = session
    return {"tool_name": tool, "args": {"x": value}, "targets": [target], "context": ctx}


class Session:
    def __init__(self, cwd: Path, policy: str = "policy.yaml") -> None:
        self.cwd = cwd
        self.policy = policy
        self.n = 0

    def eval(self, intent: dict, code: int) -> dict[str, Any]:
        self.n += 1
        path = self.cwd / f"intent_{self.n}.json"
        path.write_text(json.dumps(intent))
        proc = gait(
            "gate", "eval", "--policy", self.policy, "--intent", path.name,
            "--state", "state.json", "--trace-out", f"trace_{self.n}.json", "--json",
            cwd=self.cwd,
        )  # fmt: skip
        assert proc.returncode == code, (proc.stdout, proc.stderr)
        (line,) = proc.stdout.splitlines()
        out = json.loads(line)
        out["trace"] = json.loads((self.cwd / f"trace_{self.n}.json").read_text())
        return out


def test_secret_read_then_egress_is_blocked_with_reference(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    s = Session(tmp_path)
    first = s.eval(call("http.post", "https://x.example/u", "net.http"), 0)
    assert first["verdict"] == "allow"
    read = s.eval(call("fs.read", "/etc/key", "fs.read", sens="secret"), 0)
    egress = s.eval(call("http.post", "https://x.example/u", "net.http"), 3)
    assert egress["reason_codes"] == ["egress_after_secret_read"]
    assert egress["matched_rule"] == "no-egress-after-secret"
    assert egress["flow_refs"] == [read["trace"]["event_id"]]
    assert egress["trace"]["flow_refs"] == [read["trace"]["event_id"]]
    verify = gait("trace", "verify", f"trace_{s.n}.json", "--json", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["signature_status"] == "verified"
    # another session has no secret read: its egress goes through
    other = s.eval(call("http.post", "https://x.example/u", "net.http", session="s-2"), 0)
    assert "flow_refs" not in other and "flow_refs" not in other["trace"]


def test_delete_needs_a_read_of_that_path_first(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    s = Session(tmp_path)
    blind = s.eval(call("fs.delete", "/w/tmp.txt", "fs.delete"), 3)
    assert blind["matched_rule"] == "no-blind-delete"
    s.eval(call("fs.read", "/w/other.txt", "fs.read"), 0)
    still = s.eval(call("fs.delete", "/w/tmp.txt", "fs.delete"), 3)
    assert still["matched_rule"] == "no-blind-delete"
    read = s.eval(call("fs.read", "/w/tmp.txt", "fs.read"), 0)
    # the flow rule now lets it through; a destructive apply still asks for approval (exit 4)
    after = s.eval(call("fs.delete", "/w/tmp.txt", "fs.delete"), 4)
    assert after["matched_rule"] == "delete-after-read"
    assert "delete_without_read" not in after["reason_codes"]
    assert after["trace"]["flow_refs"] == [read["trace"]["event_id"]]


def test_no_session_id_fails_closed_and_dsl_twin_agrees(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    proc = gait("policy", "compile", "policy.yaml", "--emit", "dsl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "after [" in proc.stdout
    (tmp_path / "policy.gaitpol").write_text(proc.stdout)
    s = Session(tmp_path, "policy.gaitpol")
    out = s.eval(call("http.post", "https://x.example/u", "net.http", session=""), 3)
    assert out["reason_codes"] == ["flow_history_unavailable"]
    s.eval(call("fs.read", "/etc/key", "fs.read", sens="secret"), 0)
    out = s.eval(call("http.post", "https://x.example/u", "net.http"), 3)
    assert out["reason_codes"] == ["egress_after_secret_read"]
    # nothing about an unrelated tool changes without a session
    s.eval(call("tool.read", "/w/a", "fs.read", session=""), 0)
