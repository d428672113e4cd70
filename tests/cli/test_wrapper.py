"""``gait test|enforce|trace -- <cmd>``: run a real child, read the traces it reports."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gait.gate.wrapper import enforce_exit_code, extract_key_value_paths, unique_sorted
from gait.signing import KeyPair, write_public_key
from gait.trace import build_trace_record, sign_trace, write_trace

from .conftest import run, run_json

PY = sys.executable


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixed_key: KeyPair) -> None:
    monkeypatch.chdir(tmp_path)
    # no per-user dev key: only the key passed with --public-key verifies anything
    monkeypatch.setenv("GAIT_STATE_DIR", str(tmp_path / "state"))
    write_public_key(tmp_path / "pub.key", fixed_key)


def _trace(path: Path | str, verdict: str, key: KeyPair | None, tool: str = "fs.write") -> Path:
    record = build_trace_record(
        policy_digest="a" * 64,
        intent_digest="b" * 64,
        args_digest="c" * 64,
        tool_name=tool,
        verdict=verdict,
    )
    signed = sign_trace(record, key) if key is not None else record
    write_trace(path, signed)
    return Path(path)


def _child(*lines: str, exit_code: int = 0, to_stderr: tuple[str, ...] = ()) -> list[str]:
    """A child that prints ``lines`` (stdout), ``to_stderr`` and its wrapper mode, then exits."""
    code = (
        "import os, sys\n"
        f"for line in {list(lines)!r}: print(line)\n"
        f"for line in {list(to_stderr)!r}: print(line, file=sys.stderr)\n"
        "print('mode=' + os.environ.get('GAIT_WRAPPER_MODE', ''), file=sys.stderr)\n"
        f"sys.exit({exit_code})\n"
    )
    return [PY, "-c", code]


def _json(capsys: pytest.CaptureFixture[str], mode: str, *argv: str) -> tuple[int, dict[str, Any]]:
    """``--json`` goes before the child's words (``run_json`` would hand it to the child)."""
    code, out, _ = run(capsys, mode, "--json", *argv)
    lines = out.splitlines()
    assert len(lines) == 1, out
    return code, json.loads(lines[0])


def _wrap(capsys: pytest.CaptureFixture[str], mode: str, *argv: str) -> tuple[int, dict[str, Any]]:
    return _json(capsys, mode, "--public-key", "pub.key", *argv)


def test_test_mode_counts_a_verified_trace_and_reports_the_child(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("t1.json", "allow", fixed_key)
    code, out = _wrap(capsys, "test", "--", *_child("trace_path=t1.json"))
    assert code == 0
    assert out["ok"] is True
    assert out["mode"] == "test"
    assert out["boundary_contract"] == "explicit_trace_reference"
    assert out["trace_reference_required"] is True
    assert out["trace_paths"] == ["t1.json"]
    assert out["verdict_counts"] == [{"count": 1, "verdict": "allow"}]
    assert out["stdout"] == "trace_path=t1.json\n"
    assert out["stderr"] == "mode=test\n"
    assert out["cwd"] == "."
    assert out["command"][0] == PY
    # zero / false / empty fields are left out
    for absent in ("child_exit_code", "timed_out", "warnings", "error", "failure_reason"):
        assert absent not in out


def test_text_output_lines(capsys: pytest.CaptureFixture[str], fixed_key: KeyPair) -> None:
    _trace("t1.json", "block", fixed_key)
    child = _child("trace_path=t1.json")
    code, text, _ = run(capsys, "test", "--public-key", "pub.key", "--", *child)
    assert (code, text) == (0, "test ok: child_exit=0 traces=1\n")
    code, text, _ = run(capsys, "enforce", "--public-key", "pub.key", "--", *child)
    assert (code, text) == (3, "enforce finished: child_exit=0 traces=1\n")
    code, text, err = run(capsys, "enforce", "--public-key", "pub.key", "--", *_child())
    assert code == 6 and text == ""
    assert "enforce error: child command did not emit a Gait trace reference" in err


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (["allow"], 0),
        (["block"], 3),
        (["dry_run"], 3),
        (["require_approval"], 4),
        (["allow", "require_approval"], 4),
        (["require_approval", "block"], 3),
    ],
)
def test_enforce_turns_verdicts_into_exit_codes(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair, verdicts: list[str], expected: int
) -> None:
    lines = []
    for i, verdict in enumerate(verdicts):
        _trace(f"t{i}.json", verdict, fixed_key)
        lines.append(f"trace_path=t{i}.json")
    code, out = _wrap(capsys, "enforce", "--", *_child(*lines))
    assert code == expected
    assert out["ok"] is (expected == 0)
    assert "error" not in out
    assert sorted(c["verdict"] for c in out["verdict_counts"]) == sorted(set(verdicts))
    # verdicts are listed in a fixed order
    order = ["allow", "block", "dry_run", "require_approval"]
    listed = [c["verdict"] for c in out["verdict_counts"]]
    assert listed == [v for v in order if v in listed]


