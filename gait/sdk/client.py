"""Where SDK decisions are made: in process (:class:`LocalGate`) or by ``mcp serve`` (:class:`HttpGate`).

Both expose ``decide(request, ...) -> GateEvalResult`` with the same fields, so
adapters, decorators and sessions do not care which one they hold.

In process, one :class:`gait.gate.Gate` is built per policy and options (the
policy compiled and the signing key resolved once) and reused for every call.
With ``write_trace=False`` a stateless decision (no approvals, budgets, rate
limits, delegation, broker credential or simulate mode involved) is returned
straight from ``evaluate()``: the verdict, reasons, rule and digests are the
ones the full pipeline would give, and no trace is signed. Anything stateful
goes through the full gate pipeline, without writing a trace file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from gait.errors import InvalidInput
from gait.gate import Gate, GateOptions
from gait.sdk.errors import GaitCommandError
from gait.sdk.intents import IntentRequest
from gait.sdk.result import GateEvalResult

__all__ = ["HttpGate", "LocalGate", "evaluate_gate", "local_gate", "tool_call_payload"]

Token = str | Mapping[str, Any]


class LocalGate:
    """Decisions in this process against one compiled policy (reused across calls)."""

    def __init__(self, gate: Gate) -> None:
        from gait.gate.broker import check_broker_config

        self.gate = gate
        check_broker_config(gate.options.credential_broker, gate.options.credential_command)
        o = gate.options
        # The no-trace shortcut is only taken where the full pipeline adds nothing: not
        # with a wrkr inventory (its context can turn an allow into a block, and an
        # unreadable one fails closed) nor with an approved-script registry.
        self._shortcut = (
            not o.simulate
            and o.profile == "standard"
            and not (o.wrkr_inventory or "").strip()
            and not (o.approved_script_registry or "").strip()
        )
        from gait.engine import evaluate

        self._evaluate = evaluate

    @classmethod
    def from_policy_file(
        cls, policy_path: str | os.PathLike[str], options: GateOptions
    ) -> LocalGate:
        return cls(Gate.from_policy_file(os.fspath(policy_path), options))

    def decide(
        self,
        request: IntentRequest,
        *,
        write_trace: bool = True,
        trace_out: str | None = None,
        approval_tokens: Sequence[Token] = (),
        approval_token_ref: str = "",
        delegation_tokens: Sequence[Token] = (),
        run_id: str = "",
    ) -> GateEvalResult:
        """Decide ``request``. Raises the normalization error for an invalid intent (exit 6)."""
        intent = request.intent
        if not write_trace and self._shortcut and not approval_tokens and not delegation_tokens:
            d = self._evaluate(self.gate.compiled, intent)
            if (
                d.rate_limit is None
                and d.destructive_budget is None
                and not d.require_broker_credential
                and not d.require_delegation
                and d.verdict != "require_approval"
            ):
                return _from_decision(d)
        result = self.gate.decide(
            intent,
            trace_out=trace_out,
            write_trace=write_trace,
            approval_tokens=approval_tokens,
            approval_token_ref=approval_token_ref,
            delegation_tokens=delegation_tokens,
        )
        return GateEvalResult.from_payload(
            result.to_payload(self.gate.options.profile), exit_code=result.exit_code
        )


_EXIT = {"block": 3, "require_approval": 4}


def _from_decision(d: Any) -> GateEvalResult:
    verdict = d.verdict
    return GateEvalResult(
        exit_code=_EXIT.get(verdict, 0),
        verdict=verdict,
        reason_codes=d.reason_codes,
        violations=d.violations,
        matched_rule=d.matched_rule,
        policy_digest=d.policy_digest,
        decision=d,
    )


# ------------------------------------------------------------- gate cache ---

_CACHE: dict[tuple[Any, ...], LocalGate] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 32


def local_gate(
    policy_path: str | os.PathLike[str], options: GateOptions, *, cwd: str | None = None
) -> LocalGate:
    """The cached :class:`LocalGate` for a policy file and options.

    Keyed by the file's resolved path, size and mtime and by the options, so an
    edited policy is compiled again and a dev key stays the same across calls.
    """
    path = os.fspath(policy_path)
    if cwd and not os.path.isabs(path):
        path = os.path.join(cwd, path)
    try:
        st = os.stat(path)
    except OSError as err:
        raise InvalidInput(f"policy file not readable: {path}: {err.strerror}") from None
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, options)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    built = LocalGate.from_policy_file(path, options)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        return _CACHE.setdefault(key, built)


def evaluate_gate(
    policy_path: str | os.PathLike[str],
    intent: IntentRequest | Mapping[str, Any],
    key_mode: str = "dev",
    trace_out: str | None = None,
    approval_token: str | None = None,
    private_key: str | None = None,
    private_key_env: str | None = None,
    approval_public_key: str | None = None,
    approval_public_key_env: str | None = None,
    approval_private_key: str | None = None,
    approval_private_key_env: str | None = None,
    delegation_token: str | None = None,
    delegation_token_chain: Sequence[str] = (),
    delegation_public_key: str | None = None,
    delegation_public_key_env: str | None = None,
    delegation_private_key: str | None = None,
    delegation_private_key_env: str | None = None,
    cwd: str | None = None,
    *,
    approval_token_chain: Sequence[str] = (),
    profile: str = "standard",
    write_trace: bool = True,
) -> GateEvalResult:
    """In-process ``gate eval`` (serve_sdk.md §4): same verdict, reasons, rule, digests and trace.

    Relative ``trace_out`` and policy paths are taken from ``cwd`` when given.
    Raises :class:`gait.errors.GaitError` subclasses for invalid input (exit 6).
    """
    from gait.sdk.intents import intent_request

    options = GateOptions(
        profile=profile,
        key_mode=key_mode,
        private_key=_under(private_key, cwd),
        private_key_env=private_key_env,
        approval_public_key=_under(approval_public_key, cwd),
        approval_public_key_env=approval_public_key_env,
        approval_private_key=_under(approval_private_key, cwd),
        approval_private_key_env=approval_private_key_env,
        delegation_public_key=_under(delegation_public_key, cwd),
        delegation_public_key_env=delegation_public_key_env,
        delegation_private_key=_under(delegation_private_key, cwd),
        delegation_private_key_env=delegation_private_key_env,
    )
    gate = local_gate(policy_path, options, cwd=cwd)
    approvals = [t for t in (approval_token, *approval_token_chain) if t]
    delegations = [t for t in (delegation_token, *delegation_token_chain) if t]
    return decide_with_paths(
        gate,
        intent_request(intent),
        write_trace=write_trace,
        trace_out=trace_out,
        cwd=cwd,
        approval_tokens=[_under(t, cwd) or t for t in approvals],
        delegation_tokens=[_under(t, cwd) or t for t in delegations],
    )


def _under(path: str | None, cwd: str | None) -> str | None:
    if not path or not cwd or os.path.isabs(path):
        return path
    return os.path.join(cwd, path)


def decide_with_paths(
    gate: LocalGate | HttpGate,
    request: IntentRequest,
    *,
    write_trace: bool,
    trace_out: str | None,
    cwd: str | None,
    **kwargs: Any,
) -> GateEvalResult:
    """Decide, putting the trace where ``gate eval`` run in ``cwd`` would."""
    if isinstance(gate, HttpGate) or not write_trace:
        return gate.decide(request, write_trace=write_trace, trace_out=trace_out, **kwargs)
    if trace_out:
        return gate.decide(request, trace_out=_under(trace_out, cwd), **kwargs)
    if not cwd:
        return gate.decide(request, **kwargs)
    # Default name trace_<trace_id>.json is known only after signing: sign, then write there.
    from gait.trace import default_trace_path
    from gait.trace import write_trace as write_file

    result = gate.gate.decide(request.intent, write_trace=False, **_gate_kwargs(kwargs))
    path = write_file(os.path.join(cwd, default_trace_path(result.trace_id)), result.trace)
    payload = result.to_payload(gate.gate.options.profile)
    payload["trace_path"] = path
    return GateEvalResult.from_payload(payload, exit_code=result.exit_code)


def _gate_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "run_id"}


# -------------------------------------------------------------- HTTP mode ---


class HttpGate:
    """Decisions by a running ``gait mcp serve`` (``POST /v1/evaluate``).

    The intent is sent as an MCP ToolCall; the server's policy decides and writes
    the trace in its own trace directory. ``token`` is sent as a bearer token.
    Transport errors, error statuses and answers without a verdict raise
    :class:`GaitCommandError`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._transport = transport
        self._client: Any = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                headers = {"content-type": "application/json"}
                if self.token:
                    headers["authorization"] = f"Bearer {self.token}"
                self._client = httpx.Client(
                    base_url=self.base_url,
                    headers=headers,
                    timeout=self.timeout,
                    transport=self._transport,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> HttpGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decide(
        self,
        request: IntentRequest,
        *,
        write_trace: bool = True,
        trace_out: str | None = None,
        approval_tokens: Sequence[Token] = (),
        approval_token_ref: str = "",
        delegation_tokens: Sequence[Token] = (),
        run_id: str = "",
    ) -> GateEvalResult:
        """Ask the server. Tokens cannot travel over this API, so passing any is an error."""
        if approval_tokens or delegation_tokens:
            raise InvalidInput("approval and delegation tokens are not supported by mcp serve")
        body: dict[str, Any] = {"call": tool_call_payload(request)}
        if run_id:
            body["run_id"] = run_id
        if trace_out:
            body["trace_path"] = trace_out
        return self.post(body)

    def post(self, body: Mapping[str, Any]) -> GateEvalResult:
        import httpx
        import msgspec

        command = f"POST {self.base_url}/v1/evaluate"
        try:
            response = self._http().post("/v1/evaluate", content=msgspec.json.encode(body))
        except httpx.HTTPError as err:
            raise GaitCommandError(
                f"gait service request failed: {err}",
                command=command,
                exit_code=-1,
                stderr=str(err),
            ) from None
        from gait.safejson import NotJSON, loads

        text = response.text
        try:
            payload = loads(response.content, "gait service answer")
        except NotJSON:
            payload = None
        except InvalidInput as err:  # a repeated "verdict": no answer to act on
            raise GaitCommandError(
                err.message, command=command, exit_code=response.status_code, stdout=text
            ) from None
        if not isinstance(payload, dict):
            raise GaitCommandError(
                f"gait service answered HTTP {response.status_code} without a JSON object",
                command=command,
                exit_code=response.status_code,
                stdout=text,
            )
        code = payload.get("exit_code")
        if payload.get("ok") is not True or code not in (0, 3, 4) or not payload.get("verdict"):
            error = payload.get("error") or f"HTTP {response.status_code}"
            raise GaitCommandError(
                f"gait service error: {error}",
                command=command,
                exit_code=code if isinstance(code, int) else response.status_code,
                stdout=text,
            )
        return GateEvalResult.from_payload(payload)


def tool_call_payload(request: IntentRequest) -> dict[str, Any]:
    """The MCP ToolCall (serve_sdk.md §1.2) that decodes to the same intent as ``request``.

    A ToolCall cannot carry everything an intent can (skill provenance,
    delegation times, explicit endpoint fields…). Rather than let the server
    decide on a different intent, this checks locally that the ToolCall decodes
    to the same intent digest and raises :class:`InvalidInput` naming the
    problem otherwise.
    """
    from gait.intent import intent_digest, prepare_intent
    from gait.mcp.decode import decode_tool_call

    raw = request.to_dict()
    intent = request.intent
    call: dict[str, Any] = {"name": raw.get("tool_name", ""), "args": raw.get("args") or {}}
    for name in ("targets", "arg_provenance", "delegation", "created_at"):
        if raw.get(name):
            call[name] = raw[name]
    script = raw.get("script")
    if isinstance(script, Mapping) and script.get("steps"):
        call["script"] = {
            "steps": [
                {"name": s.get("tool_name", ""), **{k: v for k, v in s.items() if k != "tool_name"}}
                for s in script["steps"]
                if isinstance(s, Mapping)
            ]
        }
        call["name"] = ""
    if raw.get("context"):
        call["context"] = raw["context"]
    if intent.skill_provenance is not None:
        raise InvalidInput("intent.skill_provenance cannot be sent to mcp serve")
    decoded = decode_tool_call(call, adapter="mcp")
    if intent_digest(prepare_intent(decoded.intent)) != intent_digest(prepare_intent(intent)):
        raise InvalidInput(
            "intent has fields an MCP tool call cannot carry; decide it in process instead"
        )
    return call
