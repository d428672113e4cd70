"""Digest payload shapes (intent.md §11), preparation (policy.md §10), JSON form (§12)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from gait.canonical import canonical_bytes, digest
from gait.intent import (
    Intent,
    args_digest,
    decode_intent_bytes,
    delegation_digest,
    delegation_payload,
    intent_digest,
    intent_digest_payload,
    intent_to_dict,
    normalize_intent,
    prepare_intent,
)

CTX = {"identity": "i", "workspace": "/w", "risk_class": "low"}
HEX = "0f" * 32


def norm(**fields: Any) -> Intent:
    fields.setdefault("tool_name", "t")
    fields.setdefault("context", CTX)
    return normalize_intent(decode_intent_bytes(json.dumps(fields).encode()))


def test_minimal_payload_keeps_empty_targets_and_args() -> None:
    assert canonical_bytes(intent_digest_payload(norm())) == (
        b'{"args":{},"context":{"identity":"i","phase":"apply","risk_class":"low",'
        b'"workspace":"/w"},"targets":[],"tool_name":"t"}'
    )


def test_target_payload_omits_false_flags_and_empty_strings() -> None:
    intent = norm(targets=[{"kind": "repo", "value": "r"}])
    assert intent_digest_payload(intent)["targets"] == [
        {"kind": "repo", "value": "r", "endpoint_class": "other", "discovery_method": "unknown"}
    ]


def test_target_payload_includes_true_flags() -> None:
    intent = norm(
        targets=[
            {
                "kind": "path",
                "value": "/x",
                "operation": "rm",
                "sensitivity": "pii",
                "read_only_hint": True,
                "destructive_hint": True,
                "idempotent_hint": True,
                "open_world_hint": True,
                "discovery_method": "mcp",
            }
        ]
    )
    assert intent_digest_payload(intent)["targets"] == [
        {
            "kind": "path",
            "value": "/x",
            "operation": "rm",
            "sensitivity": "pii",
            "endpoint_class": "fs.delete",
            "destructive": True,
            "discovery_method": "mcp",
            "read_only_hint": True,
            "destructive_hint": True,
            "idempotent_hint": True,
            "open_world_hint": True,
        }
    ]


def test_provenance_and_skill_payload_omissions() -> None:
    intent = norm(
        arg_provenance=[
            {"arg_path": "$.a", "source": "user"},
            {"arg_path": "$.b", "source": "external", "source_ref": "r", "integrity_digest": HEX},
        ],
        skill_provenance={"skill_name": "s", "source": "git", "publisher": "p"},
    )
    payload = intent_digest_payload(intent)
    assert payload["arg_provenance"] == [
        {"arg_path": "$.a", "source": "user"},
        {"arg_path": "$.b", "source": "external", "source_ref": "r", "integrity_digest": HEX},
    ]
    assert payload["skill_provenance"] == {"skill_name": "s", "source": "git", "publisher": "p"}


def test_optional_sections_absent_when_empty() -> None:
    payload = intent_digest_payload(norm(arg_provenance=[], skill_provenance=None, delegation=None))
    assert set(payload) == {"tool_name", "args", "targets", "context"}


def test_context_payload_optional_fields() -> None:
    ctx = {
        **CTX,
        "phase": "plan",
        "job_id": "j",
        "session_id": "s",
        "request_id": "r",
        "auth_context": {"k": 1},
        "credential_scopes": ["b", "a"],
        "environment_fingerprint": "e",
        "context_set_digest": HEX,
        "context_evidence_mode": "required",
        "context_refs": ["c"],
    }
    assert intent_digest_payload(norm(context=ctx))["context"] == {
        "identity": "i",
        "workspace": "/w",
        "risk_class": "low",
        "phase": "plan",
        "job_id": "j",
        "session_id": "s",
        "request_id": "r",
        "auth_context": {"k": 1},
        "credential_scopes": ["a", "b"],
        "environment_fingerprint": "e",
        "context_set_digest": HEX,
        "context_evidence_mode": "required",
        "context_refs": ["c"],
    }


def test_delegation_times_always_present_with_zero_time() -> None:
    intent = norm(
        delegation={
            "requester_identity": "r",
            "chain": [
                {
                    "delegator_identity": "a",
                    "delegate_identity": "r",
                    "expires_at": "2026-02-18T20:13:04.95397+01:00",
                }
            ],
        }
    )
    assert canonical_bytes(intent_digest_payload(intent)["delegation"]) == (
        b'{"chain":[{"delegate_identity":"r","delegator_identity":"a",'
        b'"expires_at":"2026-02-18T19:13:04.95397Z","issued_at":"0001-01-01T00:00:00Z"}],'
        b'"expires_at":"0001-01-01T00:00:00Z","issued_at":"0001-01-01T00:00:00Z",'
        b'"requester_identity":"r"}'
    )


def test_delegation_payload_optional_fields() -> None:
    intent = norm(
        delegation={
            "requester_identity": "r",
            "scope_class": "W",
            "token_refs": ["t"],
            "chain": [
                {
                    "delegator_identity": "a",
                    "delegate_identity": "r",
                    "scope_class": "S",
                    "token_ref": "k",
                }
            ],
        }
    )
    payload = delegation_payload(intent.delegation)  # type: ignore[arg-type]
    assert payload["scope_class"] == "w"
    assert payload["token_refs"] == ["t"]
    assert payload["chain"][0]["scope_class"] == "s"
    assert payload["chain"][0]["token_ref"] == "k"


def test_delegation_without_chain_omits_chain() -> None:
    assert "chain" not in delegation_payload(
        norm(delegation={"requester_identity": "r"}).delegation
    )  # type: ignore[arg-type]


def test_delegation_digest() -> None:
    assert delegation_digest(norm()) == ""
    intent = norm(delegation={"requester_identity": "r"})
    assert delegation_digest(intent) == digest(
        {
            "requester_identity": "r",
            "issued_at": "0001-01-01T00:00:00Z",
            "expires_at": "0001-01-01T00:00:00Z",
        }
    )
    later = norm(delegation={"requester_identity": "r", "expires_at": "2030-01-01T00:00:00Z"})
    assert delegation_digest(later) != delegation_digest(intent)


def test_args_digest_is_jcs_of_args() -> None:
    assert args_digest(norm()) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert args_digest(norm(args={"b": 1, "a": " x "})) == digest({"a": "x", "b": 1})


@pytest.mark.parametrize(
    "change",
    [
        {"schema_id": "x"},
        {"schema_version": "2"},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"producer_version": "9"},
        {"relationship": {"parent_record_id": "p"}},
        {"args_digest": "x", "intent_digest": "y"},
        {"tool_name": " T "},
        {"targets": [{"kind": "PATH", "value": "/x"}, {"kind": "path", "value": " /x"}]},
    ],
)
def test_digest_ignores_metadata_and_normalizes(change: dict[str, Any]) -> None:
    base = norm(targets=[{"kind": "path", "value": "/x"}])
    assert intent_digest(
        norm(**{"targets": [{"kind": "path", "value": "/x"}], **change})
    ) == intent_digest(base)


def test_digest_changes_with_any_digested_field() -> None:
    base = intent_digest(norm())
    variants = [
        norm(tool_name="u"),
        norm(args={"a": 1}),
        norm(targets=[{"kind": "path", "value": "/x"}]),
        norm(arg_provenance=[{"arg_path": "$", "source": "user"}]),
        norm(context={**CTX, "phase": "plan"}),
        norm(delegation={"requester_identity": "r"}),
        norm(skill_provenance={"skill_name": "s", "source": "g", "publisher": "p"}),
    ]
    digests = {intent_digest(v) for v in variants}
    assert base not in digests and len(digests) == len(variants)


# --- preparation ----------------------------------------------------------------------


def test_prepare_strips_context_evidence_claims() -> None:
    intent = norm(
        context={
            **CTX,
            "context_set_digest": HEX,
            "context_evidence_mode": "required",
            "context_refs": ["r"],
            "auth_context": {"context_age_seconds": 5, "team": "x"},
        }
    )
    prepared = prepare_intent(intent)
    ctx = prepared.context
    assert (ctx.context_set_digest, ctx.context_evidence_mode, ctx.context_refs) == ("", "", ())
    assert ctx.auth_context == {"team": "x"}
    assert intent.context.context_set_digest == HEX  # the original is untouched
    assert intent_digest(prepared) == intent_digest(
        norm(context={**CTX, "auth_context": {"team": "x"}})
    )
    assert intent_digest(prepared) != intent_digest(intent)


def test_prepare_drops_auth_context_emptied_by_stripping() -> None:
    prepared = prepare_intent(norm(context={**CTX, "auth_context": {"context_age_seconds": 1}}))
    assert prepared.context.auth_context is None
    assert "auth_context" not in intent_digest_payload(prepared)["context"]


def test_prepare_without_claims_returns_same_object() -> None:
    intent = norm(context={**CTX, "auth_context": {"age": 1}})
    assert prepare_intent(intent) is intent


# --- JSON form ---------------------------------------------------------------------


def test_intent_to_dict_shape_and_order() -> None:
    intent = norm(
        created_at="2026-02-18T00:00:00Z",
        producer_version="0.0.0-dev",
        targets=[{"kind": "path", "value": "/x", "operation": "read"}],
        relationship={"parent_record_id": "p"},
    )
    out = intent_to_dict(intent)
    assert list(out) == [
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "tool_name",
        "args",
        "args_digest",
        "intent_digest",
        "targets",
        "relationship",
        "context",
    ]
    assert out["intent_digest"] == intent_digest(intent)
    assert out["args_digest"] == args_digest(intent)
    json.dumps(out)  # plain JSON


def test_intent_to_dict_omits_absent_metadata_and_includes_script() -> None:
    intent = norm(script={"steps": [{"tool_name": "a"}]})
    out = intent_to_dict(intent)
    assert "created_at" not in out and "producer_version" not in out
    assert out["script"] == {"steps": [{"tool_name": "a", "args": {}}]}
    assert out["script_hash"] == intent.script_hash


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {
            "targets": [{"kind": "url", "value": "https://x.test/a", "destructive_hint": True}],
            "arg_provenance": [{"arg_path": "$", "source": "external"}],
        },
        {
            "script": {
                "steps": [
                    {"tool_name": "fs.read", "targets": [{"kind": "path", "value": "/a"}]},
                    {"tool_name": "fs.rm", "targets": [{"kind": "path", "value": "/b"}]},
                ]
            }
        },
        {
            "delegation": {
                "requester_identity": "r",
                "chain": [
                    {
                        "delegator_identity": "a",
                        "delegate_identity": "r",
                        "issued_at": "2026-01-01T00:00:00.5+02:00",
                    }
                ],
            },
            "created_at": "2026-01-01T00:00:00.000000001Z",
            "context": {**CTX, "auth_context": {"n": 12345678901234567890}},
        },
    ],
)
def test_intent_to_dict_round_trips(fields: dict[str, Any]) -> None:
    intent = norm(**fields)
    again = normalize_intent(decode_intent_bytes(msgspec.json.encode(intent_to_dict(intent))))
    assert again == intent
