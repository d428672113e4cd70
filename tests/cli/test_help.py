"""Issue 13 item 3: help that explains; positionals named; did-you-mean; completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest

from gait.cli.base import SECTION_ORDER, option_section
from gait.cli.main import build_root

from .conftest import REPO, run


def _commands() -> Iterator[tuple[str, click.Command, click.Context]]:
    root = build_root()

    def walk(
        cmd: click.Command, path: list[str], parent: click.Context | None
    ) -> Iterator[tuple[str, click.Command, click.Context]]:
        ctx = click.Context(cmd, info_name=path[-1] if path else "gait", parent=parent)
        yield " ".join(path), cmd, ctx
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, name
                yield from walk(sub, [*path, name], ctx)

    yield from walk(root, [], None)


COMMANDS = [(name, cmd, ctx) for name, cmd, ctx in _commands() if name]
LEAVES = [(n, c, x) for n, c, x in COMMANDS if not isinstance(c, click.Group)]


def test_there_are_many_commands() -> None:
    assert len(LEAVES) > 40


@pytest.mark.parametrize(("name", "cmd", "ctx"), LEAVES, ids=[n for n, _, _ in LEAVES])
def test_every_option_has_a_description(name: str, cmd: click.Command, ctx: click.Context) -> None:
    bare = [
        p.opts[0] for p in cmd.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert bare == [], f"gait {name}: options without help: {bare}"


@pytest.mark.parametrize(("name", "cmd", "ctx"), COMMANDS, ids=[n for n, _, _ in COMMANDS])
def test_help_renders_and_points_nowhere_outside_the_repository(
    name: str, cmd: click.Command, ctx: click.Context
) -> None:
    text = cmd.get_help(ctx)
    assert text.startswith(f"Usage: gait {name}")
    assert "§" not in text and "spec/" not in text
    assert not re.search(r"\b[a-z_]+\.md\b", text), text


@pytest.mark.parametrize(("name", "cmd", "ctx"), LEAVES, ids=[n for n, _, _ in LEAVES])
def test_usage_names_positionals(name: str, cmd: click.Command, ctx: click.Context) -> None:
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    assert "[ARGS]" not in usage and "[TARGETS]" not in usage, f"gait {name}: {usage}"


def test_named_positionals_of_the_main_commands() -> None:
    usages = {n: " ".join(c.collect_usage_pieces(x)) for n, c, x in LEAVES}
    assert usages["gate eval"] == "[OPTIONS] [POLICY] [INTENT]"
    assert usages["policy test"] == "[OPTIONS] POLICY INTENT"
    assert usages["policy fmt"] == "[OPTIONS] POLICY"


def test_gate_eval_help_is_grouped(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "gate", "eval", "--help")
    assert code == 0
    headings = [
        line[:-1] for line in text.splitlines() if line and line[0] != " " and line.endswith(":")
    ]
    assert headings == list(SECTION_ORDER)
    approvals = text[text.index("Approvals:") : text.index("Delegation:")]
    assert "--approval-token " in approvals
    assert "--trace-out" in text[text.index("Output:") :]


def test_option_sections_follow_the_option_words() -> None:
    def section(name: str) -> str:
        return option_section(click.Option([name]))

    assert section("--approval-public-key") == "Approvals"
    assert section("--delegation-token") == "Delegation"
    assert section("--credential-broker") == "Credentials"
    assert section("--private-key-env") == "Keys and signing"
    assert section("--trace-out") == "Output"
    assert section("--timeout") == "Inputs"  # "out" is a word, not a substring
    assert section("--policy") == "Inputs"


def test_gate_eval_takes_policy_and_intent_positionals(
    capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = str(REPO / "examples" / "policy" / "base_low_risk.yaml")
    intent = str(REPO / "examples" / "policy" / "intents" / "intent_read.json")
    code, text, _ = run(capsys, "gate", "eval", policy, intent)
    assert code == 0 and "verdict=allow" in text
    code, _, _ = run(capsys, "gate", "eval", policy, intent, "extra")
    assert code == 6


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [(["policy", "tset"], "test"), (["polcy"], "policy"), (["run", "inspcet"], "inspect")],
)
def test_misspelt_subcommand_suggests_the_right_one(
    capsys: pytest.CaptureFixture[str], argv: list[str], suggestion: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 6
    assert f'(did you mean "{suggestion}"?)' in err


def _complete(words: str, cword: int) -> list[str]:
    env = {
        **os.environ,
        "_GAIT_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "gait.cli.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]


def test_shell_completion_completes_commands_and_options() -> None:
    assert _complete("gait pol", 1) == ["policy"]
    assert _complete("gait policy t", 2) == ["test"]
    assert sorted(_complete("gait gate eval --approval-t", 3)) == [
        "--approval-token",
        "--approval-token-chain",
        "--approval-token-ref",
    ]


def test_shell_completion_is_documented() -> None:
    text = (REPO / "docs" / "cli.md").read_text()
    assert "_GAIT_COMPLETE=bash_source gait" in text


def test_docs_do_not_point_at_the_spec_folder() -> None:
    for path in sorted((REPO / "docs").glob("*.md")):
        text = path.read_text()
        assert "spec/" not in text, path.name
        assert "§" not in text, path.name
