"""Packs as regress sources through the installed ``gait`` (issue 16 item 4)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from .cli_helpers import gait_json

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    gait_json("demo", cwd=tmp_path)
    return tmp_path


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members.update(change)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_bootstrap_from_a_run_pack(work: Path) -> None:
    built = gait_json("pack", "build", "--type", "run", "--from", "run_demo", "--out",
                      "runpack_pack.zip", cwd=work)  # fmt: skip
    assert built["ok"] is True
    out = gait_json("regress", "bootstrap", "--from", "runpack_pack.zip", cwd=work)
    assert out["status"] == "pass" and out["run_id"] == "run_demo"
    fixture = work / "fixtures" / "run_demo" / "runpack.zip"
    with zipfile.ZipFile(work / "runpack_pack.zip") as archive:
        assert fixture.read_bytes() == archive.read("source/runpack.zip")
    assert gait_json("verify", str(fixture), cwd=work)["ok"] is True


def test_bootstrap_from_a_call_pack(work: Path) -> None:
    call = {
        "name": "tool.read",
        "arguments": {"path": "/tmp/x"},
        "context": {"identity": "alice", "workspace": "/repo", "risk_class": "low",
                    "run_id": "run_call"},
    }  # fmt: skip
    (work / "call.json").write_text(json.dumps(call))
    gait_json(
        "mcp",
        "proxy",
        "--policy",
        str(POLICY),
        "--call",
        "call.json",
        "--pack-out",
        "callpack.zip",
        cwd=work,
        code=3,
    )  # fmt: skip (default_block)
    out = gait_json("regress", "bootstrap", "--from", "callpack.zip", cwd=work)
    assert out["status"] == "pass" and out["fixture_name"] == "run_call"
    init = gait_json("regress", "init", "--from", "callpack.zip", cwd=work)
    assert init["runpack_path"] == "fixtures/run_call/runpack.zip"


def test_job_pack_is_refused_with_the_reason(work: Path) -> None:
    gait_json("demo", "--durable", cwd=work)
    out = gait_json("regress", "init", "--from", "gait-out/pack_job_demo_durable.zip",
                    cwd=work, code=6)  # fmt: skip
    assert out["error"].startswith("pack type job does not contain a runpack source")
    assert not (work / "fixtures").exists()


def test_a_pack_that_does_not_verify_is_refused(work: Path) -> None:
    gait_json("pack", "build", "--type", "run", "--from", "run_demo", "--out", "p.zip",
              cwd=work)  # fmt: skip
    with zipfile.ZipFile(work / "p.zip") as archive:
        payload = json.loads(archive.read("run_payload.json"))
    payload["intents_count"] = 99  # the embedded runpack is intact: only the pack lies
    _rezip(work / "p.zip", work / "bad.zip",
           {"run_payload.json": json.dumps(payload).encode()})  # fmt: skip
    out = gait_json("regress", "bootstrap", "--from", "bad.zip", cwd=work, code=6)
    assert out["error"].startswith("source pack failed verification")
    assert "run_payload.json" in out["error"]
    assert not (work / "fixtures").exists()
    # a swapped embedded runpack is caught too
    other = (work / "gait-out" / "runpack_run_demo.zip").read_bytes()[:-1] + b"\x00"
    _rezip(work / "p.zip", work / "swap.zip", {"source/runpack.zip": other})
    out = gait_json("regress", "init", "--from", "swap.zip", cwd=work, code=6)
    assert "source/runpack.zip" in out["error"]
