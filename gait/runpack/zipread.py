"""Safe zip reader (runpack.md §7) that never extracts anything on its own.

Opening a zip parses its end record and central directory by hand and checks,
before any member byte is inflated:

* unsafe names (absolute, drive letters, ``..`` segments, NUL, backslashes
  that resolve to any of those), directory entries, symlinks and other
  non-regular files → :attr:`ZipArchive.unsafe` (name, reason) pairs;
* duplicate names (after trimming and ``\\`` → ``/``) → :attr:`ZipArchive.duplicates`;
* declared sizes: each entry ≤ :data:`MAX_ENTRY_BYTES`, the sum ≤
  :data:`MAX_TOTAL_BYTES`, ratio ≤ :data:`MAX_COMPRESSION_RATIO` (zip bombs)
  → :class:`ZipFormatError` at open time; while inflating, output beyond the
  declared size is cut off and reported, so the declared sum also bounds what
  streaming can produce.

Those limits are for members that are streamed (hashed, or read record by
record). :meth:`ZipArchive.read` loads a member into memory and has its own,
smaller caps: :data:`MAX_READ_BYTES` per member and
:data:`MAX_READ_TOTAL_BYTES` for everything one archive loads.

With ``strict=True`` it also checks that the container has the exact shape
deterministic writers produce (:mod:`gait.runpack.zipwrite`, and the Go
reference writer): no comment, no bytes before, between or after entries,
local headers that agree with the central directory, fixed version fields and
modes, zero deflate padding bits. Violations are collected in
:attr:`ZipArchive.layout_errors` instead of raised, so a verifier can still
report which members are intact. This is what makes *any* single-byte change
of a runpack detectable, including bytes the zip format itself ignores.

Zip files up to :data:`MAX_IN_MEMORY_BYTES` are read into memory; larger
ones are read in chunks through the open file.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from gait.canonical import new_sha256
from gait.errors import EXIT_INVALID_INPUT, EXIT_VERIFY_FAILED, GaitError
from gait.runpack.zipwrite import (
    MODE_EXEC,
    MODE_REGULAR,
    SIG_CENTRAL,
    SIG_END,
    SIG_LOCAL,
    STORED_BLOCK,
    VERSION_MADE_BY,
    VERSION_NEEDED,
)

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_ENTRY_BYTES",
    "MAX_IN_MEMORY_BYTES",
    "MAX_READ_BYTES",
    "MAX_READ_TOTAL_BYTES",
    "MAX_TOTAL_BYTES",
    "ZipArchive",
    "ZipEntry",
    "ZipEntryError",
    "ZipFormatError",
    "normalize_entry_name",
    "open_zip",
    "safe_extract",
    "unsafe_name_reason",
]

MAX_ENTRY_BYTES = 4 * 1024**3
"""Largest uncompressed member (streamed, never held whole in memory)."""
MAX_TOTAL_BYTES = 16 * 1024**3
"""Largest sum of uncompressed members a zip may declare."""
MAX_READ_BYTES = 100 * 1024 * 1024
"""Largest member :meth:`ZipArchive.read` loads into memory whole."""
MAX_READ_TOTAL_BYTES = 256 * 1024 * 1024
"""Largest sum of members one archive loads into memory whole."""
MAX_IN_MEMORY_BYTES = 8 * 1024 * 1024
MAX_ENTRIES = 4096
MAX_COMPRESSION_RATIO = 500
"""Largest uncompressed/compressed size ratio for members over 1 MiB (compression bombs)."""
_RATIO_FLOOR = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_OUT_CHUNK = 256 * 1024

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_SIG_DESCRIPTOR = 0x08074B50
_FLAG_ENCRYPTED = 0x0001
_FLAG_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_S_IFMT = 0o170000
_S_IFREG = 0o100000
_S_IFLNK = 0o120000
_S_IFDIR = 0o040000


class ZipFormatError(GaitError):
    """The file cannot be used as a zip at all.

    ``reason`` is a stable token (``not_a_zip``, ``corrupt_zip``,
    ``zip_entry_too_large``, ``zip_total_too_large``, ``too_many_entries``,
    ``zip_ratio_too_high``, ``unsafe_entry``, ``duplicate_entries``);
    ``zip_like`` tells a damaged zip (exit 2, verification failed) from
    something that never was one (exit 6, invalid input).
    """

    def __init__(self, message: str, *, reason: str, zip_like: bool) -> None:
        super().__init__(
            message,
            code=reason,
            category="verification_failed" if zip_like else "invalid_input",
            exit_code=EXIT_VERIFY_FAILED if zip_like else EXIT_INVALID_INPUT,
        )
        self.reason = reason
        self.zip_like = zip_like


class ZipEntryError(GaitError):
    """One member cannot be read back (corrupt deflate, CRC mismatch, size overrun): exit 2."""

    exit_code = EXIT_VERIFY_FAILED
    category = "verification_failed"

    def __init__(self, name: str, message: str, *, reason: str = "zip_entry_unreadable") -> None:
        super().__init__(f"{name}: {message}", code=reason)
        self.name = name
        self.message = message  # callers prefix the member name themselves
        self.reason = reason


class ZipEntry(msgspec.Struct, frozen=True):
    # a msgspec Struct, not a dataclass: defining one costs a one-shot verify far less
    name: str
    raw_name: bytes
    local_offset: int
    compressed_size: int
    size: int
    crc: int
    method: int
    flags: int
    external_attr: int
    data_offset: int = 0  # filled once the local header has been parsed
    end_offset: int = 0  # first byte after data (+ descriptor)

    @property
    def unix_mode(self) -> int:
        return (self.external_attr >> 16) & 0xFFFF

    @property
    def is_symlink(self) -> bool:
        return self.unix_mode & _S_IFMT == _S_IFLNK

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") or self.unix_mode & _S_IFMT == _S_IFDIR


def normalize_entry_name(name: str) -> str:
    """The comparison form of a member name: trimmed, ``\\`` → ``/``."""
    return name.strip().replace("\\", "/")


def unsafe_name_reason(name: str) -> str | None:
    """Why extracting ``name`` could escape the target directory, or ``None``."""
    if "\x00" in name:
        return "zip entry name contains NUL"
    norm = normalize_entry_name(name)
    if not norm:
        return "zip entry name is empty"
    if norm.startswith("/"):
        return "zip entry has an absolute path"
    if len(norm) >= 2 and norm[1] == ":" and norm[0].isalpha():
        return "zip entry has a drive letter"
    if any(part == ".." for part in norm.split("/")):
        return "zip entry path traverses parent directories"
    return None


class _Source:
    """Random access to the zip bytes: in memory when small, else through the file."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.size = size
        self._handle: BinaryIO | None = handle
        self._data: bytes | None = None
        self._buffer = bytearray()
        if size <= MAX_IN_MEMORY_BYTES:
            handle.seek(0)
            self._data = handle.read()
            self.size = len(self._data)
            handle.close()
            self._handle = None

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise EOFError("read past end of zip")
        if self._data is not None:
            return self._data[offset : offset + length]
        assert self._handle is not None
        self._handle.seek(offset)
        data = self._handle.read(length)
        if len(data) != length:
            raise EOFError("short read")
        return data

    def view(self, offset: int, length: int) -> memoryview | bytes:
        """Bytes at ``offset``; for large files a view into a reused buffer, valid until
        the next call (consumers hash it and drop it)."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise EOFError("read past end of zip")
        if self._data is not None:
            return memoryview(self._data)[offset : offset + length]
        assert self._handle is not None
        if len(self._buffer) < length:
            self._buffer = bytearray(length)
        self._handle.seek(offset)
        view = memoryview(self._buffer)[:length]
        if self._handle.readinto(view) != length:  # type: ignore[attr-defined]
            raise EOFError("short read")
        return view

    def head(self, length: int) -> bytes:
        return self.read(0, min(length, self.size))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ZipArchive(msgspec.Struct):
    """An opened zip: entries in central-directory order plus what was found wrong with it."""

    path: str
    entries: list[ZipEntry]
    unsafe: list[tuple[str, str]] = msgspec.field(default_factory=list)
    duplicates: list[str] = msgspec.field(default_factory=list)
    layout_errors: list[str] = msgspec.field(default_factory=list)
    strict: bool = True
    _source: _Source | None = None
    _loaded: int = 0  # bytes handed out whole by read(), against MAX_READ_TOTAL_BYTES

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _note(self, problem: str) -> None:
        if problem not in self.layout_errors:
            self.layout_errors.append(problem)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def find(self, name: str) -> ZipEntry | None:
        """The entry stored under exactly ``name`` (after ``\\`` → ``/``), if any."""
        for entry in self.entries:
            if entry.name.replace("\\", "/") == name:
                return entry
        return None

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def read(
        self, entry: ZipEntry, *, check_crc: bool = True, max_bytes: int = MAX_READ_BYTES
    ) -> bytes:
        """The decompressed bytes of ``entry``; :class:`ZipEntryError` if they cannot be trusted.

        The member is held whole in memory, so it must declare at most
        ``max_bytes`` and, with what this archive already loaded, at most
        :data:`MAX_READ_TOTAL_BYTES`; :meth:`iter_member` then cuts off any
        output beyond the declared size. Larger members can only be streamed.
        """
        limit = min(max_bytes, MAX_READ_BYTES)
        if entry.size > limit or self._loaded + entry.size > MAX_READ_TOTAL_BYTES:
            raise ZipEntryError(
                entry.name,
                f"zip entry too large to load into memory: {entry.size} bytes "
                f"(limit {limit} per member, {MAX_READ_TOTAL_BYTES} in all)",
                reason="zip_entry_too_large",
            )
        self._loaded += entry.size
        return b"".join(bytes(c) for c in self.iter_member(entry, check_crc=check_crc))

    def sha256(self, entry: ZipEntry, *, check_crc: bool = True) -> str:
        """Hex sha256 of the decompressed bytes, streamed (never held whole in memory)."""
        hasher = new_sha256(size=entry.size)
        for chunk in self.iter_member(entry, check_crc=check_crc):
            hasher.update(chunk)
        return hasher.hexdigest()

    def iter_member(
        self, entry: ZipEntry, *, check_crc: bool = True
    ) -> Iterator[memoryview | bytes]:
        """The decompressed bytes of ``entry`` in chunks of at most about 1 MiB.

        Every check of :meth:`read` applies: the size limit and overrun while
        inflating, and the size and CRC comparison after the last chunk (raised
        from the final ``next()``), so a consumer that reads to the end has
        read trusted bytes. A chunk may be a view into a reused buffer, valid
        only until the next one is requested: copy what must be kept.
        """
        if self._source is None:
            raise ZipEntryError(entry.name, "archive is closed")
        if entry.size > MAX_ENTRY_BYTES:
            raise ZipEntryError(
                entry.name, f"zip entry too large: {entry.size}", reason="zip_entry_too_large"
            )
        if entry.flags & _FLAG_ENCRYPTED:
            raise ZipEntryError(entry.name, "encrypted entries are not supported")
        if not entry.data_offset:
            raise ZipEntryError(entry.name, "local header unreadable")
        crc = 0
        total = 0
        limit = entry.size
        try:
            for chunk in self._raw_chunks(entry):
                total += len(chunk)
                if total > limit:
                    raise ZipEntryError(
                        entry.name, "zip entry exceeds max size", reason="zip_entry_too_large"
                    )
                if check_crc:
                    crc = zlib.crc32(chunk, crc)
                yield chunk
        except (zlib.error, EOFError, OSError) as err:
            raise ZipEntryError(entry.name, f"corrupt data: {err}") from err
        if total != entry.size:
            raise ZipEntryError(entry.name, f"size mismatch: header {entry.size}, data {total}")
        if check_crc and (crc & 0xFFFFFFFF) != entry.crc:
            raise ZipEntryError(entry.name, "zip CRC mismatch", reason="zip_crc_mismatch")

    def _raw_chunks(self, entry: ZipEntry) -> Iterator[memoryview | bytes]:
        if entry.method == 0:
            for chunk in self._chunks(entry.data_offset, entry.compressed_size):
                yield bytes(chunk)
        elif entry.method == 8:
            spans = self._stored_blocks(entry) if self.strict else "lenient"
            if isinstance(spans, list):
                for offset, length in spans:
                    yield from self._chunks(offset, length)
            else:
                if self.strict and not entry.flags & _FLAG_DESCRIPTOR:
                    # Our layout (no data descriptor) promises canonical stored
                    # blocks; still read the content so a verifier can say which
                    # members are intact, but remember the container was altered.
                    self._note(f"entry {entry.name!r}: {spans}")
                yield from self._inflate_deflate(entry, strict=self.strict)
        else:
            raise ZipEntryError(entry.name, f"unsupported compression method {entry.method}")

    def _chunks(self, offset: int, length: int) -> Iterator[memoryview | bytes]:
        assert self._source is not None
        end = offset + length
        while offset < end:
            n = min(_READ_CHUNK, end - offset)
            yield self._source.view(offset, n)
            offset += n

    def _stored_blocks(self, entry: ZipEntry) -> list[tuple[int, int]] | str:
        """The ``(offset, length)`` data spans if the stream is canonical stored blocks.

        Canonical = what :func:`gait.runpack.zipwrite.deflate` writes: header
        bytes exactly ``0x00``/``0x01`` (zero padding), full 65535-byte blocks
        before the final one, NLEN = ~LEN, nothing after the final block. That
        encoding of given content is unique. Otherwise returns why not.
        """
        assert self._source is not None
        pos = entry.data_offset
        end = pos + entry.compressed_size
        spans: list[tuple[int, int]] = []
        while True:
            if pos + 5 > end:
                return "truncated stored deflate block"
            header, length, nlength = struct.unpack("<BHH", self._source.read(pos, 5))
            pos += 5
            if header not in (0, 1):
                return "deflate stream is not canonical stored blocks"
            if length ^ 0xFFFF != nlength:
                return "stored deflate block length check failed"
            if header == 0 and length != STORED_BLOCK:
                return "non-canonical stored block split"
            if pos + length > end:
                return "truncated stored deflate block"
            spans.append((pos, length))
            pos += length
            if header == 1:
                break
        if pos != end:
            return "data after end of deflate stream"
        return spans

    def _inflate_deflate(self, entry: ZipEntry, *, strict: bool) -> Iterator[bytes]:
        if entry.compressed_size < 1:
            raise ZipEntryError(entry.name, "empty deflate stream")
        assert self._source is not None
        decomp = zlib.decompressobj(-15)
        body = entry.compressed_size - 1

        for chunk in self._chunks(entry.data_offset, body):
            data = decomp.decompress(chunk, _OUT_CHUNK)
            while data:
                yield data
                tail = decomp.unconsumed_tail
                data = decomp.decompress(tail, _OUT_CHUNK) if tail else b""
            if decomp.eof:
                raise ZipEntryError(entry.name, "data after end of deflate stream")
        last = self._source.read(entry.data_offset + body, 1)[0]
        before_last = decomp.copy()
        emit_all = decomp.decompress(bytes([last]))
        if not decomp.eof or decomp.unused_data or decomp.unconsumed_tail:
            raise ZipEntryError(entry.name, "truncated deflate stream")
        if emit_all:
            yield emit_all
        if not strict:
            return
        # Padding bits after the final block are ignored by inflate; writers
        # emit zeros. Non-zero padding means the bytes were altered.
        for bits in range(1, 9):
            masked = last & ((1 << bits) - 1)
            probe = before_last.copy()
            try:
                got = probe.decompress(bytes([masked]))
            except zlib.error:
                continue
            if probe.eof and got == emit_all:
                if masked != last:
                    raise ZipEntryError(entry.name, "non-zero deflate padding bits")
                break


def _find_end(source: _Source, layout: list[str], strict: bool) -> int:
    """Offset of the end-of-central-directory record."""
    if source.size >= _END.size:
        at = source.size - _END.size
        if source.read(at, 4) == struct.pack("<I", SIG_END):
            return at
    tail_len = min(source.size, 65535 + _END.size)
    tail = source.read(source.size - tail_len, tail_len)
    idx = tail.rfind(struct.pack("<I", SIG_END))
    if idx < 0:
        # Zip magic followed by garbage is not a zip (exit 6), not a damaged one.
        raise ZipFormatError(
            "open zip: not a valid zip file (no end of central directory)",
            reason="not_a_zip",
            zip_like=False,
        )
    if strict:
        layout.append("zip has a comment or trailing data after the end record")
    return source.size - tail_len + idx


def open_zip(
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    allowed_modes: tuple[int, ...] = (MODE_REGULAR, MODE_EXEC),
    max_entry_bytes: int = MAX_ENTRY_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_entries: int = MAX_ENTRIES,
) -> ZipArchive:
    """Open and structurally check a zip without inflating any member.

    Raises :class:`OSError` if the file cannot be opened,
    :class:`ZipFormatError` if it is not a usable zip (or declares sizes over
    the limits). Everything else is reported on the returned archive.
    """
    fspath = os.fspath(path)
    # non-blocking open and a type check: a FIFO must not hang, /dev/zero must not fill memory
    fd = os.open(fspath, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ZipFormatError(
            f"open zip: {fspath} is not a regular file", reason="not_a_zip", zip_like=False
        )
    handle = os.fdopen(fd, "rb")
    try:
        size = os.fstat(handle.fileno()).st_size
        source = _Source(handle, size)
        try:
            archive = _open(fspath, source, strict, allowed_modes, max_entries)
        except (EOFError, struct.error) as err:
            raise _corrupt(f"truncated or corrupt structure ({err})") from err
    except BaseException:
        handle.close()
        raise
    declared = 0
    for entry in archive.entries:
        if entry.size > max_entry_bytes:
            archive.close()
            raise ZipFormatError(
                f"zip entry too large: {entry.name} ({entry.size} bytes)",
                reason="zip_entry_too_large",
                zip_like=True,
            )
        declared += entry.size
    if declared > max_total_bytes:
        archive.close()
        raise ZipFormatError(
            f"zip total uncompressed size too large: {declared} bytes (limit {max_total_bytes})",
            reason="zip_total_too_large",
            zip_like=True,
        )
    for entry in archive.entries:
        if entry.size > _RATIO_FLOOR and entry.size > entry.compressed_size * MAX_COMPRESSION_RATIO:
            archive.close()
            raise ZipFormatError(
                f"zip entry compression ratio too high: {entry.name} "
                f"({entry.size} bytes from {entry.compressed_size}, limit {MAX_COMPRESSION_RATIO}:1)",
                reason="zip_ratio_too_high",
                zip_like=True,
            )
    return archive


def _corrupt(message: str) -> ZipFormatError:
    return ZipFormatError(f"open zip: {message}", reason="corrupt_zip", zip_like=True)


def _open(
    path: str, source: _Source, strict: bool, allowed_modes: tuple[int, ...], max_entries: int
) -> ZipArchive:
    layout: list[str] = []
    end_at = _find_end(source, layout, strict)
    (_sig, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment_len) = _END.unpack(
        source.read(end_at, _END.size)
    )
    if strict and end_at + _END.size + comment_len != source.size:
        layout.append("zip has a comment or trailing data after the end record")
    elif strict and comment_len:
        layout.append("zip has a comment")
    if disk or cd_disk or n_disk != n_total:
        layout.append("zip end record declares multiple disks")
    if n_total > max_entries:
        raise ZipFormatError(
            f"zip has too many entries: {n_total}", reason="too_many_entries", zip_like=True
        )
    if cd_offset + cd_size > end_at:
        raise _corrupt("central directory out of range")
    if strict and cd_offset + cd_size != end_at:
        layout.append("bytes between central directory and end record")
    entries: list[ZipEntry] = []
    pos = cd_offset
    cd_end = cd_offset + cd_size
    while pos < cd_end:
        if pos + _CENTRAL.size > cd_end:
            raise _corrupt("truncated central directory")
        fields = _CENTRAL.unpack(source.read(pos, _CENTRAL.size))
        (
            sig,
            made_by,
            needed,
            flags,
            method,
            mtime,
            mdate,
            crc,
            csize,
            usize,
            nlen,
            xlen,
            clen,
            disk_start,
            internal,
            external,
            offset,
        ) = fields
        if sig != SIG_CENTRAL:
            raise _corrupt("bad central directory signature")
        if pos + _CENTRAL.size + nlen + xlen + clen > cd_end:
            raise _corrupt("truncated central directory entry")
        raw_name = source.read(pos + _CENTRAL.size, nlen)
        central_extra = source.read(pos + _CENTRAL.size + nlen, xlen)
        pos += _CENTRAL.size + nlen + xlen + clen
        if len(entries) >= max_entries:
            raise ZipFormatError(
                "zip has too many entries", reason="too_many_entries", zip_like=True
            )
        name = _decode_name(raw_name, flags)
        where = f"entry {name!r}"
        if strict:
            if made_by != VERSION_MADE_BY:
                layout.append(f"{where}: unexpected version-made-by {made_by:#06x}")
            if needed != VERSION_NEEDED:
                layout.append(f"{where}: unexpected version-needed {needed}")
            if flags & ~(_FLAG_DESCRIPTOR | _FLAG_UTF8):
                layout.append(f"{where}: unexpected flags {flags:#06x}")
            if method != 8:
                layout.append(f"{where}: compression method {method} is not deflate")
            if clen or disk_start or internal:
                layout.append(f"{where}: unexpected comment, disk or internal attributes")
            if (external >> 16) not in allowed_modes or external & 0xFFFF:
                layout.append(f"{where}: unexpected file mode {external >> 16:#o}")
            _check_extra(central_extra, where, layout)
        entry = ZipEntry(
            name=name,
            raw_name=raw_name,
            local_offset=offset,
            compressed_size=csize,
            size=usize,
            crc=crc,
            method=method,
            flags=flags,
            external_attr=external,
        )
        entry = _read_local(
            source, entry, (needed, flags, method, mtime, mdate), central_extra, strict, layout
        )
        entries.append(entry)
    if n_total != len(entries):
        layout.append(
            f"zip end record counts {n_total} entries, central directory has {len(entries)}"
        )
    if strict:
        _check_tiling(entries, cd_offset, layout)
    else:
        _check_overlap(entries, cd_offset, layout)
    archive = ZipArchive(path=path, entries=entries, layout_errors=layout, strict=strict)
    archive._source = source
    _check_names(archive)
    return archive


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & _FLAG_UTF8:
        return raw.decode("utf-8", errors="replace")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _check_extra(extra: bytes, where: str, layout: list[str]) -> None:
    pos = 0
    while pos < len(extra):
        if pos + 4 > len(extra):
            layout.append(f"{where}: malformed extra field")
            return
        (size,) = struct.unpack_from("<H", extra, pos + 2)
        pos += 4 + size
    if pos != len(extra):
        layout.append(f"{where}: malformed extra field")


def _read_local(
    source: _Source,
    entry: ZipEntry,
    central: tuple[int, int, int, int, int],
    central_extra: bytes,
    strict: bool,
    layout: list[str],
) -> ZipEntry:
    where = f"entry {entry.name!r}"
    try:
        header = _LOCAL.unpack(source.read(entry.local_offset, _LOCAL.size))
    except EOFError:
        layout.append(f"{where}: local header out of range")
        return entry
    (sig, needed, flags, method, mtime, mdate, crc, csize, usize, nlen, xlen) = header
    if sig != SIG_LOCAL:
        layout.append(f"{where}: bad local header signature")
        return entry
    try:
        raw_name = source.read(entry.local_offset + _LOCAL.size, nlen)
        local_extra = source.read(entry.local_offset + _LOCAL.size + nlen, xlen)
    except EOFError:
        layout.append(f"{where}: local header out of range")
        return entry
    if raw_name != entry.raw_name:
        layout.append(f"{where}: local header name differs from central directory")
        return entry
    data_offset = entry.local_offset + _LOCAL.size + nlen + xlen
    if data_offset + entry.compressed_size > source.size:
        layout.append(f"{where}: data out of range")
        return entry
    end_offset = data_offset + entry.compressed_size
    if not strict:
        # Any writer's layout is fine, but both headers must describe the same data:
        # a reader that trusts the local header must not see other bytes.
        if method != entry.method or (flags ^ entry.flags) & (_FLAG_ENCRYPTED | _FLAG_DESCRIPTOR):
            layout.append(f"{where}: local header fields differ from central directory")
        if flags & _FLAG_DESCRIPTOR:
            if (crc, csize, usize) not in (
                (0, 0, 0),
                (entry.crc, entry.compressed_size, entry.size),
            ):
                layout.append(f"{where}: local header sizes differ from central directory")
        elif (crc, csize, usize) != (
            entry.crc,
            entry.compressed_size,
            entry.size,
        ) and 0xFFFFFFFF not in (csize, usize):
            layout.append(f"{where}: local header sizes differ from central directory")
    if strict:
        if (needed, flags, method, mtime, mdate) != central:
            layout.append(f"{where}: local header fields differ from central directory")
        if local_extra != central_extra:
            layout.append(f"{where}: local extra field differs from central directory")
        sizes = (crc, csize, usize)
        expected = (entry.crc, entry.compressed_size, entry.size)
        if flags & _FLAG_DESCRIPTOR:
            if sizes not in ((0, 0, 0), expected):
                layout.append(f"{where}: local header sizes differ from central directory")
            end_offset = _check_descriptor(source, end_offset, expected, where, layout)
        elif sizes != expected:
            layout.append(f"{where}: local header sizes differ from central directory")
    return ZipEntry(
        name=entry.name,
        raw_name=entry.raw_name,
        local_offset=entry.local_offset,
        compressed_size=entry.compressed_size,
        size=entry.size,
        crc=entry.crc,
        method=entry.method,
        flags=entry.flags,
        external_attr=entry.external_attr,
        data_offset=data_offset,
        end_offset=end_offset,
    )


def _check_descriptor(
    source: _Source, at: int, expected: tuple[int, int, int], where: str, layout: list[str]
) -> int:
    try:
        head = source.read(at, 16) if at + 16 <= source.size else source.read(at, 12)
    except EOFError:
        layout.append(f"{where}: data descriptor out of range")
        return at
    if len(head) == 16 and struct.unpack_from("<I", head)[0] == _SIG_DESCRIPTOR:
        values, length = struct.unpack_from("<III", head, 4), 16
    else:
        values, length = struct.unpack_from("<III", head, 0), 12
    if values != expected:
        layout.append(f"{where}: data descriptor differs from central directory")
    return at + length


def _check_tiling(entries: list[ZipEntry], cd_offset: int, layout: list[str]) -> None:
    expected = 0
    for entry in sorted(entries, key=lambda e: e.local_offset):
        if not entry.data_offset:
            return  # already reported
        if entry.local_offset != expected:
            layout.append(f"entry {entry.name!r}: unexpected bytes before local header")
        expected = entry.end_offset
    if expected != cd_offset:
        layout.append("unexpected bytes before central directory")
    names = [e.raw_name for e in entries]
    if names != sorted(names) or [e.local_offset for e in entries] != sorted(
        e.local_offset for e in entries
    ):
        layout.append("zip entries are not in sorted order")


def _check_overlap(entries: list[ZipEntry], cd_offset: int, layout: list[str]) -> None:
    """Members may come in any order with gaps, but never share bytes (overlap bombs)."""
    previous_end = 0
    previous = ""
    for entry in sorted(entries, key=lambda e: e.local_offset):
        if not entry.data_offset:
            continue  # already reported
        if entry.local_offset < previous_end:
            layout.append(f"entry {entry.name!r}: overlaps entry {previous!r}")
        previous_end, previous = max(previous_end, entry.end_offset), entry.name
    if previous_end > cd_offset:
        layout.append("zip entries overlap the central directory")


def _check_names(archive: ZipArchive) -> None:
    seen: set[str] = set()
    dups: set[str] = set()
    for entry in archive.entries:
        norm = normalize_entry_name(entry.name)
        if norm:
            if norm in seen:
                dups.add(norm)
            seen.add(norm)
        reason = unsafe_name_reason(entry.name)
        if reason is None and entry.is_symlink:
            reason = "zip entry is a symlink"
        elif reason is None and entry.is_dir:
            reason = "zip entry is a directory"
        elif reason is None and entry.unix_mode & _S_IFMT not in (0, _S_IFREG):
            # no type bits (e.g. mode 0644 from Python's zipfile) means a regular file
            reason = "zip entry is not a regular file"
        if reason is not None:
            archive.unsafe.append((entry.name, reason))
    archive.duplicates = sorted(dups)


def safe_extract(path: str | os.PathLike[str], dest: str | os.PathLike[str]) -> list[str]:
    """Extract a zip into ``dest`` only after every check passed; returns the written paths.

    Any unsafe or duplicate entry, declared size over the limits, or member
    that fails to inflate aborts the whole extraction *before* the first file
    is written (members are inflated into memory first; the in-memory limits
    :data:`MAX_READ_BYTES` and :data:`MAX_READ_TOTAL_BYTES` bound that memory).
    """
    with open_zip(
        path, strict=False, max_entry_bytes=MAX_READ_BYTES, max_total_bytes=MAX_READ_TOTAL_BYTES
    ) as archive:
        if archive.duplicates:
            raise ZipFormatError(
                "zip contains duplicate entries: " + ", ".join(archive.duplicates),
                reason="duplicate_entries",
                zip_like=True,
            )
        if archive.unsafe:
            name, reason = archive.unsafe[0]
            raise ZipFormatError(f"{reason}: {name}", reason="unsafe_entry", zip_like=True)
        contents = [(normalize_entry_name(e.name), archive.read(e)) for e in archive.entries]
    root = os.path.realpath(os.fspath(dest))
    written: list[str] = []
    for name, data in contents:
        target = os.path.realpath(os.path.join(root, *name.split("/")))
        if os.path.commonpath([root, target]) != root:
            raise ZipFormatError(
                f"zip entry escapes destination: {name}", reason="unsafe_entry", zip_like=True
            )
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "xb") as handle:
            handle.write(data)
        written.append(target)
    return written
