"""``gait warm status|stop``: look at or stop this user's warm start servers."""

from __future__ import annotations

import os
from typing import Any

from gait.cli import warm
from gait.cli.base import GaitGroup, Outcome, gait_command

group = GaitGroup(
    name="warm",
    help="Show or stop the warm start server of the hot commands.",
    explain=(
        "The hot one-shot commands (gate eval, policy test, verify, trace verify) are served "
        "by a per-user background process that has gait loaded; set GAIT_WARM=0 to turn it off."
    ),
    context_settings={"help_option_names": ["--help", "-h"]},
)

ASK_TIMEOUT = 2.0


def _sockets(folder: str) -> list[str]:
    if not warm.dir_is_safe(folder):
        return []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n[: -len(".sock")] for n in names if n.endswith(".sock"))


def ask(folder: str, key: str, kind: bytes) -> bytes | None:
    """Send a status (``P``) or quit (``Q``) request; the reply line, or None."""
    import socket

    path = os.path.join(folder, key + ".sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(ASK_TIMEOUT)
        try:
            sock.connect(path)
            if warm.peer_uid(sock) != os.getuid():
                return None
            sock.sendall(b"".join(warm.request(kind, b"")))
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(256)
                if not chunk:
                    return None
                reply += chunk
        except OSError:
            return None
    return reply.strip()


def status_payload() -> dict[str, Any]:
    folder = warm.socket_dir()
    key = warm.warm_key()
    servers = []
    for name in _sockets(folder):
        entry: dict[str, Any] = {"key": name, "current": name == key, "answers": False}
        reply = ask(folder, name, b"P")
        if reply and reply.startswith(b"P"):
            numbers = [int(x) for x in reply[1:].split() if x.isdigit()] + [0, 0, 0, 0]
            pid, started, served, cpu_us = numbers[:4]
            entry.update(
                answers=True,
                pid=pid,
                started_unix=started,
                served=served,
                children_cpu_ms=round(cpu_us / 1000, 1),
            )
        servers.append(entry)
    return {
        "ok": True,
        "enabled": warm.enabled(),
        "dir": folder,
        "dir_safe": warm.dir_is_safe(folder),
        "key": key,
        "servers": servers,
    }


@gait_command(
    group,
    "status",
    explain="Show the warm start folder and each server in it: key, pid, requests served.",
    help="Show the warm start servers of this user.",
)
def status_command(json: bool) -> Outcome:
    payload = status_payload()
    state = "on" if payload["enabled"] else "off (GAIT_WARM)"
    lines = [f"warm start: {state}", f"folder: {payload['dir']}"]
    if not payload["dir_safe"] and os.path.lexists(payload["dir"]):
        lines.append("folder is not safe (not a private directory of this user): not used")
    if not payload["servers"]:
        lines.append("no server running")
    for s in payload["servers"]:
        mark = " (this interpreter)" if s["current"] else ""
        if s["answers"]:
            lines.append(f"server {s['key']}{mark}: pid {s['pid']}, served {s['served']}")
        else:
            lines.append(f"server {s['key']}{mark}: not answering")
    return Outcome(payload, text=lines)


@gait_command(
    group,
    "stop",
    explain="Ask every warm start server of this user to exit; they start again on demand.",
    help="Stop this user's warm start servers.",
)
def stop_command(json: bool) -> Outcome:
    folder = warm.socket_dir()
    stopped = []
    for name in _sockets(folder):
        reply = ask(folder, name, b"Q")
        if reply and reply.startswith(b"Q"):
            pid = reply[1:].strip()  # 0 when the server sent no readable pid
            stopped.append({"key": name, "pid": int(pid) if pid.isdigit() else 0})
    payload = {"ok": True, "dir": folder, "stopped": len(stopped), "servers": stopped}
    return Outcome(payload, text=[f"stopped {len(stopped)} warm start server(s)"])
