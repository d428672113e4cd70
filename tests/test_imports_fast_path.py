"""The click-free path of hot commands prints and exits exactly as the click command does.

Each argv runs twice in process, once through ``gait.cli.fast`` and once through
click, and stdout, stderr and the exit code must be identical. Spellings the
fast path does not take (help, unknown options, directories) must fall back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gait.cli import fast
from gait.cli.main import _run, _run_click
from gait.cli.outcome import wants_json
from gait.signing.keyfiles import init_key_files

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
INTENTS = REPO / "examples" / "policy" / "intents"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed trace, its key pair, and a broken trace."""
    from gait.cli.main import main

    root = tmp_path_factory.mktemp("fast")
    init_key_files(str(root), "k")
    code = main(
        [
            "gate",
            "eval",
            "--policy",
            str(POLICY),
            "--intent",
            str(INTENTS / "intent_read.json"),
            "--key-mode",
            "prod",
            "--private-key",
            str(root / "k_private.key"),
            "--trace-out",
            str(root / "trace.json"),
            "--json",
        ]
    )
    assert code in (0, 3, 4)
    text = (root / "trace.json").read_text()
    tampered = text.replace('"tool_name": "', '"tool_name": "x', 1)
    assert tampered != text
    (root / "tampered.json").write_text(tampered)
    (root / "garbage.json").write_text("{not json")
    subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "demo"],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=True,
    )
    pack = root / "gait-out" / "runpack_run_demo.zip"
    data = bytearray(pack.read_bytes())
    data[len(data) // 3] ^= 0x01
    (root / "flipped.zip").write_bytes(bytes(data))
    shutil.copy(INTENTS / "intent_delete.json", root / "intent.json")
    return root


def hot_argvs(work: Path) -> list[list[str]]:
    p = str(POLICY)
    out: list[list[str]] = []
    for intent in sorted(INTENTS.glob("*.json")):
        out.append(["policy", "test", p, str(intent)])
        out.append(["policy", "test", p, str(intent), "--json"])
    out += [
        ["policy", "test", p, str(work / "intent.json"), "--why"],
        ["policy", "test", p, str(work / "intent.json"), "-json", "-why"],
        ["policy", "test", p, str(work / "garbage.json"), "--json"],
        ["policy", "test", p, str(work / "missing.json")],
        ["policy", "test", str(work / "garbage.json"), str(work / "intent.json"), "--json"],
    ]
    trace, pub = str(work / "trace.json"), str(work / "k_public.key")
    out += [
        ["trace", "verify", trace, "--public-key", pub],
        ["trace", "verify", trace, "--public-key", pub, "--json"],
        ["trace", "verify", "--path", trace, f"--public-key={pub}", "--json"],
        ["trace", "verify", trace, "-public-key", pub, "-json"],
        ["trace", "verify", trace, "--private-key", str(work / "k_private.key"), "--json"],
        ["trace", "verify", str(work / "tampered.json"), "--public-key", pub, "--json"],
        ["trace", "verify", str(work / "garbage.json"), "--public-key", pub, "--json"],
        ["trace", "verify", trace, "--json"],
        ["trace", "verify", "--json"],
        ["trace", "verify", trace, trace, "--public-key", pub],
    ]
    pack = str(work / "gait-out" / "runpack_run_demo.zip")
    out += [
        ["verify", pack],
        ["verify", pack, "--json"],
        ["verify", pack, "--require-signature", "--json"],
        ["verify", pack, "--profile", "strict", "--json"],
        ["verify", pack, "--profile=bogus"],
        ["verify", pack, "-public-key", pub, "-json"],
        ["verify", str(work / "flipped.zip"), "--json"],
        ["verify", str(work / "flipped.zip")],
        ["verify", str(work / "garbage.json"), "--json"],
        ["verify", "run_that_does_not_exist", "--json"],
    ]
    out += [["version"], ["version", "--json"], ["version", "-json"]]
    return out


def gate_argvs(work: Path) -> list[list[str]]:
    p, key = str(POLICY), str(work / "k_private.key")
    prod = ["--key-mode", "prod", "--private-key", key]
    out: list[list[str]] = []
    for intent in sorted(INTENTS.glob("*.json")):
        out.append(["gate", "eval", "--policy", p, "--intent", str(intent), *prod, "--json"])
        out.append(["gate", "eval", p, str(intent), *prod, "--trace-out", "t.json"])
    out += [
        ["gate", "eval", "--policy", p, "--intent", str(work / "intent.json"), "--json"],
        ["gate", "eval", f"--policy={p}", "-intent", str(work / "intent.json"), "-json"],
        ["gate", "eval", p, str(work / "intent.json"), *prod, "--why"],
        ["gate", "eval", p, str(work / "intent.json"), *prod, "--simulate", "--json"],
        ["gate", "eval", p, str(work / "intent.json"), "--profile", "oss-prod", "--json"],
        ["gate", "eval", p, str(work / "intent.json"), "--key-mode", "PROD", "--json"],
        ["gate", "eval", p, str(work / "intent.json"), "--no-config", "--state", "s.json"],
        ["gate", "eval", p, str(work / "intent.json"), "--config", "config.yaml", "--json"],
        ["gate", "eval", p, str(work / "intent.json"), "--state", "a", "--rate-limit-state", "b"],
        ["gate", "eval", p, str(work / "intent.json"), "--approval-token", "nope.json", *prod],
        ["gate", "eval", p, str(work / "intent.json"), "extra.json", "--json"],
        ["gate", "eval", p, str(work / "garbage.json"), *prod, "--json"],
        ["gate", "eval", p, str(work / "missing.json"), *prod],
        ["gate", "eval", "--policy", p, "--json"],
        ["gate", "eval"],
    ]
    return out


def test_fast_path_output_equals_click(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes = set()
    for argv in hot_argvs(work):
        code = fast.dispatch(argv)
        assert code is not None, argv
        got = capsys.readouterr()
        want_code = _run_click(argv, wants_json(argv))
        want = capsys.readouterr()
        assert (code, got.out, got.err) == (want_code, want.out, want.err), argv
        codes.add((argv[0], code))
    # allow, block, verified, verification failed and invalid input were all compared
    assert {("policy", 0), ("policy", 3), ("policy", 6)} <= codes
    assert {("trace", 0), ("trace", 2), ("trace", 6)} <= codes
    assert {("verify", 0), ("verify", 2), ("verify", 6)} <= codes
    assert ("version", 0) in codes


def test_gate_eval_fast_path_equals_click(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = set()
    for i, argv in enumerate(gate_argvs(work)):
        # each run in its own fresh directory: a second trace under the same name gets "_2"
        seen = []
        for way in ("fast", "click"):
            cwd = work / "gate" / f"{way}{i}"
            cwd.mkdir(parents=True)
            (cwd / "config.yaml").write_text("gate:\n  profile: [not, a, string]\n")
            monkeypatch.chdir(cwd)
            code = fast.dispatch(argv) if way == "fast" else _run_click(argv, wants_json(argv))
            assert code is not None, argv
            got = capsys.readouterr()
            # the same artifacts under the same names (the contents carry a timestamp)
            files = sorted(str(f.relative_to(cwd)) for f in cwd.rglob("*") if f.is_file())
            seen.append((code, got.out, got.err, files))
        assert seen[0] == seen[1], argv
        codes.add(seen[0][0])
    assert {0, 3, 4, 6} <= codes


def test_gate_eval_fast_options_are_the_click_options() -> None:
    from gait.cli.gate import group
    from gait.cli.gate_eval import FLAGS, PASSTHROUGH, VALUED

    cmd = group.commands["eval"]
    click_valued = {
        o.opts[0][2:]: o.default
        for o in cmd.params
        if o.param_type_name == "option" and not o.is_flag  # type: ignore[attr-defined]
    }
    click_flags = {
        o.opts[0][2:]
        for o in cmd.params
        if o.param_type_name == "option" and o.is_flag  # type: ignore[attr-defined]
    }
    assert click_valued == {**VALUED, **dict.fromkeys(PASSTHROUGH)}
    assert click_flags == {*FLAGS, "explain", "json"}


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "test", "--help"],
        ["policy", "test", "-h"],
        ["policy", "test", "--explain"],
        ["policy", "test", "a.yaml"],
        ["policy", "test", "a.yaml", "b.json", "c.json"],
        ["policy", "test", "a.yaml", "b.json", "--junit", "x.xml"],
        ["policy", "test", "a.yaml", "b.json", "--json=false"],
        ["policy", "test", "a.yaml", "b.json", "--bogus"],
        ["policy", "test", "a.yaml", "--", "b.json"],
        ["policy", "test", str(POLICY), str(INTENTS)],  # fixtures directory
        ["trace", "verify", "t.json", "--public-key"],
        ["trace", "verify", "t.json", "--public-key", "--json"],
        ["trace", "verify", "--help"],
        ["trace", "verify", "t.json", "--unknown", "x"],
        ["policy", "validate", "a.yaml"],
        ["verify"],
        ["verify", "a.zip", "b.zip"],
        ["verify", "chain", "--run", "x"],
        ["verify", "session-chain", "--chain", "c.json"],
        ["verify", "a.zip", "--trace", "t.json"],
        ["verify", "--help"],
        ["gate"],
        ["gate", "eval", "--help"],
        ["gate", "eval", "-h"],
        ["gate", "eval", "--explain"],
        ["gate", "eval", "a.yaml", "b.json", "--explain"],
        ["gate", "eval", "a.yaml", "b.json", "--json=false"],
        ["gate", "eval", "a.yaml", "b.json", "--bogus"],
        ["gate", "eval", "a.yaml", "b.json", "--trace-out"],
        ["gate", "eval", "--policy", "--intent", "b.json"],
        ["gate", "eval", "a.yaml", "--", "b.json"],
        ["gate", "evaluate", "a.yaml", "b.json"],
        ["version", "--help"],
        ["version", "--explain"],
        ["version", "extra"],
        ["version", "--json=false"],
    ],
)
def test_unusual_spellings_go_to_click(argv: list[str]) -> None:
    assert fast.dispatch(argv) is None


def test_shell_completion_requests_go_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_GAIT_COMPLETE", "bash_complete")
    assert fast.dispatch(["policy", "test", str(POLICY), str(INTENTS / "intent_read.json")]) is None


def test_main_uses_the_fast_path_and_click_for_the_rest(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["policy", "test", str(POLICY), str(work / "intent.json"), "--json"]
    assert _run(argv) == 3
    assert '"verdict":"block"' in capsys.readouterr().out
    assert _run(["policy", "test", "--bogus-flag"]) == 6
    assert "No such option" in capsys.readouterr().err
