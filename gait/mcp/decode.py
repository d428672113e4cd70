"""Tool-call payloads from agent runtimes → normalized intents (serve_sdk.md §1).

Each runtime has its own call shape (native MCP ToolCall, OpenAI function
call, Anthropic ``tool_use`` block, LangChain action, Claude Code hook). Each
shape is a typed msgspec Struct, so a wrong JSON type is caught in one place
and reported with the field's path. The decoded call is turned into an
``intent_request`` mapping and passed through :func:`gait.intent.normalize_intent`,
the normalization ``gate eval`` uses, so the digests of a proxied call equal
those of the same intent given to ``gate eval``.

Like the reference's Go decoding, unknown keys are ignored and ``null`` means
"absent". Unlike it, key matching is exact (``Name`` does not bind ``name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gait.errors import InvalidInput, Location
from gait.intent._raw import RawIntent
from gait.intent.decode import _no_repeated_keys
from gait.intent.model import Intent
from gait.safejson import MAX_DEPTH as _MAX_DEPTH

__all__ = [
    "ADAPTERS",
    "FALLBACK_CONTEXT_WARNING",
    "DecodedCall",
    "ToolCall",
    "build_intent_request",
    "canonical_adapter",
    "decode_tool_call",
]

ADAPTERS = ("mcp", "openai", "anthropic", "langchain", "claude_code")
"""Canonical adapter names; ``""`` means ``mcp``, ``claude-code``/``claudecode`` mean ``claude_code``."""

_ADAPTER_ALIASES = {"": "mcp", "claude-code": "claude_code", "claudecode": "claude_code"}

DEFAULT_IDENTITY = "mcp-proxy"
DEFAULT_WORKSPACE = "."
DEFAULT_RISK_CLASS = "high"
DEFAULT_CREATED_AT = "1980-01-01T00:00:00Z"
PRODUCER_VERSION = "0.0.0-dev"
FALLBACK_CONTEXT_WARNING = (
    "standard profile applied fallback intent context; "
    "use --profile oss-prod for strict context enforcement"
)

# Go's strings.TrimSpace set (ASCII whitespace plus the Unicode spaces it knows).
_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _trim(value: str | None) -> str:
    return value.strip(_SPACE) if value else ""


# --- payload shapes ---------------------------------------------------------
# Fields are ``X | None``: JSON null is accepted and means "absent", as in Go.


class _Shape(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every payload shape: unknown keys ignored, all fields optional."""


class CallTarget(_Shape):
    kind: str | None = None
    value: str | None = None
    operation: str | None = None
    sensitivity: str | None = None
    discovery_method: str | None = None
    discovery_method_alias: str | None = msgspec.field(default=None, name="discoveryMethod")
    read_only_hint: bool | None = None
    read_only_hint_alias: bool | None = msgspec.field(default=None, name="readOnlyHint")
    destructive_hint: bool | None = None
    destructive_hint_alias: bool | None = msgspec.field(default=None, name="destructiveHint")
    idempotent_hint: bool | None = None
    idempotent_hint_alias: bool | None = msgspec.field(default=None, name="idempotentHint")
    open_world_hint: bool | None = None
    open_world_hint_alias: bool | None = msgspec.field(default=None, name="openWorldHint")
    annotations: dict[str, Any] | None = None


class CallArgProvenance(_Shape):
    arg_path: str | None = None
    source: str | None = None
    source_ref: str | None = None
    integrity_digest: str | None = None


class CallScriptStep(_Shape):
    name: str | None = None
    args: dict[str, Any] | None = None
    targets: list[CallTarget] | None = None
    arg_provenance: list[CallArgProvenance] | None = None


class CallScript(_Shape):
    steps: list[CallScriptStep] | None = None


class CallServer(_Shape):
    server_id: str | None = None
    server_name: str | None = None
    publisher: str | None = None
    source: str | None = None
    endpoint: str | None = None


