"""Issue 11 A6: one Verdict enum (unknown values raise); repeated keys are rejected."""

from __future__ import annotations

import pytest

from gait.engine import UnknownVerdict, Verdict, most_restrictive, rank
from gait.errors import EXIT_INVALID_INPUT, IntentError
from gait.intent import decode_intent_bytes


def test_unknown_verdict_raises_instead_of_ranking_as_allow() -> None:
    with pytest.raises(UnknownVerdict) as info:
        most_restrictive("allow", "blokc")
    assert "blokc" in str(info.value)
    assert info.value.exit_code == EXIT_INVALID_INPUT
    with pytest.raises(UnknownVerdict):
        most_restrictive("Block", "allow")


def test_verdict_enum_orders_the_four_verdicts() -> None:
    order = [Verdict.ALLOW, Verdict.DRY_RUN, Verdict.REQUIRE_APPROVAL, Verdict.BLOCK]
    assert [rank(v) for v in order] == [0, 1, 2, 3]
    assert most_restrictive("dry_run", "require_approval") == "require_approval"
    assert Verdict.BLOCK == "block"


@pytest.mark.parametrize(
    "doc",
    [
        b'{"tool_name":"t","targets":[],"targets":[{"kind":"path","value":"/x"}]}',
        b'{"tool_name":"t","targets":[],"Targets":[{"kind":"path","value":"/x"}]}',
        b'{"tool_name":"t","context":{"risk_class":"low","RISK_CLASS":"high"}}',
    ],
)
def test_intent_with_repeated_keys_is_rejected(doc: bytes) -> None:
    with pytest.raises(IntentError) as info:
        decode_intent_bytes(doc)
    assert "duplicate key" in str(info.value)


def test_mapping_intents_follow_the_same_repeated_key_rule() -> None:
    from gait.intent import normalize_intent

    ctx = {"identity": "a", "workspace": "/w", "risk_class": "low"}
    target = {"kind": "path", "value": "/x"}
    with pytest.raises(IntentError, match="duplicate key 'Targets'"):
        normalize_intent({"tool_name": "t", "context": ctx, "targets": [], "Targets": [target]})
