"""``Gate``: one compiled policy with its signing key and stores, reused for many decisions.

This is what every long-lived surface builds once (``mcp serve``, ``mcp wrap``,
the SDK) and what one-shot commands build per call (``gate eval``, ``mcp proxy``).
The policy, the signing key, the state store and the credential broker are
resolved at construction, not per decision; ``reload`` swaps the compiled
policy atomically (a decision sees the old or the new table, never a mix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from gait.gate.pipeline import (
    Clock,
    FileTraceSink,
    GateCall,
    GateEnv,
    GateResult,
    SystemClock,
    TraceSink,
    check_settings,
    run_pipeline,
)
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy


class GateOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How decisions are enforced and signed. Names say what they are, not which flag set them."""

    profile: str = "standard"
    key_mode: str = "dev"
    private_key: str | None = None
    private_key_env: str | None = None
    # Shared state: None = the default local file, a path = that file, redis://host:port/db = Redis.
    state: str | None = None
    # Seconds a shared store may take before the call fails closed (None: the store's default).
    state_timeout: float | None = None
    # Approval tokens are single-use (replay-protected) by default with a shared store;
    # the local file store keeps the reference behaviour (reusable until expiry) unless set.
    single_use_approvals: bool | None = None
    approval_public_key: str | None = None
    approval_public_key_env: str | None = None
    approval_private_key: str | None = None
    approval_private_key_env: str | None = None
    delegation_public_key: str | None = None
    delegation_public_key_env: str | None = None
    delegation_private_key: str | None = None
    delegation_private_key_env: str | None = None
    credential_broker: str = "off"
    credential_env_prefix: str = "GAIT_BROKER_TOKEN_"
    credential_ref: str = ""
    credential_scopes: tuple[str, ...] = ()
    credential_command: str = ""
    credential_command_args: tuple[str, ...] = ()
    simulate: bool = False
    # Wrkr tool inventory JSON: per-tool context for the policy's context_* selectors.
    wrkr_inventory: str | None = None
    # Approved-script registry and the key its entries are verified with
    # (default: the approval verify key; in the standard profile, the signing key).
    approved_script_registry: str | None = None
    approved_script_public_key: str | None = None
    approved_script_public_key_env: str | None = None


