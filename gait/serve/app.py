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


_FORMATS: dict[str, tuple[str, Callable[[bytes], bytes], dict[str, str]]] = {
    "json": (_JSON, lambda body: body, {}),
    "sse": (
        "text/event-stream",
        _sse,
        {"cache-control": "no-cache", "connection": "keep-alive"},
    ),
    "stream": ("application/x-ndjson", lambda body: body, {}),
}


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, at most ``limit`` bytes, within ``timeout`` seconds (413 / 408)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestRejected(400, "invalid content-length header")
        if int(declared) > limit:
            raise RequestRejected(413, "request body exceeds max-request-bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestRejected(413, "request body exceeds max-request-bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestRejected(408, "request body read timed out") from None
    return b"".join(chunks)


def create_app(
    service: DecisionService, *, on_started: Callable[[], None] | None = None
) -> Starlette:
    """Build the app around one long-lived service (policy and key already loaded).

    ``on_started`` runs once start-up is complete (SIGHUP handler and file watcher
    installed), so a "ready" line printed from it is true when a client reads it.
    """
    import anyio
    import anyio.to_thread

    cfg = service.config
    limiter = anyio.CapacityLimiter(cfg.decision_threads)

    async def healthz(request: Request) -> Response:
        try:
            # The state probe may touch the network (Redis): keep it off the event loop.
            body = encode_json(await anyio.to_thread.run_sync(service.health, limiter=limiter))
        except Exception as err:  # never a traceback, never a dead endpoint
            _log(f"mcp serve: internal error on /healthz: {type(err).__name__}: {err}")
            return _error(500, "internal error")
        return Response(body, media_type=_JSON)

    def evaluate_endpoint(fmt: str) -> Callable[[Request], Any]:
        media_type, frame, extra_headers = _FORMATS[fmt]

        async def endpoint(request: Request) -> Response:
            try:
                service.check_auth(request.headers.get("authorization"))
                check_content_type(request.headers.get("content-type"))
                body = await _read_body(request, cfg.max_request_bytes, cfg.read_timeout)
                decoded = decode_request(body)
                status, payload = await anyio.to_thread.run_sync(
                    service.evaluate, decoded, limiter=limiter
                )
            except RequestRejected as err:
                headers = {"connection": "close"} if err.status in (408, 413) else None
                if err.status == 401:
                    headers = {"www-authenticate": "Bearer"}
                return _error(err.status, err.message, headers)
            except Exception as err:  # a bug must not take the server down or leak a traceback
                _log(
                    f"mcp serve: internal error on {request.url.path}: {type(err).__name__}: {err}"
                )
                return _error(500, "internal error")
            return Response(
                frame(encode_json(payload)),
                status_code=status,
                media_type=media_type,
                headers=extra_headers,
            )

        return endpoint

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
                await anyio.to_thread.run_sync(lambda: service.reload_policy(force=force))
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

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/evaluate", evaluate_endpoint("json"), methods=["POST"]),
        Route("/v1/evaluate/sse", evaluate_endpoint("sse"), methods=["POST"]),
        Route("/v1/evaluate/stream", evaluate_endpoint("stream"), methods=["POST"]),
    ]
    handlers = {404: not_found, 405: wrong_method}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)  # type: ignore[arg-type]


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
