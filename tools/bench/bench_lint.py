"""Time ``policy lint`` and ``policy diff`` on large generated policies.

Usage: python tools/bench/bench_lint.py [--rules 10000] [--shape team|random] [--seed 7]

Shapes:
  team    one team per 5 tools; each tool has a few rules (allow reads, review writes,
          block tainted egress, ...) at a handful of priorities, plus a few rules for
          every tool. This is what a big real policy looks like.
  random  the generator of bench_compile.py: random priorities 1..1000, 20% of rows
          name no tool (so every tool meets ~2,000 rows). A stress case.

Prints the compile, lint and diff wall/CPU seconds and the finding/region counts.
The diff compares the policy with a copy in which 1% of the rules changed effect.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

EFFECTS = ["allow", "block", "require_approval", "dry_run"]


def team_policy(rules: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = [
        {
            "name": "block-tainted-egress",
            "priority": 1,
            "effect": "block",
            "match": {"target_kinds": ["url", "host"], "provenance_sources": ["external"]},
        },
        {
            "name": "critical-needs-review",
            "priority": 2,
            "effect": "require_approval",
            "match": {"risk_classes": ["critical"]},
        },
        {
            "name": "no-exec",
            "priority": 3,
            "effect": "block",
            "match": {"endpoint_classes": ["proc.exec"]},
        },
    ]
    i = 0
    while len(out) < rules:
        tool = f"team{i // 5}.tool{i % 5}"
        shapes = [
            {"priority": 10, "effect": "allow", "match": {"endpoint_classes": ["fs.read"]}},
            {
                "priority": 20,
                "effect": "require_approval",
                "match": {"endpoint_classes": ["fs.write"], "risk_classes": ["high"]},
            },
            {
                "priority": 20,
                "effect": "allow",
                "match": {"workspace_prefixes": [f"/ws/team{i // 5}"]},
            },
            {
                "priority": 30,
                "effect": rng.choice(EFFECTS),
                "match": {"identities": [f"bot{rng.randint(0, 9)}"]},
            },
            {"priority": 40, "effect": "dry_run", "match": {}},
        ]
        for n, shape in enumerate(shapes):
            if len(out) >= rules:
                break
            m = {"tool_names": [tool], **shape["match"]}
            out.append(
                {
                    "name": f"{tool}-{n}",
                    "priority": shape["priority"],
                    "effect": shape["effect"],
                    "match": m,
                }
            )
        i += 1
    return out


def random_policy_text(rules: int, seed: int) -> str:
    from tools.bench.bench_compile import generate_policy

    return generate_policy(rules, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000, help="number of rules")
    parser.add_argument("--shape", choices=["team", "random"], default="team", help="policy shape")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    args = parser.parse_args()

    from gait.engine.analysis.diff import diff_policies
    from gait.engine.analysis.lint import lint_policy
    from gait.policy import compile_policy

    if args.shape == "team":
        rules = team_policy(args.rules, args.seed)
        old_text = json.dumps({"default_verdict": "block", "rules": rules})
        rng = random.Random(args.seed + 1)
        for r in rng.sample(rules, max(1, len(rules) // 100)):
            r["effect"] = rng.choice([e for e in EFFECTS if e != r["effect"]])
        new_text = json.dumps({"default_verdict": "block", "rules": rules})
    else:
        old_text = random_policy_text(args.rules, args.seed)
        lines = old_text.splitlines()
        rng = random.Random(args.seed + 1)
        effect_lines = [i for i, line in enumerate(lines) if line.startswith("    effect: ")]
        for i in rng.sample(effect_lines, max(1, len(effect_lines) // 100)):
            cur = lines[i].split(": ")[1]
            lines[i] = "    effect: " + rng.choice([e for e in EFFECTS if e != cur])
        new_text = "\n".join(lines) + "\n"

    def timed(label: str, fn):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        print(
            f"{label:<8} wall {time.perf_counter() - w:7.2f} s   cpu {time.process_time() - c:7.2f} s"
        )
        return result

    print(f"shape={args.shape} rules={args.rules} seed={args.seed}")
    old = timed("compile", lambda: compile_policy(old_text, use_cache=False))
    new = compile_policy(new_text, use_cache=False)
    report = timed("lint", lambda: lint_policy(old))
    print(f"         findings: {report['counts']}")
    codes: dict[str, int] = {}
    for f in report["findings"]:
        codes[f["code"]] = codes.get(f["code"], 0) + 1
    print(f"         by code: {dict(sorted(codes.items()))}")
    d = timed("diff", lambda: diff_policies(old, new))
    print(
        f"         regions: {len(d['regions'])}, tools compared: {d['tools_compared']}, "
        f"undecided: {len(d['undecided_tools'])}"
    )


if __name__ == "__main__":
    main()
