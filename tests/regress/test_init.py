"""``regress init`` (regress.md §2): fixtures from runpacks, idempotence, refusals."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.regress.config import read_config, read_fixture_meta
from gait.regress.init import init_fixture


def test_init_from_run_id_writes_fixture_and_config(
    tmp_path: Path, demo_pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_pack(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = init_fixture("run_demo")
    assert result.to_json() == {
        "ok": True,
        "run_id": "run_demo",
        "fixture_name": "run_demo",
        "fixture_dir": "fixtures/run_demo",
        "runpack_path": "fixtures/run_demo/runpack.zip",
        "config_path": "gait.yaml",
        "next_commands": ["gait regress run --json"],
    }
    assert result.text_lines() == [
        "regress init ok: fixture=run_demo run_id=run_demo",
        "config: gait.yaml",
        "runpack: fixtures/run_demo/runpack.zip",
        "next: gait regress run --json",
    ]
    copied = tmp_path / "fixtures" / "run_demo" / "runpack.zip"
    assert copied.read_bytes() == (tmp_path / "gait-out" / "runpack_run_demo.zip").read_bytes()
    meta = json.loads((tmp_path / "fixtures" / "run_demo" / "fixture.json").read_text())
    assert meta == {
        "schema_id": "gait.regress.fixture",
        "schema_version": "1.0.0",
        "name": "run_demo",
        "run_id": "run_demo",
        "runpack": "runpack.zip",
        "expected_replay_exit_code": 0,
        "expected_tool_sequence": ["tool.search", "tool.fetch", "tool.summarize"],
        "expected_verdict_sequence": ["allow", "allow", "allow"],
    }
    config = read_config(tmp_path / "gait.yaml")
    assert [(f.name, f.run_id, f.runpack) for f in config.fixtures] == [
        ("run_demo", "run_demo", "fixtures/run_demo/runpack.zip")
    ]


def test_init_extends_the_config_with_more_fixtures(tmp_path: Path, make_pack) -> None:
    make_pack(tmp_path / "a.zip", "run_A!", [("tool.a", "allow")])
    make_pack(tmp_path / "b.zip", "run_b", [("tool.b", "block")])
    init_fixture(str(tmp_path / "b.zip"), workdir=tmp_path)
    first = init_fixture(str(tmp_path / "a.zip"), workdir=tmp_path)
    assert first.fixture_name == "run_a"
    assert first.fixture_dir == (tmp_path / "fixtures" / "run_a").as_posix()
    names = [f.name for f in read_config(tmp_path / "gait.yaml").fixtures]
    assert names == ["run_a", "run_b"]
    meta = read_fixture_meta(tmp_path / "fixtures" / "run_b" / "fixture.json")
    assert meta.expected_verdict_sequence == ["block"]


def test_reinit_with_same_bytes_is_idempotent_and_keeps_hand_edits(
    tmp_path: Path, demo_pack
) -> None:
    demo_pack(tmp_path)
    init_fixture("run_demo", workdir=tmp_path)
    meta_path = tmp_path / "fixtures" / "run_demo" / "fixture.json"
    doc = json.loads(meta_path.read_text())
    doc["diff_allow_changed_files"] = ["refs.json"]
    doc["candidate_runpack"] = "candidate.zip"
    meta_path.write_text(json.dumps(doc))
    again = init_fixture("run_demo", workdir=tmp_path)
    assert not again.replaced
    kept = read_fixture_meta(meta_path)
    assert kept.diff_allow_changed_files == ["refs.json"]
    assert kept.candidate_runpack == "candidate.zip"


def test_a_different_runpack_never_silently_replaces_a_fixture(tmp_path: Path, make_pack) -> None:
    make_pack(tmp_path / "one.zip", "run_x", [("tool.a", "allow")])
    make_pack(tmp_path / "two.zip", "run_x", [("tool.b", "allow")])
    init_fixture(str(tmp_path / "one.zip"), workdir=tmp_path)
    stored = (tmp_path / "fixtures" / "run_x" / "runpack.zip").read_bytes()
    with pytest.raises(InvalidInput, match="already exists with a different runpack"):
        init_fixture(str(tmp_path / "two.zip"), workdir=tmp_path)
    assert (tmp_path / "fixtures" / "run_x" / "runpack.zip").read_bytes() == stored
    replaced = init_fixture(str(tmp_path / "two.zip"), workdir=tmp_path, force=True)
    assert replaced.replaced
    meta = read_fixture_meta(tmp_path / "fixtures" / "run_x" / "fixture.json")
    assert meta.expected_tool_sequence == ["tool.b"]
    other = init_fixture(str(tmp_path / "one.zip"), workdir=tmp_path, name="run_x_old")
    assert other.fixture_name == "run_x_old"


def test_context_set_digest_makes_conformance_required(tmp_path: Path) -> None:
    from gait.runpack.model import Refs, Run
    from gait.runpack.record import record_runpack, write_runpack

    digest = "AB" * 32
    pack = record_runpack(
        Run(run_id="run_ctx", created_at="2026-01-01T00:00:00Z"),
        refs=Refs(context_set_digest=digest),
    )
    write_runpack(tmp_path / "ctx.zip", pack)
    init_fixture(str(tmp_path / "ctx.zip"), workdir=tmp_path)
    meta = read_fixture_meta(tmp_path / "fixtures" / "run_ctx" / "fixture.json")
    assert meta.context_conformance == "required"
    assert meta.expected_context_set_digest == digest.lower()
    assert meta.expected_tool_sequence == [] and meta.expected_verdict_sequence == []


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ("run_nope", {}, "runpack not found for run_id: run_nope"),
        ("missing/pack.zip", {}, "runpack not found: missing/pack.zip"),
        ("", {}, "missing required --from"),
        ("chain.json", {}, "not a session chain file: chain.json"),
        ("GOOD", {"name": "Bad Name"}, "invalid fixture name: Bad Name"),
        ("GOOD", {"checkpoint": "latest"}, "only to session chain sources"),
        ("GOOD", {"policy": "nope.yaml"}, "nope.yaml"),
    ],
)
def test_init_errors_are_invalid_input(
    tmp_path: Path, make_pack, source: str, kwargs: dict, message: str
) -> None:
    if source == "GOOD":
        source = str(make_pack(tmp_path / "good.zip", "run_good", [("t", "allow")]))
    with pytest.raises(InvalidInput, match=message):
        init_fixture(source, workdir=tmp_path, **kwargs)
    assert not (tmp_path / "gait.yaml").exists()


def _rewrite_member(src: Path, dst: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = data if info.filename == member else zin.read(info.filename)
            zout.writestr(info, body)


def test_damaged_source_fails_integrity_checks(tmp_path: Path, demo_pack) -> None:
    good = demo_pack(tmp_path)
    bad = tmp_path / "bad.zip"
    _rewrite_member(good, bad, "run.json", b'{"run_id":"run_demo","tampered":true}')
    with pytest.raises(InvalidInput, match="source runpack failed integrity checks"):
        init_fixture(str(bad), workdir=tmp_path)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(InvalidInput, match="verify source runpack"):
        init_fixture(str(tmp_path / "junk.zip"), workdir=tmp_path)


def test_policy_and_context_are_recorded_in_the_fixture(tmp_path: Path, make_pack) -> None:
    (tmp_path / "p.yaml").write_text(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n",
        encoding="utf-8",
    )
    make_pack(tmp_path / "x.zip", "run_x", [("t", "allow")])
    result = init_fixture(
        str(tmp_path / "x.zip"),
        workdir=tmp_path,
        policy="p.yaml",
        policy_context={"identity": "i", "workspace": "/", "risk_class": "high"},
    )
    assert result.to_json()["policy"] == "p.yaml"
    meta = read_fixture_meta(tmp_path / "fixtures" / "run_x" / "fixture.json")
    assert meta.policy == "p.yaml"
    assert meta.policy_context == {"identity": "i", "workspace": "/", "risk_class": "high"}
