"""Command plumbing: Go-style flags, ``--json``/``--explain``, exit codes, the error envelope.

A command body returns an :class:`Outcome` or raises :class:`gait.errors.GaitError`;
:func:`gait_command` turns that into printed output and the process exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gait.cli.outcome import Exit, Outcome, _emit, run_body, wants_json
from gait.cli.output import write_line
from gait.errors import EXIT_INVALID_INPUT, GaitError

__all__ = [
    "Exit",
    "GaitCommand",
    "GaitGroup",
    "Outcome",
    "_emit",
    "gait_command",
    "invalid",
    "run_body",
    "wants_json",
]


_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def _next_value(it: Any) -> list[str]:
    value = next(it, None)
    return [] if value is None else [value]


def _rewrite_go_flags(cmd: click.Command, args: list[str]) -> list[str]:
    """Accept Go ``flag`` spellings: ``-name`` for ``--name``, ``--flag=true|false`` for booleans."""
    bool_flags: set[str] = set()
    valued: set[str] = set()
    for param in cmd.params:
        if isinstance(param, click.Option):
            if param.is_flag:
                bool_flags.update(o for o in param.opts if o.startswith("--"))
            else:
                valued.update(param.opts)
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--":
            out.append(arg)
            out.extend(it)
            break
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[1].isalpha():
            arg = "-" + arg
        if arg in valued:  # the next word is its value as given, even "-c,x" (as Go's flag)
            out.append(arg)
            out.extend(_next_value(it))
            continue
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            if name in bool_flags:
                low = value.strip().lower()
                if low in _TRUE:
                    out.append(name)
                    continue
                if low in _FALSE:
                    continue
        out.append(arg)
    return out


class GaitCommand(click.Command):
    """A leaf command with Go-style flag spellings and spec ``--explain`` handling."""

    def __init__(self, *args: Any, explain: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.explain = explain

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = _rewrite_go_flags(self, args)
        ctx.meta["gait.json"] = wants_json(args)
        if "--explain" in args and not _has_explain_option(self):
            write_line(self.explain or (self.help or "").strip().splitlines()[0])
            raise Exit(0)
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Long option lists are shown in sections (inputs, approvals, ..., output)."""
        records = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                records.append((option_section(param), record))
        if len(records) < _SECTIONED_FROM:
            super().format_options(ctx, formatter)
            return
        for title in SECTION_ORDER:
            rows = [record for section, record in records if section == title]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


# Commands with at least this many options get their help in sections.
_SECTIONED_FROM = 10
SECTION_ORDER = (
    "Inputs",
    "Approvals",
    "Delegation",
    "Credentials",
    "Keys and signing",
    "Output",
)
# First match wins, on the words of the option's long name.
_SECTION_WORDS = (
    ("Approvals", frozenset({"approval", "approvals", "approve", "approver"})),
    ("Delegation", frozenset({"delegation", "delegator", "delegate"})),
    ("Credentials", frozenset({"credential", "broker"})),
    ("Keys and signing", frozenset({"key", "keys", "signing"})),
    (
        "Output",
        frozenset({"out", "output", "json", "explain", "help", "junit", "quiet", "verbose"}),
    ),
)


def option_section(param: click.Parameter) -> str:
    """The help section an option belongs to, from the words of its long name."""
    names = [o for o in getattr(param, "opts", ()) if o.startswith("--")] or ["--x"]
    words = set(max(names, key=len).lstrip("-").replace("_", "-").split("-"))
    for title, keys in _SECTION_WORDS:
        if words & keys:
            return title
    return "Inputs"


def _has_explain_option(cmd: click.Command) -> bool:
    """Commands that implement their own ``--explain`` behaviour declare it as an option."""
    return any(isinstance(p, click.Option) and "--explain" in p.opts for p in cmd.params)


