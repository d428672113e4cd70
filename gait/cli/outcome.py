"""What a command body returns and how it is printed; no click here.

The hot one-shot commands run through :mod:`gait.cli.fast` without importing
click, so everything they need to render output and exit codes lives here;
:mod:`gait.cli.base` re-exports it for the click commands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gait.cli.output import dumps, envelope, error_payload, write_line
from gait.errors import GaitError


@dataclass
class Outcome:
    """What a command produced: a JSON payload, its exit code and optional text lines."""

    payload: dict[str, Any]
    exit_code: int = 0
    text: list[str] | None = None
    raw: str | None = None  # printed verbatim in text mode (e.g. formatted YAML)
    stderr: list[str] = field(default_factory=list)
    # In text mode payload["warnings"] go to stderr, unless the text already shows them.
    warnings_in_text: bool = False


class Exit(Exception):
    """Raised to stop with an exit code after output has been written."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def wants_json(args: list[str]) -> bool:
    for a in args:
        if a == "--":
            break
        if a in ("--json", "-json", "--json=true", "-json=true"):
            return True
    return False


def _emit(outcome: Outcome, as_json: bool) -> None:
    argv = ["gait", *sys.argv[1:]] if sys.argv else []
    for line in outcome.stderr:
        write_line(line, err=True)
    if not as_json and not outcome.warnings_in_text:
        for warning in outcome.payload.get("warnings") or ():
            write_line(f"warning: {warning}", err=True)
    if as_json:
        write_line(dumps(envelope(outcome.payload, outcome.exit_code, argv)))
        return
    if outcome.raw is not None:
        sys.stdout.write(outcome.raw)
        sys.stdout.flush()
        return
    lines = outcome.text
    if lines is None:
        summary = outcome.payload.get("summary")
        lines = [str(summary)] if summary else []
    for line in lines:
        write_line(line)


def run_body(name: str, as_json: bool, body: Callable[[], Outcome]) -> None:
    """Run a command body; render its outcome or its error; exit with the right code."""
    try:
        outcome = body()
    except GaitError as err:
        outcome = Outcome(error_payload(err), err.exit_code)
        if not as_json:
            text = f"{name} error: {err.message}"
            if err.location is not None:
                text += f"\n  at {err.location.render()}"
            outcome.text = []
            outcome.stderr = [text]
    except (OSError, MemoryError, RecursionError) as err:  # environment faults, not bugs in input
        exc = GaitError(
            f"{name}: {err}", exit_code=1, code="internal_failure", category="io_failure"
        )
        outcome = Outcome(error_payload(exc), 1)
        if not as_json:
            outcome.text, outcome.stderr = [], [f"{name} error: {err}"]
    _emit(outcome, as_json)
    raise Exit(outcome.exit_code)
