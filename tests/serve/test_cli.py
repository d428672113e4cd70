"""``gait mcp serve`` start-up: flag validation (exit 6), missing extra (exit 7), lean imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.serve.config import ServeConfig, is_loopback_host, parse_listen, validate_config
from tests.serve.conftest import POLICY


def _config(**kw) -> ServeConfig:
    return ServeConfig(policy=str(POLICY), **kw)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:9000", ("::1", 9000)),
        (":8080", ("", 8080)),
    ],
)
def test_parse_listen_accepts_host_port(listen, expected):
    assert parse_listen(listen) == expected


@pytest.mark.parametrize(
    "listen", ["8787", "host:", "a:b", "[::1:80", "::1:80", "h:99999", "bad host:1"]
)
def test_parse_listen_rejects_garbage(listen):
    with pytest.raises(InvalidInput, match="invalid --listen address"):
        parse_listen(listen)


def test_loopback_means_localhost_or_a_loopback_ip():
    assert is_loopback_host("localhost") and is_loopback_host("127.0.0.2")
    assert is_loopback_host("::1")
    assert not is_loopback_host("") and not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("example.com")


@pytest.mark.parametrize(
    ("kw", "env", "message"),
    [
        ({"listen": "0.0.0.0:8787"}, {}, "non-loopback address"),
        ({"listen": ":8787"}, {}, "non-loopback address"),
        ({"auth_mode": "basic"}, {}, "unsupported --auth-mode"),
        ({"auth_mode": "token"}, {}, "--auth-mode token requires --auth-token-env"),
        ({"auth_mode": "token", "auth_token_env": "T"}, {"T": "  "}, "is not set or empty"),
        ({"max_request_bytes": 0}, {}, "--max-request-bytes must be > 0"),
        ({"http_verdict_status": "loose"}, {}, "unsupported --http-verdict-status"),
    ],
)
def test_startup_validation_rejects(kw, env, message):
    with pytest.raises(InvalidInput, match=message):
        validate_config(_config(**kw), env)


def test_non_loopback_with_token_auth_is_allowed():
    cfg = validate_config(
        _config(listen="0.0.0.0:8787", auth_mode="TOKEN", auth_token_env="T"), {"T": "x"}
    )
    assert cfg.auth_mode == "token"


def _gait(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "gait.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--listen", "0.0.0.0:8787"], "without --auth-mode token"),
        (["--trace-max-age", "soon"], "invalid --trace-max-age"),
        (["--session-max-count", "-1"], "--session-max-count must be >= 0"),
        (["--listen", "nope"], "invalid --listen address"),
    ],
)
def test_cli_reports_bad_flags_with_exit_6(flags, message):
    result = _gait("mcp", "serve", "--policy", str(POLICY), "--json", *flags)
    assert result.returncode == 6, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and message in payload["error"]


def test_oss_prod_needs_prod_keys_before_anything_listens():
    result = _gait("mcp", "serve", str(POLICY), "--profile", "oss-prod", "--listen", "127.0.0.1:0")
    assert result.returncode == 6
    assert "oss-prod profile requires --key-mode prod" in result.stderr
    assert "listening" not in result.stdout


def test_cli_reports_a_bad_policy_with_exit_6(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("rules: [oops\n")
    result = _gait("mcp", "serve", str(bad), "--listen", "127.0.0.1:0")
    assert result.returncode == 6
    assert "Traceback" not in result.stderr


def test_missing_serve_extra_is_exit_7_with_the_install_hint(monkeypatch, capsys):
    from gait.cli.main import main

    monkeypatch.setitem(sys.modules, "starlette", None)  # as if the extra were not installed
    code = main(["mcp", "serve", "--policy", str(POLICY), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 7
    assert "pip install 'gait[serve]'" in payload["error"]
    assert payload["error_code"] == "dependency_missing"


def test_help_imports_no_web_framework():
    probe = (
        "import sys\n"
        "from gait.cli.main import main\n"
        "for argv in (['--help'], ['mcp', '--help'], ['mcp', 'serve', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'anyio', 'httpx', 'mcp') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("HEAVY="), result.stdout[-300:]


def test_serve_help_describes_every_option():
    result = _gait("mcp", "serve", "--help")
    assert result.returncode == 0
    for flag in (
        "--listen",
        "--auth-mode",
        "--auth-token-env",
        "--max-request-bytes",
        "--http-verdict-status",
        "--trace-dir",
        "--trace-max-age",
        "--state",
        "--json",
    ):
        assert flag in result.stdout


def test_access_log_goes_to_stderr_and_stdout_keeps_only_the_ready_line(start_server):
    import httpx

    server = start_server("--access-log")
    assert httpx.get(server.url + "/healthz", timeout=60).status_code == 200
    assert server.stop() == 0
    assert '"GET /healthz HTTP/1.1" 200' in server.stderr_text()
    assert server.stdout_rest == b""  # nothing after the ready line on stdout


ENVELOPE = {
    "schema_id": "gait.context.envelope",
    "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z",
    "context_set_id": "ctx_set_serve",
    "evidence_mode": "required",
    "records": [],
}


def test_context_envelope_is_verified_once_and_applied_to_every_call(tmp_path, monkeypatch):
    from gait.serve.request import decode_request
    from gait.serve.service import DecisionService
    from tests.serve.conftest import call_body

    monkeypatch.chdir(tmp_path)
    (tmp_path / "env.json").write_text(json.dumps(ENVELOPE))
    config = validate_config(
        _config(context_envelope=" env.json ", trace_dir=str(tmp_path / "traces")), {}
    )
    assert config.context_envelope == "env.json"
    service = DecisionService(config)
    (tmp_path / "env.json").unlink()  # read at start-up, not per request
    try:
        for tool in ("tool.read", "tool.write"):
            request = decode_request(json.dumps(call_body(tool)).encode())
            _status, body = service.evaluate(request)
            trace = json.loads(Path(body["trace_path"]).read_text())
            assert trace["context_source"] == "context_envelope", trace
            assert trace["context_evidence_mode"] == "required"
    finally:
        service.close()


def test_context_envelope_that_does_not_verify_stops_start_up(tmp_path):
    (tmp_path / "env.json").write_text(json.dumps({**ENVELOPE, "context_set_digest": "0" * 64}))
    result = _gait(
        "mcp", "serve", str(POLICY), "--listen", "127.0.0.1:0",
        "--context-envelope", str(tmp_path / "env.json"),
    )  # fmt: skip
    assert result.returncode == 6, result.stderr
    assert "--context-envelope" in result.stderr and "context_set_digest mismatch" in result.stderr
    assert "listening" not in result.stdout
