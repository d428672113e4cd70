"""``gait test -- <cmd>``, ``gait enforce -- <cmd>`` and ``gait trace -- <cmd>`` (cli.md).

Flags are parsed the Go way: they may come before or among the child's words
until ``--``; everything after ``--`` (or the first word that is not a flag)
belongs to the child. The work is in :mod:`gait.gate.wrapper`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import click

from gait.cli.base import GaitCommand, Outcome, run_body
from gait.cli.outcome import Exit
from gait.cli.output import write_line
from gait.errors import GaitError

EXPLAIN = {
    "trace": (
        "Run a Gait-aware command in observe-only mode: keep its exit code and summarize "
        "the gate traces it reports, for local debugging."
    ),
    "test": (
        "Run a Gait-aware command in observe mode: capture its stdout/stderr and count the "
        "verdicts of the gate traces it reports, without changing its exit code."
    ),
    "enforce": (
        "Run a Gait-aware command in enforce mode: any blocked, dry-run or pending decision "
        "in the traces it reports turns into a non-zero wrapper exit code."
    ),
}

HELP = {
    "trace": "Run COMMAND, keep its exit code, and summarize the gate traces it reports.",
    "test": (
        "Run COMMAND with GAIT_WRAPPER_MODE=test, capture its output, collect the "
        "trace_path=<file> lines it prints and count their verdicts. Exit: the child's "
        "exit code; 6 when it reported no trace; 1 on timeout or start failure."
    ),
    "enforce": (
        "Run COMMAND with GAIT_WRAPPER_MODE=enforce and check the traces it reports. When "
        "the child exits 0: exit 3 if any trace is block or dry_run, 4 if any is "
        "require_approval, 3 if a reported trace is unreadable or its signature does not "
        "verify, else 0. A non-zero child exit code is passed through."
    ),
}

USAGE_NOTE = (
    "The child must print trace_path=<path> for each gate decision it got; "
    "the wrapper does not instrument arbitrary programs."
)

_VALUE_FLAGS = ("cwd", "timeout", "public-key", "public-key-env")
_BOOL_FLAGS = ("json", "help", "h", "explain")
_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}


def _is_flag(token: str) -> bool:
    return len(token) > 1 and token.startswith("-")


def split_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(flag tokens, child command)``: flags anywhere before ``--``, Go-style."""
    flags: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i + 1 :])
            break
        if not _is_flag(token):
            rest.append(token)
            i += 1
            continue
        flags.append(token)
        name = token.lstrip("-")
        if "=" not in name and name in _VALUE_FLAGS and i + 1 < len(args):
            flags.append(args[i + 1])
            i += 1
        i += 1
    return flags, rest


