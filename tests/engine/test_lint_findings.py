"""Each lint finding kind on a small policy, with its witness checked by the engine."""

from __future__ import annotations

import json
from typing import Any

from gait.engine.analysis.diff import diff_policies
from gait.engine.analysis.lint import lint_policy
from gait.engine.evaluate import _runtime, evaluate, matching_tier
from gait.policy import compile_policy


def _compile(rules: list[dict[str, Any]], **top: Any):
    return compile_policy(json.dumps({"default_verdict": "block", **top, "rules": rules}))


def _rule(name: str, priority: int, effect: str, **match: Any) -> dict[str, Any]:
    return {"name": name, "priority": priority, "effect": effect, "match": match}


def _codes(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in report["findings"]:
        out.setdefault(f["code"], []).append(f)
    return out


def _tier(compiled, intent: dict) -> set[str]:
    d = evaluate(compiled, intent)
    return {r.name for r in matching_tier(_runtime(compiled), d.intent, compiled.ir)}


def test_fail_closed_shadows_a_rule():
    c = _compile(
        [_rule("crit", 1, "allow", risk_classes=["critical"])],
        fail_closed={
            "enabled": True,
            "risk_classes": ["critical"],
            "required_fields": ["context_evidence"],
        },
    )
    (f,) = _codes(lint_policy(c))["shadowed_rule"]
    assert f["shadowed_by"] == ["<fail_closed>"]
    d = evaluate(c, f["witness"])
    assert d.verdict == "block" and "context_evidence_missing" in d.reason_codes


def test_workspace_prefix_shadowing_is_exact():
    rules = [
        _rule("ws", 1, "allow", workspace_prefixes=["/ws"]),
        _rule("deeper", 2, "block", workspace_prefixes=["/ws/a"]),
        _rule("shorter", 3, "block", workspace_prefixes=["/w"]),
    ]
    report = lint_policy(_compile(rules))
    shadowed = [f["rules"][0] for f in _codes(report).get("shadowed_rule", [])]
    assert shadowed == ["deeper"]  # "/w" reaches "/wx", which "/ws" does not cover


def test_skill_wrkr_and_annotation_fields():
    rules = [
        _rule("pub", 1, "allow", skill_publishers=["acme"]),
        _rule("pub-src", 2, "block", skill_publishers=["acme"], skill_sources=["registry"]),
        _rule("ctx", 3, "allow", context_tool_names=["db"]),
        _rule("ctx-risk", 4, "block", context_tool_names=["db"], risk_classes=["high"]),
        _rule("ro", 5, "allow", tool_annotations={"readOnlyHint": True}),
        _rule(
            "ro-rw", 6, "block", tool_annotations={"readOnlyHint": True, "destructiveHint": False}
        ),
        _rule("rw", 7, "block", tool_annotations={"readOnlyHint": False}),
    ]
    c = _compile(rules)
    shadowed = {f["rules"][0]: f for f in _codes(lint_policy(c)).get("shadowed_rule", [])}
    assert set(shadowed) == {"pub-src", "ctx-risk", "ro-rw"}
    for name, f in shadowed.items():
        assert name not in _tier(c, f["witness"])


def test_impossible_match_and_sampled_delegation():
    rules = [
        _rule("nobody", 1, "allow", max_delegation_depth=0, allowed_delegator_identities=["boss"]),
        _rule("bob", 2, "allow", allowed_delegate_identities=["bob"]),
        _rule(
            "bob-read", 3, "block", allowed_delegate_identities=["bob"], delegation_scopes=["read"]
        ),
    ]
    codes = _codes(lint_policy(_compile(rules)))
    assert [f["rules"] for f in codes["impossible_match"]] == [["nobody"]]
    assert codes["impossible_match"][0]["level"] == "error"
    (possibly,) = codes["possibly_shadowed"]
    assert possibly["level"] == "info" and possibly["rules"][0] == "bob-read"
    assert "shadowed_rule" not in codes


def test_default_unreachable_reason_reuse_and_risky_allow():
    rules = [
        _rule("del", 1, "allow", endpoint_classes=["fs.delete"]),
        _rule("del-guarded", 1, "allow", endpoint_classes=["proc.exec"], target_values=["/bin/ls"]),
        _rule("rest", 2, "block"),
    ]
    rules[0]["reason_codes"] = ["ok"]
    rules[2]["reason_codes"] = ["ok"]
    c = _compile(rules)
    codes = _codes(lint_policy(c))
    assert set(codes) == {"default_unreachable", "reason_code_reused", "risky_allow_destructive"}
    (risky,) = codes["risky_allow_destructive"]
    assert risky["rules"] == ["del"]
    assert "del" in _tier(c, risky["witness"])
    assert risky["verdict"] == evaluate(c, risky["witness"]).verdict == "require_approval"
    assert codes["reason_code_reused"][0]["rules"] == ["del", "rest"]


def test_budget_exhaustion_is_reported_not_guessed():
    rules = [
        _rule(
            f"r{i}", i % 2, "allow" if i < 2 else "block", target_kinds=[k], provenance_sources=[p]
        )
        for i, (k, p) in enumerate(
            [("path", "user"), ("url", "external"), ("host", "user"), ("repo", "system")]
        )
    ]
    c = _compile(rules)
    full = lint_policy(c)
    # too many tiers to walk: the per-rule / per-pair queries give the same answers
    assert lint_policy(c, max_leaves=1)["findings"] == full["findings"]
    assert "conflicting_rules" in _codes(full)
    # and when those run out too, no rule is called shadowed; a conflict found on the
    # way is still real (its witness shows both rules deciding)
    codes = _codes(lint_policy(c, max_leaves=1, budget=0))
    assert "undecided" in codes and "shadowed_rule" not in codes
    for f in codes.get("conflicting_rules", []):
        assert set(f["rules"]) <= _tier(c, f["witness"])


def test_diff_notes_what_it_samples():
    a = _compile([{**_rule("p", 1, "allow"), "endpoint": {"path_allowlist": ["/srv/**"]}}])
    b = _compile(
        [{**_rule("p", 1, "allow"), "endpoint": {"path_allowlist": ["/srv/data/**"]}}],
        scripts={"max_steps": 3},
    )
    report = diff_policies(a, b)
    assert any("sample values" in n for n in report["notes"])
    assert any("scripts settings differ" in n for n in report["notes"])
    # /srv/lint is allowed by the old list only: found through the pattern samples
    assert any(
        (r["old_verdict"], r["new_verdict"]) == ("allow", "block") for r in report["regions"]
    ), report["regions"]


def test_split_target_match_is_info_with_a_two_target_witness():
    c = _compile([_rule("odd", 1, "allow", target_kinds=["url"], endpoint_classes=["fs.write"])])
    (f,) = _codes(lint_policy(c))["split_target_match"]
    assert f["level"] == "info"
    kinds = {t["kind"] for t in f["witness"]["targets"]}
    assert len(f["witness"]["targets"]) == 2 and "url" in kinds
    assert "odd" in _tier(c, f["witness"])
    natural = _compile(
        [_rule("fine", 1, "allow", target_kinds=["url"], endpoint_classes=["net.http"])]
    )
    assert lint_policy(natural)["findings"] == []


def test_every_shipped_policy_lints_clean():
    from pathlib import Path

    from gait.policy import compile_policy_file

    repo = Path(__file__).resolve().parents[2]
    shipped = sorted([*repo.glob("policies/*.yaml"), *repo.glob("examples/**/*.yaml")])
    shipped = [p for p in shipped if "rules:" in p.read_text()]
    assert len(shipped) >= 10
    for path in shipped:
        assert lint_policy(compile_policy_file(path))["findings"] == [], path


def test_every_key_fixture_findings_are_real():
    """The all-keys test policy: its rule needs a delegator with no delegation chain."""
    from pathlib import Path

    from gait.policy import compile_policy_file

    path = Path(__file__).resolve().parents[1] / "policy" / "data" / "every_key.yaml"
    codes = _codes(lint_policy(compile_policy_file(path)))
    assert set(codes) == {"impossible_match", "default_unreachable"}
    assert codes["impossible_match"][0]["rules"] == ["Everything Rule"]


def test_diff_budget_exhaustion_is_reported():
    a = _compile(
        [
            _rule("a", 1, "allow", target_kinds=["path"]),
            _rule("b", 2, "block", risk_classes=["high"]),
        ]
    )
    b = _compile(
        [
            _rule("a", 1, "block", target_kinds=["path"]),
            _rule("b", 2, "allow", risk_classes=["high"]),
        ]
    )
    full = diff_policies(a, b)
    assert full["regions"] and full["undecided_tools"] == []
    cut = diff_policies(a, b, max_leaves=1)
    assert cut["undecided_tools"] == ["<any other tool>"]
    assert any("not decided" in n for n in cut["notes"])
