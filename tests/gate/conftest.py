"""Shared fixtures for the gate pipeline tests (spec/trace.md §5–§6).

Keys are deterministic (fixed seeds) and written to files the way a user would
hold them; every test runs in its own temporary directory because ``gate eval``
writes traces and audit records to the working directory by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gait.gate import Gate, GateOptions, GateResult
from gait.intent import Intent, normalize_intent
from gait.policy.compiler import CompiledPolicy, compile_policy
from gait.signing import KeyPair, key_id_for, write_private_key, write_public_key

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
DIGEST_C = "c" * 64


def seeded_key(seed_byte: int) -> KeyPair:
    private = Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
    probe = KeyPair(private.public_key(), private, "", "test")
    return KeyPair(probe.public, private, key_id_for(probe.public_bytes), "test")


@dataclass(frozen=True)
class KeyFile:
    pair: KeyPair
    private: str
    public: str


@dataclass(frozen=True)
class Keys:
    signer: KeyFile  # trace signing key (prod mode)
    approver: KeyFile  # approval / delegation signing key
    other: KeyFile  # an unrelated key (wrong-key tests)


def _write(directory: Path, name: str, pair: KeyPair) -> KeyFile:
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / f"{name}_private.key", directory / f"{name}_public.key"
    write_private_key(private, pair)
    write_public_key(public, pair)
    return KeyFile(pair, str(private), str(public))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAIT_CACHE_DIR", str(tmp_path / ".cache"))


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    directory = tmp_path / "keys"
    return Keys(
        signer=_write(directory, "signer", seeded_key(0x11)),
        approver=_write(directory, "approver", seeded_key(0x22)),
        other=_write(directory, "other", seeded_key(0x33)),
    )


def compile_text(text: str) -> CompiledPolicy:
    return compile_policy(text, use_cache=False)


def make_intent(
    tool_name: str = "tool.write",
    *,
    targets: list[dict[str, Any]] | None = None,
    identity: str = "agent.demo",
    risk_class: str = "medium",
    phase: str = "",
    delegation: dict[str, Any] | None = None,
    **context: Any,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "identity": identity,
        "workspace": "/workspace",
        "risk_class": risk_class,
        "session_id": "sess-1",
        "request_id": "req-1",
        **context,
    }
    if phase:
        ctx["phase"] = phase
    raw: dict[str, Any] = {
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-18T00:00:00Z",
        "tool_name": tool_name,
        "args": {"path": "/workspace/notes.txt"},
        "targets": targets
        if targets is not None
        else [{"kind": "path", "value": "/workspace/notes.txt", "operation": "write"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": ctx,
    }
    if delegation is not None:
        raw["delegation"] = delegation
    return raw


def norm(raw: dict[str, Any]) -> Intent:
    return normalize_intent(raw)


def write_json(path: Path | str, doc: Any) -> str:
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    return str(path)


def gate(
    policy: CompiledPolicy | str, intent: dict[str, Any] | Intent, keys: Keys, **kw: Any
) -> GateResult:
    """One ``Gate`` decision in prod key mode with the signer key.

    ``kw`` mixes :class:`GateOptions` fields and ``Gate.decide`` arguments;
    ``rate_limit_state`` is the old name of ``state``.
    """
    compiled = compile_text(policy) if isinstance(policy, str) else policy
    parsed = norm(intent) if isinstance(intent, dict) else intent
    merged: dict[str, Any] = {"key_mode": "prod", "private_key": keys.signer.private, **kw}
    if "rate_limit_state" in merged:
        merged["state"] = merged.pop("rate_limit_state")
    fields = set(GateOptions.__struct_fields__)
    options = {k: v for k, v in merged.items() if k in fields}
    for key in ("credential_scopes", "credential_command_args"):
        if key in options:
            options[key] = tuple(options[key])
    call = {k: v for k, v in merged.items() if k not in fields}
    store = call.pop("store", None)
    return Gate(compiled, GateOptions(**options), store=store).decide(parsed, **call)


CliRunner = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``gait`` in-process; returns ``(exit code, parsed JSON or stdout text)``."""
    from gait.cli.main import main

    def run(*args: str) -> tuple[int, Any]:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr().out
        if "--json" in args:
            lines = [line for line in out.splitlines() if line.strip()]
            assert len(lines) == 1, out
            return code, json.loads(lines[0])
        return code, out

    return run
