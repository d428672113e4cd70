"""``gait gate eval`` with --wrkr-inventory and --approved-script-registry, as a user runs it.

Each case runs the installed ``gait`` in a fresh directory (issue 10 item 5):
an inventory entry feeds the policy's wrkr selectors; an unavailable inventory
blocks with exit 3 for oss-prod or high/critical risk and warns otherwise; a
script approved with ``gait approve-script`` is allowed by the fast path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WRKR_POLICY = """\
default_verdict: allow
rules:
  - name: block-pii-reads
    effect: block
    match:
      tool_names: [tool.read]
      context_data_classes: [pii]
"""

SCRIPT_POLICY = """\
default_verdict: require_approval
rules:
  - name: allow-reads
    effect: allow
    match:
      tool_names: [tool.read]
"""

INVENTORY = {
    "items": [
        {
            "tool_name": "tool.read",
            "data_class": "pii",
            "endpoint_class": "fs.read",
            "autonomy_level": "assist",
        }
    ]
}

WARNING = "wrkr inventory unavailable; continuing without context enrichment"
REGISTRY_WARNING = "approved script registry unavailable; continuing without fast-path pre-approval"


def gait(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    full_env = {
        **os.environ,
        "HOME": str(cwd),
        "XDG_STATE_HOME": str(cwd / ".state"),
        **(env or {}),
    }
    return subprocess.run(
        [*base, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def gait_json(
    *args: str, cwd: Path, code: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    proc = gait(*args, "--json", cwd=cwd, env=env)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    (line,) = proc.stdout.splitlines()
    return json.loads(line)


def intent(tool: str = "tool.read", risk: str = "low") -> dict[str, Any]:
    return {
        "tool_name": tool,
        "args": {"path": "/data/customers.csv"},
        "targets": [{"kind": "path", "value": "/data/customers.csv", "operation": "read"}],
        "context": {"identity": "agent", "workspace": "/data", "risk_class": risk},
    }


def script_intent(*tools: str, risk: str = "low") -> dict[str, Any]:
    steps = [
        {
            "tool_name": t,
            "args": {"path": f"/data/{i}.csv"},
            "targets": [{"kind": "path", "value": f"/data/{i}.csv", "operation": "write"}],
        }
        for i, t in enumerate(tools)
    ]
    return {
        "tool_name": "script",
        "args": {},
        "targets": [],
        "script": {"steps": steps},
        "context": {"identity": "agent", "workspace": "/data", "risk_class": risk},
    }


def write(path: Path, doc: Any) -> str:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path.name


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write(tmp_path / "policy.yaml", WRKR_POLICY)
    write(tmp_path / "inventory.json", INVENTORY)
    proc = gait("keys", "init", "--out-dir", "keys", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


PROD = ("--key-mode", "prod", "--private-key", "keys/gait_private.key")


# ---------------------------------------------------------------- wrkr inventory


def test_inventory_entry_blocks_through_the_wrkr_selector(work: Path) -> None:
    write(work / "intent.json", intent())
    base = ("gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", "--no-config")
    plain = gait_json(*base, cwd=work, code=0)
    assert plain["verdict"] == "allow" and "context_source" not in plain
    out = gait_json(*base, "--wrkr-inventory", "inventory.json", *PROD, cwd=work, code=3)
    assert out["verdict"] == "block" and out["matched_rule"] == "block-pii-reads"
    assert out["context_source"] == "inventory.json"
    assert out["intent_digest"] != plain["intent_digest"]  # the enriched intent is what is signed
    trace = json.loads((work / out["trace_path"]).read_text())
    assert trace["context_source"] == "inventory.json"
    verified = gait_json(
        "trace",
        "verify",
        out["trace_path"],
        "--public-key",
        "keys/gait_public.key",
        cwd=work,
        code=0,
    )
    assert verified["signature_status"] == "verified"


@pytest.mark.parametrize(
    ("profile", "risk", "code"),
    [
        ("standard", "low", 0),
        ("standard", "medium", 0),
        ("standard", "high", 3),
        ("standard", "critical", 3),
        ("oss-prod", "low", 3),
    ],
)
def test_missing_inventory_blocks_or_warns(work: Path, profile: str, risk: str, code: int) -> None:
    write(work / "intent.json", intent(risk=risk))
    out = gait_json(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", "--no-config",
        "--profile", profile, "--wrkr-inventory", "missing.json", *PROD,
        cwd=work,
        code=code,
    )  # fmt: skip
    if code == 3:
        assert out["ok"] is False and out["error_code"] == "policy_blocked"
        assert out["error"] == (
            "wrkr inventory unavailable in fail-closed mode: "
            "read wrkr inventory: open missing.json: no such file or directory"
        )
        assert not list(work.glob("trace_*.json"))
    else:
        assert out["ok"] is True and out["verdict"] == "allow"
        assert WARNING in out["warnings"]


def test_broken_inventory_text_mode(work: Path) -> None:
    write(work / "intent.json", intent(risk="high"))
    write(work / "broken.json", '{"items": [{"tool_name": 7}]}')
    base = ("gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", "--no-config")
    proc = gait(*base, "--wrkr-inventory", "broken.json", cwd=work)
    assert proc.returncode == 3
    assert (proc.stdout + proc.stderr).startswith(
        "gate eval error: wrkr inventory unavailable in fail-closed mode: parse wrkr inventory: "
        "items[0].tool_name must be a string"
    )


def test_inventory_path_from_the_project_config(work: Path) -> None:
    (work / ".gait").mkdir()
    write(work / ".gait" / "config.yaml", "gate:\n  wrkr_inventory_path: inventory.json\n")
    write(work / "intent.json", intent())
    out = gait_json(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", cwd=work, code=3
    )
    assert out["verdict"] == "block" and out["context_source"] == "inventory.json"


def test_inventory_and_context_envelope_name_both_sources(work: Path) -> None:
    write(
        work / "envelope.json",
        {
            "schema_id": "gait.context.envelope",
            "schema_version": "1.0.0",
            "created_at": "2026-02-14T00:00:00Z",
            "context_set_id": "ctx_set",
            "evidence_mode": "required",
            "records": [],
        },
    )
    write(work / "intent.json", intent())
    out = gait_json(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", "--no-config",
        "--wrkr-inventory", "inventory.json", "--context-envelope", "envelope.json",
        cwd=work,
        code=3,
    )  # fmt: skip
    assert out["context_source"] == "context_envelope,inventory.json"


# ---------------------------------------------------------------- approved scripts


def approve(work: Path, intent_file: str, pattern: str = "nightly") -> dict[str, Any]:
    return gait_json(
        "approve-script", "--policy", "scripts.yaml", "--intent", intent_file,
        "--registry", "registry.json", "--approver", "alice", "--pattern-id", pattern,
        "--ttl", "1h", *PROD,
        cwd=work,
        code=0,
    )  # fmt: skip


def script_eval(work: Path, intent_file: str, *extra: str, code: int, env: Any = None) -> Any:
    return gait_json(
        "gate", "eval", "--policy", "scripts.yaml", "--intent", intent_file, "--no-config",
        "--approved-script-registry", "registry.json", *extra,
        cwd=work,
        code=code,
        env=env,
    )  # fmt: skip


def test_approved_script_is_allowed_by_the_fast_path(work: Path) -> None:
    write(work / "scripts.yaml", SCRIPT_POLICY)
    write(work / "approved.json", script_intent("tool.export", "tool.upload"))
    write(work / "other.json", script_intent("tool.export", "tool.wipe"))
    # before approval (no registry file yet): a warning, and the policy decides
    out = script_eval(work, "approved.json", code=4)
    assert out["verdict"] == "require_approval" and REGISTRY_WARNING in out["warnings"]
    approve(work, "approved.json")
    key = ("--approved-script-public-key", "keys/gait_public.key")
    out = script_eval(work, "approved.json", *key, code=0)
    assert out["verdict"] == "allow" and out["reason_codes"] == ["approved_script_match"]
    assert out["pre_approved"] is True and out["pattern_id"] == "nightly"
    assert out["registry_reason"] == "approved_script_match"
    assert [s["verdict"] for s in out["step_verdicts"]] == ["allow", "allow"]
    trace = json.loads((work / out["trace_path"]).read_text())
    assert trace["pre_approved"] is True and trace["pattern_id"] == "nightly"
    # the key can come from an env var too
    env = {"SCRIPT_KEY": (work / "keys" / "gait_public.key").read_text()}
    out = script_eval(
        work, "approved.json", "--approved-script-public-key-env", "SCRIPT_KEY", code=0, env=env
    )
    assert out["pre_approved"] is True
    # a script nobody approved is evaluated normally and says why the fast path did not apply
    out = script_eval(work, "other.json", *key, code=4)
    assert out["verdict"] == "require_approval"
    assert out["registry_reason"] == "approved_script_not_found"
    assert "pre_approved" not in out


def test_tampered_registry_blocks_high_risk_and_warns_low_risk(work: Path) -> None:
    write(work / "scripts.yaml", SCRIPT_POLICY)
    write(work / "low.json", script_intent("tool.export", "tool.upload"))
    write(work / "high.json", script_intent("tool.export", "tool.upload", risk="high"))
    approve(work, "low.json")
    registry = json.loads((work / "registry.json").read_text())
    registry["entries"][0]["expires_at"] = "2099-01-01T00:00:00Z"  # stretch the approval
    write(work / "registry.json", registry)
    key = ("--approved-script-public-key", "keys/gait_public.key")
    out = script_eval(work, "high.json", *key, code=3)
    assert out["error"] == (
        "approved script registry unavailable in fail-closed mode: approved script registry "
        "verification failed at entry 0: signed_digest mismatch"
    )
    out = script_eval(work, "low.json", *key, code=4)
    assert REGISTRY_WARNING in out["warnings"] and "pre_approved" not in out


def test_oss_prod_needs_an_explicit_script_key(work: Path) -> None:
    write(work / "scripts.yaml", SCRIPT_POLICY)
    write(work / "low.json", script_intent("tool.export", "tool.upload"))
    approve(work, "low.json")
    out = script_eval(work, "low.json", "--profile", "oss-prod", *PROD, code=3)
    assert out["error"].endswith("approved-script verify key not configured")
    out = script_eval(
        work, "low.json", "--profile", "oss-prod", *PROD,
        "--approved-script-public-key", "keys/gait_public.key",
        code=0,
    )  # fmt: skip
    assert out["pre_approved"] is True


def test_help_describes_the_inputs(work: Path) -> None:
    proc = gait("gate", "eval", "--help", cwd=work)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "not supported" not in text.lower()
    assert "Wrkr tool inventory JSON" in text and "Approved-script registry JSON" in text


# ---------------------------------------------------------------- docs


DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def doc_block(doc: str, heading: str) -> str:
    text = (DOCS / doc).read_text()
    section = text.split(heading, 1)[1]
    return section.split("```bash\n", 1)[1].split("\n```", 1)[0]


def run_doc(tmp_path: Path, script: str) -> str:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    exe = shutil.which("gait")
    path = os.pathsep.join([str(Path(exe).parent)] if exe else []) + os.pathsep + os.environ["PATH"]
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / ".s"),
        "PATH": path,
    }
    proc = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc.stdout


def test_approvals_doc_example_runs(tmp_path: Path) -> None:
    block = doc_block("approvals.md", "## Approved scripts (fast path)")
    keys = "gait keys init --out-dir ./gait-out/keys --prefix approvers --json >/dev/null\n"
    lines = run_doc(tmp_path, keys + block).splitlines()
    first, approved, evaluated, listed = (
        json.loads(lines[0]),
        json.loads(lines[1]),
        json.loads(lines[2]),
        lines[3:],
    )
    assert first["verdict"] == "require_approval"
    assert approved["pattern_id"] == "nightly-sync"
    assert evaluated["pre_approved"] is True and evaluated["verdict"] == "allow"
    assert evaluated["reason_codes"] == ["approved_script_match"]
    # the original's list-scripts line, plus our signature status (a key was given)
    assert any(
        line.startswith("- nightly-sync (active) approver=alice") and line.endswith("status=valid")
        for line in listed
    )


def test_production_doc_inventory_example_runs(tmp_path: Path) -> None:
    block = doc_block("production.md", "## Tool inventory (`--wrkr-inventory`)")
    out = json.loads(run_doc(tmp_path, block + "\necho exit=$? >&2").splitlines()[-1])
    assert out["verdict"] == "block" and out["context_source"] == "inventory.json"
    assert out["matched_rule"] == "block-pii-reads"
