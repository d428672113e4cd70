"""``gait mcp wrap``: an MCP server in front of another MCP server, gating every tool call.

Towards the agent the gateway is an MCP server over stdio; towards the wrapped
server it is an MCP client over stdio (official ``mcp`` SDK). It lists the wrapped
server's tools unchanged, and for each ``tools/call``:

1. builds the native ToolCall payload (arguments -> targets, tool annotations ->
   target hints, context from the operator's flags) and decodes it with
   :func:`gait.mcp.decode.decode_tool_call`;
2. decides with one long-lived :class:`gait.gate.Gate`, writing one signed trace
   per call into the trace directory (approval / delegation tokens come from the
   call's ``_meta``);
3. forwards the call only on ``allow`` and returns the wrapped server's result
   unchanged; every other verdict, and every failure inside gait or of the
   wrapped server, is answered with an MCP tool error and the tool is not called.

stdout is the MCP channel: everything this module logs goes to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from gait.errors import GaitError, InternalFailure
from gait.gate import Gate
from gait.mcp.gateway_call import (
    PROGRESS_KEYS,
    build_tool_call,
    decision_payload,
    error_payload,
    forwarded_meta,
    refusal_text,
    tokens_from_meta,
    trace_file_name,
)

GATEWAY_NAME = "gait-mcp-wrap"
STARTUP_TIMEOUT_S = 30.0


@dataclass
class GatewayConfig:
    """What the operator chose; nothing here comes from the agent."""

    command: list[str]
    trace_dir: str = "./gait-out/mcp-wrap/traces"
    profile: str = "standard"
    # ToolCall context fields (identity, workspace, risk_class, session_id, ...)
    context: dict[str, str] = field(default_factory=dict)
    run_id: str = ""
    cwd: str | None = None
    env: dict[str, str] | None = None  # None: the gateway's own environment
    startup_timeout_s: float = STARTUP_TIMEOUT_S
    # The wrapped server as the policy's mcp_trust block knows it (server_id / server_name).
    server: dict[str, str] = field(default_factory=dict)
    # Emergency stop (``gait job stop``): calls whose context.job_id names a stopped job
    # are blocked. ``job_status`` reads a job's status (the job store is in gait.packs,
    # beside this package, so the CLI hands it in); None job_root turns the check off.
    job_root: str | None = None
    job_status: Callable[[str], str] | None = None


class Gateway:
    """The per-session state: the wrapped server's session, its tools, the trace namer."""

    def __init__(
        self,
        gate: Gate,
        config: GatewayConfig,
        upstream: ClientSession,
        *,
        clock: Callable[[], int] = time.time_ns,
        log: TextIO | None = None,
    ) -> None:
        self.gate = gate
        self.config = config
        self.upstream = upstream
        self.upstream_alive = True
        self._clock = clock
        self._log = log or sys.stderr
        self._annotations: dict[str, dict[str, Any]] = {}
        self._tools_stale = False  # set when the wrapped server says its tool list changed
        self._sequence = 0
        self._decide_lock = anyio.Lock()
        self._warned: set[str] = set()

    # -- logging (stderr only) ------------------------------------------------

    def log(self, line: str) -> None:
        print(f"gait mcp wrap: {line}", file=self._log, flush=True)

    def _warn_once(self, warnings: Any) -> None:
        for warning in warnings or ():
            if warning not in self._warned:
                self._warned.add(warning)
                self.log(f"warning: {warning}")

    # -- tools -----------------------------------------------------------------

    def _absorb(self, tools: list[types.Tool]) -> None:
        for tool in tools:
            ann = tool.annotations
            self._annotations[tool.name] = (
                ann.model_dump(by_alias=True, exclude_none=True) if ann is not None else {}
            )

    async def refresh_tools(self) -> None:
        """Read every page of the wrapped server's tool list (for annotations)."""
        cursor: str | None = None
        for _ in range(1000):  # bounded: a server that pages forever is not followed
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self.upstream.list_tools(params=params)
            self._absorb(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return

    async def list_tools(
        self, ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if not self.upstream_alive:
            raise _server_gone()
        # Only the cursor is passed on: the agent's _meta belongs to its own connection
        # (e.g. a 2026-07-28 envelope the wrapped server's handshake session refuses).
        cursor = params.cursor if params is not None else None
        upstream_params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        try:
            result = await self.upstream.list_tools(params=upstream_params)
        except Exception as err:
            if not _connection_lost(err):
                raise  # the wrapped server's own error answer, passed on
            self._mark_dead(err)
            raise _server_gone() from err
        self._absorb(result.tools)
        return types.ListToolsResult(tools=result.tools, next_cursor=result.next_cursor)

    # -- calls -----------------------------------------------------------------

    def next_trace_path(self, run_id: str) -> str:
        """A fresh trace path in the trace directory; never an existing file."""
        while True:
            self._sequence += 1
            name = trace_file_name(run_id, self._clock(), self._sequence)
            path = os.path.join(self.config.trace_dir, name)
            if not os.path.exists(path):
                return path

    async def call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name = params.name
        arguments = dict(params.arguments or {})
        meta = dict(params.meta or {})
        try:
            if (self._tools_stale or name not in self._annotations) and self.upstream_alive:
                await self._refresh_quietly()
            result, payload = await self.decide(name, arguments, meta)
        except GaitError as err:
            self.log(f"tool={name} error={err.message} (not executed)")
            return refusal(error_payload(name, err.message, code=err.code))
        except Exception as err:  # fail closed on any bug: never execute
            message = f"internal error: {type(err).__name__}: {err}"
            self.log(f"tool={name} {message} (not executed)")
            return refusal(error_payload(name, message, code="internal_failure"))
        self.log(
            f"tool={name} verdict={result.verdict} "
            f"reasons={','.join(result.reason_codes) or '-'} "
            f"violations={','.join(result.violations) or '-'} "
            f"rule={result.decision.matched_rule or '-'} trace={result.trace_path}"
        )
        if result.verdict != "allow":
            return refusal(payload)
        return await self.forward(
            name, arguments, meta, payload, progress=_progress_relay(ctx, meta)
        )

    async def _refresh_quietly(self) -> None:
        """Re-read annotations before a decision; a failure leaves the last known ones."""
        self._tools_stale = False
        try:
            with anyio.fail_after(self.config.startup_timeout_s):
                await self.refresh_tools()
        except Exception as err:
            if _connection_lost(err):
                self._mark_dead(err)
            else:
                self.log(f"could not re-read the tool list: {type(err).__name__}: {err}")

    async def on_upstream_message(self, message: Any) -> None:
        """Notifications from the wrapped server: a changed tool list means re-read annotations."""
        if isinstance(message, types.ToolListChangedNotification):
            self._tools_stale = True

    async def decide(
        self, name: str, arguments: dict[str, Any], meta: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Decode and decide one call; the signed trace is written before this returns."""
        from gait.mcp.decode import decode_tool_call
        from gait.mcp.proxy import evaluate_call, resolve_run_id

        approvals, delegations = tokens_from_meta(meta)
        call_payload = build_tool_call(
            name,
            arguments,
            self._annotations.get(name),
            self.config.context,
            server=self.config.server,
        )
        call = decode_tool_call(call_payload, adapter="mcp", profile=self.config.profile)
        run_id = resolve_run_id(self.config.run_id, call)
        trace_path = self.next_trace_path(run_id)
        stem = Path(trace_path).name.removeprefix("trace_").removesuffix(".json")
        audit_dir = self.config.trace_dir

        def run() -> Any:
            # The same decision path as mcp proxy / mcp serve: gate, then the policy's
            # mcp_trust block and the emergency stop, folded into the signed trace.
            return evaluate_call(
                self.gate,
                call,
                run_id=self.config.run_id,
                trace_path=trace_path,
                approval_tokens=approvals,
                approval_audit_out=os.path.join(audit_dir, f"approval_audit_{stem}.json"),
                delegation_tokens=delegations,
                delegation_audit_out=os.path.join(audit_dir, f"delegation_audit_{stem}.json"),
                job_root=self.config.job_root,
                job_status=self.config.job_status,
            )

        # One decision at a time: budgets and rate limits count calls in order.
        async with self._decide_lock:
            proxied = await anyio.to_thread.run_sync(run)
        result = proxied.gate_result
        self._warn_once(proxied.warnings)
        return result, decision_payload(result, tool_name=name, run_id=proxied.run_id)

    async def forward(
        self,
        name: str,
        arguments: dict[str, Any],
        meta: Mapping[str, Any],
        payload: dict[str, Any],
        *,
        progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None,
    ) -> types.CallToolResult:
        """Call the wrapped tool (allow only) and return its result as the server sent it."""
        if not self.upstream_alive:
            return refusal({**payload, "error": "wrapped MCP server is not running"})
        request = types.CallToolRequest(
            params=types.CallToolRequestParams(
                name=name, arguments=arguments, _meta=forwarded_meta(meta)
            )
        )
        try:
            # send_request, not call_tool: no client-side re-validation, the result
            # goes back exactly as the wrapped server produced it.
            return await self.upstream.send_request(
                request, types.CallToolResult, progress_callback=progress
            )
        except Exception as err:
            message = f"wrapped MCP server failed: {type(err).__name__}: {err}"
            if _connection_lost(err):
                self._mark_dead(err)
            self.log(f"tool={name} {message}")
            # It was sent: whether the tool ran is unknown, and the answer says so.
            return refusal({**payload, "error": message, "executed": None, "forwarded": True})

    def _mark_dead(self, err: BaseException) -> None:
        if self.upstream_alive:
            self.upstream_alive = False
            self.log(f"wrapped MCP server is gone ({type(err).__name__}: {err}); failing closed")


def _progress_relay(
    ctx: Any, meta: Mapping[str, Any]
) -> Callable[[float, float | None, str | None], Awaitable[None]] | None:
    """Pass the wrapped tool's progress on to the agent, when the agent asked for progress."""
    session = getattr(ctx, "session", None)
    if session is None or not PROGRESS_KEYS.intersection(meta):
        return None

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        await session.report_progress(progress, total, message)

    return relay


def _connection_lost(err: BaseException) -> bool:
    from mcp.shared.exceptions import MCPError

    if isinstance(err, anyio.ClosedResourceError | anyio.BrokenResourceError | EOFError):
        return True
    if isinstance(err, MCPError):
        return err.error.code == types.CONNECTION_CLOSED
    return False


def _server_gone() -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(types.INTERNAL_ERROR, "gait mcp wrap: wrapped MCP server is not running")


def refusal(payload: dict[str, Any]) -> types.CallToolResult:
    """An MCP tool error carrying the decision (``executed`` false unless the payload says)."""
    import json

    body = dict(sorted({"executed": False, **payload}.items()))
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=refusal_text(body)),
            types.TextContent(type="text", text=json.dumps(body, sort_keys=True)),
        ],
        structured_content=body,
        is_error=True,
        _meta={"gait/decision": body},
    )


