"""`gait verify` applies the repeated-key rule to runpack records (issue 11 A6).

Each pack here is rebuilt the way gait writes one (canonical zip, manifest
hashes and digest recomputed, signed with a real key), so the only thing that
can fail is the second spelling of a key.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import canonical_bytes, digest
from gait.runpack.demo import build_demo_runpack
from gait.runpack.record import manifest_digest, signable_manifest
from gait.runpack.verify import verify_runpack
from gait.runpack.zipwrite import ZipMember, write_zip
from gait.signing import KeyPair, encode_public_key, generate_keypair, sign_digest

VARIANTS = [pytest.param(False, id="same-case"), pytest.param(True, id="case-variant")]


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return generate_keypair()


@pytest.fixture(scope="module")
def members() -> dict[str, bytes]:
    return dict(build_demo_runpack("0.1.0").members)


def signed_pack(path: Path, members: dict[str, bytes], key: KeyPair) -> Path:
    """``members`` (records only) as a signed, canonically zipped runpack."""
    from gait.canonical import sha256_hex

    records = {k: v for k, v in members.items() if k != "manifest.json"}
    manifest = json.loads(members["manifest.json"])
    manifest["files"] = [{"path": n, "sha256": sha256_hex(records[n])} for n in sorted(records)]
    manifest.pop("signatures", None)
    manifest["manifest_digest"] = manifest_digest(manifest)
    manifest["signatures"] = [sign_digest(key, digest(signable_manifest(manifest)))]
    records["manifest.json"] = canonical_bytes(manifest)
    path.write_bytes(write_zip(ZipMember(n, d) for n, d in sorted(records.items())))
    return path


def repeat_key(line: bytes, key: str, variant: bool) -> bytes:
    """``line`` (a JSON object) with ``key`` written once more in front (other case if ``variant``)."""
    assert line.startswith(b"{") and f'"{key}"'.encode() in line
    spelled = key[0].upper() + key[1:] if variant else key
    return b'{"' + spelled.encode() + b'":"repeated",' + line[1:]


def changed(members: dict[str, bytes], member: str, key: str, variant: bool, line: int) -> dict:
    out = dict(members)
    if member.endswith(".jsonl"):
        lines = out[member].split(b"\n")
        lines[line - 1] = repeat_key(lines[line - 1], key, variant)
        out[member] = b"\n".join(lines)
    else:
        out[member] = repeat_key(out[member], key, variant)
    return out


def cli_verify(*args: str) -> tuple[int, dict[str, Any]]:
    from gait.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["verify", *args, "--json"])
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def test_rebuilt_pack_verifies_unchanged(tmp_path: Path, members: dict, key: KeyPair) -> None:
    # the control: the rebuilding itself is clean and signed
    report = verify_runpack(
        signed_pack(tmp_path / "p.zip", members, key), public_key=key, require_signature=True
    )
    assert report.ok, report.to_json()
    assert report.signature_status == "verified"
    assert not report.zip_errors and not report.context_errors


CASES = [("intents.jsonl", "intent_id", 2), ("results.jsonl", "intent_id", 3),
         ("intents.jsonl", "tool_name", 1), ("run.json", "run_id", 0),
         ("refs.json", "run_id", 0)]  # fmt: skip


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("member", "key_name", "line"), CASES)
def test_repeated_key_in_signed_record_fails_verify(
    tmp_path: Path, members: dict, key: KeyPair, member: str, key_name: str, line: int,
    variant: bool,
) -> None:  # fmt: skip
    pack = signed_pack(tmp_path / "p.zip", changed(members, member, key_name, variant, line), key)
    public = tmp_path / "key.pub"
    public.write_text(encode_public_key(key) + "\n")
    code, out = cli_verify(str(pack), "--public-key", str(public), "--require-signature")
    assert code == 2, out
    assert out["ok"] is False
    # everything else holds: the signature, every hash, the layout
    assert out["signature_status"] == "verified"
    assert not out.get("hash_mismatches") and not out.get("missing_files"), out
    where = f"{member} line {line}" if line else member
    spelled = key_name[0].upper() + key_name[1:]
    detail = f"'{key_name}' (also spelled '{spelled}')" if variant else f"'{key_name}'"
    assert out["zip_errors"] == [f"{where}: duplicate key {detail}"], out
    assert "context_errors" not in out  # reported once


def test_repeated_key_on_a_line_past_the_first_chunk(tmp_path: Path, key: KeyPair) -> None:
    """Lines are checked in batches as chunks arrive: a line cut by a chunk boundary,
    far into a member, is still found and numbered."""
    members = dict(build_demo_runpack("0.1.0").members)
    first = members["intents.jsonl"].split(b"\n")[0]
    padded = first.replace(b'"intent_id"', b'"pad":"' + b"x" * 997 + b'","intent_id"', 1)
    count = 3000  # about 3 MB: several 1 MiB chunks
    lines = [padded] * count
    lines[count - 7] = repeat_key(padded, "pad", True)
    members["intents.jsonl"] = b"\n".join(lines) + b"\n"
    report = verify_runpack(signed_pack(tmp_path / "big.zip", members, key), public_key=key)
    assert report.zip_errors == [
        f"intents.jsonl line {count - 6}: duplicate key 'pad' (also spelled 'Pad')"
    ]
    assert not report.ok


def test_malformed_line_does_not_hide_a_repeated_key(tmp_path: Path, key: KeyPair) -> None:
    # a batch that is not JSON proves nothing: its lines are checked one by one
    members = dict(build_demo_runpack("0.1.0").members)
    lines = members["results.jsonl"].split(b"\n")
    lines[0] = lines[0][:-1]  # cut the closing brace
    lines[1] = repeat_key(lines[1], "intent_id", False)
    members["results.jsonl"] = b"\n".join(lines)
    report = verify_runpack(signed_pack(tmp_path / "p.zip", members, key), public_key=key)
    assert report.zip_errors == ["results.jsonl line 2: duplicate key 'intent_id'"]


def test_unparseable_refs_is_a_context_finding(tmp_path: Path, key: KeyPair) -> None:
    members = dict(build_demo_runpack("0.1.0").members)
    members["refs.json"] = b'{"run_id": '
    report = verify_runpack(signed_pack(tmp_path / "p.zip", members, key), public_key=key)
    assert not report.ok
    assert len(report.context_errors) == 1
    assert report.context_errors[0].startswith("refs.json: invalid JSON")
    members["refs.json"] = b"[]"
    report = verify_runpack(signed_pack(tmp_path / "q.zip", members, key), public_key=key)
    assert report.context_errors == ["refs.json: must be a JSON object"]


def test_record_too_deep_to_check_fails(tmp_path: Path, key: KeyPair) -> None:
    # past the full parser's reach a repeat could go unseen: fail closed, naming the line
    members = dict(build_demo_runpack("0.1.0").members)
    lines = members["results.jsonl"].split(b"\n")
    deep = b"[" * 5000 + b'{"a":1,"A":2}' + b"]" * 5000
    lines[1] = lines[1][:-1] + b',"deep":' + deep + b"}"
    members["results.jsonl"] = b"\n".join(lines)
    report = verify_runpack(signed_pack(tmp_path / "p.zip", members, key), public_key=key)
    assert report.zip_errors == ["results.jsonl line 2: JSON nesting exceeds 1000 levels"]
    assert not report.ok


def test_text_output_names_context_findings(tmp_path: Path, key: KeyPair) -> None:
    from gait.cli.main import main

    members = dict(build_demo_runpack("0.1.0").members)
    members["refs.json"] = b"[]"
    pack = signed_pack(tmp_path / "p.zip", members, key)
    key_file = tmp_path / "pub.key"
    key_file.write_text(encode_public_key(key) + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["verify", str(pack), "--public-key", str(key_file)])
    assert code == 2
    assert "context errors: refs.json: must be a JSON object" in out.getvalue().splitlines()
