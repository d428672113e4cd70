"""Issue 13 item 6: ``gait verify`` / ``guard verify`` / ``pack verify`` show bytes hashed on a TTY.

The line is delayed by ``Progress.AFTER`` (1 s); these tests lower it to 0 so a
few-MiB pack shows the line without making the suite slow.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.cli.term import Progress
from gait.packs.guard import GuardPackInputs, build_guard_pack
from gait.packs.source import read_source_run
from gait.packs.verify import verify_any_pack, verify_guard_pack
from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.verify import verify_runpack
from gait.runpack.zipread import open_zip

ESC = "\x1b["
BIG = 3 * (1 << 20) + 12345  # a few read chunks (about 1 MiB each)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def big_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "runpack_run_big.zip"
    intents = [{"intent_id": "intent_1", "tool_name": "tool.x", "args": {"n": 1}}]
    results = [{"intent_id": "intent_1", "status": "ok", "result": {"blob": "x" * BIG}}]
    record = record_runpack(
        {"run_id": "run_big", "created_at": "2026-02-05T00:00:00Z"}, intents, results
    )
    write_runpack(path, record)
    return path


@pytest.fixture(scope="module")
def guard_pack(big_pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = build_guard_pack(
        read_source_run(big_pack), GuardPackInputs(), producer_version="0.1.0"
    )
    path = tmp_path_factory.mktemp("guard") / "pack.zip"
    path.write_bytes(result.zip_bytes)
    return path


def _member_bytes(path: Path, skip: str) -> int:
    with open_zip(path, strict=False) as archive:
        return sum(e.size for e in archive.entries if e.name != skip)


def test_library_reports_bytes_hashed_up_to_the_total(big_pack: Path) -> None:
    calls: list[tuple[int, int]] = []
    report = verify_runpack(big_pack, progress=lambda done, total: calls.append((done, total)))
    total = _member_bytes(big_pack, "manifest.json")
    assert total > BIG
    assert len(calls) >= 4  # several chunks, not one call per member
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert {t for _, t in calls} == {total} and calls[-1][0] == total
    # the hook does not change the verdict or the report
    assert report.to_json() == verify_runpack(big_pack).to_json() and report.ok


def test_pack_verifiers_report_progress_too(guard_pack: Path) -> None:
    calls: list[tuple[int, int]] = []
    report = verify_guard_pack(guard_pack, progress=lambda d, t: calls.append((d, t)))
    assert report.ok and calls
    assert calls[-1] == (_member_bytes(guard_pack, "pack_manifest.json"),) * 2
    seen: list[int] = []
    again = verify_any_pack(guard_pack, progress=lambda d, t: seen.append(d))
    assert again.to_json() == verify_any_pack(guard_pack).to_json() and seen


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tty: bool, *args: str
) -> tuple[int, str, str]:
    """``(exit, stdout, stderr)`` in-process, stderr a fake terminal when ``tty``."""
    monkeypatch.setattr(Progress, "AFTER", 0.0)
    capsys.readouterr()
    err = FakeTTY()
    with monkeypatch.context() as patch:
        if tty:
            patch.setattr(sys, "stderr", err)
        code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, err.getvalue() if tty else captured.err


@pytest.mark.parametrize(
    ("command", "label"),
    [
        (("verify",), "verify hashing"),
        (("guard", "verify"), "guard verify hashing"),
        (("pack", "verify"), "pack verify hashing"),
    ],
)
def test_progress_line_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    big_pack: Path,
    guard_pack: Path,
    command: tuple[str, ...],
    label: str,
) -> None:
    target = str(big_pack if command == ("verify",) else guard_pack)
    code, out, err = _run(capsys, monkeypatch, True, *command, target)
    assert code == 0
    assert err.startswith(f"\r{ESC}K{label}: ") and " MiB" in err
    assert err.endswith(f"\r{ESC}K")  # erased before the result is printed
    # without a terminal: no progress, and the same stdout
    code2, out2, err2 = _run(capsys, monkeypatch, False, *command, target)
    assert (code2, out2, err2) == (0, out, "")
    # --json stdout is one JSON line either way
    _, json_tty, _ = _run(capsys, monkeypatch, True, *command, target, "--json")
    _, json_pipe, err_pipe = _run(capsys, monkeypatch, False, *command, target, "--json")
    assert json_tty == json_pipe and err_pipe == ""
    assert json.loads(json_tty)["ok"] is True and len(json_tty.splitlines()) == 1


def test_quick_verify_on_a_terminal_prints_nothing_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, big_pack: Path
) -> None:
    monkeypatch.setattr(Progress, "AFTER", 60.0)
    capsys.readouterr()
    err = FakeTTY()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["verify", str(big_pack)]) == 0
    assert err.getvalue() == ""


def test_real_terminal_shows_then_erases_the_line(big_pack: Path) -> None:
    """A subprocess on a pseudo-terminal (the click-free fast path of ``gait verify``)."""
    code = (
        "import sys; from gait.cli.term import Progress; Progress.AFTER = 0.0; "
        "from gait.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "verify", str(big_pack)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: no writer left
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert shown.startswith(f"\r{ESC}Kverify hashing: ") and shown.endswith(f"\r{ESC}K")
    assert proc.stdout.decode().startswith(f"verify ok: {big_pack}\n")
    assert ESC not in proc.stdout.decode()
