"""Trace files: writing, reading and verifying them (trace.md §4, §4.1).

Reading is strict — a file that is not a UTF-8 JSON trace object is invalid
input (exit 6) — while a well-formed trace whose signature does not check out
is a verification failure (exit 2). Keeping the two apart lets callers tell
"this is not a trace" from "this trace was tampered with or is unsigned".
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from typing import Any

import msgspec

from gait.canonical import _plain
from gait.errors import InvalidInput, VerificationFailed
from gait.fsutil import atomic_write
from gait.signing import KeyPair, record_digest, verify_signature
from gait.trace.record import TRACE_SCHEMA_ID, project_trace
from gait.trace.schema import Signature

__all__ = [
    "TRACE_SIGNATURE_MISSING",
    "default_trace_path",
    "normalize_trace_path",
    "read_trace",
    "verify_trace",
    "verify_trace_file",
    "write_trace",
]

TRACE_SIGNATURE_MISSING = "trace signature missing"


def default_trace_path(trace_id: str) -> str:
    """``trace_<trace_id>.json`` in the current directory."""
    return f"trace_{trace_id}.json"


def normalize_trace_path(path: str | os.PathLike[str]) -> str:
    """Clean a trace output path; a relative path may not contain a ``..`` segment.

    Raises :class:`InvalidInput`: ``trace path is required`` or
    ``relative trace path must not traverse parent directories``.
    """
    text = os.fspath(path).strip()
    cleaned = os.path.normpath(text) if text else ""
    if cleaned in ("", ".", os.sep):
        raise InvalidInput("trace path is required")
    if not os.path.isabs(text):
        segments = text.replace("\\", "/").split("/")
        if ".." in segments:
            raise InvalidInput("relative trace path must not traverse parent directories")
    return cleaned


def write_json_record(
    path: str | os.PathLike[str],
    record: dict[str, Any],
    *,
    keep_existing: bool = False,
    writer: Callable[..., None] = atomic_write,
) -> str:
    """Write a JSON record (trace, token, audit, evidence) as 2-space pretty JSON plus ``\\n``.

    Atomic, mode 0600, parent directories created; a relative path with a ``..``
    segment is rejected. Returns the cleaned path written. ``OSError`` propagates
    (the CLI reports it as an internal failure, exit 1).

    ``keep_existing`` is for names gait picked itself (``trace_<id>.json``): an
    existing file with other content is never replaced; the record goes to the
    first free ``<stem>_2.json``, ``<stem>_3.json``, ... and that path is
    returned. A file with the very same bytes is left as it is.

    ``writer`` does the atomic write (``atomic_write``'s signature); the server
    passes a :class:`gait.fsutil.GroupCommit` writer that shares fsyncs.
    """
    target = normalize_trace_path(path)
    parent = os.path.dirname(target)
    # The folder usually exists: write first and look at it only when something
    # failed (no stat per trace); then create it as before (raising what makedirs
    # always raised) and write again. Writers leave nothing behind when they fail.
    try:
        data = pretty_json(record)
    except BaseException:
        _make_parent(parent)
        raise
    try:
        return _put(target, data, keep_existing, writer)
    except OSError:
        if not _make_parent(parent):
            raise
    return _put(target, data, keep_existing, writer)


def _make_parent(parent: str) -> bool:
    """Create a missing parent folder; True if it was missing."""
    if not parent or os.path.isdir(parent):
        return False
    os.makedirs(parent, mode=0o750, exist_ok=True)
    return True


def _put(target: str, data: bytes, keep_existing: bool, writer: Callable[..., None]) -> str:
    if not keep_existing:
        writer(target, data)
        return target
    return _write_fresh(target, data, writer)


def pretty_json(record: dict[str, Any]) -> bytes:
    """``json.dumps(record, indent=2, ensure_ascii=False) + "\\n"`` as UTF-8 bytes.

    Plain records (see :func:`gait.canonical._plain`: ASCII keys, no big ints or
    exponent-range floats) take msgspec, whose bytes are the same, about 6x faster.
    """
    if _plain(record):
        try:
            return msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
        except (UnicodeEncodeError, msgspec.EncodeError):
            pass  # lone surrogates: the stdlib path reports them as before
    return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


_MAX_SUFFIX = 10_000


def _write_fresh(target: str, data: bytes, writer: Callable[..., None]) -> str:
    stem, ext = os.path.splitext(target)
    for n in range(1, _MAX_SUFFIX + 1):
        candidate = target if n == 1 else f"{stem}_{n}{ext}"
        # A regular file (not a link) under that name would refuse the write anyway:
        # decide with one lstat instead of a written, fsynced and removed temp file
        # per taken name. Anything else (absent, link, folder) goes to the writer.
        if _is_plain_file(candidate):
            if _same_bytes(candidate, data):
                return candidate
            continue
        try:
            writer(candidate, data, overwrite=False)
            return candidate
        except FileExistsError:  # taken since the check
            if _same_bytes(candidate, data):
                return candidate
    raise InvalidInput(
        f"{_MAX_SUFFIX} files named like {target} already exist; "
        "move old traces away or choose a path with --trace-out"
    )


def _is_plain_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        if os.path.getsize(path) != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def write_trace(
    path: str | os.PathLike[str], record: dict[str, Any], *, keep_existing: bool = False
) -> str:
    """Write a signed trace record (see :func:`write_json_record`)."""
    return write_json_record(path, record, keep_existing=keep_existing)


MAX_TRACE_BYTES = 16 * 1024 * 1024
"""Largest trace file gait reads."""


def read_trace(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a trace file into its projected record (signature included).

    Raises :class:`InvalidInput` for an unreadable file (``read trace record:
    ...``), bytes that are not UTF-8 JSON or not an object or have wrongly
    typed fields (``parse trace record: ...``), or another artifact's schema.
    """
    from gait.fsutil import go_os_error, read_regular_file

    try:
        data = read_regular_file(path, MAX_TRACE_BYTES)
    except OSError as err:
        # Go's wording (core/gate/trace.go ReadTraceRecord): "open <path>: no such file ..."
        raise InvalidInput(f"read trace record: {go_os_error(os.fspath(path), err)}") from err
    from gait.safejson import DuplicateKey, NestingTooDeep, loads

    try:
        parsed = loads(data.decode("utf-8"), "parse trace record")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"parse trace record: {err}") from err
    except DuplicateKey as err:
        # a second spelling of a signed field is tampering: the record does not verify
        raise VerificationFailed(err.message, details=dict(err.details)) from None
    except NestingTooDeep as err:
        # well-formed but deeper than any writer nests a trace: it does not verify
        raise VerificationFailed(err.message) from None
    if not isinstance(parsed, dict):
        raise InvalidInput("parse trace record: expected a JSON object")
    _check_schema(parsed)
    unknown = _unknown_signature_fields(parsed)
    if unknown:
        raise VerificationFailed(unknown)
    try:
        return project_trace(parsed)
    except InvalidInput as err:
        raise InvalidInput(f"parse trace record: {err.message}") from err


