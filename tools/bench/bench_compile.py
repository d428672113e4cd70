#!/usr/bin/env python3
"""Compile cost: shipped policies cold and warm, and generated 10,000+ rule policies.

Usage: python tools/bench/bench_compile.py [--sizes 10000,100000] [--repeat N] [--ref PATH]

* shipped policies (examples/policy, policies/): in a fresh interpreter, the
  first compile (YAML -> normalize -> DSL -> Lark -> decision table, including
  the imports it needs) and, in the same process, a repeat compile (median);
  medians over ``--fresh`` processes. "one-shot first" is the same first
  compile in a process set up as gait's hot commands are before they compile
  (msgspec loaded without typing_extensions, the interpreter's SHA-256 instead
  of loading hashlib and OpenSSL).
* generated policies of each ``--sizes`` rule count (tool names, target kinds,
  endpoint classes, provenance, workspace prefixes, mixed effects and
  priorities; a fifth of the rules name no tool): compile time in process,
  peak resident memory of that process, the decision time of a few intents
  against it (CPU time, best of 5 x 400 calls each, median over 20 intents), and the wall time of one
  ``gait policy test`` process on it. With ``--ref PATH`` the same
  ``policy test`` runs against that binary too.
* ``--stages``: where a generated policy's compile goes, stage by stage (YAML
  read, decode, normalize, render canonical DSL, parse it with the grammar,
  read back and compare, decision table and digest), CPU seconds, one fresh
  process per size, and which YAML reader took the text (the plain-YAML
  reader, or libyaml for anything outside its shape).

Nothing is cached between runs: every compile starts from the source.
A 100,000-rule YAML policy exceeds the reader's node budget (docs/limits.md);
``--lift-limits`` raises it inside the measuring process only, to see the cost.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [*(REPO / "examples" / "policy").glob("*.yaml"), *(REPO / "policies").glob("*.yaml")]
)

TOOLS = [f"svc{i}.op{j}" for i in range(200) for j in range(5)]
KINDS = ["path", "url", "host", "repo", "bucket", "queue", "topic", "other"]
CLASSES = ["fs.read", "fs.write", "fs.delete", "net.http", "net.dns", "proc.exec", "other"]
SOURCES = ["user", "external", "tool_output", "system"]
EFFECTS = ["allow", "block", "require_approval", "dry_run"]


def generate_policy(rules: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = [
        "schema_id: gait.gate.policy",
        "schema_version: 1.0.0",
        "default_verdict: block",
        "rules:",
    ]
    for i in range(rules):
        out.append(f"  - name: rule-{i:06d}")
        out.append(f"    priority: {rng.randint(1, 1000)}")
        out.append(f"    effect: {rng.choice(EFFECTS)}")
        out.append("    match:")
        named_tool = rng.random() < 0.8
        if named_tool:
            out.append(f"      tool_names: [{', '.join(rng.sample(TOOLS, rng.randint(1, 3)))}]")
        if rng.random() < 0.5 or not named_tool:
            out.append(f"      target_kinds: [{', '.join(rng.sample(KINDS, 2))}]")
        if rng.random() < 0.3:
            out.append(f"      endpoint_classes: [{rng.choice(CLASSES)}]")
        if rng.random() < 0.2:
            out.append(f"      provenance_sources: [{rng.choice(SOURCES)}]")
        if rng.random() < 0.3:
            out.append(f"      workspace_prefixes: [/ws/team{rng.randint(0, 50)}]")
    return "\n".join(out) + "\n"


def intents(count: int, seed: int = 11) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        team = rng.randint(0, 60)
        out.append(
            json.dumps(
                {
                    "tool_name": rng.choice(TOOLS),
                    "args": {"path": f"/ws/team{team}/f"},
                    "targets": [
                        {
                            "kind": rng.choice(KINDS),
                            "value": f"/ws/team{team}/f",
                            "endpoint_class": rng.choice(CLASSES),
                        }
                    ],
                    "arg_provenance": [{"arg_path": "$.path", "source": rng.choice(SOURCES)}],
                    "context": {
                        "identity": "bench",
                        "workspace": f"/ws/team{team}",
                        "risk_class": "low",
                    },
                }
            ).encode()
        )
    return out


# Runs in a fresh interpreter: first compile (imports included), then warm repeats.
# "oneshot" sets the process up as gait's hot commands do before they compile
# (gait.cli.fast: msgspec without typing_extensions, the interpreter's SHA-256).
SHIPPED_PROBE = r"""
import sys, time
if sys.argv[3] == "oneshot":
    from gait.cli.fast import load_msgspec_without_typing_extensions
    load_msgspec_without_typing_extensions()
    import gait.canonical
    gait.canonical.use_builtin_sha256()
