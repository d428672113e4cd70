"""Go-style durations (``1h30m``, ``90s``, ``1.5h``): parse to nanoseconds, render canonically."""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Nanoseconds for a Go duration string; ValueError with Go's wording otherwise."""
    s = text.strip()
    orig = s
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.group(1) in ("", "."):
            if m is None and re.match(r"[0-9.]+$", s[pos:]):
                raise ValueError(f'time: missing unit in duration "{orig}"')
            raise ValueError(f'time: invalid duration "{orig}"')
        number, unit = m.group(1), m.group(2)
        whole, _, frac = number.partition(".")
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // (10 ** len(frac))
        total += value
        pos = m.end()
    return sign * total


def format_go_duration(nanos: int) -> str:
    """Render like Go's ``time.Duration.String`` (``1h0m0s``, ``1.5s``, ``300ms``)."""
    if nanos == 0:
        return "0s"
    neg = nanos < 0
    u = -nanos if neg else nanos
    if u < 1_000_000_000:
        for unit, scale in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < scale * 1000:
                out = _frac(u, scale) + unit
                break
    else:
        secs, rem = divmod(u, 1_000_000_000)
        hours, secs = divmod(secs, 3600)
        mins, secs = divmod(secs, 60)
        sec_text = _frac(secs * 1_000_000_000 + rem, 1_000_000_000) + "s"
        if hours:
            out = f"{hours}h{mins}m{sec_text}"
        elif mins:
            out = f"{mins}m{sec_text}"
        else:
            out = sec_text
    return ("-" if neg else "") + out


def _frac(value: int, scale: int) -> str:
    whole, rem = divmod(value, scale)
    if not rem:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{str(rem).rjust(digits, '0').rstrip('0')}"
