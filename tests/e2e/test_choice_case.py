"""``--profile`` and ``--key-mode`` are case-sensitive on every surface (exit 6, same words)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gait.cli.main import main

REPO = Path(__file__).resolve().parents[2]
POLICY = str(REPO / "examples" / "policy" / "base_low_risk.yaml")
HEX = "a" * 64


def _call(tmp_path: Path) -> str:
    path = tmp_path / "call.json"
    path.write_text(json.dumps({"name": "tool.read", "args": {"path": "/tmp/x"}}))
    return str(path)


def _argv(surface: str, flag: str, value: str, tmp_path: Path) -> list[str]:
    if surface == "proxy":
        return ["mcp", "proxy", "--policy", POLICY, "--call", _call(tmp_path), flag, value]
    if surface == "serve":
        return ["mcp", "serve", "--policy", POLICY, "--listen", "127.0.0.1:0", flag, value]
    if surface == "wrap":
        return ["mcp", "wrap", "--policy", POLICY, flag, value, "--", sys.executable, "-c", "0"]
    if surface == "approve":
        return [
            "approve", "--intent-digest", HEX, "--policy-digest", HEX, "--ttl", "1h",
            "--scope", "tool:tool.write", "--approver", "alice", "--reason-code", "CHG-1",
            "--out", str(tmp_path / "a.json"), flag, value,
        ]  # fmt: skip
    return [
        "delegate", "mint", "--delegator", "alice", "--delegate", "bot", "--scope",
        "tool:tool.write", "--ttl", "1h", "--out", str(tmp_path / "d.json"), flag, value,
    ]  # fmt: skip


CASES = [
    (surface, "--profile", "OSS-PROD", 'unsupported --profile value "OSS-PROD"')
    for surface in ("proxy", "serve", "wrap")
] + [
    (surface, "--key-mode", "PROD", 'unsupported key mode: "PROD"')
    for surface in ("proxy", "serve", "wrap", "approve", "delegate")
]


@pytest.mark.parametrize(("surface", "flag", "value", "message"), CASES)
def test_upper_case_choice_is_exit_6(surface, flag, value, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = _argv(surface, flag, value, tmp_path)
    at = 1 if surface == "approve" else 2  # before `--` (wrap)
    code = main([*argv[:at], "--json", *argv[at:]])
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 6
    assert message in payload["error"]
    assert list(tmp_path.glob("trace_*")) == []  # refused before deciding anything


@pytest.mark.parametrize("surface", ["approve", "delegate"])
def test_lower_case_key_mode_still_mints(surface, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # the dev key lives under HOME
    code = main([*_argv(surface, "--key-mode", "dev", tmp_path), "--json"])
    assert code == 0, capsys.readouterr().out


def test_library_decoder_is_case_sensitive_too() -> None:
    from gait.errors import InvalidInput
    from gait.mcp import decode_tool_call

    with pytest.raises(InvalidInput, match='unsupported --profile value "OSS-PROD"'):
        decode_tool_call({"name": "tool.read"}, profile="OSS-PROD")
    assert decode_tool_call({"name": "tool.read"}, profile=" standard ").adapter == "mcp"
