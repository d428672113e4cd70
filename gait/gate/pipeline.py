"""The gate pipeline: one enforced decision with its signed trace (trace.md §5.2).

Small steps over one :class:`DecisionState`, in the spec's order: evaluate →
rate limits / destructive budget → delegation tokens → approval tokens →
credential broker → simulate → signed trace and audit records.

The steps decide; they do no I/O of their own. The clock, signing key, state
store, credential broker and trace sink come in through :class:`GateEnv`, so
``gate eval``, ``mcp serve``, the MCP gateway and the SDK all run the same
steps, and tests swap any of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from gait.engine import Decision, evaluate
from gait.errors import InvalidInput, StateUnavailable
from gait.gate.choices import PROFILES
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy

if TYPE_CHECKING:
    from gait.engine.flow import FlowHistory
    from gait.gate.approvals import VerifyKeySources
    from gait.gate.broker import Credential, CredentialBroker
    from gait.gate.inventory import InventorySource, WrkrInventory
    from gait.gate.scripts_registry import RegistrySource
    from gait.signing import KeyPair
    from gait.state import StateStore

SIMULATE_REASON = "simulate_mode_non_enforcing"
STATE_UNAVAILABLE = "state_unavailable"


# ---- injected I/O -------------------------------------------------------------------------


class Clock(Protocol):
    def now_rfc3339(self) -> str: ...

    def utcnow(self) -> datetime: ...

    def perf(self) -> float: ...


class SystemClock:
    """The wall clock (UTC, nanosecond text) and a monotonic timer for latency."""

    def now_rfc3339(self) -> str:
        from gait.signing import now_rfc3339

        return now_rfc3339()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    def perf(self) -> float:
        return time.perf_counter()


class TraceSink(Protocol):
    def write_trace(self, path: str, record: dict[str, Any]) -> str: ...

    def write_record(self, path: str, record: dict[str, Any]) -> str: ...


class FileTraceSink:
    """Traces and records as files (atomic, 0600); relative paths resolve against the cwd.

    ``keep_existing`` is set for default names: an earlier file is never replaced.
    """

    # Sinks that declare this get keep_existing=True for names gait picked itself.
    keeps_existing = True

    def write_trace(self, path: str, record: dict[str, Any], *, keep_existing: bool = False) -> str:
        from gait.trace import write_trace

        return write_trace(path, record, keep_existing=keep_existing)

    def write_record(
        self, path: str, record: dict[str, Any], *, keep_existing: bool = False
    ) -> str:
        from gait.trace import write_json_record

        return write_json_record(path, record, keep_existing=keep_existing)


def option_name(names: Mapping[str, str], key: str) -> str:
    """How the caller spells an option in messages (a CLI passes its flags)."""
    return names.get(key, key)


class FlagNames(dict[str, str]):
    """Option names rendered as CLI flags: ``key_mode`` → ``--key-mode``."""

    def get(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return "--" + key.replace("_", "-")

    def __bool__(self) -> bool:  # an empty mapping that still names every option
        return True


class GateEnv(msgspec.Struct, frozen=True):
    """Everything fixed for a run of decisions: settings plus the I/O the steps use."""

    signing_key: KeyPair
    store: StateStore
    broker: CredentialBroker
    profile: str = "standard"
    simulate: bool = False
    verify_keys: VerifyKeySources | None = None
    credential_ref: str = ""
    credential_scopes: tuple[str, ...] = ()
    key_warnings: tuple[str, ...] = ()
    single_use_approvals: bool = False
    sink: TraceSink = msgspec.field(default_factory=FileTraceSink)
    clock: Clock = msgspec.field(default_factory=SystemClock)
    names: Mapping[str, str] = msgspec.field(default_factory=dict)
    inventory: InventorySource | None = None  # wrkr tool inventory (§5.2 step 4)
    script_registry: RegistrySource | None = None  # approved-script registry (§7)


class GateCall(msgspec.Struct, frozen=True):
    """The inputs of one decision."""

    intent: Intent
    trace_out: str | None = None
    write_trace: bool = True
    approval_tokens: tuple[Any, ...] = ()
    approval_token_ref: str = ""
    approval_audit_out: str | None = None
    delegation_tokens: tuple[Any, ...] = ()
    delegation_audit_out: str | None = None
    credential_evidence_out: str | None = None
    correlation_id: str = ""
    now: str | None = None  # RFC 3339 override for token expiry checks
    context_envelope: Any = None  # verified gait.intent.envelope.ContextEnvelope (trace.md §8)


# ---- results ----------------------------------------------------------------------------


class GateResult(msgspec.Struct):
    decision: Decision
    verdict: str
    reason_codes: list[str]
    violations: list[str]
    trace_id: str = ""
    trace_path: str = ""
    trace: dict[str, Any] | None = None
    warnings: list[str] = msgspec.field(default_factory=list)
    simulated_verdict: str = ""
    simulated_reason_codes: list[str] = msgspec.field(default_factory=list)
    would_have_blocked: bool = False
    outputs: dict[str, Any] = msgspec.field(default_factory=dict)
    flow_history: FlowHistory | None = None  # what flow rules saw (for --why); None = not read

    @property
    def exit_code(self) -> int:
        return {"block": 3, "require_approval": 4}.get(self.verdict, 0)

    def to_payload(self, profile: str) -> dict[str, Any]:
        """The JSON object of trace.md §5.5 (empty optional fields omitted)."""
        d = self.decision
        intent = d.intent
        out: dict[str, Any] = {
            "ok": True,
            "profile": profile,
            "verdict": self.verdict,
            "trace_id": self.trace_id,
            "trace_path": self.trace_path,
            "policy_digest": d.policy_digest,
            "intent_digest": d.intent_digest,
            "phase": intent.context.phase if intent is not None else "apply",
        }
        optional: dict[str, Any] = {
            "reason_codes": self.reason_codes,
            "violations": self.violations,
            "matched_rule": d.matched_rule,
            "warnings": sorted(set(self.warnings)),
            "simulate_mode": bool(self.simulated_verdict),
            "would_have_blocked": self.would_have_blocked,
            "simulated_verdict": self.simulated_verdict,
            "simulated_reason_codes": self.simulated_reason_codes,
        }
        if intent is not None:
            ctx = intent.context
            optional["context_set_digest"] = ctx.context_set_digest
            optional["context_evidence_mode"] = ctx.context_evidence_mode
            optional["context_ref_count"] = len(ctx.context_refs)
            if intent.script is not None:
                optional["script"] = True
                optional["step_count"] = len(intent.script)
                optional["script_hash"] = intent.script_hash
                optional["composite_risk_class"] = d.composite_risk_class
                optional["step_verdicts"] = [s.to_dict() for s in d.step_verdicts]
        optional.update(self.outputs)
        for key, value in optional.items():
            if value or (key.endswith("_remaining") and key in self.outputs):
                out[key] = value
        return out


class DecisionState(msgspec.Struct):
    """The one mutable object the steps pass along."""

    compiled: CompiledPolicy
    call: GateCall
    decision: Decision
    intent: Intent
    verdict: str
    now: str
    latency_ms: float
    reasons: set[str] = msgspec.field(default_factory=set)
    violations: set[str] = msgspec.field(default_factory=set)
    outputs: dict[str, Any] = msgspec.field(default_factory=dict)
    warnings: list[str] = msgspec.field(default_factory=list)
    audit_docs: list[tuple[str, str, dict[str, Any]]] = msgspec.field(default_factory=list)
    approval_ref: str = ""
    delegation_ref: dict[str, Any] | None = None
    binding: str = ""
    credential: Credential | None = None
    simulated_verdict: str = ""
    simulated_reason_codes: list[str] = msgspec.field(default_factory=list)
    would_have_blocked: bool = False
    flow_history: FlowHistory | None = None

    def fail(self, reason: str, violation: str = "") -> None:
        """Block with ``reason`` (and ``violation``, default the same code)."""
        self.verdict = "block"
        self.reasons.add(reason)
        self.violations.add(violation or reason)

    def state_unavailable(self, err: StateUnavailable) -> None:
        self.fail(STATE_UNAVAILABLE)
        self.warnings.append(str(err))


# ---- configuration checks (library wording; callers pass their own option names) ---------


def check_settings(
    profile: str,
    *,
    simulate: bool,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Profile rules of trace.md §5.2 step 1. Errors: InvalidInput naming the option."""
    n = names or {}
    if profile not in PROFILES:
        raise InvalidInput(
            f'unsupported {option_name(n, "profile")} value "{profile}" '
            "(expected standard or oss-prod)"
        )
    if profile == "oss-prod":
        if simulate:
            raise InvalidInput(f"oss-prod profile does not allow {option_name(n, 'simulate')}")
        if key_mode != "prod":
            raise InvalidInput(f"oss-prod profile requires {option_name(n, 'key_mode')} prod")
        if not (private_key or private_key_env):
            raise InvalidInput(
                f"oss-prod profile requires {option_name(n, 'private_key')} or "
                f"{option_name(n, 'private_key_env')}"
            )


