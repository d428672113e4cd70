"""Session journaling for ``mcp serve`` (serve_sdk.md §3.4, sessions).

Every decision whose session is known (the request's ``session_id``, else the
call's ``context.session_id``) is appended to that session's journal, in the
``gait.runpack.session_journal`` format of ``gait run session``. With
``checkpoint_interval`` N and a runpack directory, every N-th event also
writes a checkpoint runpack and the chain (``gait.runpack.session.checkpoint``).

A served session can grow to many thousands of events, so appends here read
only the journal's first line (whose run it is) and its last record (the last
sequence number) instead of re-parsing the whole file per request. Appends
hold an exclusive ``flock``, as ``gait run session append`` does, so threads,
worker processes and the CLI never reuse a sequence number.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from gait.canonical import canonical_bytes
from gait.errors import InvalidInput

__all__ = ["append_decision", "journal_decision", "sanitize_session"]

_JUNK = re.compile(r"[^A-Za-z0-9_-]+")
_TAIL = 64 * 1024  # far more than one journal record
_HEADER_WAITS = 500  # x 2 ms: how long a just-created journal may lack its header


def sanitize_session(session_id: str) -> str:
    """A session id as a file-name stem: runs of other characters become ``_``."""
    return _JUNK.sub("_", session_id.strip()).strip("_") or "session"


@contextlib.contextmanager
def _locked(path: str) -> Iterator[IO[bytes]]:
    import fcntl

    handle = open(path, "r+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle
    finally:
        handle.close()


def _record(path: str, line: bytes, what: str) -> dict[str, Any]:
    try:
        record = msgspec.json.decode(line)
    except msgspec.DecodeError as err:
        raise InvalidInput(f"session journal {path}: {what}: {err}") from None
    if not isinstance(record, dict):
        raise InvalidInput(f"session journal {path}: {what} is not a JSON object")
    return record


def _journal_run_id(path: str) -> str:
    """The run a journal belongs to, from its ``start`` header (first line)."""
    from gait.runpack.session import JOURNAL_SCHEMA

    # A journal another request has just created may not hold its header yet
    # (creation and the first write are two steps): wait briefly for it.
    first = b""
    for _ in range(_HEADER_WAITS):
        with open(path, "rb") as handle:
            first = handle.readline()
        if first.endswith(b"\n"):
            break
        time.sleep(0.002)
    header = _record(path, first, "first record")
    if header.get("record_type") != "start" or header.get("schema_id") != JOURNAL_SCHEMA:
        raise InvalidInput(f"session journal {path}: first record must be a {JOURNAL_SCHEMA} start")
    return str(header.get("run_id") or "")


def _last_sequence(path: str, handle: IO[bytes]) -> int:
    """Highest sequence so far: the last record's ``sequence`` (or a checkpoint's ``seq_end``)."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - _TAIL))
    lines = [line for line in handle.read().split(b"\n") if line.strip()]
    if not lines:
        raise InvalidInput(f"session journal {path} is empty")
    last = _record(path, lines[-1], "last record")
    kind = last.get("record_type")
    value = {"start": 0, "event": last.get("sequence"), "checkpoint": last.get("seq_end")}.get(
        str(kind)
    )
    if not isinstance(value, int):
        raise InvalidInput(f"session journal {path}: last record has no sequence")
    return value


def append_decision(path: str, event: dict[str, Any], *, now: str = "") -> dict[str, Any]:
    """Append one decision event (the ``gait run session append`` record); returns it."""
    from gait.runpack.session import VERDICTS
    from gait.signing import now_rfc3339

    verdict = str(event.get("verdict") or "").strip().lower()
    if verdict not in VERDICTS:
        raise InvalidInput(f"session event verdict must be one of {', '.join(VERDICTS)}")
    with _locked(path) as handle:
        record: dict[str, Any] = {
            "record_type": "event",
            "sequence": _last_sequence(path, handle) + 1,
            "created_at": now or now_rfc3339(),
            "tool_name": str(event.get("tool_name") or "").strip(),
            "verdict": verdict,
        }
        for key in ("trace_id", "trace_path", "intent_digest", "policy_digest"):
            value = str(event.get(key) or "").strip()
            if value:
                record[key] = value
        for key in ("reason_codes", "violations"):
            values = sorted({str(v).strip() for v in event.get(key) or () if str(v).strip()})
            if values:
                record[key] = values
        handle.seek(0, os.SEEK_END)
        handle.write(canonical_bytes(record) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return record


def _ensure_journal(path: str, session_id: str, run_id: str) -> None:
    from gait.runpack.session import start_session

    if os.path.exists(path):
        return
    try:
        start_session(path, session_id, run_id)
    except InvalidInput:
        if not os.path.exists(path):  # not a lost creation race: a real error
            raise


def _open_journal(path: str, session_id: str, run_id: str) -> str:
    """``path`` if it is (or now is) this run's journal; else the run-specific fallback."""
    _ensure_journal(path, session_id, run_id)
    if _journal_run_id(path) == run_id:
        return path
    fallback = f"{path.removesuffix('.journal.jsonl')}_{run_id}.journal.jsonl"
    _ensure_journal(fallback, session_id, run_id)
    return fallback


def journal_decision(
    *,
    session_id: str,
    run_id: str,
    session_dir: str,
    journal_path: str,
    runpack_dir: str,
    checkpoint_interval: int,
    event: dict[str, Any],
) -> list[str]:
    """Append one decision; checkpoint when due. Returns the response warnings."""
    stem = sanitize_session(session_id)
    path = journal_path or os.path.join(session_dir, f"{stem}.journal.jsonl")
    path = _open_journal(path, session_id, run_id)
    record = append_decision(path, event)
    sequence = int(record["sequence"])
    warnings = [f"session_journal={path} sequence={sequence}"]
    if checkpoint_interval > 0 and runpack_dir and sequence % checkpoint_interval == 0:
        from gait.runpack.session import checkpoint

        out = os.path.join(runpack_dir, f"{stem}_cp_{sequence:06d}.zip")
        _, chain = checkpoint(path, out)
        warnings.append(f"session_checkpoint={out} chain={chain}")
    return warnings