t0 = time.process_time()
from gait.policy import compile_policy
t1 = time.process_time()
data = open(sys.argv[1], "rb").read()
compile_policy(data, path=sys.argv[1])
t2 = time.process_time()
warm = []
for _ in range(int(sys.argv[2])):
    a = time.process_time(); compile_policy(data, path=sys.argv[1]); warm.append(time.process_time() - a)
import json, statistics  # after the timed part: the compile must load what it needs itself
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3,
                  "warm_ms": statistics.median(warm) * 1e3, "libyaml": "yaml" in sys.modules}))
"""

# Runs in a fresh interpreter: compile one big policy, decide some intents, report peak RSS.
BIG_PROBE = r"""
import json, resource, statistics, sys, time, timeit
from gait.engine import evaluate
from gait.intent import decode_intent_bytes, normalize_intent
from gait.policy import compile_policy
if sys.argv[3] == "lift":  # measurement only: the YAML node budget rejects 100,000 rules
    import gait.policy.source as source
    source._MAX_NODES = 10**9
data = open(sys.argv[1], "rb").read()
t, c = time.perf_counter(), time.process_time()
compiled = compile_policy(data, path=sys.argv[1])
compile_s, compile_cpu_s = time.perf_counter() - t, time.process_time() - c
intents = [normalize_intent(decode_intent_bytes(line.encode())) for line in open(sys.argv[2])]
t, c = time.perf_counter(), time.process_time()
evaluate(compiled, intents[0])
runtime_s, runtime_cpu_s = time.perf_counter() - t, time.process_time() - c
per_call = []
verdicts = {}
for intent in intents:
    verdict = evaluate(compiled, intent).verdict
    verdicts[verdict] = verdicts.get(verdict, 0) + 1
    per_call.append(min(timeit.repeat(lambda: evaluate(compiled, intent), number=400, repeat=5, timer=time.process_time)) / 400)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"compile_s": compile_s, "compile_cpu_s": compile_cpu_s, "first_decision_s": runtime_s,
                  "first_decision_cpu_s": runtime_cpu_s,
                  "decision_us": statistics.median(per_call) * 1e6,
                  "decision_us_max": max(per_call) * 1e6, "peak_mib": peak,
                  "verdicts": verdicts, "rows": len(compiled.rows)}))
"""


# Runs in a fresh interpreter: the compile of one big policy, one stage at a time.
STAGES_PROBE = r"""
import gc, hashlib, json, sys, time
import msgspec
import gait.policy.source as source
if sys.argv[2] == "lift":
    source._MAX_NODES = 10**9
