"""``capture_intent``: build the intent request a gate decides on (intent.md).

The request keeps the JSON form (what ``gate eval --intent`` would read, what a
run session records) and the normalized :class:`gait.intent.Intent`, computed
once at capture, so a decision does not normalize again. A request that does
not normalize is still captured; deciding on it raises the normalization error
(exit 6, like ``gate eval``), which the adapter turns into a blocked call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from gait.errors import GaitError, InvalidInput
from gait.intent.model import Intent

__all__ = ["IntentRequest", "capture_intent", "intent_request"]

SCHEMA_ID = "gait.gate.intent_request"
SCHEMA_VERSION = "1.0.0"
SDK_PRODUCER_VERSION = "0.0.0-dev"


class IntentRequest:
    """A captured tool-call intent: ``to_dict()`` is its JSON, ``intent`` its normalized form."""

    __slots__ = ("_error", "_intent", "_raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw: dict[str, Any] = _plain(raw, "intent")
        if not isinstance(self._raw, dict):
            raise InvalidInput("intent must be a JSON object")
        self._intent: Intent | None = None
        self._error: GaitError | None = None
        from gait.intent import normalize_intent

        try:
            self._intent = normalize_intent(self._raw)
        except GaitError as err:
            self._error = err

    @property
    def tool_name(self) -> str:
        return str(self._raw.get("tool_name") or "")

    @property
    def args(self) -> dict[str, Any]:
        args = self._raw.get("args")
        return dict(args) if isinstance(args, dict) else {}

    @property
    def context(self) -> dict[str, Any]:
        ctx = self._raw.get("context")
        return dict(ctx) if isinstance(ctx, dict) else {}

    @property
    def intent(self) -> Intent:
        """The normalized intent; raises the normalization error for an invalid request."""
        if self._intent is None:
            assert self._error is not None
            raise self._error
        return self._intent

    @property
    def valid(self) -> bool:
        return self._intent is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``gait.gate.intent_request`` JSON object (a fresh copy)."""
        return msgspec.json.decode(msgspec.json.encode(self._raw))

    def to_json(self) -> bytes:
        from gait.canonical import canonical_bytes

        return canonical_bytes(self._raw)

    def __repr__(self) -> str:
        return f"IntentRequest(tool_name={self.tool_name!r})"


def capture_intent(
    tool_name: str,
    args: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    targets: Iterable[Mapping[str, Any]] = (),
    arg_provenance: Iterable[Mapping[str, Any]] = (),
    script: Mapping[str, Any] | None = None,
    created_at: str | None = None,
    producer_version: str = SDK_PRODUCER_VERSION,
    *,
    skill_provenance: Mapping[str, Any] | None = None,
    delegation: Mapping[str, Any] | None = None,
) -> IntentRequest:
    """Build an intent request (serve_sdk.md §4).

    ``context`` needs ``identity``, ``workspace`` and ``risk_class`` (intent.md);
    ``created_at`` defaults to now (UTC). Raises :class:`InvalidInput` for values
    that are not JSON data; field-level problems surface when the intent is decided.
    """
    if not isinstance(context, Mapping):
        raise InvalidInput("context must be a mapping with identity, workspace and risk_class")
    if args is not None and not isinstance(args, Mapping):
        raise InvalidInput("args must be a mapping")
    raw: dict[str, Any] = {
        "schema_id": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "created_at": created_at or _now(),
        "producer_version": producer_version,
        "tool_name": tool_name,
        "args": dict(args or {}),
        "targets": [dict(t) for t in targets],
        "context": dict(context),
    }
    provenance = [dict(p) for p in arg_provenance]
    if provenance:
        raw["arg_provenance"] = provenance
    if script is not None:
        raw["script"] = dict(script)
    if skill_provenance is not None:
        raw["skill_provenance"] = dict(skill_provenance)
    if delegation is not None:
        raw["delegation"] = dict(delegation)
    return IntentRequest(raw)


def intent_request(value: IntentRequest | Mapping[str, Any]) -> IntentRequest:
    """Accept a captured request or a raw intent mapping (e.g. a loaded intent file)."""
    if isinstance(value, IntentRequest):
        return value
    if isinstance(value, Mapping):
        return IntentRequest(value)
    raise InvalidInput(f"intent must be an IntentRequest or a mapping, not {type(value).__name__}")


def _plain(value: Any, what: str) -> Any:
    try:
        return msgspec.to_builtins(value, str_keys=True)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{what} is not JSON data: {err}") from err


def _now() -> str:
    from gait.signing import now_rfc3339

    return now_rfc3339()
