"""Where a regress fixture's runpack comes from (regress.md §2 step 1, §5).

Besides a run_id or runpack path, ``--from`` may name a session chain (the
chosen checkpoint's runpack is used), a unified pack holding
``source/runpack.zip`` (that runpack is used, after its hash is checked
against the pack manifest), or a capture receipt (``gait capture``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import msgspec

from gait.errors import GaitError, InvalidInput

__all__ = ["SourceRef", "read_capture_receipt", "resolve_regress_source"]

CAPTURE_SCHEMA = "gait.capture.receipt"


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
    """The receipt if ``path`` is a JSON file with the capture schema, else None."""
    try:
        with open(path, "rb") as handle:
            value = msgspec.json.decode(handle.read())
    except (OSError, msgspec.DecodeError):
        return None
    if not isinstance(value, dict) or value.get("schema_id") != CAPTURE_SCHEMA:
        return None
    if value.get("schema_version") != "1.0.0" or not value.get("artifact_path"):
        raise InvalidInput(f"capture receipt {path}: needs schema_version 1.0.0 and artifact_path")
    return value


def _embedded_runpack(path: str) -> bytes | None:
    """``source/runpack.zip`` of a unified pack, hash-checked; None if ``path`` is no such pack."""
    from gait.canonical import sha256_hex
    from gait.runpack.zipread import ZipEntryError, ZipFormatError, open_zip

    try:
        archive = open_zip(path, strict=False)
    except (OSError, ZipFormatError):
        return None
    with archive:
        manifest_entry = archive.find("pack_manifest.json")
        inner = archive.find("source/runpack.zip")
        if manifest_entry is None or inner is None or archive.duplicates:
            return None
        try:
            manifest = msgspec.json.decode(archive.read(manifest_entry))
            data = archive.read(inner)
        except (ZipEntryError, msgspec.DecodeError):
            return None
    listed = {
        c.get("path"): str(c.get("sha256") or "").lower()
        for c in (manifest.get("contents") if isinstance(manifest, dict) else None) or []
        if isinstance(c, dict)
    }
    if listed.get("source/runpack.zip") != sha256_hex(data):
        raise InvalidInput(f"pack {path}: source/runpack.zip does not match its manifest")
    return data


def _is_runpack(path: str) -> bool:
    from gait.runpack.zipread import ZipFormatError, open_zip

    try:
        with open_zip(path, strict=False) as archive:
            return archive.find("manifest.json") is not None
    except (OSError, ZipFormatError):
        return False


def resolve_regress_source(source: str, checkpoint: str = "") -> SourceRef:
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
    data = _embedded_runpack(path)
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
