"""Reading intent JSON the way the reference's Go struct decoding does.

The reference decodes an intent file into Go structs, which gives it three
behaviours we keep (intent.md §1): keys match struct fields case-insensitively
(``Tool_Name`` binds ``tool_name``), unknown keys are ignored, and a value of
the wrong JSON type is a *parse* error (exit 6), not a normalization error.

Fast path: msgspec decodes straight into the :mod:`gait.intent._raw` structs,
type-checking in C. Only when a document has a key that is not a canonical
field name (a case variant, or an unknown key to ignore) does it take the slow
path: generic decode, Go-style key folding in Python, then the same typed
conversion. Go's decoder also *merges* a repeated object-valued key into the
value decoded so far (struct fields and map keys accumulate, array elements
merge by index); that is reproduced for repeats that differ in case, while
byte-identical repeated keys are collapsed by the JSON parser (last wins).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from gait.errors import IntentError, InvalidInput, Location
from gait.fsutil import go_os_error
from gait.intent._raw import (
    RawArgProvenance,
    RawContext,
    RawDelegation,
    RawDelegationLink,
    RawIntent,
    RawScript,
    RawScriptStep,
    RawSkillProvenance,
    RawTarget,
)
from gait.intent._text import fold_key, trim_lower
from gait.intent.times import TimeFormatError, parse_rfc3339
from gait.safejson import MAX_DEPTH, check_depth, check_duplicate_keys

if TYPE_CHECKING:
    from pathlib import Path  # annotations only: one-shot commands do not load pathlib

__all__ = [
    "BoundIntent",
    "decode_intent_bytes",
    "parse_error",
    "raw_from_mapping",
    "raw_risk_class",
    "read_intent_file",
    "unknown_keys",
]

_decode_raw = msgspec.json.Decoder(RawIntent).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_WHITESPACE = b" \t\n\r"
_FLAT = frozenset((str, int, float, bool, type(None)))  # JSON values holding no keys
_to_builtins = msgspec.to_builtins
# error paths only: patterns, compiled (and cached by re) on first use, not at import
_BYTE_OFFSET = r"\(byte (\d+)\)"
_JSON_PATH = r" - at `\$\.?([^`]*)`$"


class BoundIntent(dict):  # type: ignore[type-arg]
    """A decoded intent: a read-only dict of the known fields (canonical names).

    Values are plain JSON (absent and ``null`` fields omitted; times already
    canonical UTC text). It also carries the typed decode in ``.raw`` so that
    :func:`gait.intent.normalize_intent` does not re-validate; the dict is
    therefore read-only (``.copy()`` gives a mutable plain dict).
    """

    __slots__ = ("raw", "unknown")

    @classmethod
    def of(cls, raw: RawIntent, unknown: tuple[str, ...] = ()) -> BoundIntent:
        """Wrap a typed decode (times already canonical).

        ``unknown`` lists the keys the decode ignored (``tool_nme``,
        ``context.identty``), so a "required" error can point at a likely typo.
        """
        bound = cls(_to_builtins(raw))
        bound.raw = raw
        bound.unknown = unknown
        return bound

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("BoundIntent is read-only; use .copy() for a mutable dict")

    def __reduce__(self) -> tuple[Any, ...]:
        # copy / deepcopy / pickle give a plain (mutable) dict.
        return (dict, (dict(self),))

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]


def parse_error(message: str, source: str = "", **where: Any) -> IntentError:
    """``parse intent json: <message>`` (exit 6), with the bare text in details."""
    location = Location(file=source, **where) if (source or where) else None
    return IntentError(
        f"parse intent json: {message}",
        location=location,
        details={"reason": message, "stage": "parse"},
    )


def _validation_error(err: msgspec.ValidationError, source: str) -> IntentError:
    message = str(err)
    match = re.search(_JSON_PATH, message)
    return (
        parse_error(message, source, field=match.group(1))
        if match
        else parse_error(message, source)
    )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


# --- Go-style key folding (slow path) --------------------------------------

_SCALAR, _STRUCT, _PSTRUCT, _LIST, _STRLIST, _MAP = range(6)
_Spec = dict[str, tuple[int, Any]]


def _spec_of(cls: type[msgspec.Struct], **nested: tuple[int, Any]) -> _Spec:
    spec: _Spec = {name: (_SCALAR, None) for name in cls.__struct_fields__}
    spec.update(nested)
    return spec


_TARGET_SPEC = _spec_of(RawTarget)
_PROVENANCE_SPEC = _spec_of(RawArgProvenance)
_LINK_SPEC = _spec_of(RawDelegationLink)
_STEP_SPEC = _spec_of(
    RawScriptStep,
    args=(_MAP, None),
    targets=(_LIST, _TARGET_SPEC),
    arg_provenance=(_LIST, _PROVENANCE_SPEC),
)
_INTENT_SPEC = _spec_of(
    RawIntent,
    args=(_MAP, None),
    script=(_PSTRUCT, _spec_of(RawScript, steps=(_LIST, _STEP_SPEC))),
    targets=(_LIST, _TARGET_SPEC),
    arg_provenance=(_LIST, _PROVENANCE_SPEC),
    skill_provenance=(_PSTRUCT, _spec_of(RawSkillProvenance)),
    delegation=(
        _PSTRUCT,
        _spec_of(RawDelegation, token_refs=(_STRLIST, None), chain=(_LIST, _LINK_SPEC)),
    ),
    relationship=(_MAP, None),
    context=(
        _STRUCT,
        _spec_of(
            RawContext,
            auth_context=(_MAP, None),
            credential_scopes=(_STRLIST, None),
            context_refs=(_STRLIST, None),
        ),
    ),
)


def _fold(obj: Mapping[Any, Any], spec: _Spec, out: dict[str, Any]) -> dict[str, Any]:
    """Bind ``obj``'s keys to ``spec``'s fields the way encoding/json does.

    Type errors are left in place for msgspec to report. Two keys binding the
    same field (``targets`` and ``Targets``) are rejected, as in every reader.
    """
    seen: dict[str, str] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        entry = spec.get(key)
        name = key
        if entry is None:
            name = fold_key(key)
            entry = spec.get(name)
            if entry is None:
                continue
        if name in seen:
            raise parse_error(f"duplicate key {key!r} (also spelled {seen[name]!r})")
        seen[name] = key
        kind, sub = entry
        if value is None:
            # null resets pointers, maps and slices; it is a no-op otherwise.
            if kind != _SCALAR and kind != _STRUCT:
                out[name] = None
            continue
        prev = out.get(name)
        if (kind == _STRUCT or kind == _PSTRUCT) and isinstance(value, Mapping):
            out[name] = _fold(value, sub, prev if isinstance(prev, dict) else {})
        elif kind == _LIST and isinstance(value, (list, tuple)):
            old = prev if isinstance(prev, list) else []
            items: list[Any] = []
            for index, item in enumerate(value):
                into = old[index] if index < len(old) else None
                if item is None:
                    items.append(into)
                elif isinstance(item, Mapping):
                    items.append(_fold(item, sub, dict(into) if isinstance(into, dict) else {}))
                else:
                    items.append(item)
            out[name] = items
        elif kind == _STRLIST and isinstance(value, (list, tuple)):
            old = prev if isinstance(prev, list) else []
            out[name] = [
                (old[index] if index < len(old) else None) if item is None else item
                for index, item in enumerate(value)
            ]
        elif kind == _MAP and isinstance(value, Mapping) and isinstance(prev, Mapping):
            merged = dict(prev)
            merged.update(value)
            out[name] = merged
        else:
            out[name] = value
    return out


# --- times -----------------------------------------------------------------


def _time(value: str | None, field: str, source: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except TimeFormatError as err:
        raise parse_error(str(err), source, field=field) from None


def _canonical_times(raw: RawIntent, source: str) -> RawIntent:
    """Replace RFC 3339 input times by canonical UTC text, in place."""
    if raw.created_at is not None:
        raw.created_at = _time(raw.created_at, "created_at", source)
    delegation = raw.delegation
    if delegation is not None:
        if delegation.issued_at is not None:
            delegation.issued_at = _time(delegation.issued_at, "delegation.issued_at", source)
        if delegation.expires_at is not None:
            delegation.expires_at = _time(delegation.expires_at, "delegation.expires_at", source)
        for index, link in enumerate(delegation.chain or ()):
            if link is not None:
                where = f"delegation.chain[{index}]"
                link.issued_at = _time(link.issued_at, f"{where}.issued_at", source)
                link.expires_at = _time(link.expires_at, f"{where}.expires_at", source)
    return raw


# --- entry points ----------------------------------------------------------


def raw_from_mapping(obj: Mapping[Any, Any], source: str = "") -> RawIntent:
    """Type-check and bind an already-decoded JSON object (Go semantics).

    Raises ``IntentError("parse intent json: ...")`` on type errors.
    """
    if not isinstance(obj, Mapping):
        kind = _json_kind(obj)
        raise parse_error(
            f"expected an intent: a JSON object with tool_name, args, targets and context "
            f"(got {'an' if kind[0] in 'aeiou' else 'a'} {kind})",
            source,
        )
    raw: RawIntent | None = None
    if type(obj) is dict:
        try:
            raw = msgspec.convert(obj, RawIntent)
        except msgspec.ValidationError:
            raw = None  # unknown or case-variant keys (or a type error): fold first
    if raw is None:
        try:
            raw = msgspec.convert(_fold(obj, _INTENT_SPEC, {}), RawIntent)
        except msgspec.ValidationError as err:
            raise _validation_error(err, source) from None
        except RecursionError:
            raise parse_error("exceeded max depth", source) from None
    return _canonical_times(raw, source)


def _where(data: bytes, message: str) -> dict[str, int]:
    match = re.search(_BYTE_OFFSET, message)
    if not match:
        return {}
    offset = int(match.group(1))
    head = data[:offset]
    return {"line": head.count(b"\n") + 1, "column": offset - (head.rfind(b"\n") + 1) + 1}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _replace_surrogates(value: Any) -> Any:
    """Go decodes unpaired UTF-16 surrogate escapes as U+FFFD."""
    if isinstance(value, str):
        if any("\ud800" <= c <= "\udfff" for c in value):
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
        return value
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def _decode_generic(data: bytes, source: str) -> Any:
    try:
        return _decode_any(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        message = str(err)
        if message == "Input data was truncated":
            # Say where it stopped: the end of the input.
            message = (
                "unexpected end of JSON input: the file ends before the JSON value is complete"
                f" (byte {len(data)})"
            )
        if b"\\u" in data:
            # msgspec rejects lone surrogate escapes, which Go accepts.
            try:
                text = data.decode("utf-8")
                value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
                return _replace_surrogates(value)
            except (ValueError, RecursionError):
                pass
        raise parse_error(message, source, **_where(data, message)) from None
    except RecursionError:
        raise parse_error("exceeded max depth", source) from None


def _check_repeated_keys(data: bytes, source: str) -> None:
    # one rule for repeated keys: "targets" twice, or "targets" and "Targets",
    # would otherwise be decided by whichever spelling the decoder keeps
    try:
        check_duplicate_keys(data, "intent")
    except InvalidInput as err:
        raise parse_error(err.message.removeprefix("intent: "), source) from None


def _keys_in(data: bytes) -> int:
    """Object keys in valid JSON: the colons outside string literals."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(data.split(b'"')[::2]).count(b":")


