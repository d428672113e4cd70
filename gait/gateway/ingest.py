"""``gait gateway ingest``: one signed ``policy_enforcement`` proof record per log line.

A gateway (Kong, a Docker-logged proxy, MintMCP) already decided whether a
tool call went through; its access log says so. Each non-blank line becomes a
proof record (the shared proof-record format, record_version ``1.0``) carrying
the verdict, tool, request id and a digest of the raw line. Records are
hash-chained (``previous_record_hash``) and each ``record_hash`` is signed with
ed25519. The output is JSONL, one canonical (RFC 8785) record per line, written
atomically. Same log and key: byte-identical output (no wall clock is read,
except for the one timestamp the format cannot represent: year 1, Jan 1, 00:00:00).
"""

from __future__ import annotations

import base64
import os
import re
from typing import TYPE_CHECKING, Any

from gait.canonical import canonical_bytes, sha256_hex
from gait.errors import GaitError, InvalidInput
from gait.fsutil import atomic_write, go_os_error
from gait.safejson import DuplicateKey, loads
from gait.signing.timestamps import format_rfc3339, parse_rfc3339

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = ["SOURCES", "IngestResult", "go_clean", "ingest_logs", "parse_event"]

SOURCES = ("kong", "docker", "mintmcp")
RECORD_VERSION = "1.0"
RECORD_TYPE = "policy_enforcement"
ARTIFACT_KIND = "gait.gateway.policy_enforcement"
# Lines without a usable time get 1980-01-01T00:00:00Z plus their line number in seconds.
FALLBACK_EPOCH = 315532800
MAX_LINE_BYTES = 10 * 1024 * 1024
_GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z: "no time" in the record format
_POLICY_DIGEST = re.compile(r"(sha256:)?[a-f0-9]{64}")
_POLICY_DIGEST_SCHEMA = (
    "https://github.com/Clyra-AI/proof/schemas/v1/types/policy-enforcement.schema.json"
    "#/properties/event/properties/policy_digest/pattern"
)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Go's unicode.IsSpace: what the reference trims from each line and value.
_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_PLAIN_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?")

_VERDICTS = {
    **dict.fromkeys(("allow", "allowed", "permit", "permitted", "ok", "success"), "allow"),
    **dict.fromkeys(
        ("block", "blocked", "deny", "denied", "reject", "rejected", "forbidden", "error"),
        "block",
    ),
    **dict.fromkeys(
        ("require_approval", "approval_required", "needs_approval"), "require_approval"
    ),
    **dict.fromkeys(("dry_run", "observe", "simulate"), "dry_run"),
}


class IngestResult:
    """What one ingest wrote: source, paths and counts."""

    __slots__ = ("input_events", "log_path", "output_records", "proof_records_out", "source")

    def __init__(
        self,
        source: str,
        log_path: str,
        proof_records_out: str,
        input_events: int,
        output_records: int,
    ) -> None:
        self.source = source
        self.log_path = log_path
        self.proof_records_out = proof_records_out
        self.input_events = input_events
        self.output_records = output_records

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "log_path": self.log_path,
            "proof_records_out": self.proof_records_out,
            "input_events": self.input_events,
            "output_records": self.output_records,
        }


def go_clean(path: str) -> str:
    """Lexical path cleaning with Go's ``filepath.Clean`` rules (``//a/./b/..`` -> ``/a``)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    text = "/".join(parts)
    if rooted:
        return "/" + text
    return text or "."


def _normalize_path(path: str) -> str:
    trimmed = path.strip(_SPACE)
    if not trimmed:
        raise InvalidInput("path is required")
    cleaned = go_clean(trimmed)
    if cleaned == ".":
        raise InvalidInput("path must not resolve to current directory")
    return cleaned


def _go_dir(path: str) -> str:
    head = path[: path.rfind("/") + 1]
    return go_clean(head)


def default_output_path(log_path: str, source: str) -> str:
    """``<log dir>/gateway_<source>_policy_enforcement.jsonl``."""
    return go_clean(f"{_go_dir(log_path)}/gateway_{source}_policy_enforcement.jsonl")


# ---------------------------------------------------------------- log lines


def _value(payload: dict[str, Any], path: str) -> tuple[bool, Any]:
    current: Any = payload
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _string(payload: dict[str, Any], *keys: str) -> str:
    """The first of ``keys`` holding a non-blank string, trimmed; else ``""``."""
    for key in keys:
        found, value = _value(payload, key)
        if found and isinstance(value, str):
            trimmed = value.strip(_SPACE)
            if trimmed:
                return trimmed
    return ""


def _go_int(value: float) -> int:
    """float64 -> int64 the way Go converts on amd64 (out of range: the minimum)."""
    if value != value or not (_INT64_MIN <= value < 2.0**63):
        return _INT64_MIN
    return int(value)


def _number(value: Any) -> int | None:
    """A JSON number as the reference reads it (every number is a float64 first)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return _go_int(float(value))
    except OverflowError:
        return _INT64_MIN


