"""RFC 3339 times as UTC text, with Go's parsing rules and nanosecond precision.

Times in intents are kept as text (``2026-02-18T19:13:04.95397Z``) rather than
``datetime`` objects: ``datetime`` has microsecond precision and no year 0,
both of which would silently change digests. Parsing follows Go's
``time.Time.UnmarshalJSON`` (strict fast path plus the lenient ``time.Parse``
fallback it uses: one-digit hour, ``,`` as fraction separator, zone offsets up
to ``24:00``/``00:60``); formatting follows ``time.RFC3339Nano`` in UTC.
"""

from __future__ import annotations

from gait.errors import InvalidInput

ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Go serializes an absent (zero) ``time.Time``."""

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class TimeFormatError(InvalidInput, ValueError):
    """The text is not an RFC 3339 time Go would accept (exit 6).

    Still a ``ValueError`` for callers that treat it as one.
    """


def _days_in(month: int, year: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _bad(text: str, why: str) -> TimeFormatError:
    return TimeFormatError(f'parsing time "{text}" as RFC 3339: {why}')


def parse_rfc3339(text: str) -> str:
    """Parse an RFC 3339 time and return it as UTC RFC3339Nano text.

    Returns ``""`` for the zero instant (``0001-01-01T00:00:00Z`` in UTC),
    because Go treats that exactly like an absent time. Raises
    :class:`TimeFormatError` for anything Go's JSON decoder rejects, and for
    UTC years outside ``[0, 9999]`` (Go cannot serialize those).
    """
    n = len(text)
    if n < 19 or not text.isascii():
        raise _bad(text, "cannot parse")
    ys, ms, ds = text[0:4], text[5:7], text[8:10]
    if not (
        text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and ys.isdigit()
        and ms.isdigit()
        and ds.isdigit()
    ):
        raise _bad(text, "cannot parse date")
    # time.Parse accepts a one-digit hour ("15" layout element is not fixed-width).
    plain = True  # the input is already in canonical UTC form
    if text[12].isdigit():
        hs, pos = text[11:13], 13
    else:
        hs, pos, plain = text[11:12], 12, False
    mis, ss = text[pos + 1 : pos + 3], text[pos + 4 : pos + 6]
    if not (
        hs.isdigit()
        and text[pos : pos + 1] == ":"
        and text[pos + 3 : pos + 4] == ":"
        and len(ss) == 2
        and mis.isdigit()
        and ss.isdigit()
    ):
        raise _bad(text, "cannot parse clock")
    year, month, day = int(ys), int(ms), int(ds)
    hour, minute, second = int(hs), int(mis), int(ss)
    if not 1 <= month <= 12:
        raise _bad(text, "month out of range")
    if not 1 <= day <= _days_in(month, year):
        raise _bad(text, "day out of range")
    if hour > 23 or minute > 59 or second > 59:
        raise _bad(text, "clock out of range")
    pos += 6
    frac = ""
    if pos + 1 < n and text[pos] in ".," and text[pos + 1].isdigit():
        end = pos + 1
        while end < n and text[end].isdigit():
            end += 1
        frac = text[pos + 1 : end]
        if text[pos] == "," or len(frac) > 9 or frac[-1] == "0":
            plain = False
            frac = frac[:9].rstrip("0")
        pos = end
    zone = text[pos:]
    offset = 0
    if zone != "Z":
        if not (
            len(zone) == 6
            and zone[0] in "+-"
            and zone[3] == ":"
            and zone[1:3].isdigit()
            and zone[4:6].isdigit()
        ):
            raise _bad(text, "cannot parse zone")
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 24 or zm > 60:
            raise _bad(text, "time zone offset out of range")
        offset = (zh * 60 + zm) * 60
        if zone[0] == "-":
            offset = -offset
        plain = False
    if offset:
        total = (
            _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
        )
        days, secs = divmod(total, 86400)
        year, month, day = _civil_from_days(days)
        hour, rem = divmod(secs, 3600)
        minute, second = divmod(rem, 60)
        if not 0 <= year <= 9999:
            raise _bad(text, "year outside of range [0,9999]")
    if year == 1 and month == 1 and day == 1 and not (hour or minute or second or frac):
        return ""
    if plain:
        return text
    out = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return f"{out}.{frac}Z" if frac else out + "Z"


def time_sort_key(text: str) -> str:
    """A key that orders canonical UTC texts chronologically.

    Plain string comparison would put ``...:05.5Z`` before ``...:05Z``
    (``.`` < ``Z``), so the fraction is padded to nine digits.
    """
    if len(text) > 20 and text[19] == ".":
        return text[:19] + text[20:-1].ljust(9, "0")
    return text[:19] + "000000000"


def digest_time(text: str) -> str:
    """A stored time as Go serializes it: absent times become the zero time."""
    return text or ZERO_TIME
