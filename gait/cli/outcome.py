"""What a command body returns and how it is printed; no click here.

The hot one-shot commands run through :mod:`gait.cli.fast` without importing
click, so everything they need to render output and exit codes lives here;
:mod:`gait.cli.base` re-exports it for the click commands.
"""

from __future__ import annotations

import sys

from gait.cli.output import envelope, error_payload, write_json
from gait.errors import GaitError

# typing costs a one-shot command ~10 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


class Outcome:
    """What a command produced: a JSON payload, its exit code and optional text lines.

    A plain class, not a dataclass: building a dataclass costs every one-shot
    command about a millisecond at import (issue 12).
    """

    _FIELDS = (
        "payload",
        "exit_code",
        "text",
        "raw",
        "stderr",
        "warnings_in_text",
        "tty_text",
        "closers",
    )
    __slots__ = _FIELDS

    def __init__(
        self,
        payload: dict[str, Any],
        exit_code: int = 0,
        text: Iterable[str] | None = None,
        raw: str | None = None,
        stderr: list[str] | None = None,
        warnings_in_text: bool = False,
        tty_text: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        closers: list[Callable[[], None]] | None = None,
    ) -> None:
        self.payload = payload
        self.exit_code = exit_code
        # Lines may be produced lazily (a generator): they are written as they come.
        self.text = text
        self.raw = raw  # printed verbatim in text mode (e.g. formatted YAML)
        self.stderr = [] if stderr is None else stderr
        # In text mode payload["warnings"] go to stderr, unless the text already shows them.
        self.warnings_in_text = warnings_in_text
        # Text for a person at a terminal (aligned tables); pipes and files get ``text``.
        self.tty_text = tty_text
        # Run after the outcome has been written (e.g. close a runpack read lazily).
        self.closers = [] if closers is None else closers

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Outcome({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass was


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
    err_lines = list(outcome.stderr)
    if not as_json and not outcome.warnings_in_text:
        err_lines += [f"warning: {w}" for w in outcome.payload.get("warnings") or ()]
    if err_lines:
        _write_text(err_lines, err=True)
    if as_json:
        write_json(envelope(outcome.payload, outcome.exit_code, argv))
        return
    if outcome.raw is not None:
        sys.stdout.write(outcome.raw)
        sys.stdout.flush()
        return
    lines = outcome.text
    if lines is None:
        summary = outcome.payload.get("summary")
        lines = [str(summary)] if summary else []
    if outcome.tty_text is not None:
        from gait.cli.term import is_tty

        if is_tty(sys.stdout):
            tty = outcome.tty_text
            lines = tty() if callable(tty) else tty
    _write_text(lines)


def _write_text(lines: Iterable[str], *, err: bool = False) -> None:
    """Text lines, coloured when the stream is a terminal that wants colour.

    Written in batches, flushed at the end: lazily produced lines (millions
    for a large runpack) must not cost a flush each.
    """
    from gait.cli.term import colorize, use_color

    stream = sys.stderr if err else sys.stdout
    paint = use_color(stream)
    batch: list[str] = []
    for line in lines:
        text = colorize(line) if paint else line
        batch.append(text if text.endswith("\n") else text + "\n")
        if len(batch) >= 512:
            stream.write("".join(batch))
            batch.clear()
    if batch:
        stream.write("".join(batch))
    stream.flush()


def gc_paused(fn: Any) -> Any:
    """``fn`` run with Python's cyclic garbage collector paused, then restored.

    For the bodies of the hot one-shot commands: most objects they allocate are
    the modules they import, which live until the process exits, so the
    collector's passes over them (many during the imports) free nothing; they
    were ~10% of a one-shot gate eval's instructions. Memory freed by reference
    counting (nearly all of it) is unaffected.
    """

    def paused(*args: Any, **kwargs: Any) -> Any:
        import gc

        collecting = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()

    paused.__name__, paused.__qualname__ = fn.__name__, fn.__qualname__
    paused.__doc__, paused.__wrapped__ = fn.__doc__, fn  # type: ignore[attr-defined]
    return paused


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
    closers = outcome.closers
    try:
        _emit(outcome, as_json)
    except GaitError as err:
        # Only lazily read input can fail this late (a runpack changed while being
        # read): the partial output is cut short and the error follows it.
        failed = Outcome(error_payload(err), err.exit_code)
        if not as_json:
            failed.text, failed.stderr = [], [f"{name} error: {err.message}"]
        else:
            sys.stdout.write("\n")
        _emit(failed, as_json)
        outcome = failed
    finally:
        for close in closers:
            close()
    raise Exit(outcome.exit_code)
