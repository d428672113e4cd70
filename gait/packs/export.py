"""``gait pack export``: one pack's verification summary and run metrics, for log pipelines and SQL.

As the original (core/pack exporters): the export record holds the pack's
identity, its integrity counts (hash mismatches, missing and undeclared
members), signature status, manifest digest, a created_at, and run metrics
read from the runpack inside (tool calls, successes, policy blocks, approvals
required, regress failures). ``--otel-out`` *appends* an OTel-style span, an
event and six metric records (one JSON object per line, keys sorted);
``--postgres-sql-out`` writes an idempotent upsert into a pack index table.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from typing import Any

from gait.errors import InvalidInput

__all__ = ["build_export_record", "otel_lines", "postgres_index_sql"]

ZERO_TIME = "1980-01-01T00:00:00Z"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _verdict(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    raw = result.get("verdict")
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if text in ("allow", "block", "require_approval"):
        return text
    if text in ("approval_required", "needs_approval", "needsapproval"):
        return "require_approval"
    return ""


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(value)
    return None


def _regress_failure(result: Any) -> bool:
    if not isinstance(result, dict) or not result:
        return False
    for key in ("regress_failures", "failed"):
        count = _as_int(result.get(key))
        if count is not None and count > 0:
            return True
    for key in ("regress_status", "status", "result_status"):
        value = result.get(key)
        if isinstance(value, str) and value.strip().lower() in ("fail", "failed", "regress_failed"):
            return True
    reasons = result.get("reason_codes")
    texts = [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else []
    texts += [v for v in (result.get("reason"), result.get("failure_reason")) if isinstance(v, str)]
    for text in texts:
        low = text.strip().lower()
        if low and "regress" in low and ("fail" in low or "drift" in low):
            return True
    return False


def _metrics(run: Any) -> dict[str, Any]:
    total = success = blocked = approval = regress = 0
    if run is not None:
        total = len(run.results) or len(run.intents)
        for record in run.results:
            if record.status.strip().lower() == "ok":
                success += 1
            verdict = _verdict(record.result)
            blocked += verdict == "block"
            approval += verdict == "require_approval"
            regress += _regress_failure(record.result)
    return {
        "tool_calls_total": total,
        "tool_calls_success": success,
        "tool_calls_success_rate": _number(success / total) if total else 0,
        "policy_blocked": blocked,
        "approval_required": approval,
        "regress_failures": regress,
    }


def _embedded_run(path: str) -> tuple[Any, dict[str, Any] | None, dict[str, Any] | None]:
    """(runpack or None, parsed pack manifest or None, parsed payload or None)."""
    from gait.packs.common import open_pack_zip
    from gait.runpack.reader import read_runpack
    from gait.safejson import loads

    members: dict[str, bytes] = {}
    with open_pack_zip(path, "pack") as archive:
        for name in ("pack_manifest.json", "manifest.json", "source/runpack.zip"):
            entry = archive.find(name)
            if entry is not None:
                members[name] = archive.read(entry)
        payload = None
        for name in ("run_payload.json", "job_payload.json"):
            entry = archive.find(name)
            if entry is not None:
                payload = loads(archive.read(entry), name)
                break
    manifest = None
    if "pack_manifest.json" in members:
        manifest = loads(members["pack_manifest.json"], "pack_manifest.json")
    elif "manifest.json" in members:
        manifest = loads(members["manifest.json"], "manifest.json")
    run = None
    if "source/runpack.zip" in members:
        with tempfile.TemporaryDirectory(prefix="gait-export-") as tmp:
            inner = os.path.join(tmp, "runpack.zip")
            with open(inner, "wb") as handle:
                handle.write(members["source/runpack.zip"])
            run = read_runpack(inner)
    elif "manifest.json" in members and "pack_manifest.json" not in members:
        run = read_runpack(path)
    return run, manifest, payload if isinstance(payload, dict) else None


def build_export_record(path: str) -> dict[str, Any]:
    from gait.canonical import digest
    from gait.packs.verify import verify_any_pack

    target = path.strip()
    if not target:
        raise InvalidInput("pack path is required")
    report = verify_any_pack(target)
    run, manifest, payload = _embedded_run(target)
    created = ""
    legacy = manifest is not None and "pack_id" not in manifest and "run_id" in manifest
    if manifest is not None and not legacy:
        created = str(manifest.get("created_at") or manifest.get("generated_at") or "")
    if not created and payload is not None:
        created = str(payload.get("created_at") or "")
    if not created and run is not None:
        created = run.run.created_at or ""
    record: dict[str, Any] = {}
    for key, value in (
        ("pack_id", report.pack_id),
        ("pack_type", report.pack_type),
        ("source_ref", report.source_ref or report.run_id),
        ("manifest_digest", digest(manifest) if isinstance(manifest, dict) else report.pack_id),
    ):
        if value:
            record[key] = value
    record.update(
        files_checked=report.files_checked,
        hash_mismatches=len(report.hash_mismatches),
        missing_files=len(report.missing_files),
        undeclared_files=len(report.undeclared_files),
    )
    if report.signature_status:
        record["signature_status"] = report.signature_status
    record.update(
        signatures_total=report.signatures_total,
        signatures_valid=report.signatures_valid,
        created_at=created or ZERO_TIME,
        metrics=_metrics(run),
    )
    return record


def _unix_nanos(text: str) -> int:
    from gait.signing import parse_rfc3339

    seconds, nanos = parse_rfc3339(text)
    return seconds * 1_000_000_000 + nanos


def _otel_ids(record: dict[str, Any]) -> tuple[str, str]:
    from gait.intent._text import is_sha256_hex

    seed = str(record.get("pack_id") or "").strip().lower()
    if not is_sha256_hex(seed):
        seed = str(record.get("manifest_digest") or "").strip().lower()
    if not is_sha256_hex(seed):
        text = f"{record.get('pack_type', '')}|{record.get('source_ref', '')}"
        seed = hashlib.sha256(text.encode()).hexdigest()
    return seed[:32], seed[32:48]


def otel_lines(record: dict[str, Any]) -> bytes:
    """The span, event and metric records, one sorted-key JSON object per line."""
    when = _unix_nanos(str(record.get("created_at") or ZERO_TIME))
    trace_id, span_id = _otel_ids(record)
    integrity_ok = not (
        record["hash_mismatches"] or record["missing_files"] or record["undeclared_files"]
    )
    metrics = record["metrics"]
    attributes = {
        "gait.pack_id": record.get("pack_id", ""),
        "gait.pack_type": record.get("pack_type", ""),
        "gait.source_ref": record.get("source_ref", ""),
        "gait.manifest_digest": record.get("manifest_digest", ""),
        "gait.files_checked": record["files_checked"],
        "gait.hash_mismatches": record["hash_mismatches"],
        "gait.missing_files": record["missing_files"],
        "gait.undeclared_files": record["undeclared_files"],
        "gait.signature_status": record.get("signature_status", ""),
        "gait.signatures_total": record["signatures_total"],
        "gait.signatures_valid": record["signatures_valid"],
        "gait.integrity_ok": integrity_ok,
        "gait.tool_calls_total": metrics["tool_calls_total"],
        "gait.tool_calls_ok": metrics["tool_calls_success"],
        "gait.policy_blocked": metrics["policy_blocked"],
        "gait.approval_required": metrics["approval_required"],
        "gait.regress_failures": metrics["regress_failures"],
    }
    records: list[dict[str, Any]] = [
        {
            "record_type": "span",
            "trace_id": trace_id,
            "span_id": span_id,
            "name": "gait.pack.verify",
            "start_time_unix_nano": when,
            "end_time_unix_nano": when,
            "status": {"code": "ok" if integrity_ok else "error"},
            "attributes": attributes,
            "instrumentation_scope": "gait.pack.export",
        },
        {
            "record_type": "event",
            "time_unix_nano": when,
            "severity_text": "INFO",
            "body": "gait.pack.export.metadata",
            "trace_id": trace_id,
            "span_id": span_id,
            "attributes": attributes,
        },
    ]
    for name, key, value_key, unit in (
        ("gait.pack.tool_calls_total", "tool_calls_total", "value_int", "1"),
        ("gait.pack.tool_calls_success_total", "tool_calls_success", "value_int", "1"),
        ("gait.pack.tool_calls_success_rate", "tool_calls_success_rate", "value_double", "ratio"),
        ("gait.pack.policy_blocked_total", "policy_blocked", "value_int", "1"),
        ("gait.pack.approval_required_total", "approval_required", "value_int", "1"),
        ("gait.pack.regress_failures_total", "regress_failures", "value_int", "1"),
    ):
        records.append(
            {
                "record_type": "metric",
                "time_unix_nano": when,
                "name": name,
                "unit": unit,
                "attributes": attributes,
                value_key: metrics[key],
            }
        )
    out = b""
    for item in records:
        line = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        out += line.encode("utf-8") + b"\n"
    return out


def append_otel(path: str, record: dict[str, Any]) -> str:
    """Append the records (the original appends: one export per pack into one stream)."""
    import fcntl

    target = path.strip()
    if not target:
        raise InvalidInput("otel output path is required")
    parent = os.path.dirname(target)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    data = otel_lines(record)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as err:
        raise InvalidInput(f"write otel export record: {err.strerror or err}") from err
    with os.fdopen(fd, "ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write(data)
        handle.flush()
    return target


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_COLUMNS = (
    ("pack_id", "TEXT PRIMARY KEY"),
    ("pack_type", "TEXT NOT NULL"),
    ("source_ref", "TEXT NOT NULL"),
    ("manifest_digest", "TEXT NOT NULL"),
    ("files_checked", "INTEGER NOT NULL"),
    ("hash_mismatches", "INTEGER NOT NULL"),
    ("missing_files", "INTEGER NOT NULL"),
    ("undeclared_files", "INTEGER NOT NULL"),
    ("signature_status", "TEXT NOT NULL"),
    ("signatures_total", "INTEGER NOT NULL"),
    ("signatures_valid", "INTEGER NOT NULL"),
    ("tool_calls_total", "INTEGER NOT NULL"),
    ("tool_calls_success", "INTEGER NOT NULL"),
    ("tool_calls_success_rate", "DOUBLE PRECISION NOT NULL"),
    ("policy_blocked", "INTEGER NOT NULL"),
    ("approval_required", "INTEGER NOT NULL"),
    ("regress_failures", "INTEGER NOT NULL"),
    ("created_at", "TIMESTAMPTZ NOT NULL"),
)


def postgres_index_sql(record: dict[str, Any], table: str, *, include_ddl: bool) -> bytes:
    parts = (table.strip() or "gait_pack_index").split(".")
    if len(parts) > 2:
        raise InvalidInput("postgres table must be <table> or <schema.table>")
    for part in parts:
        if not _IDENTIFIER.match(part.strip()):
            raise InvalidInput(f"postgres identifier must match {_IDENTIFIER.pattern}")
    quoted = ".".join(_quote(p.strip()) for p in parts)
    prefix = parts[-1].strip().lower()
    metrics = record["metrics"]
    values = {
        "pack_id": _literal(str(record.get("pack_id", "")).strip()),
        "pack_type": _literal(str(record.get("pack_type", "")).strip()),
        "source_ref": _literal(str(record.get("source_ref", "")).strip()),
        "manifest_digest": _literal(str(record.get("manifest_digest", "")).strip()),
        "signature_status": _literal(str(record.get("signature_status", "")).strip()),
        "tool_calls_success_rate": f"{float(metrics['tool_calls_success_rate']):.6f}",
        "created_at": _literal(str(record.get("created_at") or ZERO_TIME)) + "::timestamptz",
    }
    for key in ("files_checked", "hash_mismatches", "missing_files", "undeclared_files"):
        values[key] = str(record[key])
    for key in ("signatures_total", "signatures_valid"):
        values[key] = str(record[key])
    for key in ("tool_calls_total", "tool_calls_success", "policy_blocked"):
        values[key] = str(metrics[key])
    for key in ("approval_required", "regress_failures"):
        values[key] = str(metrics[key])
    lines: list[str] = []
    if include_ddl:
        lines.append(f"CREATE TABLE IF NOT EXISTS {quoted} (")
        lines += [f"  {name} {kind}," for name, kind in _COLUMNS[:-1]]
        lines.append(f"  {_COLUMNS[-1][0]} {_COLUMNS[-1][1]}")
        lines.append(");")
        index = _quote(f"idx_{prefix}_pack_type_created_at")
        lines.append(
            f"CREATE INDEX IF NOT EXISTS {index} ON {quoted} (pack_type, created_at DESC);"
        )
        index = _quote(f"idx_{prefix}_source_ref")
        lines.append(f"CREATE INDEX IF NOT EXISTS {index} ON {quoted} (source_ref);")
        lines.append("")
    lines.append(f"INSERT INTO {quoted} (")
    lines += [f"  {name}," for name, _ in _COLUMNS[:-1]] + [f"  {_COLUMNS[-1][0]}"]
    lines.append(") VALUES (")
    lines += [f"  {values[name]}," for name, _ in _COLUMNS[:-1]]
    lines.append(f"  {values['created_at']}")
    lines.append(")")
    lines.append("ON CONFLICT (pack_id) DO UPDATE SET")
    updates = [f"  {name} = EXCLUDED.{name}" for name, _ in _COLUMNS[1:]]
    lines += [u + "," for u in updates[:-1]] + [updates[-1] + ";"]
    return ("\n".join(lines) + "\n").encode("utf-8")
