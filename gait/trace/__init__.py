"""Signed decision traces: one ``gait.gate.trace`` record per gate decision (trace.md §4).

Typical use (what ``gate eval`` does)::

    record = build_trace_record(policy_digest=..., intent_digest=..., args_digest=...,
                                tool_name="fs.write", verdict="block", violations=[...])
    signed = sign_trace(record, key)
    write_trace(out or default_trace_path(signed["trace_id"]), signed)

and to check one later: ``verify_trace_file(path, resolve_verify_key(public_key=...))``.
"""

from __future__ import annotations

from gait.trace.record import (
    DEFAULT_CREATED_AT,
    TRACE_SCHEMA_ID,
    TRACE_SCHEMA_VERSION,
    build_trace_record,
    compute_event_id,
    compute_trace_id,
    project_trace,
    sign_trace,
)
from gait.trace.store import (
    TRACE_SIGNATURE_MISSING,
    default_trace_path,
    normalize_trace_path,
    read_trace,
    verify_trace,
    verify_trace_file,
    write_json_record,
    write_trace,
)

__all__ = [
    "DEFAULT_CREATED_AT",
    "TRACE_SCHEMA_ID",
    "TRACE_SCHEMA_VERSION",
    "TRACE_SIGNATURE_MISSING",
    "build_trace_record",
    "compute_event_id",
    "compute_trace_id",
    "default_trace_path",
    "normalize_trace_path",
    "project_trace",
    "read_trace",
    "sign_trace",
    "verify_trace",
    "verify_trace_file",
    "write_json_record",
    "write_trace",
]
