"""``registry list`` and ``registry verify``: read the cache back, offline.

``list`` walks ``<cache>/<name>/<version>/<digest>/registry_pack.json`` (entries
that do not read or parse are skipped) and pairs each with its pin.
``verify`` re-checks one manifest file: signature, publisher allowlist, and the
pin of the cache it sits in (given, or inferred from the file's own path).
"""

from __future__ import annotations

import os
from typing import Any

from gait.registry.install import go_clean, join, make_dirs, resolve_cache_dir
from gait.registry.manifest import (
    MANIFEST_FILE,
    RegistryError,
    check_publisher,
    check_safe_segment,
    normalize_digest,
    parse_manifest,
    signable_digest,
    verify_signatures,
)

__all__ = [
    "REPORT_SCHEMA_ID",
    "REPORT_SCHEMA_VERSION",
    "VerifyResult",
    "list_packs",
    "verification_report",
    "verify_manifest",
]

REPORT_SCHEMA_ID = "gait.registry.verification_report"
REPORT_SCHEMA_VERSION = "1.0.0"
# Reports carry a fixed time so the same verification gives the same bytes.
REPORT_CREATED_AT = "1980-01-01T00:00:00Z"
_MAX_MANIFEST = 5 * 1024 * 1024
_MAX_PIN = 4096


def _read(path: str, limit: int) -> bytes:
    from gait.fsutil import read_regular_file

    return read_regular_file(path, limit)


def _entries(directory: str, what: str, *, missing_ok: bool = False) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        if missing_ok:
            return []
        raise RegistryError(f"read {what}: no such file or directory") from None
    except OSError as err:
        raise RegistryError(f"read {what}: {err.strerror or err}") from None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _pins(cache_dir: str) -> dict[str, tuple[str, str]]:
    """pack name -> (pin path, pin text) for each readable ``pins/*.pin`` file."""
    pins_dir = join(cache_dir, "pins")
    out: dict[str, tuple[str, str]] = {}
    for entry in _entries(pins_dir, "pins dir", missing_ok=True):
        if _is_dir(entry) or not entry.name.endswith(".pin"):
            continue
        path = join(pins_dir, entry.name)
        try:
            text = _read(path, _MAX_PIN).decode("utf-8", "replace")
        except OSError:
            continue
        out[entry.name[: -len(".pin")]] = (path, text.strip())
    return out


def list_packs(cache_dir: str = "") -> list[dict[str, Any]]:
    """Installed packs sorted by name, version, digest (empty when the cache is missing)."""
    cache = resolve_cache_dir(cache_dir)
    entries = _entries(cache, "cache dir", missing_ok=True)
    pins = _pins(cache)
    packs: list[dict[str, Any]] = []
    for pack in entries:
        if not _is_dir(pack) or pack.name == "pins":
            continue
        pack_dir = join(cache, pack.name)
        for version in _entries(pack_dir, "pack versions"):
            if not _is_dir(version):
                continue
            version_dir = join(pack_dir, version.name)
            for digest_dir in _entries(version_dir, "pack digests"):
                if not _is_dir(digest_dir):
                    continue
                path = join(version_dir, digest_dir.name, MANIFEST_FILE)
                try:
                    manifest = parse_manifest(_read(path, _MAX_MANIFEST))
                except (OSError, RegistryError):
                    continue
                digest = signable_digest(manifest)
                name = manifest["pack_name"]
                pin_path, pin_digest = pins.get(name, ("", ""))
                item: dict[str, Any] = {
                    "pack_name": name,
                    "pack_version": manifest["pack_version"],
                    "digest": digest,
                    "metadata_path": path,
                    "pin_verified": bool(pin_digest)
                    and normalize_digest(pin_digest) == normalize_digest(digest),
                }
                if pin_path:
                    item["pin_path"] = pin_path
                if pin_digest:
                    item["pin_digest"] = pin_digest
                packs.append(item)
    packs.sort(key=lambda p: (p["pack_name"], p["pack_version"], p["digest"]))
    return packs


class VerifyResult:
    __slots__ = (
        "digest",
        "metadata_path",
        "pack_name",
        "pack_version",
        "pin_digest",
        "pin_path",
        "pin_present",
        "pin_verified",
        "publisher",
        "publisher_allowed",
        "signature_error",
        "signature_verified",
        "source",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, "")
        self.pin_present = self.pin_verified = False
        self.signature_verified = self.publisher_allowed = False

    def passed(self, allowlist_given: bool) -> bool:
        """Signature good, pin (if present) matches, publisher allowed (if a list was given)."""
        ok = self.signature_verified and (not self.pin_present or self.pin_verified)
        return ok and (self.publisher_allowed or not allowlist_given)


