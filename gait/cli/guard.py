"""``gait guard pack|verify`` (scout_packs.md §2): signed evidence packs for one run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.verify import _key_flags, load_verify_key
from gait.errors import InvalidInput

group = GaitGroup(
    name="guard",
    explain="Build and verify signed evidence packs (runpack, traces, regress, approvals).",
    help="Build and verify evidence packs for audits and incident review.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


def one_target(args: tuple[str, ...], option: str | None, usage: str) -> str:
    values = [v for v in (*args, *([option] if option else [])) if v.strip()]
    if len(values) != 1:
        raise InvalidInput(f"expected {usage}")
    return values[0].strip()


@gait_command(
    group,
    "pack",
    explain="Build a deterministic, signed evidence pack zip from a runpack and its evidence.",
    help=(
        "Build an evidence pack from a runpack (run_id or path) plus optional traces, regress "
        "results, inventories, approval audits and credential evidence."
    ),
)
@click.argument("args", nargs=-1, metavar="[RUN_ID|PATH]")
@click.option("--run", "run", default=None, help="run_id or runpack path.")
@click.option("--out", default="", help="Output zip (default: evidence_pack_<pack_id>.zip).")
@click.option("--case-id", default="", help="Case identifier recorded in the manifest.")
@click.option("--template", default="soc2", help="soc2|pci|incident_response control map.")
@click.option("--inventory", default="", help="CSV of inventory JSON files.")
@click.option("--trace", default="", help="CSV of signed trace JSON files.")
@click.option("--regress", default="", help="CSV of regress_result.json files.")
@click.option("--approval-audit", default="", help="CSV of approval audit JSON files.")
@click.option("--credential-evidence", default="", help="CSV of credential evidence JSON files.")
@click.option("--render-pdf", is_flag=True, help="Also add a summary.pdf of controls and members.")
@click.option("--key-mode", default="dev", help="dev (ephemeral key) or prod.")
@click.option("--private-key", default=None, help="Base64 private key file (prod).")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key (prod).")
def pack_command(
    args: tuple[str, ...],
    run: str | None,
    out: str,
    case_id: str,
    template: str,
    inventory: str,
    trace: str,
    regress: str,
    approval_audit: str,
    credential_evidence: str,
    render_pdf: bool,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.packs.common import split_csv
    from gait.packs.guard import (
        GuardPackInputs,
        build_guard_pack,
        default_pack_path,
        write_guard_pack,
    )
    from gait.packs.source import read_source_run
    from gait.runpack.reader import resolve_runpack
    from gait.signing import resolve_signing_key

    target = one_target(args, run, "--run <run_id|path>")
    key, warnings = resolve_signing_key(
        key_mode.strip() or "dev", private_key=private_key, private_key_env=private_key_env
    )
    pack = read_source_run(resolve_runpack(target))
    inputs = GuardPackInputs(
        inventory=split_csv(inventory),
        traces=split_csv(trace),
        regress=split_csv(regress),
        approval_audit=split_csv(approval_audit),
        credential_evidence=split_csv(credential_evidence),
        auto_discover=True,
    )
    result = build_guard_pack(
        pack,
        inputs,
        template=template,
        case_id=case_id,
        sign_key=key,
        producer_version=__version__,
        render_pdf=render_pdf,
    )
    write_guard_pack(result, out.strip() or default_pack_path(pack, result.pack_id))
    payload: dict[str, Any] = {
        "ok": True,
        "pack_path": result.path,
        "pack_id": result.pack_id,
        "run_id": result.run_id,
        "template_id": result.template_id,
        "manifest_path": f"{result.path}#pack_manifest.json",
    }
    # zero counts and no warnings are left out, as the original (omitempty)
    if result.controls:
        payload["controls"] = result.controls
    if result.rendered_artifacts:
        payload["rendered_artifacts"] = result.rendered_artifacts
    if warnings:
        payload["warnings"] = warnings
    return Outcome(payload, text=[f"guard pack ok: {result.path}"])


def verify_outcome(kind: str, report: Any) -> Outcome:
    payload = report.to_json()
    status = "ok" if report.ok else "failed"
    lines = [f"{kind} verify {status}: {report.path}"]
    if not report.ok:
        for label, key in (
            ("missing files", "missing_files"),
            ("undeclared files", "undeclared_files"),
            ("zip errors", "zip_errors"),
            ("errors", "errors"),
        ):
            if payload.get(key):
                lines.append(f"{label}: " + "; ".join(payload[key]))
        if payload.get("hash_mismatches"):
            lines.append(f"hash mismatches: {len(payload['hash_mismatches'])}")
    lines.append(f"signature status: {report.signature_status}")
    if payload.get("signature_errors"):
        lines.append("signature errors: " + "; ".join(payload["signature_errors"]))
    return Outcome(payload, 0 if report.ok else 2, text=lines)


def pack_verify_flags(fn: Any) -> Any:
    """Argument and options of ``guard verify`` and ``pack verify`` (same flags, same help)."""
    fn = _key_flags(fn)
    fn = click.option(
        "--require-signature", is_flag=True, help="Fail unless a signature verifies."
    )(fn)
    fn = click.option(
        "--profile", default="standard", help="standard|strict (strict requires a key)."
    )(fn)
    fn = click.option("--path", default=None, help="Pack zip (instead of the positional).")(fn)
    return click.argument("args", nargs=-1, metavar="PACK.zip")(fn)


def run_pack_verify(
    kind: str,
    verify: Callable[..., Any],
    args: tuple[str, ...],
    path: str | None,
    profile: str,
    require_signature: bool,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
) -> Outcome:
    """Resolve the target and key, verify with ``verify``, report as ``kind``."""
    target = one_target(args, path, "<evidence_pack.zip>" if kind == "guard" else "<pack.zip>")
    key, strict = load_verify_key(profile, public_key, public_key_env, private_key, private_key_env)
    from gait.cli.term import Progress

    with Progress(f"{kind} verify hashing", 0, in_bytes=True) as shown:
        report = verify(
            target, public_key=key, require_signature=require_signature or strict, progress=shown
        )
    return verify_outcome(kind, report)


@gait_command(
    group,
    "verify",
    explain="Verify an evidence or incident pack offline: member hashes, layout, signatures.",
    help="Verify an evidence pack zip. Exit 0 ok, 2 integrity or signature failure, 6 bad input.",
)
@pack_verify_flags
def verify_command(json: bool, **flags: Any) -> Outcome:
    from gait.packs.verify import verify_guard_pack

    outcome = run_pack_verify("guard", verify_guard_pack, **flags)
    if not outcome.payload.get("files_checked"):
        outcome.payload.pop("files_checked", None)  # omitted when zero, as the original
    return outcome


@gait_command(
    group,
    "retain",
    explain=(
        "Apply retention windows to trace_*.json and evidence/incident pack files under a root "
        "and report what was deleted and kept."
    ),
    help="Delete trace files and packs older than their retention window (--dry-run to preview).",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--root", default=".", help="Directory scanned (recursively) for artifacts.")
@click.option("--trace-ttl", default="168h", help="Go duration kept for trace_*.json files.")
@click.option("--pack-ttl", default="720h", help="Go duration kept for evidence/incident packs.")
@click.option("--report-out", default="", help="Also write the retention report JSON here.")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
def retain_command(
    args: tuple[str, ...],
    root: str,
    trace_ttl: str,
    pack_ttl: str,
    report_out: str,
    dry_run: bool,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.packs.retention import apply_retention
    from gait.policy.duration import parse_go_duration

    if args:
        raise InvalidInput("unexpected positional arguments")
    ttls = []
    for flag, text in (("--trace-ttl", trace_ttl), ("--pack-ttl", pack_ttl)):
        try:
            ttls.append(parse_go_duration(text.strip()))
        except ValueError as err:
            raise InvalidInput(f"parse {flag}: {err}") from err
    report = apply_retention(
        root,
        ttls[0],
        ttls[1],
        dry_run=dry_run,
        report_out=report_out,
        producer_version=__version__,
    )
    payload: dict[str, Any] = {"ok": True, "root_path": report["root_path"]}
    # zero counts, empty lists and a false dry_run are left out, as the original
    for key in ("scanned_files", "deleted_files", "kept_files", "dry_run"):
        if report[key]:
            payload[key] = report[key]
    text = (
        f"guard retain ok: scanned={report['scanned_files']} deleted={len(report['deleted_files'])}"
    )
    return Outcome(payload, text=[text])


def _crypto_flags(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--in", "in_path", default="", help="Input artifact path."),
            click.option("--out", default="", help="Output path."),
            click.option("--key-env", default="", help="Env var holding a base64 32-byte key."),
            click.option(
                "--key-command", default="", help="Program that prints a base64 32-byte key."
            ),
            click.option(
                "--key-command-args", default="", help="Comma-separated args for --key-command."
            ),
        )
    ):
        fn = option(fn)
    return click.argument("args", nargs=-1, metavar="[ARTIFACT]")(fn)


def _crypto_run(
    fn: Any,
    usage: str,
    *,
    args: tuple[str, ...],
    in_path: str,
    out: str,
    key_env: str,
    key_command: str,
    key_command_args: str,
    **extra: Any,
) -> dict[str, Any]:
    """Check the input artifact (--in or the one positional) and call ``fn`` with the key flags."""
    from gait.packs.common import split_csv

    rest = list(args)
    if not in_path.strip() and rest:
        in_path = rest.pop(0)
    if not in_path.strip() or rest:
        raise InvalidInput(f"expected --in {usage}")
    return fn(
        in_path,
        out,
        key_env=key_env,
        key_command=key_command,
        key_command_args=split_csv(key_command_args),
        **extra,
    )


@gait_command(
    group,
    "encrypt",
    explain="Encrypt an artifact (AES-256-GCM) for storage at rest with a key from env or a command.",
    help="Encrypt an artifact to <in>.gaitenc (key from --key-env or --key-command).",
)
@_crypto_flags
def encrypt_command(json: bool, **flags: Any) -> Outcome:
    from gait import __version__
    from gait.packs.crypto import encrypt_artifact

    result = _crypto_run(encrypt_artifact, "<artifact>", producer_version=__version__, **flags)
    artifact = result["artifact"]
    payload: dict[str, Any] = {
        "ok": True,
        "path": result["path"],
        "algorithm": artifact["algorithm"],
        "plain_sha256": artifact["plain_sha256"],
        "key_mode": result["key_source"]["mode"],
    }
    if artifact["plain_size"]:
        payload["plain_size"] = artifact["plain_size"]
    if result["key_source"].get("ref"):
        payload["key_ref"] = result["key_source"]["ref"]
    return Outcome(payload, text=[f"guard encrypt ok: {result['path']}"])


@gait_command(
    group,
    "decrypt",
    explain="Decrypt a .gaitenc artifact with the configured key and check its sha256.",
    help="Decrypt a .gaitenc artifact (key from --key-env or --key-command).",
)
@_crypto_flags
def decrypt_command(json: bool, **flags: Any) -> Outcome:
    from gait.packs.crypto import decrypt_artifact

    result = _crypto_run(decrypt_artifact, "<artifact.gaitenc>", **flags)
    payload: dict[str, Any] = {
        "ok": True,
        "path": result["path"],
        "plain_sha256": result["plain_sha256"],
    }
    if result["plain_size"]:
        payload["plain_size"] = result["plain_size"]
    return Outcome(payload, text=[f"guard decrypt ok: {result['path']}"])
