"""`gait mcp bridge` is `mcp proxy` under another name, errors included (cmd/gait/mcp.go)."""

from pathlib import Path

import pytest

from gait.cli.main import main


@pytest.mark.parametrize("name", ["proxy", "bridge"])
def test_alias_error_prefix_is_mcp_proxy(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text("default_verdict: allow\n")
    code = main(["mcp", name, "--policy", "p.yaml"])
    captured = capsys.readouterr()
    assert code == 6
    text = captured.out + captured.err
    assert "mcp proxy error: expected --policy <policy.yaml> and --call <tool_call.json|->" in text
    assert "mcp bridge error" not in text


@pytest.mark.parametrize(
    ("payload", "adapter"), [("{", "mcp"), ("", "mcp"), ('{"type":', "openai")]
)
def test_truncated_or_empty_call_reads_go_wording(
    payload: str,
    adapter: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # core/mcp/proxy.go DecodeToolCall: "parse <adapter> tool call: <json.Unmarshal error>"
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text("default_verdict: allow\n")
    Path("call.json").write_text(payload)
    code = main(["mcp", "proxy", "--policy", "p.yaml", "--call", "call.json", "--adapter", adapter])
    captured = capsys.readouterr()
    assert code == 6
    expected = f"mcp proxy error: parse {adapter} tool call: unexpected end of JSON input"
    assert expected in captured.out + captured.err