def _no_repeated_keys(data: bytes) -> bool:
    """True only if valid JSON ``data`` has no key repeated in one object, ignoring case.

    The common case in C: ASCII text without ``\\u`` escapes is lowercased and
    decoded (a repeat collapses into one dict entry) and re-encoded; as many keys
    after as before proves there was none. ``False`` means "not proven": the
    caller runs the full check, which names the key.
    """
    if not data.isascii():
        return False  # case folding beyond ASCII: the full check
    escapes = b"\\" in data
    if escapes and b"\\u" in data:
        return False  # keys may be spelled with escapes
    low = data.lower()
    try:
        tree = _decode_any(low)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return False
    again = _encode(tree)
    if again == low:
        return True  # compact text came back byte for byte: nothing collapsed
    if not escapes:
        # Every quote delimits a string, so once whitespace is gone each key ends
        # in '":'. Strings starting with ':' add to both sides at most as much as
        # to the original, so equal counts mean no key was dropped.
        return data.translate(None, _WHITESPACE).count(b'":') == again.count(b'":')
    return _keys_in(again) == _keys_in(data)


def _typed_no_repeats(data: bytes, raw: RawIntent) -> bool:
    """True only if ``data``, which the typed decoder took as ``raw``, repeats no key.

    When the compact encoding of ``raw`` is ``data`` byte for byte (compact JSON
    in field order, as Go and our own encoders write it), every key written is
    one kept, so none repeats exactly. Case variants cannot hide at struct level
    (the typed decode refuses them as unknown fields), only in the free-form
    maps (args, auth_context, relationship), checked with the full check's
    folding. ``False`` means "not proven".
    """
    if _encode(raw) != data:
        return False  # not compact, or another key order: not proven here
    if data.isascii() and data.islower():
        # Our encoder writes letters as themselves (never \u escapes), so with no
        # capital letter anywhere every key is its own folding, and distinct.
        return True
    args = raw.args
    # The usual args, flat with lowercase ASCII keys, are proven here without a call:
    # such keys are their own folding, and the dict holds each once.
    if (
        args
        and (
            (len(args) > 1 and not ((keys := "".join(args)).isascii() and keys.islower()))
            or not _FLAT.issuperset(map(type, args.values()))
        )
        and not _folded_keys_distinct(args)
    ):
        return False
    fold = _folded_keys_distinct
    if raw.relationship and not fold(raw.relationship):
        return False
    context = raw.context
    if context is not None and context.auth_context and not fold(context.auth_context):
        return False
    script = raw.script
    if script is not None:
        return all(not step or not step.args or fold(step.args) for step in script.steps or ())
    return True