def check_prod_policy(env: GateEnv, compiled: CompiledPolicy) -> None:
    """oss-prod: high-risk allow/approval rules must require a broker credential, and one must be configured."""
    if env.profile != "oss-prod":
        return
    risky = [
        r
        for r in compiled.policy.rules
        if r.effect != "block" and {"high", "critical"} & set(r.match.risk_classes)
    ]
    if any(not r.require_broker_credential for r in risky):
        raise InvalidInput(
            "oss-prod profile requires high-risk allow/approval rules to set require_broker_credential: true"
        )
    if risky and env.broker.name == "off":
        raise InvalidInput(
            f"oss-prod profile requires {option_name(env.names, 'credential_broker')} "
            "for high-risk policies"
        )


# ---- steps --------------------------------------------------------------------------------


def evaluate_step(env: GateEnv, compiled: CompiledPolicy, call: GateCall) -> DecisionState:
    from gait.intent.prepare import prepare_intent

    warnings = list(env.key_warnings)
    inventory = load_inventory_input(env, call.intent, warnings)  # §5.2 step 4
    check_prod_policy(env, compiled)  # step 5
    now = call.now or env.clock.now_rfc3339()
    intent_in, outputs = call.intent, {}
    sources: set[str] = set()
    if call.context_envelope is not None:
        # Verified evidence replaces the intent's claims (a differing claim is exit 6);
        # without an envelope the claims are stripped by prepare.
        from gait.intent.envelope import CONTEXT_SOURCE, apply_envelope

        intent_in = apply_envelope(call.intent, call.context_envelope, now=now)
        sources.add(CONTEXT_SOURCE)
    elif isinstance(intent_in, Intent):
        intent_in = prepare_intent(intent_in)
    started = env.clock.perf()
    decision = approved_script_step(env, compiled, intent_in, now, warnings, outputs)  # step 6
    history = None
    if decision is None:
        enrich = None
        applied: list[bool] = []
        if inventory is not None:
            apply = inventory.apply

            def enrich(i: Intent) -> Intent:
                out = apply(i)
                if out is not i:
                    applied.append(True)
                return out

        prepare = not isinstance(intent_in, Intent)
        history = read_flow_history(env, compiled, intent_in, now, warnings)
        decision = evaluate(compiled, intent_in, prepare=prepare, enrich=enrich, history=history)
        if applied and inventory is not None:
            sources.add(inventory.path)
    latency_ms = (env.clock.perf() - started) * 1000.0
    intent = decision.intent
    if intent is None:
        raise InvalidInput("intent could not be evaluated")
    if sources:
        outputs["context_source"] = ",".join(sorted(sources))
    return DecisionState(
        outputs=outputs,
        compiled=compiled,
        call=call,
        decision=decision,
        intent=intent,
        verdict=decision.verdict,
        now=now,
        latency_ms=latency_ms,
        reasons=set(decision.reason_codes),
        violations=set(decision.violations),
        approval_ref=call.approval_token_ref.strip(),
        warnings=warnings,
        flow_history=history,
    )