class OAuthEvidence(_Shape):
    issuer: str | None = None
    audience: list[str] | None = None
    subject: str | None = None
    client_id: str | None = None
    token_type: str | None = None
    scopes: list[str] | None = None
    dcr_client_id: str | None = None
    redirect_uri: str | None = None
    token_binding: str | None = None
    auth_time: str | None = None
    evidence_ref: str | None = None


class CallContext(_Shape):
    identity: str | None = None
    workspace: str | None = None
    risk_class: str | None = None
    phase: str | None = None
    job_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    run_id: str | None = None
    auth_mode: str | None = None
    oauth_evidence: OAuthEvidence | None = None
    auth_context: dict[str, Any] | None = None
    credential_scopes: list[str] | None = None
    environment_fingerprint: str | None = None
    context_envelope_path: str | None = None


class CallDelegationLink(_Shape):
    delegator_identity: str | None = None
    delegate_identity: str | None = None
    scope_class: str | None = None
    token_ref: str | None = None


class CallDelegation(_Shape):
    requester_identity: str | None = None
    scope_class: str | None = None
    token_refs: list[str] | None = None
    chain: list[CallDelegationLink] | None = None


class ToolCall(_Shape):
    """The native MCP ToolCall (serve_sdk.md §1.2); every adapter decodes into one."""

    name: str | None = None
    args: dict[str, Any] | None = None
    script: CallScript | None = None
    target: str | None = None
    targets: list[CallTarget] | None = None
    arg_provenance: list[CallArgProvenance] | None = None
    server: CallServer | None = None
    context: CallContext | None = None
    delegation: CallDelegation | None = None
    created_at: str | None = None


class _OpenAIFunction(_Shape):
    name: str | None = None
    arguments: Any = None  # JSON string of an object, an object, or null


class OpenAICall(_Shape):
    function: _OpenAIFunction | None = None


class AnthropicCall(_Shape):
    type: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class LangChainCall(_Shape):
    tool: str | None = None
    tool_input: Any = None  # object, JSON string of an object, or null


class ClaudeCodeHook(_Shape):
    type: str | None = None
    name: str | None = None
    input: Any = None
    tool_name: str | None = None
    tool_input: Any = None
    session_id: str | None = None
    hook_event_name: str | None = None


class DecodedCall(msgspec.Struct, frozen=True, kw_only=True):
    """One decoded tool call, ready for :meth:`gait.gate.Gate.decide`.

    ``intent`` is normalized; fields the intent has no place for (the call's
    ``run_id``, its context-envelope path, the MCP server) are kept here.
    ``intent_request`` is the intent-request mapping that was normalized (the
    document ``gate eval --intent`` would take for the same call).
    """

    intent: Intent
    adapter: str
    run_id: str = ""
    session_id: str = ""
    job_id: str = ""
    context_envelope_path: str = ""
    warnings: tuple[str, ...] = ()
    server: CallServer | None = None
    intent_request: dict[str, Any] = msgspec.field(default_factory=dict)


# --- errors -----------------------------------------------------------------


def _error(message: str, field: str = "") -> InvalidInput:
    return InvalidInput(
        message,
        code="invalid_tool_call",
        location=Location(field=field) if field else None,
        details={"field": field} if field else None,
    )


def _field_of(err: msgspec.ValidationError) -> str:
    text = str(err)
    marker = " - at `$"
    at = text.rfind(marker)
    if at < 0:
        return ""
    return text[at + len(marker) :].rstrip("`").lstrip(".")


def _shape_error(adapter: str, err: msgspec.ValidationError) -> InvalidInput:
    text = str(err)
    field = _field_of(err)
    bare = text.split(" - at `$", 1)[0]
    where = f"field {field}: " if field else ""
    return _error(f"parse {_label(adapter)} tool call: {where}{bare}", field)


def _label(adapter: str) -> str:
    return {"claude_code": "claude code"}.get(adapter, adapter)


# --- decoding ---------------------------------------------------------------


def canonical_adapter(adapter: str) -> str:
    """Canonical adapter name; unknown → ``InvalidInput("unsupported adapter: X")``."""
    name = _trim(adapter).lower()
    name = _ADAPTER_ALIASES.get(name, name)
    if name not in ADAPTERS:
        raise _error(f"unsupported adapter: {adapter}", "adapter")
    return name