def _int(payload: dict[str, Any], *keys: str) -> int:
    for key in keys:
        found, value = _value(payload, key)
        if not found:
            continue
        number = _number(value)
        if number is not None:
            return number
        if isinstance(value, str):
            text = value.strip(_SPACE)
            if _INTEGER.fullmatch(text):
                parsed = int(text)
                if _INT64_MIN <= parsed <= _INT64_MAX:
                    return parsed
    return 0


def _strings(payload: dict[str, Any], *keys: str) -> list[str]:
    for key in keys:
        found, value = _value(payload, key)
        if not found:
            continue
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        if isinstance(value, str):
            return [value]
    return []


def _unique_sorted(values: list[str]) -> list[str]:
    return sorted({v.strip(_SPACE) for v in values} - {""})


def _reason_codes(payload: dict[str, Any]) -> list[str] | None:
    codes = _unique_sorted(_strings(payload, "reason_codes", "reasons", "policy.reason_codes"))
    single = _string(payload, "reason_code", "policy.reason_code")
    if single:
        codes = _unique_sorted([*codes, single])
    return codes or None  # none: JSON null, as the reference writes it


def _unix(value: int) -> tuple[int, int]:
    if value > 1_000_000_000_000:
        seconds, millis = divmod(value, 1000)
        return seconds, millis * 1_000_000
    return value, 0


def _plain_time(text: str) -> tuple[int, int] | None:
    match = _PLAIN_TIME.fullmatch(text)
    if match is None:
        return None
    try:
        seconds, _ = parse_rfc3339("{}-{}-{}T{}:{}:{}Z".format(*match.groups()[:6]))
    except InvalidInput:
        return None
    fraction = match.group(7) or ""
    return seconds, int(fraction[:9].ljust(9, "0")) if fraction else 0


def _parse_time(value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):
        text = value.strip(_SPACE)
        if not text:
            return None
        try:
            return parse_rfc3339(text)
        except InvalidInput:
            pass
        plain = _plain_time(text)
        if plain is not None:
            return plain
        if _INTEGER.fullmatch(text):
            parsed = int(text)
            if _INT64_MIN <= parsed <= _INT64_MAX:
                return _unix(parsed)
        return None
    number = _number(value)
    return None if number is None else _unix(number)


def _event_time(payload: dict[str, Any], line_no: int) -> tuple[int, int]:
    for key in ("timestamp", "time", "ts", "started_at", "request.timestamp", "request.time"):
        found, value = _value(payload, key)
        if found:
            parsed = _parse_time(value)
            if parsed is not None:
                return parsed
    return FALLBACK_EPOCH + line_no, 0


def _verdict_from_status(status: int) -> str:
    if status >= 400:
        return "block"
    if 200 <= status < 400:
        return "allow"
    return ""


_NOT_JSON: Any = object()


