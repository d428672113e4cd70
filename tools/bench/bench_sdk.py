#!/usr/bin/env python3
"""SDK overhead: ``evaluate()`` alone vs the SDK's in-process decision path without traces.

Usage: python tools/bench/bench_sdk.py [--number N] [--repeat R]

For each example intent (allow, block), captured once with ``capture_intent``:

* ``evaluate``: ``gait.engine.evaluate(compiled, intent)`` on the normalized intent;
* ``LocalGate.decide``: the SDK decision (``write_trace=False``) → ``GateEvalResult``;
* ``ToolAdapter.gate_intent``: the same through the adapter (what ``@gate_tool`` uses);
* ``ToolAdapter.execute``: decide and run a no-op tool.

Each figure is the best of ``--repeat`` runs of ``--number`` calls, in µs per call;
overhead = SDK figure minus ``evaluate``. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
POLICY = REPO / "examples" / "policy" / "base_medium_risk.yaml"
INTENTS = {
    "allow": REPO / "examples" / "policy" / "intents" / "intent_read.json",
    "block": REPO / "examples" / "policy" / "intents" / "intent_delete.json",
}


def _best_us(calls: dict[str, Callable[[], Any]], number: int, repeat: int) -> dict[str, float]:
    """Best µs per call of each, the runs interleaved so machine load hits all alike."""
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():
        call()
    for _ in range(repeat):
        for name, call in calls.items():
            best[name] = min(best[name], timeit.timeit(call, number=number) / number * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs; the best is kept")
    opts = parser.parse_args()

    from gait.engine import evaluate
    from gait.gate import GateOptions
    from gait.sdk import ToolAdapter, capture_intent
    from gait.sdk.client import local_gate

    gate = local_gate(POLICY, GateOptions())
    adapter = ToolAdapter(POLICY, write_trace=False)
    compiled = gate.gate.compiled
    print(
        f"SDK in-process decision, no trace (policy {POLICY.name}; best of {opts.repeat} x {opts.number})"
    )
    for verdict, path in INTENTS.items():
        raw = json.loads(path.read_text())
        request = capture_intent(
            raw["tool_name"],
            raw.get("args"),
            raw["context"],
            targets=raw.get("targets", ()),
            arg_provenance=raw.get("arg_provenance", ()),
            created_at=raw.get("created_at"),
        )
        intent = request.intent
        assert gate.decide(request, write_trace=False).verdict == verdict
        assert evaluate(compiled, intent).verdict == verdict

        def noop(_request: Any) -> None:
            return None

        calls: dict[str, Callable[[], Any]] = {
            "evaluate": functools.partial(evaluate, compiled, intent),
            "LocalGate.decide": functools.partial(gate.decide, request, write_trace=False),
            "ToolAdapter.gate_intent": functools.partial(adapter.gate_intent, request),
        }
        if verdict == "allow":
            calls["ToolAdapter.execute"] = functools.partial(adapter.execute, request, noop)
        rows = _best_us(calls, opts.number, opts.repeat)
        bare = rows.pop("evaluate")
        print(f"  {verdict:5s} evaluate()               {bare:7.2f} µs")
        for name, us in rows.items():
            print(f"  {verdict:5s} {name:24s} {us:7.2f} µs  (overhead {us - bare:+.2f} µs)")


if __name__ == "__main__":
    main()
