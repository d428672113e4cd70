#!/usr/bin/env python3
"""One-shot command cost: wall and CPU time of whole ``gait`` processes, side by side.

Usage: python tools/bench/bench_startup.py [--runs N] [--ref PATH] [--json]

Runs each hot command (``policy test``, ``gate eval`` with and without
``--trace-out``, ``verify``, ``trace verify``, ``--help``, ``version``) ``--runs``
times in a scratch directory and prints the median wall time and the median
CPU time (user + system of the child, which moves less than wall time on a busy
machine). With ``--ref PATH`` the same arguments run against that binary (the
reference implementation) and a ratio column is added; without it, our figures
alone.

Inputs are the shipped example policy and intents; the runpack comes from
``gait demo`` and the trace from one ``gait gate eval --trace-out`` (verified with
the prod key that signed it). Bytecode caching is on, as in an installed gait;
a ``PYTHONDONTWRITEBYTECODE`` environment would measure recompiling instead.

Each hot command also runs warm: with the warm start server on (a private
socket folder; the daemon is started and each command run once before timing)
in the ``warm wall``, ``client cpu`` and ``child cpu`` columns. Client CPU is
the ``gait`` process the user starts (median); the forked child that does the
work is the daemon's child, not ours, so its CPU comes from the daemon's count
of its reaped children (``gait warm status --json``: ``children_cpu_ms``), a
mean over the runs. The cold columns run with ``GAIT_WARM=0``.

With ``--instructions`` each command also runs once under valgrind
(``cachegrind --cache-sim=no``) and the instructions it executed are printed, in
millions: unlike times, that count barely moves when other work shares the
machine, so it shows a change of a fraction of a millisecond. It needs valgrind
and is slow (each run takes seconds).

Prints numbers; asserts nothing.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
INTENT = REPO / "examples" / "policy" / "intents" / "intent_delete.json"


def gait_command() -> list[str]:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("gait", path=search)
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


def clean_env() -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "GAIT_NO_CACHE", "GAIT_CACHE_DIR")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("GAIT_WARM")}
    env["GAIT_WARM"] = "0"
    return env


# Commands the warm start server serves (gait.cli.warm); the others run cold only.
WARM_COMMANDS = ("policy test", "gate eval", "gate eval --trace-out", "verify", "trace verify")


def warm_server(gait: list[str], work: Path, env: dict[str, str]) -> dict | None:
    """The running warm start server of this interpreter, as ``gait warm status`` shows it."""
    proc = subprocess.run(
        [*gait, "warm", "status", "--json"], cwd=work, env=env, capture_output=True, check=False
    )
    try:
        servers = json.loads(proc.stdout)["servers"]
    except (ValueError, KeyError):
        return None
    return next((s for s in servers if s["current"] and s["answers"]), None)


def start_warm(gait: list[str], work: Path, env: dict[str, str], argv: list[str]) -> bool:
    """Start the daemon (one hot call spawns it) and wait until it answers; False if not."""
    subprocess.run([*gait, *argv], cwd=work, env=env, capture_output=True, check=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if warm_server(gait, work, env) is not None:
            return True
        time.sleep(0.1)
    return False


def children_cpu_ms(gait: list[str], work: Path, env: dict[str, str]) -> float:
    time.sleep(0.1)  # the last child has been reaped
    server = warm_server(gait, work, env)
    return float(server.get("children_cpu_ms", "nan")) if server else float("nan")


def measure(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[float, float, int]:
    """(median wall ms, median CPU ms, exit code of the last run)."""
    walls, cpus, code = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        walls.append((time.perf_counter() - start) * 1000.0)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000.0)
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
    return statistics.median(walls), statistics.median(cpus), code


def instructions(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Millions of instructions one run executes (valgrind cachegrind), NaN without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return float("nan")
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)  # bytecode cached
    proc = subprocess.run(
        [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *argv],
        cwd=cwd,
        env={**env, "PYTHONHASHSEED": "0"},  # the same dict layouts every run
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stderr.splitlines():
        if "I refs:" in line or "I   refs:" in line:
            return int(line.rsplit(":", 1)[1].strip().replace(",", "")) / 1e6
    return float("nan")


def scenarios(work: Path) -> dict[str, list[str]]:
    p, i = str(POLICY), str(INTENT)
    return {
        "policy test": ["policy", "test", p, i, "--json"],
        "gate eval": ["gate", "eval", "--policy", p, "--intent", i, "--json"],
        "gate eval --trace-out": [
            "gate",
            "eval",
            "--policy",
            p,
            "--intent",
            i,
            "--trace-out",
            str(work / "bench_trace.json"),
            "--json",
        ],
        "verify": ["verify", str(work / "gait-out" / "runpack_run_demo.zip"), "--json"],
        "trace verify": [
            "trace",
            "verify",
            str(work / "signed_trace.json"),
            "--public-key",
            str(work / "bench.pub"),
            "--json",
        ],
        "--help": ["--help"],
        "version": ["version"],
    }


def prepare(gait: list[str], work: Path, env: dict[str, str]) -> None:
    """The runpack, the key pair and the signed trace the verify commands read."""

    def run(*args: str) -> None:
        subprocess.run([*gait, *args], cwd=work, env=env, capture_output=True, check=False)

    run("demo")
    run("keys", "init", "--out-dir", str(work), "--prefix", "bench")
    run(
        "gate",
        "eval",
        "--policy",
        str(POLICY),
        "--intent",
        str(INTENT),
        "--key-mode",
        "prod",
        "--private-key",
        str(work / "bench_private.key"),
        "--trace-out",
        str(work / "signed_trace.json"),
    )
    pub = work / "bench_public.key"
    if pub.exists():
        shutil.copy(pub, work / "bench.pub")  # a stable name for the scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="process runs per command (median)")
    parser.add_argument("--ref", default="", help="reference gait binary to compare with")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per command under valgrind (stable on a busy machine)",
    )
    args = parser.parse_args()
    gait = gait_command()
    env = clean_env()
    rows = []
    sockets = tempfile.mkdtemp(prefix="gbw", dir="/tmp")  # short: AF_UNIX path limit
    warm_env = {**env, "GAIT_WARM": "1", "GAIT_WARM_DIR": sockets, "GAIT_WARM_IDLE": "600"}
    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        work = Path(tmp)
        prepare(gait, work, env)
        plan = scenarios(work)
        warm = start_warm(gait, work, warm_env, plan["policy test"])
        for name, argv in plan.items():
            wall, cpu, code = measure([*gait, *argv], work, env, args.runs)
            row = {"command": name, "wall_ms": wall, "cpu_ms": cpu, "exit": code}
            if warm and name in WARM_COMMANDS:
                measure([*gait, *argv], work, warm_env, 1)  # the first warm call of this command
                before = children_cpu_ms(gait, work, warm_env)
                wwall, wcpu, wcode = measure([*gait, *argv], work, warm_env, args.runs)
                child = (children_cpu_ms(gait, work, warm_env) - before) / args.runs
                row.update(warm_wall_ms=wwall, warm_client_cpu_ms=wcpu, warm_exit=wcode)
                row.update(warm_child_cpu_ms=child)
            if args.instructions:
                row["minstr"] = instructions([*gait, *argv], work, env)
            if args.ref:
                rwall, rcpu, rcode = measure([args.ref, *argv], work, env, args.runs)
                row.update(ref_wall_ms=rwall, ref_cpu_ms=rcpu, ref_exit=rcode)
                if args.instructions:
                    row["ref_minstr"] = instructions([args.ref, *argv], work, env)
            rows.append(row)
        base_wall, base_cpu, _ = measure([sys.executable, "-c", "pass"], work, env, args.runs)
        subprocess.run(
            [*gait, "warm", "stop"], cwd=work, env=warm_env, capture_output=True, check=False
        )
        shutil.rmtree(sockets, ignore_errors=True)
        base_minstr = (
            instructions([sys.executable, "-c", "pass"], work, env) if args.instructions else None
        )
    if args.json:
        out = {"python_pass_ms": base_wall, "rows": rows}
        if base_minstr is not None:
            out["python_pass_minstr"] = base_minstr
        print(json.dumps(out, sort_keys=True))
        return
    print(f"python {sys.version.split()[0]}; {' '.join(gait)}; median of {args.runs} runs")
    print(f"interpreter alone (python -c pass): wall {base_wall:.1f} ms, cpu {base_cpu:.1f} ms")
    if base_minstr is not None:
        print(f"interpreter alone: {base_minstr:.1f} M instructions")
    print(
        "cold: GAIT_WARM=0; warm: the warm start server on; client cpu: median of the gait "
        "process; child cpu: mean of the forked children (the server's count)"
    )
    head = f"  {'command':<24} {'wall ms':>8} {'cpu ms':>8} {'exit':>4}"
    head += f" {'warm wall':>9} {'client cpu':>10} {'child cpu':>9} {'exit':>4}"
    if args.instructions:
        head += f" {'M instr':>8}"
    if args.ref:
        head += f" {'ref wall':>9} {'ref cpu':>8} {'ref exit':>8} {'ratio':>6}"
        if args.instructions:
            head += f" {'ref M instr':>11}"
    print(head)
    for r in rows:
        line = f"  {r['command']:<24} {r['wall_ms']:8.1f} {r['cpu_ms']:8.1f} {r['exit']:>4}"
        if "warm_wall_ms" in r:
            line += f" {r['warm_wall_ms']:9.1f} {r['warm_client_cpu_ms']:10.1f}"
            line += f" {r['warm_child_cpu_ms']:9.1f} {r['warm_exit']:>4}"
        else:
            line += f" {'-':>9} {'-':>10} {'-':>9} {'-':>4}"
        if args.instructions:
            line += f" {r['minstr']:8.1f}"
        if args.ref:
            ratio = r["wall_ms"] / r["ref_wall_ms"] if r["ref_wall_ms"] else float("nan")
            line += (
                f" {r['ref_wall_ms']:9.1f} {r['ref_cpu_ms']:8.1f} {r['ref_exit']:>8} {ratio:6.1f}x"
            )
            if args.instructions:
                line += f" {r['ref_minstr']:11.1f}"
        print(line)


if __name__ == "__main__":
    main()
