"""Where a regress fixture's runpack comes from (regress.md §2 step 1, §5).

Besides a run_id or runpack path, ``--from`` may name a session chain (the
chosen checkpoint's runpack is used), a run or call pack (``gait pack build``,
``mcp proxy --pack-out``; the pack is verified as a pack when the caller
passes the pack checker, then its ``source/runpack.zip`` is used), or a capture receipt (``gait capture``).
Job and guard packs hold no runpack and are refused with that reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gait.errors import GaitError, InvalidInput

__all__ = ["SourceRef", "read_capture_receipt", "resolve_regress_source"]

CAPTURE_SCHEMA = "gait.capture.receipt"
PACK_MANIFEST = "pack_manifest.json"
SOURCE_RUNPACK = "source/runpack.zip"
RUNPACK_PACK_TYPES = ("run", "call")


class PackReport(Protocol):
    ok: bool

    def to_json(self) -> dict[str, Any]: ...


PackVerifier = Callable[[str], PackReport]
"""Checks a whole pack (``gait.packs.verify.verify_any_pack``; packs sit beside regress)."""


@dataclass
class SourceRef:
    path: str
    session_chain: str = ""
    checkpoint_index: int = 0
    temp_dir: str = ""  # removed by the caller once the runpack was copied
    origin: str = ""  # what the user named

    def cleanup(self) -> None:
        if self.temp_dir:
            import shutil

            shutil.rmtree(self.temp_dir, ignore_errors=True)


def read_capture_receipt(path: str) -> dict[str, Any] | None:
    """The receipt if ``path`` is a JSON file with the capture schema, else None.

    A repeated key is refused (InvalidInput naming it) rather than read as "no receipt".
    """
    from gait.safejson import DuplicateKey, loads

    try:
        with open(path, "rb") as handle:
            value = loads(handle.read(), f"parse capture receipt {path}")
    except DuplicateKey:
        raise
    except (OSError, InvalidInput):
        return None
    if not isinstance(value, dict) or value.get("schema_id") != CAPTURE_SCHEMA:
        return None
    if value.get("schema_version") != "1.0.0" or not value.get("artifact_path"):
        raise InvalidInput(f"capture receipt {path}: needs schema_version 1.0.0 and artifact_path")
    return value


def _report_problems(report: Any) -> str:
    body = report.to_json()
    problems = []
    for key in (
        "missing_files",
        "hash_mismatches",
        "undeclared_files",
        "zip_errors",
        "errors",
        "signature_errors",
    ):
        values = body.get(key) or []
        shown = [str(v.get("path", v)) if isinstance(v, dict) else str(v) for v in values]
        if shown:
            problems.append(f"{key}: {', '.join(shown)}")
    return "; ".join(problems) or "not ok"


def _pack_runpack(path: str, verify_pack: PackVerifier | None) -> bytes | None:
    """``source/runpack.zip`` of a run or call pack; None if ``path`` is no pack.

    With ``verify_pack`` (the CLI passes ``gait pack verify``'s checker: member
    hashes, pack_id, proof record chain, payloads, signatures when present),
    the whole pack must verify before its runpack is used. Without it only
    the embedded runpack's hash is checked against the pack manifest. A pack
    that fails, or one without a runpack (job and guard packs), is invalid
    input (exit 6) naming why.
    """
    from gait.canonical import sha256_hex
    from gait.errors import VerificationFailed
    from gait.runpack.zipread import ZipEntryError, ZipFormatError, open_zip

    try:
        with open_zip(path, strict=False) as archive:
            if archive.find(PACK_MANIFEST) is None:
                return None
    except (OSError, ZipFormatError):
        return None
    if verify_pack is not None:
        try:
            report = verify_pack(path)
        except VerificationFailed as err:
            raise InvalidInput(f"source pack failed verification: {err.message}") from err
        if not report.ok:
            raise InvalidInput(f"source pack failed verification: {_report_problems(report)}")
    with open_zip(path, strict=False) as archive:
        manifest_entry = archive.find(PACK_MANIFEST)
        inner = archive.find(SOURCE_RUNPACK)
        if manifest_entry is None or archive.duplicates:
            raise InvalidInput(f"pack {path}: unreadable {PACK_MANIFEST}")
        from gait.safejson import loads

        try:
            manifest = loads(archive.read(manifest_entry), f"pack {path}: {PACK_MANIFEST}")
            data = archive.read(inner) if inner is not None else b""
        except ZipEntryError as err:
            raise InvalidInput(f"pack {path}: {err}") from err
    if not isinstance(manifest, dict):
        raise InvalidInput(f"pack {path}: {PACK_MANIFEST} must be a JSON object")
    pack_type = str(manifest.get("pack_type") or "")
    if manifest.get("schema_id") == "gait.guard.pack_manifest":
        pack_type = "guard"
    if pack_type not in RUNPACK_PACK_TYPES or inner is None:
        raise InvalidInput(
            f"pack type {pack_type or 'unknown'} does not contain a runpack source "
            f"(regress needs a runpack, or a {' or '.join(RUNPACK_PACK_TYPES)} pack)"
        )
    # The bytes used must be the bytes the manifest lists (also after a full verify:
    # the file is read again here).
    listed = {
        c.get("path"): str(c.get("sha256") or "").lower()
        for c in manifest.get("contents") or []
        if isinstance(c, dict)
    }
    if listed.get(SOURCE_RUNPACK) != sha256_hex(data):
        raise InvalidInput(f"pack {path}: {SOURCE_RUNPACK} does not match its manifest")
    return data


def _is_runpack(path: str) -> bool:
    from gait.runpack.zipread import ZipFormatError, open_zip

    try:
        with open_zip(path, strict=False) as archive:
            return archive.find("manifest.json") is not None
    except (OSError, ZipFormatError):
        return False


def resolve_regress_source(
    source: str, checkpoint: str = "", *, verify_pack: PackVerifier | None = None
) -> SourceRef:
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.session import is_session_chain, resolve_checkpoint

    text = source.strip()
    if text.lower().endswith(".json"):
        if not is_session_chain(text):
            raise InvalidInput(f"not a session chain file: {text}")
        path, entry = resolve_checkpoint(text, checkpoint or "latest")
        return SourceRef(path, text, int(entry.get("checkpoint_index") or 0), origin=text)
    if checkpoint.strip():
        raise InvalidInput("--checkpoint applies only to session chain sources")
    path = resolve_runpack(text)
    if _is_runpack(path):
        return SourceRef(path, origin=text)
    data = _pack_runpack(path, verify_pack)
    if data is None:
        return SourceRef(path, origin=text)  # let the runpack checks report what is wrong with it
    temp_dir = tempfile.mkdtemp(prefix="gait-regress-")
    inner = os.path.join(temp_dir, "runpack.zip")
    try:
        with open(inner, "wb") as handle:
            handle.write(data)
    except OSError as err:
        raise GaitError(f"extract embedded runpack: {err}", exit_code=1) from err
    return SourceRef(inner, temp_dir=temp_dir, origin=text)
