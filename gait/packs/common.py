"""Helpers shared by every pack builder and verifier (scout_packs.md, "Shared helpers").

Packs are zips written with :func:`gait.runpack.zipwrite.write_zip` and read
back with :func:`gait.runpack.zipread.open_zip`: one writer, one reader, the
same safety and canonical-layout rules as runpacks, so any single changed byte
of a pack is found by the verifier.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from typing import Any

from gait.canonical import canonical_bytes
from gait.errors import InvalidInput, VerificationFailed
from gait.runpack.zipread import ZipArchive, ZipFormatError, open_zip
from gait.runpack.zipwrite import MODE_REGULAR, ZipMember, write_zip

__all__ = [
    "ZERO_TIME",
    "check_member_path",
    "entry_type",
    "jcs",
    "normalize_identifier",
    "open_pack_zip",
    "read_json_file",
    "split_csv",
    "unique_sorted",
    "write_pack",
    "zip_bytes",
]

ZERO_TIME = "1980-01-01T00:00:00Z"
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalize_identifier(text: str) -> str:
    """Lowercase, every char outside ``[a-z0-9]`` → ``_``, trimmed of ``_``.

    Empty result → first 8 bytes of sha256(original) in hex, so distinct
    non-ASCII names never collapse to one identifier.
    """
    out = _NON_ALNUM.sub("_", text.strip().lower()).strip("_")
    if out:
        return out
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def unique_sorted(values: Iterable[str]) -> list[str]:
    """Trimmed, empties dropped, de-duplicated, sorted by bytes."""
    cleaned = {v.strip() for v in values if isinstance(v, str) and v.strip()}
    return sorted(cleaned, key=lambda s: s.encode("utf-8"))


def split_csv(value: str | Iterable[str] | None) -> list[str]:
    """CSV flags: split on ``,``, trim, drop empties (order kept)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return out


def jcs(value: Any) -> bytes:
    return canonical_bytes(value)


def entry_type(path: str) -> str:
    """Unified-pack entry type by extension."""
    lower = path.lower()
    for ext, kind in ((".jsonl", "jsonl"), (".json", "json"), (".zip", "zip")):
        if lower.endswith(ext):
            return kind
    return "blob"


def check_member_path(path: str) -> str:
    """A member path must be relative, slash-separated and never climb out (``..``)."""
    text = path.replace("\\", "/")
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise InvalidInput(f"pack member path must be relative: {path}")
    if any(part in ("", ".", "..") for part in text.split("/")):
        raise InvalidInput(f"pack member path must not traverse directories: {path}")
    return text


def read_json_file(path: str, what: str) -> Any:
    """Parse a JSON input file under the shared untrusted-JSON rules (:mod:`gait.safejson`).

    Unreadable, malformed or repeated-key input → InvalidInput naming the file.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise InvalidInput(f"read {what} {path}: {err.strerror or err}") from err
    from gait.safejson import loads

    return loads(data, f"parse {what} {path}")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    return write_zip(ZipMember(check_member_path(name), data) for name, data in members.items())


def write_pack(path: str, data: bytes) -> str:
    """Write pack bytes atomically (0600), creating the parent (0750); ``..`` is refused."""
    from gait.fsutil import atomic_write

    text = os.fspath(path).strip()
    if not text:
        raise InvalidInput("pack output path is required")
    if not os.path.isabs(text) and ".." in text.replace("\\", "/").split("/"):
        raise InvalidInput("relative pack output path must not traverse parent directories")
    parent = os.path.dirname(text)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    atomic_write(text, data, 0o600)
    return text


def open_pack_zip(path: str, code_prefix: str) -> ZipArchive:
    """Open a pack strictly. Not a zip / unreadable → exit 6; a damaged zip → exit 2."""
    try:
        return open_zip(path, strict=True, allowed_modes=(MODE_REGULAR,))
    except ZipFormatError as err:
        if err.zip_like:
            raise VerificationFailed(err.message, code=f"{code_prefix}_{err.reason}") from err
        raise InvalidInput(err.message) from err
    except OSError as err:
        raise InvalidInput(f"open zip: {err.strerror or err}: {path}") from err