def _folded_keys_distinct(value: Any) -> bool:
    """No object inside ``value`` has two keys equal ignoring (ASCII) case.

    A loop, not recursion: args may nest as deep as the reader allows.
    """
    stack = [value]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            if len(current) > 1:
                joined = "".join(current)
                # keys in ASCII lowercase already are their own folding
                if not (joined.isascii() and joined.islower()) and len(
                    {key.lower() for key in current}
                ) != len(current):
                    return False
            items: Any = current.values()
        else:
            items = current
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append(item)
    return True


def decode_intent_bytes(data: bytes | bytearray | memoryview | str, source: str = "") -> dict:  # type: ignore[type-arg]
    """Decode one intent JSON object into a :class:`BoundIntent`.

    Bad JSON, invalid UTF-8, a non-object document, field type errors and
    malformed times all raise ``IntentError("parse intent json: ...")``.
    """
    if type(data) is not bytes:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        elif not isinstance(data, bytes):
            data = bytes(data)
    if len(data) > MAX_DEPTH:  # shorter text cannot nest deeper
        try:
            check_depth(data, "intent")
        except InvalidInput as err:
            raise parse_error(err.message.removeprefix("intent: "), source) from None
    try:
        raw = _decode_raw(data)
        if not _typed_no_repeats(data, raw) and not _no_repeated_keys(data):
            _check_repeated_keys(data, source)
    except msgspec.ValidationError as err:
        _check_repeated_keys(data, source)
        if "unknown field" not in str(err) and not str(err).startswith("Expected `object`"):
            raise _validation_error(err, source) from None
        generic = _decode_generic(data, source)
        raw, unknown = raw_from_mapping(generic, source), unknown_keys(generic)
    except msgspec.DecodeError:
        _check_repeated_keys(data, source)
        generic = _decode_generic(data, source)
        raw, unknown = raw_from_mapping(generic, source), unknown_keys(generic)
    except UnicodeDecodeError as err:
        _check_repeated_keys(data, source)
        raise parse_error(f"invalid UTF-8: {err.reason} at byte {err.start}", source) from None
    except RecursionError:
        _check_repeated_keys(data, source)
        raise parse_error("exceeded max depth", source) from None
    else:
        if raw.created_at is not None or raw.delegation is not None:
            _canonical_times(raw, source)
        unknown = ()
    bound = BoundIntent(_to_builtins(raw))  # BoundIntent.of, without the extra call
    bound.raw, bound.unknown = raw, unknown
    return bound


