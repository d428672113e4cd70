"""The registry pack manifest (``gait.registry.pack`` 1.0.0): read, normalize, digest, verify.

A manifest is read the way the reference reads it into its typed record, so the
digest (and therefore every signature and pin) is the same in both tools:

* only the known fields are kept; unknown ones are dropped before digesting;
* field names match case-insensitively when no exact spelling is present;
* ``null`` leaves a field at its zero value; a value of the wrong JSON type is
  an error naming the field;
* ``created_at`` is RFC 3339 and is re-rendered in its canonical form (fraction
  trimmed, a zero offset written ``Z``); a missing one is the zero time;
* ``pack_type``, ``publisher`` and ``source`` are trimmed and lower-cased.

The normalized record is rendered with the reference's omit-when-empty rules
(:func:`manifest_json`); ``digest`` is the sha256 of its JCS form without
``signatures``.

Stricter than the reference, on purpose: repeated keys are rejected (the
reference keeps the last one), and ``pack_name`` / ``pack_version`` must be
usable as one directory name each before anything is written under the cache.
"""

from __future__ import annotations

import re
from typing import Any

from gait.canonical import canonical_bytes, digest
from gait.errors import InvalidInput

__all__ = [
    "MANIFEST_FILE",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "RegistryError",
    "canonical_manifest",
    "check_publisher",
    "check_safe_segment",
    "manifest_json",
    "normalize_digest",
    "normalize_list",
    "parse_manifest",
    "signable_digest",
    "verify_signatures",
]

SCHEMA_ID = "gait.registry.pack"
SCHEMA_VERSION = "1.0.0"
MANIFEST_FILE = "registry_pack.json"


class RegistryError(InvalidInput):
    """A registry manifest, source or cache problem; the message is the reference's wording."""


# Field name -> kind, in the reference record's order.
_TOP: tuple[tuple[str, str], ...] = (
    ("schema_id", "string"),
    ("schema_version", "string"),
    ("created_at", "time"),
    ("producer_version", "string"),
    ("pack_name", "string"),
    ("pack_version", "string"),
    ("pack_type", "string"),
    ("publisher", "string"),
    ("source", "string"),
    ("risk_class", "string"),
    ("use_case", "string"),
    ("compatibility", "strings"),
    ("provenance", "map"),
    ("artifacts", "artifacts"),
    ("signatures", "signatures"),
)
_ARTIFACT = (("path", "string"), ("sha256", "string"), ("media_type", "string"))
_SIGNATURE = (
    ("alg", "string"),
    ("key_id", "string"),
    ("sig", "string"),
    ("signed_digest", "string"),
)
# Omitted from the rendered record when empty (the reference's omitempty tags).
_OMIT_EMPTY = frozenset(
    {
        "pack_type",
        "publisher",
        "source",
        "risk_class",
        "use_case",
        "compatibility",
        "provenance",
        "signatures",
        "media_type",
        "signed_digest",
    }
)
_GO_TYPES = {
    "string": "string",
    "time": "time.Time",
    "strings": "[]string",
    "map": "map[string]interface {}",
    "artifacts": "[]registry.PackArtifact",
    "signatures": "[]registry.SignatureRef",
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value: Any, struct: str, field: str, go_type: str) -> RegistryError:
    return RegistryError(
        f"parse registry manifest: json: cannot unmarshal {_json_kind(value)} "
        f"into Go struct field {struct}.{field} of type {go_type}"
    )


