"""Issue 11 B9 in ``trace verify``: well-formed but too deep is a failed check (exit 2).

Bytes that are not JSON at all stay invalid input (exit 6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.signing import write_public_key
from gait.trace import build_trace_record, sign_trace


def _trace(tmp_path: Path, key, edit) -> Path:
    record = sign_trace(
        build_trace_record(
            policy_digest="a" * 64,
            intent_digest="b" * 64,
            args_digest="c" * 64,
            tool_name="t",
            verdict="allow",
            observed_at="2026-01-01T00:00:00Z",
        ),
        key,
    )
    path = tmp_path / "trace.json"
    path.write_text(edit(json.dumps(record)), encoding="utf-8")
    write_public_key(tmp_path / "pub.key", key)
    return path


@pytest.mark.parametrize(
    ("edit", "code", "needle"),
    [
        (lambda t: t, 0, ""),
        (lambda t: t.replace("{", '{"deep": ' + "[" * 1200 + "]" * 1200 + ", ", 1), 2, "nesting"),
        (lambda t: t.replace("{", '{"tool_name": "x", ', 1), 2, "duplicate key"),
        (lambda t: "not json at all", 6, "invalid JSON"),
    ],
    ids=["intact", "deep", "repeated-key", "not-json"],
)
def test_trace_verify_exit_codes(tmp_path: Path, fixed_key, capsys, edit, code, needle) -> None:
    path = _trace(tmp_path, fixed_key, edit)
    got = main(["trace", "verify", str(path), "--public-key", str(tmp_path / "pub.key"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert got == code, payload
    assert payload["ok"] is (code == 0)
    if needle:
        assert needle in payload["error"]
