"""The README names every command family and links every user doc."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_every_doc_page_is_linked_from_the_readme() -> None:
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", README))
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert len(pages) > 10  # the glob found the user docs, so the check below means something
    assert pages - linked == set()
    assert {p for p in linked if not (REPO / p).is_file()} == set()  # no dead links


def test_readme_names_the_tool_call_surfaces() -> None:
    for command in ("gait mcp proxy", "gait mcp serve", "gait mcp wrap", "gait mcp verify"):
        assert command in README, command
    assert "](docs/sdk.md)" in README


def test_mcp_docs_link_each_other() -> None:
    mcp = (REPO / "docs" / "mcp.md").read_text()
    assert "(mcp-wrap.md)" in mcp and "(serve.md)" in mcp and "(sdk.md)" in mcp
