"""Digest payloads and the JSON form of a normalized intent (intent.md §11-§12).

The payload shapes reproduce the reference's ``omitempty`` rules exactly
(e.g. ``targets`` always present, delegation times always present as
``0001-01-01T00:00:00Z`` when absent), because approval tokens and traces bind
to these digests. Digests are computed lazily by callers; none of this is on
the per-decision hot path except ``script_hash`` for script intents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gait.canonical import digest
from gait.intent.model import (
    ArgProvenance,
    Context,
    Delegation,
    Intent,
    ScriptStep,
    SkillProvenance,
    Target,
)
from gait.intent.times import digest_time

__all__ = [
    "args_digest",
    "context_payload",
    "delegation_digest",
    "delegation_payload",
    "intent_digest",
    "intent_digest_payload",
    "intent_to_dict",
    "provenance_payload",
    "script_hash",
    "script_payload",
    "skill_payload",
    "target_payload",
]


def target_payload(target: Target) -> dict[str, Any]:
    """One target with empty strings and false flags omitted."""
    out: dict[str, Any] = {"kind": target.kind, "value": target.value}
    if target.operation:
        out["operation"] = target.operation
    if target.sensitivity:
        out["sensitivity"] = target.sensitivity
    if target.endpoint_class:
        out["endpoint_class"] = target.endpoint_class
    if target.endpoint_domain:
        out["endpoint_domain"] = target.endpoint_domain
    if target.destructive:
        out["destructive"] = True
    if target.discovery_method:
        out["discovery_method"] = target.discovery_method
    if target.read_only_hint:
        out["read_only_hint"] = True
    if target.destructive_hint:
        out["destructive_hint"] = True
    if target.idempotent_hint:
        out["idempotent_hint"] = True
    if target.open_world_hint:
        out["open_world_hint"] = True
    return out


def provenance_payload(entry: ArgProvenance) -> dict[str, Any]:
    out: dict[str, Any] = {"arg_path": entry.arg_path, "source": entry.source}
    if entry.source_ref:
        out["source_ref"] = entry.source_ref
    if entry.integrity_digest:
        out["integrity_digest"] = entry.integrity_digest
    return out


def skill_payload(skill: SkillProvenance) -> dict[str, Any]:
    out: dict[str, Any] = {"skill_name": skill.skill_name}
    if skill.skill_version:
        out["skill_version"] = skill.skill_version
    out["source"] = skill.source
    out["publisher"] = skill.publisher
    if skill.digest:
        out["digest"] = skill.digest
    if skill.signature_key_id:
        out["signature_key_id"] = skill.signature_key_id
    return out


def delegation_payload(delegation: Delegation) -> dict[str, Any]:
    """The delegation as the reference serializes it (times always present)."""
    out: dict[str, Any] = {"requester_identity": delegation.requester_identity}
    if delegation.scope_class:
        out["scope_class"] = delegation.scope_class
    if delegation.token_refs:
        out["token_refs"] = list(delegation.token_refs)
    if delegation.chain:
        chain = []
        for link in delegation.chain:
            item: dict[str, Any] = {
                "delegator_identity": link.delegator_identity,
                "delegate_identity": link.delegate_identity,
            }
            if link.scope_class:
                item["scope_class"] = link.scope_class
            if link.token_ref:
                item["token_ref"] = link.token_ref
            item["issued_at"] = digest_time(link.issued_at)
            item["expires_at"] = digest_time(link.expires_at)
            chain.append(item)
        out["chain"] = chain
    out["issued_at"] = digest_time(delegation.issued_at)
    out["expires_at"] = digest_time(delegation.expires_at)
    return out


def context_payload(context: Context) -> dict[str, Any]:
    out: dict[str, Any] = {
        "identity": context.identity,
        "workspace": context.workspace,
        "risk_class": context.risk_class,
    }
    if context.phase:
        out["phase"] = context.phase
    if context.job_id:
        out["job_id"] = context.job_id
    if context.session_id:
        out["session_id"] = context.session_id
    if context.request_id:
        out["request_id"] = context.request_id
    if context.auth_context:
        out["auth_context"] = context.auth_context
    if context.credential_scopes:
        out["credential_scopes"] = list(context.credential_scopes)
    if context.environment_fingerprint:
        out["environment_fingerprint"] = context.environment_fingerprint
    if context.context_set_digest:
        out["context_set_digest"] = context.context_set_digest
    if context.context_evidence_mode:
        out["context_evidence_mode"] = context.context_evidence_mode
    if context.context_refs:
        out["context_refs"] = list(context.context_refs)
    return out


def _step_payload(step: ScriptStep) -> dict[str, Any]:
    out: dict[str, Any] = {"tool_name": step.tool_name, "args": step.args}
    if step.targets:
        out["targets"] = [target_payload(t) for t in step.targets]
    if step.arg_provenance:
        out["arg_provenance"] = [provenance_payload(p) for p in step.arg_provenance]
    return out


def script_payload(steps: Iterable[ScriptStep]) -> dict[str, Any]:
    """``{"steps": [...]}`` over normalized steps (order matters)."""
    return {"steps": [_step_payload(step) for step in steps]}


def script_hash(steps: Iterable[ScriptStep]) -> str:
    """§9 ``script_hash``: JCS-SHA256 of :func:`script_payload`."""
    return digest(script_payload(steps))


def intent_digest_payload(intent: Intent) -> dict[str, Any]:
    """The object whose JCS digest is ``intent_digest`` (§11.2)."""
    out: dict[str, Any] = {"tool_name": intent.tool_name, "args": intent.args}
    if intent.script_hash:
        out["script_hash"] = intent.script_hash
    if intent.script is not None:
        out["script"] = script_payload(intent.script)
    out["targets"] = [target_payload(t) for t in intent.targets]
    if intent.arg_provenance:
        out["arg_provenance"] = [provenance_payload(p) for p in intent.arg_provenance]
    if intent.skill_provenance is not None:
        out["skill_provenance"] = skill_payload(intent.skill_provenance)
    if intent.delegation is not None:
        out["delegation"] = delegation_payload(intent.delegation)
    out["context"] = context_payload(intent.context)
    return out


def intent_digest(intent: Intent) -> str:
    """§11.2 ``intent_digest`` (digest the *prepared* intent for gate eval)."""
    return digest(intent_digest_payload(intent))


def args_digest(intent: Intent) -> str:
    """§11.1 ``args_digest``: JCS-SHA256 of the normalized top-level args."""
    return digest(intent.args)


def delegation_digest(intent: Intent) -> str:
    """JCS digest of the normalized delegation; ``""`` without delegation.

    Used for approval-token ``delegation_binding_digest`` and trace
    ``chain_digest`` (trace.md).
    """
    if intent.delegation is None:
        return ""
    return digest(delegation_payload(intent.delegation))


def intent_to_dict(intent: Intent) -> dict[str, Any]:
    """The normalized intent as JSON (§12), in the reference's field order.

    Feeding the result back through normalization yields the same
    :class:`Intent` (the input digests and ``script_hash`` are recomputed).
    """
    out: dict[str, Any] = {
        "schema_id": intent.schema_id,
        "schema_version": intent.schema_version,
    }
    if intent.created_at:
        out["created_at"] = intent.created_at
    if intent.producer_version:
        out["producer_version"] = intent.producer_version
    out["tool_name"] = intent.tool_name
    out["args"] = intent.args
    out["args_digest"] = args_digest(intent)
    out["intent_digest"] = intent_digest(intent)
    if intent.script_hash:
        out["script_hash"] = intent.script_hash
    if intent.script is not None:
        out["script"] = script_payload(intent.script)
    out["targets"] = [target_payload(t) for t in intent.targets]
    if intent.arg_provenance:
        out["arg_provenance"] = [provenance_payload(p) for p in intent.arg_provenance]
    if intent.skill_provenance is not None:
        out["skill_provenance"] = skill_payload(intent.skill_provenance)
    if intent.delegation is not None:
        out["delegation"] = delegation_payload(intent.delegation)
    if intent.relationship is not None:
        out["relationship"] = intent.relationship
    out["context"] = context_payload(intent.context)
    return out