def test_test_and_trace_modes_keep_the_verdicts_out_of_the_exit_code(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("t.json", "block", fixed_key)
    for mode in ("test", "trace"):
        code, out = _wrap(capsys, mode, "--", *_child("trace_path=t.json"))
        assert code == 0, mode
        assert out["mode"] == mode
        assert out["verdict_counts"] == [{"count": 1, "verdict": "block"}]
        assert out["stderr"] == f"mode={mode}\n"


def test_child_exit_code_is_passed_through(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("t.json", "block", fixed_key)
    for mode in ("test", "enforce", "trace"):
        code, out = _wrap(capsys, mode, "--", *_child("trace_path=t.json", exit_code=7))
        assert code == 7, mode
        assert out["ok"] is False
        assert out["child_exit_code"] == 7
        assert "error" not in out


def test_missing_trace_reference_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("test", "enforce", "trace"):
        code, out = _wrap(capsys, mode, "--", *_child("hello", exit_code=0))
        assert code == 6, mode
        assert out["failure_reason"] == "missing_trace_reference"
        assert out["error"].startswith("child command did not emit a Gait trace reference")
        assert out["stdout"] == "hello\n"


@pytest.mark.parametrize("problem", ["tampered", "unsigned", "not_json", "missing", "bad_digest"])
def test_a_trace_that_does_not_verify_fails_enforce_closed(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair, problem: str
) -> None:
    path = Path("bad.json")
    if problem == "tampered":
        _trace(path, "block", fixed_key)
        data = json.loads(path.read_text())
        data["verdict"] = "allow"  # the signature no longer covers what the file says
        path.write_text(json.dumps(data))
    elif problem == "unsigned":
        _trace(path, "allow", None)
    elif problem == "not_json":
        path.write_text("{not json")
    elif problem == "bad_digest":
        _trace(path, "allow", fixed_key)
        data = json.loads(path.read_text())
        data["args_digest"] = "XYZ"
        path.write_text(json.dumps(data))
    child = _child("trace_path=bad.json")
    code, out = _wrap(capsys, "enforce", "--", *child)
    assert code == 3
    assert out["failure_reason"] == "invalid_trace_artifact"
    assert "verdict_counts" not in out
    assert len(out["warnings"]) == 1 and out["warnings"][0].startswith("trace ignored: bad.json")
    # observe mode reports the same trace as ignored and keeps the child's exit code
    code, out = _wrap(capsys, "test", "--", *child)
    assert code == 0
    assert "verdict_counts" not in out and len(out["warnings"]) == 1


def test_a_trace_signed_with_another_key_does_not_count(
    capsys: pytest.CaptureFixture[str], other_key: KeyPair
) -> None:
    _trace("t.json", "allow", other_key)
    code, out = _wrap(capsys, "enforce", "--", *_child("trace_path=t.json"))
    assert code == 3
    assert "signature" in out["warnings"][0]


def test_without_any_key_signed_traces_are_not_counted(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("t.json", "allow", fixed_key)
    code, out = _json(capsys, "enforce", "--", *_child("trace_path=t.json"))
    assert code == 3
    assert "no public key configured" in out["warnings"][0]


def test_public_key_env_is_accepted(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gait.signing import encode_public_key

    monkeypatch.setenv("WRAP_PUB", encode_public_key(fixed_key))
    _trace("t.json", "require_approval", fixed_key)
    child = _child("trace_path=t.json")
    code, out = _json(capsys, "enforce", "--public-key-env", "WRAP_PUB", "--", *child)
    assert code == 4 and out["verdict_counts"] == [{"count": 1, "verdict": "require_approval"}]
    code, out = _json(capsys, "enforce", "--public-key", "nope.key", "--", *child)
    assert code == 6 and "error" in out


def test_references_are_read_from_both_streams_deduplicated_and_sorted(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("b.json", "allow", fixed_key)
    _trace("a.json", "allow", fixed_key)
    child = _child(
        "noise trace_path=ignored.json",
        "  trace_path=b.json  ",
        "runpack_path=gait-out/r.zip",
        "trace_path=",
        to_stderr=("trace_path=a.json", "trace_path=b.json"),
    )
    code, out = _wrap(capsys, "test", "--", *child)
    assert code == 0
    assert out["trace_paths"] == ["a.json", "b.json"]
    assert out["runpack_paths"] == ["gait-out/r.zip"]
    assert out["verdict_counts"] == [{"count": 2, "verdict": "allow"}]


def test_cwd_runs_the_child_there_and_resolves_its_relative_trace_paths(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair, tmp_path: Path
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    _trace(sub / "t.json", "dry_run", fixed_key)
    probe = "import os; print('trace_path=t.json'); print('cwd=' + os.getcwd())"
    code, out = _json(
        capsys,
        "trace",
        "--cwd",
        "sub",
        "--timeout",
        "5s",
        "--public-key",
        "pub.key",
        "--",
        PY,
        "-c",
        probe,
    )
    assert code == 0
    assert out["cwd"] == "sub"
    assert f"cwd={sub}" in out["stdout"]
    assert out["verdict_counts"] == [{"count": 1, "verdict": "dry_run"}]


def test_flags_may_follow_the_child_words_before_the_separator(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair, tmp_path: Path
) -> None:
    script = tmp_path / "agent.py"
    script.write_text("print('trace_path=t.json')\n")
    _trace("t.json", "block", fixed_key)
    code, text, _ = run(capsys, "enforce", PY, str(script), "--public-key", "pub.key", "--json")
    out = json.loads(text)
    assert code == 3
    assert out["command"] == [PY, str(script)]


def test_timeout_kills_the_whole_process_group(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code_text = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "print('trace_path=t.json', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    code, out = _wrap(capsys, "test", "--timeout", "500ms", "--", PY, "-c", code_text)
    assert time.monotonic() - started < 20
    assert code == 1
    assert out["timed_out"] is True
    assert out["failure_reason"] == "child_timed_out"
    assert out["error"] == "child command timed out after 500ms"
    assert out["trace_paths"] == ["t.json"]  # output before the kill is kept
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        # reaped by init once dead; a zombie still answers kill(0) briefly
        time.sleep(0.05)
    else:
        os.kill(grandchild, signal.SIGKILL)
        pytest.fail("the grandchild outlived the timeout")


def test_child_that_cannot_start_is_an_internal_failure(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _wrap(capsys, "enforce", "--", "gait-no-such-program-xyz")
    assert code == 1
    assert out["failure_reason"] == "child_start_failed"
    assert "gait-no-such-program-xyz" in out["error"]
    code, out = _wrap(capsys, "test", "--cwd", "no/such/dir", "--", PY, "-c", "pass")
    assert code == 1
    assert out["failure_reason"] == "child_start_failed"
    assert "no/such/dir" in out["error"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "expected child command after --"),
        (["--"], "expected child command after --"),
        (["--timeout", "soon", "--", "true"], 'parse --timeout: time: invalid duration "soon"'),
        (["--timeout", "0s", "--", "true"], "--timeout must be > 0"),
        (["--timeout", "-1s", "--", "true"], "--timeout must be > 0"),
        (["--bogus", "--", "true"], "flag provided but not defined: -bogus"),
        (["--cwd"], "flag needs an argument: -cwd"),
    ],
)
def test_usage_errors_exit_6_with_the_wrapper_fields(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    for mode in ("test", "enforce"):
        code, out = _json(capsys, mode, *argv)
        assert code == 6
        assert out["error"] == message
        assert out["mode"] == mode
        assert out["boundary_contract"] == "explicit_trace_reference"
        assert out["trace_reference_required"] is True


def test_trace_group_keeps_verify_and_gains_the_wrapper(
    capsys: pytest.CaptureFixture[str], fixed_key: KeyPair
) -> None:
    _trace("t.json", "allow", fixed_key)
    code, out = run_json(capsys, "trace", "verify", "t.json", "--public-key", "pub.key")
    assert code == 0 and out["signature_status"] == "verified"
    code, text, _ = run(
        capsys, "trace", "--public-key", "pub.key", "--", *_child("trace_path=t.json")
    )
    assert (code, text) == (0, "trace ok: child_exit=0 traces=1\n")
    code, text, _ = run(capsys, "trace", "--help")
    assert code == 0 and "verify" in text and "-- COMMAND" in text
    code, text, _ = run(capsys, "trace", "--explain")
    assert code == 0 and "observe-only" in text


def test_explain_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "enforce", "--explain")
    assert code == 0 and "enforce mode" in text
    code, text, _ = run(capsys, "test", "--help")
    assert code == 0 and text.startswith("Usage: gait test [OPTIONS] -- COMMAND")
    assert "--timeout" in text and "trace_path=" in text
    # after the separator, --help belongs to the child
    code, out = _wrap(capsys, "test", "--", PY, "-c", "import sys; print(sys.argv)", "--help")
    assert code == 6 and "--help" in out["stdout"]


def test_key_value_extraction() -> None:
    out = "x\n trace_path= a.json \ntrace_path=\nruntrace_path=z\n"
    assert extract_key_value_paths(out, "trace_path=b", "trace_path") == ["a.json", "b"]
    assert unique_sorted(["b", " a ", "b", ""]) == ["a", "b"]


VERDICTS = st.sampled_from(["allow", "block", "dry_run", "require_approval"])


@given(st.dictionaries(VERDICTS, st.integers(min_value=0, max_value=3)))
def test_enforce_exit_code_is_the_most_severe_verdict(counts: dict[str, int]) -> None:
    listed = [{"verdict": v, "count": n} for v, n in counts.items()]
    present = {v for v, n in counts.items() if n}
    expected = 3 if present & {"block", "dry_run"} else 4 if "require_approval" in present else 0
    assert enforce_exit_code(listed) == expected


def test_go_style_help_and_json_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    for spelling in ("-help", "-h", "--help"):
        code, text, _ = run(capsys, "enforce", spelling)
        assert code == 0 and text.startswith("Usage: gait enforce"), spelling
    code, text, err = run(capsys, "test", "-json=True", "--", PY, "-c", "pass")
    assert code == 6
    assert json.loads(text)["failure_reason"] == "missing_trace_reference"
    assert err == ""  # with --json the error is only in the object
