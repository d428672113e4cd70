"""Endpoint-class, domain and destructive inference (intent.md §4) as the rules see it."""

from __future__ import annotations

import pytest


def class_policy(cls: str) -> str:
    return (
        "default_verdict: block\nrules:\n"
        f"  - {{name: hit, effect: dry_run, match: {{endpoint_classes: [{cls}]}}}}\n"
    )


@pytest.mark.parametrize(
    ("tool", "target", "cls"),
    [
        ("tool.x", {"kind": "path", "value": "/a", "operation": "stat"}, "fs.read"),
        ("tool.x", {"kind": "path", "value": "/a", "operation": "rename"}, "fs.write"),
        ("tool.x", {"kind": "path", "value": "/a", "operation": "unlink"}, "fs.delete"),
        ("tool.search", {"kind": "path", "value": "/a"}, "fs.read"),
        ("tool.save", {"kind": "path", "value": "/a"}, "fs.write"),
        ("tool.format", {"kind": "path", "value": "/a"}, "fs.delete"),
        ("ns/tool.readme", {"kind": "path", "value": "/a"}, "fs.read"),
        ("tool.x", {"kind": "path", "value": "/a"}, "other"),
        ("tool.x", {"kind": "host", "value": "a.test", "operation": "resolve"}, "net.dns"),
        ("tool.x", {"kind": "url", "value": "https://a.test"}, "net.http"),
        ("tool.x", {"kind": "other", "value": "ls", "operation": "spawn"}, "proc.exec"),
        ("tool.shell", {"kind": "other", "value": "ls"}, "proc.exec"),
        ("tool.x", {"kind": "queue", "value": "q", "operation": "exec"}, "other"),
        ("tool.x", {"kind": "path", "value": "/a", "endpoint_class": "NET.DNS"}, "net.dns"),
    ],
)
def test_inferred_endpoint_class_drives_matching(decide, tool: str, target: dict, cls: str) -> None:
    d = decide(class_policy(cls), tool_name=tool, targets=[target])
    assert d.matched_rule == "hit"


def test_path_tool_hint_uses_last_segment_only(decide) -> None:
    d = decide(
        class_policy("other"), tool_name="read/tool.x", targets=[{"kind": "path", "value": "/a"}]
    )
    assert d.matched_rule == "hit"


@pytest.mark.parametrize(
    ("target", "domain"),
    [
        ({"kind": "host", "value": "https://Api.Example.com:8443/x"}, "api.example.com"),
        ({"kind": "host", "value": "db.internal:5432"}, "db.internal"),
        ({"kind": "url", "value": "https://API.example.com:8443/v1"}, "api.example.com"),
    ],
)
def test_inferred_domain_drives_endpoint_rules(decide, target: dict, domain: str) -> None:
    policy = "rules:\n  - {name: r, effect: allow, endpoint: {domain_allowlist: [allowed.test]}}\n"
    d = decide(policy, targets=[target])
    assert ("endpoint_domain_not_allowlisted" in d.reason_codes) is bool(domain)


def test_url_without_scheme_fails_an_allowlist(decide) -> None:
    # issue 11 A4: an undeterminable domain denies instead of skipping the list
    policy = "rules:\n  - {name: r, effect: allow, endpoint: {domain_allowlist: [allowed.test]}}\n"
    d = decide(policy, targets=[{"kind": "url", "value": "no-scheme/path"}])
    assert d.verdict == "block"
    assert "endpoint_domain_not_allowlisted" in d.reason_codes


def test_exec_operation_is_destructive_even_on_repo(decide) -> None:
    d = decide(
        "rules:\n  - {name: r, effect: allow}\n",
        targets=[{"kind": "repo", "value": "o/r", "operation": "exec"}],
    )
    assert d.verdict == "require_approval"


def test_fs_write_is_not_destructive(decide) -> None:
    d = decide(
        "rules:\n  - {name: r, effect: allow}\n",
        targets=[{"kind": "path", "value": "/a", "operation": "write"}],
    )
    assert d.verdict == "allow"