def unknown_keys(obj: Any) -> tuple[str, ...]:
    """Top-level and ``context`` keys that no intent field takes (they are ignored)."""
    if not isinstance(obj, Mapping):
        return ()
    out: list[str] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        name = fold_key(key)
        if name not in RawIntent.__struct_fields__:
            out.append(key)
        elif name == "context" and isinstance(value, Mapping):
            out.extend(
                f"context.{k}"
                for k in value
                if isinstance(k, str) and fold_key(k) not in RawContext.__struct_fields__
            )
    return tuple(out)


MAX_INTENT_BYTES = 16 * 1024 * 1024
"""Largest intent file gait reads."""


def read_intent_file(path: str | Path) -> dict:  # type: ignore[type-arg]
    """Read and decode an intent file; OS errors become ``read intent: ...``."""
    from gait.fsutil import read_regular_file

    try:
        data = read_regular_file(path, MAX_INTENT_BYTES)
    except OSError as err:
        message = go_os_error(str(path), err)
        raise IntentError(
            f"read intent: {message}",
            location=Location(file=str(path)),
            details={"reason": message, "stage": "read"},
        ) from None
    return decode_intent_bytes(data, str(path))


def _lookup_folded(obj: Mapping[Any, Any], name: str) -> Any:
    """Value of the last key that folds to ``name`` (Go field matching)."""
    found = None
    for key, value in obj.items():
        if key == name or (isinstance(key, str) and fold_key(key) == name):
            found = value
    return found


def raw_risk_class(raw: Mapping[str, Any]) -> str:
    """Trimmed, lowercased ``context.risk_class`` of a raw or decoded intent.

    The engine needs it when normalization fails, to decide whether the
    fail-closed block applies (policy.md §5 step 1); missing or mistyped
    values give ``""``.
    """
    if type(raw) is BoundIntent:
        context = raw.raw.context
        return trim_lower(context.risk_class) if context and context.risk_class else ""
    if not isinstance(raw, Mapping):
        return ""
    context = _lookup_folded(raw, "context")
    if not isinstance(context, Mapping):
        return ""
    risk = _lookup_folded(context, "risk_class")
    return trim_lower(risk) if isinstance(risk, str) else ""
