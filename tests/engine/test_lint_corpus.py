"""policy lint on a generated corpus with known answers, and against the engine.

500 seeded policies: base rules that cannot interfere (one tool each, distinct
priorities), plus planted shadowed rules (plain and by a union of rules),
planted conflicts, and near misses that must NOT be reported. Every reported
witness is re-run through the engine here, independently of the check lint
does itself.
"""

from __future__ import annotations

import json
import random
from typing import Any

from gait.engine.analysis.lint import lint_policy
from gait.engine.evaluate import _runtime, evaluate, matching_tier
from gait.policy import compile_policy

RISKS = ["low", "medium", "high", "critical"]
KINDS = ["path", "url", "host", "repo", "bucket"]
CLASSES = ["fs.read", "fs.write", "net.http", "net.dns", "other"]
SOURCES = ["user", "external", "tool_output", "system"]
EFFECTS = ["allow", "block", "require_approval", "dry_run"]
PREFIXES = ["/ws/a", "/ws/b", "/srv"]


def _compile(rules: list[dict[str, Any]], default: str = "block", fc: dict | None = None):
    doc: dict[str, Any] = {"default_verdict": default, "rules": rules}
    if fc:
        doc["fail_closed"] = fc
    return compile_policy(json.dumps(doc), use_cache=False)


def _random_match(rng: random.Random, tool: str) -> dict[str, Any]:
    m: dict[str, Any] = {"tool_names": [tool]}
    if rng.random() < 0.5:
        m["risk_classes"] = rng.sample(RISKS, rng.randint(1, 3))
    if rng.random() < 0.4:
        m["target_kinds"] = rng.sample(KINDS, rng.randint(1, 3))
    if rng.random() < 0.3:
        m["endpoint_classes"] = rng.sample(CLASSES, rng.randint(1, 2))
    if rng.random() < 0.3:
        m["provenance_sources"] = rng.sample(SOURCES, rng.randint(1, 2))
    if rng.random() < 0.3:
        m["workspace_prefixes"] = rng.sample(PREFIXES, rng.randint(1, 2))
    return m


def _narrower(rng: random.Random, m: dict[str, Any]) -> dict[str, Any]:
    """A match whose intents are a subset of ``m``'s."""
    out = {k: list(v) for k, v in m.items()}
    for key in ("risk_classes", "target_kinds", "endpoint_classes", "provenance_sources"):
        if key in out and len(out[key]) > 1 and rng.random() < 0.5:
            out[key] = rng.sample(out[key], len(out[key]) - 1)
    if "workspace_prefixes" in out and rng.random() < 0.5:
        out["workspace_prefixes"] = [p + "/deeper" for p in out["workspace_prefixes"]]
    if "identities" not in out and rng.random() < 0.5:
        out["identities"] = ["alice"]
    if "discovery_method" not in out and rng.random() < 0.3:
        out["discovery_method"] = ["mcp"]
    return out


def _wider(m: dict[str, Any]) -> dict[str, Any] | None:
    """A match reaching one intent ``m`` does not (a near miss for shadowing)."""
    for key, pool in (
        ("risk_classes", RISKS),
        ("target_kinds", KINDS),
        ("endpoint_classes", CLASSES),
        ("provenance_sources", SOURCES),
    ):
        if key in m and len(m[key]) < len(pool):
            extra = next(x for x in pool if x not in m[key])
            return {**m, key: [*m[key], extra]}
    if "workspace_prefixes" in m:
        return {**m, "workspace_prefixes": [*m["workspace_prefixes"], "/other"]}
    return None


