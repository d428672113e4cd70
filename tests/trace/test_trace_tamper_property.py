"""Property: no single-byte change to a signed trace file verifies unless it changes nothing.

The signature covers the record's content (JCS), not its formatting, so the only
flips that may still verify are those that leave the parsed JSON identical —
one whitespace byte swapped for another. Every other flip must end in exit 2
(valid JSON, bad signature) or exit 6 (no longer a parsable trace).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.signing import KeyPair, generate_keypair, write_public_key
from gait.trace import build_trace_record, sign_trace, verify_trace_file, write_trace

WHITESPACE = b" \t\r\n"
TraceDir = tuple[Path, bytes, KeyPair]


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> TraceDir:
    key = generate_keypair()
    directory = tmp_path_factory.mktemp("tamper")
    record = build_trace_record(
        policy_digest="a" * 64,
        intent_digest="b" * 64,
        args_digest="c" * 64,
        tool_name="fs.write",
        verdict="require_approval",
        correlation_id="run_demo",
        violations=["approval_not_granted"],
        latency_ms=3.5,
        script=True,
        step_count=1,
        step_verdicts=[
            {"index": 0, "tool_name": "fs.write", "verdict": "allow", "matched_rule": "r1"}
        ],
        delegation_ref={"requester_identity": "agent", "delegation_depth": 2},
    )
    path = write_trace(directory / "trace.json", sign_trace(record, key))
    write_public_key(directory / "pub.key", key)
    return directory, Path(path).read_bytes(), key


def _flip(original: bytes, position: int, mask: int) -> bytes:
    index = position % len(original)
    return original[:index] + bytes([original[index] ^ mask]) + original[index + 1 :]


def _library_exit(path: Path, key: KeyPair) -> int:
    try:
        result = verify_trace_file(path, key)
    except InvalidInput:
        return 6
    return 0 if result["ok"] else 2


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    position=st.integers(min_value=0, max_value=10**6), mask=st.integers(min_value=1, max_value=255)
)
def test_any_byte_flip_fails_library_verification(
    trace_dir: TraceDir, position: int, mask: int
) -> None:
    directory, original, key = trace_dir
    flipped = _flip(original, position, mask)
    target = directory / "flipped.json"
    target.write_bytes(flipped)
    code = _library_exit(target, key)
    assert code in (0, 2, 6)
    if original[position % len(original)] not in WHITESPACE:
        assert code != 0
    if code == 0:
        assert _same_json(original, flipped)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    position=st.integers(min_value=0, max_value=10**6), mask=st.integers(min_value=1, max_value=255)
)
def test_any_byte_flip_fails_cli_verification(
    trace_dir: TraceDir, position: int, mask: int
) -> None:
    directory, original, key = trace_dir
    flipped = _flip(original, position, mask)
    target = directory / "flipped_cli.json"
    target.write_bytes(flipped)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(
            ["trace", "verify", str(target), "--public-key", str(directory / "pub.key"), "--json"]
        )
    payload = json.loads(out.getvalue())
    assert code == _library_exit(target, key)
    assert payload["ok"] is (code == 0)
    if code == 0:
        assert _same_json(original, flipped)
    else:
        assert code in (2, 6) and payload["error"]


def test_unflipped_file_verifies(trace_dir: TraceDir) -> None:
    directory, original, key = trace_dir
    (directory / "clean.json").write_bytes(original)
    assert _library_exit(directory / "clean.json", key) == 0


def test_every_non_whitespace_position_fails_for_one_mask(trace_dir: TraceDir) -> None:
    """Exhaustive over positions (mask 0x01), so no byte of the file is left unchecked."""
    directory, original, key = trace_dir
    target = directory / "each.json"
    for index, byte in enumerate(original):
        if byte in WHITESPACE:
            continue
        target.write_bytes(_flip(original, index, 0x01))
        assert _library_exit(target, key) in (2, 6), (
            f"flip at byte {index} ({chr(byte)!r}) verified"
        )
