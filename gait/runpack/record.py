"""Build a runpack from records: defaults, digests, receipts, manifest, signature, zip.

This is the one writer every producer goes through (the :class:`~gait.runpack.Recorder`,
``gait run record``, ``gait demo``), so the normalization rules of
runpack.md §1–§3 live here and nowhere else. Errors are :class:`InvalidInput`
(exit 6) with the reference wording.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from gait.canonical import canonical_bytes, digest, sha256_hex
from gait.errors import InvalidInput
from gait.intent._text import is_sha256_hex
from gait.runpack.model import (
    CAPTURE_MODES,
    INTENT_SCHEMA,
    MANIFEST_SCHEMA,
    MEMBER_INTENTS,
    MEMBER_MANIFEST,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    REFS_SCHEMA,
    RESULT_SCHEMA,
    RUN_SCHEMA,
    SCHEMA_VERSION,
    IntentRecord,
    Manifest,
    ManifestFile,
    Receipt,
    Refs,
    ResultRecord,
    Run,
    RunEnv,
    Signature,
)
from gait.runpack.zipwrite import ZipMember, write_zip

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "DEFAULT_PRODUCER_VERSION",
    "RecordResult",
    "check_output_path",
    "default_runpack_path",
    "encode_jsonl",
    "host_env",
    "manifest_digest",
    "record_runpack",
    "signable_manifest",
    "write_runpack",
]

DEFAULT_PRODUCER_VERSION = "0.0.0-dev"
ZERO_TIMES = ("", "0001-01-01T00:00:00Z")
RECEIPT_ZERO_TIME = "1980-01-01T00:00:00Z"
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386"}


class RecordResult(msgspec.Struct):
    """A built runpack: its manifest, the zip bytes and how it was signed."""

    run_id: str
    manifest: Manifest
    zip_bytes: bytes
    members: dict[str, bytes]
    key_id: str = ""
    warnings: list[str] = msgspec.field(default_factory=list)

    @property
    def manifest_digest(self) -> str:
        return self.manifest.manifest_digest

    @property
    def signed(self) -> bool:
        return bool(self.manifest.signatures)


def host_env() -> RunEnv:
    """``{os, arch, runtime}`` of this host, spelled like Go (``linux``/``amd64``) + ``python``."""
    system = platform.system().lower() or "unknown"
    machine = platform.machine().lower()
    return RunEnv(os=system, arch=_ARCH.get(machine, machine or "unknown"), runtime="python")


def _now() -> str:
    from gait.signing.timestamps import now_rfc3339

    return now_rfc3339()


def _ts(value: str, default: str, what: str) -> str:
    """Normalize a timestamp to RFC 3339 UTC ``Z`` text; zero/empty → ``default``."""
    text = (value or "").strip()
    if text in ZERO_TIMES:
        return default
    from gait.signing.timestamps import to_rfc3339

    try:
        normalized = to_rfc3339(text)
    except InvalidInput as err:
        raise InvalidInput(f"{what}: {err.message}") from err
    return default if normalized in ZERO_TIMES else normalized


def _convert(value: Any, kind: type[Any], what: str) -> Any:
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    try:
        return msgspec.convert(value, type=kind)
    except msgspec.ValidationError as err:
        raise InvalidInput(f"invalid {what}: {err}") from err


def _object(value: Any, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a JSON object")
    return dict(value)


def encode_jsonl(records: Iterable[Any]) -> bytes:
    """One JCS object per line, ``\\n`` after each; no records → zero bytes."""
    return b"".join(canonical_bytes(r.to_json()) + b"\n" for r in records)


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """§3: digest of the manifest with ``manifest_digest`` = ``""`` and no ``signatures``."""
    body = {k: v for k, v in manifest.items() if k != "signatures"}
    body["manifest_digest"] = ""
    return digest(body)


def signable_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest object a signature covers: everything except ``signatures``."""
    return {k: v for k, v in manifest.items() if k != "signatures"}