def _check_schema(parsed: dict[str, Any]) -> None:
    """Readers reject other artifacts and unknown major versions (DESIGN: formats are contracts)."""
    schema_id = parsed.get("schema_id")
    if schema_id != TRACE_SCHEMA_ID:
        raise InvalidInput(f"not a trace record: schema_id {json.dumps(schema_id)}")
    version = parsed.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise InvalidInput(f"unsupported trace schema_version: {json.dumps(version)}")


_SIGNATURE_FIELDS = frozenset(f.encode_name for f in msgspec.structs.fields(Signature))


def _unknown_signature_fields(record: dict[str, Any]) -> str:
    """The signature object is not covered by the digest: any extra field is tampering."""
    signature = record.get("signature")
    if not isinstance(signature, dict):
        return ""
    extra = sorted(k for k in signature if k not in _SIGNATURE_FIELDS)
    return f"signature has unknown field {extra[0]!r}" if extra else ""


def verify_trace(record: dict[str, Any], key: KeyPair, *, path: str = "") -> dict[str, Any]:
    """Verify a trace record's signature with ``key``; returns the §4.1 result.

    The result is ``{ok, path, trace_id, verdict, signature_status, key_id}``
    plus ``error`` when ``ok`` is false (missing or invalid signature).
    Wrongly typed fields raise :class:`InvalidInput`.
    """
    projected = project_trace(record)
    signature = projected.get("signature")
    result: dict[str, Any] = {
        "ok": False,
        "path": path,
        "trace_id": projected["trace_id"],
        "verdict": projected["verdict"],
        "signature_status": "failed",
        "key_id": (signature or {}).get("key_id", ""),
    }
    if signature is None:
        result["error"] = TRACE_SIGNATURE_MISSING
        return result
    unknown = _unknown_signature_fields(record)
    if unknown:
        result["error"] = unknown
        return result
    try:
        verify_signature(signature, record_digest(projected), key)
    except VerificationFailed as err:
        result["error"] = err.message
        return result
    result["ok"] = True
    result["signature_status"] = "verified"
    return result


def verify_trace_file(path: str | os.PathLike[str], key: KeyPair) -> dict[str, Any]:
    """Read then verify a trace file (see :func:`read_trace` and :func:`verify_trace`)."""
    try:
        record = read_trace(path)
    except VerificationFailed as err:  # duplicate keys or unknown signature fields
        return {
            "ok": False,
            "path": os.fspath(path),
            "trace_id": "",
            "verdict": "",
            "signature_status": "failed",
            "key_id": "",
            "error": err.message,
        }
    return verify_trace(record, key, path=os.fspath(path))
