"""Run the fuzz harnesses: ``python -m tools.fuzz.run [--iterations N] [--target T]``.

With atheris installed (``--engine auto`` or ``atheris``) each target runs in
its own libFuzzer process (``-runs=N``); otherwise (or ``--engine mutate``) a
seeded mutation fuzzer runs in this process. Every crash is printed with the
target, the exception and the path of the saved input; the exit status is 1
when anything crashed, or an input took longer than ``--slow`` seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.fuzz.seeds import seeds
from tools.fuzz.targets import TARGETS, is_crash

MEMORY_LIMIT = 2 * 1024**3
_TOKENS = (
    b"[" * 1200, b"{" * 1200, b"9" * 400, b"9" * 5000, b"1e999", b"NaN", b"-0", b"\x00", b"\xff",
    b"\\ud800", b'"Targets"', b'"targets"', b"&a [*a]", b"*a", b"%65", b"\\@", b"\t", b"..",
    b"//", b"\\", b"PK\x03\x04", b"PK\x05\x06", b"null", b"true", b'""', b"[]", b"{}",
)  # fmt: skip


@dataclass
class Report:
    target: str
    runs: int = 0
    crashes: list[str] = field(default_factory=list)
    slowest: float = 0.0


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(pos, len(buf) - 1)] = rng.choice(b'\x00\xff"{}[]:,\\0179-.eE ')
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 16)]
        elif op == 3 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 64)]
        elif op == 4:
            buf[pos:pos] = rng.choice(_TOKENS)
        elif op == 5 and pool:
            other = rng.choice(pool)
            buf = buf[:pos] + other[rng.randrange(len(other) + 1) :]
        else:
            buf[pos : pos + rng.randint(0, 8)] = str(rng.choice([0, -1, 2**63, 10**30])).encode()
    return bytes(buf)


def _save(crash_dir: Path, target: str, data: bytes) -> Path:
    crash_dir.mkdir(parents=True, exist_ok=True)
    path = crash_dir / f"{target}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


def fuzz_mutate(
    target: str,
    *,
    iterations: int,
    seconds: float,
    seed: int,
    crash_dir: Path,
    slow: float,
    harness: Callable[[bytes], None] | None = None,
) -> Report:
    """Run one target for ``iterations`` inputs or ``seconds``, whichever ends first."""
    run = harness or TARGETS[target]
    rng = random.Random(f"{seed}:{target}")
    pool = seeds(target)
    report = Report(target)
    deadline = time.monotonic() + seconds
    inputs = iter(pool)
    while report.runs < iterations and time.monotonic() < deadline:
        data = next(inputs, None)
        if data is None:
            data = mutate(rng, rng.choice(pool), pool)
        started = time.monotonic()
        try:
            run(data)
        except KeyboardInterrupt:
            raise
        except BaseException as err:
            if is_crash(err):
                where = _save(crash_dir, target, data)
                report.crashes.append(f"{type(err).__name__}: {str(err)[:200]} ({where})")
        elapsed = time.monotonic() - started
        report.slowest = max(report.slowest, elapsed)
        if elapsed > slow:
            where = _save(crash_dir, target, data)
            report.crashes.append(f"slow input: {elapsed:.1f}s ({where})")
        report.runs += 1
    return report


def _atheris_child(target: str, iterations: int, corpus: Path) -> None:
    import atheris

    harness = TARGETS[target]

    def one(data: bytes) -> None:
        try:
            harness(data)
        except BaseException as err:
            if is_crash(err):
                raise

    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(seeds(target)):
        (corpus / f"seed{i}").write_bytes(data)
        one(data)  # loads every module the target uses, so instrumentation covers them
    atheris.instrument_all()
    atheris.Setup(
        [sys.argv[0], f"-runs={iterations}", "-timeout=10", "-rss_limit_mb=2048", str(corpus)],
        one,
    )
    atheris.Fuzz()


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass


def main(argv: list[str] | None = None, *, limit_memory: bool = True) -> int:
    """The command; ``limit_memory`` caps this process at 2 GiB (off when embedded)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="inputs per target")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per target")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="mutation fuzzer seed")
    parser.add_argument("--slow", type=float, default=10.0, help="seconds that count as a hang")
    parser.add_argument("--crash-dir", default="gait-out/fuzz-crashes", help="saved inputs")
    parser.add_argument("--atheris-child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    if args.atheris_child:
        _limit_memory()
        _atheris_child(args.atheris_child, args.iterations, Path(args.crash_dir) / "corpus")
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    targets = args.target or sorted(TARGETS)
    failed = False
    for target in targets:
        if engine == "atheris":
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "tools.fuzz.run", "--atheris-child", target,
                 "--iterations", str(args.iterations), "--crash-dir",
                 str(Path(args.crash_dir) / target)],
                capture_output=True, text=True, timeout=args.seconds + 60,
                cwd=Path(__file__).resolve().parents[2], env={**os.environ},
            )  # fmt: skip
            ok = proc.returncode == 0
            took = time.monotonic() - started
            print(
                f"{target}: atheris {args.iterations} runs, {took:.1f}s, {'ok' if ok else 'CRASH'}"
            )
            if not ok:
                failed = True
                print(proc.stderr[-3000:])
            continue
        if limit_memory:
            _limit_memory()
        report = fuzz_mutate(
            target, iterations=args.iterations, seconds=args.seconds, seed=args.seed,
            crash_dir=Path(args.crash_dir), slow=args.slow,
        )  # fmt: skip
        status = f"{len(report.crashes)} crash(es)" if report.crashes else "ok"
        print(f"{target}: {report.runs} runs, slowest {report.slowest:.2f}s, {status}")
        for crash in report.crashes[:20]:
            print(f"  {crash}")
        failed = failed or bool(report.crashes)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