def record_runpack(
    run: Run | Mapping[str, Any],
    intents: Iterable[IntentRecord | Mapping[str, Any]] = (),
    results: Iterable[ResultRecord | Mapping[str, Any]] = (),
    refs: Refs | Mapping[str, Any] | None = None,
    *,
    capture_mode: str = "",
    sign_key: KeyPair | None = None,
    intent_args: Mapping[str, Any] | None = None,
    result_payloads: Mapping[str, Any] | None = None,
    producer_version: str = "",
    unsafe_context_raw: bool = False,
) -> RecordResult:
    """Normalize the records (runpack.md §1, §2.6) and build the deterministic zip.

    Context safety holds for every caller (issue 11 A8): receipts with
    ``redaction_mode=raw`` need ``unsafe_context_raw=True``, and
    ``context_evidence_mode=required`` needs a ``context_set_digest``.

    ``intent_args`` / ``result_payloads`` map intent_id → raw JSON object; they
    are digested and must agree with any digest given on the record.
    ``producer_version`` is the default when the run does not carry one.
    Raises :class:`InvalidInput` with the reference messages.
    """
    run_rec: Run = _convert(run, Run, "run")
    if not run_rec.run_id:
        raise InvalidInput("run_id is required")
    _run_defaults(run_rec, producer_version or DEFAULT_PRODUCER_VERSION)
    intent_recs = [_convert(i, IntentRecord, "intent") for i in intents]
    result_recs = [_convert(r, ResultRecord, "result") for r in results]
    refs_rec: Refs = _convert(refs if refs is not None else {}, Refs, "refs")
    for rec, schema in [(i, INTENT_SCHEMA) for i in intent_recs] + [
        (r, RESULT_SCHEMA) for r in result_recs
    ]:
        _record_defaults(rec, schema, run_rec)
    _record_defaults(refs_rec, REFS_SCHEMA, run_rec)
    if refs_rec.receipts is None:
        refs_rec.receipts = []
    _fill_digests(intent_recs, result_recs, refs_rec, intent_args or {}, result_payloads or {})
    _normalize_refs(refs_rec)
    check_context_safety(refs_rec, unsafe_context_raw=unsafe_context_raw)

    mode = (capture_mode or "reference").strip()
    if mode not in CAPTURE_MODES:
        raise InvalidInput("capture mode must be reference or raw")

    members = {
        MEMBER_RUN: canonical_bytes(run_rec.to_json()),
        MEMBER_INTENTS: encode_jsonl(intent_recs),
        MEMBER_RESULTS: encode_jsonl(result_recs),
        MEMBER_REFS: canonical_bytes(refs_rec.to_json()),
    }
    manifest = Manifest(
        schema_id=MANIFEST_SCHEMA,
        schema_version=SCHEMA_VERSION,
        created_at=run_rec.created_at,
        producer_version=run_rec.producer_version,
        run_id=run_rec.run_id,
        capture_mode=mode,
        files=[
            ManifestFile(path=name, sha256=sha256_hex(members[name])) for name in sorted(members)
        ],
    )
    manifest.manifest_digest = manifest_digest(manifest.to_json())
    key_id = ""
    if sign_key is not None:
        from gait.signing import sign_digest

        signed = sign_digest(sign_key, digest(signable_manifest(manifest.to_json())))
        manifest.signatures = [Signature(**signed)]
        key_id = sign_key.key_id
    members[MEMBER_MANIFEST] = canonical_bytes(manifest.to_json())
    zip_bytes = write_zip(ZipMember(name, data) for name, data in members.items())
    return RecordResult(
        run_id=run_rec.run_id,
        manifest=manifest,
        zip_bytes=zip_bytes,
        members=members,
        key_id=key_id,
    )


