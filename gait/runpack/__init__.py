"""Runpacks: deterministic, verifiable zips of one agent run (spec/runpack.md).

Public API (imported lazily)::

    from gait.runpack import Recorder, policy_gate, verify_runpack, read_runpack

    rec = Recorder("run_checkout", gate=policy_gate(compiled), context=ctx)
    with rec:
        rec.call("tool.search", search, {"query": "q"})
    rec.write()                                   # ./gait-out/runpack_run_checkout.zip
    assert verify_runpack("gait-out/runpack_run_checkout.zip").ok

Modules: ``recorder`` (capture), ``record`` (normalize + build + write),
``zipwrite`` / ``zipread`` (deterministic writer, safe reader), ``verify``,
``reader`` (run_id resolution, integrity-checked parsing), ``inspect``,
``diff``, ``replay``, ``capture_input`` (``run record`` inputs), ``demo``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GateDecision",
    "RecordResult",
    "Recorder",
    "Runpack",
    "ToolBlocked",
    "VerifyReport",
    "diff_runpacks",
    "format_ticket_footer",
    "inspect_runpack",
    "policy_gate",
    "read_runpack",
    "record_runpack",
    "replay_stub",
    "resolve_runpack",
    "safe_extract",
    "verify_runpack",
    "write_runpack",
]

_HOME = {
    "GateDecision": "recorder",
    "Recorder": "recorder",
    "ToolBlocked": "recorder",
    "policy_gate": "recorder",
    "RecordResult": "record",
    "record_runpack": "record",
    "write_runpack": "record",
    "Runpack": "reader",
    "read_runpack": "reader",
    "resolve_runpack": "reader",
    "VerifyReport": "verify",
    "verify_runpack": "verify",
    "diff_runpacks": "diff",
    "format_ticket_footer": "inspect",
    "inspect_runpack": "inspect",
    "replay_stub": "replay",
    "safe_extract": "zipread",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"gait.runpack.{module}"), name)