def _parse_flags(flags: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {"cwd": ".", "timeout": "30s", "json": False, "help": False}
    it = iter(flags)
    for token in it:
        name, eq, value = token.lstrip("-").partition("=")
        if name in _VALUE_FLAGS:
            if not eq:
                try:
                    value = next(it)
                except StopIteration:
                    raise _Usage(f"flag needs an argument: -{name}") from None
            values[name] = value
        elif name in _BOOL_FLAGS:
            on = True
            if eq:
                low = value.strip().lower()
                if low not in _TRUE | _FALSE:
                    raise _Usage(f'invalid boolean value "{value}" for -{name}: parse error')
                on = low in _TRUE
            values["help" if name == "h" else name] = on
        else:
            raise _Usage(f"flag provided but not defined: -{name}")
    return values


class _Usage(Exception):
    pass


def _error(mode: str, message: str) -> GaitError:
    from gait.gate.wrapper import BOUNDARY_CONTRACT

    return GaitError(
        message,
        exit_code=6,
        details={
            "mode": mode,
            "boundary_contract": BOUNDARY_CONTRACT,
            "trace_reference_required": True,
        },
    )


def run_wrapper_args(mode: str, args: Sequence[str], help_text: str = "") -> NoReturn:
    """Parse ``args`` and run the wrapper; always ends with :class:`Exit`."""
    flags, command = split_args(args)
    if any(f.lstrip("-") == "explain" for f in flags):
        write_line(EXPLAIN[mode])
        raise Exit(0)
    as_json = any(f.lstrip("-").lower() in ("json", "json=true", "json=1", "json=t") for f in flags)
    try:
        values = _parse_flags(flags)
    except _Usage as err:
        problem = _error(mode, str(err))
        run_body(mode, as_json, lambda: _raise(problem))
    if values["help"]:
        write_line(help_text or usage_text(mode))
        raise Exit(0)
    as_json = bool(values["json"])
    run_body(mode, as_json, lambda: _run(mode, values, command, as_json))


def _raise(err: GaitError) -> Outcome:
    raise err


def usage_text(mode: str) -> str:
    return "\n".join(
        [
            "Usage:",
            f"  gait {mode} [--cwd .] [--timeout 30s] [--public-key <path> | "
            "--public-key-env <VAR>] [--json] -- <child command...>",
            f"  note: {USAGE_NOTE}",
        ]
    )


def _run(mode: str, values: dict[str, Any], command: list[str], as_json: bool) -> Outcome:
    from gait.gate.wrapper import run_wrapper
    from gait.policy.duration import format_go_duration, parse_go_duration

    if not command:
        raise _error(mode, "expected child command after --")
    try:
        timeout_ns = parse_go_duration(str(values["timeout"]))
    except ValueError as err:
        raise _error(mode, f"parse --timeout: {err}") from None
    if timeout_ns <= 0:
        raise _error(mode, "--timeout must be > 0")
    key = _verify_key(mode, values)
    payload, code = run_wrapper(
        mode,
        command,
        cwd=str(values["cwd"]).strip(),
        timeout_ns=timeout_ns,
        timeout_text=format_go_duration(timeout_ns),
        key=key,
    )
    traces = len(payload.get("trace_paths") or ())
    child = payload.get("child_exit_code", 0)
    if payload.get("ok"):
        return Outcome(payload, code, text=[f"{mode} ok: child_exit={child} traces={traces}"])
    if payload.get("error"):
        # like every gait error: on stderr in text mode, only in the object with --json
        stderr = [] if as_json else [f"{mode} error: {payload['error']}"]
        return Outcome(payload, code, text=[], stderr=stderr)
    return Outcome(payload, code, text=[f"{mode} finished: child_exit={child} traces={traces}"])


def _verify_key(mode: str, values: dict[str, Any]) -> Any:
    """The key trace signatures are checked with; None when none is configured."""
    from gait.signing import resolve_verify_key

    public_key = values.get("public-key") or None
    public_key_env = values.get("public-key-env") or None
    try:
        return resolve_verify_key(
            public_key=public_key, public_key_env=public_key_env, dev_fallback=True
        )
    except GaitError as err:
        if public_key or public_key_env:
            raise _error(mode, err.message) from None
        return None  # no key at all: signed traces are reported as not checked


class WrapperCommand(GaitCommand):
    """A click command whose arguments are handed to :func:`run_wrapper_args` untouched."""

    def __init__(self, mode: str) -> None:
        params = [
            click.Option(
                ["--cwd"], default=".", show_default=True, help="Working directory of the child."
            ),
            click.Option(
                ["--timeout"],
                default="30s",
                show_default=True,
                help="Kill the child (its whole process group) after this long (Go duration).",
            ),
            click.Option(
                ["--public-key"],
                default=None,
                help="Public key file to check trace signatures with (default: the dev key).",
            ),
            click.Option(
                ["--public-key-env"],
                default=None,
                help="Env var holding the base64 public key to check trace signatures with.",
            ),
            click.Option(["--json"], is_flag=True, help="Print one JSON object."),
            click.Argument(["command"], nargs=-1, metavar="-- COMMAND [ARG]..."),
        ]
        super().__init__(
            name=mode,
            params=params,
            help=f"{HELP[mode]}\n\n{USAGE_NOTE}",
            explain=EXPLAIN[mode],
            context_settings={"help_option_names": ["--help", "-h"]},
        )
        self.mode = mode

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # shell completion
            return click.Command.parse_args(self, ctx, args)
        run_wrapper_args(self.mode, args, help_text=self.get_help(ctx))


test_command = WrapperCommand("test")
enforce_command = WrapperCommand("enforce")
