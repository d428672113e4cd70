"""``gait job resume --identity-revocations``: a revoked job identity never resumes.

A revocation file that does not read as the documented forms is an input error,
not an empty list, and naming another identity with ``--identity`` does not hide
that the job's own identity is revoked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inproc import run_cli


@pytest.fixture()
def paused_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAIT_WARM", "0")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "jobs"
    assert run_cli("job", "submit", "--id", "j", "--identity", "alice", "--root", str(root))[0] == 0
    assert run_cli("job", "pause", "--id", "j", "--root", str(root))[0] == 0
    return root


def _resume(root: Path, revocations: Path, *extra: str) -> tuple[int, dict]:
    code, out = run_cli(
        "job", "resume", "--id", "j", "--root", str(root),
        "--identity-revocations", str(revocations), "--json", *extra,
    )  # fmt: skip
    return code, json.loads(out)


def _status(root: Path) -> str:
    code, out = run_cli("job", "status", "--id", "j", "--root", str(root), "--json")
    assert code == 0
    return json.loads(out)["job"]["status"]


@pytest.mark.parametrize(
    "text",
    ['["alice"]', '{"revoked_identities": ["alice"]}', '{"identities": ["alice"]}', "# x\nalice\n"],
)
def test_revoked_identity_is_refused(paused_job: Path, tmp_path: Path, text: str) -> None:
    path = tmp_path / "rev"
    path.write_text(text)
    code, payload = _resume(paused_job, path)
    assert code == 6 and payload["ok"] is False
    assert "identity is revoked" in payload["error"]
    assert _status(paused_job) == "paused"


def test_another_identity_does_not_hide_the_jobs_own(paused_job: Path, tmp_path: Path) -> None:
    path = tmp_path / "rev.json"
    path.write_text('["alice"]')
    code, payload = _resume(paused_job, path, "--identity", "bob")
    assert code == 6 and "identity is revoked" in payload["error"]
    assert _status(paused_job) == "paused"


@pytest.mark.parametrize(
    "text",
    [
        '["alice",',  # truncated JSON
        '{"revoked_identities": "alice"}',  # not a list
        '{"revoked": ["alice"]}',  # neither documented key
        '["alice", 7]',  # not all strings
    ],
)
def test_unreadable_revocations_are_an_input_error(
    paused_job: Path, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "rev.json"
    path.write_text(text)
    code, payload = _resume(paused_job, path)
    assert code == 6 and payload["ok"] is False
    assert "identity revocations" in payload["error"]
    assert _status(paused_job) == "paused"


def test_not_revoked_resumes(paused_job: Path, tmp_path: Path) -> None:
    path = tmp_path / "rev.json"
    path.write_text('{"revoked_identities": ["mallory"]}')
    code, payload = _resume(paused_job, path)
    assert code == 0 and payload["job"]["status"] == "running"
