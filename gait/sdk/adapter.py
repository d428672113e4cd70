"""``ToolAdapter``: gate a tool call, run it only on ``allow``, record it (serve_sdk.md §4).

Fail closed on every path: any exception raised while deciding (bad intent,
unreadable policy or key, service down) becomes a ``block`` decision with
reason ``gate_error`` and :class:`GateEnforcementError`; the executor is never
called unless the verdict is ``allow``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gait.gate import GateOptions
from gait.sdk.client import HttpGate, LocalGate, decide_with_paths, local_gate
from gait.sdk.errors import GateEnforcementError
from gait.sdk.intents import IntentRequest, intent_request
from gait.sdk.result import AdapterOutcome, GateEvalResult

if TYPE_CHECKING:
    from gait.sdk.session import RunSession

__all__ = ["Attempt", "ToolAdapter"]


class ToolAdapter:
    """One policy (in process) or one ``mcp serve`` endpoint, used for many tool calls.

    In process: ``ToolAdapter("policy.yaml", key_mode=..., ...)``; the policy is
    compiled and the key resolved on first use and reused. Over HTTP:
    ``ToolAdapter(server_url="http://127.0.0.1:8787", server_token=...)``.

    ``write_trace=False`` skips trace signing and writing for stateless
    decisions (the fast path); inside a :func:`run_session` every step is
    traced regardless, because the runpack receipt points at the trace.
    """

    def __init__(
        self,
        policy_path: str | os.PathLike[str] | None = None,
        key_mode: str = "dev",
        *,
        private_key: str | None = None,
        private_key_env: str | None = None,
        approval_public_key: str | None = None,
        approval_public_key_env: str | None = None,
        approval_private_key: str | None = None,
        approval_private_key_env: str | None = None,
        approval_token: str | Mapping[str, Any] | None = None,
        approval_token_chain: Sequence[str | Mapping[str, Any]] = (),
        delegation_public_key: str | None = None,
        delegation_public_key_env: str | None = None,
        delegation_private_key: str | None = None,
        delegation_private_key_env: str | None = None,
        delegation_token: str | Mapping[str, Any] | None = None,
        delegation_token_chain: Sequence[str | Mapping[str, Any]] = (),
        profile: str = "standard",
        state: str | None = None,
        write_trace: bool = True,
        trace_dir: str | None = None,
        server_url: str | None = None,
        server_token: str | None = None,
        timeout: float = 30.0,
        gate: LocalGate | HttpGate | None = None,
    ) -> None:
        if gate is None and policy_path is None and server_url is None:
            raise ValueError("ToolAdapter needs policy_path, server_url or gate")
        self.policy_path = os.fspath(policy_path) if policy_path is not None else None
        self.options = GateOptions(
            profile=profile,
            key_mode=key_mode,
            private_key=private_key,
            private_key_env=private_key_env,
            state=state,
            approval_public_key=approval_public_key,
            approval_public_key_env=approval_public_key_env,
            approval_private_key=approval_private_key,
            approval_private_key_env=approval_private_key_env,
            delegation_public_key=delegation_public_key,
            delegation_public_key_env=delegation_public_key_env,
            delegation_private_key=delegation_private_key,
            delegation_private_key_env=delegation_private_key_env,
        )
        self.approval_tokens = tuple(t for t in (approval_token, *approval_token_chain) if t)
        self.delegation_tokens = tuple(t for t in (delegation_token, *delegation_token_chain) if t)
        self.write_trace = write_trace
        self.trace_dir = trace_dir
        if gate is None and server_url is not None:
            gate = HttpGate(server_url, token=server_token, timeout=timeout)
        self._gate = gate

    @property
    def gate(self) -> LocalGate | HttpGate:
        """The decision backend (built on first use; errors surface as blocked calls)."""
        if self._gate is None:
            assert self.policy_path is not None
            self._gate = local_gate(self.policy_path, self.options)
        return self._gate

    # -------------------------------------------------------------- decide
    def gate_intent(
        self,
        intent: IntentRequest | Mapping[str, Any],
        *,
        cwd: str | None = None,
        trace_out: str | None = None,
        write_trace: bool | None = None,
        run_id: str = "",
    ) -> GateEvalResult:
        """Decide one intent. Errors raise (the caller decides what failing means)."""
        request = intent if type(intent) is IntentRequest else intent_request(intent)
        trace = self.write_trace if write_trace is None else write_trace
        if not trace:  # the no-trace fast path: straight to the backend
            return (self._gate or self.gate).decide(
                request,
                write_trace=False,
                approval_tokens=self.approval_tokens,
                delegation_tokens=self.delegation_tokens,
                run_id=run_id,
            )
        if not trace_out and self.trace_dir:
            trace_out = _trace_name(self.trace_dir, request)
        return decide_with_paths(
            self.gate,
            request,
            write_trace=trace,
            trace_out=trace_out,
            cwd=cwd,
            approval_tokens=self.approval_tokens,
            delegation_tokens=self.delegation_tokens,
            run_id=run_id,
        )

    def decide_fail_closed(
        self,
        intent: IntentRequest | Mapping[str, Any],
        *,
        cwd: str | None = None,
        trace_out: str | None = None,
    ) -> Attempt:
        """Decide; any exception while deciding becomes a ``gate_error`` block (never raises)."""
        from gait.sdk.session import current_session

        session = current_session()
        intent_id = ""
        write_trace = None
        if session is not None:
            write_trace = True  # a session step always leaves a signed trace
            try:
                intent_id, session_trace = session.reserve()
            except Exception as err:  # e.g. the session is already finalized
                return Attempt(intent, GateEvalResult.failure(err), None, "")
            if not isinstance(self._gate, HttpGate):  # a server writes traces in its own dir
                trace_out = trace_out or session_trace
        try:
            request = intent_request(intent)
            decision = self.gate_intent(
                request,
                cwd=cwd,
                trace_out=trace_out,
                write_trace=write_trace,
                run_id=session.run_id if session is not None else "",
            )
        except Exception as err:
            return Attempt(intent, GateEvalResult.failure(err), session, intent_id)
        return Attempt(request, decision, session, intent_id)

    # ------------------------------------------------------------- execute
    def execute(
        self,
        intent: IntentRequest | Mapping[str, Any],
        executor: Callable[[IntentRequest], Any],
        cwd: str | None = None,
        trace_out: str | None = None,
    ) -> AdapterOutcome:
        """Gate ``intent``; run ``executor(intent)`` only on ``allow`` (fail-closed steps of §4).

        ``dry_run`` returns ``executed=False`` without raising; ``block``,
        ``require_approval``, unknown verdicts and gait errors raise
        :class:`GateEnforcementError`. Executor exceptions are recorded and re-raised.
        """
        attempt = self.decide_fail_closed(intent, cwd=cwd, trace_out=trace_out)
        decision = attempt.decision
        if not attempt.allowed:
            attempt.record(executed=False)
            if decision.verdict == "dry_run":
                return AdapterOutcome(decision=decision, executed=False)
            raise GateEnforcementError(decision)
        assert isinstance(attempt.intent, IntentRequest)
        try:
            result = executor(attempt.intent)
        except BaseException as err:
            attempt.record(executed=True, error=err)
            raise
        attempt.record(executed=True, result=result)
        return AdapterOutcome(decision=decision, executed=True, result=result)


def failed_attempt(intent: Mapping[str, Any], error: BaseException) -> Attempt:
    """An attempt gait could not decide on (blocked), as a step of the active session if any."""
    from gait.sdk.session import current_session

    session = current_session()
    intent_id = ""
    if session is not None:
        try:
            intent_id, _trace = session.reserve()
        except Exception:
            session = None
    return Attempt(intent, GateEvalResult.failure(error), session, intent_id)


class Attempt:
    """One decided tool call, with the session step it will be recorded as (if any)."""

    __slots__ = ("decision", "intent", "intent_id", "session")

    def __init__(
        self,
        intent: IntentRequest | Mapping[str, Any],
        decision: GateEvalResult,
        session: RunSession | None,
        intent_id: str,
    ) -> None:
        self.intent = intent
        self.decision = decision
        self.session = session
        self.intent_id = intent_id

    @property
    def allowed(self) -> bool:
        """Only an ``allow`` from a decision gait actually made lets the tool run."""
        return self.decision.ok and self.decision.verdict == "allow"

    def record(self, *, executed: bool, result: Any = None, error: Any = None) -> None:
        if self.session is not None:
            self.session.record(
                self.intent_id,
                self.intent,
                self.decision,
                executed=executed,
                result=result,
                error=error,
            )


def _trace_name(trace_dir: str, request: IntentRequest) -> str:
    import time

    from gait.sdk.names import sanitize

    stamp = time.time_ns()
    return os.path.join(trace_dir, f"trace_{sanitize(request.tool_name)}_{stamp}.json")
