"""Runpack record types (runpack.md §1) and their exact JSON shapes.

Every struct decodes tolerantly (unknown fields ignored, missing fields take
zero values, like the Go reference reader) and encodes through ``to_json()``,
which applies the spec's omit rules; ``to_json()`` output is what gets
JCS-encoded and hashed.
"""

# No "from __future__ import annotations": msgspec reads these annotations when it
# first decodes a type, and evaluating them from strings compiles each one.

from typing import Any

import msgspec

__all__ = [
    "CAPTURE_MODES",
    "DOCUMENT_MEMBERS",
    "MANIFEST_SCHEMA",
    "MAX_DOCUMENT_BYTES",
    "MEMBER_INTENTS",
    "MEMBER_MANIFEST",
    "MEMBER_REFS",
    "MEMBER_RESULTS",
    "MEMBER_RUN",
    "RECORD_MEMBERS",
    "SCHEMA_VERSION",
    "IntentRecord",
    "Manifest",
    "ManifestFile",
    "Receipt",
    "Refs",
    "ResultRecord",
    "Run",
    "RunEnv",
    "Signature",
    "TimelineEvent",
]

SCHEMA_VERSION = "1.0.0"
RUN_SCHEMA = "gait.runpack.run"
INTENT_SCHEMA = "gait.runpack.intent"
RESULT_SCHEMA = "gait.runpack.result"
REFS_SCHEMA = "gait.runpack.refs"
MANIFEST_SCHEMA = "gait.runpack.manifest"

MEMBER_MANIFEST = "manifest.json"
MEMBER_RUN = "run.json"
MEMBER_INTENTS = "intents.jsonl"
MEMBER_RESULTS = "results.jsonl"
MEMBER_REFS = "refs.json"
RECORD_MEMBERS = (MEMBER_INTENTS, MEMBER_REFS, MEMBER_RESULTS, MEMBER_RUN)
DOCUMENT_MEMBERS = (MEMBER_MANIFEST, MEMBER_REFS, MEMBER_RUN)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest manifest.json, run.json or refs.json: each is decoded whole, in memory."""
"""The members listed in ``manifest.files``, in their sorted order."""

CAPTURE_MODES = ("reference", "raw")


class _Header(msgspec.Struct, kw_only=True):
    """The fields every runpack record starts with."""

    schema_id: str = ""
    schema_version: str = ""
    created_at: str = ""
    producer_version: str = ""
    run_id: str = ""

    def header_json(self) -> dict[str, Any]:
        return {
            "schema_id": self.schema_id,
            "schema_version": self.schema_version,
            "created_at": self.created_at,
            "producer_version": self.producer_version,
            "run_id": self.run_id,
        }


class RunEnv(msgspec.Struct, kw_only=True):
    os: str = ""
    arch: str = ""
    runtime: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"os": self.os, "arch": self.arch, "runtime": self.runtime}


class TimelineEvent(msgspec.Struct, kw_only=True):
    event: str = ""
    ts: str = ""
    ref: str = ""
    relationship: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event, "ts": self.ts}
        if self.ref:
            out["ref"] = self.ref
        if self.relationship:
            out["relationship"] = self.relationship
        return out


class Run(_Header, kw_only=True):
    env: RunEnv = msgspec.field(default_factory=RunEnv)
    timeline: list[TimelineEvent] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.header_json(),
            "env": self.env.to_json(),
            "timeline": None
            if self.timeline is None
            else [event.to_json() for event in self.timeline],
        }


class IntentRecord(_Header, kw_only=True):
    intent_id: str = ""
    tool_name: str = ""
    args_digest: str = ""
    args: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.header_json(),
            "intent_id": self.intent_id,
            "tool_name": self.tool_name,
            "args_digest": self.args_digest,
        }
        if self.args:
            out["args"] = self.args
        return out


class ResultRecord(_Header, kw_only=True):
    intent_id: str = ""
    status: str = ""
    result_digest: str = ""
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.header_json(),
            "intent_id": self.intent_id,
            "status": self.status,
            "result_digest": self.result_digest,
        }
        if self.result:
            out["result"] = self.result
        return out


class Receipt(msgspec.Struct, kw_only=True):
    ref_id: str = ""
    source_type: str = ""
    source_locator: str = ""
    query_digest: str = ""
    content_digest: str = ""
    retrieved_at: str = ""
    redaction_mode: str = ""
    immutability: str = ""
    freshness_sla_seconds: int = 0
    sensitivity_label: str = ""
    retrieval_params: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref_id": self.ref_id,
            "source_type": self.source_type,
            "source_locator": self.source_locator,
            "query_digest": self.query_digest,
            "content_digest": self.content_digest,
            "retrieved_at": self.retrieved_at,
            "redaction_mode": self.redaction_mode,
        }
        if self.immutability:
            out["immutability"] = self.immutability
        if self.freshness_sla_seconds:
            out["freshness_sla_seconds"] = self.freshness_sla_seconds
        if self.sensitivity_label:
            out["sensitivity_label"] = self.sensitivity_label
        if self.retrieval_params:
            out["retrieval_params"] = self.retrieval_params
        return out


class Refs(_Header, kw_only=True):
    context_set_digest: str = ""
    context_evidence_mode: str = ""
    context_ref_count: int = 0
    receipts: list[Receipt] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.header_json()
        if self.context_set_digest:
            out["context_set_digest"] = self.context_set_digest
        if self.context_evidence_mode:
            out["context_evidence_mode"] = self.context_evidence_mode
        if self.context_ref_count:
            out["context_ref_count"] = self.context_ref_count
        out["receipts"] = [r.to_json() for r in self.receipts or []]
        return out


class ManifestFile(msgspec.Struct, kw_only=True):
    path: str = ""
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}


class Signature(msgspec.Struct, kw_only=True):
    alg: str = ""
    key_id: str = ""
    sig: str = ""
    signed_digest: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"alg": self.alg, "key_id": self.key_id, "sig": self.sig}
        if self.signed_digest:
            out["signed_digest"] = self.signed_digest
        return out


class Manifest(_Header, kw_only=True):
    capture_mode: str = ""
    files: list[ManifestFile] | None = None
    manifest_digest: str = ""
    signatures: list[Signature] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.header_json(),
            "capture_mode": self.capture_mode,
            "files": [f.to_json() for f in self.files or []],
            "manifest_digest": self.manifest_digest,
        }
        if self.signatures:
            out["signatures"] = [s.to_json() for s in self.signatures]
        return out
