"""Run the decision service on uvicorn (uvloop + httptools when installed).

The listening socket is bound before the start-up line is printed, so the line
names the real address (``--listen 127.0.0.1:0`` picks a free port) and a client
that reads it can connect at once. SIGTERM/SIGINT drain in-flight requests
(uvicorn's graceful shutdown); traces are written atomically, so a stop never
leaves a half-written trace. SIGHUP reloads the policy (with ``--workers`` > 1,
uvicorn's supervisor replaces each worker, the new one started before the old
one stops, and the new workers compile the policy afresh).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

import msgspec
import uvicorn

from gait.errors import GaitError
from gait.serve.app import CONFIG_ENV, create_app
from gait.serve.config import ServeConfig, make_dirs, parse_listen
from gait.serve.service import DecisionService

__all__ = ["bind_socket", "bound_address", "run_server"]

# Seconds uvicorn waits for in-flight requests after SIGTERM before closing them.
DRAIN_SECONDS = 30
# Request line + headers larger than this get 431 (Go's http.DefaultMaxHeaderBytes).
MAX_HEADER_BYTES = 1 << 20


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose graceful stop ends the command normally (exit 0).

    uvicorn re-raises SIGTERM/SIGINT after draining, which would end the process
    by the signal; the drain already happened, so the command just returns.
    """

    def handle_exit(self, sig: int, frame: object) -> None:
        super().handle_exit(sig, frame)  # type: ignore[arg-type]
        self._captured_signals.clear()


try:
    import httptools
    from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
except ImportError:  # no httptools: uvicorn falls back to h11, without a header timeout
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def response_bytes(
    status: int, media_type: bytes, body: bytes, extra: list[tuple[bytes, bytes]]
) -> tuple[bytes, bool]:
    """The bytes uvicorn writes for the endpoint's answer (no default headers), and
    whether the connection closes after it (a ``connection: close`` header)."""
    key = (status, media_type, *extra)
    framing = _FRAMINGS.get(key)
    if framing is None:
        framing = _FRAMINGS[key] = _framing(status, media_type, extra)
    head, tail, close = framing
    return b"".join((head, str(len(body)).encode("ascii"), tail, body)), close


# (status, content type, extra headers) -> the head around the length; a handful of keys.
_FRAMINGS: dict[tuple[Any, ...], tuple[bytes, bytes, bool]] = {}


def _framing(
    status: int, media_type: bytes, extra: list[tuple[bytes, bytes]]
) -> tuple[bytes, bytes, bool]:
    head = STATUS_LINE[status] + b"content-type: " + media_type + b"\r\ncontent-length: "
    tail = [b"\r\n"]
    close = False
    for name, value in extra:
        if name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
            close = True
        tail += [name, b": ", value, b"\r\n"]
    tail.append(b"\r\n")
    return head, b"".join(tail), close


