"""Intent normalization and validation (intent.md §2-§10).

Turns a bound raw intent into the frozen :class:`~gait.intent.model.Intent`
the engine evaluates: strings trimmed and cased, lists deduplicated and
sorted, endpoint fields inferred, delegation chains checked. Checks run in the
spec's order (§10) and the first failure is raised as
``IntentError("normalize intent: <msg>")`` with the exact reference wording
(the bare message is in ``err.details["reason"]``).

This runs on every gate decision, so it avoids regexes, datetime parsing and
intermediate copies; the common single-target intent takes a few µs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from gait.errors import IntentError
from gait.intent._raw import (
    RawArgProvenance,
    RawContext,
    RawDelegation,
    RawDelegationLink,
    RawIntent,
    RawScript,
    RawScriptStep,
    RawSkillProvenance,
    RawTarget,
)
from gait.intent._text import GO_SPACE, is_sha256_hex, lower
from gait.intent.decode import BoundIntent, parse_error, raw_from_mapping
from gait.intent.infer import infer_destructive, infer_endpoint_class, infer_endpoint_domain
from gait.intent.model import (
    MAX_SCRIPT_STEPS,
    ArgProvenance,
    Context,
    Delegation,
    DelegationLink,
    Intent,
    ScriptStep,
    SkillProvenance,
    Target,
)
from gait.intent.times import time_sort_key
from gait.intent.urls import host_domain, url_hostname
from gait.vocab import DISCOVERY_METHODS, ENDPOINT_CLASSES, PROVENANCE_SOURCES, TARGET_KINDS

__all__ = ["MAX_SCRIPT_STEPS", "normalize_intent", "normalize_json_object"]

_EVIDENCE_MODES = frozenset(("", "best_effort", "required"))
_DOUBLE_EXACT = 2**53
_EMPTY_CONTEXT = RawContext()
_EMPTY_LINK = RawDelegationLink()
_EMPTY_STEP = RawScriptStep()


class _Reject(Exception):
    """A validation failure carrying the bare spec message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Hot-path call sites inline trimming and the absent check,
# ``_v.strip(GO_SPACE) if (_v := raw.x) else ""``: no function call per field.


def _tl(value: str | None) -> str:
    """Trimmed, lowercased string ('' when absent)."""
    if not value:
        return ""
    out = _TL_MEMO.get(value)
    if out is None:
        out = value.strip(GO_SPACE)
        out = out.lower() if out.isascii() else lower(out)
        if len(_TL_MEMO) < 4096:
            _TL_MEMO[value] = out
    return out


# Kinds, operations, sources and risk classes repeat from call to call: _tl of a
# value seen before is one dict lookup (bounded: an input cannot grow it forever).
_TL_MEMO: dict[str, str] = {}
_tl_get = _TL_MEMO.get  # call sites try the memo first: no Python call on a hit


# --- JSON values (args, auth_context) -------------------------------------


def _check_number(value: Any) -> Any:
    if type(value) is float or isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        raise parse_error(f"json: unsupported value: {value!r}")
    try:
        float(value)
    except OverflowError:
        raise parse_error(
            f"json: cannot unmarshal number {value} into Go value of type float64"
        ) from None
    return int(value)


