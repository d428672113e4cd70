"""Terminal niceties: colour, aligned tables, a progress line. Only ever on a terminal.

Everything here is decided per stream: colour and tables only when the stream
is a TTY, never when ``NO_COLOR`` is set (https://no-color.org: any non-empty
value) or ``TERM=dumb``; the progress line only on a TTY stderr. Pipes, files
and CI logs get the plain text every other tool expects. Standard library
only, so the hot one-shot commands can use it without import cost.
"""

from __future__ import annotations

import os
import sys
import time

# Annotations only: typing, re and collections cost a plain-text one-shot command ~8 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Sequence
    from typing import IO, Any

__all__ = [
    "Progress",
    "colorize",
    "is_tty",
    "paint",
    "table",
    "use_color",
]

_CODES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}


def is_tty(stream: IO[Any] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def use_color(stream: IO[Any] | None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR or TERM=dumb."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("TERM", "") == "dumb":
        return False
    return is_tty(stream)


def paint(text: str, style: str) -> str:
    return f"\x1b[{_CODES[style]}m{text}\x1b[0m"


_VERDICT_STYLE = {
    "allow": "green",
    "block": "red",
    "require_approval": "yellow",
    "dry_run": "yellow",
}


_PATTERNS: list[re.Pattern[str]] = []


def _patterns() -> list[re.Pattern[str]]:
    """Compiled on first colouring: pipes and --json output never pay for them."""
    if _PATTERNS:
        return _PATTERNS
    import re

    _PATTERNS[:] = (
        # A verdict as a value: after "=", "-> ", or a table gap, and ending the word.
        re.compile(r"(^|=|-> |  )(allow|block|require_approval|dry_run)(?=$|\s|,)"),
        re.compile(r"^(\s*)(PASS|FAIL|ok|failed)\b"),
        re.compile(r"^(\S[^:]* (error|failed)|error|warning|tip)(:)"),
    )
    return _PATTERNS


def colorize(line: str) -> str:
    """Colour the parts of a text line a reader scans for: verdicts, PASS/FAIL, errors."""
    verdict_re, status_re, prefix_re = _patterns()
    line = verdict_re.sub(
        lambda m: m.group(1) + paint(m.group(2), _VERDICT_STYLE[m.group(2)]), line
    )
    line = status_re.sub(
        lambda m: (
            m.group(1) + paint(m.group(2), "green" if m.group(2) in ("PASS", "ok") else "red")
        ),
        line,
    )

    def prefix(m: re.Match[str]) -> str:
        word = m.group(1)
        style = "yellow" if word in ("warning", "tip") else "red"
        return paint(word, style) + m.group(3)

    return prefix_re.sub(prefix, line)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> list[str]:
    """Rows aligned under their headers; the last column is not padded."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    out = []
    for row in cells:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append((indent + "  ".join([*padded, row[-1]])).rstrip())
    return out


_MIB = 1 << 20


class Progress:
    """``label: i/n`` on one rewritten stderr line, on a terminal, once work passes ``after`` s.

    Quick runs print nothing at all; ``close()`` erases the line so the
    command's own output starts on a clean line. With ``in_bytes`` the counts
    are byte counts, shown as ``label: 12.5/80.0 MiB``.
    """

    AFTER = 1.0  # default delay before the line appears; tests lower it

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: IO[Any] | None = None,
        after: float | None = None,
        every: float = 0.1,
        in_bytes: bool = False,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_tty(self.stream)
        self.start = time.monotonic()
        self.after = self.AFTER if after is None else after
        self.every = every
        self.last = 0.0
        self.shown = False
        self.in_bytes = in_bytes

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.after or now - self.last < self.every:
            return
        self.last = now
        self.shown = True
        if self.in_bytes:
            count = f"{done / _MIB:.1f}/{self.total / _MIB:.1f} MiB"
        else:
            count = f"{done}/{self.total}"
        self.stream.write(f"\r\x1b[K{self.label}: {count}")
        self.stream.flush()

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        self.update(done)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
