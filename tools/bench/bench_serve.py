#!/usr/bin/env python3
"""``gait mcp serve`` under load: p50/p99 latency and requests/s of ``POST /v1/evaluate``.

Usage: python tools/bench/bench_serve.py [--requests N] [--seconds S] [--concurrency 1,16]
       [--trace-dir DIR] [--hostile N] [--server-arg=--flag ...]
       [--workers N] [--trace-durability batch|strict] [--client auto|sync|asyncio]
       [--servers N] [--state redis://127.0.0.1:6379/0]

Starts the real server (``gait mcp serve --listen 127.0.0.1:0``, prod signing key,
a signed trace written per request into --trace-dir, default a fresh temporary
directory) and drives it over keep-alive connections on 127.0.0.1. Each level
stops after --requests requests or --seconds seconds, whichever comes first.

With no flags it measures the setup the issue 9 targets are stated for:
``--workers 2 --trace-durability batch`` (the server's own default stays
``strict``, one process; pass ``--workers 1 --trace-durability strict`` for
it). The first line printed names the setup measured.

The load generator: at one connection (``--client auto``) a plain blocking
socket (one keep-alive connection, ``sendall``, ``recv_into`` until the body is
complete by Content-Length), whose own per-request work is the smallest an
HTTP client can do; at more connections a small asyncio client (uvloop when
installed), one request in flight per connection. ``--client`` forces one. ``--hostile N`` then sends N requests
of random bytes (raw on the wire and as bodies), checks each got a 4xx or a
closed connection, and that /healthz still answers.

``--workers N`` runs the server with ``--workers N`` (N processes on one
socket); ``--servers N`` starts N separate servers (what N hosts behind a load
balancer are) and spreads the connections over them round-robin. With
``--state`` they share that state store and the calls hit a rule with a rate
limit (large enough never to trip), so every decision also does one atomic
spend in the store.

Each level reports the server's CPU time per request (all its processes, from
/proc) and the load generator's own, so the split of a latency between server
and client is visible: on a shared machine those, not the latencies, are the
figures to compare.

Prints numbers; asserts nothing except the hostile check (exit 1 if it fails).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_medium_risk.yaml"
BODY = json.dumps(
    {
        "call": {
            "name": "tool.read",
            "args": {"path": "/repo/README.md"},
            "targets": [{"kind": "path", "value": "/repo/README.md", "operation": "read"}],
            "context": {"identity": "bench", "workspace": "/repo"},
        }
    }
).encode()
BUDGET_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: budgeted-reads
    effect: allow
    match:
      tool_names: [tool.read]
    rate_limit: {requests: 1000000000, window: hour, scope: tool}
"""