async def serve(
    gate: Gate,
    config: GatewayConfig,
    *,
    streams: tuple[Any, Any] | None = None,
    ready: Callable[[Gateway], None] | None = None,
    log: TextIO | None = None,
) -> None:
    """Start the wrapped server, then serve MCP on stdio (or ``streams``) until the agent leaves.

    Errors before serving starts: :class:`InternalFailure` when the wrapped command
    cannot be started or does not complete the MCP handshake in time.
    """
    errlog = log or sys.stderr
    os.makedirs(config.trace_dir, exist_ok=True)
    command = config.command
    env = dict(os.environ) if config.env is None else dict(config.env)
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=config.cwd)
    async with AsyncExitStack() as stack:
        try:
            read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        except (OSError, ValueError) as err:
            # cli.md §2: a child that cannot be started is an internal failure (exit 1)
            raise InternalFailure(f"cannot start wrapped MCP server {command[0]!r}: {err}") from err
        holder: list[Gateway] = []

        async def on_message(message: Any) -> None:
            if holder:
                await holder[0].on_upstream_message(message)

        upstream = await stack.enter_async_context(
            ClientSession(read, write, message_handler=on_message)
        )
        gateway = Gateway(gate, config, upstream, log=errlog)
        holder.append(gateway)
        try:
            with anyio.fail_after(config.startup_timeout_s):
                init = await upstream.initialize()
                await gateway.refresh_tools()
        except TimeoutError as err:
            raise InternalFailure(
                f"wrapped MCP server {command[0]!r} did not complete the MCP handshake "
                f"within {config.startup_timeout_s:g}s"
            ) from err
        except Exception as err:
            raise InternalFailure(
                f"wrapped MCP server {command[0]!r} failed during startup: "
                f"{type(err).__name__}: {err}"
            ) from err
        from gait import __version__

        upstream_name = init.server_info.name if init.server_info else "?"
        server = Server(
            GATEWAY_NAME,
            version=__version__,
            instructions=init.instructions,
            on_list_tools=gateway.list_tools,
            on_call_tool=gateway.call_tool,
        )
        gateway.log(
            f"wrapping {upstream_name!r} ({len(gateway._annotations)} tools); "
            f"traces in {config.trace_dir}"
        )
        if ready is not None:
            ready(gateway)
        options = server.create_initialization_options()
        if streams is not None:
            await server.run(streams[0], streams[1], options)
            return
        async with stdio_server() as (agent_read, agent_write):
            await server.run(agent_read, agent_write, options)


def run_gateway(gate: Gate, config: GatewayConfig) -> None:
    """Blocking entry point used by the CLI; a startup error surfaces as its GaitError."""
    try:
        anyio.run(lambda: serve(gate, config))
    except BaseExceptionGroup as group:  # task groups wrap what the body raised
        raise _first_gait_error(group) or group from None


def _first_gait_error(err: BaseException) -> GaitError | None:
    if isinstance(err, GaitError):
        return err
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            found = _first_gait_error(inner)
            if found is not None:
                return found
    return None
