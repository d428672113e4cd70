"""``@gate_tool``: every call of the decorated function is gated first (serve_sdk.md §4).

The function body runs only on ``allow``. Anything else (``dry_run`` included,
since the caller expects the function's result) raises
:class:`GateEnforcementError`. Coroutine functions are supported: the gate
decides before the coroutine is awaited.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from gait.sdk.adapter import ToolAdapter, failed_attempt
from gait.sdk.errors import GateEnforcementError
from gait.sdk.intents import capture_intent

__all__ = ["gate_tool"]

F = TypeVar("F", bound=Callable[..., Any])
ArgsMapper = Callable[[tuple[Any, ...], dict[str, Any]], Mapping[str, Any]]


def _value(spec: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Static values are used as is; callables are called with ``(args, kwargs)``."""
    return spec(args, kwargs) if callable(spec) else spec


def gate_tool(
    adapter: ToolAdapter,
    context: Mapping[str, Any] | Callable[..., Mapping[str, Any]],
    tool_name: str | None = None,
    args_mapper: ArgsMapper | None = None,
    targets: Any = None,
    arg_provenance: Any = None,
    trace_out: str | Callable[..., str | None] | None = None,
    cwd: str | Callable[..., str | None] | None = None,
) -> Callable[[F], F]:
    """Decorate a tool function so each call is gated by ``adapter``.

    Args payload: ``args_mapper(args, kwargs)`` or the bound arguments with
    defaults applied (``self``/``cls`` left out). Tool name: ``tool_name`` or
    the function's name. ``context``, ``targets``, ``arg_provenance``,
    ``trace_out`` and ``cwd`` may be values or callables ``(args, kwargs)``.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        name = tool_name or fn.__name__

        def payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
            if args_mapper is not None:
                return args_mapper(args, kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}

        def decide(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            try:
                intent: Any = capture_intent(
                    name,
                    payload(args, kwargs),
                    _value(context, args, kwargs),
                    targets=_value(targets, args, kwargs) or (),
                    arg_provenance=_value(arg_provenance, args, kwargs) or (),
                )
            except Exception as err:
                # No intent could be built (e.g. arguments that are not JSON data): block.
                return failed_attempt({"tool_name": name}, err)
            return adapter.decide_fail_closed(
                intent,
                cwd=_value(cwd, args, kwargs),
                trace_out=_value(trace_out, args, kwargs),
            )

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                attempt = decide(args, kwargs)
                if not attempt.allowed:
                    attempt.record(executed=False)
                    raise GateEnforcementError(attempt.decision)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as err:
                    attempt.record(executed=True, error=err)
                    raise
                attempt.record(executed=True, result=result)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            attempt = decide(args, kwargs)
            if not attempt.allowed:
                attempt.record(executed=False)
                raise GateEnforcementError(attempt.decision)
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:
                attempt.record(executed=True, error=err)
                raise
            attempt.record(executed=True, result=result)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
