"""A click-free path for the hot one-shot commands.

``gait policy test POLICY INTENT``, ``gait gate eval``, ``gait verify RUNPACK``
and ``gait trace verify`` (and ``gait version``) run once per tool call, fixture or artifact from
scripts and CI loops; importing click costs more than the work they do. For
the plain spellings of these commands (known options only, no ``--help`` or
``--explain``) this module parses argv itself and calls
the same command body the click command calls, so output and exit codes are
the same. Anything else — unknown or malformed options, help, a fixtures
directory, ``--`` — returns ``None`` and the click command handles it, with
click's usage errors and help text.
"""

from __future__ import annotations

import os
import sys

from gait.cli.outcome import Exit, Outcome, run_body

TYPE_CHECKING = False  # annotations only; importing typing/collections costs start-up
if TYPE_CHECKING:
    from collections.abc import Callable

    Plan = tuple[str, bool, Callable[[], Outcome]]

Parsed = tuple[list[str], dict[str, str], set[str]]


def _parse(args: list[str], valued: frozenset[str], flags: frozenset[str]) -> Parsed | None:
    """Positionals, ``--name value`` options and flags; ``None`` if anything is unusual.

    Accepts ``--name value``, ``--name=value`` and the Go spelling ``-name``.
    """
    positionals: list[str] = []
    values: dict[str, str] = {}
    seen_flags: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        name, eq, inline = arg.lstrip("-").partition("=")
        if arg.startswith("---") or not name:
            return None
        if name in flags and not eq:
            seen_flags.add(name)
            continue
        if name not in valued:
            return None
        if eq:
            value = inline
        else:
            if i >= len(args) or args[i].startswith("-"):
                return None
            value = args[i]
            i += 1
        values[name] = value
    return positionals, values, seen_flags


def _policy_test(args: list[str]) -> tuple[str, bool, Callable[[], Outcome]] | None:
    parsed = _parse(args, frozenset(), frozenset({"json", "why"}))
    if parsed is None:
        return None
    positionals, _values, flags = parsed
    if len(positionals) != 2 or os.path.isdir(positionals[1]):
        return None  # usage errors and fixture directories: the click command

    def body() -> Outcome:
        from gait.cli.policytest import run_policy_test

        return run_policy_test(positionals[0], positionals[1], why="why" in flags)

    return "policy test", "json" in flags, body


_TRACE_KEYS = ("path", "public-key", "public-key-env", "private-key", "private-key-env")


def _trace_verify(args: list[str]) -> tuple[str, bool, Callable[[], Outcome]] | None:
    parsed = _parse(args, frozenset(_TRACE_KEYS), frozenset({"json"}))
    if parsed is None:
        return None
    positionals, values, flags = parsed

    def body() -> Outcome:
        from gait.cli.trace_verify import verify_trace_file

        return verify_trace_file(
            positionals,
            path_option=values.get("path"),
            public_key=values.get("public-key"),
            public_key_env=values.get("public-key-env"),
            private_key=values.get("private-key"),
            private_key_env=values.get("private-key-env"),
        )

    return "trace verify", "json" in flags, body


_VERIFY_KEYS = ("profile", "public-key", "public-key-env", "private-key", "private-key-env")


def _verify(args: list[str]) -> tuple[str, bool, Callable[[], Outcome]] | None:
    parsed = _parse(args, frozenset(_VERIFY_KEYS), frozenset({"json", "require-signature"}))
    if parsed is None:
        return None
    positionals, values, flags = parsed
    if len(positionals) != 1 or positionals[0] in ("chain", "session-chain"):
        return None  # verify chain / session-chain and usage errors: the click command

    def body() -> Outcome:
        from gait.cli.verify_runpack import verify_one

        return verify_one(
            positionals,
            profile=values.get("profile", "standard"),
            require_signature="require-signature" in flags,
            keys=(
                values.get("public-key"),
                values.get("public-key-env"),
                values.get("private-key"),
                values.get("private-key-env"),
            ),
        )

    return "verify", "json" in flags, body


def _gate_eval(args: list[str]) -> tuple[str, bool, Callable[[], Outcome]] | None:
    from gait.cli.gate_eval import FLAGS, PASSTHROUGH, VALUED, option_values

    parsed = _parse(args, frozenset(VALUED) | frozenset(PASSTHROUGH), frozenset({*FLAGS, "json"}))
    if parsed is None:
        return None
    positionals, values, flags = parsed

    def body() -> Outcome:
        from gait.cli.gate_eval import run_gate_eval

        return run_gate_eval(tuple(positionals), option_values(values, flags))

    return "gate eval", "json" in flags, body


def _version(args: list[str]) -> tuple[str, bool, Callable[[], Outcome]] | None:
    parsed = _parse(args, frozenset(), frozenset({"json"}))
    if parsed is None or parsed[0]:
        return None  # positionals are a usage error: the click command

    def body() -> Outcome:
        from gait.cli.about import version_outcome

        return version_outcome()

    return "version", "json" in parsed[2], body


# (group, command) -> argv parser returning (display name, --json, body) or None;
# a top-level command is keyed (name, "") and gets every argument after its name.
HOT: dict[tuple[str, str], Callable[[list[str]], Plan | None]] = {
    ("gate", "eval"): _gate_eval,
    ("policy", "test"): _policy_test,
    ("trace", "verify"): _trace_verify,
    ("verify", ""): _verify,
    ("version", ""): _version,
}


# Commands whose bodies load msgspec (all but ``version``).
_USES_MSGSPEC = frozenset({"gate eval", "policy test", "trace verify", "verify"})


def load_msgspec_without_typing_extensions() -> None:
    """Import msgspec so that it does not import typing_extensions (and inspect, ast, dis).

    msgspec reads type hints through typing_extensions when it is installed and
    through :mod:`typing` otherwise (msgspec/_utils.py; msgspec does not depend on
    it). On Python 3.11+ both give the same hints for msgspec's lookups
    (``include_extras=True``) and the same ``Required``/``NotRequired`` objects
    (tests/test_imports_lean_msgspec.py checks every gait Struct), and the
    import costs a one-shot command ~9 ms. Only a process that has not loaded
    either module yet is changed; typing_extensions stays importable afterwards.
    """
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        import msgspec  # noqa: F401
    finally:
        if "typing_extensions" in sys.modules and sys.modules["typing_extensions"] is None:
            del sys.modules["typing_extensions"]


def dispatch(args: list[str]) -> int | None:
    """Run a hot command without click and return its exit code, or ``None`` to use click."""
    if not args or "_GAIT_COMPLETE" in os.environ:  # shell completion is click's job
        return None
    handler = HOT.get((args[0], ""))
    rest = args[1:]
    if handler is None and len(args) >= 2:
        handler = HOT.get((args[0], args[1]))
        rest = args[2:]
    if handler is None:
        return None
    plan = handler(rest)
    if plan is None:
        return None
    name, as_json, body = plan
    if name in _USES_MSGSPEC:
        load_msgspec_without_typing_extensions()
        from gait.canonical import use_builtin_sha256

        use_builtin_sha256()  # a few small digests: not worth loading hashlib and OpenSSL
    try:
        run_body(name, as_json, body)
    except Exit as stop:
        return stop.code
    return 0
