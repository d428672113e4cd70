"""RFC 3339 timestamps with nanosecond text, as signed records carry them.

Signatures cover the exact time text (trace.md §3, "Timestamps keep
nanoseconds"). ``datetime`` holds only microseconds, so times are handled here
as ``(unix_seconds, nanos)`` pairs and rendered like Go's ``RFC3339Nano`` in
UTC: ``Z`` suffix, fractional digits with trailing zeros trimmed, up to 9.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

from gait.errors import InvalidInput

__all__ = [
    "format_rfc3339",
    "now_rfc3339",
    "parse_rfc3339",
    "to_rfc3339",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = 719163  # date(1970, 1, 1).toordinal()
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)


def _timegm(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """``calendar.timegm`` for a valid date, without importing calendar (and locale)."""
    days = date(year, month, day).toordinal() - _EPOCH_DAY
    return ((days * 24 + hour) * 60 + minute) * 60 + second


def parse_rfc3339(text: str) -> tuple[int, int]:
    """Parse RFC 3339 text into ``(unix_seconds, nanos)`` without losing digits 7–9.

    Raises :class:`InvalidInput` (``invalid RFC 3339 time: "..."``) on anything
    else, including out-of-range fields and more than 9 fractional digits.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(f"invalid RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError as err:
        raise InvalidInput(f"invalid RFC 3339 time: {text!r}") from err
    offset = 0
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise InvalidInput(f"invalid RFC 3339 time: {text!r}")
        offset = (zh * 3600 + zm * 60) * (-1 if zone[0] == "-" else 1)
    seconds = _timegm(year, month, day, hour, minute, second) - offset
    return seconds, int(fraction.ljust(9, "0")) if fraction else 0


def format_rfc3339(seconds: int, nanos: int = 0) -> str:
    """Render ``(unix_seconds, nanos)`` in UTC like Go's ``time.RFC3339Nano``.

    Times outside years 1-9999 raise :class:`InvalidInput` (e.g. a huge TTL).
    """
    try:
        dt = _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise InvalidInput(
            f"time out of range: {seconds} seconds from 1970 (years 1-9999 only)"
        ) from None
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def to_rfc3339(value: str | datetime) -> str:
    """Normalize a time (text or aware/naive-UTC ``datetime``) to the signed text form."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        seconds = _timegm(*value.utctimetuple()[:6])
        return format_rfc3339(seconds, value.microsecond * 1000)
    return format_rfc3339(*parse_rfc3339(value.strip()))


def now_rfc3339() -> str:
    """Wall clock UTC with the full nanosecond resolution the OS provides."""
    return format_rfc3339(*divmod(time.time_ns(), 1_000_000_000))
