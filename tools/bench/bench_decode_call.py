#!/usr/bin/env python3
"""Per-call cost of ``gait.mcp.decode.decode_tool_call``, one typical payload per adapter.

Usage: python tools/bench/bench_decode_call.py [--iterations N] [--profile ADAPTER]

Each payload is given as JSON bytes, as ``mcp serve`` hands it over (the raw
``call`` field of the request body). Prints CPU µs per call per adapter (best of five runs), and for
comparison the cost of decoding + normalizing the same call as an intent file.
``--profile ADAPTER`` prints the top of a cProfile of that adapter's decode.

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from collections.abc import Callable
from typing import Any

PAYLOADS: dict[str, Any] = {
    # The call tools/bench/bench_serve.py sends.
    "mcp": {
        "name": "tool.read",
        "args": {"path": "/repo/README.md"},
        "targets": [{"kind": "path", "value": "/repo/README.md", "operation": "read"}],
        "context": {"identity": "bench", "workspace": "/repo"},
    },
    "openai": {"function": {"name": "tool.read", "arguments": '{"path": "/repo/README.md"}'}},
    "anthropic": {"type": "tool_use", "name": "tool.write", "input": {"path": "/repo/a.txt"}},
    "langchain": {"tool": "tool.search", "tool_input": '{"q": "gait"}'},
    "claude_code": {
        "tool_name": "Bash",
        "tool_input": {"command": "rm -rf build"},
        "session_id": "s-1",
        "hook_event_name": "PreToolUse",
    },
}


def _per_call_us(call: Callable[[], Any], iterations: int) -> float:
    for _ in range(min(iterations, 500)):  # warm-up
        call()
    best = float("inf")
    for _ in range(5):  # best of five, in CPU time: the machine is shared
        start = time.process_time()
        for _ in range(iterations):
            call()
        best = min(best, (time.process_time() - start) / iterations * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=5000, help="calls per measurement")
    parser.add_argument("--profile", default="", help="print a cProfile of this adapter's decode")
    args = parser.parse_args()

    from gait.intent.decode import decode_intent_bytes
    from gait.intent.normalize import normalize_intent
    from gait.mcp.decode import decode_tool_call

    print(f"decode_tool_call, CPU µs per call (best of 5 x {args.iterations}):")
    for adapter, payload in PAYLOADS.items():
        data = json.dumps(payload).encode()
        us = _per_call_us(lambda d=data, a=adapter: decode_tool_call(d, adapter=a), args.iterations)
        print(f"  {adapter:<12} {us:8.1f}")

    intent = decode_tool_call(json.dumps(PAYLOADS["mcp"]).encode()).intent_request
    intent_bytes = json.dumps(intent).encode()
    us = _per_call_us(lambda: normalize_intent(decode_intent_bytes(intent_bytes)), args.iterations)
    print(f"  {'intent file':<12} {us:8.1f}  (decode_intent_bytes + normalize_intent, same call)")

    if args.profile:
        data = json.dumps(PAYLOADS[args.profile]).encode()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.iterations):
            decode_tool_call(data, adapter=args.profile)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
