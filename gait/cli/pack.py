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

    if args:
        raise InvalidInput("unexpected positional arguments")
    kind = pack_type.strip().lower()
    if kind not in ("run", "job", "call"):
        raise InvalidInput(f"unsupported --type {pack_type!r} (expected run, job or call)")
    if kind == "call":
        raise InvalidInput("pack build --type call is not supported in this build; use run or job")
    if not source.strip():
        raise InvalidInput("missing required --from <run_id|path|job_id>")
    mode = key_mode.strip().lower() or "none"
    key, warnings = None, []
    if mode != "none":
        from gait.signing import resolve_signing_key

        key, warnings = resolve_signing_key(
            mode, private_key=private_key, private_key_env=private_key_env
        )
    elif private_key or private_key_env:
        raise InvalidInput("--key-mode none does not accept key sources")
    if kind == "job":
        from gait.packs.unified import build_job_pack

        root = job_root.strip() or "./gait-out/jobs"
        built = build_job_pack(root, source.strip(), sign_key=key, producer_version=__version__)
        target = out.strip() or os.path.join(root, source.strip(), f"pack_{built.pack_id}.zip")
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
        "warnings": warnings,
    }
    return Outcome(payload, text=[f"pack build ok: {written}", f"pack_id: {built.pack_id}"])


@gait_command(
    group,
    "verify",
    explain="Verify any pack offline: unified packs, evidence/incident packs, or runpacks.",
    help="Verify a pack zip. Exit 0 ok, 2 integrity or signature failure, 6 bad input.",
)
@pack_verify_flags
def verify_command(json: bool, **flags: Any) -> Outcome:
    from gait.packs.verify import verify_any_pack

    return run_pack_verify("pack", verify_any_pack, **flags)


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
    target = one_target(args, path, "<pack.zip> or --path")
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
    lines = [
        f"pack inspect: pack_id={payload['pack_id']} type={payload['pack_type']} "
        f"source={payload['source_ref']} files={len(contents)}",
        f"path: {target}",
    ]
    lines += [f"  {c.get('path')} {c.get('type', '')} {c.get('sha256', '')}" for c in contents]
    return Outcome(payload, text=lines)


@gait_command(
    group,
    "diff",
    explain="Compare two verified packs member by member (exit 0 identical, 2 different).",
    help="Diff two pack zips by member hashes.",
)
@click.argument("args", nargs=-1, metavar="LEFT.zip RIGHT.zip")
@click.option("--output", default="", help="Also write the diff JSON to this file.")
def diff_command(args: tuple[str, ...], output: str, json: bool) -> Outcome:
    from gait.canonical import canonical_bytes
    from gait.packs.common import write_pack

    if len(args) != 2:
        raise InvalidInput("expected <left.zip> <right.zip>")
    left, right = (_read_manifest(a) for a in args)
    lmap = {c.get("path"): c.get("sha256") for c in left.get("contents") or []}
    rmap = {c.get("path"): c.get("sha256") for c in right.get("contents") or []}
    summary = {
        "left_pack_id": left.get("pack_id", ""),
        "right_pack_id": right.get("pack_id", ""),
        "left_pack_type": _kind(left),
        "right_pack_type": _kind(right),
        "left_only": sorted(p for p in lmap if p not in rmap),
        "right_only": sorted(p for p in rmap if p not in lmap),
        "changed": sorted(p for p in lmap if p in rmap and lmap[p] != rmap[p]),
    }
    same = not (summary["left_only"] or summary["right_only"] or summary["changed"])
    same = same and summary["left_pack_type"] == summary["right_pack_type"]
    payload: dict[str, Any] = {"ok": same, "left": args[0], "right": args[1], "summary": summary}
    if output.strip():
        write_pack(output.strip(), canonical_bytes({"summary": summary}) + b"\n")
        payload["output"] = output.strip()
    lines = [f"pack diff {'ok' if same else 'changed'}: {args[0]} vs {args[1]}"]
    for key in ("left_only", "right_only", "changed"):
        if summary[key]:
            lines.append(f"{key.replace('_', ' ')}: " + ", ".join(summary[key]))
    return Outcome(payload, 0 if same else 2, text=lines)


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
    from gait.packs.unified import export_rows, otel_jsonl, postgres_sql

    target = one_target(args, path, "<pack.zip> or --path")
    ddl_text = postgres_include_ddl.strip().lower()
    if ddl_text not in ("true", "false", "1", "0"):
        raise InvalidInput("--postgres-include-ddl must be true or false")
    if not otel_out.strip() and not postgres_sql_out.strip():
        raise InvalidInput("nothing to export: give --otel-out and/or --postgres-sql-out")
    manifest = _read_manifest(target)
    manifest = {**manifest, "pack_type": _kind(manifest)}
    rows = export_rows(manifest)
    payload: dict[str, Any] = {
        "ok": True,
        "path": target,
        "pack_id": manifest.get("pack_id", ""),
        "rows": len(rows),
    }
    if otel_out.strip():
        created = str(manifest.get("created_at") or "1980-01-01T00:00:00Z")
        payload["otel_out"] = write_pack(otel_out.strip(), otel_jsonl(rows, created))
    if postgres_sql_out.strip():
        sql = postgres_sql(rows, postgres_table.strip(), include_ddl=ddl_text in ("true", "1"))
        payload["postgres_sql_out"] = write_pack(postgres_sql_out.strip(), sql)
    lines = [f"pack export ok: {target} rows={len(rows)}"]
    lines += [f"{k}: {payload[k]}" for k in ("otel_out", "postgres_sql_out") if k in payload]
    return Outcome(payload, text=lines)
