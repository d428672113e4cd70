"""Issue 11 B10/C14 and B9: zip caps fit valid big packs; bombs and deep JSON still fail.

Streamed members may be up to 4 GiB (16 GiB per pack); what is loaded whole
into memory keeps small caps. A manifest that is well-formed JSON but nested too
deep is a failed verification (exit 2); bytes that are not JSON stay exit 6.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.runpack import zipread
from gait.runpack.reader import read_runpack
from gait.runpack.record import manifest_digest
from gait.runpack.zipread import ZipEntryError, open_zip

from .conftest import cli_exit

OLD_MEMBER_CAP = 100 * 1024 * 1024
RECORD_BYTES = 64 * 1024
RECORDS = OLD_MEMBER_CAP // RECORD_BYTES + 16  # each record member just over the old cap


def _record_lines(template: dict, key: str, n: int) -> bytes:
    """One ~64 KiB record: a random 1 KiB block repeated, so deflate gets ~50:1, not 500:1."""
    block = os.urandom(512).hex()
    record = dict(template, intent_id=f"intent_{n:07d}")
    record[key] = {"n": n, "blob": (block * (RECORD_BYTES // len(block)))[: RECORD_BYTES - 200]}
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _rewrite(
    source: Path, target: Path, big: bool, changes: dict[str, bytes] | None = None, level: int = 1
) -> Path:
    """``source`` rewritten by Python's zipfile (deflate at ``level``), manifest re-hashed.

    With ``big``, intents.jsonl and results.jsonl are replaced by RECORDS
    records each, streamed to the zip (never held whole).
    """
    with zipfile.ZipFile(source) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members.update(changes or {})
    manifest = json.loads(members.pop("manifest.json"))
    manifest.pop("signatures", None)
    digests: dict[str, str] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout:
        for name, data in members.items():
            hasher = hashlib.sha256()
            if big and name in ("intents.jsonl", "results.jsonl"):
                first = json.loads(data.splitlines()[0])
                key = "args" if name == "intents.jsonl" else "result"
                with zout.open(name, "w", force_zip64=False) as out:
                    for n in range(RECORDS):
                        line = _record_lines(first, key, n)
                        hasher.update(line)
                        out.write(line)
            else:
                hasher.update(data)
                zout.writestr(name, data)
            digests[name] = hasher.hexdigest()
        for item in manifest["files"]:
            item["sha256"] = digests[item["path"]]
        manifest["manifest_digest"] = manifest_digest(manifest)
        zout.writestr("manifest.json", json.dumps(manifest))
    return target


@pytest.fixture(scope="module")
def big_pack(tmp_path_factory: pytest.TempPathFactory, demo_zip: bytes):
    root = tmp_path_factory.mktemp("bigpack")
    (root / "demo.zip").write_bytes(demo_zip)
    path = _rewrite(root / "demo.zip", root / "big.zip", big=True)
    yield path
    path.unlink()


def test_members_over_the_old_cap_verify_and_stream(big_pack: Path) -> None:
    with open_zip(big_pack, strict=False) as archive:
        sizes = {e.name: e.size for e in archive.entries}
        ratios = [e.size / e.compressed_size for e in archive.entries if e.compressed_size]
    assert sizes["intents.jsonl"] > OLD_MEMBER_CAP and sizes["results.jsonl"] > OLD_MEMBER_CAP
    assert max(ratios) < zipread.MAX_COMPRESSION_RATIO
    assert big_pack.stat().st_size < 40 * 2**20

    code, out = cli_exit("verify", str(big_pack), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True and report["files_checked"] == 4

    # a fresh process: inspect streams every record
    done = subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "run", "inspect", str(big_pack), "--json"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.count(b'"intent_id":"intent_') >= RECORDS


def test_whole_pack_readers_refuse_members_too_big_for_memory(big_pack: Path) -> None:
    # regress/receipt load members whole: refused by size, before reading them
    with pytest.raises(InvalidInput, match=r"too large to load into memory: intents\.jsonl"):
        read_runpack(big_pack)
    with open_zip(big_pack, strict=False) as archive:
        entry = archive.find("intents.jsonl")
        assert entry is not None
        with pytest.raises(ZipEntryError, match="too large to load into memory"):
            archive.read(entry)


def test_in_memory_total_is_capped_per_archive(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_zip(demo_path, strict=False) as archive:
        sizes = sorted(e.size for e in archive.entries)
    monkeypatch.setattr(zipread, "MAX_READ_TOTAL_BYTES", sizes[-1] + sizes[-2] - 1)
    with open_zip(demo_path, strict=False) as archive:
        by_size = sorted(archive.entries, key=lambda e: e.size)
        archive.read(by_size[-1])
        with pytest.raises(ZipEntryError, match="too large to load into memory"):
            archive.read(by_size[-2])


def test_streamed_documents_keep_their_own_cap(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gait.runpack import stream

    monkeypatch.setattr(stream, "MAX_DOCUMENT_BYTES", 10)
    code, out = cli_exit("run", "inspect", str(demo_path), "--json")
    assert code == 6
    assert "too large to load into memory: run.json" in json.loads(out)["error"]


def test_a_compression_bomb_still_fails_closed(demo_path: Path, tmp_path: Path) -> None:
    # valid JSONL (blank lines), but 4 MiB of newlines deflate far beyond 500:1
    changes = {"intents.jsonl": b"\n" * (4 * 2**20)}
    bomb = _rewrite(demo_path, tmp_path / "bomb.zip", big=False, changes=changes, level=9)
    with zipfile.ZipFile(bomb) as raw:
        info = raw.getinfo("intents.jsonl")
    assert info.file_size > zipread.MAX_COMPRESSION_RATIO * info.compress_size
    code, out = cli_exit("verify", str(bomb), "--json")
    assert code == 2
    assert "compression ratio too high" in json.loads(out)["error"]
    code, _ = cli_exit("run", "inspect", str(bomb), "--json")
    assert code == 6


def test_streamed_member_caps_apply_at_open(demo_path: Path) -> None:
    with pytest.raises(zipread.ZipFormatError) as info:
        open_zip(demo_path, strict=False, max_entry_bytes=10)
    assert info.value.reason == "zip_entry_too_large"
    with pytest.raises(zipread.ZipFormatError) as info:
        open_zip(demo_path, strict=False, max_total_bytes=10)
    assert info.value.reason == "zip_total_too_large"


def _with_manifest(demo_path: Path, tmp_path: Path, text: bytes) -> Path:
    with zipfile.ZipFile(demo_path) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members["manifest.json"] = text
    target = tmp_path / "edited.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return target


@pytest.mark.parametrize(
    ("edit", "code", "needle"),
    [
        (
            lambda t: t.replace(b"{", b'{"deep":' + b"[" * 1200 + b"]" * 1200 + b",", 1),
            2,
            "nesting",
        ),
        (lambda t: t.replace(b'"run_id"', b'"run_id":"x","run_id"', 1), 2, "duplicate key"),
        (lambda t: b"not json at all", 6, "invalid JSON"),
    ],
    ids=["deep", "repeated-key", "not-json"],
)
def test_manifest_json_problems_in_verify(
    demo_path: Path, tmp_path: Path, edit, code: int, needle: str
) -> None:
    with zipfile.ZipFile(demo_path) as zin:
        original = zin.read("manifest.json")
    path = _with_manifest(demo_path, tmp_path, edit(original))
    got, out = cli_exit("verify", str(path), "--json")
    assert got == code, out
    assert needle in json.loads(out)["error"]