def _run_defaults(run: Run, producer_version: str) -> None:
    run.schema_id = run.schema_id or RUN_SCHEMA
    run.schema_version = run.schema_version or SCHEMA_VERSION
    run.created_at = _ts(run.created_at, "", "run.created_at") or _now()
    run.producer_version = run.producer_version or producer_version
    host = host_env()
    run.env = RunEnv(
        os=run.env.os or host.os,
        arch=run.env.arch or host.arch,
        runtime=run.env.runtime or host.runtime,
    )
    if run.timeline is not None:
        for event in run.timeline:
            event.ts = _ts(event.ts, "0001-01-01T00:00:00Z", f"timeline event {event.event!r} ts")


def _record_defaults(rec: Any, schema: str, run: Run) -> None:
    rec.schema_id = rec.schema_id or schema
    rec.schema_version = rec.schema_version or SCHEMA_VERSION
    rec.created_at = _ts(rec.created_at, run.created_at, f"{schema} created_at")
    rec.producer_version = rec.producer_version or run.producer_version
    rec.run_id = rec.run_id or run.run_id


def _raw_digest(value: Any, what: str) -> str:
    return digest(_object(value, what))


def _fill_digests(
    intents: list[IntentRecord],
    results: list[ResultRecord],
    refs: Refs,
    intent_args: Mapping[str, Any],
    result_payloads: Mapping[str, Any],
) -> None:
    intent_index: dict[str, int] = {}
    for index, intent in enumerate(intents):
        intent.args = _object(intent.args, f"intent {intent.intent_id} args")
        given = intent.args_digest.strip().lower()
        raw = intent_args.get(intent.intent_id)
        if raw is not None:
            expected = _raw_digest(raw, f"intent {intent.intent_id} args")
            if given and given != expected:
                raise InvalidInput(f"intent {intent.intent_id} args digest mismatch")
            given = expected
        elif not given:
            if intent.args is None:
                raise InvalidInput(
                    f"intent {intent.intent_id} requires args_digest or normalization.intent_args"
                )
            given = digest(intent.args)
        intent.args_digest = given
        intent_index[intent.intent_id] = index
    result_index: dict[str, int] = {}
    for index, result in enumerate(results):
        result.result = _object(result.result, f"result {result.intent_id} result")
        given = result.result_digest.strip().lower()
        raw = result_payloads.get(result.intent_id)
        if raw is not None:
            expected = _raw_digest(raw, f"result {result.intent_id} payload")
            if given and given != expected:
                raise InvalidInput(f"result {result.intent_id} digest mismatch")
            given = expected
        elif not given:
            if result.result is None:
                raise InvalidInput(
                    f"result {result.intent_id} requires result_digest or normalization.result_payloads"
                )
            given = digest(result.result)
        result.result_digest = given
        result_index[result.intent_id] = index
    for receipt in refs.receipts or []:
        _receipt_digests(receipt, intents, results, intent_index, result_index)


def _receipt_digests(
    receipt: Receipt,
    intents: list[IntentRecord],
    results: list[ResultRecord],
    intent_index: dict[str, int],
    result_index: dict[str, int],
) -> None:
    ref_id = receipt.ref_id.strip()
    if receipt.source_type.strip().lower() != "gait.trace" or not ref_id.startswith("trace_"):
        if not receipt.query_digest:
            raise InvalidInput(f"receipt {receipt.ref_id} requires query_digest")
        if not receipt.content_digest:
            raise InvalidInput(f"receipt {receipt.ref_id} requires content_digest")
        return
    intent_id = ref_id.removeprefix("trace_")
    if intent_id not in intent_index:
        raise InvalidInput(f"receipt {receipt.ref_id} references unknown intent {intent_id}")
    intent = intents[intent_index[intent_id]]
    query = digest({"tool_name": intent.tool_name, "args_digest": intent.args_digest})
    given = receipt.query_digest.strip().lower()
    if given and given != query:
        raise InvalidInput(f"receipt {receipt.ref_id} query digest mismatch")
    receipt.query_digest = query
    if intent_id not in result_index:
        raise InvalidInput(
            f"receipt {receipt.ref_id} references unknown result for intent {intent_id}"
        )
    content = results[result_index[intent_id]].result_digest
    given = receipt.content_digest.strip().lower()
    if given and given != content:
        raise InvalidInput(f"receipt {receipt.ref_id} content digest mismatch")
    receipt.content_digest = content


