"""Pure parts of the MCP gateway: one ``tools/call`` into a gate ToolCall payload, and back.

No MCP SDK import here: these functions take plain data (the tool's annotations as a
mapping, the call's arguments and ``_meta``), so they are cheap to test and the same
rules hold for any MCP transport.

Targets come from the call's arguments (well-known argument names) and the tool's
annotations become hints on every target (``readOnlyHint`` -> ``read_only_hint``, ...).
Annotations are *hints from the wrapped server*: they never make a call more
permissive than its arguments alone, except where the policy says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gait.errors import InvalidInput

# ``_meta`` keys the agent may use to hand signed tokens to the gate. Tokens are
# signed objects, so accepting them from the agent grants nothing by itself.
META_APPROVAL_TOKENS = "gait/approval_tokens"
META_DELEGATION_TOKENS = "gait/delegation_tokens"
# Reserved by MCP or by us: never forwarded to the wrapped server.
_META_DROP_PREFIXES = ("gait/", "io.modelcontextprotocol/")
# The SDK parses the wire's progressToken into progress_token; drop either spelling
# (the gateway asks the wrapped server for progress itself, see gateway.forward).
PROGRESS_KEYS = frozenset({"progressToken", "progress_token"})
_META_DROP_KEYS = PROGRESS_KEYS

# Argument names that name a target, by target kind. Only top-level string values
# (or lists of strings) are taken; anything else stays an argument only.
_PATH_ARGS = ("path", "paths", "file", "files", "file_path", "filepath", "filename")
_PATH_ARGS += ("dir", "directory", "source", "destination", "src", "dst")
_URL_ARGS = ("url", "urls", "uri", "uris", "href", "endpoint")
_HOST_ARGS = ("host", "hostname", "domain")
_COMMAND_ARGS = ("command", "cmd", "script")

_HINTS = (
    ("readOnlyHint", "read_only_hint"),
    ("destructiveHint", "destructive_hint"),
    ("idempotentHint", "idempotent_hint"),
    ("openWorldHint", "open_world_hint"),
)

# Verbs in a tool name -> the operation recorded on its targets (first match wins).
_VERBS = (
    ("delete", ("delete", "remove", "rm", "unlink", "rmdir", "drop", "destroy", "purge")),
    ("execute", ("exec", "execute", "run", "shell", "spawn", "bash")),
    ("write", ("write", "edit", "create", "update", "save", "put", "append", "move")),
    ("write", ("rename", "copy", "set", "patch", "upload", "insert")),
    ("read", ("read", "get", "list", "fetch", "search", "query", "find", "view", "show")),
    ("read", ("cat", "open", "stat", "head", "download", "describe", "inspect")),
)

# The tools were listed by an MCP server (intent.md discovery vocabulary).
DISCOVERY_METHOD = "mcp"


def annotation_hints(annotations: Mapping[str, Any] | None) -> dict[str, bool]:
    """The declared MCP tool annotations as target hint fields (undeclared ones omitted)."""
    hints: dict[str, bool] = {}
    for camel, snake in _HINTS:
        value = (annotations or {}).get(camel)
        if isinstance(value, bool):
            hints[snake] = value
    return hints


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def tool_operation(name: str, hints: Mapping[str, bool]) -> str:
    """The operation a call performs: a delete/execute/write verb in the name wins, then
    ``readOnlyHint`` (read), then a read verb, then ``destructiveHint`` (delete).

    The hint comes from the wrapped server, so it may only fill a gap: a server that
    marks ``delete_file`` read-only must not turn its targets into ``fs.read``.
    """
    tokens = set(_name_tokens(name))
    verb = next((op for op, verbs in _VERBS if tokens.intersection(verbs)), "")
    if verb not in ("", "read"):
        return verb
    if hints.get("read_only_hint") is True:
        return "read"
    if verb:
        return verb
    if hints.get("destructive_hint") is True:
        return "delete"
    return ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _fold(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _kind_of(value: str, declared: str) -> str:
    if declared == "path" and "://" in value:
        return "url"  # file:// and friends given under a path argument
    return declared


def derive_targets(
    name: str, arguments: Mapping[str, Any], annotations: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Targets for the gate from the call's arguments, with the tool's hints on each."""
    hints = annotation_hints(annotations)
    operation = tool_operation(name, hints)
    # Argument names are matched without case, ``_`` or ``-`` (``filePath``, ``File-Path``),
    # so a server's spelling of ``file_path`` cannot leave its path out of the targets.
    by_name: dict[str, list[str]] = {}
    for key, raw in arguments.items():
        if isinstance(key, str):
            by_name.setdefault(_fold(key), []).extend(_strings(raw))
    targets: list[dict[str, Any]] = []
    groups = (("path", _PATH_ARGS), ("url", _URL_ARGS), ("host", _HOST_ARGS))
    for kind, keys in groups:
        for key in dict.fromkeys(_fold(k) for k in keys):  # file_path and filepath: once
            for value in by_name.get(key, ()):
                target: dict[str, Any] = {"kind": _kind_of(value, kind), "value": value}
                if operation:
                    target["operation"] = operation
                targets.append(target)
    for key in _COMMAND_ARGS:
        for value in by_name.get(_fold(key), ()):
            targets.append({"kind": "other", "value": value, "operation": "execute"})
    for target in targets:
        target["discovery_method"] = DISCOVERY_METHOD
        target.update(hints)
    return targets


