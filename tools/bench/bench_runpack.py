"""Runpack verify and diff timings, next to plain sha256 over the same bytes.

Usage::

    python tools/bench/bench_runpack.py [--steps 10000] [--repeat 15] [--json]

Builds a typical runpack (25 gated steps, raw capture) and a large one
(``--steps`` steps) with the Recorder, writes them to a temp dir, then reports
medians of:

* ``verify``: :func:`gait.runpack.verify_runpack` on the file (open, structural
  checks, CRC + sha256 of every member, manifest digest);
* ``sha256``: ``hashlib.sha256`` over the zip file's bytes, already in memory;
* ``diff``: :func:`gait.runpack.diff_runpacks` of two packs of the same size
  that differ in one step (reading both included).

Target: verify within 2x of raw sha256 time on the large runpack.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up (imports, page cache)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def build_pack(path: Path, run_id: str, steps: int, *, flip_last: bool = False) -> Path:
    from gait.runpack import Recorder

    tick = iter(range(10 * steps + 10))

    def clock() -> str:
        n = next(tick)
        return f"2026-02-05T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"

    def gate(intent: dict[str, Any]) -> dict[str, Any]:
        blocked = intent["tool_name"] == "tool.delete"
        return {
            "verdict": "block" if blocked else "allow",
            "reason_codes": ["destructive_tool_blocked" if blocked else "default_allow"],
            "policy_digest": "ab" * 32,
        }

    rec = Recorder(
        run_id,
        capture_mode="raw",
        gate=gate,
        context={"identity": "bench", "workspace": "/w", "risk_class": "high"},
        clock=clock,
    )
    tools = ("tool.search", "tool.fetch", "tool.summarize", "tool.delete")
    with rec:
        for n in range(steps):
            tool = tools[n % len(tools)]
            if flip_last and n == steps - 1:
                tool = "tool.search"
            with rec.step(tool, {"query": f"question {n}", "page": n % 7, "limit": 10}) as step:
                if step.allowed:
                    step.ok({"hits": [f"https://example.local/{n}/{k}" for k in range(3)], "n": n})
    rec.write(path)
    return path


def run(steps: int, repeat: int) -> dict[str, Any]:
    from gait.runpack import diff_runpacks, read_runpack, verify_runpack

    out: dict[str, Any] = {"repeat": repeat, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, count in (("typical", 25), ("large", steps)):
            left = build_pack(root / f"{label}_a.zip", f"run_{label}_a", count)
            right = build_pack(root / f"{label}_b.zip", f"run_{label}_b", count, flip_last=True)
            data = left.read_bytes()
            report = verify_runpack(left)
            assert report.ok, report.to_json()
            verify_ms = _median_ms(lambda p=left: verify_runpack(p), repeat)
            sha_ms = _median_ms(lambda d=data: hashlib.sha256(d).digest(), repeat)
            diff_ms = _median_ms(
                lambda a=left, b=right: diff_runpacks(read_runpack(a), read_runpack(b)),
                max(3, repeat // 3),
            )
            out["cases"].append(
                {
                    "case": label,
                    "steps": count,
                    "zip_bytes": len(data),
                    "verify_ms": round(verify_ms, 3),
                    "sha256_ms": round(sha_ms, 3),
                    "verify_over_sha256": round(verify_ms / sha_ms, 2) if sha_ms else None,
                    "diff_ms": round(diff_ms, 3),
                }
            )
    large = out["cases"][-1]
    out["target"] = "verify <= 2x sha256 on the large runpack"
    out["target_met"] = bool(large["verify_over_sha256"] and large["verify_over_sha256"] <= 2.0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.steps, args.repeat)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(f"runpack bench (medians of {result['repeat']} runs)")
    for case in result["cases"]:
        print(
            f"{case['case']:8} steps={case['steps']:<6} zip={case['zip_bytes']:>9} B  "
            f"verify={case['verify_ms']:8.3f} ms  sha256(same bytes)={case['sha256_ms']:8.3f} ms  "
            f"ratio={case['verify_over_sha256']:.2f}x  diff={case['diff_ms']:9.3f} ms"
        )
    status = "met" if result["target_met"] else "NOT met"
    print(f"target ({result['target']}): {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
