"""Go-compatible string primitives used by intent normalization.

The reference trims with Go's ``strings.TrimSpace`` and lowercases with
``strings.ToLower``. Python's ``str.strip()``/``str.lower()`` differ on a few
code points (``\\x1c``-``\\x1f`` count as space in Python; ``İ`` and final
sigma lowercase differently), which would change digests, so these helpers
reproduce Go exactly while keeping the ASCII path a single C call.
"""

from __future__ import annotations

# Go's unicode.IsSpace set (Latin-1 specials plus the White_Space property).
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_HEX = "0123456789abcdef"


def trim(value: str) -> str:
    """``strings.TrimSpace``."""
    return value.strip(GO_SPACE)


def lower(value: str) -> str:
    """``strings.ToLower``: per-rune simple case mapping (no context rules)."""
    if value.isascii():
        return value.lower()
    # Python applies full case mapping: U+0130 becomes two runes and a final
    # capital sigma becomes ς; Go maps rune by rune (İ -> i, Σ -> σ).
    return value.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


def trim_lower(value: str) -> str:
    """Trim then lowercase, the most common field normalization."""
    return lower(value.strip(GO_SPACE))


def is_sha256_hex(value: str) -> bool:
    """``^[a-f0-9]{64}$`` with Go's end anchor (no trailing-newline slack)."""
    return len(value) == 64 and not value.strip(_HEX)


def path_base(value: str) -> str:
    """``path.Base`` (slash-separated, as used for tool-name hints)."""
    if not value:
        return "."
    value = value.rstrip("/")
    if not value:
        return "/"
    return value[value.rfind("/") + 1 :]


def fold_key(key: str) -> str:
    """Fold a JSON object key the way encoding/json matches struct fields."""
    if key.isascii():
        return key.lower()
    # Unicode simple folding maps ſ (U+017F) to s and the Kelvin sign to k;
    # Python's lower() already handles the Kelvin sign.
    return key.lower().replace("\u017f", "s")
