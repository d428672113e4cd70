"""Issue 11 A6 for YAML: .gait/config.yaml and regress gait.yaml refuse repeated keys.

PyYAML keeps the last of two keys; gait's config readers (gait.safeyaml) refuse
them, exactly or differing only in case, naming the key, the file and the line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = "rules:\n  - name: reads\n    effect: allow\n    match: {tool_names: [tool.read]}\n"
INTENT = {
    "tool_name": "tool.read",
    "args": {"path": "/w/a"},
    "targets": [{"kind": "path", "value": "/w/a", "operation": "read"}],
    "context": {"identity": "agent", "workspace": "/w", "risk_class": "low"},
}
REPEATS = {
    "same-case": (
        "gate:\n  profile: standard\n  profile: oss-prod\n",
        "'profile' (first at line 2)",
    ),
    "case-variant": (
        "gate:\n  profile: standard\n  Profile: oss-prod\n",
        "'Profile' (also spelled 'profile' at line 2)",
    ),
    "top-level": ("state: a.json\ngate: {}\nSTATE: b.json\n", "'STATE' (also spelled 'state'"),
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "intent.json").write_text(json.dumps(INTENT))
    (tmp_path / ".gait").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_gate_eval_refuses_repeated_config_keys(work: Path, capsys, case: str) -> None:
    text, detail = REPEATS[case]
    (work / ".gait" / "config.yaml").write_text(text)
    code, out = cli(capsys, "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json")
    assert code == 6, out
    assert out["error"].startswith("parse config .gait/config.yaml:3:")
    assert f"duplicate key {detail}" in out["error"]
    assert not list(work.glob("trace_*.json"))
    # --no-config skips the file, so the same call decides
    code, out = cli(capsys, "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
                    "--no-config")  # fmt: skip
    assert code == 0, out


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_explicit_config_file_is_read_by_the_same_rule(work: Path, capsys, case: str) -> None:
    text, detail = REPEATS[case]
    (work / "mine.yaml").write_text(text)
    code, out = cli(capsys, "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
                    "--config", "mine.yaml")  # fmt: skip
    assert code == 6 and "parse config mine.yaml:3:" in out["error"], out
    assert f"duplicate key {detail}" in out["error"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gate: &g {profile: standard}\nother: *g\n", "anchors and aliases"),
        ("gate: !!python/object/apply:os.system [id]\n", "tag !!python/object/apply:os.system"),
        ("gate:\n  trace_path: " + "9" * 400 + "\n", "integer longer than 300 digits"),
    ],
)
def test_gate_eval_config_bounds(work: Path, capsys, text: str, message: str) -> None:
    (work / ".gait" / "config.yaml").write_text(text)
    code, out = cli(capsys, "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json")
    assert code == 6 and message in out["error"] and ".gait/config.yaml" in out["error"], out


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_doctor_reports_repeated_config_keys(work: Path, capsys, case: str) -> None:
    text, detail = REPEATS[case]
    (work / ".gait" / "config.yaml").write_text(text)
    code, out = cli(capsys, "doctor", "--production-readiness", "--workdir", str(work))
    [check] = [c for c in out["checks"] if c["name"] == "production_readiness_config"]
    assert check["status"] == "fail", check
    assert "config.yaml:3:" in check["message"] and f"duplicate key {detail}" in check["message"]
    assert code == 2


def test_doctor_reads_last_key_no_more(work: Path, capsys) -> None:
    """Before: PyYAML kept the last `profile`, so doctor passed a file gate eval read otherwise."""
    (work / ".gait" / "config.yaml").write_text("gate:\n  profile: standard\n  profile: oss-prod\n")
    code, out = cli(capsys, "doctor", "--production-readiness", "--workdir", str(work))
    # the file does not parse: that is the one production check, and it fails
    [check] = [c for c in out["checks"] if c["scope"] == "production_readiness"]
    assert check["name"] == "production_readiness_config" and check["status"] == "fail"
    assert "duplicate key 'profile'" in check["message"] and code == 2


# ------------------------------------------------------------ regress gait.yaml ---


def test_regress_config_keeps_its_yaml_rules(tmp_path: Path) -> None:
    from gait.errors import InvalidInput
    from gait.regress.config import read_config

    path = tmp_path / "gait.yaml"
    path.write_text("fixture_set: a\nfixtures:\n  - {name: x, runpack: a.zip, Name: y}\n")
    with pytest.raises(InvalidInput, match=r"gait.yaml:3:\d+: duplicate key 'Name'"):
        read_config(path)
    path.write_text("fixtures: &f [*f]\n")  # a recursive alias: bad input, not a crash
    with pytest.raises(InvalidInput, match="recursive alias"):
        read_config(path)
    path.write_text("fixtures:\n  - name: x\n   runpack: a.zip\n")
    with pytest.raises(InvalidInput, match=r"parse config .*gait.yaml:3:"):
        read_config(path)
    path.write_text("base: &b {runpack: a.zip}\nfixtures:\n  - {<<: *b, name: x}\n")
    assert [(f.name, f.runpack) for f in read_config(path).fixtures] == [("x", "a.zip")]
