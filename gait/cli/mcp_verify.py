"""``gait mcp verify --policy p --server server.json``: MCP server trust preflight (serve_sdk.md §2).

Evaluates the policy's ``mcp_trust`` block against a local server
description and the local trust snapshot, without a tool call, a trace or
any network lookup. Exit 0 when the server would be trusted (or the policy
does not enable trust), 3 when the policy would block its calls, 4 when it
would require approval.
"""

from __future__ import annotations

import time
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import InvalidInput

_EXPLAIN = (
    "Evaluate the policy's MCP server trust rules against a local server description and "
    "local trust snapshot, without executing a tool call or looking anything up online."
)
_RISK_ORDER = ("critical", "high", "medium", "low")
MAX_SERVER_BYTES = 1024 * 1024


def _read_server(path: str) -> Any:
    import msgspec

    from gait.mcp.decode import CallServer
    from gait.safejson import loads

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SERVER_BYTES + 1)
    except OSError as err:
        raise InvalidInput(f"read server description: {err.strerror or err}: {path}") from err
    if len(data) > MAX_SERVER_BYTES:
        raise InvalidInput(f"read server description: exceeds {MAX_SERVER_BYTES} bytes")
    raw = loads(data, "parse server description")
    if not isinstance(raw, dict):
        raise InvalidInput("parse server description: must be a JSON object")
    try:
        server = msgspec.convert(raw, type=CallServer)
    except msgspec.ValidationError as err:
        raise InvalidInput(f"parse server description: {err}") from err
    if not (server.server_id or "").strip() and not (server.server_name or "").strip():
        raise InvalidInput("server description requires server_id or server_name")
    return server


def resolve_risk_class(required: tuple[str, ...] | list[str], explicit: str) -> str:
    """--risk-class, else the most severe class the trust block requires (reference order)."""
    text = explicit.strip().lower()
    if text:
        return text
    if not required:
        return "high"

    def rank(name: str) -> int:
        return _RISK_ORDER.index(name) if name in _RISK_ORDER else len(_RISK_ORDER)

    return min(required, key=rank)  # first of equal rank wins, as min() keeps order


@gait_command(
    None,
    "verify",
    explain=_EXPLAIN,
    help=(
        "MCP server trust preflight: would this policy trust the server described in "
        "server.json? Exit 0 trusted (or trust not enabled), 3 block, 4 require_approval."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--policy", default="", help="Policy YAML with an mcp_trust block.")
@click.option(
    "--server", default="", help="Server description JSON: server_id/server_name, publisher, …"
)
@click.option(
    "--risk-class",
    default="",
    help="Risk class to evaluate (default: the most severe class mcp_trust requires).",
)
def command(
    args: tuple[str, ...], policy: str, server: str, risk_class: str, json: bool
) -> Outcome:
    from gait.cli.common import load_compiled
    from gait.mcp.trust import VIOLATION, evaluate_server_trust

    if not policy.strip() or not server.strip() or args:
        raise InvalidInput("expected --policy <policy.yaml> and --server <server.json>")
    compiled = load_compiled(policy.strip())
    info = _read_server(server.strip())
    trust = compiled.policy.mcp_trust
    risk = resolve_risk_class(list(trust.required_risk_classes), risk_class)
    decision = evaluate_server_trust(trust, info, risk, time.time_ns())
    snapshot = trust.snapshot.strip()
    payload: dict[str, Any] = {
        "server_id": (info.server_id or "").strip(),
        "server_name": (info.server_name or "").strip(),
        "trust_model": "local_snapshot" if snapshot else "",
        "snapshot_path": snapshot,
        "verdict": "allow",
    }
    exit_code = 0
    if decision is not None:
        payload["server_id"] = decision.get("server_id", payload["server_id"])
        payload["server_name"] = decision.get("server_name", payload["server_name"])
        payload["reason_codes"] = list(decision.get("reason_codes") or [])
        payload["mcp_trust"] = decision
        if decision.get("enforced"):
            payload["verdict"] = trust.action
            payload["violations"] = [VIOLATION]
            exit_code = 3 if trust.action == "block" else 4
    out = {"ok": exit_code == 0, **{k: v for k, v in payload.items() if v}}
    # one line, as the original (cmd/gait/mcp.go writeMCPVerifyOutput)
    return Outcome(out, exit_code=exit_code, text=[f"mcp verify: verdict={out['verdict']}"])
