"""Normalized intent structures (spec/intent.md).

These are the *output* of normalization: every string already trimmed and
cased as the spec says, lists deduplicated and sorted, inferred fields filled.
The engine reads only these; the raw JSON is never matched against directly.
"""

# No "from __future__ import annotations": msgspec reads these annotations when it
# first decodes a type, and evaluating them from strings compiles each one.

from typing import Any

import msgspec

MAX_SCRIPT_STEPS = 64
"""Most steps one script intent may have (normalization and the engine share it)."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    value: str
    operation: str = ""
    sensitivity: str = ""
    endpoint_class: str = ""
    endpoint_domain: str = ""
    destructive: bool = False
    discovery_method: str = "unknown"
    read_only_hint: bool = False
    destructive_hint: bool = False
    idempotent_hint: bool = False
    open_world_hint: bool = False


class ArgProvenance(msgspec.Struct, frozen=True, kw_only=True):
    arg_path: str
    source: str
    source_ref: str = ""
    integrity_digest: str = ""


class SkillProvenance(msgspec.Struct, frozen=True, kw_only=True):
    skill_name: str
    source: str
    publisher: str
    skill_version: str = ""
    digest: str = ""
    signature_key_id: str = ""


class DelegationLink(msgspec.Struct, frozen=True, kw_only=True):
    delegator_identity: str
    delegate_identity: str
    scope_class: str = ""
    token_ref: str = ""
    issued_at: str = ""  # RFC 3339 UTC text, "" when absent
    expires_at: str = ""


class Delegation(msgspec.Struct, frozen=True, kw_only=True):
    requester_identity: str
    scope_class: str = ""
    token_refs: tuple[str, ...] = ()
    chain: tuple[DelegationLink, ...] = ()
    issued_at: str = ""
    expires_at: str = ""


class Context(msgspec.Struct, frozen=True, kw_only=True):
    identity: str
    workspace: str
    risk_class: str
    phase: str = "apply"
    job_id: str = ""
    session_id: str = ""
    request_id: str = ""
    auth_context: dict[str, Any] | None = None
    credential_scopes: tuple[str, ...] = ()
    environment_fingerprint: str = ""
    context_set_digest: str = ""
    context_evidence_mode: str = ""
    context_refs: tuple[str, ...] = ()


class ScriptStep(msgspec.Struct, frozen=True, kw_only=True):
    tool_name: str
    args: dict[str, Any]
    targets: tuple[Target, ...] = ()
    arg_provenance: tuple[ArgProvenance, ...] = ()


class Intent(msgspec.Struct, frozen=True, kw_only=True):
    """A normalized intent request (schema ``gait.gate.intent_request``)."""

    tool_name: str
    args: dict[str, Any]
    context: Context
    targets: tuple[Target, ...] = ()
    arg_provenance: tuple[ArgProvenance, ...] = ()
    skill_provenance: SkillProvenance | None = None
    delegation: Delegation | None = None
    script: tuple[ScriptStep, ...] | None = None  # None: not a script intent
    script_hash: str = ""
    relationship: dict[str, Any] | None = None
    schema_id: str = "gait.gate.intent_request"
    schema_version: str = "1.0.0"
    created_at: str = ""  # RFC 3339 UTC text ("" when absent)
    producer_version: str = ""
