"""The broker credential evidence record as a msgspec Struct: the same JSON (key order
included) as the dict the pipeline filtered by hand before (trace.md §5.6)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import gait
from gait.gate.broker import Credential, credential_record


def _former(cred: Credential, **values: Any) -> dict[str, Any]:
    """The record as gait/gate/pipeline.py built it before the Struct."""
    doc: dict[str, Any] = {
        "schema_id": "gait.gate.broker_credential_record",
        "schema_version": "1.0.0",
        "created_at": values["created_at"],
        "producer_version": gait.PRODUCER_VERSION,
        "trace_id": values["trace_id"],
        "tool_name": values["tool_name"],
        "identity": values["identity"],
        "broker": values["broker"],
        "reference": values["reference"],
        "scope": values["scope"],
        "credential_ref": cred.credential_ref,
        "issued_at": cred.issued_at,
        "expires_at": cred.expires_at,
        "ttl_seconds": cred.ttl_seconds,
    }
    return {
        k: v for k, v in doc.items() if v not in ("", [], 0) or k in ("issued_at", "expires_at")
    }


text = st.sampled_from(["", "x", "tool.write", "2026-01-01T00:00:00Z"])


@settings(max_examples=200, deadline=None)
@given(
    created_at=text.filter(bool),
    trace_id=st.just("0123456789abcdef01234567"),
    tool_name=text.filter(bool),
    identity=text,
    broker=st.sampled_from(["stub", "env", "command"]),
    reference=text,
    scope=st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True),
    credential_ref=text.filter(bool),
    issued_at=text,
    expires_at=text,
    ttl=st.sampled_from([0, 1, 300, False, True]),
)
def test_record_equals_the_former_dict(
    created_at,
    trace_id,
    tool_name,
    identity,
    broker,
    reference,
    scope,
    credential_ref,
    issued_at,
    expires_at,
    ttl,
) -> None:
    cred = Credential(broker, credential_ref, issued_at, expires_at, ttl)
    values = dict(
        created_at=created_at,
        trace_id=trace_id,
        tool_name=tool_name,
        identity=identity,
        broker=broker,
        reference=reference,
        scope=scope,
    )
    got = credential_record(cred, **values)
    assert json.dumps(got) == json.dumps(_former(cred, **values))


def test_issue_times_are_always_written() -> None:
    record = credential_record(
        Credential("stub", "stub:1", "", ""),
        created_at="2026-01-01T00:00:00Z",
        trace_id="t",
        tool_name="tool.x",
        identity="",
        broker="stub",
        reference="",
        scope=[],
    )
    assert list(record) == [
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "trace_id",
        "tool_name",
        "broker",
        "credential_ref",
        "issued_at",
        "expires_at",
    ]