class Gate:
    """A policy ready to decide: ``Gate(compiled, options).decide(intent) -> GateResult``.

    The I/O can be injected (``store``, ``broker``, ``sink``, ``clock``); by default
    they come from ``options``. ``option_names`` maps option names to how the
    caller spells them in error messages (a CLI passes its flag names).

    Errors: :class:`gait.errors.InvalidInput` for an invalid profile/key/broker/state
    configuration (raised at construction) or for an intent the pipeline cannot decide.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        options: GateOptions | None = None,
        *,
        signing_key: Any = None,
        key_warnings: Sequence[str] = (),
        store: Any = None,
        broker: Any = None,
        sink: TraceSink | None = None,
        clock: Clock | None = None,
        option_names: Mapping[str, str] | None = None,
    ) -> None:
        from gait.gate.approvals import VerifyKeySources
        from gait.gate.broker import CredentialBroker

        self._compiled = compiled
        o = self.options = options or GateOptions()
        names = option_names or {}
        check_settings(
            o.profile,
            simulate=o.simulate,
            key_mode=o.key_mode,
            private_key=o.private_key,
            private_key_env=o.private_key_env,
            names=names,
        )
        if broker is None:
            broker = CredentialBroker.configure(
                o.credential_broker,
                env_prefix=o.credential_env_prefix,
                command=o.credential_command,
                command_args=tuple(o.credential_command_args),
                names=names,
            )
        if signing_key is None:
            from gait.signing import resolve_signing_key

            signing_key, warnings = resolve_signing_key(
                o.key_mode, private_key=o.private_key, private_key_env=o.private_key_env
            )
            key_warnings = (*key_warnings, *warnings)
        if store is None:
            from gait.state import open_store

            store = open_store(o.state, timeout=o.state_timeout)
        single_use = o.single_use_approvals
        if single_use is None:
            single_use = bool(store.shared)
        self.signing_key = signing_key
        self.key_warnings = tuple(key_warnings)
        self.store = store
        self._env = GateEnv(
            signing_key=signing_key,
            store=store,
            broker=broker,
            profile=o.profile,
            simulate=o.simulate,
            verify_keys=VerifyKeySources(
                approval_public_key=o.approval_public_key,
                approval_public_key_env=o.approval_public_key_env,
                approval_private_key=o.approval_private_key,
                approval_private_key_env=o.approval_private_key_env,
                delegation_public_key=o.delegation_public_key,
                delegation_public_key_env=o.delegation_public_key_env,
                delegation_private_key=o.delegation_private_key,
                delegation_private_key_env=o.delegation_private_key_env,
            ),
            credential_ref=o.credential_ref,
            credential_scopes=tuple(o.credential_scopes),
            key_warnings=self.key_warnings,
            single_use_approvals=single_use,
            sink=sink or FileTraceSink(),
            clock=clock or SystemClock(),
            names=names,
            inventory=_inventory_source(o),
            script_registry=_registry_source(o, signing_key),
        )

    @classmethod
    def from_policy_file(cls, path: str, options: GateOptions | None = None) -> Gate:
        from gait.policy import compile_policy_file

        return cls(compile_policy_file(path), options)

    @property
    def compiled(self) -> CompiledPolicy:
        return self._compiled

    @property
    def env(self) -> GateEnv:
        """The pipeline's settings and I/O (read-only)."""
        return self._env

    def reload(self, compiled: CompiledPolicy) -> None:
        """Swap the policy; one attribute store, so a decision sees one table or the other."""
        self._compiled = compiled

    def state_health(self) -> tuple[bool, str]:
        """``(ok, detail)`` of the state store, for ``/healthz``; never raises."""
        try:
            return self.store.health()
        except Exception as err:
            return False, f"state store {self.store.location} unavailable: {err}"

    def close(self) -> None:
        """Release the state store's connections."""
        self.store.close()

    def decide(
        self,
        intent: Intent,
        *,
        trace_out: str | None = None,
        write_trace: bool = True,
        approval_tokens: Sequence[str | Mapping[str, Any]] = (),
        approval_token_ref: str = "",
        approval_audit_out: str | None = None,
        delegation_tokens: Sequence[str | Mapping[str, Any]] = (),
        delegation_audit_out: str | None = None,
        credential_evidence_out: str | None = None,
        correlation_id: str = "",
        now: str | None = None,
        context_envelope: Any = None,
    ) -> GateResult:
        """Evaluate, enforce (budgets, approvals, delegation, broker), sign and write the trace.

        Tokens are file paths or already-parsed token objects. ``context_envelope``
        is a verified :class:`gait.intent.envelope.ContextEnvelope` whose values
        replace the intent's context-evidence claims (trace.md §8).
        """
        call = GateCall(
            intent=intent,
            trace_out=trace_out,
            write_trace=write_trace,
            approval_tokens=tuple(approval_tokens),
            approval_token_ref=approval_token_ref,
            approval_audit_out=approval_audit_out,
            delegation_tokens=tuple(delegation_tokens),
            delegation_audit_out=delegation_audit_out,
            credential_evidence_out=credential_evidence_out,
            correlation_id=correlation_id,
            now=now,
            context_envelope=context_envelope,
        )
        return run_pipeline(self._env, self._compiled, call)


def _inventory_source(o: GateOptions) -> Any:
    if not (o.wrkr_inventory and o.wrkr_inventory.strip()):
        return None
    from gait.gate.inventory import InventorySource

    return InventorySource(o.wrkr_inventory.strip())


def _registry_source(o: GateOptions, signing_key: Any) -> Any:
    if not (o.approved_script_registry and o.approved_script_registry.strip()):
        return None
    from gait.gate.scripts_registry import RegistrySource

    def verify_key() -> Any:
        from gait.signing import KeyPair, resolve_verify_key

        own = (o.approved_script_public_key, o.approved_script_public_key_env)
        if any(v and v.strip() for v in own):
            return resolve_verify_key(public_key=own[0], public_key_env=own[1])
        approval = (
            o.approval_public_key,
            o.approval_public_key_env,
            o.approval_private_key,
            o.approval_private_key_env,
        )
        if any(v and v.strip() for v in approval):
            return resolve_verify_key(
                public_key=approval[0],
                public_key_env=approval[1],
                private_key=approval[2],
                private_key_env=approval[3],
            )
        if o.profile == "oss-prod":
            return None  # production never trusts entries without an explicit key
        return KeyPair(signing_key.public, None, signing_key.key_id, "derived")

    return RegistrySource(o.approved_script_registry.strip(), verify_key)
