"""policy diff: regions of changed verdicts, checked against the engine and simulate."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from gait.engine.analysis.diff import diff_policies
from gait.engine.analysis.regions import FAIL_CLOSED
from gait.engine.evaluate import _runtime, evaluate, matching_tier
from gait.policy import compile_policy, compile_policy_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "policy"

RISKS = ["low", "medium", "high", "critical"]
KINDS = ["path", "url", "host", "repo", "bucket"]
CLASSES = ["fs.read", "fs.write", "fs.delete", "net.http", "net.dns", "proc.exec", "other"]
SOURCES = ["user", "external", "tool_output", "system"]
EFFECTS = ["allow", "block", "require_approval", "dry_run"]


def _key(compiled, intent: dict) -> tuple[tuple[str, ...], str]:
    d = evaluate(compiled, intent)
    assert d.intent is not None
    if not d.matched_rules and any(
        r.startswith("fail_closed") or r == "context_evidence_missing" for r in d.reason_codes
    ):
        return (FAIL_CLOSED,), d.verdict
    tier = matching_tier(_runtime(compiled), d.intent, compiled.ir)
    return tuple(sorted({r.name for r in tier})), d.verdict


def _region_keys(report: dict) -> set[tuple]:
    return {
        (tuple(r["old_rules"]), tuple(r["new_rules"]), r["old_verdict"], r["new_verdict"])
        for r in report["regions"]
    }


def _check_witnesses(old, new, report: dict) -> None:
    for r in report["regions"]:
        (ta, va), (tb, vb) = _key(old, r["witness"]), _key(new, r["witness"])
        assert (list(ta), va, list(tb), vb) == (
            r["old_rules"],
            r["old_verdict"],
            r["new_rules"],
            r["new_verdict"],
        ), r


def test_shipped_baselines_diff_covers_simulate_and_more():
    low = compile_policy_file(EXAMPLES / "base_low_risk.yaml")
    high = compile_policy_file(EXAMPLES / "base_high_risk.yaml")
    report = diff_policies(low, high)
    keys = _region_keys(report)
    _check_witnesses(low, high, report)
    changed = set()
    for path in sorted((EXAMPLES / "intents").glob("*.json")):
        intent = json.loads(path.read_text())
        (ta, va), (tb, vb) = _key(low, intent), _key(high, intent)
        if va != vb:
            changed.add((ta, tb, va, vb))
    # the shipped intents change verdict (delete, write) and each lies in a listed region
    assert len(changed) == 2
    assert changed <= keys
    assert len(keys) > len(changed)  # "and more": regions no fixture exercises
    assert report["notes"] == []  # nothing sampled: the answer is exact


def test_same_policy_and_reordered_twin_have_no_diff():
    low = compile_policy_file(EXAMPLES / "base_low_risk.yaml")
    text = (EXAMPLES / "base_low_risk.yaml").read_text()
    assert diff_policies(low, low)["regions"] == []
    twin = compile_policy(
        text.replace("[bucket, host, queue, topic, url]", "[url, topic, queue, host, bucket]")
    )
    assert diff_policies(low, twin)["regions"] == []


def test_diff_is_deterministic():
    low = compile_policy_file(EXAMPLES / "base_low_risk.yaml")
    high = compile_policy_file(EXAMPLES / "base_medium_risk.yaml")
    a = json.dumps(diff_policies(low, high), sort_keys=True)
    b = json.dumps(diff_policies(low, high), sort_keys=True)
    assert a == b and '"regions": [' in a


def _random_rules(rng: random.Random) -> list[dict[str, Any]]:
    rules = []
    for i in range(rng.randint(1, 5)):
        m: dict[str, Any] = {}
        if rng.random() < 0.6:
            m["tool_names"] = rng.sample(["t0", "t1"], rng.randint(1, 2))
        if rng.random() < 0.4:
            m["risk_classes"] = rng.sample(RISKS, rng.randint(1, 2))
        if rng.random() < 0.4:
            m["target_kinds"] = rng.sample(KINDS, rng.randint(1, 2))
        if rng.random() < 0.4:
            m["endpoint_classes"] = rng.sample(CLASSES, rng.randint(1, 2))
        if rng.random() < 0.3:
            m["provenance_sources"] = rng.sample(SOURCES, 1)
        rule: dict[str, Any] = {
            "name": f"r{i}",
            "priority": rng.choice([1, 2]),
            "effect": rng.choice(EFFECTS),
            "match": m,
        }
        roll = rng.random()
        if roll < 0.15:
            rule["dataflow"] = {
                "enabled": True,
                "action": rng.choice(["block", "require_approval"]),
            }
        elif roll < 0.25:
            rule["dataflow"] = {"enabled": True, "destination_kinds": [rng.choice(KINDS)]}
        elif roll < 0.35:
            rule["endpoint"] = {"egress_classes": ["net.dns"]}
        elif roll < 0.45:
            rule["endpoint"] = {"destructive_action": "block"}
        elif roll < 0.5:
            rule["require_context_evidence"] = True
        rules.append(rule)
    return rules


def _random_policy(rng: random.Random):
    doc: dict[str, Any] = {"default_verdict": rng.choice(EFFECTS), "rules": _random_rules(rng)}
    if rng.random() < 0.3:
        doc["fail_closed"] = {
            "enabled": True,
            "risk_classes": ["critical"],
            "required_fields": rng.sample(["targets", "arg_provenance"], rng.randint(0, 2)),
        }
    return compile_policy(json.dumps(doc), use_cache=False)


def _random_intent(rng: random.Random) -> dict:
    targets = []
    for _ in range(rng.randint(0, 2)):
        t: dict[str, Any] = {
            "kind": rng.choice(KINDS),
            "value": rng.choice(["/a/b", "https://h.example/x", "h.example", "v"]),
            "endpoint_class": rng.choice(CLASSES),
        }
        if rng.random() < 0.2:
            t["destructive"] = True
        targets.append(t)
    intent: dict[str, Any] = {
        "tool_name": rng.choice(["t0", "t1", "t7"]),
        "args": {},
        "context": {
            "identity": "bot",
            "workspace": "/w",
            "risk_class": rng.choice([*RISKS, "odd"]),
            "phase": rng.choice(["plan", "apply"]),
        },
    }
    if targets:
        intent["targets"] = targets
    prov = [
        {"arg_path": f"$.a{i}", "source": rng.choice(SOURCES)} for i in range(rng.randint(0, 2))
    ]
    if prov:
        intent["arg_provenance"] = prov
    return intent


def test_every_verdict_change_on_random_intents_lies_in_a_listed_region():
    rng = random.Random(515)
    seen_changes = 0
    for _ in range(120):
        old, new = _random_policy(rng), _random_policy(rng)
        report = diff_policies(old, new)
        assert report["undecided_tools"] == []
        keys = _region_keys(report)
        _check_witnesses(old, new, report)
        for _ in range(100):
            intent = _random_intent(rng)
            (ta, va), (tb, vb) = _key(old, intent), _key(new, intent)
            if va != vb:
                seen_changes += 1
                assert (ta, tb, va, vb) in keys, (intent, ta, tb, va, vb, report["regions"])
    assert seen_changes > 500
