"""The intent file schema as decoded, before normalization (intent.md §1-§9).

These mirror the reference's Go structs: every field optional (``None`` =
absent or JSON ``null``, i.e. Go's zero value), known fields only. msgspec
type-checks JSON against them in C, which is what makes decoding cheap;
``forbid_unknown_fields`` is used only to *detect* keys that need Go's
case-insensitive matching (or are unknown and must be ignored), which then
takes the slower folding path in :mod:`gait.intent.decode`.

Times are ``str``: RFC 3339 text on input, replaced in place by canonical UTC
text (``""`` for the zero time) once decoded.
"""

# No "from __future__ import annotations": msgspec reads these annotations when it
# first decodes a type, and evaluating them from strings compiles each one.

from typing import Any

import msgspec

__all__ = [
    "RawArgProvenance",
    "RawContext",
    "RawDelegation",
    "RawDelegationLink",
    "RawIntent",
    "RawScript",
    "RawScriptStep",
    "RawSkillProvenance",
    "RawTarget",
]


class _Raw(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """Base: unknown keys are reported, absent fields are ``None``."""


class RawTarget(_Raw):
    kind: str | None = None
    value: str | None = None
    operation: str | None = None
    sensitivity: str | None = None
    endpoint_class: str | None = None
    endpoint_domain: str | None = None
    destructive: bool | None = None
    discovery_method: str | None = None
    read_only_hint: bool | None = None
    destructive_hint: bool | None = None
    idempotent_hint: bool | None = None
    open_world_hint: bool | None = None


class RawArgProvenance(_Raw):
    arg_path: str | None = None
    source: str | None = None
    source_ref: str | None = None
    integrity_digest: str | None = None


class RawSkillProvenance(_Raw):
    skill_name: str | None = None
    skill_version: str | None = None
    source: str | None = None
    publisher: str | None = None
    digest: str | None = None
    signature_key_id: str | None = None


class RawDelegationLink(_Raw):
    delegator_identity: str | None = None
    delegate_identity: str | None = None
    scope_class: str | None = None
    token_ref: str | None = None
    issued_at: str | None = None
    expires_at: str | None = None


class RawDelegation(_Raw):
    requester_identity: str | None = None
    scope_class: str | None = None
    token_refs: list[str | None] | None = None
    chain: list[RawDelegationLink | None] | None = None
    issued_at: str | None = None
    expires_at: str | None = None


class RawContext(_Raw):
    identity: str | None = None
    workspace: str | None = None
    risk_class: str | None = None
    phase: str | None = None
    job_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    auth_context: dict[str, Any] | None = None
    credential_scopes: list[str | None] | None = None
    environment_fingerprint: str | None = None
    context_set_digest: str | None = None
    context_evidence_mode: str | None = None
    context_refs: list[str | None] | None = None


class RawScriptStep(_Raw):
    tool_name: str | None = None
    args: dict[str, Any] | None = None
    targets: list[RawTarget | None] | None = None
    arg_provenance: list[RawArgProvenance | None] | None = None


class RawScript(_Raw):
    steps: list[RawScriptStep | None] | None = None


class RawIntent(_Raw):
    schema_id: str | None = None
    schema_version: str | None = None
    created_at: str | None = None
    producer_version: str | None = None
    tool_name: str | None = None
    args: dict[str, Any] | None = None
    args_digest: str | None = None
    intent_digest: str | None = None
    script_hash: str | None = None
    script: RawScript | None = None
    targets: list[RawTarget | None] | None = None
    arg_provenance: list[RawArgProvenance | None] | None = None
    skill_provenance: RawSkillProvenance | None = None
    delegation: RawDelegation | None = None
    relationship: dict[str, Any] | None = None
    context: RawContext | None = None
