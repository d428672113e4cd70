"""Read a runpack record by record (what ``run inspect|diff|replay`` build on).

:func:`open_stream` makes every check :func:`gait.runpack.reader.read_runpack`
makes, with the same errors, before a caller sees any record: members present
and listed, each member's sha256 (streamed), zip layout, manifest digest, and
every intent/result line parsed once. Records are then read again, one at a
time, from the zip: memory follows the largest record, not the pack. Each
re-read hashes the member again and raises at its end if the bytes changed in
between (a pack rewritten while it is being read).

``run.json`` and ``refs.json`` are single JSON documents and are decoded whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import msgspec

from gait.errors import InvalidInput
from gait.runpack.intake import (
    check_layout,
    check_manifest_digest,
    checked_manifest,
    open_checked_zip,
)
from gait.runpack.model import (
    MAX_DOCUMENT_BYTES,
    MEMBER_INTENTS,
    MEMBER_REFS,
    MEMBER_RESULTS,
    MEMBER_RUN,
    RECORD_MEMBERS,
    IntentRecord,
    Manifest,
    Refs,
    ResultRecord,
    Run,
)
from gait.runpack.zipread import ZipArchive, ZipEntry, ZipEntryError
from gait.safejson import check_depth, check_duplicate_keys

__all__ = [
    "LazyList",
    "PackStream",
    "RecordSource",
    "aligned_first_results",
    "joined",
    "materialize",
    "open_stream",
    "source_of",
]

R = TypeVar("R")


class RecordSource:
    """What inspect/diff/replay read: header documents plus re-iterable record streams."""

    path: str
    manifest: Manifest
    manifest_raw: dict[str, Any]
    run: Run
    refs: Refs
    intents_total: int = 0
    results_total: int = 0
    aligned: bool | None = None  # see aligned_first_results; None = not yet known

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def intents(self) -> Iterator[IntentRecord]:
        raise NotImplementedError

    def results(self) -> Iterator[ResultRecord]:
        raise NotImplementedError


class _InMemory(RecordSource):
    def __init__(self, pack: Any) -> None:
        self._pack = pack
        self.path = pack.path
        self.manifest = pack.manifest
        self.manifest_raw = pack.manifest_raw
        self.run = pack.run
        self.refs = pack.refs
        self.intents_total = len(pack.intents)
        self.results_total = len(pack.results)

    def intents(self) -> Iterator[IntentRecord]:
        return iter(self._pack.intents)

    def results(self) -> Iterator[ResultRecord]:
        return iter(self._pack.results)


def source_of(pack: Any) -> RecordSource:
    """A :class:`RecordSource` over an in-memory :class:`~gait.runpack.reader.Runpack`."""
    return pack if isinstance(pack, RecordSource) else _InMemory(pack)


def _decode_doc(data: bytes, kind: type[Any], member: str) -> Any:
    check_depth(data, f"parse {member}")
    # msgspec keeps the last of two equal keys and ignores a case variant: refuse both first
    check_duplicate_keys(data, f"parse {member}")
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise InvalidInput(f"parse {member}: {err}") from err
    except RecursionError:
        raise InvalidInput(f"parse {member}: JSON nesting too deep") from None


class PackStream(RecordSource):
    """An integrity-checked runpack whose records are read lazily; close it when done."""

    def __init__(self, path: str, archive: ZipArchive, expected: dict[str, str]) -> None:
        self.path = path
        self._archive = archive
        self._expected = expected

    def __enter__(self) -> PackStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._archive.close()

    def _entry(self, name: str) -> ZipEntry:
        entry = self._archive.find(name)
        assert entry is not None  # checked by open_stream
        return entry

    def _read(self, name: str) -> bytes:
        size = self._entry(name).size
        if size > MAX_DOCUMENT_BYTES:  # decoded whole: only record members are streamed
            raise InvalidInput(
                f"runpack member too large to load into memory: {name} "
                f"({size} bytes, limit {MAX_DOCUMENT_BYTES})"
            )
        return b"".join(self._lines_raw(name, whole=True))

    def _lines_raw(self, name: str, *, whole: bool = False) -> Iterator[bytes]:
        """The member's lines (without ``\\n``; raw chunks if ``whole``), hash-checked at the end."""
        hasher = hashlib.sha256()
        pending: list[bytes] = []
        try:
            for view in self._archive.iter_member(self._entry(name)):
                chunk = bytes(view)  # views are reused by the reader: copy first
                hasher.update(chunk)
                if whole:
                    yield chunk
                    continue
                start = 0
                while True:
                    cut = chunk.find(b"\n", start)
                    if cut < 0:
                        if start < len(chunk):
                            pending.append(chunk[start:])
                        break
                    piece = chunk[start:cut]
                    if pending:
                        pending.append(piece)
                        piece = b"".join(pending)
                        pending = []
                    yield piece
                    start = cut + 1
        except ZipEntryError as err:
            raise InvalidInput(f"runpack hash mismatch: {name} ({err.message})") from err
        if pending:
            yield b"".join(pending)
        if hasher.hexdigest() != self._expected[name]:
            raise InvalidInput(f"runpack hash mismatch: {name}")

    def _records(self, name: str, kind: type[R], *, first_read: bool = False) -> Iterator[R]:
        """Records of ``name``. Repeated keys are refused on the first read (at open);
        a later read that met other bytes fails the member's hash check at its end."""
        decoder = msgspec.json.Decoder(kind)
        for number, line in enumerate(self._lines_raw(name), start=1):
            if not line.strip():
                continue
            check_depth(line, f"parse {name}")
            if first_read:
                check_duplicate_keys(line, f"parse {name} line {number}")
            try:
                yield decoder.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError) as err:
                raise InvalidInput(f"parse {name} line {number}: {err}") from err
            except RecursionError:
                raise InvalidInput(f"parse {name}: JSON nesting too deep") from None

    def intents(self) -> Iterator[IntentRecord]:
        return self._records(MEMBER_INTENTS, IntentRecord)

    def results(self) -> Iterator[ResultRecord]:
        return self._records(MEMBER_RESULTS, ResultRecord)