from gait.policy.compiler import build_ir
from gait.policy.dsl import parse_canonical_dsl, render_dsl
from gait.policy.model import Policy
from gait.policy.normalize import normalize_policy
data = open(sys.argv[1], "rb").read()
out = {}
gc.disable()  # as compile_policy does
clock = time.process_time
t = clock(); raw, positions, texts = source.load_yaml(source.decode_text(data, "p"), "p")
out["YAML read"] = clock() - t
reader = "libyaml" if "yaml" in sys.modules else "plain-YAML reader"
t = clock(); decoded = source.decode_policy(raw, positions, texts, "p")
out["decode into the model"] = clock() - t
t = clock(); policy = normalize_policy(decoded)
out["normalize"] = clock() - t
t = clock(); text = render_dsl(policy)
out["render canonical DSL"] = clock() - t
t = clock(); mapping = parse_canonical_dsl(text)
out["parse it with the grammar"] = clock() - t
t = clock(); again = msgspec.convert(mapping, Policy); assert again == policy
out["read back and compare"] = clock() - t
t = clock(); build_ir(again, hashlib.sha256(data).hexdigest())
out["decision table and digest"] = clock() - t
print(json.dumps({"stages": out, "reader": reader}))
"""


def gait_command() -> list[str]:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("gait", path=search)
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


def clean_env() -> dict[str, str]:
    # One-shot figures are cold processes: never served by the warm start server.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "GAIT_WARM": "0"}


def probe(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=clean_env()
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"failed: {last[:200]}"}
    return json.loads(out.stdout)


def wall_s(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=clean_env(), check=False)
    return time.perf_counter() - start, proc.returncode


def bench_shipped(repeat: int, fresh: int) -> None:
    print(
        f"shipped policies, CPU ms, median of {fresh} fresh processes each (first compile loads "
        "YAML and the parser); one-shot: set up as gait's hot commands are"
    )
    print(
        f"  {'policy':<32} {'imports':>8} {'first compile':>14} {'repeat compile':>15} "
        f"{'one-shot first':>15} {'libyaml':>8}"
    )
    for path in SHIPPED:
        runs = [probe(SHIPPED_PROBE, str(path), str(repeat), "library") for _ in range(fresh)]
        shots = [probe(SHIPPED_PROBE, str(path), "1", "oneshot") for _ in range(fresh)]
        failed = [r["error"] for r in runs + shots if "error" in r]
        if failed:
            print(f"  {path.parent.name + '/' + path.name:<32} {failed[0]}")
            continue

        def med(rows: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] for r in rows)

        print(
            f"  {path.parent.name + '/' + path.name:<32} {med(runs, 'import_ms'):8.1f} "
            f"{med(runs, 'first_ms'):14.1f} {med(runs, 'warm_ms'):15.2f} "
            f"{med(shots, 'first_ms'):15.1f} "
            f"{'loaded' if any(r['libyaml'] for r in runs) else 'no':>8}"
        )


def bench_big(sizes: list[int], ref: str, lift: bool) -> None:
    gait = gait_command()
    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        work = Path(tmp)
        lines = intents(20)
        (work / "intents.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        (work / "intent.json").write_bytes(lines[0])
        head = f"  {'rules':>7} {'compile s':>10} {'cpu s':>6} {'1st decision s':>15} {'cpu s':>6} {'decision µs':>12} {'max µs':>8} {'peak MiB':>9} {'policy test s':>14}"
        if ref:
            head += f" {'ref policy test s':>18}"
        print("generated policies (in process; policy test = one gait process)")
        print(head)
        for size in sizes:
            policy = work / f"policy_{size}.yaml"
            policy.write_text(generate_policy(size))
            r = probe(
                BIG_PROBE, str(policy), str(work / "intents.jsonl"), "lift" if lift else "keep"
            )
            if "error" in r:
                print(f"  {size:>7} {r['error']}")
                continue
            one_shot, code = wall_s(
                [*gait, "policy", "test", str(policy), str(work / "intent.json")]
            )
            line = (
                f"  {size:>7} {r['compile_s']:10.2f} {r['compile_cpu_s']:6.2f} {r['first_decision_s']:15.3f} "
                f"{r['first_decision_cpu_s']:6.3f} {r['decision_us']:12.1f} {r['decision_us_max']:8.1f} {r['peak_mib']:9.0f} "
                f"{one_shot:14.2f}"
            )
            if ref:
                ref_s, ref_code = wall_s(
                    [ref, "policy", "test", str(policy), str(work / "intent.json")]
                )
                line += f" {ref_s:18.2f}" + (
                    "" if ref_code == code else f" (exit {ref_code} vs {code})"
                )
            print(line + f"   verdicts {r['verdicts']}")


def bench_stages(sizes: list[int], lift: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        print("compile stages of generated policies (CPU s, fresh process per size)")
        for size in sizes:
            policy = Path(tmp) / f"policy_{size}.yaml"
            policy.write_text(generate_policy(size))
            r = probe(STAGES_PROBE, str(policy), "lift" if lift else "keep")
            if "error" in r:
                print(f"  {size:>7} {r['error']}")
                continue
            stages = r["stages"]
            parts = ", ".join(f"{name} {secs:.2f}" for name, secs in stages.items())
            print(f"  {size:>7} total {sum(stages.values()):.2f}: {parts} ({r['reader']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated rule counts")
    parser.add_argument("--repeat", type=int, default=20, help="repeat compiles (median)")
    parser.add_argument(
        "--fresh", type=int, default=9, help="fresh processes per shipped policy (median)"
    )
    parser.add_argument("--ref", default="", help="reference gait binary for policy test")
    parser.add_argument("--skip-shipped", action="store_true", help="only the big policies")
    parser.add_argument(
        "--stages", action="store_true", help="also time each compile stage of the big policies"
    )
    parser.add_argument(
        "--lift-limits",
        action="store_true",
        help="raise the YAML node budget in the measuring process (100,000 rules exceed it)",
    )
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {sys.platform}")
    if not args.skip_shipped:
        bench_shipped(args.repeat, args.fresh)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes:
        bench_big(sizes, args.ref, args.lift_limits)
        if args.stages:
            bench_stages(sizes, args.lift_limits)


if __name__ == "__main__":
    main()
