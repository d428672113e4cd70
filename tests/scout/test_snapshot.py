"""scout snapshot / diff as the original (cmd/gait/scout.go, core/scout snapshot/coverage/diff)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.scout.snapshot import build_coverage, build_snapshot, classify_risk, diff_snapshots
from tests.inproc import run_cli as _cli

LANGCHAIN = """\
from langchain.tools import tool

@tool
def search_docs(query: str) -> str:
    return query

def delete_record(record_id: str) -> None:
    pass
"""

OPENAI = """\
from agents import Agent
agent = Agent(name="helper", tools=[lookup])
"""

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - {name: reads, effect: allow, match: {tool_names: [search_docs, github]}, reason_codes: [ok]}
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    app = Path("app")
    (app / "node_modules").mkdir(parents=True)
    (app / "agent.py").write_text(LANGCHAIN)
    (app / "oa.py").write_text(OPENAI)
    (app / "plain.py").write_text("def helper():\n    pass\n")
    (app / "claude.json").write_text('{"mcpServers": {"github": {}, "payments-prod": {}}}')
    (app / "package.json").write_text("{not json")  # not an MCP file: skipped
    (app / "mcp.yaml").write_text("servers:\n  fs: {}\n")
    (app / "node_modules" / "mcp.json").write_text("{broken")  # skipped directory
    Path("policy.yaml").write_text(POLICY)
    return app


def test_snapshot_items_and_id(tree: Path) -> None:
    snap = build_snapshot(["app"], created_at="2026-01-01T00:00:00Z")
    ids = [item["id"] for item in snap["items"]]
    assert ids == [
        "mcp_server:fs",
        "mcp_server:github",
        "mcp_server:payments_prod",
        "tool:framework:langchain:delete_record",
        "tool:framework:langchain:search_docs",
        "tool:framework:openai_agents:helper",
        "tool:framework:openai_agents:oa",
    ]
    by_id = {item["id"]: item for item in snap["items"]}
    assert by_id["mcp_server:payments_prod"] == {
        "id": "mcp_server:payments_prod",
        "kind": "mcp_server",
        "name": "payments-prod",
        "locator": "app/claude.json",
        "risk_level": "critical",
        "tags": ["mcp"],
    }
    assert by_id["tool:framework:langchain:delete_record"]["locator"] == "app/agent.py"
    assert snap["workspace"] == "app" and snap["snapshot_id"].startswith("snap_")
    again = build_snapshot(["app/", "app"], created_at="2027-01-01T00:00:00Z")
    assert again["snapshot_id"] == snap["snapshot_id"]  # the clock is not part of the id


def test_risk_and_patterns(tree: Path) -> None:
    assert [classify_risk(n) for n in ("wire_funds", "send_email", "lookup")] == [
        "critical",
        "high",
        "low",
    ]
    # patterns match the whole path as Go's filepath.Match (no "/" in "*") or a substring
    only_json = build_snapshot(["app"], include=["app/*.json"])
    assert {i["locator"] for i in only_json["items"]} == {"app/claude.json"}
    assert build_snapshot(["app"], include=["*.json"])["items"] == []
    no_agent = build_snapshot(["app"], exclude=["agent.py"])
    assert not [i for i in no_agent["items"] if "langchain" in i["id"]]
    (tree / "mcp_broken.json").write_text("{oops")
    with pytest.raises(InvalidInput, match="parse mcp json"):
        build_snapshot(["app"])
    with pytest.raises(InvalidInput, match="root is not a directory"):
        build_snapshot(["policy.yaml"])


def test_coverage(tree: Path) -> None:
    snap = build_snapshot(["app"])
    report = build_coverage(snap, ["policy.yaml"])
    assert (report["discovered_tools"], report["gated_tools"]) == (7, 2)
    assert report["coverage_percent"] == 28.57
    assert report["high_risk_ungated_tool_ids"] == [
        "mcp_server:payments_prod",
        "tool:framework:langchain:delete_record",
    ]
    assert build_coverage({"items": []}, ["policy.yaml"])["coverage_percent"] == 100
    with pytest.raises(InvalidInput, match=r"load policy missing\.yaml"):
        build_coverage(snap, ["missing.yaml"])


def test_diff() -> None:
    item = {"id": "tool:a", "kind": "tool", "name": "a", "locator": "x.py", "risk_level": "low"}
    left = {"snapshot_id": "snap_l", "items": [item, {**item, "id": "tool:gone"}]}
    moved = {**item, "locator": "y.py", "tags": ["t"]}
    right = {"snapshot_id": "snap_r", "items": [moved, {**item, "id": "tool:new"}]}
    diff = diff_snapshots(left, right)
    assert [d["id"] for d in diff["added"]] == ["tool:new"]
    assert [d["id"] for d in diff["removed"]] == ["tool:gone"]
    assert diff["changed"] == [
        {
            "id": "tool:a",
            "kind": "tool",
            "name": "a",
            "before_locator": "x.py",
            "after_locator": "y.py",
            "before_risk_level": "low",
            "after_risk_level": "low",
        }
    ]
    assert (diff["added_count"], diff["removed_count"], diff["changed_count"]) == (1, 1, 1)
    same = diff_snapshots(left, left)
    assert "added" not in same and same["changed_count"] == 0


def test_cli_snapshot_and_diff(tree: Path) -> None:
    code, text = _cli("scout", "snapshot", "--roots", "app", "--policy", "policy.yaml", "--json")
    out = json.loads(text)
    sid = out["snapshot_id"]
    assert code == 0 and out["items"] == 7
    assert out["snapshot_path"] == f"./gait-out/inventory_snapshot_{sid}.json"
    assert out["coverage_path"] == f"./gait-out/inventory_coverage_{sid}.json"
    assert json.loads(Path(out["coverage_path"]).read_text()) == out["coverage"]
    code, text = _cli("scout", "snapshot", "--roots", "app", "--policy", "policy.yaml")
    assert text.splitlines() == [
        f"scout snapshot ok: ./gait-out/inventory_snapshot_{sid}.json",
        "coverage: discovered=7 gated=2 high_risk_ungated=2 coverage_percent=28.57",
    ]
    first = out["snapshot_path"]
    (tree / "tool2.py").write_text("from agents import x\ndef transfer_funds():\n    pass\n")
    code, text = _cli("scout", "snapshot", "--roots", "app", "--out", "new.json", "--json")
    assert code == 0 and json.loads(text)["snapshot_path"] == "new.json"
    code, text = _cli("scout", "diff", first, "new.json", "--out", "d.json", "--json")
    diff = json.loads(text)
    assert code == 2 and diff["ok"] is False and diff["output_path"] == "d.json"
    assert diff["diff"]["added"][0]["id"] == "tool:framework:openai_agents:transfer_funds"
    assert json.loads(Path("d.json").read_text()) == diff["diff"]
    code, text = _cli("scout", "diff", "--left", first, "--right", first)
    assert code == 0 and text == f"scout diff ok: {first} vs {first}\n"
    code, text = _cli("scout", "diff", first, "--json")
    assert code == 6
    assert json.loads(text)["error"] == "expected <left_snapshot.json> <right_snapshot.json>"
