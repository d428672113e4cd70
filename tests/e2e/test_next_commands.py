"""Every command gait suggests (next=, next_commands, next_command, branch hints, fix commands)
is a command that exists and accepts the flags it is suggested with."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from gait.runpack.demo import build_demo_runpack
from tests.inproc import run_cli as _cli

PKG = Path(__file__).resolve().parents[2] / "gait"


def _suggestions(payload: dict) -> list[str]:
    found: list[str] = []
    for key in ("next_commands", "branch_hints", "fix_commands"):
        found += [c for c in payload.get(key) or [] if c.startswith("gait ")]
    if isinstance(payload.get("next_command"), str) and payload["next_command"]:
        found.append(payload["next_command"])
    return found


def _text_suggestions(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        for prefix, sep in (("next=", ","), ("next: ", " | "), ("branch_hints=", ",")):
            if line.startswith(prefix):
                body = line[len(prefix) :]
                if " | " in body:  # tour joins its lists with " | " (as the reference)
                    sep = " | "
                found += [c.strip() for c in body.split(sep) if c.strip().startswith("gait ")]
    return found


def _check_exists(command: str) -> None:
    """Parse the suggestion exactly as a user would type it, but ask for --help."""
    argv = shlex.split(command)
    assert argv[0] == "gait", command
    code, out = _cli(*argv[1:], "--help")
    assert code == 0 and "Usage:" in out, f"suggested command does not parse: {command!r}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_every_printed_suggestion_exists(project: Path) -> None:
    runs = [
        ("demo",),
        ("demo", "--policy"),
        ("demo", "--durable"),
        ("verify", "run_demo"),
        ("regress", "init", "--from", "run_demo"),
        ("regress", "run"),
        ("policy", "init", "baseline-highrisk", "--out", "p.yaml"),
        ("capture", "--from", "run_demo"),
        ("doctor",),
        ("doctor", "--production-readiness"),
        ("tour",),
    ]
    suggestions: set[str] = set()
    for args in runs:
        code, text = _cli(*args, "--json")
        # only production readiness fails here: a demo project has no production keys
        assert code == (2 if "--production-readiness" in args else 0), (args, text)
        suggestions.update(_suggestions(json.loads(text)))
        code, text = _cli(*args)
        suggestions.update(_text_suggestions(text))
    # A failing regress run prints next_command too.
    fixture = project / "fixtures" / "run_demo" / "fixture.json"
    meta = json.loads(fixture.read_text())
    meta["expected_tool_sequence"] = ["tool.other"]
    fixture.write_text(json.dumps(meta))
    code, text = _cli("regress", "run", "--json")
    assert code == 5
    suggestions.update(_suggestions(json.loads(text)))
    assert "gait regress run --json" in suggestions and "gait demo --durable" in suggestions
    for command in sorted(s for s in suggestions if "<" not in s):
        _check_exists(command)


_GAIT_CMD = re.compile(r"(?:^|`)gait((?: [a-z][a-z-]*)+)")


def _command_paths() -> set[tuple[str, ...]]:
    """Command paths named in string literals anywhere in the library (``gait x y``)."""
    paths = set()
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in _GAIT_CMD.finditer(node.value):
                    words = tuple(match.group(1).split())
                    if words:
                        paths.add(words)
    return paths


def _resolves(words: tuple[str, ...]) -> bool:
    """True if the leading words name a command (group words are followed down the tree)."""
    import click

    from gait.cli.main import build_root

    cmd: click.Command = build_root()
    ctx = click.Context(cmd)
    for word in words:
        if not isinstance(cmd, click.Group):
            return True  # the rest are arguments of a leaf command
        sub = cmd.get_command(ctx, word)
        if sub is None:
            return False
        cmd = sub
    return True


# Messages that start with the word "gait" but name no command.
PROSE = {"decides", "service", "gait", "warning"}  # "gait warning: ..." (telemetry)
# "gait binary ready ..." (doctor); "gait mcp-verify": a legacy name, refused with its new one
PROSE |= {"binary", "mcp-verify"}


def test_every_command_named_in_the_code_exists() -> None:
    paths = _command_paths()
    # the walker must find real command names, or "missing == []" below proves nothing
    assert ("doctor",) in paths
    missing = sorted(
        " ".join(words) for words in paths if words[0] not in PROSE and not _resolves(words[:3])
    )
    assert missing == []


def test_walker_rejects_a_command_that_does_not_exist() -> None:
    assert not _resolves(("demo-durable",))
    assert _resolves(("run", "session", "start"))
    with pytest.raises(AssertionError):
        _check_exists("gait pack build --no-such-flag")


def test_demo_runpack_fixture_is_the_demo() -> None:
    assert build_demo_runpack("0.1.0").run_id == "run_demo"
