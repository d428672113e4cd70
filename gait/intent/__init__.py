"""Intent requests: decoding, normalization and digests (spec/intent.md).

Hot path for every decision: :func:`decode_intent_bytes` (or
:func:`read_intent_file`) then :func:`normalize_intent`, then
:func:`prepare_intent`. Digests (:func:`intent_digest`, :func:`args_digest`,
:func:`delegation_digest`) are computed lazily by the callers that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gait.intent.model import (
    ArgProvenance,
    Context,
    Delegation,
    DelegationLink,
    Intent,
    ScriptStep,
    SkillProvenance,
    Target,
)

# Submodules load on first use so a one-shot command imports only what it needs.
_LAZY = {
    "BoundIntent": "decode",
    "decode_intent_bytes": "decode",
    "raw_risk_class": "decode",
    "read_intent_file": "decode",
    "args_digest": "digest",
    "delegation_digest": "digest",
    "delegation_payload": "digest",
    "intent_digest": "digest",
    "intent_digest_payload": "digest",
    "intent_to_dict": "digest",
    "script_hash": "digest",
    "script_payload": "digest",
    "infer_destructive": "infer",
    "infer_endpoint_class": "infer",
    "infer_endpoint_domain": "infer",
    "load_intent": "load",
    "MAX_SCRIPT_STEPS": "normalize",
    "normalize_intent": "normalize",
    "CONTEXT_AGE_KEY": "prepare",
    "prepare_intent": "prepare",
    "ZERO_TIME": "times",
    "parse_rfc3339": "times",
}

if TYPE_CHECKING:
    from gait.intent.decode import (
        BoundIntent,
        decode_intent_bytes,
        raw_risk_class,
        read_intent_file,
    )
    from gait.intent.digest import (
        args_digest,
        delegation_digest,
        delegation_payload,
        intent_digest,
        intent_digest_payload,
        intent_to_dict,
        script_hash,
        script_payload,
    )
    from gait.intent.infer import infer_destructive, infer_endpoint_class, infer_endpoint_domain
    from gait.intent.load import load_intent
    from gait.intent.normalize import MAX_SCRIPT_STEPS, normalize_intent
    from gait.intent.prepare import CONTEXT_AGE_KEY, prepare_intent
    from gait.intent.times import ZERO_TIME, parse_rfc3339


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gait.intent' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"gait.intent.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CONTEXT_AGE_KEY",
    "MAX_SCRIPT_STEPS",
    "ZERO_TIME",
    "ArgProvenance",
    "BoundIntent",
    "Context",
    "Delegation",
    "DelegationLink",
    "Intent",
    "ScriptStep",
    "SkillProvenance",
    "Target",
    "args_digest",
    "decode_intent_bytes",
    "delegation_digest",
    "delegation_payload",
    "infer_destructive",
    "infer_endpoint_class",
    "infer_endpoint_domain",
    "intent_digest",
    "intent_digest_payload",
    "intent_to_dict",
    "load_intent",
    "normalize_intent",
    "parse_rfc3339",
    "prepare_intent",
    "raw_risk_class",
    "read_intent_file",
    "script_hash",
    "script_payload",
]
