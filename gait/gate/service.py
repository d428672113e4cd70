"""``Gate``: one compiled policy with its signing key and stores, reused for many decisions.

This is what every long-lived surface builds once (``mcp serve``, ``mcp wrap``,
the SDK) and what one-shot commands build per call (``gate eval``, ``mcp proxy``).
The policy and the signing key are resolved at construction, not per decision;
``reload`` swaps the compiled policy atomically (a decision sees the old or the
new table, never a mix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from gait.gate.pipeline import GateRequest, GateResult, check_profile, run_gate
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy


class GateOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How decisions are enforced and signed. Names say what they are, not which flag set them."""

    profile: str = "standard"
    key_mode: str = "dev"
    private_key: str | None = None
    private_key_env: str | None = None
    state: str | None = None  # local state file for budgets/rate limits (None: the default file)
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


class Gate:
    """A policy ready to decide: ``Gate(compiled, options).decide(intent) -> GateResult``.

    Errors: :class:`gait.errors.InvalidInput` for an invalid profile/key configuration
    (raised at construction) or for an intent the pipeline cannot decide.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        options: GateOptions | None = None,
        *,
        signing_key: Any = None,
        key_warnings: Sequence[str] = (),
    ) -> None:
        self._compiled = compiled
        self.options = options or GateOptions()
        check_profile(self._request(compiled, None))
        if signing_key is None:
            from gait.signing import resolve_signing_key

            signing_key, warnings = resolve_signing_key(
                self.options.key_mode,
                private_key=self.options.private_key,
                private_key_env=self.options.private_key_env,
            )
            key_warnings = (*key_warnings, *warnings)
        self.signing_key = signing_key
        self.key_warnings = tuple(key_warnings)

    @classmethod
    def from_policy_file(cls, path: str, options: GateOptions | None = None) -> Gate:
        from gait.policy import compile_policy_file

        return cls(compile_policy_file(path), options)

    @property
    def compiled(self) -> CompiledPolicy:
        return self._compiled

    def reload(self, compiled: CompiledPolicy) -> None:
        """Swap the policy; one attribute store, so a decision sees one table or the other."""
        self._compiled = compiled

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
    ) -> GateResult:
        """Evaluate, enforce (budgets, approvals, delegation, broker), sign and write the trace.

        Tokens are file paths or already-parsed token objects.
        """
        req = self._request(self._compiled, intent)
        req.trace_out = trace_out
        req.write_trace = write_trace
        req.approval_tokens = list(approval_tokens)  # type: ignore[arg-type]
        req.approval_token_ref = approval_token_ref
        req.approval_audit_out = approval_audit_out
        req.delegation_tokens = list(delegation_tokens)  # type: ignore[arg-type]
        req.delegation_audit_out = delegation_audit_out
        req.credential_evidence_out = credential_evidence_out
        req.correlation_id = correlation_id
        req.now = now
        req.signing_key = self.signing_key
        req.key_warnings = list(self.key_warnings)
        return run_gate(req)

    def _request(self, compiled: CompiledPolicy, intent: Intent | None) -> GateRequest:
        o = self.options
        return GateRequest(
            compiled=compiled,
            intent=intent,  # type: ignore[arg-type]
            profile=o.profile,
            simulate=o.simulate,
            key_mode=o.key_mode,
            private_key=o.private_key,
            private_key_env=o.private_key_env,
            approval_public_key=o.approval_public_key,
            approval_public_key_env=o.approval_public_key_env,
            approval_private_key=o.approval_private_key,
            approval_private_key_env=o.approval_private_key_env,
            delegation_public_key=o.delegation_public_key,
            delegation_public_key_env=o.delegation_public_key_env,
            delegation_private_key=o.delegation_private_key,
            delegation_private_key_env=o.delegation_private_key_env,
            rate_limit_state=o.state,
            credential_broker=o.credential_broker,
            credential_env_prefix=o.credential_env_prefix,
            credential_ref=o.credential_ref,
            credential_scopes=list(o.credential_scopes),
            credential_command=o.credential_command,
            credential_command_args=list(o.credential_command_args),
        )