def _session_id(intent: Any) -> str:
    if isinstance(intent, Intent):
        return intent.context.session_id.strip()
    ctx = intent.get("context") if isinstance(intent, Mapping) else None
    sid = ctx.get("session_id") if isinstance(ctx, Mapping) else None
    return sid.strip() if isinstance(sid, str) else ""


def _now_ns(now: str) -> int:
    from gait.signing import parse_rfc3339

    secs, nanos = parse_rfc3339(now)
    return secs * 1_000_000_000 + nanos


def read_flow_history(
    env: GateEnv, compiled: CompiledPolicy, intent: Any, now: str, warnings: list[str]
) -> FlowHistory | None:
    """The session's earlier calls, when the policy has flow rules (docs/flow-rules.md).

    No session id: ``flow_history_unavailable``; a store that cannot answer:
    ``state_unavailable``. Either way the flow rules that would apply block.
    """
    if not compiled.ir.flow_rows:
        return None
    from gait.engine.flow import HISTORY_UNAVAILABLE, FlowHistory, calls_from_journal

    session = _session_id(intent)
    if not session:
        return FlowHistory.unavailable(HISTORY_UNAVAILABLE)
    try:
        entries = env.store.journal_read(session, limit=env.store.journal_max)
        calls = calls_from_journal(entries)
    except StateUnavailable as err:
        warnings.append(str(err))
        return FlowHistory.unavailable(STATE_UNAVAILABLE)
    except InvalidInput as err:
        warnings.append(f"flow history: {err}")
        return FlowHistory.unavailable(HISTORY_UNAVAILABLE)
    # A full read may have lost older calls to the journal cap; say from when it is complete.
    since = min((c.at_ns for c in calls), default=0) if len(entries) >= env.store.journal_max else 0
    return FlowHistory(calls=calls, now_ns=_now_ns(now), complete_since_ns=since)