def _generate(seed: int) -> tuple[list[dict], set[str], set[frozenset[str]]]:
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = []
    shadowed: set[str] = set()
    conflicts: set[frozenset[str]] = set()
    n_base = rng.randint(2, 5)
    for i in range(n_base):
        rules.append(
            {
                "name": f"base{i}",
                "priority": 100 * (i + 1),
                "effect": rng.choice(EFFECTS),
                "match": _random_match(rng, f"tool{i}"),
            }
        )
    for j in range(rng.randint(1, 3)):
        base = rng.choice(rules[:n_base])
        bi = int(base["name"][4:])
        kind = rng.choice(["shadow", "union", "conflict", "near_shadow", "near_conflict"])
        name = f"plant{j}_{kind}"
        if kind == "shadow":
            rules.append(
                {
                    "name": name,
                    "priority": base["priority"] + rng.randint(1, 50),
                    "effect": rng.choice(EFFECTS),
                    "match": _narrower(rng, base["match"]),
                }
            )
            shadowed.add(name)
        elif kind == "union":
            # two rules on a fresh tool split the risk classes; a later rule wants both
            tool = f"utool{j}"
            p = 10_000 + 100 * j
            rules.append(
                {
                    "name": f"{name}_a",
                    "priority": p,
                    "effect": "allow",
                    "match": {"tool_names": [tool], "risk_classes": ["low", "medium"]},
                }
            )
            rules.append(
                {
                    "name": f"{name}_b",
                    "priority": p + 1,
                    "effect": "block",
                    "match": {"tool_names": [tool], "risk_classes": ["high", "critical", "other"]},
                }
            )
            rules.append(
                {
                    "name": f"{name}_c",
                    "priority": p + 2,
                    "effect": "dry_run",
                    "match": {
                        "tool_names": [tool],
                        "risk_classes": ["low", "high"],
                        "target_kinds": ["path"],
                    },
                }
            )
            shadowed.add(f"{name}_c")
        elif kind == "conflict":
            # same tool and priority, different effect, overlapping but neither inside the other
            effect = rng.choice([e for e in EFFECTS if e != base["effect"]])
            m = {"tool_names": [f"tool{bi}"], "identities": [f"conflict-bot{j}"]}
            rules.append({"name": name, "priority": base["priority"], "effect": effect, "match": m})
            conflicts.add(frozenset((base["name"], name)))
        elif kind == "near_shadow":
            wider = _wider(base["match"])
            if wider is not None:
                rules.append(
                    {
                        "name": name,
                        "priority": base["priority"] + 1,
                        "effect": "dry_run",
                        "match": wider,
                    }
                )
        else:  # near_conflict: same priority, different effects, disjoint identities
            tool, p = f"ntool{j}", 20_000 + 100 * j
            for side, effect in (("a", "allow"), ("b", "block")):
                rules.append(
                    {
                        "name": f"{name}_{side}",
                        "priority": p,
                        "effect": effect,
                        "match": {"tool_names": [tool], "identities": [f"only-{side}"]},
                    }
                )
    rng.shuffle(rules)
    return rules, shadowed, conflicts


def _engine_tier(compiled, intent: dict) -> tuple[str, set[str], Any]:
    d = evaluate(compiled, intent)
    assert d.intent is not None
    tier = matching_tier(_runtime(compiled), d.intent, compiled.ir)
    return d.verdict, {r.name for r in tier}, d


def test_corpus_of_500_policies_finds_exactly_the_planted_rules():
    planted_shadow = planted_conflict = 0
    for seed in range(500):
        rules, shadowed, conflicts = _generate(seed)
        compiled = _compile(rules)
        report = lint_policy(compiled)
        found_shadow = {f["rules"][0] for f in report["findings"] if f["code"] == "shadowed_rule"}
        found_conflict = {
            frozenset(f["rules"]) for f in report["findings"] if f["code"] == "conflicting_rules"
        }
        assert found_shadow == shadowed, (seed, rules, report["findings"])
        assert found_conflict == conflicts, (seed, rules, report["findings"])
        assert not [f for f in report["findings"] if f["code"] in ("undecided", "impossible_match")]
        planted_shadow += len(shadowed)
        planted_conflict += len(conflicts)
        for f in report["findings"]:
            if f["code"] == "shadowed_rule":
                verdict, tier, _d = _engine_tier(compiled, f["witness"])
                assert f["rules"][0] not in tier and tier, (seed, f)
                assert verdict == f["verdict"]
                assert tier <= set(f["shadowed_by"]), (seed, f, tier)
            elif f["code"] == "conflicting_rules":
                verdict, tier, _d = _engine_tier(compiled, f["witness"])
                assert set(f["rules"]) <= tier, (seed, f)
                assert verdict == f["verdict"]
    # the corpus really plants things (guards against a generator that plants nothing)
    assert planted_shadow > 350 and planted_conflict > 150


