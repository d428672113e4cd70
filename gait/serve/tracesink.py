"""The server's trace sink: atomic trace files made durable by group commit.

A one-shot command fsyncs each trace and its folder (two fsyncs per decision);
under load that is most of a request's time. The server instead hands every
write to one :class:`gait.fsutil.GroupCommit`, so concurrent decisions share
their fsyncs. Same bytes, same names, same never-replace rule as the default
file sink; only when the fsync happens differs:

* ``strict`` (default): the decision (and so the HTTP answer) waits until its
  trace is durable; concurrent requests share one flush.
* ``batch``: the answer goes out once the trace is renamed into place (never
  half written); it becomes durable within ``interval`` seconds. A power loss
  can lose the traces of that last window; a process crash loses nothing.
"""

from __future__ import annotations

import os
from typing import Any

from gait.fsutil import GroupCommit

__all__ = ["DURABILITY_MODES", "GroupCommitTraceSink"]

DURABILITY_MODES = ("strict", "batch")


class GroupCommitTraceSink:
    """A :class:`gait.gate.pipeline.TraceSink` whose fsyncs are shared (see module docstring)."""

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