def _norm_value(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return value.strip(GO_SPACE)
    if kind is dict:
        return normalize_json_object(value)
    if kind is list:
        return [_norm_value(item) for item in value]
    if value is None or kind is bool:
        return value
    if kind is int and -_DOUBLE_EXACT < value < _DOUBLE_EXACT:
        return value
    if kind is float and value - value == 0.0:
        return value
    # Less common shapes from library callers (subclasses, tuples, huge ints).
    if isinstance(value, str):
        return str(value).strip(GO_SPACE)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return _check_number(value)
    if isinstance(value, Mapping):
        return normalize_json_object(value)
    if isinstance(value, (list, tuple)):
        return [_norm_value(item) for item in value]
    raise parse_error(f"json: unsupported type: {type(value).__name__}")


def normalize_json_object(obj: Mapping[Any, Any]) -> dict[str, Any]:
    """§6.1: trim strings and keys recursively; an empty key is an error.

    Raises ``_Reject("args contains empty key")`` (callers add the prefix).
    When two keys trim to the same text the later one wins (the reference's
    result depends on Go map order there).
    """
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if type(key) is not str:
            if not isinstance(key, str):
                raise parse_error(f"json: unsupported object key type: {type(key).__name__}")
            key = str(key)
        name = key.strip(GO_SPACE)
        if not name:
            raise _Reject("args contains empty key")
        out[name] = value.strip(GO_SPACE) if type(value) is str else _norm_value(value)
    return out


def _norm_args(raw: Any, prefix: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return normalize_json_object(raw)
    except _Reject as err:
        raise _Reject(prefix + err.reason) from None


# --- targets and provenance -------------------------------------------------

# Agents repeat the same kinds of call: the target fields other than the value,
# the provenance entries and the context recur while paths and URLs change. Each
# normalized part is remembered per raw fields (bounded; the first _MEMO_LIMIT
# shapes seen), so a repeat skips the checks and inference. Anything unhashable
# (auth_context, scopes, hand-built oddities) takes the general path, as do
# invalid parts: only results of the general path are remembered.
_MEMO_LIMIT = 4096
_astuple = msgspec.structs.astuple
_replace = msgspec.structs.replace
_TARGET_MEMO: dict[tuple[Any, ...], tuple[Target, Callable[[str], str] | None]] = {}
# infer_endpoint_domain by kind, for a value already trimmed
_DOMAIN_OF: dict[str, Callable[[str], str]] = {"url": url_hostname, "host": host_domain}
_PROVENANCE_MEMO: dict[tuple[Any, ...], ArgProvenance] = {}
_CONTEXT_MEMO: dict[tuple[Any, ...], Context] = {}


def _norm_target(tool_name: str, raw: RawTarget | None) -> Target:
    if raw is None:
        raise _Reject("targets require kind and value")
    f = _astuple(raw)  # RawTarget field order; f[1] is the value
    # bools as "is True": the general path reads a hand-built 1 as false, and 1 == True
    key = (
        tool_name, f[0], f[2], f[3], f[4], f[5], f[6] is True, f[7],
        f[8] is True, f[9] is True, f[10] is True, f[11] is True,
    )  # fmt: skip
    try:
        hit = _TARGET_MEMO.get(key)
    except TypeError:  # unhashable field in a hand-built RawTarget
        return _norm_target_general(tool_name, raw)
    if hit is None:
        target = _norm_target_general(tool_name, raw)
        if len(_TARGET_MEMO) < _MEMO_LIMIT:
            declared = _tl(raw.endpoint_domain)
            # infer_endpoint_domain's function for the kind, applied on each hit
            infer = None if declared else _DOMAIN_OF.get(target.kind)
            _TARGET_MEMO[key] = (_replace(target, value="", endpoint_domain=declared), infer)
        return target
    template, infer = hit
    value = _v.strip(GO_SPACE) if (_v := f[1]) else ""
    if not value:
        raise _Reject("targets require kind and value")
    if infer is not None:
        return _replace(template, value=value, endpoint_domain=infer(value))
    return _replace(template, value=value)


def _norm_provenance_entry(raw: RawArgProvenance | None) -> ArgProvenance:
    if raw is None:
        raise _Reject("arg provenance requires arg_path and source")
    key = _astuple(raw)
    try:
        hit = _PROVENANCE_MEMO.get(key)
    except TypeError:
        return _norm_provenance_general(raw)
    if hit is None:
        hit = _norm_provenance_general(raw)
        if len(_PROVENANCE_MEMO) < _MEMO_LIMIT:
            _PROVENANCE_MEMO[key] = hit
    return hit


def _norm_context(raw: RawContext) -> Context:
    if (
        raw.auth_context is not None
        or raw.credential_scopes is not None
        or raw.context_refs is not None
    ):
        # a dict or list: unhashable, and a failed hash costs more than the general path
        return _norm_context_general(raw)
    key = _astuple(raw)
    request_id = key[6]
    if request_id:
        # often one per call: remembered without it (a 12-tuple, never equal to
        # a 13-field key) and set on each hit
        key = key[:6] + key[7:]
    try:
        hit = _CONTEXT_MEMO.get(key)
    except TypeError:  # an unhashable field in a hand-built RawContext
        return _norm_context_general(raw)
    if hit is None:
        context = _norm_context_general(raw)
        if len(_CONTEXT_MEMO) < _MEMO_LIMIT:
            _CONTEXT_MEMO[key] = _replace(context, request_id="") if request_id else context
        return context
    if request_id:
        return _replace(hit, request_id=request_id.strip(GO_SPACE))
    return hit


def _target_key(t: Target) -> tuple[Any, ...]:
    return (
        t.kind,
        t.value,
        t.operation,
        t.sensitivity,
        t.endpoint_class,
        t.endpoint_domain,
        t.destructive,
        t.discovery_method,
        t.read_only_hint,
        t.destructive_hint,
        t.idempotent_hint,
        t.open_world_hint,
    )


def dedup_sort_targets(targets: Iterable[Target]) -> tuple[Target, ...]:
    """Drop exact duplicates, then order by every field (false before true)."""
    unique: dict[tuple[Any, ...], Target] = {}
    for target in targets:
        unique.setdefault(_target_key(target), target)
    if len(unique) < 2:
        return tuple(unique.values())
    return tuple(unique[key] for key in sorted(unique))


def _norm_target_general(tool_name: str, raw: RawTarget | None) -> Target:
    if raw is None:
        raise _Reject("targets require kind and value")
    kind = (_tl_get(_v) or _tl(_v)) if (_v := raw.kind) else ""
    value = _v.strip(GO_SPACE) if (_v := raw.value) else ""
    operation = (_tl_get(_v) or _tl(_v)) if (_v := raw.operation) else ""
    endpoint_class = (_tl_get(_v) or _tl(_v)) if (_v := raw.endpoint_class) else ""
    endpoint_domain = (_tl_get(_v) or _tl(_v)) if (_v := raw.endpoint_domain) else ""
    if not kind or not value:
        raise _Reject("targets require kind and value")
    if kind not in TARGET_KINDS:
        raise _Reject(f"unsupported target kind: {kind}")
    if not endpoint_class:
        endpoint_class = infer_endpoint_class(kind, operation, tool_name)
    if endpoint_class not in ENDPOINT_CLASSES:
        raise _Reject(f"unsupported endpoint class: {endpoint_class}")
    if not endpoint_domain:
        endpoint_domain = infer_endpoint_domain(kind, value)
    discovery = (_tl_get(_v) or _tl(_v)) if (_v := raw.discovery_method) else ""
    if not discovery:
        discovery = "unknown"
    elif discovery not in DISCOVERY_METHODS:
        discovery = discovery.replace("-", "_").replace(" ", "_")
        if discovery not in DISCOVERY_METHODS:
            raise _Reject(f"unsupported discovery method: {discovery}")
    destructive_hint = raw.destructive_hint is True
    return Target(
        kind=kind,
        value=value,
        operation=operation,
        sensitivity=((_tl_get(_v) or _tl(_v)) if (_v := raw.sensitivity) else ""),
        endpoint_class=endpoint_class,
        endpoint_domain=endpoint_domain,
        destructive=raw.destructive is True
        or destructive_hint
        or infer_destructive(endpoint_class, operation),
        discovery_method=discovery,
        read_only_hint=raw.read_only_hint is True,
        destructive_hint=destructive_hint,
        idempotent_hint=raw.idempotent_hint is True,
        open_world_hint=raw.open_world_hint is True,
    )


def _norm_targets(tool_name: str, raw: list[RawTarget | None] | None) -> tuple[Target, ...]:
    if not raw:
        return ()
    if len(raw) == 1:
        return (_norm_target(tool_name, raw[0]),)
    return dedup_sort_targets([_norm_target(tool_name, item) for item in raw])


def dedup_sort_provenance(entries: Iterable[ArgProvenance]) -> tuple[ArgProvenance, ...]:
    """Drop exact duplicates, then order by (arg_path, source, source_ref, digest)."""
    unique: dict[tuple[str, str, str, str], ArgProvenance] = {}
    for entry in entries:
        key = (entry.arg_path, entry.source, entry.source_ref, entry.integrity_digest)
        unique.setdefault(key, entry)
    if len(unique) < 2:
        return tuple(unique.values())
    return tuple(unique[key] for key in sorted(unique))


def _norm_provenance_general(raw: RawArgProvenance | None) -> ArgProvenance:
    if raw is None:
        raise _Reject("arg provenance requires arg_path and source")
    arg_path = _v.strip(GO_SPACE) if (_v := raw.arg_path) else ""
    source = (_tl_get(_v) or _tl(_v)) if (_v := raw.source) else ""
    integrity = (_tl_get(_v) or _tl(_v)) if (_v := raw.integrity_digest) else ""
    if not arg_path or not source:
        raise _Reject("arg provenance requires arg_path and source")
    if source not in PROVENANCE_SOURCES:
        raise _Reject(f"unsupported provenance source: {source}")
    if integrity and not is_sha256_hex(integrity):
        raise _Reject(f"invalid provenance integrity_digest: {integrity}")
    return ArgProvenance(
        arg_path=arg_path,
        source=source,
        source_ref=(_v.strip(GO_SPACE) if (_v := raw.source_ref) else ""),
        integrity_digest=integrity,
    )


def _norm_provenance(raw: list[RawArgProvenance | None] | None) -> tuple[ArgProvenance, ...]:
    if not raw:
        return ()
    if len(raw) == 1:
        return (_norm_provenance_entry(raw[0]),)
    return dedup_sort_provenance([_norm_provenance_entry(item) for item in raw])


# --- skill provenance, context, delegation ---------------------------------


def _norm_skill(raw: RawSkillProvenance) -> SkillProvenance:
    skill_name = _v.strip(GO_SPACE) if (_v := raw.skill_name) else ""
    source = (_tl_get(_v) or _tl(_v)) if (_v := raw.source) else ""
    publisher = _v.strip(GO_SPACE) if (_v := raw.publisher) else ""
    if not skill_name or not source or not publisher:
        raise _Reject("skill provenance requires skill_name, source, and publisher")
    digest = (_tl_get(_v) or _tl(_v)) if (_v := raw.digest) else ""
    if digest and not is_sha256_hex(digest):
        raise _Reject(f"invalid skill provenance digest: {digest}")
    return SkillProvenance(
        skill_name=skill_name,
        skill_version=(_v.strip(GO_SPACE) if (_v := raw.skill_version) else ""),
        source=source,
        publisher=publisher,
        digest=digest,
        signature_key_id=(_v.strip(GO_SPACE) if (_v := raw.signature_key_id) else ""),
    )


def _norm_string_set(raw: list[str | None] | None) -> tuple[str, ...]:
    """Trim, drop empty, dedup, sort (byte order)."""
    if not raw:
        return ()
    values = {item.strip(GO_SPACE) for item in raw if item}
    values.discard("")
    return tuple(sorted(values))


def _norm_context_general(raw: RawContext) -> Context:
    identity = _v.strip(GO_SPACE) if (_v := raw.identity) else ""
    workspace = _v.strip(GO_SPACE) if (_v := raw.workspace) else ""
    risk_class = (_tl_get(_v) or _tl(_v)) if (_v := raw.risk_class) else ""
    if not identity:
        raise _Reject("context.identity is required")
    if not workspace:
        raise _Reject("context.workspace is required")
    if not risk_class:
        raise _Reject("context.risk_class is required")
    auth_context = raw.auth_context
    if auth_context:
        auth_context = _norm_args(auth_context, "normalize context.auth_context: ") or None
    else:
        auth_context = None
    context_set_digest = (_tl_get(_v) or _tl(_v)) if (_v := raw.context_set_digest) else ""
    if context_set_digest and not is_sha256_hex(context_set_digest):
        raise _Reject("context.context_set_digest must be sha256 hex")
    evidence_mode = (_tl_get(_v) or _tl(_v)) if (_v := raw.context_evidence_mode) else ""
    if evidence_mode not in _EVIDENCE_MODES:
        raise _Reject("context.context_evidence_mode must be best_effort or required")
    phase = ((_tl_get(_v) or _tl(_v)) if (_v := raw.phase) else "") or "apply"
    if phase != "apply" and phase != "plan":
        raise _Reject("context.phase must be plan or apply")
    return Context(
        identity=identity,
        workspace=workspace.replace("\\", "/"),
        risk_class=risk_class,
        phase=phase,
        job_id=(_v.strip(GO_SPACE) if (_v := raw.job_id) else ""),
        session_id=(_v.strip(GO_SPACE) if (_v := raw.session_id) else ""),
        request_id=(_v.strip(GO_SPACE) if (_v := raw.request_id) else ""),
        auth_context=auth_context,
        credential_scopes=_norm_string_set(_v) if (_v := raw.credential_scopes) else (),
        environment_fingerprint=(_v.strip(GO_SPACE) if (_v := raw.environment_fingerprint) else ""),
        context_set_digest=context_set_digest,
        context_evidence_mode=evidence_mode,
        context_refs=_norm_string_set(_v) if (_v := raw.context_refs) else (),
    )


def _expires_before(issued_at: str, expires_at: str) -> bool:
    """True when both times are set and expiry is not strictly after issue."""
    return bool(issued_at and expires_at) and time_sort_key(expires_at) <= time_sort_key(issued_at)


def _norm_delegation(raw: RawDelegation) -> Delegation:
    requester = _v.strip(GO_SPACE) if (_v := raw.requester_identity) else ""
    if not requester:
        raise _Reject("delegation.requester_identity is required")
    chain: list[DelegationLink] = []
    for index, link in enumerate(raw.chain or ()):
        if link is None:
            link = _EMPTY_LINK
        delegator = _v.strip(GO_SPACE) if (_v := link.delegator_identity) else ""
        delegate = _v.strip(GO_SPACE) if (_v := link.delegate_identity) else ""
        if not delegator or not delegate:
            raise _Reject(
                f"delegation.chain[{index}] requires delegator_identity and delegate_identity"
            )
        if index > 0 and chain[index - 1].delegate_identity != delegator:
            raise _Reject(
                f"delegation.chain[{index}] delegator_identity must match "
                f"delegation.chain[{index - 1}].delegate_identity"
            )
        issued_at = link.issued_at or ""
        expires_at = link.expires_at or ""
        if _expires_before(issued_at, expires_at):
            raise _Reject(f"delegation.chain[{index}] expires_at must be after issued_at")
        chain.append(
            DelegationLink(
                delegator_identity=delegator,
                delegate_identity=delegate,
                scope_class=((_tl_get(_v) or _tl(_v)) if (_v := link.scope_class) else ""),
                token_ref=(_v.strip(GO_SPACE) if (_v := link.token_ref) else ""),
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )
    issued_at = raw.issued_at or ""
    expires_at = raw.expires_at or ""
    if _expires_before(issued_at, expires_at):
        raise _Reject("delegation.expires_at must be after issued_at")
    if chain and chain[-1].delegate_identity != requester:
        raise _Reject(
            "delegation.chain last delegate_identity must match delegation.requester_identity"
        )
    return Delegation(
        requester_identity=requester,
        scope_class=((_tl_get(_v) or _tl(_v)) if (_v := raw.scope_class) else ""),
        token_refs=_norm_string_set(raw.token_refs),
        chain=tuple(chain),
        issued_at=issued_at,
        expires_at=expires_at,
    )


# --- scripts ---------------------------------------------------------------


def _norm_script(raw: RawScript) -> tuple[ScriptStep, ...]:
    steps_raw = raw.steps or ()
    if not steps_raw:
        raise _Reject("script.steps must not be empty")
    if len(steps_raw) > MAX_SCRIPT_STEPS:
        raise _Reject(f"script.steps exceeds max supported steps ({MAX_SCRIPT_STEPS})")
    steps: list[ScriptStep] = []
    for index, step in enumerate(steps_raw):
        if step is None:
            step = _EMPTY_STEP
        tool_name = (_tl_get(_v) or _tl(_v)) if (_v := step.tool_name) else ""
        if not tool_name:
            raise _Reject(f"script.steps[{index}].tool_name is required")
        args = _norm_args(step.args, f"normalize script.steps[{index}].args: ")
        try:
            targets = _norm_targets(tool_name, step.targets)
        except _Reject as err:
            raise _Reject(f"normalize script.steps[{index}].targets: {err.reason}") from None
        try:
            provenance = _norm_provenance(step.arg_provenance)
        except _Reject as err:
            raise _Reject(f"normalize script.steps[{index}].arg_provenance: {err.reason}") from None
        steps.append(
            ScriptStep(tool_name=tool_name, args=args, targets=targets, arg_provenance=provenance)
        )
    return tuple(steps)


# --- the intent ------------------------------------------------------------


def _normalize(raw: RawIntent) -> Intent:
    if raw.script is not None:
        return _normalize_script(raw)
    # A plain intent: _normalize_script's steps without the script, the one-entry
    # target and provenance lists (the usual case) and args without a call each.
    tool_name = (_tl_get(_v) or _tl(_v)) if (_v := raw.tool_name) else ""
    if not tool_name:
        raise _Reject("tool_name is required")
    if _v := raw.args:
        try:
            args = normalize_json_object(_v)
        except _Reject as err:
            raise _Reject("normalize args: " + err.reason) from None
    else:
        args = {}
    if not (_v := raw.targets):
        targets: tuple[Target, ...] = ()
    elif len(_v) == 1:
        targets = (_norm_target(tool_name, _v[0]),)
    else:
        targets = dedup_sort_targets([_norm_target(tool_name, item) for item in _v])
    if not (_v := raw.arg_provenance):
        provenance: tuple[ArgProvenance, ...] = ()
    elif len(_v) == 1:
        # a remembered entry is looked up here, without the call
        try:
            entry = _PROVENANCE_MEMO.get(_astuple(_v[0]))
        except TypeError:  # a null entry or unhashable fields: the function decides
            entry = None
        provenance = (entry or _norm_provenance_entry(_v[0]),)
    else:
        provenance = dedup_sort_provenance([_norm_provenance_entry(item) for item in _v])
    skill = _norm_skill(raw.skill_provenance) if raw.skill_provenance is not None else None
    context = _norm_context(raw.context or _EMPTY_CONTEXT)
    delegation = _norm_delegation(raw.delegation) if raw.delegation is not None else None
    return Intent(
        tool_name=tool_name,
        args=args,
        context=context,
        targets=targets,
        arg_provenance=provenance,
        skill_provenance=skill,
        delegation=delegation,
        relationship=dict(_v) if (_v := raw.relationship) else None,
        schema_id=raw.schema_id or "gait.gate.intent_request",
        schema_version=raw.schema_version or "1.0.0",
        created_at=raw.created_at or "",
        producer_version=raw.producer_version or "",
    )


def _normalize_script(raw: RawIntent) -> Intent:
    script_raw = raw.script
    steps = _norm_script(script_raw) if script_raw is not None else None
    tool_name = (
        "script"
        if steps is not None
        else ((_tl_get(_v) or _tl(_v)) if (_v := raw.tool_name) else "")
    )
    if not tool_name:
        raise _Reject("tool_name is required")
    args = _norm_args(raw.args, "normalize args: ")
    if steps is not None and not raw.targets:
        # §9: the steps' already-normalized targets, re-normalized as a whole
        # (a no-op per target: the inferred fields are kept), then dedup+sort.
        targets = dedup_sort_targets(t for step in steps for t in step.targets)
    else:
        targets = _norm_targets(tool_name, raw.targets)
    if steps is not None and not raw.arg_provenance:
        provenance = dedup_sort_provenance(p for step in steps for p in step.arg_provenance)
    else:
        provenance = _norm_provenance(raw.arg_provenance)
    skill = _norm_skill(raw.skill_provenance) if raw.skill_provenance is not None else None
    context = _norm_context(raw.context or _EMPTY_CONTEXT)
    delegation = _norm_delegation(raw.delegation) if raw.delegation is not None else None
    return Intent(
        tool_name=tool_name,
        args=args,
        context=context,
        targets=targets,
        arg_provenance=provenance,
        skill_provenance=skill,
        delegation=delegation,
        script=steps,
        script_hash=_script_hash(steps) if steps is not None else "",
        relationship=dict(raw.relationship) if raw.relationship else None,
        schema_id=raw.schema_id or "gait.gate.intent_request",
        schema_version=raw.schema_version or "1.0.0",
        created_at=raw.created_at or "",
        producer_version=raw.producer_version or "",
    )


def normalize_intent(raw: Mapping[str, Any]) -> Intent:
    """Normalize and validate one intent.

    ``raw`` is what :func:`decode_intent_bytes` returned (the fast path: no
    re-validation) or any JSON-like mapping, which is first bound with Go
    decoding rules. Raises ``IntentError("parse intent json: ...")`` for field
    type errors and ``IntentError("normalize intent: <msg>")`` for spec
    violations (bare message in ``err.details["reason"]``).
    """
    if type(raw) is BoundIntent:
        bound = raw.raw
    elif isinstance(raw, RawIntent):
        bound = raw
    else:
        bound = raw_from_mapping(raw)
    try:
        return _normalize(bound)
    except _Reject as err:
        hint = _typo_hint(err.reason, raw)
        raise IntentError(
            f"normalize intent: {err.reason}{hint}",
            details={"reason": err.reason, "stage": "normalize"},
        ) from None
    except RecursionError:
        raise parse_error("exceeded max depth") from None


def _typo_hint(reason: str, raw: Any) -> str:
    """`` (unknown key "tool_nme": did you mean "tool_name"?)`` for a missing field."""
    field = reason.removesuffix(" is required")
    if field == reason:
        return ""
    if type(raw) is BoundIntent:
        unknown = getattr(raw, "unknown", ())
    else:
        from gait.intent.decode import unknown_keys

        unknown = unknown_keys(raw)
    if not unknown:
        return ""
    import difflib

    close = difflib.get_close_matches(field, unknown, n=1, cutoff=0.6)
    if close:
        return f' (unknown key "{close[0]}": did you mean "{field}"?)'
    listed = ", ".join(f'"{key}"' for key in unknown[:5])
    return f" (unknown keys are ignored: {listed})"


def _script_hash(steps: tuple[ScriptStep, ...]) -> str:
    # Imported on use: digests (and the JCS library) stay off the plain-intent path.
    from gait.intent.digest import script_hash

    return script_hash(steps)
