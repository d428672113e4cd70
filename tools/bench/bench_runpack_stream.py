"""Peak memory and time of ``run inspect|diff|replay`` on a large runpack.

Usage::

    python tools/bench/bench_runpack_stream.py [--records 500000] [--payload 40] [--json]
        [--in-memory]

Builds a raw-capture runpack of ``--records`` intents and as many results
(``--payload`` bytes of argument/result text each) plus a copy that differs in
its last result, then runs each command in a fresh Python process with its
output going to /dev/null and reports wall time and peak RSS
(``VmHWM`` of the child; ``ru_maxrss`` where /proc is missing) next to the pack's uncompressed record bytes. ``--in-memory``
adds the same work done the old way (whole pack parsed, whole payload built)
for comparison. With ``--in-memory``, the in-memory limits (100 MiB per
member, 256 MiB per zip) cap how many records fit; the streamed commands
accept up to 4 GiB per member (docs/limits.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_CHILD = r"""
import json, os, resource, sys
args = json.loads(sys.argv[1])
mode = sys.argv[2]
sys.argv = ["gait", *args]
out = open(os.devnull, "w")
if mode == "cli":
    from gait.cli.main import main
    real, sys.stdout = sys.stdout, out
    code = main(args)
    sys.stdout = real
else:
    from gait.cli.output import dumps
    from gait.runpack.reader import read_runpack
    from gait.runpack import inspect, diff, replay
    packs = [read_runpack(p) for p in args[2:4] if p.endswith(".zip")]
    fn = {"inspect": inspect.inspect_runpack, "replay": replay.replay_stub,
          "diff": diff.diff_runpacks}[args[1]]
    out.write(dumps(fn(*packs)))
    code = None  # no exit code on this path
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # ru_maxrss keeps the parent's peak across fork+exec on Linux; VmHWM is this image's own
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"code": code, "peak_kb": peak}))
"""


def build_pack(path: Path, run_id: str, records: int, payload: int, *, change_last: bool = False):
    """A raw-capture runpack with ``records`` intents and results, built in one call."""
    from gait.runpack.record import record_runpack, write_runpack

    filler = "x" * payload
    intents = [
        {
            "intent_id": f"intent_{n:07d}",
            "tool_name": "http.fetch" if n % 3 else "db.query",
            "args": {"n": n, "q": filler},
            "created_at": "2026-02-05T00:00:00Z",
        }
        for n in range(records)
    ]
    results = [
        {
            "intent_id": f"intent_{n:07d}",
            "status": "error" if change_last and n == records - 1 else "ok",
            "result": {"v": n, "body": filler, "verdict": "allow"},
            "created_at": "2026-02-05T00:00:00Z",
        }
        for n in range(records)
    ]
    built = record_runpack(
        {"run_id": run_id, "created_at": "2026-02-05T00:00:00Z"},
        intents,
        results,
        capture_mode="raw",
    )
    del intents, results
    write_runpack(path, built)
    return path


def record_bytes(path: Path) -> int:
    """Uncompressed size of intents.jsonl + results.jsonl."""
    from gait.runpack.zipread import open_zip

    with open_zip(path, strict=False) as archive:
        return sum(e.size for e in archive.entries if e.name in ("intents.jsonl", "results.jsonl"))


def measure(args: list[str], mode: str = "cli") -> dict[str, Any]:
    """Run ``gait <args>`` (or the in-memory equivalent) in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args), mode],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
    report = json.loads(lines[-1])
    report["seconds"] = round(seconds, 2)
    report["peak_rss_mb"] = round(report.pop("peak_kb") / 1024, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000, help="intents (and results)")
    parser.add_argument("--payload", type=int, default=40, help="filler bytes per record")
    parser.add_argument("--in-memory", action="store_true", help="also measure the old way")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        left = build_pack(Path(tmp, "left.zip"), "run_left", opts.records, opts.payload)
        right = build_pack(
            Path(tmp, "right.zip"), "run_right", opts.records, opts.payload, change_last=True
        )
        report: dict[str, Any] = {
            "records": opts.records,
            "record_bytes_mb": round(record_bytes(left) / 2**20, 1),
            "zip_mb": round(os.path.getsize(left) / 2**20, 1),
        }
        runs = {
            "inspect": ["run", "inspect", str(left), "--json"],
            "replay": ["run", "replay", str(left), "--json"],
            "diff": ["run", "diff", str(left), str(right), "--json"],
        }
        for name, args in runs.items():
            report[name] = measure(args)
            if opts.in_memory:
                report[f"{name}_in_memory"] = measure(args, "memory")
    if opts.json:
        print(json.dumps(report, sort_keys=True))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
