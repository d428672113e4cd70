"""`gait mcp wrap` start-up: flag validation, exit codes, JSON errors, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

POLICY = str(Path(__file__).resolve().parent / "fixtures" / "wrap_policy.yaml")


def wrap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "mcp", "wrap", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--json", POLICY), 6, "missing wrapped MCP server command"),
        (("--json", "--", "x"), 6, "--policy is required"),
        (("--json", POLICY, "extra", "--", "x"), 6, "put the wrapped server command after --"),
        (("--json", "/no/such/policy.yaml", "--", "x"), 6, "no such file"),
        (("--json", "--profile", "oss-prod", POLICY, "--", "x"), 6, "--identity, --workspace"),
        (
            (
                "--json",
                "--profile",
                "oss-prod",
                "--identity",
                "a",
                "--workspace",
                "/w",
                "--session-id",
                "s",
                POLICY,
                "--",
                "x",
            ),
            6,
            "oss-prod profile requires key_mode prod",
        ),
        (("--json", POLICY, "--", "/no/such/server"), 1, "cannot start wrapped MCP server"),
        (
            # a server that never answers is stopped after --startup-timeout
            (
                "--json",
                "--startup-timeout",
                "0.5",
                POLICY,
                "--",
                sys.executable,
                "-c",
                "import time; time.sleep(60)",
            ),
            1,
            "did not complete the MCP handshake within 0.5s",
        ),
        (
            ("--json", POLICY, "--", sys.executable, "-c", "pass"),
            1,
            "failed during startup",
        ),
    ],
)
def test_start_up_errors_exit_with_one_json_line(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    out = wrap(*args, cwd=tmp_path)
    assert out.returncode == code, out.stdout + out.stderr
    (line,) = out.stdout.splitlines()
    payload = json.loads(line)
    assert payload["ok"] is False
    assert message in payload["error"]
    assert "Traceback" not in out.stderr


def test_server_arguments_after_the_separator_are_not_parsed_as_gait_flags(
    tmp_path: Path,
) -> None:
    # `--json` and `--policy` after `--` belong to the wrapped command (which then fails
    # the handshake): gait must neither read them nor print JSON for them.
    out = wrap(POLICY, "--", sys.executable, "-c", "pass", "--json", "--policy", "x", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == ""
    assert "mcp wrap error: wrapped MCP server" in out.stderr


def test_help_describes_every_option(tmp_path: Path) -> None:
    out = wrap("--help", cwd=tmp_path)
    assert out.returncode == 0
    for flag in ("--policy", "--trace-dir", "--key-mode", "--approval-public-key", "--state"):
        assert flag in out.stdout
    assert "SERVER_COMMAND" in out.stdout


def test_missing_mcp_sdk_exits_7(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from gait.cli.main import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a)
    )
    code = main(["mcp", "wrap", "--json", POLICY, "--", "x"])
    assert code == 7
    payload = json.loads(capsys.readouterr().out)
    assert 'pip install "gait[mcp]"' in payload["error"]