def record_flow_call(env: GateEnv, st: DecisionState, result: GateResult) -> None:
    """Append an allowed call to its session journal, as history for later flow rules.

    Only calls that were let through ran, so only they are history; nothing is
    journaled for policies without flow rules.
    """
    if not st.compiled.ir.flow_rows or result.verdict != "allow" or result.trace is None:
        return
    session = st.intent.context.session_id.strip()
    if not session:
        return
    from gait.engine.flow import flow_call, journal_entry

    call = flow_call(
        st.intent,
        call_id=str(result.trace.get("event_id") or result.trace_id),
        verdict=result.verdict,
        at_ns=_now_ns(st.now),
    )
    try:
        env.store.journal_append(session, journal_entry(call))
    except (StateUnavailable, InvalidInput, OSError) as err:
        result.warnings.append(f"flow history not recorded: {err}")


INVENTORY_WARNING = "wrkr inventory unavailable; continuing without context enrichment"
REGISTRY_WARNING = "approved script registry unavailable; continuing without fast-path pre-approval"
REGISTRY_SKIPPED = "approved script fast path skipped: the policy requires context evidence"


def load_inventory_input(env: GateEnv, intent: Any, warnings: list[str]) -> WrkrInventory | None:
    """The wrkr inventory for this call; unavailable → exit 3 when failing closed, else a warning."""
    if env.inventory is None:
        return None
    from gait.errors import GaitError
    from gait.gate.inventory import InputUnavailable, fail_closed_for

    try:
        return env.inventory.load()
    except GaitError as err:
        if fail_closed_for(env.profile, _risk_class(intent)):
            raise InputUnavailable(
                f"wrkr inventory unavailable in fail-closed mode: {err.message}"
            ) from err
        warnings += [INVENTORY_WARNING, f"wrkr inventory: {err.message}"]
        return None


def _risk_class(intent: Any) -> str:
    if isinstance(intent, Intent):
        return intent.context.risk_class
    from gait.intent.decode import raw_risk_class

    return raw_risk_class(intent)


def approved_script_step(
    env: GateEnv,
    compiled: CompiledPolicy,
    intent: Any,
    now: str,
    warnings: list[str],
    outputs: dict[str, Any],
) -> Decision | None:
    """Approved-script fast path (§7): the pre-approved decision for a matching script, else None."""
    source = env.script_registry
    if source is None:
        return None
    from gait.errors import GaitError
    from gait.gate import scripts_registry as registry
    from gait.gate.inventory import InputUnavailable, fail_closed_for
    from gait.signing import parse_rfc3339

    key = source.verify_key()  # a broken key source is invalid input (exit 6)
    try:
        if key is None:
            raise registry.KeyMissing("approved-script verify key not configured")
        entries = source.entries(key)
    except GaitError as err:
        if fail_closed_for(env.profile, _risk_class(intent)):
            raise InputUnavailable(
                f"approved script registry unavailable in fail-closed mode: {err.message}"
            ) from err
        warnings += [REGISTRY_WARNING, f"approved script registry: {err.message}"]
        return None
    if not isinstance(intent, Intent) or intent.script is None:
        return None  # scripts only (a raw mapping is decided by evaluate, no fast path)
    if registry.policy_requires_context_evidence(compiled):
        warnings.append(REGISTRY_SKIPPED)
        return None
    seconds, nanos = parse_rfc3339(now)
    match = registry.match_script(
        intent, compiled.policy_digest, entries, seconds * 1_000_000_000 + nanos
    )
    outputs["registry_reason"] = match.reason
    if not match.matched:
        return None
    outputs["pre_approved"] = True
    outputs["pattern_id"] = match.pattern_id
    return registry.pre_approved_decision(intent, compiled.policy_digest)


