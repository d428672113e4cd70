"""Seed inputs per target, taken from tests/ and examples/ (plus a few built here)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _files(patterns: tuple[str, ...], limit: int = 40) -> list[bytes]:
    out: list[bytes] = []
    for base in ("examples", "tests"):
        for pattern in patterns:
            for path in sorted((ROOT / base).rglob(pattern)):
                if path.is_file() and path.stat().st_size < 200_000:
                    out.append(path.read_bytes())
                if len(out) >= limit:
                    return out
    return out


def _intent_seeds() -> list[bytes]:
    ctx = {"identity": "agent", "workspace": "/w", "risk_class": "high"}
    base = [
        {"tool_name": "http.get", "args": {"url": "https://a.example.com/"}, "context": ctx,
         "targets": [{"kind": "url", "value": "https://a.example.com/x"}]},
        {"tool_name": "script", "args": {}, "context": ctx,
         "script": {"steps": [{"tool_name": "fs.read",
                               "targets": [{"kind": "path", "value": "/w/../etc"}]}]}},
    ]  # fmt: skip
    found = [d for d in _files(("intent*.json", "*intent*.json")) if b"tool_name" in d]
    return [json.dumps(d).encode() for d in base] + found


def _payloads() -> list[bytes]:
    calls = [
        {"name": "fs.read", "arguments": {"path": "/w/a"}},
        {"type": "function", "function": {"name": "fs.read", "arguments": '{"path": "/w/a"}'}},
        {"type": "tool_use", "id": "t1", "name": "fs.read", "input": {"path": "/w/a"}},
        {"name": "fs.read", "args": {"path": "/w/a"}, "id": "c1"},
        {"tool_name": "Read", "tool_input": {"file_path": "/w/a"}},
    ]
    return [json.dumps(c).encode() for c in calls]


def _trace_seed() -> list[bytes]:
    from gait.trace import build_trace_record, sign_trace
    from tools.fuzz.targets import _signing_key

    record = build_trace_record(
        policy_digest="a" * 64, intent_digest="b" * 64, args_digest="c" * 64,
        tool_name="t", verdict="allow", observed_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    return [json.dumps(sign_trace(record, _signing_key()), indent=2).encode()]


def _token_seed() -> list[bytes]:
    from gait.gate.tokens import mint_approval
    from tools.fuzz.targets import _signing_key

    token = mint_approval(
        _signing_key(), intent_digest="a" * 64, policy_digest="b" * 64, approver="x",
        reason_code="r", scope=["tool:t"], ttl_nanos=3600 * 10**9,
    )  # fmt: skip
    return [json.dumps(token).encode()]


def _zip_seed() -> list[bytes]:
    from gait.runpack.demo import build_demo_runpack

    return [build_demo_runpack("0.1.0").zip_bytes]


def seeds(target: str) -> list[bytes]:
    if target == "policy_yaml":
        return _files(("*.yaml",)) or [b"rules: []\n"]
    if target == "policy_dsl":
        return _files(("*.gaitpol",)) or [b'rule "a" => allow {}\n']
    if target == "intent":
        return _intent_seeds()
    if target.startswith("payload_"):
        return _payloads()
    if target == "trace":
        return _trace_seed()
    if target == "token":
        return _token_seed()
    if target in ("zip", "runpack_read"):
        return _zip_seed()
    if target == "regress_config":
        return _files(("gait.yaml",)) or [b"schema_id: gait.regress.config\nfixtures: []\n"]
    raise KeyError(target)