def build_tool_call(
    name: str,
    arguments: Mapping[str, Any] | None,
    annotations: Mapping[str, Any] | None,
    context: Mapping[str, str],
    *,
    server: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The native ``mcp`` adapter ToolCall (serve_sdk.md §1.2) for one ``tools/call``.

    ``context`` holds the operator's flags (identity, workspace, risk_class,
    session_id, ...); empty values are left out so the decoder's defaults apply.
    No per-call values (request id, clock) go into it: the intent digest of a
    call must not change when the agent retries it with an approval token.
    """
    args = dict(arguments or {})
    payload: dict[str, Any] = {
        "name": name,
        "args": args,
        "targets": derive_targets(name, args, annotations),
        "context": {k: v for k, v in sorted(context.items()) if v},
    }
    if server:
        payload["server"] = {k: v for k, v in sorted(server.items()) if v}
    return payload


def _token_list(meta: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = meta.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list) or not all(isinstance(t, Mapping) for t in items):
        raise InvalidInput(f"_meta[{key!r}] must be a token object or a list of token objects")
    return [dict(t) for t in items]


def tokens_from_meta(
    meta: Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(approval tokens, delegation tokens) the agent attached to the call's ``_meta``.

    Only inline token objects are accepted, never file paths: the agent must not
    make the gateway read files of its choosing.
    """
    if not meta:
        return [], []
    return _token_list(meta, META_APPROVAL_TOKENS), _token_list(meta, META_DELEGATION_TOKENS)


def forwarded_meta(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The caller's ``_meta`` minus gait tokens and transport-reserved keys."""
    kept = {
        k: v
        for k, v in (meta or {}).items()
        if k not in _META_DROP_KEYS and not k.startswith(_META_DROP_PREFIXES)
    }
    return kept or None


def trace_file_name(run_id: str, now_ns: int, sequence: int) -> str:
    """``trace_<run>_<UTC yyyymmddTHHMMSS.nnnnnnnnn>_<seq>.json``: one name per call.

    The ``mcp proxy`` default name plus a sequence number (per gateway process)
    that keeps two calls in the same nanosecond apart; the caller also refuses
    names that already exist.
    """
    from gait.mcp.proxy import default_trace_name

    return default_trace_name(run_id, now_ns).removesuffix(".json") + f"_{sequence:06d}.json"


def decision_payload(result: Any, *, tool_name: str, run_id: str) -> dict[str, Any]:
    """What the agent learns about a decision (sorted keys; empty optionals omitted)."""
    decision = result.decision
    out: dict[str, Any] = {
        "executed": False,
        "tool_name": tool_name,
        "verdict": result.verdict,
        "policy_digest": decision.policy_digest,
        "intent_digest": decision.intent_digest,
        "trace_id": result.trace_id,
        "run_id": run_id,
    }
    optional = {
        "reason_codes": list(result.reason_codes),
        "violations": list(result.violations),
        "matched_rule": decision.matched_rule,
        "trace_path": result.trace_path,
    }
    out.update({k: v for k, v in optional.items() if v})
    return dict(sorted(out.items()))


def refusal_text(payload: Mapping[str, Any]) -> str:
    """One line an agent (or its model) can act on: what happened and what would unblock it."""
    verdict = payload.get("verdict", "error")
    reasons = ",".join(payload.get("reason_codes") or ()) or "none"
    if payload.get("forwarded"):
        return (
            f"gait: call allowed and forwarded (reason_codes={reasons}), but the wrapped MCP "
            f"server failed, so the tool may or may not have run: {payload.get('error')}"
        )
    line = f"gait: tool call not executed (verdict={verdict}, reason_codes={reasons})"
    if payload.get("error"):
        line += f": {payload['error']}"
    if verdict == "require_approval":
        line += (
            f"; approval needed for intent_digest={payload.get('intent_digest')} "
            f"policy_digest={payload.get('policy_digest')}: pass signed tokens in "
            f"_meta[{META_APPROVAL_TOKENS!r}]"
        )
    return line


def error_payload(tool_name: str, message: str, *, code: str) -> dict[str, Any]:
    """The refusal for a call the gate could not decide (fail closed: not executed)."""
    return {
        "executed": False,
        "tool_name": tool_name,
        "verdict": "error",
        "reason_codes": [code],
        "error": message,
    }