def spend_budgets(env: GateEnv, st: DecisionState) -> None:
    """Rate limit and destructive budget (§5.4), counted even when already blocked.

    An unreachable shared store blocks with ``state_unavailable`` (fail closed).
    """
    d, intent = st.decision, st.intent
    if d.rate_limit is None and d.destructive_budget is None:
        return
    identity = intent.context.identity
    namespace = f"{d.policy_digest}:{d.matched_rule or 'default'}"
    now = env.clock.utcnow()
    spends: list[tuple[str, Any, str]] = []
    if d.rate_limit is not None:
        spends.append(("rate_limit", d.rate_limit, intent.tool_name))
    if d.destructive_budget is not None and any(t.destructive for t in intent.targets):
        spends.append(
            ("destructive_budget", d.destructive_budget, f"destructive_budget|{intent.tool_name}")
        )
    for kind, limit, tool_name in spends:
        try:
            use = env.store.spend(
                limit, tool_name=tool_name, identity=identity, now=now, namespace=namespace
            )
        except StateUnavailable as err:
            st.state_unavailable(err)
            return
        st.outputs.update(
            {
                f"{kind}_scope": use.scope,
                f"{kind}_key": use.key,
                f"{kind}_used": use.used,
                f"{kind}_remaining": use.remaining,
            }
        )
        if not use.allowed:
            st.fail(f"{kind}_exceeded")


def check_delegation(env: GateEnv, st: DecisionState) -> None:
    """Delegation tokens (§6.3) and the trace's delegation reference."""
    from gait.intent import delegation_digest

    intent, d = st.intent, st.decision
    st.binding = delegation_digest(intent) if intent.delegation is not None else ""
    if d.require_delegation and intent.delegation is not None:
        from gait.gate.delegation import enforce_delegation

        outcome = enforce_delegation(
            st.call.delegation_tokens,
            lambda: _verify_keys(env).delegation_key(env.signing_key, env.profile, env.names),
            d,
            intent,
            st.now,
        )
        st.reasons.update(outcome.reason_codes)
        st.violations.update(outcome.violations)
        if not outcome.granted:
            st.verdict = "block"
        st.outputs["delegation_required"] = True
        st.outputs["valid_delegations"] = outcome.valid_count
        if outcome.ref:
            st.outputs["delegation_ref"] = outcome.ref
        st.audit_docs.append(("delegation", st.call.delegation_audit_out or "", outcome.audit))
    if intent.delegation is not None:
        dg = intent.delegation
        ref = {
            "delegation_token_ref": st.outputs.get("delegation_ref", "")
            or (dg.token_refs[0] if dg.token_refs else ""),
            "requester_identity": dg.requester_identity,
            "delegation_depth": len(dg.chain),
            "scope_class": dg.scope_class,
            "chain_digest": st.binding,
            "reason_codes": sorted(r for r in st.reasons if r.startswith("delegation_")),
        }
        st.delegation_ref = {k: v for k, v in ref.items() if v not in ("", [], None)}


def _approval_scope(intent: Intent) -> list[str]:
    scope = {f"tool:{intent.tool_name}"}
    if intent.context.phase == "apply" and any(t.destructive for t in intent.targets):
        scope |= {"destructive:apply", "phase:apply"}
    return sorted(scope)


def _counts(intent: Intent) -> tuple[int, int]:
    if intent.script is not None:
        step_targets = sum(len(s.targets) for s in intent.script)
        return (step_targets or len(intent.targets)), len(intent.script)
    return len(intent.targets), max(len(intent.targets), 1)


