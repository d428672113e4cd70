"""``gait regress`` command bodies, in-process (flags, paths, payload shapes)."""

from __future__ import annotations

import json
from pathlib import Path

ALLOW_ALL = "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n"


def test_bootstrap_into_a_config_directory_resolves_inputs_from_cwd(
    tmp_path: Path, gait_main, make_pack
) -> None:
    make_pack(tmp_path / "gait-out" / "runpack_run_ci.zip", "run_ci", [("tool.fetch", "allow")])
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "prod.yaml").write_text(ALLOW_ALL, encoding="utf-8")
    result = gait_main(
        "regress", "bootstrap", "--from", "run_ci", "--config", "ci/gait.yaml",
        "--policy", "policies/prod.yaml", "--output", "ci/result.json", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stdout
    out = result.json()
    assert out["fixture_dir"] == "ci/fixtures/run_ci"
    assert out["config_path"] == "ci/gait.yaml"
    assert out["policy"] == "../policies/prod.yaml"
    assert out["status"] == "pass" and "graders" not in out  # as the reference's bootstrap
    assert "next_commands" not in out
    assert len(json.loads((tmp_path / "ci" / "result.json").read_text())["graders"]) == 5
    meta = json.loads((tmp_path / "ci/fixtures/run_ci/fixture.json").read_text())
    assert meta["policy"] == "../policies/prod.yaml"
    assert (tmp_path / "ci" / "result.json").is_file()


def test_bootstrap_rejects_a_config_that_init_would_not_write(tmp_path: Path, gait_main) -> None:
    result = gait_main(
        "regress", "bootstrap", "--from", "x.zip", "--config", "other.json", "--json", cwd=tmp_path
    )
    assert result.code == 6
    assert "--config must name a gait.yaml" in result.json()["error"]


def test_init_text_output_and_policy_context_file(tmp_path: Path, gait_main, make_pack) -> None:
    make_pack(tmp_path / "a.zip", "run_a", [("t", "allow")])
    (tmp_path / "p.yaml").write_text(ALLOW_ALL, encoding="utf-8")
    (tmp_path / "ctx.json").write_text(
        '{"identity": "i", "workspace": "/", "risk_class": "high"}', encoding="utf-8"
    )
    result = gait_main(
        "regress", "init", "--from", "a.zip", "--policy", "p.yaml",
        "--policy-context", "ctx.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "regress init ok: fixture=run_a run_id=run_a",
        "config: gait.yaml",
        "runpack: fixtures/run_a/runpack.zip",
        "next: gait regress run --json",
    ]
    meta = json.loads((tmp_path / "fixtures/run_a/fixture.json").read_text())
    assert meta["policy_context"]["risk_class"] == "high"
    bad = gait_main(
        "regress", "init", "--from", "a.zip", "--policy-context", "p.yaml", "--json", cwd=tmp_path
    )
    assert bad.code == 6
    assert "parse policy context" in bad.json()["error"]


def test_run_with_custom_config_points_next_command_at_it(
    tmp_path: Path, gait_main, make_pack
) -> None:
    make_pack(tmp_path / "gait-out" / "runpack_run_a.zip", "run_a", [("tool.fetch", "allow")])
    (tmp_path / "block.yaml").write_text(
        ALLOW_ALL
        + "rules:\n  - name: b\n    effect: block\n    match: {tool_names: [tool.fetch]}\n",
        encoding="utf-8",
    )
    assert gait_main("regress", "bootstrap", "--from", "run_a", "--config", "ci/gait.yaml",
                     cwd=tmp_path).code == 0  # fmt: skip
    result = gait_main(
        "regress", "run", "--config", "ci/gait.yaml", "--policy", "block.yaml", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 5
    out = result.json()
    assert out["next_command"] == "gait regress run --config ci/gait.yaml --json"
    assert out["top_failure_reason"] == "policy_verdict_changed:step_1:tool.fetch:allow->block"
    assert out["top_failure_grader"] == "run_a/policy_verdict"