class GaitGroup(click.Group):
    """A command group that resolves its subcommands lazily (imports on first use)."""

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, tuple[str, str]] | None = None,
        explain: str = "",
        intercept_explain: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # cli.md §1.2: some groups (run, regress, ...) answer --explain for all their
        # subcommands; others let the leaf describe itself.
        self.intercept_explain = intercept_explain
        # name -> ("module:attr", one-line summary); the summary lets --help list
        # commands without importing them.
        self.lazy = dict(lazy or {})
        self.explain = explain

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(70)))
            else:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        import importlib

        module_name, _, attr = entry[0].partition(":")
        cmd = getattr(importlib.import_module(module_name), attr)
        self.commands[cmd_name] = cmd
        return cmd

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # shell completion: partial command lines are expected
            return super().parse_args(ctx, args)
        ctx.meta["gait.json"] = wants_json(args)
        if ctx.parent is None and args and args[0] in _LEGACY_ROOT_COMMANDS:
            _reject_legacy_command(ctx, args)
        if ctx.parent is None and args and args[0] in _LEGACY_FLAG_COMMANDS:
            _reject_legacy_flag(args)
        if self.explain and ("--explain" in args or "-explain" in args):
            first = next((a for a in args if not a.startswith("-")), None)
            sub = self.get_command(ctx, first) if first else None
            if sub is None or (self.intercept_explain and not _has_explain_option(sub)):
                write_line(self.explain)
                raise Exit(0)
        positional = next((a for a in args if not a.startswith("-")), None)
        if positional is None and not any(a in ("--help", "-h") for a in args):
            raise click.UsageError("missing subcommand", ctx)
        if not args or (args[0] not in self.list_commands(ctx) and not args[0].startswith("-")):
            if args and args[0] in ("help",):
                write_line(self.get_help(ctx))
                raise Exit(0)
            message = f"unknown command: {args[0]}" if args else "missing subcommand"
            if args:
                import difflib

                close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=1)
                if close:
                    message += f' (did you mean "{close[0]}"?)'
            raise click.UsageError(message, ctx)
        return super().parse_args(ctx, args)


# Old top-level command names: rejected with the new spelling (cli.md §3, exit 6).
_LEGACY_ROOT_COMMANDS = frozenset({"mcp-verify"})


def _reject_legacy_command(ctx: click.Context, args: list[str]) -> None:
    """``error:`` + ``hint:`` + usage (or the JSON envelope with ``migration``); exit 6."""
    from gait.cli.migration import LEGACY_COMMANDS, command_error, migration_for
    from gait.cli.output import dumps, envelope

    message = command_error(*LEGACY_COMMANDS[args[0]])
    if wants_json(args):
        write_line(dumps(envelope({"ok": False, "error": message}, 6, ["gait", *args])))
    else:
        hint, _ = migration_for(message)
        write_line(f"error: {message}", err=True)
        write_line(f"hint: {hint}", err=True)
        write_line(ctx.get_usage(), err=True)
    raise Exit(EXIT_INVALID_INPUT)


# Commands with a renamed flag (gait.cli.migration.LEGACY_FLAGS).
_LEGACY_FLAG_COMMANDS = frozenset({"capture"})


def _reject_legacy_flag(args: list[str]) -> None:
    """``<command> error: deprecated flag spelling: ...`` (exit 6), unless --explain is asked."""
    from gait.cli.migration import LEGACY_FLAGS, flag_error, uses_flag

    old, new, fields = LEGACY_FLAGS[args[0]]
    rest = args[1:]
    if "--explain" in rest or "-explain" in rest or not uses_flag(rest, old):
        return

    def refuse() -> Outcome:
        raise GaitError(flag_error(old, new), exit_code=EXIT_INVALID_INPUT, details=fields)

    run_body(args[0], wants_json(rest), refuse)


def gait_command(
    group: click.Group | None,
    name: str,
    *,
    explain: str,
    help: str,
    json_flag: bool = True,
) -> Callable[[Callable[..., Outcome]], click.Command]:
    """Declare a command whose body returns an :class:`Outcome`.

    ``--json`` is added automatically; the body receives parsed options as keyword
    arguments (``json`` included).
    """

    def decorate(fn: Callable[..., Outcome]) -> click.Command:
        display = (
            f"gait {group.name} {name}" if group is not None and group.name else f"gait {name}"
        )
        display = display.replace("gait gait ", "gait ")

        def callback(**kwargs: Any) -> None:
            as_json = bool(kwargs.get("json"))
            run_body(display.removeprefix("gait "), as_json, lambda: fn(**kwargs))

        params = list(getattr(fn, "__click_params__", []))
        params.reverse()
        if json_flag:
            params.append(click.Option(["--json"], is_flag=True, help="Print one JSON object."))
        cmd = GaitCommand(
            name=name,
            callback=callback,
            params=params,
            help=help,
            explain=explain,
            context_settings={"help_option_names": ["--help", "-h"]},
        )
        if group is not None:
            group.add_command(cmd)
        return cmd

    return decorate


def invalid(message: str) -> GaitError:
    return GaitError(message, exit_code=EXIT_INVALID_INPUT)
