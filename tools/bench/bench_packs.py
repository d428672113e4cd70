#!/usr/bin/env python3
"""Pack cost for a large run: build and verify time next to a raw sha256 of the same bytes.

Usage: python tools/bench/bench_packs.py [--steps 10000] [--repeat 5]

Records a runpack with ``--steps`` intents and results (raw capture, so every
record carries its args and result), then reports medians over ``--repeat``:

* ``sha256(runpack)``: hashing the runpack file bytes once — the floor;
* ``runpack verify``: ``gait verify`` on it (container checks + member hashes);
* ``incident pack build``: integrity-checked read of the runpack + building
  and writing the incident pack; ``incident pack verify`` and a raw sha256 of
  the incident pack's own bytes;
* ``unified pack build`` / ``verify`` (the pack embeds the runpack, so its
  verify hashes the runpack twice: as a pack member and when the embedded
  runpack is verified) next to a raw sha256 of the pack bytes.

Target (issue 10): verify ≤ 1.5× the raw hash of the same bytes.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _runpack(steps: int, out: Path) -> Path:
    from gait.runpack.record import record_runpack, write_runpack

    ts = "2026-02-05T00:00:00Z"
    intents = [
        {
            "intent_id": f"intent_{n:06d}",
            "tool_name": "tool.search",
            "created_at": ts,
            "args": {"query": f"query number {n}", "page": n % 7},
        }
        for n in range(steps)
    ]
    results = [
        {
            "intent_id": f"intent_{n:06d}",
            "status": "ok",
            "created_at": ts,
            "result": {"ok": True, "items": [f"item {n}-{k}" for k in range(3)]},
        }
        for n in range(steps)
    ]
    built = record_runpack(
        {"run_id": "run_bench", "created_at": ts},
        intents,
        results,
        {"receipts": []},
        capture_mode="raw",
    )
    path = out / "runpack_run_bench.zip"
    write_runpack(path, built)
    return path


def _sha(path: Path) -> None:
    hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    from gait.packs.common import write_pack
    from gait.packs.incident import build_incident_pack
    from gait.packs.source import read_source_run
    from gait.packs.unified import build_run_pack
    from gait.packs.verify import verify_any_pack, verify_guard_pack
    from gait.runpack.verify import verify_runpack

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        runpack = _runpack(opts.steps, out)
        incident = out / "incident.zip"
        unified = out / "unified.zip"

        def build_incident() -> None:
            write_pack(str(incident), build_incident_pack(read_source_run(runpack)).pack.zip_bytes)

        def build_unified() -> None:
            write_pack(str(unified), build_run_pack(read_source_run(runpack)).zip_bytes)

        build_incident()
        build_unified()
        assert verify_runpack(runpack).ok and verify_guard_pack(incident).ok
        assert verify_any_pack(unified).ok
        rows = [
            ("sha256(runpack)", _median(lambda: _sha(runpack), opts.repeat), runpack),
            ("runpack verify", _median(lambda: verify_runpack(runpack), opts.repeat), runpack),
            ("incident pack build", _median(build_incident, opts.repeat), incident),
            ("sha256(incident pack)", _median(lambda: _sha(incident), opts.repeat), incident),
            (
                "incident pack verify",
                _median(lambda: verify_guard_pack(incident), opts.repeat),
                incident,
            ),
            ("unified pack build", _median(build_unified, opts.repeat), unified),
            ("sha256(unified pack)", _median(lambda: _sha(unified), opts.repeat), unified),
            (
                "unified pack verify",
                _median(lambda: verify_any_pack(unified), opts.repeat),
                unified,
            ),
        ]
        print(f"steps={opts.steps} repeat={opts.repeat} (medians)")
        for name, seconds, path in rows:
            print(f"{name:<24} {seconds * 1000:9.2f} ms   {path.stat().st_size / 1e6:8.2f} MB")
        by = {name: seconds for name, seconds, _ in rows}
        print(
            f"runpack verify / sha256       = {by['runpack verify'] / by['sha256(runpack)']:.2f}x"
        )
        # An incident pack holds summaries, not the run: it is tiny, so its verify is
        # dominated by fixed costs; compare it with hashing the run it stands for too.
        print(
            "incident verify / sha256      = "
            f"{by['incident pack verify'] / by['sha256(incident pack)']:.2f}x (own bytes), "
            f"{by['incident pack verify'] / by['sha256(runpack)']:.3f}x (the runpack's bytes)"
        )
        print(
            "unified verify / sha256       = "
            f"{by['unified pack verify'] / by['sha256(unified pack)']:.2f}x"
        )


if __name__ == "__main__":
    main()
