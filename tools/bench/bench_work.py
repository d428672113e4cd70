#!/usr/bin/env python3
"""Hot commands split in two: the cost of their imports, and the work after them.

Usage: python tools/bench/bench_work.py [--runs N] [--only NAME] [--profile NAME] [--json]

For each hot command of tools/bench/bench_startup.py (``policy test``, ``gate
eval`` with and without ``--trace-out``, ``verify``, ``trace verify``):

* imports: a fresh interpreter imports exactly the modules one run of the
  command loads (in the order it loads them), minus a bare interpreter; median
  CPU time (user + system from ``os.wait4``) of ``--runs`` processes.
* work: one process imports those modules (and builds the tables the warm
  start server builds, gait.cli.warmd.WARM_CALLS), then forks a child per run that
  calls ``gait.cli.main._run(argv)`` with stdout and stderr on /dev/null; the
  child's wall time and CPU time (its rusage; "of it sys": the system part,
  which the kernel splits from user time by sampling), median of ``--runs``
  children.
  This is what a warm start leaves per call besides the interpreter and its
  client. Each ``gate eval`` child runs in a fresh directory so traces do not
  pile up.

``--profile NAME`` runs that command's work once more under cProfile in a
forked child and prints the top functions by cumulative and own time.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import clean_env, gait_command, prepare, scenarios

HOT = ("policy test", "gate eval", "gate eval --trace-out", "verify", "trace verify")

# Lists the modules one run loads, in load order (dicts keep insertion order).
LIST_MODULES = r"""
import os, sys
before = set(sys.modules)
from gait.cli.main import _run
fd = os.open(os.devnull, os.O_WRONLY)
saved = os.dup(1), os.dup(2)
os.dup2(fd, 1); os.dup2(fd, 2)
try:
    _run(sys.argv[2:])
finally:
    sys.stdout.flush(); sys.stderr.flush()
    os.dup2(saved[0], 1); os.dup2(saved[1], 2)
names = [n for n in sys.modules if n not in before]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(names))
"""

IMPORT_ONLY = r"""
import importlib, sys
from gait.cli.fast import load_msgspec_without_typing_extensions
load_msgspec_without_typing_extensions()  # as the command does (no typing_extensions)
for name in open(sys.argv[1]).read().split():
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def process_cpu(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    cpus = []
    for _ in range(runs):
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000.0)
    return statistics.median(cpus)


def modules_of(argv: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    out = cwd / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", LIST_MODULES, str(out), *argv], cwd=cwd, env=env, check=True
    )
    return out.read_text().split()


def _fresh(argv: list[str], work: Path, run_dir: Path) -> list[str]:
    """The argv with the trace-out file moved into this run's own directory."""
    bench_trace = str(work / "bench_trace.json")
    return [str(run_dir / "bench_trace.json") if a == bench_trace else a for a in argv]


def warm_calls() -> None:
    """The constant tables the warm start server builds before it forks, if it does."""
    try:
        from gait.cli.warmd import WARM_CALLS
    except ImportError:
        return
    import importlib

    for module, name in WARM_CALLS:
        fn = getattr(importlib.import_module(module), name, None)
        if fn is not None:
            fn()


def work_in_children(
    name: str, argv: list[str], work: Path, runs: int, profile: bool
) -> tuple[float, float, float, int]:
    """(median wall ms, CPU ms, system CPU ms, exit code) of forked children after the imports."""
    from gait.cli.main import _run

    walls, cpus, syss, code = [], [], [], 0
    for i in range(runs if not profile else 1):
        run_dir = work / "runs" / f"{name.replace(' ', '_')}_{i}"
        run_dir.mkdir(parents=True)
        args = _fresh(argv, work, run_dir)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.chdir(run_dir)
            fd = os.open(os.devnull, os.O_WRONLY)
            out = os.dup(1)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            status = 1
            try:
                if profile:
                    import cProfile
                    import pstats

                    prof = cProfile.Profile()
                    status = prof.runcall(_run, args)
                    sys.stdout.flush()
                    os.dup2(out, 1)
                    stats = pstats.Stats(prof, stream=sys.stdout)
                    stats.sort_stats("cumulative").print_stats(45)
                    stats.sort_stats("tottime").print_stats(30)
                else:
                    status = _run(args)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(status)
        _pid, status, usage = os.wait4(pid, 0)
        walls.append((time.perf_counter() - start) * 1000.0)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000.0)
        syss.append(usage.ru_stime * 1000.0)
        code = os.waitstatus_to_exitcode(status)
    return statistics.median(walls), statistics.median(cpus), statistics.median(syss), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per figure (median)")
    parser.add_argument("--only", default="", help="measure only this command (e.g. 'verify')")
    parser.add_argument("--profile", default="", help="cProfile this command's work once")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    env = {**clean_env(), "GAIT_WARM": "0"}  # this process's own work, not a warm server's
    os.environ["GAIT_WARM"] = "0"
    names = [args.profile] if args.profile else [args.only] if args.only else list(HOT)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gait-work-") as tmp:
        work = Path(tmp)
        prepare(gait_command(), work, env)
        all_argv = scenarios(work)
        bare = process_cpu([sys.executable, "-c", "pass"], work, env, args.runs)
        for name in names:
            argv = all_argv[name]
            mods = modules_of(argv, work, env)
            listing = work / f"mods_{name.replace(' ', '_')}.txt"
            listing.write_text("\n".join(mods))
            imports = process_cpu(
                [sys.executable, "-c", IMPORT_ONLY, str(listing)], work, env, args.runs
            )
            # The forking process loads what the command loads, then forks per run.
            pid = os.fork()
            if pid == 0:
                import importlib

                from gait.cli.fast import load_msgspec_without_typing_extensions

                load_msgspec_without_typing_extensions()
                for mod in mods:
                    try:
                        importlib.import_module(mod)
                    except Exception:
                        pass
                warm_calls()
                result = work_in_children(name, argv, work, args.runs, bool(args.profile))
                (work / "result.json").write_text(json.dumps(result))
                os._exit(0)
            os.waitpid(pid, 0)
            if args.profile:
                return
            wall, cpu, sys_cpu, code = json.loads((work / "result.json").read_text())
            rows.append(
                {
                    "command": name,
                    "imports_cpu_ms": imports - bare,
                    "work_wall_ms": wall,
                    "work_cpu_ms": cpu,
                    "work_sys_ms": sys_cpu,
                    "exit": code,
                    "modules": len(mods),
                }
            )
    if args.json:
        print(json.dumps({"python_pass_cpu_ms": bare, "rows": rows}, sort_keys=True))
        return
    print(f"python {sys.version.split()[0]}; median of {args.runs} runs; CPU = user + system")
    print(f"interpreter alone (python -c pass): cpu {bare:.1f} ms")
    print(
        f"  {'command':<24} {'imports cpu':>11} {'work wall':>10} {'work cpu':>9} "
        f"{'of it sys':>9} {'exit':>4} {'modules':>7}"
    )
    for r in rows:
        print(
            f"  {r['command']:<24} {r['imports_cpu_ms']:11.2f} {r['work_wall_ms']:10.2f} "
            f"{r['work_cpu_ms']:9.2f} {r['work_sys_ms']:9.2f} {r['exit']:>4} {r['modules']:>7}"
        )


if __name__ == "__main__":
    main()