def _verify_keys(env: GateEnv) -> VerifyKeySources:
    from gait.gate.approvals import VerifyKeySources

    return env.verify_keys or VerifyKeySources()


def check_approvals(env: GateEnv, st: DecisionState) -> None:
    """Approval tokens for ``require_approval`` (§5.3); single-use when the env says so."""
    if st.verdict != "require_approval":
        return
    from gait.gate.approvals import consume_approvals

    target_count, op_count = _counts(st.intent)
    claim: Callable[..., set[str]] | None = None
    if env.single_use_approvals and not env.simulate:
        claim = env.store.claim_tokens
    outcome = consume_approvals(
        st.call.approval_tokens,
        lambda: _verify_keys(env).approval_key(env.signing_key, env.profile, env.names),
        st.decision,
        intent_digest=st.decision.intent_digest,
        policy_digest=st.decision.policy_digest,
        binding=st.binding,
        required_scope=_approval_scope(st.intent),
        target_count=target_count,
        op_count=op_count,
        now=st.now,
        claim=claim,
    )
    st.reasons.update(outcome.reason_codes)
    st.violations.update(outcome.violations)
    st.outputs["required_approvals"] = outcome.required
    st.outputs["valid_approvals"] = outcome.valid_count
    if outcome.state_error is not None:
        st.state_unavailable(outcome.state_error)
    elif outcome.granted:
        st.verdict = "allow"
        st.approval_ref = outcome.ref
        st.outputs["approval_ref"] = outcome.ref
    if outcome.audit is not None:
        st.audit_docs.append(("approval", st.call.approval_audit_out or "", outcome.audit))


def _broker_scope(env: GateEnv, d: Decision) -> list[str]:
    return sorted({*d.broker_scopes, *(s.lower() for s in env.credential_scopes)})


def issue_credential(env: GateEnv, st: DecisionState) -> None:
    """Credential broker (§5.6): only for an allowed call whose rule requires a credential."""
    from gait.gate import broker as brokers

    d = st.decision
    if not (d.require_broker_credential and st.verdict == "allow"):
        return
    if env.broker.name == "off":
        st.fail("broker_credential_required", "broker_credential_missing")
        return
    if env.broker.name == "stub" and env.profile == "oss-prod":
        # A stub credential is not a credential: production never accepts it.
        st.fail("broker_credential_missing")
        st.warnings.append("oss-prod profile does not accept stub broker credentials")
        return
    ctx = st.intent.context
    request = brokers.BrokerRequest(
        tool_name=st.intent.tool_name.lower(),
        identity=ctx.identity,
        workspace=ctx.workspace,
        session_id=ctx.session_id,
        request_id=ctx.request_id,
        reference=env.credential_ref.strip() or d.broker_reference,
        scope=tuple(_broker_scope(env, d)),
    )
    try:
        st.credential = env.broker.issue(request)
    except brokers.BrokerFailure as err:
        st.fail("broker_credential_missing")
        st.warnings.append(f"credential broker: {err}")
        return
    st.reasons.add("broker_credential_present")
    st.outputs["credential_issuer"] = st.credential.issued_by
    st.outputs["credential_ref"] = st.credential.credential_ref


def apply_simulate(env: GateEnv, st: DecisionState) -> None:
    """Simulate (§5.7): report what enforcement decided, then allow."""
    if not env.simulate:
        return
    st.simulated_verdict = st.verdict
    st.simulated_reason_codes = sorted(st.reasons)
    st.reasons.add(SIMULATE_REASON)
    if st.verdict in ("block", "require_approval"):
        st.would_have_blocked = True
        st.reasons.add(f"simulated_{st.verdict}")
        st.violations = set()
        st.verdict = "allow"