def _infer_cache_dir(path: str, name: str, version: str, digest: str) -> str:
    clean = go_clean(path)
    if os.path.basename(clean) != MANIFEST_FILE:
        return ""
    digest_dir = os.path.dirname(clean)
    if os.path.basename(digest_dir).lower() != digest.strip().lower():
        return ""
    version_dir = os.path.dirname(digest_dir)
    if os.path.basename(version_dir) != version.strip():
        return ""
    pack_dir = os.path.dirname(version_dir)
    if os.path.basename(pack_dir) != name.strip():
        return ""
    return os.path.dirname(pack_dir) or "."


def verify_manifest(
    path: str, *, key: Any, cache_dir: str = "", publisher_allowlist: list[str] | str = ()
) -> VerifyResult:
    """Check one manifest file. Unreadable/invalid input raises; failed checks are reported."""
    from gait.fsutil import go_os_error

    path = path.strip()
    if not path:
        raise RegistryError("metadata path is required")
    try:
        raw = _read(path, _MAX_MANIFEST)
    except OSError as err:
        raise RegistryError(f"read metadata file: {go_os_error(path, err)}") from None
    manifest = parse_manifest(raw)
    digest = signable_digest(manifest)
    result = VerifyResult()
    result.pack_name = manifest["pack_name"]
    result.pack_version = manifest["pack_version"]
    result.digest = digest
    result.metadata_path = path
    result.publisher = manifest["publisher"].strip()
    result.source = manifest["source"].strip()
    try:
        verify_signatures(manifest["signatures"], key, digest)
        result.signature_verified = True
    except RegistryError as err:
        result.signature_error = err.message
    try:
        check_publisher(manifest["publisher"], publisher_allowlist)
        result.publisher_allowed = True
    except RegistryError as err:
        result.signature_error = result.signature_error or err.message
    cache = cache_dir.strip() or _infer_cache_dir(
        path, result.pack_name, result.pack_version, digest
    )
    if cache:
        check_safe_segment("pack_name", result.pack_name)
        pin_path = join(cache, "pins", result.pack_name + ".pin")
        result.pin_path = pin_path
        try:
            text = _read(pin_path, _MAX_PIN).decode("utf-8", "replace")
        except FileNotFoundError:
            text = None
        except OSError as err:
            raise RegistryError(f"read pin file: {go_os_error(pin_path, err)}") from None
        if text is not None:
            result.pin_present = True
            result.pin_digest = text.strip()
            result.pin_verified = normalize_digest(result.pin_digest) == normalize_digest(digest)
    return result


def verification_report(result: VerifyResult, ok: bool, producer_version: str) -> dict[str, Any]:
    """The ``gait.registry.verification_report`` record, fields in the reference's order."""
    reasons = set()
    if not result.signature_verified:
        reasons.add("signature_not_verified")
    if result.pin_present and not result.pin_verified:
        reasons.add("pin_mismatch")
    if not result.publisher_allowed:
        reasons.add("publisher_not_allowed")
    report: dict[str, Any] = {
        "schema_id": REPORT_SCHEMA_ID,
        "schema_version": REPORT_SCHEMA_VERSION,
        "created_at": REPORT_CREATED_AT,
        "producer_version": producer_version,
        "pack_name": result.pack_name,
        "pack_version": result.pack_version,
        "digest": result.digest,
        "metadata_path": result.metadata_path,
        "pin_path": result.pin_path,
        "pin_digest": result.pin_digest,
        "pin_present": result.pin_present,
        "pin_verified": result.pin_verified,
        "signature_verified": result.signature_verified,
        "publisher": result.publisher,
        "source": result.source,
        "publisher_allowed": result.publisher_allowed,
        "status": "pass" if ok else "fail",
        "failure_reasons": sorted(reasons),
    }
    for name in ("pin_path", "pin_digest", "publisher", "source", "failure_reasons"):
        if not report[name]:
            del report[name]
    return report


def write_report(path: str, report: dict[str, Any]) -> str:
    """Write the report as 2-space indented JSON (reference layout) and return its path."""
    import json

    from gait.fsutil import atomic_write

    target = go_clean(path.strip())
    text = json.dumps(report, indent=2, ensure_ascii=False)
    # The reference's encoder escapes these three in every string.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    parent = os.path.dirname(target)
    try:
        if parent:
            make_dirs(parent)
    except OSError as err:
        raise RegistryError(f"create registry report directory: {err.strerror or err}") from None
    try:
        atomic_write(target, (text + "\n").encode("utf-8"), 0o600)
    except OSError as err:
        raise RegistryError(f"write registry verification report: {err.strerror or err}") from None
    return target
