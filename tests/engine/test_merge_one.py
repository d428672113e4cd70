"""A one-rule tier's decision (_merge_one) is the one the general merge builds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.engine.evaluate import _apply_rule, _merge, _merge_one, _runtime, matching_tier
from gait.intent import decode_intent_bytes, normalize_intent
from gait.policy import compile_policy

extras = st.fixed_dictionaries(
    {},
    optional={
        "min_approvals": st.integers(min_value=0, max_value=3),
        "require_distinct_approvers": st.booleans(),
        "require_broker_credential": st.booleans(),
        "broker_reference": st.sampled_from(["", "ref-a"]),
        "broker_scopes": st.lists(st.sampled_from(["w", "r", "W"]), max_size=3),
        "reason_codes": st.lists(st.sampled_from(["b_code", "a_code", "a_code"]), max_size=3),
        "violations": st.lists(st.sampled_from(["v2", "v1"]), max_size=2),
        "rate_limit": st.just({"requests": 3, "window": "minute"}),
        "destructive_budget": st.just({"requests": 2, "window": "hour"}),
        "dataflow": st.just({"enabled": True, "tainted_sources": ["external"], "action": "block"}),
        "endpoint": st.just(
            {"enabled": True, "path_denylist": ["/etc/**"], "destructive_action": "block"}
        ),
        "require_context_evidence": st.booleans(),
    },
)
rules = st.builds(
    lambda effect, extra, delegation: {
        "name": "only",
        "effect": effect,
        "match": {"tool_names": ["t"], **delegation},
        **extra,
    },
    st.sampled_from(["allow", "dry_run", "require_approval", "block"]),
    extras,
    st.sampled_from([{}, {"require_delegation": True, "delegation_scopes": ["Write", "read"]}]),
)
intents = st.fixed_dictionaries(
    {
        "tool_name": st.just("t"),
        "args": st.just({}),
        "targets": st.lists(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(["path", "url"]),
                    "value": st.sampled_from(["/etc/passwd", "/w/x", "https://e.test/"]),
                    "operation": st.sampled_from(["read", "delete", "post"]),
                }
            ),
            min_size=1,
            max_size=2,
        ),
        "arg_provenance": st.lists(
            st.fixed_dictionaries(
                {"arg_path": st.just("$"), "source": st.sampled_from(["user", "external"])}
            ),
            max_size=1,
        ),
        "context": st.fixed_dictionaries(
            {
                "identity": st.just("bot"),
                "workspace": st.just("/w"),
                "risk_class": st.just("low"),
                "phase": st.sampled_from(["apply", "plan"]),
            }
        ),
        "delegation": st.just({"requester_identity": "r"}),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules, intents)
def test_one_rule_tier_decides_as_the_merge(rule: dict[str, Any], raw: dict[str, Any]) -> None:
    compiled = compile_policy(json.dumps({"default_verdict": "block", "rules": [rule]}))
    intent = normalize_intent(decode_intent_bytes(json.dumps(raw).encode()))
    tier = matching_tier(_runtime(compiled), intent, compiled.ir)
    if not tier:
        return
    (row,) = tier
    for refs in ((), ("call-2", "call-1", "call-2")):
        outcome = _apply_rule(row, intent, refs)
        assert _merge_one(compiled.ir, intent, outcome) == _merge(compiled.ir, intent, [outcome])
