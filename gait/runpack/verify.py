"""Offline runpack verification (runpack.md §4.2).

Nothing is extracted: members are inflated in memory, in bounded chunks, and
hashed. Besides the spec's checks (duplicates, manifest schema, per-member
sha256, required members, manifest digest, signatures) the zip container
itself must be intact and canonical (see :mod:`gait.runpack.zipread`), and the
pack must hold no member besides the five of §1; both are reported as
integrity failures (exit 2), never as a pass.

Exit mapping used by the CLI: :class:`InvalidInput` → 6 (unreadable file,
not a zip at all, malformed manifest), :class:`VerificationFailed` → 2
(damaged zip, duplicate entries, unreadable manifest), otherwise the report's
``ok`` decides between 0 and 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from gait.canonical import new_sha256
from gait.errors import GaitError, InvalidInput, VerificationFailed
from gait.runpack.model import (
    MANIFEST_SCHEMA,
    MAX_DOCUMENT_BYTES,
    MEMBER_INTENTS,
    MEMBER_MANIFEST,
    MEMBER_REFS,
    MEMBER_RESULTS,
    RECORD_MEMBERS,
    SCHEMA_VERSION,
    Manifest,
)
from gait.runpack.record import manifest_digest, signable_manifest
from gait.runpack.zipread import (
    ZipArchive,
    ZipEntry,
    ZipEntryError,
    ZipFormatError,
    normalize_entry_name,
    open_zip,
)

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "ALL_MEMBERS",
    "HashMeter",
    "ProgressFn",
    "VerifyReport",
    "count_valid_signatures",
    "load_manifest",
    "open_runpack_zip",
    "signature_status",
    "verify_runpack",
]

ALL_MEMBERS = frozenset((MEMBER_MANIFEST, *RECORD_MEMBERS))

# ``progress(bytes_hashed, bytes_total)``: how a caller (the CLI) follows a long verify.
ProgressFn = Callable[[int, int], None]


class HashMeter:
    """Hashes members, reporting bytes hashed so far across all of them to ``progress``."""

    def __init__(self, progress: ProgressFn | None, entries: Iterable[ZipEntry | None]) -> None:
        self.progress = progress
        self.total = sum(e.size for e in entries if e is not None)
        self.done = 0

    def sha256(self, archive: ZipArchive, entry: ZipEntry, keys: KeyCheck | None = None) -> str:
        """As :meth:`ZipArchive.sha256` (same checks, same errors), counting the bytes.

        ``keys``, when given, sees every chunk as it is hashed (one inflate pass).
        """
        if self.progress is None and keys is None:
            return archive.sha256(entry)
        hasher = new_sha256(size=entry.size)
        start = self.done
        try:
            for chunk in archive.iter_member(entry):
                hasher.update(chunk)
                if keys is not None:
                    keys.feed(chunk)
                if self.progress is not None:
                    self.done += len(chunk)
                    self.progress(self.done, self.total)
        finally:
            self.done = start + entry.size  # a member that failed half-way still counts as seen
        return hasher.hexdigest()


class KeyCheck:
    """The repeated-key rule (issue 11 A6) over one record member, fed while it is hashed.

    A signed record whose writer repeated a key (exactly or in another case)
    must not verify: readers refuse it, so a passing verify would vouch for a
    pack nothing can read, and two readers could decide its two spellings
    differently. JSONL members are checked a batch of whole lines at a time
    (memory: one chunk plus the longest line); ``run.json`` and ``refs.json``
    are checked whole, as every reader decodes them (``defer``: only collected,
    for a caller that parses it under the same rule). A line or document over
    :data:`MAX_DOCUMENT_BYTES` is a finding too (nothing reads it).
    """

    def __init__(self, name: str, *, defer: bool = False) -> None:
        self.name = name
        self.defer = defer  # collect only: the caller parses the document under the rule
        self.lines = name in (MEMBER_INTENTS, MEMBER_RESULTS)
        self.error = ""
        self.data = b""  # a whole document, once finished (refs.json is read from it)
        self._parts: list[bytes] = []
        self._size = 0
        self._line = 1  # number of the first line in _parts

    def feed(self, chunk: memoryview | bytes) -> None:
        if self.error:
            return
        data = bytes(chunk)  # chunks may be views into a reused buffer
        if self.lines:
            cut = data.rfind(b"\n")
            if cut >= 0:
                self._parts.append(data[:cut])
                batch = b"".join(self._parts)
                self._parts, self._size = [data[cut + 1 :]], len(data) - cut - 1
                self._check_lines(batch)
                return
        self._parts.append(data)
        self._size += len(data)
        if self._size > MAX_DOCUMENT_BYTES:
            where = f"line {self._line}" if self.lines else "document"
            self.error = (
                f"{self.name}: {where} too large to check for repeated keys "
                f"(over {MAX_DOCUMENT_BYTES} bytes)"
            )
            self._parts = []

    def finish(self) -> str:
        """The finding (``""`` when none), once the member was read to its end."""
        if self.error:
            return self.error
        rest = b"".join(self._parts)
        self._parts = []
        if self.lines:
            if rest:
                self._check_lines(rest)
            return self.error
        self.data = rest
        self.error = "" if self.defer else _key_finding(rest, self.name)
        return self.error

    def _check_lines(self, batch: bytes) -> None:
        first, lines = self._line, batch.split(b"\n")
        self._line += len(lines)
        # One proof over the batch as a JSON array (C speed); lines only when it fails.
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines or _batch_finding(b"[" + b",".join(lines) + b"]", self.name) == "":
            return
        for number, line in enumerate(lines, start=first):
            if line.strip():
                self.error = _key_finding(line, f"{self.name} line {number}")
                if self.error:
                    return


def _batch_finding(joined: bytes, what: str) -> str | None:
    """:func:`_key_finding` over lines joined into one array; ``None`` when they are
    not valid JSON together (a malformed line must not hide a repeat in another)."""
    from gait.safejson import (
        DuplicateKey,
        NestingTooDeep,
        _no_repeated_keys,
        check_depth,
        check_duplicate_keys,
    )

    if _no_repeated_keys(joined):  # the C-speed proof: no depth or syntax question left
        return ""
    try:  # syntax only: Raw items keep no keys, so none can collapse here
        msgspec.json.decode(joined, type=list[msgspec.Raw])
    except (msgspec.DecodeError, RecursionError):
        return None
    try:
        check_depth(joined, what)
        check_duplicate_keys(joined, what)
    except (DuplicateKey, NestingTooDeep):
        return None  # the lines say which and where
    return ""


def _key_finding(data: bytes, what: str) -> str:
    """``"<what>: duplicate key 'k'"`` (or nesting too deep, which could hide one), else ``""``.

    The proof comes first: it settles most documents without the depth pass,
    which only guards the full parser (it could otherwise stop short of a repeat).
    """
    from gait.safejson import (
        DuplicateKey,
        NestingTooDeep,
        _no_repeated_keys,
        check_depth,
        check_duplicate_keys,
    )

    if _no_repeated_keys(data):
        return ""
    try:
        check_depth(data, what)
        check_duplicate_keys(data, what)
    except (DuplicateKey, NestingTooDeep) as err:
        return err.message
    return ""


class HashMismatch(msgspec.Struct):
    path: str
    expected: str
    actual: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual}


class VerifyReport(msgspec.Struct):
    """The result of verifying one runpack; ``ok`` per §4.2."""

    path: str
    run_id: str = ""
    manifest_digest: str = ""
    files_checked: int = 0
    missing_files: list[str] = msgspec.field(default_factory=list)
    hash_mismatches: list[HashMismatch] = msgspec.field(default_factory=list)
    unexpected_files: list[str] = msgspec.field(default_factory=list)
    zip_errors: list[str] = msgspec.field(default_factory=list)
    context_errors: list[str] = msgspec.field(default_factory=list)
    signature_status: str = "missing"
    signature_errors: list[str] = msgspec.field(default_factory=list)
    signatures_total: int = 0
    signatures_valid: int = 0
    require_signature: bool = False
    key_source: str = ""  # "dev" when the per-user dev key was used (no key was given)

    @property
    def ok(self) -> bool:
        if self.missing_files or self.hash_mismatches or self.unexpected_files or self.zip_errors:
            return False
        if self.context_errors:
            return False
        if self.require_signature:
            return self.signature_status == "verified"
        return self.signature_status != "failed"

    def to_json(self) -> dict[str, Any]:
        """Spec fields, empty ones omitted (``ok`` always present)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "path": self.path,
            "run_id": self.run_id,
            "manifest_digest": self.manifest_digest,
            "files_checked": self.files_checked,
            "missing_files": self.missing_files,
            "hash_mismatches": [m.to_json() for m in self.hash_mismatches],
            "unexpected_files": self.unexpected_files,
            "zip_errors": self.zip_errors,
            "context_errors": self.context_errors,
            "signature_status": self.signature_status,
            "signature_errors": self.signature_errors,
            "signatures_total": self.signatures_total,
            "signatures_valid": self.signatures_valid,
            "key_source": self.key_source,
        }
        return {k: v for k, v in out.items() if k == "ok" or v}


