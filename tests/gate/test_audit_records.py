"""Approval and delegation audit records as msgspec Structs: the records are those the
dict-built code wrote (tests/gate/golden/audit_records.json was produced by it from the
corpus below), key order included, and so are the outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import gait
from gait.gate.approvals import consume_approvals
from gait.gate.delegation import enforce_delegation
from gait.gate.tokens import mint_approval, mint_delegation
from gait.signing import KeyPair, key_id_for

GOLDEN = json.loads((Path(__file__).parent / "golden" / "audit_records.json").read_text())


@pytest.fixture(autouse=True)
def _fixed_producer_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gait, "PRODUCER_VERSION", "0.1.0")  # the golden records carry it


def _corpus() -> list[str]:
    priv = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pub = priv.public_key()
    key = KeyPair(
        pub,
        priv,
        key_id_for(pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)),
        "t",
    )
    intent_d, policy_d = "a" * 64, "b" * 64
    NOW = "2026-11-24T18:40:00Z"
    C = "2026-11-24T18:33:26.576588546Z"
    H = 3600 * 10**9

    def ap(**kw):
        args = dict(
            intent_digest=intent_d,
            policy_digest=policy_d,
            approver="alice",
            reason_code="r",
            scope=["tool:x"],
            ttl_nanos=H,
            now=C,
        )
        args.update(kw)
        return mint_approval(key, **args)

    A1, A2 = ap(), ap(approver="bob")
    expired = ap(approver="carol", ttl_nanos=10**9)
    badscope = ap(approver="dave", scope=["other"])
    noscope = {k: v for k, v in ap(approver="erin").items() if k != "scope"}
    invalid = {**ap(), "approver_identity": ""}
    cases = [
        ([], 1, False, None),
        ([A1], 1, False, None),
        ([A1, A1], 2, False, None),
        ([A1, A2], 2, True, None),
        ([A1, expired, badscope, noscope, invalid], 1, False, None),
        ([A1, A2], 2, False, lambda ids, **k: {ids[0]}),
        ([A1, A2, ap(approver="frank")], 2, True, lambda ids, **k: {sorted(ids)[0]}),
        ([expired], 1, False, None),
    ]
    out = []
    for tokens, minap, distinct, claim in cases:
        d = NS(
            min_approvals=minap, require_distinct_approvers=distinct, intent=NS(tool_name="tool.x")
        )
        o = consume_approvals(
            tokens,
            lambda: key,
            d,
            intent_digest=intent_d,
            policy_digest=policy_d,
            binding="",
            required_scope=["tool:x"],
            target_count=1,
            op_count=1,
            now=NOW,
            claim=claim,
        )
        out.append(json.dumps(o.audit))
        out.append(
            json.dumps(
                [o.granted, o.valid_count, o.ref, sorted(o.reason_codes), sorted(o.violations)]
            )
        )

    def dl(**kw):
        args = dict(delegator="alice", delegate="agent", scope=["deploy"], ttl_nanos=H, now=C)
        args.update(kw)
        return mint_delegation(key, **args)

    L1 = dl()
    L2 = dl(delegator="agent", delegate="sub")
    extra = dl(delegator="zed", delegate="q")
    bad = {**dl(), "scope": "notalist"}
    empty_scope = {**dl(delegator="x"), "scope": []}
    chain2 = NS(
        chain=[
            NS(delegator_identity="alice", delegate_identity="agent", scope_class=""),
            NS(delegator_identity="agent", delegate_identity="sub", scope_class=""),
        ],
        requester_identity="sub",
        scope_class="",
    )
    chain0 = NS(chain=[], requester_identity="agent", scope_class="")
    dcases = [
        ([], chain2),
        ([L1], chain2),
        ([L1, L2], chain2),
        ([L2, L1, extra], chain2),
        ([bad, empty_scope, L1], chain2),
        ([L1], chain0),
        ([extra], chain0),
        ([L1, L1], chain0),
    ]
    for tokens, dg in dcases:
        d = NS(
            required_delegation_scopes=("deploy",), intent_digest=intent_d, policy_digest=policy_d
        )
        intent = NS(delegation=dg, tool_name="tool.deploy")
        o = enforce_delegation(tokens, lambda: key, d, intent, NOW)
        out.append(json.dumps(o.audit))
        out.append(
            json.dumps(
                [o.granted, o.valid_count, o.ref, sorted(o.reason_codes), sorted(o.violations)]
            )
        )
    return out


def test_audit_records_and_outcomes_unchanged() -> None:
    produced = _corpus()
    assert len(produced) == len(GOLDEN) == 32
    for got, expected in zip(produced, GOLDEN, strict=True):
        assert got == expected  # JSON text: key order matters


def test_corpus_covers_every_entry_shape() -> None:
    text = "\n".join(GOLDEN)
    for code in (
        "approval_token_duplicate",
        "approval_token_expired",
        "approval_token_invalid",
        "approval_token_replayed",
        "approval_token_scope_mismatch",
        "delegation_token_chain_mismatch",
        "delegation_token_missing",
        "delegation_token_invalid",
        '"approvers": ',
        '"delegation_ref": ',
    ):
        assert code in text, code