def _decode(source: str, line: str) -> dict[str, Any]:
    what = "JSON object"
    try:
        payload = loads(line, what)
    except DuplicateKey:
        raise  # an ambiguous line is refused, whatever the source
    except InvalidInput:
        payload = _NOT_JSON
    if payload is _NOT_JSON or not (payload is None or isinstance(payload, dict)):
        if source == "docker":
            return {"log": line}
        raise InvalidInput("line is not valid JSON")
    payload = payload or {}
    if source == "docker" and isinstance(payload.get("log"), str):
        nested_text = payload["log"].strip(_SPACE)
        if nested_text:
            try:
                nested = loads(nested_text, f"{what} (nested log)")
            except DuplicateKey:
                raise
            except InvalidInput:
                nested = _NOT_JSON
            if nested is None or isinstance(nested, dict):
                merged = dict(nested or {})
                for key, value in payload.items():
                    if key != "log" and key not in merged:
                        merged[key] = value
                payload = merged
    return payload


def parse_event(source: str, line: str, line_no: int, raw: bytes) -> dict[str, Any]:
    """The fields of one gateway log line that go into its proof record."""
    payload = _decode(source, line)
    seconds, nanos = _event_time(payload, line_no)
    status = _int(payload, "status", "status_code", "response.status", "http.status")
    verdict_text = _string(payload, "verdict", "decision", "action", "outcome") or (
        _verdict_from_status(status)
    )
    raw_digest = "sha256:" + sha256_hex(raw)
    return {
        "seconds": seconds,
        "nanos": nanos,
        "tool_name": _string(
            payload,
            "tool_name",
            "tool",
            "route.name",
            "service.name",
            "request.path",
            "request.uri",
            "path",
        )
        or "gateway.unknown",
        "verdict": _VERDICTS.get(verdict_text.strip(_SPACE).lower(), "unknown"),
        "policy_digest": _string(
            payload, "policy_digest", "policy.hash", "policy.id", "policy_version"
        )
        or raw_digest,
        "reason_codes": _reason_codes(payload),
        "request_id": _string(payload, "request_id", "request.id", "correlation_id", "trace_id"),
        "identity": _string(payload, "identity", "consumer.username", "user", "actor"),
        "path": _string(payload, "path", "request.path", "request.uri"),
        "status_code": status,
        "raw_digest": raw_digest,
    }


# ---------------------------------------------------------------- records


def _record_hash(record: dict[str, Any], stamp: str, previous: str) -> str:
    body = {
        "record_id": record["record_id"],
        "record_version": record["record_version"],
        "timestamp": stamp,
        "source": record["source"],
        "source_product": record["source_product"],
        "agent_id": record["agent_id"],
        "record_type": record["record_type"],
        "event": record["event"],
        "controls": record["controls"],
        "metadata": record["metadata"],
        "integrity": {"previous_record_hash": previous},
    }
    return "sha256:" + sha256_hex(canonical_bytes(body))


def build_record(
    source: str,
    event: dict[str, Any],
    *,
    line_no: int,
    log_path: str,
    producer_version: str,
    previous_hash: str,
    key: KeyPair | None,
) -> tuple[bytes, str]:
    """One canonical proof-record line (without newline) and its record hash."""
    seconds, nanos = event["seconds"], event["nanos"]
    if seconds == _GO_ZERO_TIME and nanos == 0:
        import time  # the record format reads this time as "unset": now, whole seconds

        seconds = int(time.time())
    try:
        stamp = format_rfc3339(seconds)  # what the id and hash cover: whole seconds
        timestamp = format_rfc3339(seconds, nanos)
    except InvalidInput:
        raise InvalidInput(
            f"encode proof record line {line_no}: marshal json: json: error calling "
            "MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"
        ) from None
    verdict = event["verdict"]
    record: dict[str, Any] = {
        "record_version": RECORD_VERSION,
        "timestamp": timestamp,
        "source": f"gait.gateway.{source}",
        "source_product": "gait",
        "agent_id": event["identity"] or source,
        "record_type": RECORD_TYPE,
        "event": {
            "gateway_source": source,
            "gateway_log_digest": event["raw_digest"],
            "gateway_request_id": event["request_id"],
            "gateway_status_code": event["status_code"],
            "path": event["path"],
            "policy_digest": event["policy_digest"],
            "producer_version": producer_version,
            "reason_codes": event["reason_codes"],
            "tool_name": event["tool_name"],
            "verdict": verdict,
        },
        "controls": {"permissions_enforced": verdict in ("block", "require_approval")},
        "metadata": {
            "artifact_kind": ARTIFACT_KIND,
            "gateway_input_line": line_no,
            "gateway_log_path": log_path,
        },
    }
    id_body = {
        "timestamp": stamp,
        "source": record["source"],
        "source_product": record["source_product"],
        "agent_id": record["agent_id"],
        "record_type": record["record_type"],
        "event": record["event"],
    }
    record["record_id"] = f"prf-{stamp}-{sha256_hex(canonical_bytes(id_body))[:8]}"
    integrity: dict[str, str] = {"record_hash": _record_hash(record, stamp, previous_hash)}
    if previous_hash:
        integrity["previous_record_hash"] = previous_hash
    if key is not None and key.private is not None:
        signature = key.private.sign(integrity["record_hash"].encode("utf-8"))
        integrity["signing_key_id"] = key.key_id
        integrity["signature"] = "base64:" + base64.b64encode(signature).decode("ascii")
    record["integrity"] = integrity
    if not _POLICY_DIGEST.fullmatch(event["policy_digest"]):
        raise InvalidInput(
            f"validate proof record line {line_no}: jsonschema: '/event/policy_digest' does "
            f"not validate with {_POLICY_DIGEST_SCHEMA}: does not match pattern "
            "'^(sha256:)?[a-f0-9]{64}$'",
            details={"field": "event.policy_digest"},
        )
    return canonical_bytes(record), integrity["record_hash"]


