"""Deterministic zip writer (runpack.md §2).

The same members always give the same bytes, on every machine: entries
sorted by name, method deflate, DOS time fixed to 1980-01-01 00:00:00, unix
mode ``0644`` (``0755`` only when asked), no extra fields, no data
descriptors, no directory entries, no comments.

The deflate streams are made of *stored* blocks (deflate's uncompressed
block type), cut at exactly 65535 bytes. Real compression was rejected for
two reasons: compressor output differs between zlib builds (zlib vs zlib-ng),
so "byte-identical zips" would only hold per machine; and compressed deflate
is malleable (a back-reference can often point at another copy of the same
bytes), so a changed byte could leave the content intact and go unnoticed.
Stored blocks have exactly one valid encoding, which the reader checks, so
any single changed byte is detected, and verifying costs little more than
hashing. The container is written by hand rather than through
:mod:`zipfile` so that nothing depends on the host.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

__all__ = [
    "DOS_DATE_1980",
    "DOS_TIME_MIDNIGHT",
    "MODE_EXEC",
    "MODE_REGULAR",
    "VERSION_MADE_BY",
    "VERSION_NEEDED",
    "ZipMember",
    "deflate",
    "write_zip",
]

DOS_TIME_MIDNIGHT = 0
DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1  # 1980-01-01
VERSION_NEEDED = 20  # 2.0: deflate
VERSION_MADE_BY = (3 << 8) | VERSION_NEEDED  # unix host, zip 2.0
MODE_REGULAR = 0o100644
MODE_EXEC = 0o100755
FLAG_UTF8 = 0x0800

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
SIG_LOCAL = 0x04034B50
SIG_CENTRAL = 0x02014B50
SIG_END = 0x06054B50


class ZipMember:
    """One file to store: a slash-separated name, its bytes, and whether it is executable."""

    __slots__ = ("data", "executable", "name")

    def __init__(self, name: str, data: bytes, *, executable: bool = False) -> None:
        self.name = name
        self.data = data
        self.executable = executable


STORED_BLOCK = 65535


def deflate(data: bytes | memoryview) -> bytes:
    """A raw deflate stream of stored blocks: full 65535-byte blocks, then the final one.

    Each block is a header byte (``0x00``, or ``0x01`` for the final block:
    BFINAL, BTYPE=00, zero padding), LEN and its complement NLEN, the bytes.
    Empty input is a single empty final block.
    """
    view = memoryview(data)
    out = bytearray()
    pos = 0
    while True:
        chunk = view[pos : pos + STORED_BLOCK]
        pos += len(chunk)
        final = pos >= len(view)
        out += struct.pack("<BHH", 1 if final else 0, len(chunk), len(chunk) ^ 0xFFFF)
        out += chunk
        if final:
            return bytes(out)


def _check_name(name: str) -> bytes:
    if not name or name.startswith("/") or name.endswith("/") or "\\" in name:
        raise ValueError(f"invalid zip member name: {name!r}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"invalid zip member name: {name!r}")
    return name.encode("utf-8")


def write_zip(members: Iterable[ZipMember]) -> bytes:
    """The zip bytes for ``members`` (sorted by name bytes; duplicate names are an error)."""
    items = sorted(members, key=lambda m: m.name.encode("utf-8"))
    names = [m.name for m in items]
    if len(set(names)) != len(names):
        raise ValueError("duplicate zip member names")
    body = bytearray()
    central = bytearray()
    for member in items:
        raw_name = _check_name(member.name)
        flags = 0 if raw_name.isascii() else FLAG_UTF8
        compressed = deflate(member.data)
        crc = zlib.crc32(member.data) & 0xFFFFFFFF
        offset = len(body)
        if offset > 0xFFFFFFFF or len(member.data) > 0xFFFFFFFF:
            raise ValueError("zip too large (zip64 is not supported)")
        body += _LOCAL.pack(
            SIG_LOCAL,
            VERSION_NEEDED,
            flags,
            zlib.DEFLATED,
            DOS_TIME_MIDNIGHT,
            DOS_DATE_1980,
            crc,
            len(compressed),
            len(member.data),
            len(raw_name),
            0,
        )
        body += raw_name
        body += compressed
        mode = MODE_EXEC if member.executable else MODE_REGULAR
        central += _CENTRAL.pack(
            SIG_CENTRAL,
            VERSION_MADE_BY,
            VERSION_NEEDED,
            flags,
            zlib.DEFLATED,
            DOS_TIME_MIDNIGHT,
            DOS_DATE_1980,
            crc,
            len(compressed),
            len(member.data),
            len(raw_name),
            0,  # extra length
            0,  # comment length
            0,  # disk number start
            0,  # internal attributes
            mode << 16,
            offset,
        )
        central += raw_name
    end = _END.pack(SIG_END, 0, 0, len(items), len(items), len(central), len(body), 0)
    return bytes(body + central + end)
