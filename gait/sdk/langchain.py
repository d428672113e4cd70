"""LangChain agent middleware: gate every tool call an agent makes (serve_sdk.md §4).

``GaitLangChainMiddleware.wrap_tool_call(request, handler)`` has the shape of
LangChain's agent-middleware hook: ``request.tool_call`` is a LangChain
``ToolCall`` (``{"name", "args", "id"}``), ``request.runtime.context`` the
agent's run context, and ``handler(request)`` runs the tool. The handler is
called only on ``allow``; every decision is reported to the callback handler
as :class:`LangChainDecisionMetadata`. Works with ``langchain-core`` types but
does not import LangChain, so it is usable without it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gait.sdk.adapter import ToolAdapter
from gait.sdk.errors import GateEnforcementError
from gait.sdk.frameworks import framework_intent
from gait.sdk.intents import IntentRequest
from gait.sdk.names import sanitize
from gait.sdk.result import GateEvalResult

__all__ = [
    "GaitLangChainCallbackHandler",
    "GaitLangChainMiddleware",
    "LangChainDecisionMetadata",
    "default_context",
]

_CONTEXT_COPY = (
    "phase",
    "job_id",
    "environment_fingerprint",
    "context_set_digest",
    "context_evidence_mode",
    "context_refs",
)


@dataclass(frozen=True)
class LangChainDecisionMetadata:
    """What the middleware reports for each gated tool call."""

    tool_name: str
    tool_call_id: str
    run_id: str
    request_id: str
    auth_context: dict[str, Any] | None
    trace_path: str
    policy_digest: str
    intent_digest: str
    verdict: str
    executed: bool


@dataclass
class GaitLangChainCallbackHandler:
    """Collects decision metadata (``decisions``); subclass and override ``on_gait_decision``."""

    decisions: list[LangChainDecisionMetadata] = field(default_factory=list)

    def on_gait_decision(self, metadata: LangChainDecisionMetadata) -> None:
        self.decisions.append(metadata)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _tool_call(request: Any) -> Mapping[str, Any]:
    call = _get(request, "tool_call")
    if not isinstance(call, Mapping):
        from gait.errors import InvalidInput

        raise InvalidInput("request.tool_call must be a mapping with name and args")
    return call


def default_context(request: Any) -> dict[str, Any]:
    """Intent context from ``request.runtime.context`` with the documented defaults."""
    runtime_ctx = _get(_get(request, "runtime"), "context")
    call = _tool_call(request)
    ctx: dict[str, Any] = {
        "identity": _text(_get(runtime_ctx, "identity")) or "langchain-agent",
        "workspace": _text(_get(runtime_ctx, "workspace")) or os.getcwd(),
        "risk_class": _text(_get(runtime_ctx, "risk_class")) or "high",
    }
    session = _text(_get(runtime_ctx, "session_id")) or _text(_get(runtime_ctx, "run_id"))
    if session:
        ctx["session_id"] = session
    request_id = _text(_get(runtime_ctx, "request_id")) or _text(call.get("id"))
    if request_id:
        ctx["request_id"] = request_id
    auth = _get(runtime_ctx, "auth_context")
    if isinstance(auth, Mapping) and auth:
        ctx["auth_context"] = dict(auth)
    scopes = _get(runtime_ctx, "credential_scopes")
    if scopes:
        ctx["credential_scopes"] = [str(s) for s in scopes]
    for name in _CONTEXT_COPY:
        value = _get(runtime_ctx, name)
        if value:
            ctx[name] = list(value) if name == "context_refs" else value
    return ctx


class GaitLangChainMiddleware:
    """Gate LangChain tool calls with a :class:`ToolAdapter` (in process or over HTTP)."""

    def __init__(
        self,
        adapter: ToolAdapter,
        context_factory: Callable[[Any], Mapping[str, Any]] | None = None,
        intent_factory: Callable[[Any], IntentRequest] | None = None,
        trace_dir: str | None = None,
        trace_path_factory: Callable[[Any], str] | None = None,
        callback_handler: Any = None,
    ) -> None:
        self.adapter = adapter
        self.context_factory = context_factory or default_context
        self.intent_factory = intent_factory
        self.trace_dir = trace_dir
        self.trace_path_factory = trace_path_factory
        self.callback_handler = callback_handler

    def _intent(self, request: Any) -> IntentRequest:
        if self.intent_factory is not None:
            return self.intent_factory(request)
        return framework_intent("langchain", _tool_call(request), self.context_factory(request))

    def _trace_path(self, request: Any) -> str | None:
        if self.trace_path_factory is not None:
            return self.trace_path_factory(request)
        if self.trace_dir:
            call = _tool_call(request)
            name = sanitize(str(call.get("name") or ""))
            call_id = sanitize(str(call.get("id") or ""))
            return os.path.join(self.trace_dir, f"{name}_{call_id}.json")
        return None

    def _decide(self, request: Any) -> Any:
        from gait.sdk.adapter import failed_attempt

        try:
            intent = self._intent(request)
            trace_out = self._trace_path(request)
        except Exception as err:  # fail closed: no intent, no tool call
            call = _get(request, "tool_call")
            name = _get(call, "name") if isinstance(call, Mapping) else ""
            return failed_attempt({"tool_name": str(name or "")}, err)
        return self.adapter.decide_fail_closed(intent, trace_out=trace_out)

    def _emit(self, request: Any, decision: GateEvalResult, executed: bool) -> None:
        handler = self.callback_handler
        if handler is None:
            return
        try:
            call = _get(request, "tool_call") or {}
            runtime_ctx = _get(_get(request, "runtime"), "context")
            run_id = _text(_get(runtime_ctx, "run_id")) or _text(_get(runtime_ctx, "session_id"))
            auth = _get(runtime_ctx, "auth_context")
            metadata = LangChainDecisionMetadata(
                tool_name=str(_get(call, "name") or ""),
                tool_call_id=str(_get(call, "id") or ""),
                run_id=run_id,
                request_id=_text(_get(runtime_ctx, "request_id")) or str(_get(call, "id") or ""),
                auth_context=dict(auth) if isinstance(auth, Mapping) else None,
                trace_path=decision.trace_path,
                policy_digest=decision.policy_digest,
                intent_digest=decision.intent_digest,
                verdict=decision.verdict,
                executed=executed,
            )
            handler.on_gait_decision(metadata)
        except Exception:
            pass

    def agent_middleware(self) -> Any:
        """This middleware as a ``langchain.agents.middleware.AgentMiddleware`` for ``create_agent``.

        Needs the ``langchain`` package (imported here, on demand).
        """
        from langchain.agents.middleware import AgentMiddleware

        gait = self

        class GaitAgentMiddleware(AgentMiddleware):  # type: ignore[misc]
            def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
                return gait.wrap_tool_call(request, handler)

            async def awrap_tool_call(
                self, request: Any, handler: Callable[[Any], Awaitable[Any]]
            ) -> Any:
                return await gait.awrap_tool_call(request, handler)

        return GaitAgentMiddleware()

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        """Run ``handler(request)`` only when the gate allows the tool call; else raise."""
        attempt = self._decide(request)
        if not attempt.allowed:
            attempt.record(executed=False)
            self._emit(request, attempt.decision, False)
            raise GateEnforcementError(attempt.decision)
        try:
            result = handler(request)
        except BaseException as err:
            attempt.record(executed=True, error=err)
            self._emit(request, attempt.decision, True)
            raise
        attempt.record(executed=True, result=_recordable(result))
        self._emit(request, attempt.decision, True)
        return result

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """Async form of :meth:`wrap_tool_call`."""
        attempt = self._decide(request)
        if not attempt.allowed:
            attempt.record(executed=False)
            self._emit(request, attempt.decision, False)
            raise GateEnforcementError(attempt.decision)
        try:
            result = await handler(request)
        except BaseException as err:
            attempt.record(executed=True, error=err)
            self._emit(request, attempt.decision, True)
            raise
        attempt.record(executed=True, result=_recordable(result))
        self._emit(request, attempt.decision, True)
        return result


def _recordable(result: Any) -> Any:
    """A LangChain message records as its content; plain data as itself."""
    content = getattr(result, "content", None)
    if content is not None and not isinstance(result, Mapping):
        return {"content": content}
    return result