def _fields(obj: dict[str, Any], spec: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The known fields of ``obj``: exact names first, else a case-insensitive match."""
    names = {name for name, _ in spec}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in names:
            out[key] = value
    for key, value in obj.items():
        if key in names or not key.isascii():
            continue
        folded = key.lower()
        if folded in names and folded not in out:
            out[folded] = value
    return out


_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _canonical_time(text: str, field: str) -> str:
    """RFC 3339 text in its canonical rendering (what the reference writes back)."""
    from datetime import datetime

    match = _TIME.fullmatch(text)
    bad = RegistryError(f"parse registry manifest: parsing time {text!r} as RFC 3339 ({field})")
    if match is None:
        raise bad
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise bad from None
    zone = match.group(8)
    if zone != "Z":
        if int(zone[1:3]) > 23 or int(zone[4:6]) > 59:
            raise bad
        if zone[1:] == "00:00":
            zone = "Z"
    fraction = (match.group(7) or "")[:9].rstrip("0")
    head = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return head + (f".{fraction}" if fraction else "") + zone


def _string(value: Any, struct: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(value, struct, field, "string")
    return value


def _record(
    value: Any, spec: tuple[tuple[str, str], ...], struct: str, path: str
) -> dict[str, str]:
    if value is None:
        return {name: "" for name, _ in spec}
    if not isinstance(value, dict):
        raise _type_error(value, "RegistryPack", path, f"registry.{struct}")
    fields = _fields(value, spec)
    return {name: _string(fields.get(name), struct, f"{path}.{name}") for name, _ in spec}


def _records(
    value: Any, spec: tuple[tuple[str, str], ...], struct: str, field: str, go_type: str
) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _type_error(value, "RegistryPack", field, go_type)
    return [_record(item, spec, struct, field) for item in value]


def parse_manifest(raw: bytes) -> dict[str, Any]:
    """Parse and normalize a manifest; :class:`RegistryError` names what is wrong.

    The result holds every field of the record (``None`` for an absent list or
    map, ``""`` for an absent string); render it with :func:`manifest_json`.
    """
    from gait.safejson import loads

    if not raw.strip():
        raise RegistryError("parse registry manifest: unexpected end of JSON input")
    try:
        value = loads(raw, "parse registry manifest")
    except InvalidInput as err:
        raise RegistryError(err.message) from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise RegistryError(
            f"parse registry manifest: json: cannot unmarshal {_json_kind(value)} "
            "into Go value of type registry.RegistryPack"
        )
    fields = _fields(value, _TOP)
    out: dict[str, Any] = {}
    for name, kind in _TOP:
        item = fields.get(name)
        if kind == "string":
            out[name] = _string(item, "RegistryPack", name)
        elif kind == "time":
            if item is None:
                out[name] = _ZERO_TIME
            elif not isinstance(item, str):
                raise RegistryError(
                    "parse registry manifest: Time.UnmarshalJSON: input is not a JSON string"
                )
            else:
                out[name] = _canonical_time(item, name)
        elif kind == "strings":
            if item is None:
                out[name] = None
            elif not isinstance(item, list):
                raise _type_error(item, "RegistryPack", name, _GO_TYPES[kind])
            else:
                out[name] = [_string(s, "RegistryPack", name) for s in item]
        elif kind == "map":
            if item is not None and not isinstance(item, dict):
                raise _type_error(item, "RegistryPack", name, _GO_TYPES[kind])
            out[name] = item
        elif kind == "artifacts":
            out[name] = _records(item, _ARTIFACT, "PackArtifact", name, _GO_TYPES[kind])
        else:
            out[name] = _records(item, _SIGNATURE, "SignatureRef", name, _GO_TYPES[kind])
    if out["schema_id"] != SCHEMA_ID:
        raise RegistryError(f'unsupported schema_id "{_go_quote(out["schema_id"])}"')
    if out["schema_version"] != SCHEMA_VERSION:
        raise RegistryError(f'unsupported schema_version "{_go_quote(out["schema_version"])}"')
    if not out["pack_name"].strip():
        raise RegistryError("pack_name is required")
    if not out["pack_version"].strip():
        raise RegistryError("pack_version is required")
    for name in ("pack_type", "publisher", "source"):
        out[name] = out[name].strip().lower()
    if out["pack_type"] == "skill" and (not out["publisher"] or not out["source"]):
        raise RegistryError("skill pack requires publisher and source")
    return out


def _go_quote(text: str) -> str:
    """The inside of Go's ``%q`` for ordinary text (quotes and backslashes escaped)."""
    import json

    return json.dumps(text, ensure_ascii=False)[1:-1]


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not (k in _OMIT_EMPTY and not v)}


def manifest_json(manifest: dict[str, Any], *, signatures: bool = True) -> dict[str, Any]:
    """The record as the reference renders it (omit-when-empty rules applied)."""
    out: dict[str, Any] = {}
    for name, kind in _TOP:
        value = manifest.get(name)
        if name == "signatures" and not signatures:
            continue
        if kind in ("artifacts", "signatures") and value is not None:
            value = [_compact(item) for item in value]
        if name in _OMIT_EMPTY and not value:
            continue
        out[name] = value  # an absent artifacts list stays null, as the reference writes it
    return out


def signable_digest(manifest: dict[str, Any]) -> str:
    """sha256 hex of the JCS form of the manifest without its signatures."""
    return digest(manifest_json(manifest, signatures=False))


def canonical_manifest(manifest: dict[str, Any]) -> bytes:
    """JCS bytes of the whole normalized manifest: what the cache stores."""
    return canonical_bytes(manifest_json(manifest))


def normalize_list(values: list[str] | tuple[str, ...] | str) -> list[str]:
    """CSV items trimmed, lower-cased, de-duplicated and sorted (hosts, publishers)."""
    items = [values] if isinstance(values, str) else list(values)
    out = {seg.strip().lower() for value in items for seg in value.split(",")}
    out.discard("")
    return sorted(out)


def check_publisher(publisher: str, allowlist: list[str] | tuple[str, ...] | str) -> None:
    """Raise unless ``publisher`` is in the allowlist (no allowlist: anything passes)."""
    allowed = normalize_list(allowlist)
    if not allowed:
        return
    name = publisher.strip().lower()
    if not name:
        raise RegistryError("publisher allowlist configured but manifest publisher is empty")
    if name not in allowed:
        raise RegistryError(f"manifest publisher {name} is not in allowlist")


def normalize_digest(value: str) -> str:
    return value.strip().lower().removeprefix("sha256:")


def verify_signatures(signatures: list[dict[str, str]] | None, key: Any, digest_hex: str) -> None:
    """Raise unless one signature over ``digest_hex`` verifies with ``key`` (a KeyPair).

    Signatures over another digest, of another algorithm or key, or that do not
    decode are skipped; only "none valid" is an error.
    """
    from gait.errors import VerificationFailed
    from gait.signing import verify_signature

    if not signatures:
        raise RegistryError("registry manifest has no signatures")
    if key is None:
        raise RegistryError("public key is required for signature verification")
    for ref in signatures:
        signed = ref.get("signed_digest") or ""
        if signed.lower() != digest_hex.lower():
            continue
        try:
            verify_signature(ref, signed, key)
        except (VerificationFailed, InvalidInput):
            continue
        return
    raise RegistryError("no valid signature for manifest digest")


def check_safe_segment(field: str, value: str) -> None:
    """Refuse a manifest name that would not stay one directory inside the cache."""
    if (
        value in ("", ".", "..")
        or "/" in value
        or "\\" in value
        or "\x00" in value
        or (len(value) >= 2 and value[1] == ":")
    ):
        raise RegistryError(f"{field} {value!r} cannot be used as a cache directory name")
