"""Session journaling for ``mcp serve`` (serve_sdk.md §3.4, sessions).

Every decision whose session is known (the request's ``session_id``, else the
call's ``context.session_id``) is appended to that session's journal
(``gait.runpack.session``: locked appends, so threads and worker processes
never reuse a sequence number). With ``checkpoint_interval`` N and a runpack
directory, every N-th event also writes a checkpoint runpack and the chain.
"""

from __future__ import annotations

import os
import re

from gait.errors import InvalidInput

__all__ = ["journal_decision", "sanitize_session"]

_JUNK = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize_session(session_id: str) -> str:
    """A session id as a file-name stem: runs of other characters become ``_``."""
    return _JUNK.sub("_", session_id.strip()).strip("_") or "session"


def _open_journal(path: str, session_id: str, run_id: str) -> str:
    """``path`` if it is (or now is) this run's journal; else the run-specific fallback."""
    from gait.runpack.session import read_journal, start_session

    if not os.path.exists(path):
        try:
            start_session(path, session_id, run_id)
            return path
        except InvalidInput:
            if not os.path.exists(path):  # not a lost creation race: a real error
                raise
    if read_journal(path).run_id == run_id:
        return path
    stem = path.removesuffix(".journal.jsonl")
    fallback = f"{stem}_{run_id}.journal.jsonl"
    if not os.path.exists(fallback):
        try:
            start_session(fallback, session_id, run_id)
        except InvalidInput:
            if not os.path.exists(fallback):
                raise
    return fallback


def journal_decision(
    *,
    session_id: str,
    run_id: str,
    session_dir: str,
    journal_path: str,
    runpack_dir: str,
    checkpoint_interval: int,
    event: dict[str, object],
) -> list[str]:
    """Append one decision; checkpoint when due. Returns the response warnings."""
    from gait.runpack.session import checkpoint

    stem = sanitize_session(session_id)
    path = journal_path or os.path.join(session_dir, f"{stem}.journal.jsonl")
    path = _open_journal(path, session_id, run_id)
    from gait.runpack.session import append_event

    record = append_event(path, event)
    sequence = int(record["sequence"])
    warnings = [f"session_journal={path} sequence={sequence}"]
    if checkpoint_interval > 0 and runpack_dir and sequence % checkpoint_interval == 0:
        out = os.path.join(runpack_dir, f"{stem}_cp_{sequence:06d}.zip")
        _record, chain = checkpoint(path, out)
        warnings.append(f"session_checkpoint={out} chain={chain}")
    return warnings
