"""Go-style flag spellings never rewrite the value of an option that takes one."""

from __future__ import annotations

import click

from gait.cli.base import _rewrite_go_flags


def _command() -> click.Command:
    @click.command()
    @click.option("--key-command-args", default="")
    @click.option("--out", "-o", default="")
    @click.option("--json", "as_json", is_flag=True)
    def cmd(key_command_args: str, out: str, as_json: bool) -> None:
        del key_command_args, out, as_json

    return cmd


def test_a_value_that_looks_like_a_flag_is_kept_as_given() -> None:
    args = ["-key-command-args", "-c,print(1)", "-json", "-out", "-x"]
    assert _rewrite_go_flags(_command(), args) == [
        "--key-command-args",
        "-c,print(1)",
        "--json",
        "--out",
        "-x",
    ]


def test_click_then_reads_the_value() -> None:
    cmd = _command()
    ctx = cmd.make_context("cmd", _rewrite_go_flags(cmd, ["--key-command-args", "-c,x"]))
    assert ctx.params["key_command_args"] == "-c,x"


def test_bool_spellings_and_a_missing_value_at_the_end() -> None:
    cmd = _command()
    assert _rewrite_go_flags(cmd, ["--json=false", "-out"]) == ["--out"]
    assert _rewrite_go_flags(cmd, ["--json=TRUE", "--", "-out"]) == ["--json", "--", "-out"]
