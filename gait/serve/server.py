"""Run the decision service on uvicorn (uvloop + httptools when installed).

The listening socket is bound before the start-up line is printed, so the line
names the real address (``--listen 127.0.0.1:0`` picks a free port) and a client
that reads it can connect at once. SIGTERM/SIGINT drain in-flight requests
(uvicorn's graceful shutdown); traces are written atomically, so a stop never
leaves a half-written trace. SIGHUP reloads the policy.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
from collections.abc import Callable

from gait.errors import GaitError
from gait.serve.config import ServeConfig, make_dirs, parse_listen
from gait.serve.service import DecisionService

__all__ = ["SERVE_EXTRA_HINT", "bind_socket", "missing_serve_dependency", "run_server"]

SERVE_EXTRA_HINT = "pip install 'gait[serve]'"
_REQUIRED = ("starlette", "uvicorn", "anyio")
# Seconds uvicorn waits for in-flight requests after SIGTERM before closing them.
DRAIN_SECONDS = 30


def missing_serve_dependency() -> GaitError | None:
    """An exit-7 error naming the extra to install, or None when the stack is present."""
    missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return GaitError(
        f"mcp serve needs {', '.join(missing)} (missing dependency); install with: "
        f"{SERVE_EXTRA_HINT}",
        exit_code=7,
        code="dependency_missing",
        category="dependency_missing",
    )


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


def _pick(*names: str) -> bool:
    return all(importlib.util.find_spec(n) is not None for n in names)


def run_server(
    config: ServeConfig,
    *,
    on_ready: Callable[[str], None] | None = None,
    service: DecisionService | None = None,
) -> None:
    """Build the service, bind, report the address through ``on_ready``, serve until stopped."""
    import uvicorn

    from gait.serve.app import create_app

    hup = getattr(signal, "SIGHUP", None)
    if hup is not None:
        # Until the app installs its reload handler, a SIGHUP must not kill the server.
        signal.signal(hup, signal.SIG_IGN)
    make_dirs(config)
    service = service or DecisionService(config)
    sock = bind_socket(config.listen)
    address = bound_address(sock)
    app = create_app(service, on_started=(lambda: on_ready(address)) if on_ready else None)
    uv_config = uvicorn.Config(
        app,
        loop="uvloop" if _pick("uvloop") else "asyncio",
        http="httptools" if _pick("httptools") else "h11",
        lifespan="on",
        access_log=config.access_log,
        log_level="warning",
        timeout_keep_alive=int(config.idle_timeout),
        timeout_graceful_shutdown=DRAIN_SECONDS,
        server_header=False,
        date_header=False,
        proxy_headers=False,
    )
    server = _draining_server_class()(uv_config)
    sock.listen(2048)  # connections queue from now on; uvicorn accepts them once started
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _draining_server_class() -> type:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """A uvicorn server whose graceful stop ends the command normally (exit 0).

        uvicorn re-raises SIGTERM/SIGINT after draining, which would end the process
        by the signal; the drain already happened, so the command just returns.
        """

        def handle_exit(self, sig: int, frame: object) -> None:
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            self._captured_signals.clear()

    return DrainingServer
