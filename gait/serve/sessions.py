"""Session journaling for ``mcp serve`` (serve_sdk.md §3.4, sessions).

Every decision whose session is known (the request's ``session_id``, else the
call's ``context.session_id``) is appended to that session's journal, in the
``gait.runpack.session_journal`` format of ``gait run session``. With
``checkpoint_interval`` N and a runpack directory, every N-th event also
writes a checkpoint runpack and the chain (``gait.runpack.session.checkpoint``).

Appends are :func:`gait.runpack.session.append_event`, the same as ``gait run
session append``: they read only the journal's header and its last record, so
a long session costs no more per request than a new one, and they hold an
exclusive ``flock``, so threads, worker processes and the CLI never reuse a
sequence number. Journals are created with their header in one step.

With a shared state store (``--state redis://…``) several servers may append
to one session: each append (and its checkpoint) holds a store lease on the
session, and the sequence number comes from a counter in the store, so two
servers never hand out one number. The journal file is the record and must be
on a directory all those servers share (docs/scale.md); a server with its own
directory keeps its own journal, numbered on its own.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gait.errors import InvalidInput

__all__ = ["journal_decision", "sanitize_session"]

_JUNK = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize_session(session_id: str) -> str:
    """A session id as a file-name stem: runs of other characters become ``_``."""
    return _JUNK.sub("_", session_id.strip()).strip("_") or "session"


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
    from gait.runpack.session import journal_run_id

    if journal_run_id(path) == run_id:
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
    store: Any = None,
) -> list[str]:
    """Append one decision; checkpoint when due. Returns the response warnings.

    ``store``: a shared state store (``store.shared``) makes appends exact across servers.
    """
    stem = sanitize_session(session_id)
    path = journal_path or os.path.join(session_dir, f"{stem}.journal.jsonl")
    if store is None or not getattr(store, "shared", False):
        return _append(path, stem, session_id, run_id, runpack_dir, checkpoint_interval, event)
    from gait.errors import StateUnavailable

    name = f"serve_session:{os.path.basename(path)}"
    with store.lease(name, ttl=SESSION_LEASE_TTL, wait=SESSION_LEASE_WAIT) as held:
        if not held:
            raise StateUnavailable(f"session {session_id}: another server holds its lease")
        return _append(
            path,
            stem,
            session_id,
            run_id,
            runpack_dir,
            checkpoint_interval,
            event,
            store=store,
        )


def _header_digest(path: str) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.readline()).hexdigest()[:16]


SESSION_LEASE_TTL = 30.0  # seconds; longer than any append plus checkpoint
SESSION_LEASE_WAIT = 10.0


def _append(
    path: str,
    stem: str,
    session_id: str,
    run_id: str,
    runpack_dir: str,
    checkpoint_interval: int,
    event: dict[str, Any],
    store: Any = None,
) -> list[str]:
    path = _open_journal(path, session_id, run_id)
    from gait.runpack.session import append_event

    allocate = None
    if store is not None:
        # One counter per journal instance (file name and header): a fallback
        # journal of another run, or a journal re-created after retention
        # removed it, numbers from 1 again, so its checkpoint chain stays valid.
        counter = f"serve_session:{os.path.basename(path)}:{_header_digest(path)}"

        def allocate(floor: int) -> int:
            return int(store.next_sequence(counter, floor))

    record = append_event(path, event, allocate=allocate)
    sequence = int(record["sequence"])
    warnings = [f"session_journal={path} sequence={sequence}"]
    if checkpoint_interval > 0 and runpack_dir and sequence % checkpoint_interval == 0:
        from gait.runpack.session import checkpoint

        out = os.path.join(runpack_dir, f"{stem}_cp_{sequence:06d}.zip")
        _, chain = checkpoint(path, out)
        warnings.append(f"session_checkpoint={out} chain={chain}")
    return warnings
