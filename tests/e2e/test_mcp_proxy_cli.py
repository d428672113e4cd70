"""``gait mcp proxy`` / ``bridge`` through the real CLI, and the docs/mcp.md examples."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
INTENTS = REPO / "examples" / "policy" / "intents"
DOC = REPO / "docs" / "mcp.md"


def _base() -> list[str]:
    exe = shutil.which("gait", path=str(Path(sys.executable).parent)) or shutil.which("gait")
    return [exe] if exe else [sys.executable, "-m", "gait.cli.main"]


def gait(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_base(), *args],
        cwd=cwd,
        env={**os.environ, "HOME": str(cwd), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def gait_json(*args: str, cwd: Path, code: int, stdin: str | None = None) -> dict[str, Any]:
    proc = gait(*args, "--json", cwd=cwd, stdin=stdin)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def call_from_intent(name: str) -> dict[str, Any]:
    """The native ToolCall carrying the same call as an example intent file."""
    intent = json.loads((INTENTS / name).read_text())
    return {
        "name": intent["tool_name"],
        "args": intent["args"],
        "targets": intent["targets"],
        "arg_provenance": intent["arg_provenance"],
        "context": intent["context"],
        "created_at": intent["created_at"],
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for name in ("intent_read.json", "intent_write.json", "intent_delete.json"):
        (tmp_path / name.replace("intent_", "call_")).write_text(json.dumps(call_from_intent(name)))
    proc = gait("keys", "init", "--out-dir", "keys", "--prefix", "t", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


PROD = ("--key-mode", "prod", "--private-key", "keys/t_private.key")


@pytest.mark.parametrize(
    ("call", "verdict", "code"),
    [
        ("call_read.json", "allow", 0),
        ("call_write.json", "require_approval", 4),
        ("call_delete.json", "block", 3),
    ],
)
def test_positional_policy_and_call_decide_and_sign(
    work: Path, call: str, verdict: str, code: int
) -> None:
    out = gait_json("mcp", "proxy", str(POLICY), call, *PROD, cwd=work, code=code)
    assert (out["ok"], out["executed"], out["verdict"]) == (True, False, verdict)
    assert out["adapter"] == "mcp"
    assert re.fullmatch(r"trace__\d{8}T\d{6}\.\d{9}\.json", out["trace_path"])
    assert out["run_id"] == "run_mcp_" + out["intent_digest"][:12]
    assert "warnings" not in out  # full context, prod key: nothing to warn about
    verify = gait_json(
        "trace", "verify", out["trace_path"], "--public-key", "keys/t_public.key", cwd=work, code=0
    )
    assert (verify["trace_id"], verify["verdict"]) == (out["trace_id"], verdict)


def test_stdin_openai_call_text_output(work: Path) -> None:
    proc = gait(
        "mcp",
        "proxy",
        "--policy",
        str(POLICY),
        "--call",
        "-",
        "--adapter",
        "openai",
        "--trace-out",
        "t/openai.json",
        cwd=work,
        stdin='{"function": {"name": "tool.read", "arguments": "{\\"path\\": \\"/x\\"}"}}',
    )
    # No targets on a high-risk call: the policy fails closed.
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.splitlines() == ["mcp proxy: verdict=block", "trace: t/openai.json"]
    assert "warning: standard profile applied fallback intent context" in proc.stderr
    assert "warning: dev mode: " in proc.stderr
    assert (work / "t" / "openai.json").is_file()


def test_bridge_is_an_alias(work: Path) -> None:
    args = ("--policy", str(POLICY), "--call", "call_write.json", "--trace-out", "t.json", *PROD)
    a = gait_json("mcp", "proxy", *args, cwd=work, code=4)
    b = gait_json("mcp", "bridge", *args, cwd=work, code=4)
    for out in (a, b):
        out.pop("correlation_id")
        out.pop("decision_latency_ms", None)
    assert a == b


def test_artifacts_runpack_and_exports(work: Path) -> None:
    out = gait_json(
        "mcp",
        "proxy",
        str(POLICY),
        "call_delete.json",
        "--run-id",
        "incident 42",
        "--runpack-out",
        "rp/delete.zip",
        "--export-log-out",
        "ex/log.jsonl",
        "--export-otel-out",
        "ex/otel.jsonl",
        *PROD,
        cwd=work,
        code=3,
    )
    assert out["run_id"] == "run_incident_42"
    assert re.fullmatch(r"trace_run_incident_42_\d{8}T\d{6}\.\d{9}\.json", out["trace_path"])
    assert (out["runpack_path"], out["log_export"], out["otel_export"]) == (
        "rp/delete.zip",
        "ex/log.jsonl",
        "ex/otel.jsonl",
    )
    verify = gait_json("verify", "rp/delete.zip", cwd=work, code=0)
    assert verify["run_id"] == "run_incident_42"
    log = json.loads((work / "ex" / "log.jsonl").read_text())
    assert (log["trace_id"], log["verdict"], log["run_id"]) == (
        out["trace_id"],
        "block",
        "run_incident_42",
    )
    assert log["created_at"] == "2026-02-18T00:00:00Z"
    otel = json.loads((work / "ex" / "otel.jsonl").read_text())
    assert otel["attributes"]["gait.trace_path"] == out["trace_path"]


def test_pack_out_writes_a_signed_verifiable_run_pack(work: Path) -> None:
    proc = gait(
        "mcp", "proxy", str(POLICY), "call_delete.json", "--run-id", "p1",
        "--pack-out", "packs/delete.zip", "--trace-out", "t.json", *PROD, cwd=work,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.splitlines() == [
        "mcp proxy: verdict=block",
        "trace: t.json",
        "pack: packs/delete.zip",
    ]
    report = gait_json(
        "pack", "verify", "packs/delete.zip", "--public-key", "keys/t_public.key",
        "--require-signature", cwd=work, code=0,
    )  # fmt: skip
    assert (report["run_id"], report["pack_type"]) == ("run_p1", "run")
    again = gait_json(
        "mcp", "proxy", str(POLICY), "call_delete.json", "--run-id", "p1",
        "--pack-out", "packs/again.zip", *PROD, cwd=work, code=3,
    )  # fmt: skip
    # Same call, same key: the same pack, byte for byte.
    assert again["pack_id"] == report["pack_id"]
    assert (work / "packs/again.zip").read_bytes() == (work / "packs/delete.zip").read_bytes()


def test_gait_job_stop_is_an_emergency_stop_for_proxied_calls(work: Path) -> None:
    call = {**call_from_intent("intent_read.json")}
    call["context"] = {**call["context"], "job_id": "nightly"}
    (work / "job_call.json").write_text(json.dumps(call))
    args = ("mcp", "proxy", str(POLICY), "job_call.json", "--job-root", "jobs", *PROD)
    # Unknown job: its state cannot be read, so the call is blocked, not waved through.
    unknown = gait_json(*args, cwd=work, code=3)
    assert "emergency_stop_state_unavailable" in unknown["reason_codes"]
    assert any(w.startswith("job_status_unavailable=") for w in unknown["warnings"])
    for action in ("submit", "stop"):
        proc = gait("job", action, "--id", "nightly", "--root", "jobs", cwd=work)
        assert proc.returncode == 0, proc.stderr
        if action == "submit":
            running = gait_json(*args, cwd=work, code=0)
            assert running["verdict"] == "allow"
    stopped = gait_json(*args, "--trace-out", "stopped.json", cwd=work, code=3)
    assert "emergency_stop_preempted" in stopped["reason_codes"]
    assert stopped["violations"] == ["emergency_stop_active"]
    verify = gait_json(
        "trace", "verify", "stopped.json", "--public-key", "keys/t_public.key", cwd=work, code=0
    )
    assert verify["verdict"] == "block"


def test_runpack_bytes_are_reproducible(work: Path) -> None:
    for name in ("a", "b"):
        gait_json(
            "mcp", "proxy", str(POLICY), "call_read.json", "--run-id", "r",
            "--runpack-out", f"{name}.zip", *PROD, cwd=work, code=0,
        )  # fmt: skip
    assert (work / "a.zip").read_bytes() == (work / "b.zip").read_bytes()


P = str(POLICY)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--call", "call_read.json"), None, "expected --policy <policy.yaml> and --call"),
        ((P, "call_read.json", "extra"), None, "expected --policy <policy.yaml> and --call"),
        ((P, "call_read.json", "--adapter", "gemini"), None, "unsupported adapter: gemini"),
        ((P, "missing.json"), None, "read call payload"),
        ((P, "-"), "{not json", "parse mcp tool call"),
        ((P, "-"), '{"name": "tool.read", "targets": [{"kind": 3}]}', "targets[0].kind"),
        ((P, "-", "--adapter", "openai"), '{"function": {"name": "x", "arguments": "[1]"}}',
         "decode openai arguments"),
        ((P, "-", "--profile", "oss-prod"), '{"name": "tool.read"}',
         "context.identity is required in strict profile"),
        ((P, "call_read.json", "--profile", "oss-prod"), None,
         "oss-prod profile requires --key-mode prod"),
        ((P, "call_read.json", "--context-envelope", "env.json"), None,
         "read context envelope"),
        ((P, "call_read.json", "--pack-out", "../p.zip"), None, "must not traverse"),
        (("missing-policy.yaml", "call_read.json"), None, "missing-policy.yaml"),
    ],
)  # fmt: skip
def test_invalid_input_exits_6_without_a_trace(
    work: Path, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    out = gait_json("mcp", "proxy", *args, cwd=work, code=6, stdin=stdin)
    assert out["ok"] is False
    assert message in out["error"], out["error"]
    assert not list(work.glob("trace_*.json"))


def test_text_mode_error_names_the_field(work: Path) -> None:
    proc = gait("mcp", "proxy", str(POLICY), "-", cwd=work, stdin='{"name": "x", "args": [1]}')
    assert proc.returncode == 6
    assert "mcp proxy error: parse mcp tool call: field args" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_describes_every_flag(work: Path) -> None:
    proc = gait("mcp", "proxy", "--help", cwd=work)
    assert proc.returncode == 0
    flags = [
        "--policy", "--call", "--adapter", "--profile", "--context-envelope", "--job-root",
        "--trace-out", "--run-id", "--runpack-out", "--pack-out", "--export-log-out",
        "--export-otel-out", "--key-mode", "--private-key", "--private-key-env", "--json",
    ]  # fmt: skip
    for flag in flags:
        line = next((x for x in proc.stdout.splitlines() if x.strip().startswith(flag + " ")), "")
        assert len(line.split(None, 2)) >= 2, (flag, proc.stdout)
    assert "never executed" in proc.stdout


def test_help_and_proxy_do_not_import_a_web_framework(work: Path) -> None:
    # Modules accumulate over the four runs, so this checks all of them at once.
    runs = [
        ["gait", "--help"],
        ["gait", "mcp", "--help"],
        ["gait", "mcp", "proxy", "--help"],
        ["gait", "mcp", "proxy", str(POLICY), "call_read.json", "--json"],
    ]
    code = (
        "import sys\n"
        "from gait.cli.main import main\n"
        f"for argv in {runs!r}:\n"
        "    sys.argv = argv\n"
        "    try:\n        main()\n    except SystemExit:\n        pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'starlette', 'uvicorn', 'mcp', 'httpx', 'redis', 'anyio'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=60
    )
    assert "HEAVY []" in proc.stderr, proc.stderr
    assert '"verdict":"allow"' in proc.stdout


# --- docs/mcp.md --------------------------------------------------------------


def _doc_block(name: str, lang: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- e2e: {re.escape(name)} -->\n```{lang}\n(.*?)```", text, re.S)
    assert match, f"docs/mcp.md has no {lang} block marked e2e: {name}"
    return match.group(1)


def _matches(expected: str, actual: str) -> bool:
    """Line-by-line comparison where ``…`` in the expected text stands for anything."""
    exp, act = expected.strip("\n").splitlines(), actual.strip("\n").splitlines()
    pattern = "\n".join(re.escape(line).replace("…", ".*") for line in exp)
    return re.fullmatch(pattern, "\n".join(act), re.S) is not None


def _run_doc(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-e", "-c", _doc_block(name, "bash")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_docs_quickstart_runs_as_written(tmp_path: Path) -> None:
    first = _run_doc("quickstart", tmp_path)
    assert first.returncode == 0, first.stderr
    assert _matches(_doc_block("quickstart-output", "text"), first.stdout), first.stdout
    assert "standard profile applied fallback intent context" in first.stderr
    second = _run_doc("quickstart-json", tmp_path)
    assert second.returncode == 0, second.stderr
    assert _matches(_doc_block("quickstart-json-output", "text"), second.stdout), second.stdout
    assert len((tmp_path / "exports" / "decisions.jsonl").read_text().splitlines()) == 1

    library = subprocess.run(
        [sys.executable, "-c", _doc_block("library", "python")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert library.returncode == 0, library.stderr
    assert library.stdout.strip() == "allow 0"
    assert (tmp_path / "traces" / "langchain.json").is_file()


# Kept here, not read from examples/, so that the golden output changes only with gait.
SNAPSHOT_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
fail_closed:
  enabled: true
  risk_classes: [critical, high]
  required_fields: [targets, arg_provenance]
rules:
  - name: review-writes
    priority: 30
    effect: require_approval
    match:
      endpoint_classes: [fs.write]
    reason_codes: [write_requires_approval]
    min_approvals: 2
"""


@pytest.mark.parametrize("adapter", ["mcp", "claude_code"])
def test_json_output_snapshot(work: Path, adapter: str, snapshot: Any) -> None:
    """Golden JSON of one decision per shape (clock-dependent fields removed)."""
    (work / "policy.yaml").write_text(SNAPSHOT_POLICY)
    calls = {
        "mcp": "call_write.json",
        "claude_code": "hook.json",
    }
    (work / "hook.json").write_text(
        json.dumps(
            {
                "session_id": "cc-7",
                "hook_event_name": "PreToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": "rm -rf /workspace/build"},
            }
        )
    )
    out = gait_json(
        "mcp", "proxy", "policy.yaml", calls[adapter], "--adapter", adapter,
        "--trace-out", "t.json", "--run-id", "snap", *PROD, cwd=work,
        code=4 if adapter == "mcp" else 3,
    )  # fmt: skip
    out.pop("correlation_id")
    out.pop("decision_latency_ms", None)
    assert out == snapshot