def _lines(data: bytes) -> list[bytes]:
    """Lines as Go's line scanner yields them: split on LF, one trailing CR dropped."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def ingest_logs(
    source: str,
    log_path: str,
    output_path: str = "",
    *,
    producer_version: str = "0.0.0-dev",
    key: KeyPair | None = None,
) -> IngestResult:
    """Read a gateway log, write its proof records (JSONL); raises GaitError on bad input."""
    name = source.strip(_SPACE).lower()
    if name not in SOURCES:
        raise InvalidInput(f"unsupported gateway source: {source}")
    try:
        log = _normalize_path(log_path)
    except InvalidInput as err:
        raise InvalidInput(f"log path: {err.message}") from None
    try:
        out = (
            _normalize_path(output_path)
            if output_path.strip(_SPACE)
            else default_output_path(log, name)
        )
    except InvalidInput as err:
        raise InvalidInput(f"proof output path: {err.message}") from None
    version = producer_version.strip() or "0.0.0-dev"
    try:
        with open(log, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise InvalidInput(f"read gateway logs: {go_os_error(log, err)}") from None

    records: list[bytes] = []
    previous = ""
    inputs = 0
    for line_no, raw_line in enumerate(_lines(data), start=1):
        if len(raw_line) >= MAX_LINE_BYTES:
            raise InvalidInput("read gateway logs: bufio.Scanner: token too long")
        text = raw_line.decode("utf-8", "surrogateescape").strip(_SPACE)
        if not text:
            continue
        inputs += 1
        raw = text.encode("utf-8", "surrogateescape")
        try:
            event = parse_event(name, raw.decode("utf-8", "replace"), line_no, raw)
        except GaitError as err:
            raise InvalidInput(
                f"parse gateway log line {line_no}: {err.message}", details=err.details
            ) from None
        line, previous = build_record(
            name,
            event,
            line_no=line_no,
            log_path=log,
            producer_version=version,
            previous_hash=previous,
            key=key,
        )
        records.append(line)

    payload = b"\n".join(records) + (b"\n" if records else b"")
    _write(out, payload)
    return IngestResult(name, log, out, inputs, len(records))


def _write(path: str, payload: bytes) -> None:
    directory = _go_dir(path)
    try:
        os.makedirs(directory, mode=0o750, exist_ok=True)
    except OSError as err:
        raise GaitError(
            f"create proof output directory: mkdir {directory}: {_os_text(err)}",
            exit_code=1,
            code="internal_failure",
            category="io_failure",
        ) from None
    try:
        atomic_write(path, payload, 0o644)
    except OSError as err:
        raise GaitError(
            f"write proof records: {path}: {_os_text(err)}",
            exit_code=1,
            code="internal_failure",
            category="io_failure",
        ) from None


def _os_text(err: OSError) -> str:
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]
