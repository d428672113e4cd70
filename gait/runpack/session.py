"""Append-only session journals, checkpoints and session chains (runpack.md §6.7).

A journal is a JSONL file: one ``start`` header, then ``event`` records (one
per gated tool call, numbered by ``sequence``) and ``checkpoint`` records.
Appends hold an exclusive ``flock`` on the journal, so concurrent writers
never interleave or reuse a sequence number. A checkpoint turns the events
since the previous checkpoint into a runpack ``<run_id>_cp_<NNNN>`` and links
it to its predecessor by ``checkpoint_digest``; the chain file lists every
checkpoint so ``verify session-chain`` can re-check the whole history.
Runpack contents come from the journal alone (times are the events' own), so
a checkpoint is reproducible from its journal.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from gait.canonical import canonical_bytes, sha256_hex
from gait.errors import GaitError, InvalidInput

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "CHAIN_SCHEMA",
    "JOURNAL_SCHEMA",
    "VERDICTS",
    "Journal",
    "append_event",
    "chain_path_for",
    "checkpoint",
    "checkpoint_digest",
    "compact",
    "journal_run_id",
    "read_chain",
    "read_journal",
    "resolve_checkpoint",
    "start_session",
    "verify_chain",
]

JOURNAL_SCHEMA = "gait.runpack.session_journal"
CHAIN_SCHEMA = "gait.runpack.session_chain"
SCHEMA_VERSION = "1.0.0"
VERDICTS = ("allow", "block", "dry_run", "require_approval")
_NON_OK = ("block", "require_approval")


@dataclass
class Journal:
    path: str
    session_id: str
    run_id: str
    created_at: str
    producer_version: str
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_sequence(self) -> int:
        seqs = [e["sequence"] for e in self.events] + [c["seq_end"] for c in self.checkpoints]
        return max(seqs, default=0)

    @property
    def checkpointed_through(self) -> int:
        return max((c["seq_end"] for c in self.checkpoints), default=0)

    @property
    def pending(self) -> list[dict[str, Any]]:
        done = self.checkpointed_through
        return [e for e in self.events if e["sequence"] > done]


def _now() -> str:
    from gait.signing import now_rfc3339

    return now_rfc3339()


@contextlib.contextmanager
def _locked(path: str, mode: str) -> Iterator[IO[bytes]]:
    import fcntl

    try:
        handle = open(path, mode)
    except FileNotFoundError as err:
        raise InvalidInput(f"session journal not found: {path}") from err
    except OSError as err:
        raise InvalidInput(f"open session journal {path}: {err.strerror or err}") from err
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle
    finally:
        handle.close()


def _parse(path: str, data: bytes) -> Journal:
    from gait.safejson import loads_line

    journal: Journal | None = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        record = loads_line(line, f"session journal {path}", number)
        if not isinstance(record, dict):
            raise InvalidInput(f"session journal {path} line {number}: not a JSON object")
        kind = record.get("record_type")
        if journal is None:
            if kind != "start" or record.get("schema_id") != JOURNAL_SCHEMA:
                raise InvalidInput(
                    f"session journal {path}: first record must be a {JOURNAL_SCHEMA} start"
                )
            journal = Journal(
                path=path,
                session_id=str(record.get("session_id") or ""),
                run_id=str(record.get("run_id") or ""),
                created_at=str(record.get("created_at") or ""),
                producer_version=str(record.get("producer_version") or ""),
            )
        elif kind == "event":
            if not isinstance(record.get("sequence"), int):
                raise InvalidInput(f"session journal {path} line {number}: event without sequence")
            journal.events.append(record)
        elif kind == "checkpoint":
            for key in ("checkpoint_index", "seq_start", "seq_end"):
                if not isinstance(record.get(key), int):
                    raise InvalidInput(
                        f"session journal {path} line {number}: checkpoint without {key}"
                    )
            journal.checkpoints.append(record)
        else:
            raise InvalidInput(
                f"session journal {path} line {number}: unknown record_type {kind!r}"
            )
    if journal is None:
        raise InvalidInput(f"session journal {path} is empty")
    return journal


def read_journal(path: str) -> Journal:
    with _locked(path, "rb") as handle:
        return _parse(path, handle.read())


def _line(record: dict[str, Any]) -> bytes:
    return canonical_bytes(record) + b"\n"


def start_session(
    path: str, session_id: str, run_id: str, *, producer_version: str = "0.0.0-dev", now: str = ""
) -> Journal:
    """Create a new journal; an existing file is never overwritten."""
    if not session_id.strip():
        raise InvalidInput("--session-id is required")
    if not run_id.strip():
        raise InvalidInput("--run-id is required")
    if any(c in run_id for c in "/\\\x00"):
        raise InvalidInput(f"run_id cannot be used in a file name: {run_id!r}")
    header = {
        "schema_id": JOURNAL_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "record_type": "start",
        "created_at": now or _now(),
        "producer_version": producer_version,
        "session_id": session_id.strip(),
        "run_id": run_id.strip(),
    }
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    try:
        _create_with(path, _line(header))
    except _JournalExists:
        # As the reference: starting the same session again is a no-op; another
        # session or run on that journal is refused (the file is never replaced).
        existing = read_journal(path)
        if (existing.session_id, existing.run_id) != (header["session_id"], header["run_id"]):
            raise InvalidInput(
                "session journal already initialized with different session/run"
            ) from None
        return existing
    return _parse(path, _line(header))


class _JournalExists(InvalidInput):
    pass


def _create_with(path: str, data: bytes) -> None:
    """Create ``path`` holding ``data`` in one step: nobody ever sees it empty.

    The header is written and synced to a private temporary file first, then
    hard-linked into place; ``link`` fails when the name exists, so an
    existing journal is never replaced and two creators cannot both win.
    """
    import tempfile

    parent = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=parent)
    except OSError as err:
        raise InvalidInput(f"create session journal {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError as err:
        raise _JournalExists(f"session journal already exists: {path}") from err
    except OSError as err:
        raise InvalidInput(f"create session journal {path}: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def append_event(
    path: str,
    event: dict[str, Any],
    *,
    now: str = "",
    allocate: Callable[[int], int] | None = None,
) -> dict[str, Any]:
    """Append one gated call; returns the stored record (with its sequence).

    ``allocate`` (local next sequence -> sequence) lets a shared counter number
    the event, e.g. several servers appending to one session; it may only skip
    ahead, never reuse a number.
    """
    verdict = str(event.get("verdict") or "").strip().lower()
    if verdict not in VERDICTS:
        raise InvalidInput(f"--verdict must be one of {', '.join(VERDICTS)}")
    tool = str(event.get("tool_name") or "").strip()
    if not tool:
        raise InvalidInput("--tool is required")
    with _locked(path, "r+b") as handle:
        # Cost independent of the journal's length: the header says it is a
        # journal, the last record holds the last sequence number.
        _check_header(path, handle.readline())
        sequence = _last_sequence(path, handle) + 1
        if allocate is not None:
            shared = allocate(sequence)
            if shared < sequence:
                raise InvalidInput(
                    f"session journal {path}: shared sequence {shared} is behind {sequence}"
                )
            sequence = shared
        record: dict[str, Any] = {
            "record_type": "event",
            "sequence": sequence,
            "created_at": now or _now(),
            "tool_name": tool,
            "verdict": verdict,
        }
        for key in ("intent_id", "trace_id", "trace_path", "intent_digest", "policy_digest"):
            value = str(event.get(key) or "").strip()
            if value:
                record[key] = value
        for key in ("reason_codes", "violations"):
            values = sorted({str(v).strip() for v in event.get(key) or () if str(v).strip()})
            if values:
                record[key] = values
        handle.seek(0, os.SEEK_END)
        handle.write(_line(record))
        handle.flush()
        os.fsync(handle.fileno())
    return record


def _decode_record(path: str, line: bytes, what: str) -> dict[str, Any]:
    from gait.safejson import loads

    record = loads(line, f"session journal {path}: {what}")
    if not isinstance(record, dict):
        raise InvalidInput(f"session journal {path}: {what} is not a JSON object")
    return record


def _check_header(path: str, first: bytes) -> dict[str, Any]:
    if not first.strip():
        raise InvalidInput(f"session journal {path} is empty")
    header = _decode_record(path, first, "first record")
    if header.get("record_type") != "start" or header.get("schema_id") != JOURNAL_SCHEMA:
        raise InvalidInput(f"session journal {path}: first record must be a {JOURNAL_SCHEMA} start")
    return header


def journal_header(path: str) -> dict[str, Any]:
    """The ``start`` header of a journal (read alone, whatever the journal's length)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError as err:
        raise InvalidInput(f"open session journal {path}: {err.strerror or err}") from err
    return _check_header(path, first)


def journal_run_id(path: str) -> str:
    """The run a journal belongs to, read from its ``start`` header alone."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError as err:
        raise InvalidInput(f"open session journal {path}: {err.strerror or err}") from err
    return str(_check_header(path, first).get("run_id") or "")


_TAIL_CHUNK = 64 * 1024


def _last_line(handle: IO[bytes]) -> bytes:
    """The last non-empty line, read backwards in chunks from the end of the file."""
    end = handle.seek(0, os.SEEK_END)
    buf = b""
    pos = end
    while pos > 0:
        step = min(_TAIL_CHUNK, pos)
        pos -= step
        handle.seek(pos)
        buf = handle.read(step) + buf
        body = buf.rstrip(b"\n")
        cut = body.rfind(b"\n")
        if cut >= 0:
            return body[cut + 1 :]
    return buf.strip(b"\n")


def _last_sequence(path: str, handle: IO[bytes]) -> int:
    """Highest sequence so far: the last record's ``sequence`` (a checkpoint's ``seq_end``)."""
    last = _decode_record(path, _last_line(handle), "last record")
    kind = str(last.get("record_type"))
    value = {"start": 0, "event": last.get("sequence"), "checkpoint": last.get("seq_end")}.get(kind)
    if not isinstance(value, int):
        raise InvalidInput(f"session journal {path}: last record has no sequence")
    return value


def checkpoint_digest(manifest_digest: str, previous: str, index: int, start: int, end: int) -> str:
    return sha256_hex(f"{manifest_digest}:{previous}:{index}:{start}:{end}".encode())


def chain_path_for(journal_path: str) -> str:
    base = Path(journal_path)
    return str(base.with_name(f"{base.stem}_chain.json"))


def _runpack_for(journal: Journal, index: int, events: list[dict[str, Any]]) -> Any:
    from gait.runpack.record import record_runpack

    run_id = f"{journal.run_id}_cp_{index:04d}"
    intents, results = [], []
    for n, event in enumerate(events, start=1):
        # As the reference: an event without an intent id is intent_<n> within its checkpoint.
        intent_id = event.get("intent_id") or f"intent_{n}"
        args = {"session_id": journal.session_id, "sequence": event["sequence"]}
        for key in ("intent_digest", "trace_id"):
            if event.get(key):
                args[key] = event[key]
        result = {"verdict": event["verdict"]}
        for key in ("reason_codes", "violations", "trace_id", "trace_path", "policy_digest"):
            if event.get(key):
                result[key] = event[key]
        intents.append(
            {
                "intent_id": intent_id,
                "tool_name": event["tool_name"],
                "created_at": event["created_at"],
                "args": args,
            }
        )
        results.append(
            {
                "intent_id": intent_id,
                "status": "error" if event["verdict"] in _NON_OK else "ok",
                "created_at": event["created_at"],
                "result": result,
            }
        )
    run = {
        "run_id": run_id,
        "created_at": events[0]["created_at"],
        "producer_version": journal.producer_version or "0.0.0-dev",
        "env": {"os": "session", "arch": "session", "runtime": "python"},
        "timeline": [
            {"event": "session_event", "ts": e["created_at"], "ref": str(e["sequence"])}
            for e in events
        ],
    }
    return record_runpack(run, intents, results, {"receipts": []})


CHECKPOINT_SCHEMA = "gait.runpack.session_checkpoint"


def chain_checkpoint(journal: Journal, record: dict[str, Any]) -> dict[str, Any]:
    """A journal checkpoint record as the original's SessionCheckpoint (chain entry).

    ``run_id`` is the session's run (the checkpoint runpack's own run_id is
    ``<run_id>_cp_<NNNN>``); ``prev_checkpoint_digest`` is left out when empty.
    """
    entry: dict[str, Any] = {
        "schema_id": CHECKPOINT_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": record.get("created_at", ""),
        "producer_version": journal.producer_version,
        "session_id": journal.session_id,
        "run_id": journal.run_id,
        "checkpoint_index": record["checkpoint_index"],
        "sequence_start": record["seq_start"],
        "sequence_end": record["seq_end"],
        "runpack_path": record.get("runpack_path", ""),
        "manifest_digest": record.get("manifest_digest", ""),
        "checkpoint_digest": record.get("checkpoint_digest", ""),
    }
    if record.get("prev_checkpoint_digest"):
        entry["prev_checkpoint_digest"] = record["prev_checkpoint_digest"]
    return entry


def entry_range(entry: dict[str, Any]) -> tuple[Any, Any]:
    """(first, last) sequence of a chain entry (chains written before 2026-12 used seq_*)."""
    if "sequence_start" in entry or "sequence_end" in entry:
        return entry.get("sequence_start"), entry.get("sequence_end")
    return entry.get("seq_start"), entry.get("seq_end")


def _chain_doc(journal: Journal, chain_path: str) -> dict[str, Any]:
    return {
        "schema_id": CHAIN_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": journal.created_at,
        "producer_version": journal.producer_version,
        "session_id": journal.session_id,
        "run_id": journal.run_id,
        "checkpoints": [chain_checkpoint(journal, c) for c in journal.checkpoints],
    }


def _relative(target: str, base_dir: str) -> str:
    try:
        return os.path.relpath(target, base_dir) if not os.path.isabs(target) else target
    except ValueError:
        return os.path.abspath(target)


def checkpoint(path: str, out: str, *, chain_out: str = "") -> tuple[dict[str, Any], str]:
    """Write the pending events as the next checkpoint runpack; returns (record, chain path)."""
    from gait.fsutil import atomic_write
    from gait.runpack.record import write_runpack

    chain_file = chain_out.strip() or chain_path_for(path)
    with _locked(path, "r+b") as handle:
        journal = _parse(path, handle.read())
        pending = journal.pending
        if not pending:
            raise InvalidInput("no new session events available for checkpoint")
        index = len(journal.checkpoints) + 1
        built = _runpack_for(journal, index, pending)
        written = write_runpack(out, built)
        previous = journal.checkpoints[-1]["checkpoint_digest"] if journal.checkpoints else ""
        start, end = pending[0]["sequence"], pending[-1]["sequence"]
        record = {
            "record_type": "checkpoint",
            "checkpoint_index": index,
            "run_id": built.run_id,
            "runpack_path": _relative(written, os.path.dirname(chain_file) or "."),
            "manifest_digest": built.manifest_digest,
            "seq_start": start,
            "seq_end": end,
            "event_count": len(pending),
            "created_at": pending[-1]["created_at"],
            "prev_checkpoint_digest": previous,
            "checkpoint_digest": checkpoint_digest(
                built.manifest_digest, previous, index, start, end
            ),
        }
        handle.seek(0, os.SEEK_END)
        handle.write(_line(record))
        handle.flush()
        os.fsync(handle.fileno())
        journal.checkpoints.append(record)
        parent = os.path.dirname(chain_file)
        if parent:
            os.makedirs(parent, mode=0o750, exist_ok=True)
        chain = _chain_doc(journal, chain_file)
        atomic_write(
            chain_file, (msgspec.json.format(canonical_bytes(chain), indent=2) + b"\n"), 0o600
        )
    return record, chain_file


def compact(path: str, out: str = "", *, dry_run: bool = False) -> dict[str, Any]:
    """Drop events already covered by a checkpoint (their runpacks hold them)."""
    from gait.fsutil import atomic_write
    from gait.safejson import loads_line

    target = out.strip() or path
    with _locked(path, "r+b") as handle:
        data = handle.read()
        journal = _parse(path, data)
        done = journal.checkpointed_through
        kept = [line for line in data.split(b"\n") if line.strip()]
        out_lines = []
        dropped = 0
        for number, line in enumerate(kept, start=1):
            record = loads_line(line, f"session journal {path}", number)
            if record.get("record_type") == "event" and record["sequence"] <= done:
                dropped += 1
                continue
            out_lines.append(line + b"\n")
        body = b"".join(out_lines)
        if not dry_run:
            atomic_write(target, body, 0o600)
    return {
        "journal": path,
        "out": target,
        "events_before": len(journal.events),
        "events_after": len(journal.events) - dropped,
        "dropped": dropped,
        "dry_run": dry_run,
        "checkpoints": len(journal.checkpoints),
        "last_checkpoint_sequence": done,
        "bytes_before": len(data),
        "bytes_after": len(body),
    }


def status(path: str) -> dict[str, Any]:
    journal = read_journal(path)
    last = journal.checkpoints[-1] if journal.checkpoints else {}
    return {
        "journal": path,
        "session_id": journal.session_id,
        "run_id": journal.run_id,
        "events": len(journal.events),
        "last_sequence": journal.last_sequence,
        "checkpoints": len(journal.checkpoints),
        "pending_events": len(journal.pending),
        "last_checkpoint_digest": last.get("checkpoint_digest", ""),
    }


def read_chain(path: str) -> dict[str, Any]:
    """The chain document; a repeated key or over-deep nesting raises DuplicateKey /
    NestingTooDeep (InvalidInput), which :func:`verify_chain` reports as a failed check."""
    from gait.safejson import loads

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise InvalidInput(f"read session chain {path}: {err.strerror or err}") from err
    chain = loads(data, f"parse session chain {path}")
    if not isinstance(chain, dict) or chain.get("schema_id") != CHAIN_SCHEMA:
        raise InvalidInput(f"{path} is not a {CHAIN_SCHEMA} file")
    if chain.get("schema_version") != SCHEMA_VERSION:
        raise InvalidInput(f"session chain {path}: schema_version must be {SCHEMA_VERSION}")
    if not isinstance(chain.get("checkpoints"), list):
        raise InvalidInput(f"session chain {path}: checkpoints must be a list")
    return chain


def is_session_chain(path: str) -> bool:
    """True when ``path`` is a readable JSON file with the session chain schema.

    A repeated key is not "some other file": it is refused here, naming the key.
    """
    from gait.safejson import DuplicateKey

    if not path.lower().endswith(".json") or not os.path.isfile(path):
        return False
    try:
        read_chain(path)
    except DuplicateKey:
        raise
    except InvalidInput:
        return False
    return True


def _checkpoint_path(chain_path: str, entry: dict[str, Any]) -> str:
    runpack = str(entry.get("runpack_path") or "")
    if os.path.isabs(runpack):
        return runpack
    base = os.path.dirname(chain_path)
    return os.path.join(base, runpack) if base else runpack


def resolve_checkpoint(chain_path: str, which: str = "latest") -> tuple[str, dict[str, Any]]:
    """(runpack path, checkpoint entry) for ``latest`` or a 1-based index."""
    chain = read_chain(chain_path)
    checkpoints = chain["checkpoints"]
    if not checkpoints:
        raise InvalidInput(f"session chain {chain_path} has no checkpoints")
    text = (which or "latest").strip().lower()
    if text == "latest":
        entry = checkpoints[-1]
    else:
        try:
            index = int(text)
        except ValueError as err:
            raise InvalidInput(f"--checkpoint must be latest or a number: {which}") from err
        matches = [c for c in checkpoints if c.get("checkpoint_index") == index]
        if not matches:
            raise InvalidInput(f"session chain {chain_path} has no checkpoint {index}")
        entry = matches[0]
    path = _checkpoint_path(chain_path, entry)
    if not os.path.isfile(path):
        raise InvalidInput(f"checkpoint runpack not found: {path}")
    return path, entry


def verify_chain(
    path: str, *, public_key: KeyPair | None = None, require_signature: bool = False
) -> dict[str, Any]:
    """Re-check every checkpoint's runpack and the links between checkpoints."""
    from gait.errors import VerificationFailed
    from gait.runpack.verify import verify_runpack
    from gait.safejson import DuplicateKey, NestingTooDeep

    try:
        chain = read_chain(path)
    except DuplicateKey as err:
        # the chain links digests: a second spelling of a field is a changed chain
        raise VerificationFailed(err.message, code="session_chain_duplicate_key") from None
    except NestingTooDeep as err:
        raise VerificationFailed(err.message, code="session_chain_too_deep") from None
    run_id = str(chain.get("run_id") or "")
    if not chain["checkpoints"]:
        raise InvalidInput("session chain has no checkpoints")
    # Messages follow the original (core/runpack/session.go VerifySessionChain);
    # the run_id and sequence-gap checks are ours (stricter).
    linkage: list[str] = []
    problems: list[str] = []
    previous, last_end = "", 0
    for position, entry in enumerate(chain["checkpoints"], start=1):
        if not isinstance(entry, dict):
            linkage.append(f"checkpoint index mismatch at position {position - 1}")
            continue
        index = entry.get("checkpoint_index")
        start, end = entry_range(entry)
        number = index if isinstance(index, int) else position
        if index != position:
            linkage.append(f"checkpoint index mismatch at position {position - 1}")
        if str(entry.get("prev_checkpoint_digest") or "") != previous:
            linkage.append(f"prev_checkpoint_digest mismatch at checkpoint {number}")
        if not (isinstance(start, int) and isinstance(end, int)) or start <= last_end:
            linkage.append(f"sequence overlap at checkpoint {number}")
        elif start != last_end + 1 or end < start:
            linkage.append(f"sequence gap at checkpoint {number}: {start}..{end} after {last_end}")
        manifest = str(entry.get("manifest_digest") or "")
        expected = checkpoint_digest(
            manifest,
            str(entry.get("prev_checkpoint_digest") or ""),
            number,
            start if isinstance(start, int) else 0,
            end if isinstance(end, int) else 0,
        )
        if str(entry.get("checkpoint_digest") or "") != expected:
            linkage.append(f"checkpoint_digest mismatch at checkpoint {number}")
        runpack = _checkpoint_path(path, entry)
        try:
            report = verify_runpack(
                runpack, public_key=public_key, require_signature=require_signature
            )
        except GaitError as err:
            problems.append(f"checkpoint {number} verify error: {err.message}")
        else:
            if report.manifest_digest != manifest:
                problems.append(f"checkpoint {number} manifest digest mismatch")
            body = report.to_json()
            if body.get("missing_files") or body.get("hash_mismatches"):
                problems.append(f"checkpoint {number} runpack integrity failure")
            if require_signature and report.signature_status != "verified":
                problems.append(f"checkpoint {number} signature verification failed")
            elif not report.ok and not (body.get("missing_files") or body.get("hash_mismatches")):
                problems.append(f"checkpoint {number} runpack verification failed")
            if report.run_id != f"{run_id}_cp_{position:04d}":
                problems.append(
                    f"checkpoint {number} runpack run_id {report.run_id} is not "
                    f"{run_id}_cp_{position:04d}"
                )
        previous = str(entry.get("checkpoint_digest") or "")
        last_end = end if isinstance(end, int) else last_end
    return {
        "ok": not linkage and not problems,
        "chain_path": path,
        "session_id": str(chain.get("session_id") or ""),
        "run_id": run_id,
        "checkpoints_checked": len(chain["checkpoints"]),
        "linkage_errors": linkage,
        "checkpoint_errors": problems,
    }
