"""Entry point of the ``gait`` command. Subcommands are imported only when used.

Hot one-shot commands in their plain spellings run through gait.cli.fast
without importing click; everything else goes through click.
"""

from __future__ import annotations

import gc
import os
import sys

from gait import __version__
from gait.cli.outcome import wants_json
from gait.cli.output import dumps, envelope, write_line

TYPE_CHECKING = False  # without importing typing (~10 ms of a one-shot command)
if TYPE_CHECKING:
    from gait.cli.base import GaitGroup

# name -> ("module:attr", summary). One line per command group; modules load on use.
COMMANDS: dict[str, tuple[str, str]] = {
    "approve": ("gait.cli.approve:command", "Mint a signed approval token for one intent."),
    "approve-script": (
        "gait.cli.scripts:approve_command",
        "Pre-approve a script in a signed registry.",
    ),
    "cache": ("gait.cli.cache:group", "Remove old compiled-policy cache files."),
    "capture": ("gait.cli.session:capture_command", "Write a capture receipt for regress add."),
    "check": (
        "gait.cli.onboarding:check_command",
        "Check a repo policy: validity and what it covers.",
    ),
    "delegate": ("gait.cli.delegate:group", "Mint and verify signed delegation tokens."),
    "demo": ("gait.cli.demo:command", "Record and verify a demo runpack, offline."),
    "doctor": ("gait.cli.doctor:command", "Check the environment and say how to fix problems."),
    "enforce": (
        "gait.cli.wrapper:enforce_command",
        "Run a command; fail on any blocked or pending decision.",
    ),
    "gate": ("gait.cli.gate:group", "Evaluate a tool-call intent against a policy."),
    "gateway": ("gait.cli.gateway:group", "Turn gateway audit logs into signed proof records."),
    "guard": ("gait.cli.guard:group", "Build and verify signed evidence packs."),
    "incident": ("gait.cli.incident:group", "Package a run with the evidence around it in time."),
    "init": ("gait.cli.onboarding:init_command", "Write a starter repo policy for this project."),
    "job": ("gait.cli.job:group", "Durable jobs: checkpoints, approvals, resume."),
    "keys": ("gait.cli.keys:group", "Create, rotate and check ed25519 signing keys."),
    "list-scripts": ("gait.cli.scripts:list_command", "List approved-script registry entries."),
    "mcp": ("gait.cli.mcp:group", "Gate agent tool calls: proxy, HTTP service, MCP gateway."),
    "migrate": ("gait.cli.migrate:command", "Rewrite a legacy runpack in the current format."),
    "pack": ("gait.cli.pack:group", "Build, verify, inspect, diff and export unified packs."),
    "policy": ("gait.cli.policy:group", "Validate, format, compile, test and simulate policies."),
    "registry": ("gait.cli.registry:group", "Install, list and verify signed registry packs."),
    "regress": ("gait.cli.regress:group", "Turn runpacks into CI regression tests and run them."),
    "report": ("gait.cli.scout:report_group", "Rank the riskiest actions across runs and traces."),
    "run": ("gait.cli.run:group", "Record, inspect, diff, replay runpacks; print receipts."),
    "scout": ("gait.cli.scout:group", "Inventory agent tools and cluster incidents across runs."),
    "test": ("gait.cli.wrapper:test_command", "Run a command and collect the traces it reports."),
    "tour": ("gait.cli.tour:command", "Walk the first-run path: demo, verify, regress."),
    "trace": ("gait.cli.trace:group", "Verify signed traces; wrap a command and check its traces."),
    "verify": (
        "gait.cli.verify:command",
        "Verify a runpack offline (hashes, manifest, signatures).",
    ),
    "version": ("gait.cli.version:command", "Print the gait version."),
    "warm": ("gait.cli.warm_cmd:group", "Show or stop the warm start server of the hot commands."),
}

EXPLAIN = (
    "gait decides allow / block / require_approval / dry_run for agent tool calls "
    "before they run, signs proof of every decision, and turns incidents into regression tests."
)


def build_root() -> GaitGroup:
    from gait.cli.base import GaitGroup

    return GaitGroup(
        name="gait",
        lazy=COMMANDS,
        explain=EXPLAIN,
        help=EXPLAIN,
        context_settings={"help_option_names": ["--help", "-h"]},
    )


# Optional telemetry streams (docs/telemetry.md); off unless one of these is set.
TELEMETRY_VARS = ("GAIT_ADOPTION_LOG", "GAIT_OPERATIONAL_LOG", "GAIT_TELEMETRY_HEALTH_PATH")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ
    if any(name in environ for name in TELEMETRY_VARS):
        from gait.cli.telemetry import observe

        code = observe(args, _run)
    else:
        code = _run(args)
    if argv is None:
        sys.exit(code)
    return code


def _run(args: list[str]) -> int:
    if COMPLETE_VAR in os.environ:
        return _complete()
    if not args:
        write_line(f"gait {__version__}")
        return 0
    if args[0] in ("--version", "-v", "-version"):
        args = ["version", *args[1:]]
    as_json = wants_json(args)
    if args[0] in ("gate", "policy", "trace", "verify"):
        from gait.cli.warm import run_warm  # the warm start server (docs/performance.md)

        code = run_warm(args, as_json)
        if code is not None:
            return code
    # The collector paused for the click-free path, imports included: what they
    # allocate lives until exit, so its passes there free nothing (see gc_paused).
    collecting = gc.isenabled()
    gc.disable()
    try:
        from gait.cli.fast import dispatch

        code = dispatch(args)
    except Exception as err:  # a bug in gait: report it without a traceback
        return _internal_error(err, as_json, args)
    finally:
        if collecting:
            gc.enable()
    if code is not None:
        return code
    return _run_click(args, as_json)


def _run_click(args: list[str], as_json: bool) -> int:
    import click

    from gait.cli.base import Exit

    root = build_root()
    try:
        root.main(args=args, prog_name="gait", standalone_mode=False)
    except Exit as stop:
        return stop.code
    except click.exceptions.Exit as stop:
        return int(stop.exit_code or 0)
    except click.exceptions.UsageError as err:
        message = err.format_message()
        if as_json:
            payload = envelope({"ok": False, "error": message}, 6, ["gait", *args])
            write_line(dumps(payload))
        else:
            write_line(f"error: {message}", err=True)
            if err.ctx is not None:
                write_line(err.ctx.get_usage(), err=True)
        return 6
    except click.exceptions.Abort:
        write_line("aborted", err=True)
        return 1
    except Exception as err:  # a bug in gait: report it without a traceback
        return _internal_error(err, as_json, args)
    return 0


def _reader_gone() -> int:
    """stdout's reader left early (``gait ... | head``): stop quietly, not as a crash."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush cannot fail again
    except (OSError, ValueError):
        pass
    return 1


COMPLETE_VAR = "_GAIT_COMPLETE"


def _complete() -> int:
    """Shell completion through click's protocol (see docs/cli.md)."""
    try:
        build_root().main(args=[], prog_name="gait", complete_var=COMPLETE_VAR)
    except SystemExit as done:
        return int(done.code or 0)
    except Exception:  # a completion failure must never print a traceback
        return 1
    return 0


def _internal_error(err: Exception, as_json: bool, args: list[str]) -> int:
    if isinstance(err, BrokenPipeError):
        return _reader_gone()
    message = f"internal error: {type(err).__name__}: {err}"
    if as_json:
        write_line(dumps(envelope({"ok": False, "error": message}, 1, ["gait", *args])))
    else:
        write_line(f"gait {message}", err=True)
    return 1


if __name__ == "__main__":
    main()