def open_stream(path: str | os.PathLike[str]) -> PackStream:
    """Open and fully check a runpack (errors as :func:`~gait.runpack.reader.read_runpack`)."""
    fspath = os.fspath(path)
    archive = open_checked_zip(fspath)
    try:
        return _checked(fspath, archive)
    except BaseException:
        archive.close()
        raise


def _checked(fspath: str, archive: ZipArchive) -> PackStream:
    raw, manifest, expected = checked_manifest(archive)
    for name in RECORD_MEMBERS:
        entry = archive.find(name)
        if entry is None or name not in expected:
            raise InvalidInput(f"runpack missing {name}")
        try:
            digest = archive.sha256(entry)
        except ZipEntryError as err:
            raise InvalidInput(f"runpack hash mismatch: {name} ({err.message})") from err
        if digest != expected[name]:
            raise InvalidInput(f"runpack hash mismatch: {name}")
    check_layout(archive)
    check_manifest_digest(raw, manifest)
    pack = PackStream(fspath, archive, expected)
    pack.manifest = manifest
    pack.manifest_raw = raw
    # Same order of parse errors as read_runpack: run, intents, results, refs.
    pack.run = _decode_doc(pack._read(MEMBER_RUN), Run, MEMBER_RUN)
    try:
        _check_records(pack)
    except InvalidInput:
        # Report the first bad record in reading order (all intents, then results).
        _count(lambda: pack._records(MEMBER_INTENTS, IntentRecord, first_read=True))
        _count(lambda: pack._records(MEMBER_RESULTS, ResultRecord, first_read=True))
        raise
    pack.refs = _decode_doc(pack._read(MEMBER_REFS), Refs, MEMBER_REFS)
    return pack


def _check_records(pack: PackStream) -> None:
    """Parse every record once, counting them and learning whether the pack is aligned."""
    seen: set[str] = set()
    aligned = True
    intents_total = results_total = 0
    results = pack._records(MEMBER_RESULTS, ResultRecord, first_read=True)
    for intent in pack._records(MEMBER_INTENTS, IntentRecord, first_read=True):
        intents_total += 1
        result = next(results, None)
        if result is None:
            aligned = False
            continue
        results_total += 1
        if aligned and (result.intent_id != intent.intent_id or intent.intent_id in seen):
            aligned = False
            seen.clear()
        if aligned:
            seen.add(intent.intent_id)
    for _result in results:
        results_total += 1
        aligned = False
    pack.intents_total, pack.results_total, pack.aligned = intents_total, results_total, aligned


def _count(factory: Callable[[], Iterator[Any]]) -> int:
    return sum(1 for _record in factory())


class LazyList:
    """A JSON array produced on demand: ``length`` items from ``factory()``.

    The CLI writer streams it item by item (``__json_stream__``); anything
    else can iterate it (each iteration re-reads the pack) or ``list()`` it.
    """

    __json_stream__ = True

    def __init__(self, factory: Callable[[], Iterator[Any]], length: int) -> None:
        self._factory = factory
        self._length = length

    def __iter__(self) -> Iterator[Any]:
        return iter(self._factory())

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __getitem__(self, index: int) -> Any:
        # Convenience for callers written against lists (tests, small packs).
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyList | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def materialize(value: Any) -> Any:
    """``value`` with every :class:`LazyList` (in dicts, at any depth) turned into a list."""
    if isinstance(value, LazyList):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value


def aligned_first_results(source: RecordSource) -> bool:
    """True when result i belongs to intent i for every i and intent ids are unique.

    Then every intent's first result is the one beside it and no result is a
    duplicate or unmatched: callers can walk both streams in step. The id set
    holds ids only (not records); it is the one per-pack cost of this check.
    """
    if source.aligned is not None:
        return source.aligned
    source.aligned = _aligned(source)
    return source.aligned


def _aligned(source: RecordSource) -> bool:
    seen: set[str] = set()
    results = source.results()
    for intent in source.intents():
        result = next(results, None)
        if result is None or result.intent_id != intent.intent_id or intent.intent_id in seen:
            _close(results)
            return False
        seen.add(intent.intent_id)
    extra = next(results, None)
    if extra is not None:
        _close(results)
        return False
    return True


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def joined(
    source: RecordSource, aligned: bool, project: Callable[[ResultRecord], R]
) -> Iterator[tuple[IntentRecord, R | None]]:
    """Each intent with ``project(first result for its id)`` (None when it has none).

    Aligned packs are walked in step; otherwise an index maps intent_id to
    the projection of its first result (callers keep projections small).
    """
    if aligned:
        results = source.results()
        for intent in source.intents():
            result = next(results, None)
            yield intent, None if result is None else project(result)
        for _rest in results:  # reach the member's end, where its hash is checked
            pass
        return
    wanted = {i.intent_id for i in source.intents()}
    index: dict[str, R] = {}
    for result in source.results():
        if result.intent_id in wanted and result.intent_id not in index:
            index[result.intent_id] = project(result)
    del wanted
    for intent in source.intents():
        yield intent, index.get(intent.intent_id)
