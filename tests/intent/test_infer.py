"""Endpoint class / domain / destructive inference (intent.md §4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gait.intent import Target, decode_intent_bytes, infer_endpoint_domain, normalize_intent

CTX = {"identity": "i", "workspace": "/w", "risk_class": "low"}


def one_target(tool_name: str, **target: Any) -> Target:
    data = {"tool_name": tool_name, "targets": [target], "context": CTX}
    (result,) = normalize_intent(decode_intent_bytes(json.dumps(data).encode())).targets
    return result


PATH_OPS = [
    *[(op, "fs.read") for op in ("read", "get", "list", "open", "cat", "head", "download", "stat")],
    *[
        (op, "fs.write")
        for op in ("write", "append", "put", "create", "update", "save", "copy", "move", "rename")
    ],
    *[
        (op, "fs.delete")
        for op in ("delete", "remove", "rm", "unlink", "rmdir", "drop", "truncate")
    ],
]


@pytest.mark.parametrize(("operation", "expected"), PATH_OPS)
def test_path_operation_decides_class(operation: str, expected: str) -> None:
    # The tool name hints at something else: the operation wins.
    assert (
        one_target("tool.exec", kind="path", value="/x", operation=operation.upper()).endpoint_class
        == expected
    )


@pytest.mark.parametrize(
    ("tool_name", "expected"),
    [
        ("fs.read", "fs.read"),
        ("dir.list", "fs.read"),
        ("web.fetch", "fs.read"),
        ("code.search", "fs.read"),
        ("fs.write", "fs.write"),
        ("doc.update", "fs.write"),
        ("file.save", "fs.write"),
        ("dir.create", "fs.write"),
        ("fs.delete", "fs.delete"),
        ("fs.remove", "fs.delete"),
        ("fs.rm", "fs.delete"),
        ("table.drop", "fs.delete"),
        ("tool.format", "fs.delete"),  # substring quirk: "format" contains "rm"
        ("tool.noop", "other"),
        ("mcp/server/FS.Read", "fs.read"),  # last "/" segment only
        ("read/tool.noop", "other"),
        ("tool/", "other"),
        ("readwrite.delete", "fs.read"),  # read hints are checked first
        ("update.remove", "fs.write"),  # write hints before delete hints
    ],
)
def test_path_without_operation_uses_tool_hint(tool_name: str, expected: str) -> None:
    assert one_target(tool_name, kind="path", value="/x").endpoint_class == expected


def test_path_unknown_operation_falls_back_to_hint() -> None:
    assert (
        one_target("x.save", kind="path", value="/x", operation="frobnicate").endpoint_class
        == "fs.write"
    )


@pytest.mark.parametrize("kind", ["url", "host"])
@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("dns", "net.dns"),
        ("Resolve", "net.dns"),
        ("lookup", "net.dns"),
        ("", "net.http"),
        ("post", "net.http"),
        ("delete", "net.http"),
    ],
)
def test_network_kinds(kind: str, operation: str, expected: str) -> None:
    assert (
        one_target("fs.read", kind=kind, value="a.example", operation=operation).endpoint_class
        == expected
    )


@pytest.mark.parametrize("operation", ["exec", "spawn", "run", "shell", "command"])
def test_other_kind_exec_operations(operation: str) -> None:
    t = one_target("tool.noop", kind="other", value="ls", operation=operation)
    assert t.endpoint_class == "proc.exec"
    assert t.destructive is True


@pytest.mark.parametrize(
    ("tool_name", "expected"),
    [
        ("os.exec", "proc.exec"),
        ("bash.shell", "proc.exec"),
        ("x.command", "proc.exec"),
        ("x.spawn", "proc.exec"),
        ("task.run", "proc.exec"),
        ("db.truncate", "proc.exec"),  # substring quirk: "truncate" contains "run"
        ("tool.noop", "other"),
    ],
)
def test_other_kind_tool_hints(tool_name: str, expected: str) -> None:
    assert one_target(tool_name, kind="other", value="v").endpoint_class == expected


@pytest.mark.parametrize("kind", ["repo", "bucket", "table", "queue", "topic"])
def test_resource_kinds_are_other(kind: str) -> None:
    t = one_target("fs.read", kind=kind, value="v", operation="read")
    assert (t.endpoint_class, t.endpoint_domain, t.destructive) == ("other", "", False)


def test_resource_kind_destructive_by_operation() -> None:
    t = one_target("db.query", kind="table", value="users", operation="drop")
    assert (t.endpoint_class, t.destructive) == ("other", True)


@pytest.mark.parametrize(
    ("kind", "operation", "destructive"),
    [
        ("path", "delete", True),
        ("path", "read", False),
        ("path", "exec", True),  # class "other", destructive by operation
        ("path", "spawn", True),
        ("other", "run", True),  # class proc.exec
        ("url", "delete", True),  # class net.http, destructive by operation
        ("url", "get", False),
    ],
)
def test_destructive_inference(kind: str, operation: str, destructive: bool) -> None:
    assert (
        one_target("tool.noop", kind=kind, value="v", operation=operation).destructive
        is destructive
    )


def test_declared_class_suppresses_class_inference_only() -> None:
    t = one_target(
        "fs.delete", kind="path", value="/x", operation="delete", endpoint_class="fs.read"
    )
    assert (t.endpoint_class, t.destructive) == ("fs.read", True)


# --- domains ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://API.example.com:8443/v1", "api.example.com"),
        ("http://example.com", "example.com"),
        ("https://user:pw@Host.example/x", "host.example"),
        ("https://a@b@c.example/", "c.example"),
        ("HTTPS://Example.COM/Path?q=1#frag", "example.com"),
        ("https://example.com?q=1", "example.com"),
        ("https://example.com#top", "example.com"),
        ("//cdn.example.com/lib.js", "cdn.example.com"),
        ("ftp://FTP.example.org/pub", "ftp.example.org"),
        ("http://[::1]:8080/", "::1"),
        ("http://[FE80::1%25en0]/", "fe80::1%en0"),
        ("https://%C3%A9xample.com/", "\u00e9xample.com"),
        ("https://example.com./", "example.com."),
        ("https://example.com:/", "example.com"),
        ("https://exa_mple.com/", "exa_mple.com"),
        ("example.com/path", ""),  # no scheme: a relative path
        ("example.com", ""),
        ("localhost:8080", ""),  # scheme "localhost", opaque
        ("mailto:ops@example.com", ""),
        ("https:example.com", ""),  # opaque
        ("https://", ""),
        ("///x", ""),
        ("", ""),
        ("https://exa mple.com/", ""),  # invalid host character
        ("https://ex{ample}.com/", ""),
        ("https://ex%41mple.com/", ""),  # ASCII may not be %-escaped in a host
        ("https://example.com:80a/", ""),  # invalid port
        ("http://[::1/", ""),  # missing ]
        ("https://example.com/%zz", ""),  # bad escape in path
        ("https://example.com/#%zz", ""),  # bad escape in fragment
        ("https://us er@example.com/", ""),  # invalid userinfo
        (":8080/x", ""),  # missing protocol scheme
        ("1http://example.com", ""),  # first path segment contains a colon
        ("https://example.com/\x7f", ""),  # control character
        ("http://%ff.example/", "\ufffd.example"),  # invalid UTF-8 byte
    ],
)
def test_url_domain_matches_go_net_url(value: str, expected: str) -> None:
    assert infer_endpoint_domain("url", value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Example.COM", "example.com"),
        ("http://Host.COM:80/x", "host.com"),
        ("https://a.b:443", "a.b"),
        ("a.com/b:c", "a.com"),
        ("http://https://x.com", "x.com"),  # both prefixes removed, in that order
        ("HTTP://x.com", "http"),  # prefixes are case-sensitive
        ("ftp://x.com", "ftp"),
        ("[::1]:80", "["),
        (" h.example ", "h.example"),
    ],
)
def test_host_domain(value: str, expected: str) -> None:
    assert infer_endpoint_domain("host", value) == expected


@pytest.mark.parametrize("kind", ["path", "repo", "bucket", "other"])
def test_other_kinds_have_no_domain(kind: str) -> None:
    assert infer_endpoint_domain(kind, "https://example.com") == ""


def test_url_target_value_keeps_case_domain_lowercased() -> None:
    t = one_target("http.get", kind="url", value=" https://API.Example.com/A ")
    assert (t.value, t.endpoint_domain) == ("https://API.Example.com/A", "api.example.com")
