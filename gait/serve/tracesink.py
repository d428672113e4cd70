"""The server's trace sink: atomic trace files, durable per request or in batches.

Same bytes, same names, same never-replace rule as the default file sink; only
when the fsync happens differs (``--trace-durability``):

* ``strict`` (default): the decision (and so the HTTP answer) waits until its
  trace and folder are fsynced. The decision threads fsync in parallel and the
  kernel's journal commits them together (group commit); a user-space
  leader/follower batch on top measured slower, so there is none.
* ``batch``: the answer goes out once the trace is named in place (never
  half written, visible to readers); a background flusher makes it durable
  within ``interval`` seconds (one ``syncfs`` per batch). A power loss can lose
  (or leave empty) traces of that last window; a process crash loses nothing.
  Shutdown (SIGTERM drain) flushes what is pending.
"""

from __future__ import annotations

import os
from typing import Any

from gait.fsutil import GroupCommit

__all__ = ["DURABILITY_MODES", "GroupCommitTraceSink"]

DURABILITY_MODES = ("strict", "batch")


class GroupCommitTraceSink:
    """A :class:`gait.gate.pipeline.TraceSink` with strict or batch durability (see module)."""

    keeps_existing = True  # names gait picks itself never replace an earlier file

    def __init__(self, durability: str = "strict", *, interval: float = 0.01) -> None:
        if durability not in DURABILITY_MODES:
            raise ValueError(f"unknown trace durability {durability!r}")
        self.durability = durability
        self.committer = GroupCommit(wait=durability == "strict", interval=interval)

    def write_trace(
        self, path: str | os.PathLike[str], record: dict[str, Any], *, keep_existing: bool = False
    ) -> str:
        from gait.trace import write_json_record

        return write_json_record(
            path, record, keep_existing=keep_existing, writer=self.committer.write
        )

    write_record = write_trace

    def flush(self) -> None:
        self.committer.flush()

    def close(self) -> None:
        """Flush pending traces (SIGTERM drain ends here); later writes are fsynced one by one."""
        self.committer.close()
