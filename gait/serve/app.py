"""The ASGI app: starlette routes for ``/healthz`` and ``/v1/evaluate`` (JSON, SSE, NDJSON).

Hostile input is answered here, before any decision work: wrong method (405),
bad token (401), wrong content type (415), oversized body (413, refused from
``Content-Length`` before reading when possible), slow body (408 after the read
timeout), malformed or unknown-field JSON (400). Nothing a client sends reaches
the log as a traceback; an unexpected fault is a one-line log entry and a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gait.serve.request import RequestRejected, check_content_type, decode_request
from gait.serve.service import DecisionService, encode_json, error_body

__all__ = ["CONFIG_ENV", "app_from_environment", "create_app"]

# Worker processes (``--workers``) rebuild the service from this JSON-encoded ServeConfig.
CONFIG_ENV = "GAIT_SERVE_CONFIG_JSON"

_JSON = "application/json"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(message), status_code=status, media_type=_JSON, headers=headers)


def _sse(body: bytes) -> bytes:
    return b"event: evaluate\ndata: " + body.rstrip(b"\n") + b"\n\n"


# Response framing per endpoint: content type, body transform, extra headers.
_FORMATS: dict[str, tuple[bytes, Callable[[bytes], bytes], list[tuple[bytes, bytes]]]] = {
    "json": (b"application/json", lambda body: body, []),
    "sse": (
        b"text/event-stream",
        _sse,
        [(b"cache-control", b"no-cache"), (b"connection", b"keep-alive")],
    ),
    "stream": (b"application/x-ndjson", lambda body: body, []),
}


class _Disconnected(Exception):
    """The client went away before its body arrived: nothing to answer."""


class DecisionLane:
    """Where a decision runs: on the event loop when it cannot block, else on a thread.

    A decision that cannot wait on a disk or the network (batch durability, local
    state, no journal; see DecisionService.runs_inline) runs on the event loop
    itself when no decision is out on a thread: the GIL serializes the Python work
    anyway, and this saves two thread hand-offs per request (0.1 to 0.16 ms of
    CPU). Inline decisions finish before the next request is read, so under
    load they stay inline; requests that may block (journals, strict fsyncs,
    state spends) always go to the decision threads, and while one is out there
    the others follow it rather than take the GIL from it.
    """

    def __init__(self, service: DecisionService, pool: Any) -> None:
        self.service = service
        self.pool = pool
        self.in_flight = 0

    async def __call__(self, fn: Callable[..., Any], request: Any, *args: Any) -> Any:
        inline = self.in_flight == 0 and self.service.runs_inline(request)
        self.in_flight += 1
        try:
            if inline:
                return fn(*args)
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        finally:
            self.in_flight -= 1


class EvaluateEndpoint:
    """``POST /v1/evaluate[/sse|/stream]`` as a plain ASGI app mounted in the starlette router.

    The hot path of the service, so it reads headers and body from the ASGI
    messages directly rather than through starlette's Request/Response objects.
    """

    path = "/v1/evaluate"  # for log lines of the direct lane; set per endpoint

    def __init__(self, service: DecisionService, fmt: str, off_loop: Callable[..., Any]) -> None:
        self.service = service
        self.media_type, self.frame, self.extra_headers = _FORMATS[fmt]
        self.off_loop = off_loop
        self.limit = service.config.max_request_bytes
        self.timeout = service.config.read_timeout
        self.write_timeout = service.config.write_timeout

    def may_answer_now(self) -> bool:
        """Could :meth:`answer_now` decide here? Cheap: no request bytes looked at yet."""
        lane = self.off_loop
        return type(lane) is DecisionLane and lane.in_flight == 0 and lane.service.inline_capable()

    def answer_now(
        self, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]] | None:
        """The answer (status, content type, body, extra headers) to a request already in full.

        The same steps as ``__call__`` in the same order, for the server's direct
        lane (see gait.serve.server): the decision runs right here, on the event
        loop. ``None`` (nothing decided, nothing written) whenever the request is
        anything but a well-formed one the inline lane would take (refused, too
        large, asking for files, or a decision out on a thread): the caller then
        hands it to the ASGI path, which checks it again and answers as ever.
        """
        lane = self.off_loop
        if type(lane) is not DecisionLane or lane.in_flight:
            return None
        authorization = content_type = content_length = None
        for name, value in headers:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        if content_length is not None and (
            not content_length.strip().isdigit() or int(content_length) > self.limit
        ):
            return None
        if len(body) > self.limit:
            return None
        service = self.service
        try:
            service.check_auth(authorization)
            check_content_type(content_type)
            decoded = decode_request(body)
            if not service.runs_inline(decoded):
                return None
        except Exception:  # refused (or a fault): nothing decided yet, the ASGI path answers
            return None
        lane.in_flight += 1
        try:
            status, payload = service.evaluate(decoded)
        except RequestRejected as err:  # only 400s come out of a decision
            extra: list[tuple[bytes, bytes]] = []
            if err.status in (408, 413):
                extra = [(b"connection", b"close")]
            elif err.status == 401:
                extra = [(b"www-authenticate", b"Bearer")]
            return err.status, b"application/json", error_body(err.message), extra
        except Exception as err:  # as __call__: one log line and a 500, never a traceback
            _log(f"mcp serve: internal error on {self.path}: {type(err).__name__}: {err}")
            return 500, b"application/json", error_body("internal error"), []
        finally:
            lane.in_flight -= 1
        return status, self.media_type, self.frame(encode_json(payload)), self.extra_headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        authorization = content_type = content_length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        try:
            self.service.check_auth(authorization)
            check_content_type(content_type)
            body = await self._read_body(receive, content_length)
            decoded = decode_request(body)
            status, payload = await self.off_loop(self.service.evaluate, decoded, decoded)
        except _Disconnected:
            return
        except RequestRejected as err:
            extra: list[tuple[bytes, bytes]] = []
            if err.status in (408, 413):
                extra = [(b"connection", b"close")]
            elif err.status == 401:
                extra = [(b"www-authenticate", b"Bearer")]
            message = error_body(err.message)
            await _send(send, err.status, b"application/json", message, extra, self.write_timeout)
            return
        except Exception as err:  # a bug must not take the server down or leak a traceback
            _log(f"mcp serve: internal error on {scope['path']}: {type(err).__name__}: {err}")
            message = error_body("internal error")
            await _send(send, 500, b"application/json", message, [], self.write_timeout)
            return
        body = self.frame(encode_json(payload))
        await _send(send, status, self.media_type, body, self.extra_headers, self.write_timeout)

    async def _read_body(self, receive: Any, declared: bytes | None) -> bytes:
        """The whole body, at most ``limit`` bytes, within ``timeout`` seconds (413 / 408)."""
        if declared is not None:
            if not declared.strip().isdigit():
                raise RequestRejected(400, "invalid content-length header")
            if int(declared) > self.limit:
                raise RequestRejected(413, "request body exceeds max-request-bytes")
        chunks: list[bytes] = []
        size = 0
        # A small request usually arrives whole with its headers: uvicorn's receive
        # then returns without waiting, so no timeout could fire and none is armed.
        while _receive_ready(receive):
            size = self._take(await receive(), chunks, size)
            if size < 0:
                return b"".join(chunks)
        try:
            async with asyncio.timeout(self.timeout):
                while size >= 0:
                    size = self._take(await receive(), chunks, size)
        except TimeoutError:
            raise RequestRejected(408, "request body read timed out") from None
        return b"".join(chunks)

    def _take(self, message: Any, chunks: list[bytes], size: int) -> int:
        """Add one receive message to ``chunks``: the size so far, or -1 once complete."""
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > self.limit:
            raise RequestRejected(413, "request body exceeds max-request-bytes")
        chunks.append(chunk)
        return -1 if not message.get("more_body", False) else size


def _receive_ready(receive: Any) -> bool:
    """Will ``await receive()`` return without waiting? Only known for uvicorn's cycle.

    uvicorn's receive waits on the cycle's ``message_event`` alone, which a
    set event passes at once. Any other receive (another server, a test
    harness) answers False and is read under the timeout.
    """
    event = getattr(getattr(receive, "__self__", None), "message_event", None)
    return type(event) is asyncio.Event and event.is_set()


def _sends_at_once(send: Any) -> bool:
    """uvicorn's ``send`` only waits while the transport's write buffer is full (paused)."""
    cycle = getattr(send, "__self__", None)
    flow = getattr(cycle, "flow", None)
    return getattr(flow, "write_paused", True) is False


async def _send(
    send: Any,
    status: int,
    media_type: bytes,
    body: bytes,
    extra: list[tuple[bytes, bytes]],
    timeout: float = 30.0,
) -> None:
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode("ascii")),
        *extra,
    ]
    messages: list[dict[str, Any]] = [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]
    # A send that cannot wait cannot time out: no timer for it (the usual case).
    while messages and _sends_at_once(send):
        await send(messages.pop(0))
    if not messages:
        return
    try:
        async with asyncio.timeout(timeout):
            for message in messages:
                await send(message)
    except TimeoutError:
        # A client that does not read its answer: give up on it; uvicorn closes the
        # connection of a response left incomplete (one log line, no traceback).
        _log(f"mcp serve: response not read within {timeout:g}s; closing the connection")


def create_app(
    service: DecisionService, *, on_started: Callable[[], None] | None = None
) -> Starlette:
    """Build the app around one long-lived service (policy and key already loaded).

    ``on_started`` runs once start-up is complete (SIGHUP handler and file watcher
    installed), so a "ready" line printed from it is true when a client reads it.
    """
    from concurrent.futures import ThreadPoolExecutor

    cfg = service.config
    # Decisions block (signing, fsynced trace writes): they run here, off the event loop.
    # A plain executor hands work over in a fraction of anyio's to_thread cost.
    pool = ThreadPoolExecutor(max_workers=cfg.decision_threads, thread_name_prefix="gait-decide")

    # Health probes get their own thread: /healthz answers even when every decision
    # thread is waiting on a slow disk.
    probe_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gait-health")

    def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
        return asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    decide = DecisionLane(service, pool)  # inline when it cannot block, else a thread

    async def healthz(request: Request) -> Response:
        try:
            # The state probe may touch the network (Redis): keep it off the event loop.
            loop = asyncio.get_running_loop()
            body = encode_json(await loop.run_in_executor(probe_pool, service.health))
        except Exception as err:  # never a traceback, never a dead endpoint
            _log(f"mcp serve: internal error on /healthz: {type(err).__name__}: {err}")
            return _error(500, "internal error")
        return Response(body, media_type=_JSON)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "not found")

    async def wrong_method(request: Request, exc: Exception) -> Response:
        if request.url.path == "/healthz":
            return _error(405, "expected GET", {"allow": "GET, HEAD"})
        return _error(405, "expected POST", {"allow": "POST"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()

        async def reload(force: bool) -> None:
            try:
                await off_loop(lambda: service.reload_policy(force=force))
            except Exception as err:  # keep serving on the current table
                _log(f"mcp serve: policy reload failed: {type(err).__name__}: {err}")

        pending: set[asyncio.Task[None]] = set()

        def on_hup() -> None:
            task = loop.create_task(reload(True))
            pending.add(task)
            task.add_done_callback(pending.discard)

        hup = getattr(signal, "SIGHUP", None)
        if hup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(hup, on_hup)

        async def watch() -> None:
            while True:
                await asyncio.sleep(cfg.reload_interval)
                await reload(False)

        watcher = loop.create_task(watch()) if cfg.reload_interval > 0 else None
        # Everything built so far (modules, policy, key) lives as long as the process:
        # out of the cyclic collector's sight, its full passes stop walking about
        # 50,000 objects every few hundred requests (14 us of CPU per request).
        gc.freeze()
        if on_started is not None:
            on_started()
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if hup is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(hup)
            pool.shutdown(wait=True)  # in-flight decisions finish writing their traces
            probe_pool.shutdown(wait=False)
            try:
                service.close()  # pending trace fsyncs, then state store connections (Redis)
            except Exception as err:
                _log(f"mcp serve: shutdown flush failed: {type(err).__name__}: {err}")

    endpoints = {
        "/v1/evaluate": EvaluateEndpoint(service, "json", decide),
        "/v1/evaluate/sse": EvaluateEndpoint(service, "sse", decide),
        "/v1/evaluate/stream": EvaluateEndpoint(service, "stream", decide),
    }
    for path, endpoint in endpoints.items():
        endpoint.path = path
    routes = [Route("/healthz", healthz, methods=["GET"])]
    routes += [Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints.items()]
    handlers = {404: not_found, 405: wrong_method}
    app = _ServeApp(routes=routes, exception_handlers=handlers, lifespan=lifespan)  # type: ignore[arg-type]
    app.evaluate_endpoints = endpoints
    # The direct lane (gait.serve.server) looks request paths up as bytes.
    app.evaluate_targets = {path.encode("ascii"): ep for path, ep in endpoints.items()}
    return app


class _ServeApp(Starlette):
    """Starlette, except that a POST to an evaluate path goes straight to its endpoint.

    Those endpoints catch every error themselves, so starlette's middleware and
    router (about 8 µs of CPU per request) add nothing there; every other
    request (health, 404, 405, lifespan) takes the normal starlette path.
    """

    evaluate_endpoints: dict[str, EvaluateEndpoint]  # set by create_app
    evaluate_targets: dict[bytes, EvaluateEndpoint]  # the same, keyed by raw path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.evaluate_endpoints.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def app_from_environment() -> Starlette:
    """App factory for uvicorn worker processes: one service per process, same config."""
    import os

    import msgspec

    from gait.serve.config import ServeConfig

    config = msgspec.json.decode(os.environ[CONFIG_ENV].encode("utf-8"), type=ServeConfig)
    return create_app(DecisionService(config))
