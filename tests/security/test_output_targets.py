"""Issue 11 B11: outputs never replace devices, FIFOs or symlinks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.fsutil import atomic_write

POLICY = "rules:\n  - {name: a, effect: allow}\n"
INTENT = {
    "tool_name": "t",
    "args": {},
    "context": {"identity": "a", "workspace": "/w", "risk_class": "low"},
}


def test_trace_out_fifo_is_refused_and_kept(tmp_path: Path, capsys) -> None:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "i.json").write_text(json.dumps(INTENT), encoding="utf-8")
    fifo = tmp_path / "node"
    os.mkfifo(fifo)
    code = main(
        [
            "gate", "eval", "--policy", str(tmp_path / "p.yaml"), "--intent",
            str(tmp_path / "i.json"), "--trace-out", str(fifo), "--no-config", "--json",
        ]
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 6, payload
    assert "not a regular file" in payload["error"]
    assert fifo.is_fifo()


def test_character_device_is_never_replaced() -> None:
    with pytest.raises(InvalidInput, match="not a regular file"):
        atomic_write("/dev/null", b"x")
    assert Path("/dev/null").is_char_device()


def test_policy_fmt_write_goes_through_a_symlink(tmp_path: Path, capsys) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("rules:\n  -   {name: a,   effect: allow}\n", encoding="utf-8")
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    code = main(["policy", "fmt", str(link), "--write", "--json"])
    capsys.readouterr()
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == "real.yaml"
    assert real.read_text(encoding="utf-8") == (
        "schema_id: gait.gate.policy\n"
        "schema_version: 1.0.0\n"
        "default_verdict: require_approval\n"
        "rules:\n"
        "  - name: a\n"
        "    effect: allow\n"
    )
