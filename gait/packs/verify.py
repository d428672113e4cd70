"""Verify guard, incident and unified packs (scout_packs.md §2.3, §4).

The checks mirror runpack verify: duplicates are a verification error, every
listed member is hashed from its decompressed bytes, the container must be
the canonical layout our writer produces, and signatures are checked over
the digest of the manifest without ``signatures``. Members in the zip that the
manifest does not list are reported too: an evidence pack must hold exactly
what it declares. Exit mapping: InvalidInput → 6, VerificationFailed → 2,
else ``ok`` decides 0 or 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gait.canonical import digest
from gait.errors import InvalidInput, VerificationFailed
from gait.packs.common import open_pack_zip
from gait.runpack.verify import HashMeter, ProgressFn, signature_status
from gait.runpack.zipread import ZipArchive, ZipEntryError, normalize_entry_name

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "GUARD_MANIFEST_SCHEMA",
    "PACK_MANIFEST",
    "UNIFIED_MANIFEST_SCHEMA",
    "PackVerifyReport",
    "check_signatures",
    "read_pack_manifest",
    "verify_any_pack",
    "verify_guard_pack",
]

PACK_MANIFEST = "pack_manifest.json"
GUARD_MANIFEST_SCHEMA = "gait.guard.pack_manifest"
UNIFIED_MANIFEST_SCHEMA = "gait.pack.manifest"
SCHEMA_VERSION = "1.0.0"


@dataclass
class PackVerifyReport:
    path: str
    pack_id: str = ""
    run_id: str = ""
    pack_type: str = ""
    source_ref: str = ""
    legacy_type: str = ""
    files_checked: int = 0
    proof_records_verified: int = 0
    missing_files: list[str] = field(default_factory=list)
    hash_mismatches: list[dict[str, str]] = field(default_factory=list)
    undeclared_files: list[str] = field(default_factory=list)
    zip_errors: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    signature_status: str = "missing"
    signature_errors: list[str] = field(default_factory=list)
    signatures_total: int = 0
    signatures_valid: int = 0
    require_signature: bool = False

    @property
    def ok(self) -> bool:
        if (
            self.missing_files
            or self.hash_mismatches
            or self.undeclared_files
            or self.zip_errors
            or self.errors
        ):
            return False
        if self.require_signature:
            return self.signature_status == "verified"
        return self.signature_status != "failed"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "path": self.path,
            "pack_id": self.pack_id,
            "run_id": self.run_id,
            "pack_type": self.pack_type,
            "source_ref": self.source_ref,
            "legacy_type": self.legacy_type,
            "files_checked": self.files_checked,
            "proof_records_verified": self.proof_records_verified,
            "missing_files": sorted(self.missing_files),
            "hash_mismatches": sorted(self.hash_mismatches, key=lambda m: m["path"]),
            "undeclared_files": sorted(self.undeclared_files),
            "zip_errors": sorted(self.zip_errors),
            "errors": sorted(self.errors),
            "signature_status": self.signature_status,
            "signature_errors": sorted(self.signature_errors),
            "signatures_total": self.signatures_total,
            "signatures_valid": self.signatures_valid,
        }
        return {k: v for k, v in out.items() if k in ("ok", "files_checked") or v}


def read_pack_manifest(archive: ZipArchive, code_prefix: str) -> dict[str, Any]:
    """The parsed ``pack_manifest.json``.

    Duplicates or an unreadable manifest → VerificationFailed (2). A missing
    manifest is invalid input (6) unless the container is damaged, in which
    case the damage is the finding (2). Malformed JSON → InvalidInput (6);
    a repeated key or too deep nesting in the signed manifest → VerificationFailed (2).
    """
    if archive.duplicates:
        raise VerificationFailed(
            "zip contains duplicate entries: " + ", ".join(archive.duplicates),
            code=f"{code_prefix}_duplicate_entries",
        )
    entry = archive.find(PACK_MANIFEST)
    if entry is None:
        if archive.layout_errors or archive.unsafe:
            raise VerificationFailed(
                f"missing {PACK_MANIFEST} in a damaged zip: " + "; ".join(archive.layout_errors),
                code=f"{code_prefix}_missing_manifest",
            )
        raise InvalidInput(f"missing {PACK_MANIFEST}")
    try:
        data = archive.read(entry)
    except ZipEntryError as err:
        raise VerificationFailed(
            f"read {PACK_MANIFEST}: {err.message}", code=f"{code_prefix}_manifest_unreadable"
        ) from err
    from gait.safejson import DuplicateKey, NestingTooDeep, loads

    try:
        raw = loads(data, f"parse {PACK_MANIFEST}")
    except DuplicateKey as err:
        # the manifest is signed: a second spelling of a field is tampering (as for runpacks)
        raise VerificationFailed(
            err.message, code=f"{code_prefix}_manifest_duplicate_key"
        ) from None
    except NestingTooDeep as err:
        raise VerificationFailed(err.message, code=f"{code_prefix}_manifest_too_deep") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"parse {PACK_MANIFEST}: manifest must be a JSON object")
    return raw


def _contents(raw: dict[str, Any]) -> list[dict[str, str]]:
    contents = raw.get("contents")
    if not isinstance(contents, list):
        raise InvalidInput(f"{PACK_MANIFEST}: contents must be a list")
    out = []
    for item in contents:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("path"), str)
            or not isinstance(item.get("sha256"), str)
        ):
            raise InvalidInput(f"{PACK_MANIFEST}: each contents entry needs path and sha256")
        out.append(item)
    return out


def check_members(
    archive: ZipArchive,
    raw: dict[str, Any],
    report: PackVerifyReport,
    progress: ProgressFn | None = None,
) -> None:
    """Hash every listed member; note missing, mismatched, undeclared members and zip damage."""
    contents = _contents(raw)
    report.files_checked = len(contents)
    listed = {PACK_MANIFEST}
    meter = HashMeter(progress, (archive.find(i["path"].replace("\\", "/")) for i in contents))
    for item in contents:
        name = item["path"].replace("\\", "/")
        listed.add(name)
        entry = archive.find(name)
        if entry is None:
            report.missing_files.append(name)
            continue
        try:
            actual = meter.sha256(archive, entry)
        except ZipEntryError as err:
            report.zip_errors.append(f"{name}: {err.message}")
            actual = ""
        if actual.lower() != item["sha256"].lower():
            report.hash_mismatches.append(
                {"path": name, "expected": item["sha256"], "actual": actual}
            )
    report.undeclared_files = sorted(
        {e.name for e in archive.entries if normalize_entry_name(e.name) not in listed}
    )
    report.zip_errors.extend(f"{name}: {reason}" for name, reason in archive.unsafe)
    report.zip_errors.extend(archive.layout_errors)


def check_signatures(
    report: PackVerifyReport,
    raw: dict[str, Any],
    public_key: KeyPair | None,
    require_signature: bool,
) -> None:
    """Signature status over digest(manifest without ``signatures``), as for runpacks."""
    report.require_signature = require_signature
    signatures = raw.get("signatures") or []
    if not isinstance(signatures, list):
        raise InvalidInput(f"{PACK_MANIFEST}: signatures must be a list")
    report.signatures_total = len(signatures)
    report.signature_status, report.signatures_valid = signature_status(
        signatures,
        lambda: digest({k: v for k, v in raw.items() if k != "signatures"}),
        public_key,
        require_signature,
        report.signature_errors,
    )


def guard_pack_id(run_id: str, contents: list[dict[str, Any]]) -> str:
    return "pack_" + digest({"run_id": run_id, "contents": contents})[:16]


def _verify_guard(
    archive: ZipArchive,
    raw: dict[str, Any],
    report: PackVerifyReport,
    public_key: KeyPair | None,
    require_signature: bool,
    progress: ProgressFn | None = None,
) -> None:
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise InvalidInput(f"{PACK_MANIFEST}: schema_version must be {SCHEMA_VERSION}")
    report.pack_id = str(raw.get("pack_id") or "")
    report.run_id = str(raw.get("run_id") or "")
    check_members(archive, raw, report, progress)
    computed = guard_pack_id(report.run_id, raw.get("contents") or [])
    if report.pack_id != computed:
        report.hash_mismatches.append(
            {"path": PACK_MANIFEST, "expected": report.pack_id, "actual": computed}
        )
    check_signatures(report, raw, public_key, require_signature)


def verify_guard_pack(
    path: str | os.PathLike[str],
    *,
    public_key: KeyPair | None = None,
    require_signature: bool = False,
    progress: ProgressFn | None = None,
) -> PackVerifyReport:
    """Verify an evidence or incident pack (``gait.guard.pack_manifest``)."""
    fspath = os.fspath(path)
    with open_pack_zip(fspath, "guard_pack") as archive:
        raw = read_pack_manifest(archive, "guard_pack")
        if raw.get("schema_id") != GUARD_MANIFEST_SCHEMA:
            raise InvalidInput(f"{PACK_MANIFEST}: schema_id must be {GUARD_MANIFEST_SCHEMA}")
        report = PackVerifyReport(path=fspath)
        _verify_guard(archive, raw, report, public_key, require_signature, progress)
    return report


def verify_any_pack(
    path: str | os.PathLike[str],
    *,
    public_key: KeyPair | None = None,
    require_signature: bool = False,
    progress: ProgressFn | None = None,
) -> PackVerifyReport:
    """``gait pack verify``: a runpack, a guard/incident pack or a unified pack (§4)."""
    fspath = os.fspath(path)
    with open_pack_zip(fspath, "pack") as archive:
        if archive.find(PACK_MANIFEST) is None and archive.find("manifest.json") is not None:
            legacy = True
        else:
            legacy = False
            raw = read_pack_manifest(archive, "pack")
            report = PackVerifyReport(path=fspath)
            schema = raw.get("schema_id")
            if schema == GUARD_MANIFEST_SCHEMA:
                report.pack_type = "guard"
                report.legacy_type = "guard"
                _verify_guard(archive, raw, report, public_key, require_signature, progress)
            elif schema == UNIFIED_MANIFEST_SCHEMA:
                from gait.packs.unified import verify_unified

                verify_unified(archive, raw, report, public_key, require_signature, progress)
            else:
                raise InvalidInput(f"{PACK_MANIFEST}: unsupported schema_id {schema!r}")
    if legacy:
        return _verify_legacy_runpack(fspath, public_key, require_signature, progress)
    return report


def _verify_legacy_runpack(
    path: str,
    public_key: KeyPair | None,
    require_signature: bool,
    progress: ProgressFn | None = None,
) -> PackVerifyReport:
    from gait.runpack.verify import verify_runpack

    inner = verify_runpack(
        path, public_key=public_key, require_signature=require_signature, progress=progress
    )
    report = PackVerifyReport(
        path=path,
        pack_id=inner.manifest_digest,
        run_id=inner.run_id,
        pack_type="run",
        source_ref=inner.run_id,
        legacy_type="runpack",
        files_checked=inner.files_checked,
        missing_files=list(inner.missing_files),
        hash_mismatches=[m.to_json() for m in inner.hash_mismatches],
        undeclared_files=list(inner.unexpected_files),
        zip_errors=list(inner.zip_errors),
        errors=list(inner.context_errors),  # receipts that no longer match: not ok
        signature_status=inner.signature_status,
        signature_errors=list(inner.signature_errors),
        signatures_total=inner.signatures_total,
        signatures_valid=inner.signatures_valid,
        require_signature=require_signature,
    )
    return report
