"""``gait policy lint`` and ``gait policy diff`` as child processes.

Exit codes, JSON shape, --fail-on / --fail-on-change, bad input, and every
witness run through ``gait policy test`` (the user's way to confirm a finding).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "policy"
EXIT_BY_VERDICT = {"allow": 0, "dry_run": 0, "block": 3, "require_approval": 4}


def _gait() -> list[str]:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("gait", path=search)
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


GAIT = _gait()

LINTED = """\
default_verdict: block
rules:
  - name: allow-reads
    priority: 10
    effect: allow
    match:
      tool_names: [fs.read]
  - name: never-reached
    priority: 20
    effect: block
    match:
      tool_names: [fs.read]
      risk_classes: [high]
  - name: writes-ok
    priority: 30
    effect: allow
    match:
      tool_names: [fs.write]
  - name: writes-from-web
    priority: 30
    effect: block
    match:
      tool_names: [fs.write]
      provenance_sources: [external]
  - name: delete-anything
    priority: 40
    effect: allow
    match:
      endpoint_classes: [fs.delete]
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*GAIT, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def run_json(*args: str, cwd: Path) -> tuple[int, dict]:
    result = run(*args, "--json", cwd=cwd)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0] == json.dumps(json.loads(lines[0]), sort_keys=True, separators=(",", ":"))
    return result.returncode, json.loads(lines[0])


def confirm_with_policy_test(policy: Path, witness: dict, verdict: str, tmp: Path) -> None:
    path = tmp / "witness.json"
    path.write_text(json.dumps(witness))
    code, out = run_json("policy", "test", str(policy), str(path), cwd=tmp)
    assert out["verdict"] == verdict, (witness, out)
    assert code == EXIT_BY_VERDICT[verdict]


def test_lint_reports_findings_with_witnesses_policy_test_confirms(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(LINTED)
    code, out = run_json("policy", "lint", str(policy), cwd=tmp_path)
    assert code == 3 and out["ok"] is False
    by_code = {f["code"]: f for f in out["findings"]}
    assert set(by_code) == {"shadowed_rule", "conflicting_rules", "risky_allow_destructive"}
    assert by_code["shadowed_rule"]["rules"][:2] == ["never-reached", "allow-reads"]
    assert by_code["shadowed_rule"]["level"] == "error"
    assert sorted(by_code["conflicting_rules"]["rules"]) == ["writes-from-web", "writes-ok"]
    assert out["counts"] == {"error": 1, "info": 0, "warning": 2}
    for f in out["findings"]:
        confirm_with_policy_test(policy, f["witness"], f["verdict"], tmp_path)
    text = run("policy", "lint", str(policy), cwd=tmp_path)
    assert text.returncode == 3
    assert "error: shadowed_rule: rule 'never-reached'" in text.stdout
    assert "witness (allow):" in text.stdout


def test_lint_fail_on_levels_and_clean_examples(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(LINTED.split("  - name: never-reached")[0])
    code, out = run_json("policy", "lint", str(policy), cwd=tmp_path)
    assert code == 0 and out["findings"] == []
    head = LINTED.split("  - name: never-reached")[0]
    policy.write_text(
        head + "  - name: delete-anything" + LINTED.split("  - name: delete-anything")[1]
    )
    code, out = run_json("policy", "lint", str(policy), cwd=tmp_path)
    assert [f["code"] for f in out["findings"]] == ["risky_allow_destructive"]
    assert code == 0
    code, _ = run_json("policy", "lint", str(policy), "--fail-on", "warning", cwd=tmp_path)
    assert code == 3
    for name in ("base_low_risk.yaml", "base_medium_risk.yaml", "base_high_risk.yaml"):
        code, out = run_json("policy", "lint", str(EXAMPLES / name), cwd=tmp_path)
        assert (code, out["findings"]) == (0, []), name


def test_diff_of_shipped_baselines_and_exit_codes(tmp_path: Path):
    low, high = str(EXAMPLES / "base_low_risk.yaml"), str(EXAMPLES / "base_high_risk.yaml")
    code, out = run_json("policy", "diff", low, high, cwd=tmp_path)
    assert code == 0 and out["changed"] is True and out["regions"]
    # the write fixture's change (default allow -> review-writes) is one of the regions
    assert any(
        r["old_rules"] == []
        and r["new_rules"] == ["review-writes"]
        and (r["old_verdict"], r["new_verdict"]) == ("allow", "require_approval")
        for r in out["regions"]
    )
    for r in out["regions"][:4]:
        confirm_with_policy_test(
            EXAMPLES / "base_low_risk.yaml", r["witness"], r["old_verdict"], tmp_path
        )
        confirm_with_policy_test(
            EXAMPLES / "base_high_risk.yaml", r["witness"], r["new_verdict"], tmp_path
        )
    # every change `policy simulate` finds on the shipped intents is one of the regions
    code, sim = run_json(
        "policy",
        "simulate",
        "--baseline",
        low,
        "--policy",
        high,
        "--fixtures",
        str(EXAMPLES / "intents"),
        cwd=tmp_path,
    )
    assert code == 0 and len(sim["changed"]) == 2

    def rules(matched: str, reasons: list[str]) -> list[str]:
        if not matched and any(r.startswith("fail_closed") for r in reasons):
            return ["<fail_closed>"]
        return sorted(matched.split(",")) if matched else []

    regions = {
        (tuple(r["old_rules"]), tuple(r["new_rules"]), r["old_verdict"], r["new_verdict"])
        for r in out["regions"]
    }
    for change in sim["changed"]:
        key = (
            tuple(
                rules(
                    change.get("baseline_matched_rule", ""), change.get("baseline_reason_codes", [])
                )
            ),
            tuple(
                rules(
                    change.get("candidate_matched_rule", ""),
                    change.get("candidate_reason_codes", []),
                )
            ),
            change["baseline_verdict"],
            change["candidate_verdict"],
        )
        assert key in regions, (change, regions)
    assert len(regions) > len(sim["changed"])
    code, _ = run_json("policy", "diff", low, high, "--fail-on-change", cwd=tmp_path)
    assert code == 5
    code, out = run_json("policy", "diff", low, low, "--fail-on-change", cwd=tmp_path)
    assert (code, out["regions"], out["changed"]) == (0, [], False)


def test_bad_input_exits_6(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    effect: maybe\n")
    code, out = run_json("policy", "lint", str(bad), cwd=tmp_path)
    assert code == 6 and "invalid rule effect" in out["error"]
    code, out = run_json("policy", "diff", str(EXAMPLES / "base_low_risk.yaml"), cwd=tmp_path)
    assert code == 6
    code, out = run_json("policy", "lint", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert code == 6
