"""Run a Gait-aware child command and account for the gate traces it reports.

``gait trace -- <cmd>``, ``gait test -- <cmd>`` and ``gait enforce -- <cmd>``
do not instrument anything themselves: the child (an agent run, a test suite)
already calls gait at its tool boundary and prints ``trace_path=<file>`` for
each decision it got. The wrapper runs the child, reads those references from
its output, checks each trace file and counts the verdicts. ``enforce`` then
turns any blocked or pending decision into a non-zero exit even when the child
itself exited 0.

A trace counts only if it is a well-formed ``gait.gate.trace`` record *and*
its signature verifies; anything else is reported as ignored, and ``enforce``
fails closed on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.signing import KeyPair

__all__ = [
    "BOUNDARY_CONTRACT",
    "MODES",
    "TraceCheck",
    "check_trace",
    "enforce_exit_code",
    "extract_key_value_paths",
    "run_wrapper",
    "summarize_traces",
    "unique_sorted",
]

MODES = ("trace", "test", "enforce")
BOUNDARY_CONTRACT = "explicit_trace_reference"

FAILURE_CHILD_START = "child_start_failed"
FAILURE_CHILD_WAIT = "child_wait_failed"
FAILURE_TIMED_OUT = "child_timed_out"
FAILURE_MISSING_TRACE = "missing_trace_reference"
FAILURE_INVALID_TRACE = "invalid_trace_artifact"

VERDICT_ORDER = ("allow", "block", "dry_run", "require_approval")
# After SIGTERM to the child's process group, how long before SIGKILL.
KILL_GRACE_SECONDS = 2.0

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BLOCKED = 3
EXIT_APPROVAL = 4
EXIT_INVALID_INPUT = 6

MISSING_TRACE_MESSAGE = (
    "child command did not emit a Gait trace reference; "
    "wrappers require an explicit Gait interception seam"
)
INVALID_TRACE_MESSAGE = (
    "child command emitted an invalid Gait trace artifact; enforce mode fails closed"
)


def extract_key_value_paths(stdout: str, stderr: str, key: str) -> list[str]:
    """Values of ``key=value`` lines (surrounding blanks ignored) in stdout, then stderr."""
    prefix = key + "="
    found = []
    for line in (stdout + "\n" + stderr).split("\n"):
        text = line.strip()
        if text.startswith(prefix):
            value = text[len(prefix) :].strip()
            if value:
                found.append(value)
    return found


def unique_sorted(values: Iterable[str]) -> list[str]:
    return sorted({v.strip() for v in values if v.strip()})


def _is_sha256_hex(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _check_fields(record: Mapping[str, Any]) -> None:
    """The fields a trace needs before its verdict can be believed."""
    for name in ("schema_version", "created_at", "producer_version", "trace_id", "tool_name"):
        if not str(record.get(name) or "").strip():
            raise InvalidInput(f"trace {name} must not be empty")
    for name in ("args_digest", "intent_digest", "policy_digest"):
        if not _is_sha256_hex(record.get(name)):
            raise InvalidInput(f"trace {name} must be a 64-character lowercase hex sha256")
    verdict = str(record.get("verdict") or "").strip()
    if verdict not in VERDICT_ORDER:
        raise InvalidInput(f"unsupported trace verdict {verdict!r}")


class TraceCheck:
    """One referenced trace: its verdict when it counts, else why it was ignored."""

    __slots__ = ("error", "path", "verdict")

    def __init__(self, path: str, verdict: str = "", error: str = "") -> None:
        self.path = path
        self.verdict = verdict
        self.error = error


def check_trace(path: str, key: KeyPair | None, *, base_dir: str = "") -> TraceCheck:
    """Read, validate and signature-check one trace file.

    ``path`` is resolved against ``base_dir`` (the child's working directory)
    when relative. ``key`` is the verify key; ``None`` means none is
    configured, so a signed trace cannot be checked and does not count.
    """
    from gait.trace import read_trace, verify_trace

    full = path if os.path.isabs(path) or not base_dir else os.path.join(base_dir, path)
    try:
        record = read_trace(full)
        _check_fields(record)
    except GaitError as err:
        return TraceCheck(path, error=err.message)
    if record.get("signature") is None:
        return TraceCheck(path, error="trace signature missing")
    if key is None:
        return TraceCheck(
            path,
            error="trace signature not checked: no public key configured "
            "(pass --public-key or --public-key-env)",
        )
    result = verify_trace(record, key, path=path)
    if not result["ok"]:
        return TraceCheck(path, error=f"trace signature invalid: {result.get('error', '')}")
    return TraceCheck(path, verdict=str(record["verdict"]).strip())


def summarize_traces(
    paths: Sequence[str], key: KeyPair | None, *, base_dir: str = ""
) -> tuple[list[dict[str, Any]], list[str], int]:
    """``(verdict_counts, warnings, invalid_count)`` over the referenced traces."""
    counts: dict[str, int] = {}
    warnings = []
    invalid = 0
    for path in paths:
        checked = check_trace(path, key, base_dir=base_dir)
        if checked.error:
            warnings.append(f"trace ignored: {path}: {checked.error}")
            invalid += 1
            continue
        counts[checked.verdict] = counts.get(checked.verdict, 0) + 1
    ordered = [{"verdict": v, "count": counts[v]} for v in VERDICT_ORDER if counts.get(v)]
    return ordered, warnings, invalid


def enforce_exit_code(verdict_counts: Sequence[Mapping[str, Any]]) -> int:
    """3 if anything was blocked or only dry-run, else 4 if anything awaits approval, else 0."""
    seen = {c["verdict"] for c in verdict_counts if c.get("count")}
    if seen & {"block", "dry_run"}:
        return EXIT_BLOCKED
    if "require_approval" in seen:
        return EXIT_APPROVAL
    return EXIT_OK


class _Child:
    __slots__ = ("duration_ms", "exit_code", "start_error", "stderr", "stdout", "timed_out")

    def __init__(self) -> None:
        self.exit_code = 0
        self.stdout = ""
        self.stderr = ""
        self.timed_out = False
        self.duration_ms = 0
        self.start_error = ""


def _start_error(command: Sequence[str], cwd: str, err: OSError) -> str:
    if cwd and not os.path.isdir(cwd):
        return f"chdir {cwd}: no such file or directory"
    name = command[0]
    if isinstance(err, FileNotFoundError) and os.sep not in name:
        return f'exec: "{name}": executable file not found in $PATH'
    reason = err.strerror or str(err)
    return f"fork/exec {name}: {reason[:1].lower()}{reason[1:]}"


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _run_child(command: Sequence[str], cwd: str, timeout: float, mode: str) -> _Child:
    """Run the child in its own process group, output captured, killed as a group on timeout."""
    out = _Child()
    env = {**os.environ, "GAIT_WRAPPER_MODE": mode}
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd or None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as err:
        out.start_error = _start_error(command, cwd, err)
        return out
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out.timed_out = True
        _kill_group(proc, signal.SIGTERM)
        try:
            stdout, stderr = proc.communicate(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # Whatever ignored SIGTERM (the child or anything it started) goes now.
            _kill_group(proc, signal.SIGKILL)
            stdout, stderr = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C): leave nothing running
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
    out.duration_ms = int((time.monotonic() - started) * 1000)
    # Killed by a signal: -1, as a shell-less exit status has no number for it.
    out.exit_code = proc.returncode if proc.returncode >= 0 else -1
    out.stdout = stdout.decode("utf-8", errors="replace")
    out.stderr = stderr.decode("utf-8", errors="replace")
    return out


def run_wrapper(
    mode: str,
    command: Sequence[str],
    *,
    cwd: str = ".",
    timeout_ns: int,
    timeout_text: str,
    key: KeyPair | None,
) -> tuple[dict[str, Any], int]:
    """Run ``command`` under ``mode``; returns the JSON payload and the exit code."""
    if mode not in MODES:
        raise ValueError(f"unknown wrapper mode {mode!r}")
    base: dict[str, Any] = {
        "mode": mode,
        "command": list(command),
        "boundary_contract": BOUNDARY_CONTRACT,
        "trace_reference_required": True,
    }
    if cwd:
        base["cwd"] = cwd
    child = _run_child(command, cwd, timeout_ns / 1e9, mode)
    if child.start_error:
        return {
            **base,
            "ok": False,
            "failure_reason": FAILURE_CHILD_START,
            "error": child.start_error,
        }, EXIT_INTERNAL
    payload = dict(base)
    if child.exit_code:
        payload["child_exit_code"] = child.exit_code
    if child.timed_out:
        payload["timed_out"] = True
    if child.duration_ms:
        payload["duration_ms"] = child.duration_ms
    if child.stdout:
        payload["stdout"] = child.stdout
    if child.stderr:
        payload["stderr"] = child.stderr
    trace_paths = unique_sorted(extract_key_value_paths(child.stdout, child.stderr, "trace_path"))
    runpack_paths = unique_sorted(
        extract_key_value_paths(child.stdout, child.stderr, "runpack_path")
    )
    if trace_paths:
        payload["trace_paths"] = trace_paths
    if runpack_paths:
        payload["runpack_paths"] = runpack_paths
    counts, warnings, invalid = summarize_traces(trace_paths, key, base_dir=cwd)
    if counts:
        payload["verdict_counts"] = counts
    if warnings:
        payload["warnings"] = warnings

    def failed(reason: str, error: str, code: int) -> tuple[dict[str, Any], int]:
        return {**payload, "ok": False, "failure_reason": reason, "error": error}, code

    if child.timed_out:
        return failed(
            FAILURE_TIMED_OUT, f"child command timed out after {timeout_text}", EXIT_INTERNAL
        )
    if not trace_paths:
        return failed(FAILURE_MISSING_TRACE, MISSING_TRACE_MESSAGE, EXIT_INVALID_INPUT)
    if mode == "enforce" and invalid:
        return failed(FAILURE_INVALID_TRACE, INVALID_TRACE_MESSAGE, EXIT_BLOCKED)
    code = child.exit_code
    if code == 0 and mode == "enforce":
        code = enforce_exit_code(counts)
    elif code < 0:
        code = EXIT_INTERNAL  # no process exit status can be negative
    payload["ok"] = code == EXIT_OK
    return payload, code