if HttpToolsProtocol is not None:

    class HeaderTimeoutProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """httptools protocol that closes a connection whose request headers are too slow.

        uvicorn itself has no header timeout: a client that connects and trickles
        header bytes (slowloris) would hold its connection forever. Module level so
        that worker processes can unpickle the uvicorn config that names it.
        """

        def __init__(self, config: uvicorn.Config, *args: object, **kwargs: object) -> None:
            super().__init__(config, *args, **kwargs)  # type: ignore[arg-type]
            self._header_limit = float(getattr(config, "gait_header_timeout", 5.0))
            self._header_timer: asyncio.TimerHandle | None = None
            self._header_bytes = 0  # bytes received while a request's headers are pending
            self._headers_pending = False  # a request began and its headers are not all in
            self._direct: Any = None  # the endpoint answering the request being read
            self._direct_body: list[bytes] = []
            self._direct_out: list[bytes] = []  # direct answers not sent yet

        def data_received(self, data: bytes) -> None:
            # uvicorn buffers the URL and headers without a size limit: cap them.
            if self._header_timer is not None or self.cycle is None:
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES:
                    self._too_large()
                    return
            super().data_received(data)
            if self._direct_out:
                self._send_direct()
            if self._direct is not None:
                self._direct_pending()
            # Armed only when a request's headers are still incomplete after this
            # read: a request that arrives whole (the usual case) needs no timer.
            if self._headers_pending and self._header_timer is None:
                self._arm_header_timer()

        def _too_large(self) -> None:
            self._disarm_header_timer()
            if not self.transport.is_closing():
                message = b"request headers too large"
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: " + str(len(message)).encode() + b"\r\n"
                    b"connection: close\r\n\r\n" + message
                )
                self.transport.close()

        def _arm_header_timer(self) -> None:
            if self._header_timer is None and self._header_limit > 0:
                self._header_timer = self.loop.call_later(self._header_limit, self._headers_late)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()  # a connection that sends nothing is closed too

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._headers_pending = True  # data_received arms the timer if they stay pending

        def on_headers_complete(self) -> None:
            self._headers_pending = False
            self._disarm_header_timer()
            self._header_bytes = 0
            endpoint = self._direct_endpoint()
            if endpoint is not None:
                self._direct = endpoint  # the body follows; on_message_complete answers
                self._direct_body = []
                return
            self._start_cycle()

        def _start_cycle(self) -> None:
            """uvicorn's own handling: a request/response cycle and its ASGI task."""
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and cycle.transport is self.transport:
                cycle.transport = JoinedWrites(self.transport)

        # --- the direct lane -------------------------------------------------
        #
        # A POST to an evaluate path that the inline lane would decide on the event
        # loop anyway is answered right here, from the parser's callbacks, as soon
        # as its body is in: no request/response cycle, no ASGI task, no message
        # dicts, and one less event-loop turn. The endpoint runs the same steps
        # (EvaluateEndpoint.answer_now) and the answer has the bytes uvicorn would
        # send. Anything else, or any doubt, takes uvicorn's path unchanged.

        def _direct_endpoint(self) -> Any:
            """The endpoint that may answer this request directly, else None."""
            parser = self.parser
            cycle = self.cycle
            if (
                self.access_log
                or self.expect_100_continue
                or self.root_path
                or self.pipeline
                or (cycle is not None and not cycle.response_complete)
                or self.flow.write_paused
                or self.server_state.default_headers
                or parser.get_method() != b"POST"
                or parser.get_http_version() != "1.1"
                or not parser.should_keep_alive()
                or parser.should_upgrade()
            ):
                return None
            limit = self.limit_concurrency
            if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
                return None  # uvicorn answers 503
            targets = getattr(self.app, "evaluate_targets", None)
            if not targets:
                return None
            endpoint = targets.get(self.url)  # the bare path: most requests
            if endpoint is None:
                path = httptools.parse_url(self.url).path
                if b"%" in path:
                    return None
                endpoint = targets.get(path)
            if endpoint is None or not endpoint.may_answer_now():
                return None
            return endpoint

        def on_body(self, body: bytes) -> None:
            if self._direct is not None:
                self._direct_body.append(body)
                return
            super().on_body(body)

        def on_message_complete(self) -> None:
            endpoint = self._direct
            if endpoint is None:
                super().on_message_complete()
                return
            self._direct = None
            body = b"".join(self._direct_body)
            self._direct_body = []
            answer = endpoint.answer_now(self.headers, body)
            if answer is None:  # refused or not inline: uvicorn's path, body complete
                self._start_cycle()
                self._hand_body(body, more=False)
                return
            data, close = response_bytes(*answer)
            # Sent once the parser is done with this read (all pipelined answers in
            # one write), and only if the read did not end the connection (a parse
            # error after this request: uvicorn's path loses that answer too).
            self._direct_out.append(data)
            if close:
                self._send_direct()
                self.transport.close()
            self.on_response_complete()

        def _send_direct(self) -> None:
            out = self._direct_out
            if out:
                self._direct_out = []
                if not self.transport.is_closing():
                    self.transport.write(b"".join(out) if len(out) > 1 else out[0])

        def _hand_body(self, body: bytes, *, more: bool) -> None:
            """Give the started cycle what the parser already delivered (as on_body would)."""
            cycle = self.cycle
            if body:
                cycle.body += body
                if len(cycle.body) > HIGH_WATER_LIMIT:
                    self.flow.pause_reading()
            if not more:
                cycle.more_body = False
            if body or not more:
                cycle.message_event.set()

        def _direct_pending(self) -> None:
            """A read ended inside a direct request's body: uvicorn's path takes it from here."""
            body = b"".join(self._direct_body)
            self._direct = None
            self._direct_body = []
            if self.transport.is_closing():
                return  # a parse error answered 400 and closed: nothing to decide
            self._start_cycle()
            self._hand_body(body, more=True)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            self._direct = None
            super().connection_lost(exc)


