"""One harness per reader of untrusted bytes.

A harness returns normally or raises a GaitError whose exit code is not 1;
every other outcome (another exception, exit 1, RecursionError, MemoryError)
is a crash the runner reports.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TMP = ""  # scratch folder for harnesses that read files; created on first use
_POLICY = "rules:\n  - {name: r, effect: allow, endpoint: {domain_allowlist: ['*.example.com']}}\n"
_compiled: list[Any] = []
_key: list[Any] = []


def _file(name: str, data: bytes) -> str:
    global _TMP
    if not _TMP:
        _TMP = tempfile.mkdtemp(prefix="gait-fuzz-")
    path = os.path.join(_TMP, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _compiled_policy() -> Any:
    if not _compiled:
        from gait.policy import compile_policy

        _compiled.append(compile_policy(_POLICY))
    return _compiled[0]


def _signing_key() -> Any:
    if not _key:
        from gait.signing import generate_keypair

        _key.append(generate_keypair())
    return _key[0]


def policy_yaml(data: bytes) -> None:
    from gait.policy import compile_policy

    compile_policy(data, path="fuzz.yaml")


def policy_dsl(data: bytes) -> None:
    from gait.policy import compile_policy

    compile_policy(data, path="fuzz.gaitpol", kind="dsl")


def intent(data: bytes) -> None:
    from gait.engine import evaluate
    from gait.intent import decode_intent_bytes

    raw = decode_intent_bytes(data)
    decision = evaluate(_compiled_policy(), raw)
    if decision.intent is not None:
        _ = decision.intent_digest


def _adapter(name: str) -> Callable[[bytes], None]:
    def decode(data: bytes) -> None:
        from gait.mcp.decode import decode_tool_call

        decode_tool_call(data, adapter=name)

    decode.__name__ = f"payload_{name}"
    return decode


def trace(data: bytes) -> None:
    from gait.trace import verify_trace_file

    verify_trace_file(_file("trace.json", data), _signing_key())


def token(data: bytes) -> None:
    from gait.gate.tokens import read_token, validate_approval

    parsed = read_token(_file("token.json", data))
    validate_approval(
        parsed, _signing_key(), intent_digest="a" * 64, policy_digest="b" * 64,
        required_scope=["tool:t"],
    )  # fmt: skip


def zip_reader(data: bytes) -> None:
    from gait.runpack.verify import verify_runpack

    verify_runpack(_file("pack.zip", data))


def runpack_read(data: bytes) -> None:
    from gait.runpack.reader import read_runpack

    read_runpack(_file("read.zip", data))


def regress_config(data: bytes) -> None:
    from gait.regress.config import read_config

    read_config(Path(_file("gait.yaml", data)))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "policy_yaml": policy_yaml,
    "policy_dsl": policy_dsl,
    "intent": intent,
    "payload_mcp": _adapter("mcp"),
    "payload_openai": _adapter("openai"),
    "payload_anthropic": _adapter("anthropic"),
    "payload_langchain": _adapter("langchain"),
    "payload_claude_code": _adapter("claude_code"),
    "trace": trace,
    "token": token,
    "zip": zip_reader,
    "runpack_read": runpack_read,
    "regress_config": regress_config,
}


def is_crash(err: BaseException) -> bool:
    """Whether an exception a harness raised is a bug (not a clean refusal)."""
    from gait.errors import EXIT_INTERNAL, GaitError

    return not isinstance(err, GaitError) or err.exit_code == EXIT_INTERNAL