def open_runpack_zip(path: str) -> ZipArchive:
    """Open a runpack zip; map failures to exit 6 (not a zip) or 2 (damaged zip).

    Any well-formed zip is read, whatever wrote it (deflate encoder, member order,
    extra fields, mode bits): verification is about the content the manifest
    hashes and signs. The safety rules of :mod:`gait.runpack.zipread` all apply.
    """
    try:
        return open_zip(path, strict=False)
    except ZipFormatError as err:
        if err.zip_like:
            raise VerificationFailed(err.message, code=f"runpack_{err.reason}") from err
        raise InvalidInput(err.message) from err
    except OSError as err:
        raise InvalidInput(f"open zip: {err.strerror or err}") from err


def load_manifest(archive: ZipArchive) -> tuple[dict[str, Any], Manifest]:
    """Read, CRC-check and parse ``manifest.json`` (§4.2 steps 2–3).

    Duplicate entries, a missing or undecompressable manifest → VerificationFailed
    (exit 2); invalid JSON or schema → InvalidInput (exit 6).
    """
    if archive.duplicates:
        raise VerificationFailed(
            "zip contains duplicate entries: " + ", ".join(archive.duplicates),
            code="runpack_duplicate_entries",
        )
    entry = archive.find(MEMBER_MANIFEST)
    if entry is None:
        raise VerificationFailed(
            "missing manifest.json",
            code="runpack_missing_manifest",
            details={"missing_files": [MEMBER_MANIFEST]},
        )
    try:
        data = archive.read(entry, max_bytes=MAX_DOCUMENT_BYTES)
    except ZipEntryError as err:
        raise VerificationFailed(
            f"read manifest.json: {err.message}", code="runpack_manifest_unreadable"
        ) from err
    from gait.safejson import DuplicateKey, NestingTooDeep, loads

    try:
        raw = loads(data, "parse manifest.json")
    except DuplicateKey as err:
        # the manifest is signed: a second spelling of a field is tampering
        raise VerificationFailed(err.message, code="runpack_manifest_duplicate_key") from None
    except NestingTooDeep as err:
        # no writer nests a manifest that deep: a failed check (exit 2), not unreadable input
        raise VerificationFailed(err.message, code="runpack_manifest_too_deep") from None
    if not isinstance(raw, dict):
        raise InvalidInput("parse manifest.json: manifest must be a JSON object")
    try:
        manifest = msgspec.convert(raw, type=Manifest)
    except msgspec.ValidationError as err:
        raise InvalidInput(f"parse manifest.json: {err}") from err
    if manifest.schema_id != MANIFEST_SCHEMA:
        raise InvalidInput("manifest schema_id must be gait.runpack.manifest")
    if manifest.schema_version != SCHEMA_VERSION:
        raise InvalidInput("manifest schema_version must be 1.0.0")
    if not manifest.run_id:
        raise InvalidInput("manifest missing run_id")
    return raw, manifest


