"""Surfaces share one implementation of each step instead of keeping their own copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
POLICY = str(REPO / "examples" / "policy" / "base_low_risk.yaml")


def test_sdk_run_ids_follow_the_proxy_rule() -> None:
    from gait.mcp.proxy import normalize_run_id
    from gait.sdk import names

    assert names.normalize_run_id is normalize_run_id
    assert names.normalize_run_id(" my run/1 ") == "run_my_run_1"


def test_mcp_proxy_pack_out_is_built_by_the_serve_pack_function(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    import gait.serve.packs as packs
    from gait.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    real = packs.write_decision_pack
    calls: list[str] = []

    def spy(gate: Any, result: Any, out: str) -> tuple[str, str]:
        calls.append(out)
        return real(gate, result, out)

    monkeypatch.setattr(packs, "write_decision_pack", spy)
    call = tmp_path / "call.json"
    call.write_text(json.dumps({"name": "tool.write", "args": {"path": "/w/a"}}))
    code = main(["mcp", "proxy", POLICY, str(call), "--pack-out", "pack.zip", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0, payload
    assert calls == ["pack.zip"]
    assert Path(payload["pack_path"]).is_file() and payload["pack_id"]
    assert main(["pack", "verify", payload["pack_path"], "--json"]) == 0
