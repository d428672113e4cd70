"""``gait pack build|verify|inspect|diff|export`` (scout_packs.md §4)."""

from __future__ import annotations

import os
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.guard import one_target, pack_verify_flags, run_pack_verify
from gait.errors import InvalidInput

group = GaitGroup(
    name="pack",
    intercept_explain=True,
    explain="Build, verify, inspect, diff and export unified packs (run packs, evidence packs).",
    help="Unified packs: build from a runpack, verify any pack kind, inspect, diff, export.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


PACK_OUTPUT_SCHEMA = "gait.pack.output"
PACK_OUTPUT_VERSION = "1.0.0"
# the original's pack verify result object (pack.VerifyResult), nested under "verify"
_VERIFY_KEYS = (
    "pack_id",
    "pack_type",
    "source_ref",
    "files_checked",
    "proof_records_verified",
    "missing_files",
    "hash_mismatches",
    "undeclared_files",
    "signature_status",
    "signature_errors",
    "signatures_total",
    "signatures_valid",
    "legacy_type",
)


def _outcome(
    operation: str,
    payload: dict[str, Any],
    warnings: list[str] | None = None,
    code: int = 0,
    text: list[str] | None = None,
) -> Outcome:
    """Every pack subcommand answers with the original's gait.pack.output envelope."""
    payload = {
        **payload,
        "schema_id": PACK_OUTPUT_SCHEMA,
        "schema_version": PACK_OUTPUT_VERSION,
        "operation": operation,
    }
    if warnings:
        payload["warnings"] = list(warnings)
    if text is None:
        text = []
        if payload.get("ok"):
            if operation == "build":
                text.append(f"pack build ok: {payload['path']} ({payload['pack_type']})")
            elif operation == "verify":
                text.append(f"pack verify ok: {payload['path']}")
            elif operation == "inspect":
                text.append(f"pack inspect ok: {payload['pack_id']} ({payload['pack_type']})")
            elif operation == "diff":
                text.append("pack diff ok")
            if warnings:
                text.append("warnings: " + "; ".join(warnings))
    return Outcome(payload, code, text=text, warnings_in_text=bool(warnings))


@gait_command(
    group,
    "build",
    explain="Build a unified run pack with a hash-chained proof record per member.",
    help="Build a unified pack (--type run) from a runpack (run_id or path).",
)
@click.argument("args", nargs=-1, metavar="")
@click.option(
    "--type",
    "pack_type",
    default="run",
    help="run (from a runpack) or job (from a durable job id).",
)
@click.option("--from", "source", default="", help="run_id or runpack path.")
@click.option("--out", default="", help="Output zip (default: pack_<pack_id>.zip beside source).")
@click.option("--job-root", default="./gait-out/jobs", help="Job state root (job packs).")
@click.option("--key-mode", default="none", help="none (unsigned), dev (ephemeral) or prod.")
@click.option("--private-key", default=None, help="Base64 private key file (prod).")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key (prod).")
def build_command(
    args: tuple[str, ...],
    pack_type: str,
    source: str,
    out: str,
    job_root: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.packs.common import write_pack
    from gait.packs.source import read_source_run
    from gait.packs.unified import build_run_pack
    from gait.runpack.reader import resolve_runpack

    if not source.strip() and args:
        source = args[0]  # the original takes the first positional as --from
    if not source.strip():
        raise InvalidInput("--from is required")
    mode = key_mode.strip().lower() or "none"
    key, warnings = None, []
    if mode not in ("none", "dev", "prod"):
        raise InvalidInput("--key-mode must be none, dev, or prod")
    if mode != "none" or (private_key or "").strip() or (private_key_env or "").strip():
        from gait.signing import resolve_signing_key

        # none + an explicit key source signs with that key (prod rules), as the original
        key, warnings = resolve_signing_key(
            "prod" if mode == "none" else mode,
            private_key=private_key,
            private_key_env=private_key_env,
        )
    # checked after the key, in the original's order
    kind = pack_type.strip().lower()
    if kind not in ("run", "job", "call"):
        raise InvalidInput("--type must be run, job, or call")
    if kind == "call":
        raise InvalidInput("pack build --type call is not supported in this build; use run or job")
    if kind == "job":
        from gait.packs.unified import build_job_pack

        root, job_id = _job_source(source.strip(), job_root.strip() or "./gait-out/jobs")
        built = build_job_pack(root, job_id, sign_key=key, producer_version=__version__)
        target = out.strip() or os.path.join("gait-out", f"pack_{built.pack_id}.zip")
    else:
        path = resolve_runpack(source.strip())
        pack = read_source_run(path)
        built = build_run_pack(pack, sign_key=key, producer_version=__version__)
        target = out.strip() or os.path.join(os.path.dirname(path), f"pack_{built.pack_id}.zip")
    written = write_pack(target, built.zip_bytes)
    payload: dict[str, Any] = {
        "ok": True,
        "path": written,
        "pack_id": built.pack_id,
        "pack_type": built.pack_type,
        "source_ref": built.source_ref,
        "files": len(built.manifest["contents"]),
        "signed": key is not None,
    }
    return _outcome("build", payload, warnings)


def _job_source(source: str, default_root: str) -> tuple[str, str]:
    """A job directory or its state.json names root and id; anything else is a job id."""
    if os.path.isdir(source):
        path = os.path.normpath(source)
        return os.path.dirname(path) or ".", os.path.basename(path)
    if os.path.isfile(source) and os.path.basename(source).lower() == "state.json":
        job_dir = os.path.dirname(os.path.normpath(source)) or "."
        return os.path.dirname(job_dir) or ".", os.path.basename(os.path.abspath(job_dir))
    return default_root, source


@gait_command(
    group,
    "verify",
    explain="Verify any pack offline: unified packs, evidence/incident packs, or runpacks.",
    help="Verify a pack zip. Exit 0 ok, 2 integrity or signature failure, 6 bad input.",
)
@pack_verify_flags
def verify_command(json: bool, **flags: Any) -> Outcome:
    from gait.packs.verify import verify_any_pack

    outcome = run_pack_verify("pack", verify_any_pack, **flags)
    payload = dict(outcome.payload)
    payload["verify"] = {k: payload[k] for k in _VERIFY_KEYS if payload.get(k)}
    payload["verify"]["files_checked"] = payload.get("files_checked", 0)
    return _outcome("verify", payload, code=outcome.exit_code, text=list(outcome.text or []))


def _read_manifest(path: str) -> dict[str, Any]:
    """Verify first (inspect/diff never describe a damaged pack), then return its manifest."""
    from gait.packs.common import open_pack_zip
    from gait.packs.verify import PACK_MANIFEST, read_pack_manifest, verify_any_pack

    report = verify_any_pack(path)
    if not report.ok:
        raise InvalidInput(f"pack failed integrity checks: {path} (run gait pack verify {path})")
    with open_pack_zip(path, "pack") as archive:
        if archive.find(PACK_MANIFEST) is None:
            from gait.runpack.verify import load_manifest

            raw, _ = load_manifest(archive)
            return {
                "pack_id": raw.get("manifest_digest", ""),
                "pack_type": "run",
                "legacy_type": "runpack",
                "source_ref": raw.get("run_id", ""),
                "created_at": raw.get("created_at", ""),
                "contents": [
                    {"path": f.get("path", ""), "sha256": f.get("sha256", ""), "type": "runpack"}
                    for f in raw.get("files") or []
                ],
            }
        return read_pack_manifest(archive, "pack")


def _kind(manifest: dict[str, Any]) -> str:
    if manifest.get("schema_id") == "gait.guard.pack_manifest":
        return "guard"
    return str(manifest.get("pack_type") or "")


@gait_command(
    group,
    "inspect",
    explain="Describe a verified pack: id, type, source and every member with its hash.",
    help="Inspect a pack zip (any kind).",
)
@click.argument("args", nargs=-1, metavar="PACK.zip")
@click.option("--path", default=None, help="Pack zip (instead of the positional).")
def inspect_command(args: tuple[str, ...], path: str | None, json: bool) -> Outcome:
    target = one_target(args, path, "<pack.zip>")
    manifest = _read_manifest(target)
    contents = manifest.get("contents") or []
    payload: dict[str, Any] = {
        "ok": True,
        "path": target,
        "pack_id": manifest.get("pack_id", ""),
        "pack_type": _kind(manifest),
        "source_ref": manifest.get("source_ref") or manifest.get("run_id", ""),
        "created_at": manifest.get("created_at", ""),
        "contents": contents,
        "signed": bool(manifest.get("signatures")),
    }
    for key in ("template_id", "case_id", "incident_window", "legacy_type"):
        if manifest.get(key):
            payload[key] = manifest[key]
    payload["inspect"] = _inspect_detail(target, manifest, payload)
    lines = [
        f"pack inspect ok: {payload['pack_id']} ({payload['pack_type']})",
        f"path: {target}",
        f"source_ref: {payload['source_ref']} files={len(contents)}",
    ]
    lines += [f"  {c.get('path')} {c.get('type', '')} {c.get('sha256', '')}" for c in contents]
    return _outcome("inspect", payload, text=lines)


def _run_view(run: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The original's run payload and run lineage for a decoded runpack."""
    receipts = run.refs.receipts or []
    payload: dict[str, Any] = {
        "schema_id": "gait.pack.run",
        "schema_version": "1.0.0",
        "created_at": run.run.created_at or "1980-01-01T00:00:00Z",
        "run_id": run.run.run_id or run.manifest.run_id,
        "capture_mode": run.manifest.capture_mode,
        "manifest_digest": run.manifest.manifest_digest,
        "intents_count": len(run.intents),
        "results_count": len(run.results),
        "refs_count": len(receipts),
    }
    if run.refs.context_set_digest:
        payload["context_set_digest"] = run.refs.context_set_digest
    if receipts:
        payload["context_ref_count"] = len(receipts)
    if run.refs.context_evidence_mode:
        payload["context_evidence_mode"] = run.refs.context_evidence_mode
    links: dict[str, dict[str, str]] = {}
    for intent in run.intents:
        links[intent.intent_id] = {"intent_id": intent.intent_id, "tool_name": intent.tool_name}
    for result in run.results:
        link = links.setdefault(result.intent_id, {"intent_id": result.intent_id})
        link["status"] = result.status
    lineage: dict[str, Any] = {
        "timeline_events": len(run.run.timeline or []),
        "receipt_count": len(receipts),
    }
    ordered = [{k: v for k, v in links[i].items() if v or k == "intent_id"} for i in sorted(links)]
    if ordered:
        lineage["intent_results"] = ordered
    return payload, lineage


def _inspect_detail(
    target: str, manifest: dict[str, Any], summary: dict[str, Any]
) -> dict[str, Any]:
    """The original's ``inspect`` object: manifest, typed payload and lineage."""
    import tempfile

    from gait.packs.common import open_pack_zip
    from gait.runpack.reader import read_runpack
    from gait.safejson import loads

    detail: dict[str, Any] = {
        k: summary[k]
        for k in ("pack_id", "pack_type", "source_ref", "legacy_type")
        if summary.get(k)
    }
    if summary.get("legacy_type") == "runpack":
        detail["run_payload"], detail["run_lineage"] = _run_view(read_runpack(target))
        return detail
    detail["manifest"] = manifest
    members: dict[str, bytes] = {}
    with open_pack_zip(target, "pack") as archive:
        for name in (
            "run_payload.json",
            "source/runpack.zip",
            "job_payload.json",
            "job_state.json",
            "job_events.jsonl",
        ):
            entry = archive.find(name)
            if entry is not None:
                members[name] = archive.read(entry)
    kind = summary.get("pack_type")
    if kind == "run" and "run_payload.json" in members:
        detail["run_payload"] = loads(members["run_payload.json"], "run_payload.json")
    if kind == "run" and "source/runpack.zip" in members:
        with tempfile.TemporaryDirectory() as tmp:
            inner = os.path.join(tmp, "runpack.zip")
            with open(inner, "wb") as handle:
                handle.write(members["source/runpack.zip"])
            detail["run_lineage"] = _run_view(read_runpack(inner))[1]
    if kind == "job" and "job_payload.json" in members:
        detail["job_payload"] = loads(members["job_payload.json"], "job_payload.json")
    if kind == "job" and "job_state.json" in members and "job_events.jsonl" in members:
        detail["job_lineage"] = _job_lineage(members["job_state.json"], members["job_events.jsonl"])
    return detail


def _job_lineage(state_bytes: bytes, events_bytes: bytes) -> dict[str, Any]:
    """The original's job lineage: event count, last event type, checkpoint references."""
    from gait.safejson import loads, loads_line

    state = loads(state_bytes, "job_state.json")
    lines = [line for line in events_bytes.splitlines() if line.strip()]
    events = [loads_line(line, "job_events.jsonl", n) for n, line in enumerate(lines, 1)]
    checkpoints = state.get("checkpoints") if isinstance(state, dict) else None
    refs = [
        {
            "checkpoint_id": str(c.get("checkpoint_id") or ""),
            "type": str(c.get("type") or ""),
            "reason_code": str(c.get("reason_code") or ""),
        }
        for c in checkpoints or []
        if isinstance(c, dict)
    ]
    lineage: dict[str, Any] = {"event_count": len(events)}
    last = str(events[-1].get("type") or "").strip() if events else ""
    if last:
        lineage["last_event_type"] = last
    if refs:
        lineage["checkpoint_refs"] = sorted(refs, key=lambda r: r["checkpoint_id"])
    return lineage


@gait_command(
    group,
    "diff",
    explain="Compare two verified packs member by member (exit 0 identical, 2 different).",
    help="Diff two pack zips by member hashes.",
)
@click.argument("args", nargs=-1, metavar="LEFT.zip RIGHT.zip")
@click.option("--output", default="", help="Also write the diff JSON to this file.")
def diff_command(args: tuple[str, ...], output: str, json: bool) -> Outcome:
    import json as _json

    from gait.packs.common import write_pack

    if len(args) != 2:
        raise InvalidInput("expected <left> <right>")
    left, right = (_diff_side(a.strip()) for a in args)
    added = sorted(p for p in right["files"] if p not in left["files"])
    removed = sorted(p for p in left["files"] if p not in right["files"])
    changed = sorted(
        p for p in left["files"] if p in right["files"] and left["files"][p] != right["files"][p]
    )
    manifest_delta = (
        left["manifest_digest"] != right["manifest_digest"]
        or left["pack_type"] != right["pack_type"]
    )
    drift, context_changed = "none", False
    if left["pack_type"] == "run" and right["pack_type"] == "run":
        if left["context"] != right["context"]:
            drift, context_changed = "semantic", True
    summary: dict[str, Any] = {"changed": bool(manifest_delta or added or removed or changed)}
    summary["changed"] = summary["changed"] or context_changed
    for key, value in (
        ("added_files", added),
        ("removed_files", removed),
        ("changed_files", changed),
    ):
        if value:
            summary[key] = value
    summary["manifest_delta"] = manifest_delta
    if context_changed:
        summary["context_changed"] = True
    summary["context_drift_classification"] = drift
    # the original's gait.pack.diff result, fields in its order
    result: dict[str, Any] = {
        "schema_id": "gait.pack.diff",
        "schema_version": "1.0.0",
        "created_at": "1980-01-01T00:00:00Z",
        "left_pack_id": left["pack_id"],
        "right_pack_id": right["pack_id"],
        "left_pack_type": left["pack_type"],
        "right_pack_type": right["pack_type"],
        "summary": summary,
    }
    same = not summary["changed"]
    payload: dict[str, Any] = {"ok": same, "diff": {"Result": result}, "summary": summary}
    if output.strip():
        data = _json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
        payload["path"] = write_pack(output.strip(), data)
    return _outcome("diff", payload, code=0 if same else 2, text=None if same else [])


def _diff_side(path: str) -> dict[str, Any]:
    """Pack id, type, manifest digest, member hashes and context facts of one side."""
    from gait.canonical import digest

    manifest = _read_manifest(path)
    files = {
        c.get("path"): str(c.get("sha256", "")).lower() for c in manifest.get("contents") or []
    }
    side: dict[str, Any] = {
        "pack_id": manifest.get("pack_id", ""),
        "pack_type": _kind(manifest),
        "files": files,
        "context": ("", "", 0),
    }
    if manifest.get("legacy_type") == "runpack":
        from gait.runpack.reader import read_runpack

        run = read_runpack(path)
        side["manifest_digest"] = manifest.get("pack_id", "")
        refs = run.refs
        side["context"] = (
            refs.context_set_digest,
            refs.context_evidence_mode,
            len(refs.receipts or []),
        )
        return side
    side["manifest_digest"] = digest({k: v for k, v in manifest.items()})
    if side["pack_type"] == "run":
        detail = _inspect_detail(path, manifest, {"pack_type": "run"})
        run_payload = detail.get("run_payload") or {}
        side["context"] = (
            str(run_payload.get("context_set_digest") or ""),
            str(run_payload.get("context_evidence_mode") or ""),
            int(run_payload.get("context_ref_count") or 0),
        )
    return side


@gait_command(
    group,
    "export",
    explain="Export a verified pack's member index as OTel-style JSONL and/or PostgreSQL SQL.",
    help="Export a pack index (one row per member) for log pipelines and databases.",
)
@click.argument("args", nargs=-1, metavar="PACK.zip")
@click.option("--path", default=None, help="Pack zip (instead of the positional).")
@click.option("--otel-out", default="", help="Write OTel-style JSONL log records here.")
@click.option("--postgres-sql-out", default="", help="Write PostgreSQL INSERT statements here.")
@click.option("--postgres-table", default="gait_pack_index", help="Table name for the SQL.")
@click.option(
    "--postgres-include-ddl",
    default="true",
    help="true|false: start the SQL with CREATE TABLE IF NOT EXISTS.",
)
def export_command(
    args: tuple[str, ...],
    path: str | None,
    otel_out: str,
    postgres_sql_out: str,
    postgres_table: str,
    postgres_include_ddl: str,
    json: bool,
) -> Outcome:
    from gait.packs.common import write_pack
    from gait.packs.export import append_otel, build_export_record, postgres_index_sql

    target = one_target(args, path, "<pack.zip>")
    ddl_text = postgres_include_ddl.strip().lower()
    if ddl_text not in ("true", "false", "1", "0", "t", "f"):
        raise InvalidInput("--postgres-include-ddl must be true or false")
    otel_path, sql_path = otel_out.strip(), postgres_sql_out.strip()
    if not otel_path and not sql_path:
        raise InvalidInput(
            "at least one export output is required (--otel-out or --postgres-sql-out)"
        )
    record = build_export_record(target)
    if otel_path:
        append_otel(otel_path, record)
    if sql_path:
        sql = postgres_index_sql(record, postgres_table, include_ddl=ddl_text in ("true", "1", "t"))
        write_pack(sql_path, sql)
    payload: dict[str, Any] = {"ok": True, "path": target}
    for key in ("pack_id", "pack_type", "source_ref"):
        if record.get(key):
            payload[key] = record[key]
    if otel_path:
        payload["otel_path"] = otel_path
    if sql_path:
        payload["postgres_sql_path"] = sql_path
    payload["export"] = record
    lines = [f"pack export ok: {target}"]
    if otel_path:
        lines.append(f"otel: {otel_path}")
    if sql_path:
        lines.append(f"postgres_sql: {sql_path}")
    return _outcome("export", payload, text=lines)