RAW_CONTEXT_REFUSED = (
    "refs receipts include redaction_mode=raw; re-run with --unsafe-context-raw "
    "to allow unsafe context capture"
)
EVIDENCE_DIGEST_MISSING = "context evidence mode required but context_set_digest is missing"


def check_context_safety(refs: Refs, *, unsafe_context_raw: bool = False) -> None:
    """Refuse raw-redaction receipts (unless allowed) and required evidence without a digest."""
    if not unsafe_context_raw and any(
        r.redaction_mode.strip().lower() == "raw" for r in refs.receipts or ()
    ):
        raise InvalidInput(RAW_CONTEXT_REFUSED)
    if refs.context_evidence_mode.strip().lower() == "required" and not (
        refs.context_set_digest.strip()
    ):
        raise InvalidInput(EVIDENCE_DIGEST_MISSING)


def _normalize_refs(refs: Refs) -> None:
    mode = refs.context_evidence_mode.strip().lower()
    if mode not in ("", "best_effort", "required"):
        raise InvalidInput("context evidence mode must be best_effort or required")
    refs.context_evidence_mode = mode
    refs.context_set_digest = refs.context_set_digest.strip().lower()
    if refs.context_set_digest and not is_sha256_hex(refs.context_set_digest):
        raise InvalidInput("refs context_set_digest must be sha256 hex")
    if refs.context_ref_count < 0:
        raise InvalidInput("refs context_ref_count must be >= 0")
    receipts = refs.receipts or []
    for receipt in receipts:
        receipt.query_digest = receipt.query_digest.strip().lower()
        receipt.content_digest = receipt.content_digest.strip().lower()
        receipt.immutability = receipt.immutability.strip().lower() or "unknown"
        receipt.retrieved_at = _ts(
            receipt.retrieved_at, RECEIPT_ZERO_TIME, f"receipt {receipt.ref_id} retrieved_at"
        )
        receipt.retrieval_params = _object(
            receipt.retrieval_params, f"receipt {receipt.ref_id} retrieval_params"
        )
    receipts.sort(key=lambda r: r.ref_id)
    refs.receipts = receipts
    if refs.context_ref_count == 0 and receipts:
        refs.context_ref_count = len(receipts)


def check_output_path(path: str | os.PathLike[str]) -> str:
    """§2.5: a non-empty path; a relative one must not contain a ``..`` segment."""
    text = os.fspath(path).strip()
    if not text:
        raise InvalidInput("runpack output path is required")
    cleaned = os.path.normpath(text)
    if cleaned in (".", os.sep):
        raise InvalidInput("runpack output path is required")
    if not os.path.isabs(text) and ".." in text.replace("\\", "/").split("/"):
        raise InvalidInput("relative runpack output path must not traverse parent directories")
    return cleaned


def default_runpack_path(out_dir: str | os.PathLike[str], run_id: str) -> str:
    """``<out_dir>/runpack_<run_id>.zip``; a run_id that would leave ``out_dir`` is refused."""
    if not run_id or any(sep in run_id for sep in ("/", "\\", "\x00")) or run_id in (".", ".."):
        raise InvalidInput(f"run_id cannot be used in a file name: {run_id!r}")
    return os.path.join(os.fspath(out_dir), f"runpack_{run_id}.zip")


def write_runpack(path: str | os.PathLike[str], result: RecordResult) -> str:
    """Write the zip atomically (temp + rename, mode 0600), creating the parent (0750)."""
    from gait.fsutil import atomic_write

    target = check_output_path(path)
    parent = os.path.dirname(target)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    atomic_write(target, result.zip_bytes, 0o600)
    return target
