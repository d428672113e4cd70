"""``gait doctor``: each check's statuses, messages and fixes, the result object, text, exits."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from gait.scout import doctor
from gait.scout.doctor import FAIL, PASS, WARN, Keys
from tests.registry.support import Signer, base_manifest

from .conftest import run, run_json

UNIVERSAL = [
    "workdir",
    "output_dir",
    "job_runtime_durability",
    "temp_dir",
    "registry_cache",
    "gate_rate_limit_lock",
    "onboarding_binary",
    "key_source_ambiguity",
    "key_permissions",
    "key_config",
]


def _fake_gait(directory: Path, output: str = "gait 0.1.0", code: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "gait"
    script.write_text(f"#!/bin/sh\necho '{output}'\nexit {code}\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (cwd), its own HOME and TMPDIR, a ``gait`` on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("PATH", str(_fake_gait(tmp_path / "bin").parent))
    for name in ("GAIT_ADOPTION_LOG", "GAIT_OPERATIONAL_LOG", "GAIT_TELEMETRY_HEALTH_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)
    return work


def _healthy(work: Path) -> None:
    (work / "gait-out").mkdir()
    (Path(os.environ["HOME"]) / ".gait" / "registry").mkdir(parents=True)


def _checks(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in out["checks"]}


# ------------------------------------------------------------ the result


def test_fresh_folder_warns_with_quoted_fixes(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, "doctor")
    assert code == 0 and out["ok"] is True
    assert [c["name"] for c in out["checks"]] == UNIVERSAL
    assert {c["scope"] for c in out["checks"]} == {"universal"}
    assert out["status"] == WARN and out["onboarding_mode"] == "installed_binary"
    assert out["summary"] == (
        "doctor: onboarding_mode=installed_binary status=warn failed=0 warned=2 non_fixable=false"
    )
    by_name = _checks(out)
    assert by_name["output_dir"] == {
        "name": "output_dir",
        "scope": "universal",
        "status": "warn",
        "message": "output directory does not exist",
        "fix_command": "mkdir -p 'gait-out'",
    }
    assert by_name["registry_cache"]["message"] == "registry cache is not initialized"
    assert out["fix_commands"] == ["mkdir -p 'gait-out'", "mkdir -p ~/.gait/registry"]
    assert "non_fixable" not in out and "summary_mode" not in out
    assert out["schema_id"] == "gait.doctor.result" and out["schema_version"] == "1.0.0"


def test_healthy_folder_passes_and_omits_empty_fields(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _healthy(work)
    code, out = run_json(capsys, "doctor")
    assert code == 0 and out["status"] == PASS, out
    assert "fix_commands" not in out and "non_fixable" not in out
    by_name = _checks(out)
    assert [c["message"] for c in out["checks"]] == [
        "workdir is writable",
        "output directory is writable",
        "no durable job state",
        "temporary directory is writable",
        "registry cache is accessible",
        "no stale gate rate-limit lock detected",
        by_name["onboarding_binary"]["message"],
        "key source configuration is unambiguous",
        "no key file paths configured",
        "dev key mode is configured",
    ]
    assert by_name["onboarding_binary"]["message"].endswith("version=gait 0.1.0)")
    # the probes leave nothing behind
    assert sorted(p.name for p in work.iterdir()) == ["gait-out"]
    assert list((work / "gait-out").iterdir()) == []


def test_text_lists_every_check_with_its_fix(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("doctor: onboarding_mode=installed_binary status=warn ")
    assert lines[1] == "- workdir: pass (workdir is writable)"
    assert lines[2:4] == [
        "- output_dir: warn (output directory does not exist)",
        "  fix: mkdir -p 'gait-out'",
    ]
    assert len([line for line in lines if line.startswith("- ")]) == len(UNIVERSAL)


def test_summary_shows_only_problems_or_tips(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor", "--summary")
    assert code == 0
    assert out.splitlines()[1:] == [
        "- output_dir: warn (output directory does not exist)",
        "  fix: mkdir -p 'gait-out'",
        "- registry_cache: warn (registry cache is not initialized)",
        "  fix: mkdir -p ~/.gait/registry",
    ]
    _healthy(work)
    code, out, _ = run(capsys, "doctor", "--summary")
    assert out.splitlines() == [
        "doctor: onboarding_mode=installed_binary status=pass failed=0 warned=0 non_fixable=false",
        "tip: export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl",
        "tip: gait doctor adoption --from ./gait-out/adoption.jsonl --json",
    ]
    code, result = run_json(capsys, "doctor", "--summary")
    assert result["summary_mode"] is True and len(result["checks"]) == len(UNIVERSAL)


def test_non_fixable_exits_7(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = doctor.Check("temp_dir", "universal", FAIL, "x", non_fixable=True)
    monkeypatch.setattr(doctor, "check_temp_dir", lambda: broken)
    code, out = run_json(capsys, "doctor")
    assert code == 7 and out["ok"] is False and out["non_fixable"] is True
    assert out["summary"].endswith("non_fixable=true")


def test_positional_arguments_exit_6(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "doctor", "extra")
    assert code == 6 and out["error"] == "unexpected positional arguments"


def test_repo_checkout_adds_its_checks(capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import REPO

    _, out = run_json(capsys, "doctor", "--workdir", str(REPO), "--output-dir", "/nonexistent-x")
    assert out["onboarding_mode"] == "repo_checkout"
    assert [c["name"] for c in out["checks"]][-3:] == [
        "schema_files",
        "hooks_path",
        "onboarding_assets",
    ]
    assert {c["scope"] for c in out["checks"][-3:]} == {"repo_checkout"}
    assert _checks(out)["schema_files"]["status"] == PASS


# ------------------------------------------------------------ directories


def test_workdir_failures(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    check = doctor.check_workdir(str(missing))
    assert check.status == FAIL
    assert check.message == f"workdir not accessible: stat {missing}: no such file or directory"
    assert check.fix_command == f"mkdir -p '{missing}'"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    check = doctor.check_workdir(str(a_file))
    assert (check.status, check.message) == (FAIL, "workdir is not a directory")
    # the probe file's name taken by a folder: the write fails (as root too)
    (tmp_path / ".gait-doctor-writecheck").mkdir()
    check = doctor.check_workdir(str(tmp_path))
    assert check.status == FAIL
    assert check.message == (
        f"workdir not writable: open {tmp_path}/.gait-doctor-writecheck: is a directory"
    )
    assert check.fix_command == f"chmod u+w '{tmp_path}'"


def test_output_dir_states(tmp_path: Path) -> None:
    a_file = tmp_path / "out"
    a_file.write_text("x")
    check = doctor.check_output_dir(str(a_file))
    assert (check.status, check.message, check.fix_command) == (
        FAIL,
        "output path is not a directory",
        "",
    )
    check = doctor.check_output_dir(str(tmp_path / "it's"))
    assert check.status == WARN and check.fix_command == f"mkdir -p '{tmp_path}/it'\\''s'"
    assert doctor.output_path("/w", "./gait-out") == "/w/gait-out"
    assert doctor.output_path(".", "./gait-out") == "gait-out"
    assert doctor.output_path("/w", "/abs//out/") == "/abs/out"


def test_output_dir_is_under_workdir(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = work / "project"
    (project / "gait-out").mkdir(parents=True)
    _, out = run_json(capsys, "doctor", "--workdir", str(project))
    assert _checks(out)["output_dir"]["status"] == PASS


def test_temp_dir_is_tmpdir_without_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "gone"))
    check = doctor.check_temp_dir()
    assert check.status == FAIL
    assert check.message.startswith(f"temporary directory is not writable: open {tmp_path}/gone/")
    assert check.message.endswith(": no such file or directory")
    assert check.fix_command == f"chmod u+w '{tmp_path}/gone'"
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert doctor.check_temp_dir().message == "temporary directory is writable"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ registry cache


def test_registry_cache_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOME")
    check = doctor.check_registry_cache()
    assert check.status == WARN
    assert check.message == "unable to resolve user home for registry cache: $HOME is not defined"
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".gait" / "registry"
    cache.parent.mkdir()
    cache.write_text("x")
    check = doctor.check_registry_cache()
    assert (check.status, check.message) == (FAIL, "registry cache path is not a directory")
    cache.unlink()
    cache.mkdir()
    assert doctor.check_registry_cache().message == "registry cache is accessible"
    digest = "a" * 64
    (cache / "pins").mkdir()
    (cache / "pins" / "pack.pin").write_text(f"sha256:{digest.upper()}\n")
    (cache / "pins" / "bad.pin").write_text("sha256:" + "z" * 64)
    check = doctor.check_registry_cache()
    assert check.status == WARN
    assert check.message == "registry cache has 2 inconsistent pin entries"
    assert check.fix_command == f"gait registry list --cache-dir '{cache}'"
    (cache / "pins" / "bad.pin").unlink()
    metadata = cache / "pack" / "1.0.0" / digest / "registry_pack.json"
    metadata.parent.mkdir(parents=True)
    metadata.write_text("{}")
    check = doctor.check_registry_cache()
    assert (check.status, check.message) == (PASS, "registry cache healthy (1 pinned pack(s))")


def test_registry_cache_after_a_real_install(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = Signer(work)
    source, digest = signer.write(base_manifest())
    code, _ = run_json(
        capsys,
        "registry",
        "install",
        "--source",
        str(source),
        "--public-key",
        str(signer.public_key_path),
    )
    assert code == 0
    code, out = run_json(capsys, "doctor")
    assert _checks(out)["registry_cache"]["message"] == "registry cache healthy (1 pinned pack(s))"
    cache = Path(os.environ["HOME"]) / ".gait" / "registry"
    (cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json").unlink()
    code, out = run_json(capsys, "doctor")
    assert _checks(out)["registry_cache"]["status"] == WARN
    assert f"gait registry list --cache-dir '{cache}'" in out["fix_commands"]


# ------------------------------------------------------------ rate-limit lock


def test_rate_limit_lock_states(tmp_path: Path) -> None:
    out = tmp_path / "gait-out"
    out.mkdir()
    check = doctor.check_rate_limit_lock(str(out), str(tmp_path))
    assert (check.status, check.message) == (PASS, "no stale gate rate-limit lock detected")
    lock = out / "gate_rate_limits.json.lock"
    lock.write_text("")
    mtime = lock.stat().st_mtime_ns
    check = doctor.check_rate_limit_lock(str(out), str(tmp_path), now_ns=mtime + 10**9)
    assert (check.status, check.message) == (PASS, "gate rate-limit lock is not stale")
    check = doctor.check_rate_limit_lock(str(out), str(tmp_path), now_ns=mtime + 301_500_000_000)
    assert check.status == WARN
    assert check.message == "stale gate rate-limit lock detected (5m1s old)"
    assert check.fix_command == f"rm -f '{lock}'"
    lock.unlink()
    lock.mkdir()
    check = doctor.check_rate_limit_lock(str(out), str(tmp_path))
    assert (check.status, check.message) == (WARN, "gate rate-limit lock path is a directory")


def test_rate_limit_lock_of_the_default_state_location(tmp_path: Path) -> None:
    lock = tmp_path / ".gait-out" / "gate_rate_limits.json.lock"
    lock.parent.mkdir()
    lock.write_text("")
    os.utime(lock, (1, 1))
    check = doctor.check_rate_limit_lock(str(tmp_path / "gait-out"), str(tmp_path))
    assert check.status == WARN and check.fix_command == f"rm -f '{lock}'"


# ------------------------------------------------------------ binary


def test_binary_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    info = doctor.binary_info(argv0="python")
    assert info["binary_path_source"] == "none" and info["binary_path"] == ""
    check = doctor.check_binary(info, str(tmp_path))
    assert (check.status, check.message) == (
        WARN,
        "gait binary not found; onboarding commands may fail",
    )
    good = _fake_gait(tmp_path / "good", "gait 1.2.3")
    info = doctor.binary_info(argv0=str(good))
    assert info["binary_path_source"] == "argv0"
    check = doctor.check_binary(info, str(tmp_path))
    assert check.status == PASS
    assert check.message == f"gait binary ready (path={good} version=gait 1.2.3)"
    odd = _fake_gait(tmp_path / "odd", "hello")
    check = doctor.check_binary(doctor.binary_info(argv0=str(odd)), str(tmp_path))
    assert (
        check.message
        == f"gait binary version check failed ({odd}): unexpected version output: hello"
    )
    failing = _fake_gait(tmp_path / "failing", "gait 1", code=3)
    check = doctor.check_binary(doctor.binary_info(argv0=str(failing)), str(tmp_path))
    assert check.message == f"gait binary version check failed ({failing}): exit status 3"
    good.chmod(0o644)
    check = doctor.check_binary(doctor.binary_info(argv0=str(good)), str(tmp_path))
    assert check.status == WARN and check.fix_command == f"chmod +x '{good}'"
    # found in the workdir when not on PATH
    local = _fake_gait(tmp_path / "proj")
    check = doctor.check_binary(doctor.binary_info(argv0="python"), str(tmp_path / "proj"))
    assert check.status == PASS and f"path={local} " in check.message


def test_version_probe_feeds_no_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "bin" / "gait"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\necho "gait x${GAIT_ADOPTION_LOG}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(tmp_path / "a.jsonl"))
    check = doctor.check_binary(doctor.binary_info(argv0=str(script)), str(tmp_path))
    assert check.message.endswith("version=gait x)")


# ------------------------------------------------------------ keys


def test_key_source_ambiguity() -> None:
    check = doctor.check_key_ambiguity(Keys("dev", private_key="a", private_key_env="B"))
    assert (check.status, check.message, check.fix_command) == (
        FAIL,
        "private key path and env are both set",
        "set only one of --private-key or --private-key-env",
    )
    check = doctor.check_key_ambiguity(Keys("dev", public_key="a", public_key_env="B"))
    assert check.message == "public key path and env are both set"
    assert (
        doctor.check_key_ambiguity(Keys("dev", private_key=" ", private_key_env="B")).status == PASS
    )


def test_key_permissions(tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    check = doctor.check_key_permissions(Keys("prod", private_key=str(missing)))
    assert check.status == WARN
    assert (
        check.message
        == f"key file not accessible: {missing} (stat {missing}: no such file or directory)"
    )
    assert check.fix_command == f"ls -l '{missing}'"
    check = doctor.check_key_permissions(Keys("prod", public_key=str(tmp_path)))
    assert check.message == f"key path is a directory: {tmp_path}"
    key = tmp_path / "k"
    key.write_text("x")
    key.chmod(0o666)
    check = doctor.check_key_permissions(Keys("prod", private_key=str(key)))
    assert check.message == f"key file is writable by group/others: {key}"
    assert check.fix_command == f"chmod go-w '{key}'"
    for mode in (0o600, 0o644):  # only write access for others is flagged, as the reference does
        key.chmod(mode)
        check = doctor.check_key_permissions(Keys("prod", private_key=str(key)))
        assert (check.status, check.message) == (PASS, "key file permissions are strict")


def test_key_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check = doctor.check_key_config(Keys("PROD2"))
    assert (check.status, check.message, check.fix_command) == (
        FAIL,
        "unsupported key mode: prod2",
        "use --key-mode dev or --key-mode prod",
    )
    check = doctor.check_key_config(Keys("dev", public_key="x"))
    assert (check.status, check.message) == (WARN, "dev mode ignores explicit key sources")
    check = doctor.check_key_config(Keys("prod"))
    assert check.status == FAIL
    assert (
        check.message == "invalid prod signing key config: prod mode requires a private key source"
    )
    for name in ("a", "b"):
        code, _ = run_json(capsys, "keys", "init", "--out-dir", str(tmp_path / name))
        assert code == 0
    private = str(tmp_path / "a" / "gait_private.key")
    check = doctor.check_key_config(
        Keys(" Prod ", private_key=private, public_key=str(tmp_path / "a" / "gait_public.key"))
    )
    assert (check.status, check.message) == (PASS, "prod key configuration is valid")
    check = doctor.check_key_config(
        Keys("prod", private_key=private, public_key=str(tmp_path / "b" / "gait_public.key"))
    )
    assert check.status == FAIL
    assert check.message == "invalid verify key config: public key does not match private key"
    check = doctor.check_key_config(
        Keys("prod", private_key=private, public_key=str(tmp_path / "none.key"))
    )
    assert check.message.startswith("invalid verify key config: read public key:")


# ------------------------------------------------------------ production readiness

PROD = """\
gate:
  policy: .gait.yaml
  profile: oss-prod
  key_mode: prod
