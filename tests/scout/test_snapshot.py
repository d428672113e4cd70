"""scout snapshot / diff: tool inventory, policy coverage through the engine, change detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.scout.snapshot import build_snapshot, coverage, diff_snapshots
from tests.inproc import run_cli as _cli

AGENT = """\
from langchain.tools import tool
import mcp

@tool
def search_docs(query: str) -> str:
    return query

@mcp.tool()
@other
async def delete_record(record_id: str) -> None:
    pass

REFUND = Tool(name="payments.refund")
"""

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - {name: reads, effect: allow, match: {tool_names: [search_docs]}, reason_codes: [ok]}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "node_modules").mkdir(parents=True)
    (app / "agent.py").write_text(AGENT)
    (app / "intent.json").write_text('{"tool_name": "tool.fetch"}')
    (app / "node_modules" / "x.json").write_text('{"tool_name": "ignored"}')
    return app


def test_snapshot_finds_tools_and_frameworks(tree: Path) -> None:
    snap = build_snapshot([str(tree)])
    by_name = {t["tool_name"]: t for t in snap["tools"]}
    assert sorted(by_name) == ["delete_record", "payments.refund", "search_docs", "tool.fetch"]
    assert by_name["delete_record"]["tool_class"] == "destructive"
    assert by_name["search_docs"]["locations"] == [
        {"kind": "decorated_function", "line": 5, "path": "agent.py"}
    ]
    assert by_name["tool.fetch"]["locations"][0]["kind"] == "tool_name_field"
    assert snap["frameworks"] == ["langchain", "mcp"] and snap["files_scanned"] == 2
    assert build_snapshot([str(tree)]) == snap  # no clock, stable order


def test_exclude_and_bad_root(tree: Path) -> None:
    snap = build_snapshot([str(tree)], exclude=["*.json"])
    assert "tool.fetch" not in {t["tool_name"] for t in snap["tools"]}
    with pytest.raises(InvalidInput, match="not a directory"):
        build_snapshot([str(tree / "nope")])


def test_coverage_uses_the_engine(tree: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    report = coverage(build_snapshot([str(tree)]), [str(policy)])
    assert report["tools_total"] == 4 and report["tools_covered"] == 1
    assert report["uncovered_tools"] == ["delete_record", "payments.refund", "tool.fetch"]
    entry = next(e for e in report["entries"] if e["tool_name"] == "search_docs")
    assert entry["verdict"] == "allow" and entry["matched_rule"] == "reads"


def test_diff_reports_added_destructive_tools(tree: Path) -> None:
    before = build_snapshot([str(tree)])
    (tree / "more.py").write_text("@tool\ndef purge_all():\n    pass\n")
    after = build_snapshot([str(tree)])
    summary = diff_snapshots(before, after)
    assert summary["changed"] and summary["added_tools"] == ["purge_all"]
    assert summary["added_destructive_tools"] == ["purge_all"]
    assert not diff_snapshots(after, after)["changed"]


def test_cli_snapshot_and_diff(tree: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    s1, s2, cov = tmp_path / "s1.json", tmp_path / "s2.json", tmp_path / "cov.json"
    code, out = _cli(
        "scout",
        "snapshot",
        "--roots",
        str(tree),
        "--out",
        str(s1),
        "--policy",
        str(policy),
        "--coverage-out",
        str(cov),
        "--json",
    )
    payload = json.loads(out)
    assert code == 0 and payload["tool_count"] == 4 and payload["coverage"]["tools_covered"] == 1
    assert json.loads(cov.read_text())["schema_id"] == "gait.scout.coverage"
    assert _cli("scout", "snapshot", "--roots", str(tree), "--out", str(s2))[0] == 0
    assert s1.read_bytes() == s2.read_bytes()
    code, out = _cli("scout", "diff", str(s1), str(s2), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    (tree / "more.py").write_text("@tool\ndef export_data():\n    pass\n")
    assert _cli("scout", "snapshot", "--roots", str(tree), "--out", str(s2))[0] == 0
    code, out = _cli("scout", "diff", "--left", str(s1), "--right", str(s2), "--json")
    assert code == 2 and json.loads(out)["summary"]["added_tools"] == ["export_data"]
    code, out = _cli("scout", "diff", str(s1), "--json")
    assert code == 6