def sign_and_record(env: GateEnv, st: DecisionState) -> GateResult:
    """Sign the trace and hand it (and the audit / evidence records) to the sink."""
    from gait.intent import args_digest
    from gait.trace import default_trace_path
    from gait.trace.record import build_trace_record, sign_built_trace

    d, intent, call = st.decision, st.intent, st.call
    result = GateResult(
        d,
        st.verdict,
        sorted(st.reasons),
        sorted(st.violations),
        warnings=list(st.warnings),
        simulated_verdict=st.simulated_verdict,
        simulated_reason_codes=st.simulated_reason_codes,
        would_have_blocked=st.would_have_blocked,
    )
    ctx = intent.context
    record = build_trace_record(
        policy_digest=d.policy_digest,
        intent_digest=d.intent_digest,
        args_digest=args_digest(intent),
        tool_name=intent.tool_name,
        verdict=st.verdict,
        created_at=d.created_at,
        correlation_id=call.correlation_id,
        policy_id=st.compiled.ir.schema_id,
        policy_version=st.compiled.ir.schema_version,
        violations=result.violations,
        context_set_digest=ctx.context_set_digest,
        context_evidence_mode=ctx.context_evidence_mode,
        context_ref_count=len(ctx.context_refs),
        context_source=str(st.outputs.get("context_source") or ""),
        pre_approved=bool(st.outputs.get("pre_approved")),
        pattern_id=str(st.outputs.get("pattern_id") or ""),
        registry_reason=str(st.outputs.get("registry_reason") or ""),
        script=intent.script is not None,
        step_count=len(intent.script or ()),
        script_hash=intent.script_hash,
        composite_risk_class=d.composite_risk_class,
        step_verdicts=[s.to_dict() for s in d.step_verdicts],
        latency_ms=round(st.latency_ms, 3),
        approval_token_ref=st.approval_ref,
        delegation_ref=st.delegation_ref,
        skill_provenance=intent.skill_provenance,
        flow_refs=d.flow_refs,
    )
    signed = sign_built_trace(record, env.signing_key)
    result.trace = signed
    trace_id = signed["trace_id"]
    result.trace_id = trace_id
    outputs = st.outputs
    if call.write_trace:
        # Names gait picks itself never replace an earlier file (explicit paths do).
        fresh = getattr(env.sink, "keeps_existing", False)

        def keep(explicit: str | None) -> dict[str, bool]:
            return {"keep_existing": True} if fresh and not explicit else {}

        result.trace_path = env.sink.write_trace(
            call.trace_out or default_trace_path(trace_id), signed, **keep(call.trace_out)
        )
        for kind, out_path, doc in st.audit_docs:
            doc = {**doc, "trace_id": trace_id}
            outputs[f"{kind}_audit_path"] = env.sink.write_record(
                out_path or f"{kind}_audit_{trace_id}.json", _ordered_audit(doc), **keep(out_path)
            )
        if st.credential is not None:
            evidence = _credential_record(env, st, trace_id)
            outputs["credential_evidence_path"] = env.sink.write_record(
                call.credential_evidence_out or f"credential_evidence_{trace_id}.json",
                evidence,
                **keep(call.credential_evidence_out),
            )
    result.outputs = outputs
    return result


STEPS: tuple[Callable[[GateEnv, DecisionState], None], ...] = (
    spend_budgets,
    check_delegation,
    check_approvals,
    issue_credential,
    apply_simulate,
)


def run_pipeline(env: GateEnv, compiled: CompiledPolicy, call: GateCall) -> GateResult:
    """Evaluate, enforce, simulate, sign and record one call."""
    st = evaluate_step(env, compiled, call)
    for step in STEPS:
        step(env, st)
    if st.decision.flow_refs:
        st.outputs["flow_refs"] = list(st.decision.flow_refs)
    result = sign_and_record(env, st)
    result.flow_history = st.flow_history
    record_flow_call(env, st, result)
    return result


_AUDIT_ORDER = (
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "trace_id",
    "tool_name",
    "intent_digest",
    "policy_digest",
)


def _ordered_audit(doc: dict[str, Any]) -> dict[str, Any]:
    head = {k: doc[k] for k in _AUDIT_ORDER if k in doc}
    return {**head, **{k: v for k, v in doc.items() if k not in head}}


def _credential_record(env: GateEnv, st: DecisionState, trace_id: str) -> dict[str, Any]:
    from gait.gate.broker import credential_record

    cred, d, intent = st.credential, st.decision, st.intent
    assert cred is not None
    return credential_record(
        cred,
        created_at=env.clock.now_rfc3339(),
        trace_id=trace_id,
        tool_name=intent.tool_name,
        identity=intent.context.identity,
        broker=env.broker.name,
        reference=env.credential_ref.strip() or d.broker_reference,
        scope=_broker_scope(env, d),
    )