def _request(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _worker(
    host: str, port: int, deadline: float, budget: list[int], latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = _request("/v1/evaluate", BODY)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"verdict":"allow"' not in body:
                raise RuntimeError(f"unexpected answer {status}: {body[:200]!r}")
    finally:
        writer.close()


def _sync_worker(
    host: str, port: int, deadline: float, budget: list[int], latencies: list[float]
) -> None:
    """One keep-alive connection driven by blocking calls: the leanest client there is."""
    request = _request("/v1/evaluate", BODY)
    buffer = bytearray(1 << 16)
    view = memoryview(buffer)
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            sock.sendall(request)
            got, end = 0, -1
            while True:
                count = sock.recv_into(view[got:])
                if not count:
                    raise RuntimeError("server closed the connection")
                got += count
                if end < 0:
                    head_end = buffer.find(b"\r\n\r\n", 0, got)
                    if head_end < 0:
                        continue
                    end = head_end + 4 + _content_length(bytes(buffer[:head_end]))
                if got >= end:
                    break
            latencies.append(time.perf_counter() - started)
            if buffer[9:12] != b"200" or b'"verdict":"allow"' not in buffer[:got]:
                raise RuntimeError(f"unexpected answer: {bytes(buffer[:200])!r}")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


def _pids(pid: int) -> list[int]:
    """``pid`` and its descendants (``--workers`` children), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (0 where /proc is absent)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def _level(
    host: str,
    ports: list[int],
    concurrency: int,
    requests: int,
    seconds: float,
    server_pids: tuple[int, ...] | list[int] = (),
    client: str = "asyncio",
) -> dict:
    # Warm-up: connections, first-use imports, page cache.
    if client == "sync":
        _sync_worker(host, ports[0], time.perf_counter() + 5, [50], [])
    else:
        await asyncio.gather(
            *(
                _worker(host, ports[i % len(ports)], time.perf_counter() + 5, [50], [])
                for i in range(concurrency)
            )
        )
    latencies: list[float] = []
    budget = [requests]
    pids = [p for pid in server_pids for p in _pids(pid)]
    cpu_before = _cpu_seconds(pids)
    client_before = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    if client == "sync":
        _sync_worker(host, ports[0], deadline, budget, latencies)
    else:
        await asyncio.gather(
            *(
                _worker(host, ports[i % len(ports)], deadline, budget, latencies)
                for i in range(concurrency)
            )
        )
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_before
    cpu = _cpu_seconds(pids) - cpu_before
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "servers": len(ports),
        "client": client,
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 3),
        "p99_ms": round(q[98] * 1000, 3),
        # Server CPU (all its processes) per request: what the machine pays, load aside.
        "server_cpu_ms_per_request": round(cpu * 1000 / max(len(latencies), 1), 3),
        # The load generator's own CPU: it shares the machine with the server.
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(len(latencies), 1), 3),
    }


async def _hostile(host: str, port: int, count: int) -> dict:
    rng = random.Random(20261201)
    statuses: dict[str, int] = {}

    def note(key: str) -> None:
        statuses[key] = statuses.get(key, 0) + 1

    for i in range(count):
        junk = rng.randbytes(rng.randint(1, 800))
        payload = junk if i % 2 == 0 else _request("/v1/evaluate", junk)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(payload)
            await writer.drain()
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                note(head[9:12].decode())
            except (asyncio.IncompleteReadError, ConnectionError):
                note("closed")
        finally:
            writer.close()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _ = await _read_response(reader)
    writer.close()
    ok = status == 200 and all(k == "closed" or k.startswith("4") for k in statuses)
    return {"hostile_requests": count, "statuses": statuses, "healthz": status, "ok": ok}


def _start_server(
    trace_dir: str, key_path: str, extra: list[str], log, policy: Path = POLICY
) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gait.cli.main",
            "mcp",
            "serve",
            "--json",
            "--policy",
            str(policy),
            "--listen",
            "127.0.0.1:0",
            "--trace-dir",
            trace_dir,
            "--key-mode",
            "prod",
            "--private-key",
            key_path,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(60)
    if not box or not box[0]:
        proc.kill()
        raise SystemExit("server did not start")
    return proc, json.loads(box[0])["listen"]


def _run(coro: Any) -> Any:
    """asyncio.run on uvloop when installed (the serve extra has it): a leaner client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="Requests per level (cap).")
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds per level (cap).")
    parser.add_argument("--concurrency", default="1,16", help="Comma-separated connection counts.")
    parser.add_argument("--trace-dir", default="", help="Trace directory (default: a temp dir).")
    parser.add_argument("--hostile", type=int, default=0, help="Random-bytes requests to send.")
    parser.add_argument("--server-arg", action="append", default=[], help="Extra serve flag.")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="mcp serve --workers N (default: 2 with one server, 1 per server with --servers).",
    )
    parser.add_argument(
        "--trace-durability",
        choices=("batch", "strict"),
        default="batch",
        help="mcp serve --trace-durability (default batch; the server's own default is strict).",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "sync", "asyncio"),
        default="auto",
        help="Load generator: blocking socket (sync), asyncio, or auto (sync at c=1 with one "
        "server).",
    )
    parser.add_argument("--servers", type=int, default=1, help="Separate servers to start.")
    parser.add_argument("--state", default="", help="Shared state (redis://...) for all servers.")
    args = parser.parse_args()
    if args.workers < 0 or args.servers < 1:
        parser.error("--workers must be >= 0 and --servers >= 1")
    if any(arg.startswith("--trace-durability") for arg in args.server_arg):
        parser.error("use --trace-durability, not --server-arg=--trace-durability")
    workers = args.workers or (2 if args.servers == 1 else 1)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.client == "sync" and (args.servers != 1 or any(level != 1 for level in levels)):
        parser.error("--client sync drives one connection to one server (--concurrency 1)")

    from gait.signing import generate_keypair, write_private_key

    with tempfile.TemporaryDirectory(prefix="gait-bench-serve-") as tmp:
        key_path = os.path.join(tmp, "bench.key")
        write_private_key(key_path, generate_keypair())
        trace_dir = args.trace_dir or os.path.join(tmp, "traces")
        extra, policy = list(args.server_arg), POLICY
        extra += ["--trace-durability", args.trace_durability]
        if args.state:
            policy = Path(tmp, "budget_policy.yaml")
            policy.write_text(BUDGET_POLICY)
            extra += ["--state", args.state]
        if workers > 1:
            extra += ["--workers", str(workers)]
        setup = {
            "servers": args.servers,
            "workers": workers,
            "trace_durability": args.trace_durability,
            "trace_dir": args.trace_dir or "(temporary folder)",
            "server_args": extra,
        }
        print(json.dumps({"setup": setup}, sort_keys=True), flush=True)
        with open(os.path.join(tmp, "server.log"), "wb") as log:
            servers = [
                _start_server(trace_dir, key_path, extra, log, policy) for _ in range(args.servers)
            ]
            host = servers[0][1].rsplit(":", 1)[0]
            ports = [int(listen.rsplit(":", 1)[1]) for _proc, listen in servers]
            try:
                for level in levels:
                    pids = [proc.pid for proc, _listen in servers]
                    client = args.client
                    if client == "auto":
                        client = "sync" if level == 1 and len(ports) == 1 else "asyncio"
                    result = _run(
                        _level(host, ports, level, args.requests, args.seconds, pids, client)
                    )
                    print(json.dumps(result, sort_keys=True), flush=True)
                if args.hostile:
                    report = _run(_hostile(host, ports[0], args.hostile))
                    print(json.dumps(report, sort_keys=True))
                    if not report["ok"]:
                        return 1
            except BaseException:
                log.flush()
                tail = Path(tmp, "server.log").read_text(errors="replace")[-4000:]
                sys.stderr.write(f"server log (last lines):\n{tail}\n")
                raise
            finally:
                for proc, _listen in servers:
                    proc.terminate()
                for proc, _listen in servers:
                    proc.wait(30)
        log_text = Path(tmp, "server.log").read_text(errors="replace")
        traces = len(os.listdir(trace_dir))
        print(json.dumps({"traces_written": traces, "traceback_in_log": "Traceback" in log_text}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