def _check_folded_keys(value: Any, what: str, depth: int = 0) -> None:
    """Reject keys of one object that differ only in case, in an already-parsed payload."""
    if depth > 1000:
        raise _error(f"{what}: JSON nesting exceeds 1000 levels")
    if isinstance(value, Mapping):
        seen: dict[str, str] = {}
        for key, item in value.items():
            if isinstance(key, str):
                first = seen.setdefault(key.lower(), key)
                if first != key:
                    raise _error(f"{what}: duplicate key {key!r} (also spelled {first!r})")
            _check_folded_keys(item, what, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_folded_keys(item, what, depth + 1)


def _json_object(payload: bytes | str | Mapping[str, Any], adapter: str) -> Any:
    """The payload as a decoded JSON value (object check left to the shape).

    A key repeated in one object (exactly or in another case) is an error, as
    for intent files: two spellings must never be read two ways.
    """
    what = f"parse {_label(adapter)} tool call"
    if isinstance(payload, Mapping):
        _check_folded_keys(payload, what)
        return payload
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    elif not isinstance(payload, bytes):
        payload = bytes(payload)
    if not payload.strip():
        # Go's json.Unmarshal wording (core/mcp/proxy.go DecodeToolCall wraps it)
        raise _error(f"{what}: unexpected end of JSON input")
    from gait.safejson import check_duplicate_keys

    check_duplicate_keys(payload, what)
    try:
        return msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        message = str(err)
        if message == "Input data was truncated":
            message = "unexpected end of JSON input"  # Go's json.Unmarshal wording
        raise _error(f"parse {_label(adapter)} tool call: {message}") from None
    except RecursionError:
        raise _error(f"parse {_label(adapter)} tool call: exceeded max depth") from None


_SHAPES: dict[str, type[msgspec.Struct]] = {
    "mcp": ToolCall,
    "openai": OpenAICall,
    "anthropic": AnthropicCall,
    "langchain": LangChainCall,
    "claude_code": ClaudeCodeHook,
}
_decode_any = msgspec.json.Decoder().decode
_TYPED = {name: msgspec.json.Decoder(shape).decode for name, shape in _SHAPES.items()}


def _fast_shape(data: bytes, adapter: str) -> Any:
    """The payload decoded straight into its shape, or ``None`` when not proven equal.

    One C pass instead of a duplicate-key pass, a generic decode and a convert.
    Only taken when it cannot differ from :func:`_json_object` + :func:`_convert`:
    nesting too shallow to hit the depth limit, a clean typed decode, and no
    repeated key (proved by ``_no_repeated_keys``). Anything else (every error
    included) returns ``None`` and the general path decides, in its own words.
    """
    if data.count(b"{") + data.count(b"[") > _MAX_DEPTH:
        return None
    try:
        shape = _TYPED[adapter](data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        return None
    return shape if _no_repeated_keys(data) else None


_UNPROVEN = object()


def _fast_json(data: bytes) -> Any:
    """``data`` decoded when that is proved to equal the checked decode, else ``_UNPROVEN``."""
    if data.count(b"{") + data.count(b"[") > _MAX_DEPTH:
        return _UNPROVEN
    try:
        value = _decode_any(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return _UNPROVEN
    if type(value) is dict and _flat_keys_distinct(data, value):
        return value
    return value if _no_repeated_keys(data) else _UNPROVEN


def _flat_keys_distinct(data: bytes, obj: dict[str, Any]) -> bool:
    """True only if ``data``, decoded as ``obj``, wrote each key once and no two in another case.

    The common argument string is one flat object. In ASCII text without
    escapes every quote delimits a string, so once whitespace is removed each
    key written ends in '":' (a string value starting with ':' only adds to
    the count). A count equal to the decoded object's size therefore means no
    key was written twice and every nested object is empty; the keys of that
    one object are then compared folded, as the full check does. ``False``
    means "not proven" (the caller runs the other proofs).
    """
    if b"\\" in data or not data.isascii():
        return False
    size = len(obj)
    if data.translate(None, _JSON_WHITESPACE).count(b'":') != size:
        return False
    if size < 2:
        return True
    keys = "".join(obj)
    return (keys.isascii() and keys.islower()) or len({key.lower() for key in obj}) == size


_JSON_WHITESPACE = b" \t\n\r"


def _convert(obj: Any, shape: type[msgspec.Struct], adapter: str) -> Any:
    if not isinstance(obj, Mapping):
        kind = "array" if isinstance(obj, list) else type(obj).__name__
        raise _error(f"parse {_label(adapter)} tool call: expected a JSON object, got {kind}")
    if type(obj) is not dict:
        obj = dict(obj)
    try:
        return msgspec.convert(obj, shape)
    except msgspec.ValidationError as err:
        raise _shape_error(adapter, err) from None
    except RecursionError:
        raise _error(f"parse {_label(adapter)} tool call: exceeded max depth") from None


def _object_arguments(raw: Any, what: str, field: str) -> dict[str, Any]:
    """An argument object given as an object, a JSON string of one, or null/empty."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str):
        if not _trim(raw):
            return {}
        data = raw.encode("utf-8", "surrogatepass")
        parsed = _fast_json(data)
        if parsed is _UNPROVEN:
            from gait.safejson import check_duplicate_keys

            check_duplicate_keys(data, f"decode {what}")
        try:
            if parsed is _UNPROVEN:
                parsed = msgspec.json.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            raise _error(f"decode {what}: {err}", field) from None
        except RecursionError:
            raise _error(f"decode {what}: exceeded max depth", field) from None
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            raise _error(f"decode {what}: arguments must encode a JSON object", field)
        return parsed
    raise _error(f"decode {what}: arguments must be a JSON object or a JSON string", field)


_CLAUDE_NAMES = {
    "read": "tool.read",
    "grep": "tool.read",
    "glob": "tool.read",
    "webfetch": "tool.read",
    "websearch": "tool.read",
    "write": "tool.write",
    "edit": "tool.write",
    "notebookedit": "tool.write",
    "bash": "tool.exec",
    "task": "tool.delegate",
}


def claude_code_tool_name(raw: str) -> str:
    """Map a Claude Code tool name onto the gait tool vocabulary ("" when empty)."""
    mapped = _CLAUDE_MEMO.get(raw)
    if mapped is None:
        mapped = _claude_code_tool_name(raw)
        if len(_CLAUDE_MEMO) < 1024 and type(raw) is str:
            _CLAUDE_MEMO[raw] = mapped
    return mapped


# Hooks send a handful of tool names over and over: the mapping is remembered
# (a pure function of the text; bounded so odd names cannot grow it for ever).
_CLAUDE_MEMO: dict[str, str] = {}


def _claude_code_tool_name(raw: str) -> str:
    name = _trim(raw)
    if not name:
        return ""
    key = name.lower().replace(" ", "").replace("_", "").replace("-", "")
    mapped = _CLAUDE_NAMES.get(key)
    if mapped:
        return mapped
    if "." in name:
        return name.lower()
    return "tool." + name.lower().replace(" ", "_").replace("-", "_")


def _first_text(args: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = args.get(key)
        if isinstance(value, str) and (value := value.strip(_SPACE)):
            return value
    return ""


def _claude_targets(tool: str, args: Mapping[str, Any]) -> list[CallTarget]:
    path = _first_text(args, "path", "file_path", "filepath", "file")
    if tool == "tool.read":
        url = _first_text(args, "url", "uri")
        out = [CallTarget(kind="path", value=path, operation="read")] if path else []
        if url:
            out.append(CallTarget(kind="url", value=url, operation="read"))
        return out
    if tool == "tool.write" and path:
        return [CallTarget(kind="path", value=path, operation="write")]
    if tool == "tool.exec":
        command = _first_text(args, "command", "cmd", "script")
        if command:
            return [CallTarget(kind="other", value=command, operation="execute")]
    if tool == "tool.delegate":
        task = _first_text(args, "task", "prompt", "description")
        if task:
            return [CallTarget(kind="other", value=task, operation="delegate")]
    return []


def _decode_shape(payload: bytes | str | Mapping[str, Any], adapter: str) -> Any:
    """The payload in its adapter's shape (fast path for text, general path otherwise)."""
    if isinstance(payload, (bytes, str)):
        data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        shape = _fast_shape(data, adapter)
        if shape is not None:
            return shape
        payload = data
    return _convert(_json_object(payload, adapter), _SHAPES[adapter], adapter)


def _to_tool_call(shape: Any, adapter: str) -> ToolCall:
    """One adapter's decoded shape as the native ToolCall."""
    if adapter == "mcp":
        return shape  # type: ignore[no-any-return]
    if adapter == "openai":
        fn = shape.function or _OpenAIFunction()
        args = _object_arguments(fn.arguments, "openai arguments", "function.arguments")
        return ToolCall(name=fn.name, args=args)
    if adapter == "anthropic":
        return ToolCall(name=shape.name, args=shape.input)
    if adapter == "langchain":
        args = _object_arguments(shape.tool_input, "langchain tool_input", "tool_input")
        return ToolCall(name=shape.tool, args=args)
    hook = shape
    name = claude_code_tool_name(hook.tool_name or "") or claude_code_tool_name(hook.name or "")
    if not name:
        raise _error("claude code tool call name is required", "tool_name")
    raw_args, field = (
        (hook.tool_input, "tool_input") if hook.tool_input is not None else (hook.input, "input")
    )
    args = _object_arguments(raw_args, f"claude code {field}", field)
    context = None
    session = _trim(hook.session_id)
    event = _trim(hook.hook_event_name)
    if session or event:
        context = CallContext(
            session_id=session or None,
            auth_context={"hook_event_name": event, "adapter": "claude_code"} if event else None,
        )
    return ToolCall(name=name, args=args, context=context, targets=_claude_targets(name, args))


# --- ToolCall → intent request ------------------------------------------------


def _annotation(values: Mapping[str, Any] | None, *keys: str) -> Any:
    """First annotation value under ``keys`` (``None`` when absent)."""
    if not values:
        return None
    for key in keys:
        if key in values:
            return values[key]
    return None


def _annotation_bool(values: Mapping[str, Any] | None, current: bool, *keys: str) -> bool:
    value = _annotation(values, *keys)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = _trim(value).lower()
        if text in ("true", "false"):
            return text == "true"
    return current


def _target(t: CallTarget) -> dict[str, Any]:
    notes = t.annotations
    if not notes:  # the common case: no annotation can override a field
        # _trim inlined (one call per field was a fifth of this function), and
        # only kept fields written, as the filter below the general branch does.
        plain: dict[str, Any] = {}
        if (_v := t.kind) and (_v := _v.strip(_SPACE)):
            plain["kind"] = _v
        if (_v := t.value) and (_v := _v.strip(_SPACE)):
            plain["value"] = _v
        if (_v := t.operation) and (_v := _v.strip(_SPACE)):
            plain["operation"] = _v
        if (_v := t.sensitivity) and (_v := _v.strip(_SPACE)):
            plain["sensitivity"] = _v
        if ((_v := t.discovery_method) and (_v := _v.strip(_SPACE))) or (
            (_v := t.discovery_method_alias) and (_v := _v.strip(_SPACE))
        ):
            plain["discovery_method"] = _v
        if t.read_only_hint or t.read_only_hint_alias:
            plain["read_only_hint"] = True
        if t.destructive_hint or t.destructive_hint_alias:
            plain["destructive_hint"] = True
        if t.idempotent_hint or t.idempotent_hint_alias:
            plain["idempotent_hint"] = True
        if t.open_world_hint or t.open_world_hint_alias:
            plain["open_world_hint"] = True
        return plain
    discovery = _trim(t.discovery_method) or _trim(t.discovery_method_alias)
    note = _annotation(notes, "discovery_method", "discoveryMethod")
    if isinstance(note, str):
        discovery = _trim(note)
    out: dict[str, Any] = {
        "kind": _trim(t.kind),
        "value": _trim(t.value),
        "operation": _trim(t.operation),
        "sensitivity": _trim(t.sensitivity),
        "discovery_method": discovery,
        "read_only_hint": _annotation_bool(
            notes,
            bool(t.read_only_hint or t.read_only_hint_alias),
            "read_only_hint",
            "readOnlyHint",
        ),
        "destructive_hint": _annotation_bool(
            notes,
            bool(t.destructive_hint or t.destructive_hint_alias),
            "destructive_hint",
            "destructiveHint",
        ),
        "idempotent_hint": _annotation_bool(
            notes,
            bool(t.idempotent_hint or t.idempotent_hint_alias),
            "idempotent_hint",
            "idempotentHint",
        ),
        "open_world_hint": _annotation_bool(
            notes,
            bool(t.open_world_hint or t.open_world_hint_alias),
            "open_world_hint",
            "openWorldHint",
        ),
    }
    return {k: v for k, v in out.items() if v not in ("", False)}


def _provenance(p: CallArgProvenance) -> dict[str, Any]:
    out = {
        "arg_path": _trim(p.arg_path),
        "source": _trim(p.source),
        "source_ref": _trim(p.source_ref),
        "integrity_digest": _trim(p.integrity_digest),
    }
    return {k: v for k, v in out.items() if v}


def _legacy_target(raw: str) -> dict[str, Any]:
    value = _trim(raw)
    kind = "url" if "://" in value else "path" if "/" in value else "host"
    return {"kind": kind, "value": value}


def _created_at(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_CREATED_AT
    from gait.intent.times import TimeFormatError, parse_rfc3339

    try:
        return parse_rfc3339(raw) or DEFAULT_CREATED_AT
    except TimeFormatError as err:
        raise _error(f"parse mcp tool call: field created_at: {err}", "created_at") from None


def _delegation(d: CallDelegation) -> dict[str, Any]:
    chain = [
        {
            k: v
            for k, v in {
                "delegator_identity": _trim(link.delegator_identity),
                "delegate_identity": _trim(link.delegate_identity),
                "scope_class": _trim(link.scope_class),
                "token_ref": _trim(link.token_ref),
            }.items()
            if v
        }
        for link in d.chain or ()
    ]
    out: dict[str, Any] = {
        "requester_identity": _trim(d.requester_identity),
        "scope_class": _trim(d.scope_class),
        "token_refs": list(d.token_refs or ()),
        "chain": chain,
    }
    return {k: v for k, v in out.items() if v}


def build_intent_request(
    call: ToolCall, *, profile: str = "standard"
) -> tuple[dict[str, Any], list[str]]:
    """The ``gait.gate.intent_request`` mapping for ``call`` (serve_sdk.md §1.3), plus warnings.

    Raises :class:`InvalidInput` for a missing name, an unnamed script step,
    or missing context in the strict (``oss-prod``) profile.
    """
    name = _trim(call.name)
    steps = call.script.steps if call.script is not None else None
    if not name and not steps:
        raise _error("tool call name is required", "name")

    targets = [_target(t) for t in call.targets or ()]
    if not targets and _trim(call.target):
        targets = [_legacy_target(call.target or "")]
    args: dict[str, Any] = dict(call.args) if call.args else {}

    script = None
    if steps:
        script_steps = []
        for index, step in enumerate(steps):
            step_name = _trim(step.name)
            if not step_name:
                raise _error(
                    f"script.steps[{index}].name is required", f"script.steps[{index}].name"
                )
            script_steps.append(
                {
                    "tool_name": step_name,
                    "args": dict(step.args) if step.args else {},
                    "targets": [_target(t) for t in step.targets or ()],
                    "arg_provenance": [_provenance(p) for p in step.arg_provenance or ()],
                }
            )
        script = {"steps": script_steps}
        name = "script"
        args = {}

    ctx = call.context or CallContext()
    identity, workspace, session = _trim(ctx.identity), _trim(ctx.workspace), _trim(ctx.session_id)
    warnings: list[str] = []
    if profile == "oss-prod":
        for field, value in (
            ("identity", identity),
            ("workspace", workspace),
            ("session_id", session),
        ):
            if not value:
                raise _error(f"context.{field} is required in strict profile", f"context.{field}")
    elif not (identity and workspace and session):
        warnings.append(FALLBACK_CONTEXT_WARNING)

    auth: dict[str, Any] = dict(ctx.auth_context or {})
    if _trim(ctx.auth_mode):
        auth["auth_mode"] = _trim(ctx.auth_mode)
    if ctx.oauth_evidence is not None:
        auth["oauth_evidence"] = msgspec.to_builtins(ctx.oauth_evidence)

    # _trim inlined: most of these are absent in a typical call.
    context: dict[str, Any] = {
        "identity": identity or DEFAULT_IDENTITY,
        "workspace": workspace or DEFAULT_WORKSPACE,
        "risk_class": ((_v.strip(_SPACE) if (_v := ctx.risk_class) else "") or DEFAULT_RISK_CLASS),
        "phase": _v.strip(_SPACE) if (_v := ctx.phase) else "",
        "job_id": _v.strip(_SPACE) if (_v := ctx.job_id) else "",
        "session_id": session,
        "request_id": _v.strip(_SPACE) if (_v := ctx.request_id) else "",
        "auth_context": auth,
        "credential_scopes": list(ctx.credential_scopes or ()),
        "environment_fingerprint": _v.strip(_SPACE) if (_v := ctx.environment_fingerprint) else "",
    }
    request: dict[str, Any] = {
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": _created_at(call.created_at),
        "producer_version": PRODUCER_VERSION,
        "tool_name": name,
        "args": args,
        "targets": targets,
        "arg_provenance": [_provenance(p) for p in call.arg_provenance or ()],
        "context": {k: v for k, v in context.items() if v},
    }
    if script is not None:
        request["script"] = script
    if call.delegation is not None:
        request["delegation"] = _delegation(call.delegation)
    return request, warnings


def _late_imports() -> tuple[Any, Any]:
    """The profile check and the normalizer, imported on first use and then kept.

    Imported late so ``import gait.mcp.decode`` stays light (gait.gate is not);
    kept because a ``from ... import`` per call costs over a microsecond.
    """
    global _LATE
    from gait.gate.choices import check_profile
    from gait.intent.normalize import normalize_intent

    _LATE = (check_profile, normalize_intent)
    return _LATE


_LATE: tuple[Any, Any] | None = None


def decode_tool_call(
    payload: bytes | str | Mapping[str, Any],
    *,
    adapter: str = "mcp",
    profile: str = "standard",
) -> DecodedCall:
    """Decode one adapter payload into a normalized intent (serve_sdk.md §1).

    ``payload`` is JSON text/bytes or an already-decoded object. Every
    malformed payload raises :class:`gait.errors.InvalidInput` (exit 6) whose
    message names the offending field.
    """
    check_profile, normalize_intent = _LATE or _late_imports()
    name = canonical_adapter(adapter)
    profile_name = check_profile(profile)  # case-sensitive, as on every surface
    call = _to_tool_call(_decode_shape(payload, name), name)
    request, warnings = build_intent_request(call, profile=profile_name)
    # Bound here rather than in normalize_intent: the request's times are already
    # canonical (build_intent_request parsed them), so re-parsing them is waste.
    try:
        bound: Any = msgspec.convert(request, RawIntent)
    except msgspec.ValidationError:
        bound = request  # let normalize_intent bind it and word the error
    intent = normalize_intent(bound)
    ctx = call.context or CallContext()
    return DecodedCall(
        intent=intent,
        adapter=name,
        run_id=ctx.run_id or "",
        session_id=intent.context.session_id,
        job_id=intent.context.job_id,
        context_envelope_path=_trim(ctx.context_envelope_path),
        warnings=tuple(warnings),
        server=call.server,
        intent_request=request,
    )
