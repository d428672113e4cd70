"""Issue 11 A4: domain lists use the domain derived from the value, and deny when unknown."""

from __future__ import annotations

import pytest

from gait.engine import evaluate
from gait.intent.urls import matching_domain

ALLOW = """rules:
  - name: net
    effect: allow
    endpoint: {domain_allowlist: ["*.example.com"]}
"""
DENY = """rules:
  - name: net
    effect: allow
    endpoint: {domain_denylist: ["evil.com"]}
"""
CTX = {"identity": "agent", "workspace": "/w", "risk_class": "low"}


def _decide(compiled, target: dict):
    return evaluate(
        compiled, {"tool_name": "http.get", "args": {}, "targets": [target], "context": CTX}
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.com\\@good.example.com/",
        "https://%65vil.com/",
        "evil.com/x",
        "https://good.example.com\t/x",
        "https://evil.com%2f.example.com/",
        "https://evil.com:bad@/",
        "file:///etc/passwd",
    ],
)
def test_allowlist_denies_urls_whose_domain_is_not_allowed_or_unknown(
    compile_yaml, value: str
) -> None:
    d = _decide(compile_yaml(ALLOW), {"kind": "url", "value": value})
    assert d.verdict == "block", value
    assert "endpoint_domain_not_allowlisted" in d.reason_codes


@pytest.mark.parametrize(
    "value",
    [
        "https://api.example.com/v1",
        "https://API.Example.COM:8443/v1",
        "https://user:pw@api.example.com/",
        "https://api%2eexample.com/",
        "https://api.example.com./",
    ],
)
def test_allowlist_accepts_spellings_of_allowed_domains(compile_yaml, value: str) -> None:
    assert _decide(compile_yaml(ALLOW), {"kind": "url", "value": value}).verdict == "allow"


def test_declared_domain_does_not_override_the_url(compile_yaml) -> None:
    target = {"kind": "url", "value": "https://evil.com/", "endpoint_domain": "api.example.com"}
    d = _decide(compile_yaml(ALLOW), target)
    assert d.verdict == "block"
    assert "endpoint_domain_not_allowlisted" in d.reason_codes


def test_declared_domain_cannot_hide_a_denied_url(compile_yaml) -> None:
    target = {"kind": "url", "value": "https://%65vil.com/", "endpoint_domain": "ok.test"}
    d = _decide(compile_yaml(DENY), target)
    assert d.verdict == "block"
    assert "endpoint_domain_denied" in d.reason_codes


def test_network_target_without_any_domain_fails_the_allowlist(compile_yaml) -> None:
    target = {"kind": "other", "value": "socket-7", "endpoint_class": "net.http"}
    d = _decide(compile_yaml(ALLOW), target)
    assert d.verdict == "block"
    assert {"endpoint_domain_not_allowlisted", "endpoint_domain_undeterminable"} <= set(
        d.reason_codes
    )


def test_idna_and_userinfo() -> None:
    assert matching_domain("url", "https://bücher.example.com/") == "xn--bcher-kva.example.com"
    assert matching_domain("url", "https://a@b@c.example.com:1/") == "c.example.com"
    assert matching_domain("host", "db.internal:5432") == "db.internal"
    assert matching_domain("url", "https://exa mple.com/") is None


@pytest.mark.parametrize("declared", ["evil.com:443", "evil.com/x", "%zz.evil.com", "a@EVIL.com."])
def test_malformed_declared_domain_cannot_pass_a_denylist(compile_yaml, declared: str) -> None:
    target = {"kind": "bucket", "value": "b", "endpoint_domain": declared}
    d = _decide(compile_yaml(DENY), target)
    assert d.verdict == "block", declared
    assert "endpoint_domain_denied" in d.reason_codes


def test_declared_domain_with_port_is_still_checked_by_its_host(compile_yaml) -> None:
    target = {"kind": "bucket", "value": "b", "endpoint_domain": "api.example.com:443"}
    assert _decide(compile_yaml(ALLOW), target).verdict == "allow"


@pytest.mark.parametrize(
    "value", ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/"]
)
def test_numeric_ipv4_spellings_cannot_pass_a_denylist(compile_yaml, value: str) -> None:
    policy = DENY.replace("evil.com", "127.0.0.1")
    d = _decide(compile_yaml(policy), {"kind": "url", "value": value})
    assert d.verdict == "block", value
    assert "endpoint_domain_denied" in d.reason_codes


def test_numeric_host_that_is_no_address_is_undeterminable() -> None:
    assert matching_domain("url", "http://999.1.1.1/") is None
    assert matching_domain("url", "http://v1.example.123/") is None
    assert matching_domain("url", "http://1a.example.com/") == "1a.example.com"


def test_ipv4_mapped_ipv6_is_matched_as_the_ipv4_address() -> None:
    assert matching_domain("url", "http://[::ffff:127.0.0.1]/") == "127.0.0.1"
    assert matching_domain("url", "http://[::ffff:7f00:1]:80/") == "127.0.0.1"
    assert matching_domain("url", "http://[::1]/") == "::1"
