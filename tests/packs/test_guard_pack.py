"""Evidence packs (scout_packs.md §2): members, controls, determinism, verification."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gait.canonical import canonical_bytes
from gait.errors import InvalidInput, VerificationFailed
from gait.packs.guard import GuardPackInputs, build_guard_pack, normalize_template
from gait.packs.source import read_source_run
from gait.packs.verify import verify_any_pack, verify_guard_pack
from gait.runpack.zipwrite import ZipMember, write_zip
from gait.signing import KeyPair


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _build(demo_path: Path, key: KeyPair | None = None, **inputs: object):
    return build_guard_pack(
        read_source_run(demo_path),
        GuardPackInputs(**inputs),
        sign_key=key,
        producer_version="0.1.0",
    )


def _write(tmp_path: Path, data: bytes, name: str = "pack.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_same_inputs_and_key_give_identical_bytes(demo_path: Path, fixed_key: KeyPair) -> None:
    first = _build(demo_path, fixed_key).zip_bytes
    second = _build(demo_path, fixed_key).zip_bytes
    assert first == second


def test_members_and_manifest_follow_the_spec(demo_path: Path, tmp_path: Path) -> None:
    result = _build(demo_path)
    path = _write(tmp_path, result.zip_bytes)
    members = _members(path)
    assert sorted(members) == [
        "control_index.json",
        "evidence_pointers.json",
        "pack_manifest.json",
        "referenced_runpacks.json",
        "runpack_summary.json",
    ]
    manifest = json.loads(members["pack_manifest.json"])
    assert manifest["schema_id"] == "gait.guard.pack_manifest"
    assert manifest["created_at"] == manifest["generated_at"] == "2026-02-05T00:00:00Z"
    assert manifest["pack_id"].startswith("pack_") and len(manifest["pack_id"]) == 21
    assert [c["path"] for c in manifest["contents"]] == sorted(
        n for n in members if n != "pack_manifest.json"
    )
    summary = json.loads(members["runpack_summary.json"])
    assert summary == {
        "capture_mode": "reference",
        "intent_count": 3,
        "manifest_digest": summary["manifest_digest"],
        "receipt_count": 3,
        "result_count": 3,
        "run_id": "run_demo",
    }
    refs = json.loads(members["referenced_runpacks.json"])
    assert refs["references"] == 3 and [r["ref_id"] for r in refs["receipts"]] == [
        "ref_1",
        "ref_2",
        "ref_3",
    ]
    # Members are canonical JSON.
    assert members["runpack_summary.json"] == canonical_bytes(summary)


def test_pointers_and_controls_never_reference_themselves(demo_path: Path) -> None:
    manifest = _build(demo_path).manifest
    pointed = [p["path"] for p in manifest["evidence_pointers"]]
    assert pointed == ["referenced_runpacks.json", "runpack_summary.json"]
    assert [p["pointer_id"] for p in manifest["evidence_pointers"]] == ["ev_001", "ev_002"]
    by_id = {c["control_id"]: c["evidence_paths"] for c in manifest["control_index"]}
    assert by_id == {
        "CC6.6": ["referenced_runpacks.json"],
        "CC7.2": [],
        "CC8.1": ["referenced_runpacks.json", "runpack_summary.json"],
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "soc2"),
        ("PCI", "pci"),
        ("incident_response", "incident_response"),
        ("x", "incident_response"),
    ],
)
def test_template_normalization(given: str, expected: str) -> None:
    assert normalize_template(given) == expected


def test_traces_regress_and_discovered_audits_are_summarized(
    demo_path: Path, tmp_path: Path
) -> None:
    trace_a = tmp_path / "ta.json"
    trace_a.write_text(json.dumps({"trace_id": "b1", "tool_name": "tool.x", "verdict": "block"}))
    trace_b = tmp_path / "tb.json"
    trace_b.write_text(json.dumps({"trace_id": "a1", "tool_name": "tool.y", "verdict": "allow"}))
    regress = tmp_path / "regress_result.json"
    regress.write_text(
        json.dumps({"fixture_set": "default", "status": "fail", "graders": [{}, {}]})
    )
    (tmp_path / "approval_audit_t1.json").write_text(json.dumps({"b": 1, "a": [2]}))
    result = _build(
        demo_path, traces=[str(trace_a), str(trace_b), str(trace_a)], regress=[str(regress)]
    )
    members = _members(_write(tmp_path, result.zip_bytes))
    traces = json.loads(members["trace_summary.json"])
    assert [t["trace_id"] for t in traces["traces"]] == ["a1", "b1"]
    assert traces["verdict_counts"] == {"allow": 1, "block": 1} and traces["total"] == 2
    reg = json.loads(members["regress_summary.json"])
    assert reg["results"] == [{"fixture_set": "default", "graders": 2, "status": "fail"}]
    assert members["approval_audit_01.json"] == b'{"a":[2],"b":1}'
    controls = {c["control_id"]: c["evidence_paths"] for c in result.manifest["control_index"]}
    assert "approval_audit_01.json" in controls["CC6.6"]
    assert controls["CC7.2"] == ["regress_summary.json", "trace_summary.json"]


def test_unreadable_evidence_file_is_invalid_input(demo_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match=r"bad\.json"):
        _build(demo_path, traces=[str(bad)])


def test_evidence_file_with_a_repeated_key_is_invalid_input(
    demo_path: Path, tmp_path: Path
) -> None:
    # the pack would embed one of two spellings; which one is the reader's guess
    audit = tmp_path / "audit.json"
    audit.write_text('{"approved": false, "approved": true}')
    with pytest.raises(InvalidInput, match=r"audit\.json: duplicate key 'approved'"):
        _build(demo_path, approval_audit=[str(audit)])


def test_signed_pack_verifies_with_its_key_only(
    demo_path: Path, tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    path = _write(tmp_path, _build(demo_path, fixed_key).zip_bytes)
    assert verify_guard_pack(path, public_key=fixed_key).signature_status == "verified"
    skipped = verify_guard_pack(path)
    assert skipped.ok and skipped.signature_status == "skipped"
    wrong = verify_guard_pack(path, public_key=other_key)
    assert not wrong.ok and wrong.signature_status == "failed"


def test_unsigned_pack_fails_when_a_signature_is_required(demo_path: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, _build(demo_path).zip_bytes)
    report = verify_guard_pack(path, require_signature=True)
    assert not report.ok and report.signature_errors == ["manifest has no signatures"]


def test_changed_member_is_a_hash_mismatch(demo_path: Path, tmp_path: Path) -> None:
    members = _members(_write(tmp_path, _build(demo_path).zip_bytes))
    members["runpack_summary.json"] = members["runpack_summary.json"].replace(b"3", b"4")
    report = verify_guard_pack(
        _write(tmp_path, write_zip(ZipMember(k, v) for k, v in members.items()), "t.zip")
    )
    assert not report.ok
    assert [m["path"] for m in report.hash_mismatches] == ["runpack_summary.json"]


def test_extra_member_is_undeclared(demo_path: Path, tmp_path: Path) -> None:
    members = _members(_write(tmp_path, _build(demo_path).zip_bytes))
    members["note.txt"] = b"hi"
    report = verify_guard_pack(
        _write(tmp_path, write_zip(ZipMember(k, v) for k, v in members.items()), "t.zip")
    )
    assert not report.ok and report.undeclared_files == ["note.txt"]


def test_duplicate_entries_are_a_verification_failure(
    demo_path: Path, tmp_path: Path, raw_zip_builder
) -> None:
    members = _members(_write(tmp_path, _build(demo_path).zip_bytes))
    entries = [(k, v, 0o100644, None) for k, v in sorted(members.items())]
    entries.append(("runpack_summary.json", b"{}", 0o100644, None))
    path = _write(tmp_path, raw_zip_builder(entries), "dup.zip")
    with pytest.raises(VerificationFailed) as info:
        verify_guard_pack(path)
    assert info.value.code == "guard_pack_duplicate_entries"


def test_repeated_manifest_key_is_a_verification_failure(demo_path: Path, tmp_path: Path) -> None:
    # a second spelling of a signed field: readers could disagree on which one counts
    members = _members(_write(tmp_path, _build(demo_path).zip_bytes))
    manifest = members["pack_manifest.json"]
    members["pack_manifest.json"] = b'{"run_id":"other",' + manifest.lstrip()[1:]
    path = _write(tmp_path, write_zip(ZipMember(k, v) for k, v in members.items()), "t.zip")
    for verify in (verify_guard_pack, verify_any_pack):
        with pytest.raises(VerificationFailed, match="duplicate key 'run_id'") as info:
            verify(path)
        assert info.value.code.endswith("_manifest_duplicate_key")


def test_missing_manifest_is_invalid_input(tmp_path: Path) -> None:
    path = _write(tmp_path, write_zip([ZipMember("a.json", b"{}")]))
    with pytest.raises(InvalidInput, match=r"missing pack_manifest\.json"):
        verify_guard_pack(path)


def test_pack_verify_recognizes_guard_packs(demo_path: Path, tmp_path: Path) -> None:
    report = verify_any_pack(_write(tmp_path, _build(demo_path).zip_bytes))
    assert report.ok and report.pack_type == "guard" and report.legacy_type == "guard"


def test_cli_guard_pack_then_verify(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev.zip"
    code, text = gait_inproc(
        "guard", "pack", "--run", str(demo_path), "--out", str(out), "--case-id", "INC-1", "--json"
    )
    payload = json.loads(text)
    assert code == 0 and payload["pack_path"] == str(out) and payload["controls"] == 3
    assert payload["manifest_path"] == f"{out}#pack_manifest.json"
    assert any("dev mode" in w for w in payload["warnings"])
    code, text = gait_inproc("guard", "verify", str(out), "--json")
    assert code == 0 and json.loads(text)["signature_status"] == "skipped"
    code, text = gait_inproc("guard", "verify", str(out), "--require-signature", "--json")
    assert code == 2


def test_cli_guard_pack_default_path_is_beside_the_runpack(gait_inproc, demo_path: Path) -> None:
    code, text = gait_inproc("guard", "pack", str(demo_path), "--json")
    payload = json.loads(text)
    assert code == 0
    assert (
        Path(payload["pack_path"]) == demo_path.parent / f"evidence_pack_{payload['pack_id']}.zip"
    )


def test_cli_guard_pack_unknown_run_is_exit_6(gait_inproc, tmp_path: Path) -> None:
    code, text = gait_inproc("guard", "pack", "--run", str(tmp_path / "nope.zip"), "--json")
    assert code == 6 and "runpack not found" in json.loads(text)["error"]


def test_render_pdf_adds_a_deterministic_summary(demo_path: Path, tmp_path: Path) -> None:
    import hashlib

    pack = read_source_run(demo_path)
    first = build_guard_pack(pack, GuardPackInputs(), case_id="INC-7", render_pdf=True)
    second = build_guard_pack(pack, GuardPackInputs(), case_id="INC-7", render_pdf=True)
    assert first.zip_bytes == second.zip_bytes
    members = _members(_write(tmp_path, first.zip_bytes))
    pdf = members["summary.pdf"]
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    assert b"(case_id: INC-7)" in pdf and b"CC8.1 Incident Evidence Integrity" in pdf
    # The cross-reference table points at every object, as PDF readers require.
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = pdf[xref_at:].split(b"trailer")[0].splitlines()[3:]
    for number, row in enumerate(table, start=1):
        offset = int(row.split()[0])
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    assert first.manifest["rendered_artifacts"] == [
        {"format": "pdf", "path": "summary.pdf", "sha256": hashlib.sha256(pdf).hexdigest()}
    ]
    assert "summary.pdf" not in [p["path"] for p in first.manifest["evidence_pointers"]]
    assert verify_guard_pack(_write(tmp_path, first.zip_bytes, "pdf.zip")).ok


def test_cli_render_pdf_counts_the_artifact(gait_inproc, demo_path: Path, tmp_path: Path) -> None:
    code, text = gait_inproc(
        "incident",
        "pack",
        "--from",
        str(demo_path),
        "--render-pdf",
        "--out",
        str(tmp_path / "i.zip"),
        "--json",
    )
    assert code == 0
    code, text = gait_inproc(
        "guard", "pack", str(demo_path), "--render-pdf", "--out", str(tmp_path / "g.zip"), "--json"
    )
    assert code == 0 and json.loads(text)["rendered_artifacts"] == 1