class JoinedWrites:
    """One request's view of the connection: its response head waits for the first body write.

    uvicorn writes the status line and headers on ``http.response.start`` and the
    body on ``http.response.body``: two sends, so two TCP segments and two client
    wake-ups for every small answer. Held back and sent with the body, the same
    bytes leave in one send. Any other use of the transport (close, is_closing,
    ...) sends the held head first, so nothing is ever lost or reordered.
    """

    __slots__ = ("_head", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""

    def write(self, data: bytes) -> None:
        head = self._head
        if head:
            self._head = b""
            self._transport.write(head + data)
        elif data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 100 "):
            self._head = data  # the response head; an interim 100 Continue goes at once
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head:
            self._head = b""
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> object:
        self.flush()
        return getattr(self._transport, name)


def _http_protocol() -> object:
    return HeaderTimeoutProtocol if HttpToolsProtocol is not None else "h11"


def bind_socket(listen: str) -> socket.socket:
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise GaitError(
            f"mcp serve: cannot listen on {listen}: {err.strerror or err}", exit_code=1
        ) from None
    sock.set_inheritable(True)
    return sock


def bound_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _log_config(access_log: bool) -> dict[str, object]:
    """uvicorn logging on stderr only (stdout carries the ready line): warnings, plus
    one line per request with ``--access-log``."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["handlers"]["access"]["stream"] = "ext://sys.stderr"
    cfg["loggers"]["uvicorn.error"]["level"] = "WARNING"
    cfg["loggers"]["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    return cfg


def _uvicorn_config(config: ServeConfig, app: object, **extra: object) -> uvicorn.Config:
    uv_config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http=_http_protocol(),  # type: ignore[arg-type]
        lifespan="on",
        access_log=config.access_log,
        log_config=_log_config(config.access_log),
        log_level=None,
        timeout_keep_alive=int(config.idle_timeout),
        timeout_graceful_shutdown=DRAIN_SECONDS,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        limit_concurrency=config.max_concurrency,
        **extra,  # type: ignore[arg-type]
    )
    uv_config.gait_header_timeout = config.header_timeout  # type: ignore[attr-defined]
    return uv_config


def run_server(
    config: ServeConfig,
    *,
    on_ready: Callable[[str], None] | None = None,
    service: DecisionService | None = None,
) -> None:
    """Build the service, bind, report the address through ``on_ready``, serve until stopped.

    ``service`` (already built, so policy and key errors surface before binding) is
    used by the single-process server; worker processes each build their own.
    """
    hup = getattr(signal, "SIGHUP", None)
    if hup is not None:
        # Until a reload handler is installed, a SIGHUP must not kill the server.
        signal.signal(hup, signal.SIG_IGN)
    make_dirs(config)
    sock = bind_socket(config.listen)
    address = bound_address(sock)
    sock.listen(2048)  # connections queue from now on; uvicorn accepts them once started
    try:
        if config.workers > 1:
            if service is not None:
                service.close()  # validated the config; each worker opens its own
            _run_workers(config, sock, address, on_ready)
            return
        service = service or DecisionService(config)
        app = create_app(service, on_started=(lambda: on_ready(address)) if on_ready else None)
        DrainingServer(_uvicorn_config(config, app)).run(sockets=[sock])
    finally:
        sock.close()


def _run_workers(
    config: ServeConfig,
    sock: socket.socket,
    address: str,
    on_ready: Callable[[str], None] | None,
) -> None:
    from uvicorn.supervisors import Multiprocess

    os.environ[CONFIG_ENV] = msgspec.json.encode(config).decode("utf-8")
    uv_config = _uvicorn_config(
        config, "gait.serve.app:app_from_environment", factory=True, workers=config.workers
    )
    supervisor = Multiprocess(uv_config, sockets=[sock])  # installs the signal handlers
    if on_ready is not None:
        on_ready(address)
    supervisor.run()
