#!/usr/bin/env python3
"""Gate decision cost: in-process ``evaluate + sign trace``, and one ``gait gate eval`` process.

Usage: python tools/bench/bench_gate.py [--iterations N] [--runs N]

* in process: the compiled policy and the prod signing key are loaded once;
  each iteration evaluates the intent, builds the trace record and signs it
  (what ``gate eval`` does per call, minus file I/O); also the full
  ``Gate.decide`` pipeline without writing files, and with the trace file
  written as ``mcp serve --trace-durability batch`` writes it.
* process: median wall time of ``gait gate eval --trace-out`` with a warm
  compile cache (``GAIT_CACHE_DIR`` in a temporary directory, one warm-up run).

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_medium_risk.yaml"
INTENTS = {
    "allow": REPO / "examples" / "policy" / "intents" / "intent_read.json",
    "require_approval": REPO / "examples" / "policy" / "intents" / "intent_write.json",
    "block": REPO / "examples" / "policy" / "intents" / "intent_delete.json",
}


def _per_call_us(call: Callable[[], Any], iterations: int) -> float:
    for _ in range(min(iterations, 200)):  # warm-up
        call()
    # CPU time of the whole process (the batch flusher thread included): on a shared
    # machine wall time mostly measures the other processes.
    start = time.process_time()
    for _ in range(iterations):
        call()
    return (time.process_time() - start) / iterations * 1e6


def bench_in_process(key_path: str, iterations: int) -> None:
    from gait.engine import evaluate
    from gait.gate import Gate, GateOptions
    from gait.intent import args_digest, load_intent
    from gait.policy import compile_policy_file
    from gait.serve.tracesink import GroupCommitTraceSink
    from gait.signing import resolve_signing_key
    from gait.trace import build_trace_record, sign_trace

    compiled = compile_policy_file(POLICY)
    key, _warnings = resolve_signing_key("prod", private_key=key_path)
    print(f"in process, CPU µs per call ({iterations} iterations, policy {POLICY.name}, prod key):")
    for verdict, path in INTENTS.items():
        _raw, intent = load_intent(path)

        def evaluate_and_sign(intent: Any = intent) -> dict[str, Any]:
            decision = evaluate(compiled, intent)
            prepared: Any = decision.intent
            record = build_trace_record(
                policy_digest=decision.policy_digest,
                intent_digest=decision.intent_digest,
                args_digest=args_digest(prepared),
                tool_name=prepared.tool_name,
                verdict=decision.verdict,
                created_at=decision.created_at,
                violations=decision.violations,
            )
            return sign_trace(record, key)

        gate = Gate(compiled, GateOptions(key_mode="prod", private_key=key_path))

        def full_pipeline(intent: Any = intent, gate: Gate = gate) -> Any:
            return gate.decide(intent, write_trace=False)

        # What mcp serve --trace-durability batch does per decision: the trace file is
        # written and renamed, its fsync left to the background flusher.
        sink = GroupCommitTraceSink("batch")
        writing = Gate(compiled, GateOptions(key_mode="prod", private_key=key_path), sink=sink)
        trace_dir = tempfile.mkdtemp(prefix="gait-bench-traces-")
        counter = itertools.count()

        def with_trace(
            intent: Any = intent, gate: Gate = writing, out: str = trace_dir, counter: Any = counter
        ) -> Any:
            # A fresh name per decision, as mcp serve writes them (replacing one file
            # over and over measures ext4's flush-on-replace instead), and explicit
            # paths for every record (an audit record, for require_approval), so
            # nothing lands in the current folder.
            n = next(counter)
            return gate.decide(
                intent,
                trace_out=os.path.join(out, f"trace_{n}.json"),
                approval_audit_out=os.path.join(out, f"approval_audit_{n}.json"),
            )

        sign_us = _per_call_us(evaluate_and_sign, iterations)
        eval_us = _per_call_us(lambda i=intent: evaluate(compiled, i), iterations)
        gate_us = _per_call_us(full_pipeline, max(iterations // 5, 1))
        file_us = _per_call_us(with_trace, max(iterations // 5, 1))
        sink.close()
        shutil.rmtree(trace_dir)
        print(
            f"  {verdict:<17} evaluate {eval_us:8.1f} us   evaluate+sign trace {sign_us:8.1f} us"
            f"   Gate.decide (no files) {gate_us:8.1f} us   + trace file (batch) {file_us:8.1f} us"
        )


def _gait_command() -> list[str]:
    script = Path(sys.executable).with_name("gait")
    if script.is_file():
        return [str(script)]
    found = shutil.which("gait")
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


def bench_process(key_path: str, runs: int, workdir: Path) -> None:
    # measure as installed: with bytecode caching even if this shell disables it
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["GAIT_CACHE_DIR"] = str(workdir / "cache")
    command = _gait_command()
    print(f"process ({runs} runs, warm compile cache, {' '.join(command)}):")
    for verdict, path in INTENTS.items():
        argv = [
            *command,
            "gate",
            "eval",
            "--policy",
            str(POLICY),
            "--intent",
            str(path),
            "--key-mode",
            "prod",
            "--private-key",
            key_path,
            "--trace-out",
            str(workdir / f"trace_{verdict}.json"),
            "--json",
        ]
        subprocess.run(argv, env=env, cwd=workdir, capture_output=True, check=False)  # warm
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        print(
            f"  {verdict:<17} median {statistics.median(times) * 1000:7.1f} ms"
            f"   min {min(times) * 1000:7.1f} ms   (exit {done.returncode})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from gait.signing import generate_keypair, write_private_key

    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        workdir = Path(tmp)
        key_path = str(workdir / "prod_private.key")
        write_private_key(key_path, generate_keypair())
        bench_in_process(key_path, args.iterations)
        bench_process(key_path, args.runs, workdir)


if __name__ == "__main__":
    main()