def _random_policy(rng: random.Random) -> list[dict]:
    rules = []
    for i in range(rng.randint(2, 7)):
        m: dict[str, Any] = {}
        if rng.random() < 0.7:
            m["tool_names"] = rng.sample(["t0", "t1", "t2"], rng.randint(1, 2))
        if rng.random() < 0.5:
            m["risk_classes"] = rng.sample(RISKS, rng.randint(1, 3))
        if rng.random() < 0.4:
            m["target_kinds"] = rng.sample(KINDS, rng.randint(1, 3))
        if rng.random() < 0.3:
            m["endpoint_classes"] = rng.sample(CLASSES, rng.randint(1, 2))
        if rng.random() < 0.3:
            m["provenance_sources"] = rng.sample(SOURCES, rng.randint(1, 2))
        if rng.random() < 0.3:
            m["workspace_prefixes"] = rng.sample(PREFIXES, 1)
        if rng.random() < 0.15:
            m["tool_annotations"] = {"readOnlyHint": rng.random() < 0.5}
        rules.append(
            {
                "name": f"r{i}",
                "priority": rng.choice([1, 2, 3]),
                "effect": rng.choice(EFFECTS),
                "match": m,
            }
        )
    return rules


def random_intent(rng: random.Random) -> dict:
    targets = []
    for _ in range(rng.randint(0, 2)):
        t: dict[str, Any] = {
            "kind": rng.choice(KINDS),
            "value": rng.choice(["/ws/a/x", "https://h.example/x", "v"]),
            "endpoint_class": rng.choice(CLASSES),
        }
        if rng.random() < 0.3:
            t["read_only_hint"] = True
        targets.append(t)
    prov = [
        {"arg_path": f"$.a{i}", "source": rng.choice(SOURCES)} for i in range(rng.randint(0, 2))
    ]
    intent: dict[str, Any] = {
        "tool_name": rng.choice(["t0", "t1", "t2", "t9"]),
        "args": {},
        "context": {
            "identity": "bot",
            "workspace": rng.choice(["/ws/a/x", "/ws/b", "/srv/q", "/home"]),
            "risk_class": rng.choice([*RISKS, "odd"]),
            "phase": rng.choice(["plan", "apply"]),
        },
    }
    if targets:
        intent["targets"] = targets
    if prov:
        intent["arg_provenance"] = prov
    return intent


def test_lint_never_contradicts_the_engine_on_random_intents():
    """No rule the engine lets decide is called shadowed; every observed conflict is reported."""
    rng = random.Random(2026)
    reported_any = 0
    for _ in range(120):
        rules = _random_policy(rng)
        fc = {"enabled": True, "risk_classes": ["critical"]} if rng.random() < 0.3 else None
        compiled = _compile(rules, fc=fc)
        report = lint_policy(compiled)
        never = {
            f["rules"][0]
            for f in report["findings"]
            if f["code"] in ("shadowed_rule", "impossible_match")
        }
        conflicts = {
            frozenset(f["rules"]) for f in report["findings"] if f["code"] == "conflicting_rules"
        }
        reported_any += len(never) + len(conflicts)
        by_name = {r["name"]: r for r in rules}
        for _ in range(150):
            intent = random_intent(rng)
            d = evaluate(compiled, intent)
            if not d.matched_rules:
                continue
            tier = matching_tier(_runtime(compiled), d.intent, compiled.ir)
            names = sorted({r.name for r in tier})
            assert not never & set(names), (rules, intent, names)
            for i, a in enumerate(names):
                for b in names[i + 1 :]:
                    if by_name[a]["effect"] != by_name[b]["effect"]:
                        assert frozenset((a, b)) in conflicts, (rules, intent, names)
    assert reported_any > 20
