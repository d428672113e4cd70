"""The closed vocabularies shared by intents and policies (spec/intent.md §4–§5, policy.md §2)."""

from __future__ import annotations

VERDICTS = frozenset({"allow", "block", "dry_run", "require_approval"})
TARGET_KINDS = frozenset(
    {"path", "url", "host", "repo", "bucket", "table", "queue", "topic", "other"}
)
ENDPOINT_CLASSES = frozenset(
    {
        "fs.read",
        "fs.write",
        "fs.delete",
        "proc.exec",
        "net.http",
        "net.dns",
        "ui.click",
        "ui.type",
        "ui.navigate",
        "other",
    }
)
DISCOVERY_METHODS = frozenset(
    {"webmcp", "dynamic_mcp", "a2a", "mcp", "static_mcp", "manual", "unknown"}
)
PROVENANCE_SOURCES = frozenset({"user", "tool_output", "external", "system"})