def verify_runpack(
    path: str | os.PathLike[str],
    *,
    public_key: KeyPair | None = None,
    require_signature: bool = False,
    dev_key: KeyPair | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Verify the runpack at ``path``; see the module docstring for the error mapping.

    ``dev_key`` (the per-user dev key) is used only when no ``public_key`` is
    given and a manifest signature names its key id: a pack this user signed
    in dev mode verifies, any other pack is "skipped" exactly as without it.
    ``progress`` is told the bytes hashed so far (see :class:`HashMeter`).
    """
    fspath = os.fspath(path)
    with open_runpack_zip(fspath) as archive:
        raw, manifest = load_manifest(archive)
        report = VerifyReport(
            path=fspath,
            run_id=manifest.run_id,
            manifest_digest=manifest.manifest_digest,
            files_checked=len(manifest.files or []),
            signatures_total=len(manifest.signatures or []),
            require_signature=require_signature,
        )
        report.zip_errors.extend(f"{name}: {reason}" for name, reason in archive.unsafe)
        report.unexpected_files = sorted(
            {e.name for e in archive.entries if normalize_entry_name(e.name) not in ALL_MEMBERS}
        )
        listed: set[str] = set()
        refs_data: bytes | None = None
        checked: set[str] = set()
        meter = HashMeter(
            progress,
            (archive.find(item.path.replace("\\", "/")) for item in manifest.files or []),
        )
        for item in manifest.files or []:
            name = item.path.replace("\\", "/")
            listed.add(name)
            entry = archive.find(name)
            if entry is None:
                report.missing_files.append(name)
                continue
            # each record member once (a name listed twice is hashed twice, checked once)
            keys = None
            if name in RECORD_MEMBERS and name not in checked:
                # refs.json is parsed whole for its context evidence anyway: checked there
                keys = KeyCheck(name, defer=name == MEMBER_REFS)
            try:
                actual = meter.sha256(archive, entry, keys)
            except ZipEntryError as err:
                report.zip_errors.append(f"{name}: {err.message}")
                actual = ""
                keys = None  # unreadable: reported above, its keys cannot be judged
            if actual.lower() != item.sha256.lower():
                report.hash_mismatches.append(HashMismatch(name, item.sha256, actual))
            elif keys is not None:
                checked.add(name)
                if finding := keys.finish():
                    report.zip_errors.append(finding)
                elif name == MEMBER_REFS:
                    refs_data = keys.data
        # Layout problems include those found while reading (non-canonical encodings).
        report.zip_errors.extend(archive.layout_errors)
        if refs_data is not None:
            finding, context = _refs_findings(refs_data)
            if finding:
                report.zip_errors.append(finding)
            if not report.hash_mismatches:
                report.context_errors = context
        elif MEMBER_REFS in listed and not report.hash_mismatches:
            report.context_errors = _context_errors(archive)
    report.missing_files.extend(name for name in RECORD_MEMBERS if name not in listed)
    computed = manifest_digest(raw)
    if manifest.manifest_digest.lower() != computed:
        report.hash_mismatches.append(
            HashMismatch(MEMBER_MANIFEST, manifest.manifest_digest, computed)
        )
    if public_key is None and dev_key is not None and _signed_by(raw, dev_key.key_id):
        public_key = dev_key
        report.key_source = "dev"
    _check_signatures(report, raw, manifest, public_key, require_signature)
    report.missing_files = sorted(set(report.missing_files))
    report.hash_mismatches.sort(key=lambda m: m.path)
    report.zip_errors.sort()
    report.signature_errors.sort()
    return report


def _context_errors(archive: ZipArchive) -> list[str]:
    """refs.json context evidence, for a refs.json the hashing pass did not keep."""
    entry = archive.find(MEMBER_REFS)
    if entry is None:
        return []
    try:
        data = archive.read(entry, max_bytes=MAX_DOCUMENT_BYTES)
    except ZipEntryError as err:
        return [f"{MEMBER_REFS}: {err.message}"]
    finding, context = _refs_findings(data)
    return [finding] if finding else context


def _refs_findings(data: bytes) -> tuple[str, list[str]]:
    """(repeated-key finding, context errors) of refs.json: receipts must digest to
    context_set_digest. A refs.json that cannot be parsed is a context error: its
    evidence cannot be checked."""
    from gait.intent.refs_check import refs_context_errors
    from gait.safejson import DuplicateKey, NestingTooDeep, loads

    try:
        refs = loads(data, MEMBER_REFS)
    except (DuplicateKey, NestingTooDeep) as err:
        return err.message, []  # the same rule, and words, as for the other records
    except GaitError as err:
        return "", [err.message]
    if not isinstance(refs, dict):
        return "", [f"{MEMBER_REFS}: must be a JSON object"]
    return "", refs_context_errors(refs)


def _signed_by(raw: dict[str, Any], key_id: str) -> bool:
    signatures = raw.get("signatures") or []
    return any(
        isinstance(s, dict) and str(s.get("key_id", "")).lower() == key_id for s in signatures
    )


def count_valid_signatures(
    signatures: list[Any], expected: str, public_key: KeyPair, errors: list[str]
) -> int:
    """How many signatures verify over ``expected``; each failure's message goes to ``errors``.

    Hex fields are compared case-insensitively, so they are lowered first.
    """
    from gait.signing import verify_signature

    valid = 0
    for signature in signatures:
        normalized = dict(signature) if isinstance(signature, dict) else signature
        if isinstance(normalized, dict):
            for key in ("signed_digest", "key_id"):
                if isinstance(normalized.get(key), str):
                    normalized[key] = normalized[key].lower()
        try:
            verify_signature(normalized, expected, public_key)
        except GaitError as err:
            errors.append(err.message)
            continue
        valid += 1
    return valid


def signature_status(
    signatures: list[Any],
    expected: Callable[[], str],
    public_key: KeyPair | None,
    require_signature: bool,
    errors: list[str],
) -> tuple[str, int]:
    """(status, valid count) of a manifest's signatures; shared by runpacks and packs.

    ``missing`` without signatures, ``skipped`` without a key, else ``verified``
    when at least one verifies over ``expected()`` and ``failed`` otherwise.
    """
    if not signatures:
        if require_signature:
            errors.append("manifest has no signatures")
        return "missing", 0
    if public_key is None:
        errors.append("public key not configured")
        return "skipped", 0
    valid = count_valid_signatures(signatures, expected(), public_key, errors)
    return ("verified" if valid else "failed"), valid


def _check_signatures(
    report: VerifyReport,
    raw: dict[str, Any],
    manifest: Manifest,
    public_key: KeyPair | None,
    require_signature: bool,
) -> None:
    from gait.canonical import digest

    signatures = (raw.get("signatures") or []) if manifest.signatures else []
    report.signature_status, report.signatures_valid = signature_status(
        signatures,
        lambda: digest(signable_manifest(raw)),
        public_key,
        require_signature,
        report.signature_errors,
    )