retention:
  trace_ttl: 168h
  session_ttl: 72h
  export_ttl: 24h
mcp_serve:
  enabled: true
  listen: 127.0.0.1:8787
  max_request_bytes: 1048576
  http_verdict_status: strict
"""
PRODUCTION = [
    "production_readiness_config",
    "production_profile",
    "production_key_mode",
    "production_context_strictness",
    "production_retention",
    "production_service_boundary",
]


def _production(workdir: Path, text: str | None) -> dict[str, doctor.Check]:
    if text is not None:
        (workdir / ".gait").mkdir(exist_ok=True)
        (workdir / ".gait" / "config.yaml").write_text(text)
    return {c.name: c for c in doctor.production_checks(str(workdir))}


def test_production_without_config(tmp_path: Path) -> None:
    checks = _production(tmp_path, None)
    assert list(checks) == PRODUCTION
    assert checks["production_readiness_config"].message == "missing .gait/config.yaml"
    assert checks["production_readiness_config"].fix_command == (
        "cp examples/config/oss_prod_template.yaml '.gait/config.yaml'"
    )
    assert checks["production_profile"].message == (
        "gate.profile must be oss-prod for production readiness"
    )
    assert checks["production_context_strictness"].message == (
        "strict context enforcement requires gate.profile=oss-prod"
    )
    assert checks["production_retention"].fix_command == (
        "set retention trace/session/export TTLs in '.gait/config.yaml'"
    )
    assert checks["production_service_boundary"].status == PASS


def test_production_config_that_does_not_parse(tmp_path: Path) -> None:
    checks = _production(tmp_path, "gate: [unclosed\n")
    assert list(checks) == ["production_readiness_config"]
    check = checks["production_readiness_config"]
    assert check.message.startswith("failed to parse .gait/config.yaml: parse project config")
    assert check.fix_command == "edit '.gait/config.yaml' and fix yaml syntax"
    checks = _production(tmp_path, "gate: a string\n")
    assert checks["production_readiness_config"].message == (
        "failed to parse .gait/config.yaml: parse project config: gate must be a mapping"
    )


def test_production_passes_and_each_boundary_rule(tmp_path: Path) -> None:
    checks = _production(tmp_path, PROD)
    assert [c.status for c in checks.values()] == [PASS] * 6
    assert checks["production_service_boundary"].message == (
        "service boundary hardening settings are configured"
    )
    cases = [
        (
            PROD.replace("127.0.0.1:8787", "0.0.0.0:8787"),
            "non-loopback mcp_serve.listen requires mcp_serve.auth_mode=token",
        ),
        (
            PROD.replace("127.0.0.1:8787", "10.0.0.1:1").replace(
                "enabled: true", "enabled: true\n  auth_mode: TOKEN"
            ),
            "mcp_serve.auth_mode=token requires mcp_serve.auth_token_env",
        ),
        (
            PROD.replace("max_request_bytes: 1048576", "max_request_bytes: 0"),
            "mcp_serve.max_request_bytes must be >0 and <=4194304",
        ),
        (
            PROD.replace("http_verdict_status: strict", "http_verdict_status: compat"),
            "mcp_serve.http_verdict_status must be strict in production",
        ),
    ]
    for text, message in cases:
        check = _production(tmp_path, text)["production_service_boundary"]
        assert (check.status, check.message) == (FAIL, message), text
    check = _production(tmp_path, PROD.replace("127.0.0.1:8787", "localhost"))[
        "production_service_boundary"
    ]
    assert check.message == (
        "invalid mcp_serve.listen: invalid listen address: address localhost: "
        "missing port in address"
    )
    check = _production(tmp_path, PROD + "  allow_client_artifact_paths: true\n")[
        "production_service_boundary"
    ]
    assert check.message == "mcp_serve.allow_client_artifact_paths must be false in production"
    for loopback in ("[::1]:9", "LOCALHOST:9", "127.0.0.2:9", "[::ffff:127.0.0.1]:9"):
        assert doctor.is_loopback_listen(loopback), loopback
    assert not doctor.is_loopback_listen("example.com:9")


def test_production_retention_and_context(tmp_path: Path) -> None:
    check = _production(tmp_path, PROD.replace("72h", "a week"))["production_retention"]
    assert (check.status, check.message) == (
        FAIL,
        'invalid retention.session_ttl: time: invalid duration "a week"',
    )
    check = _production(tmp_path, PROD.replace("  export_ttl: 24h\n", ""))["production_retention"]
    assert check.message == (
        "retention.trace_ttl, retention.session_ttl, and retention.export_ttl are required"
    )
    check = _production(tmp_path, PROD.replace("  policy: .gait.yaml\n", ""))[
        "production_context_strictness"
    ]
    assert check.message == "gate.policy must be set for strict context enforcement"
    assert check.fix_command == "set gate.policy in '.gait/config.yaml'"


def test_production_readiness_cli(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "gait-out").mkdir()
    code, out = run_json(capsys, "doctor", "--production-readiness")
    assert code == 2 and out["ok"] is False and out["status"] == FAIL
    names = [c["name"] for c in out["checks"]]
    assert names == [
        "workdir",
        "output_dir",
        "job_runtime_durability",
        "temp_dir",
        "key_source_ambiguity",
        "key_permissions",
        "key_config",
        *PRODUCTION,
    ]
    _production(work, PROD)
    code, out = run_json(capsys, "doctor", "--production-readiness")
    assert code == 0 and out["status"] == PASS and out["ok"] is True
    # a folder other than the current one: its config is the one read
    other = work / "other"
    other.mkdir()
    code, out = run_json(capsys, "doctor", "--production-readiness", "--workdir", str(other))
    assert code == 2
    assert _checks(out)["production_readiness_config"]["message"] == "missing .gait/config.yaml"


def test_job_runtime_divergence(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = work / "gait-out" / "jobs" / "job_a" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text("{torn")
    code, out = run_json(capsys, "doctor")
    check = _checks(out)["job_runtime_durability"]
    assert code == 0 and check["status"] == FAIL
    assert check["message"].startswith("divergent durable job state: job_a (")
    assert stat.S_ISREG(state.stat().st_mode)  # doctor only looked
