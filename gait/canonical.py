"""RFC 8785 (JCS) canonical JSON and sha256 digests.

Everything that is hashed or signed goes through :func:`canonical_bytes`.
Numbers behave as IEEE doubles, as in the reference implementation: integers
whose magnitude reaches 2**53 are converted to float before canonicalizing.
"""

from __future__ import annotations

from typing import Any

import msgspec

_INT_LIMIT = 2**53


def _as_doubles(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) >= _INT_LIMIT else value
    if isinstance(value, float):
        if value == 0.0:
            return 0  # -0.0 and 0.0 both canonicalize as 0
        if value.is_integer() and abs(value) < _INT_LIMIT:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: _as_doubles(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_doubles(v) for v in value]
    return value


def _plain(value: Any) -> bool:
    """True when sorted, compact JSON (stdlib's or msgspec's, same bytes) is already JCS.

    That holds for exact str/bool/None, ints below 2**53, non-integral floats in
    plain-notation range, lists, tuples and dicts
    with ASCII string keys (JCS sorts keys by UTF-16 units; for ASCII that is
    Python's order, and both escape exactly the same characters). Floats, big
    ints, other key types and subclasses take the general path.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return -_INT_LIMIT < value < _INT_LIMIT
    if t is float:
        # repr() and ECMAScript's Number-to-string agree on the shortest round-trip
        # digits; both use plain notation for 1e-4 <= |x| < 1e16. Integral values
        # (JCS writes 5, Python 5.0) and the exponent ranges take the general path.
        return 1e-4 <= abs(value) < 1e16 and not value.is_integer()
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                return False
            # Strings, bools and lists of strings are most values: no call for them.
            tv = type(v)
            if tv is str or tv is bool:
                continue
            if tv is list:
                for x in v:
                    if type(x) is not str and not _plain(x):
                        return False
            elif not _plain(v):
                return False
        return True
    if t is list or t is tuple:
        for v in value:
            if type(v) is not str and not _plain(v):
                return False
        return True
    return False


def canonical_bytes(value: Any) -> bytes:
    """JCS bytes of a JSON-compatible value (dicts, lists, str, int, float, bool, None)."""
    if _plain(value):
        try:
            return _sorted_encoder().encode(value)
        except (UnicodeEncodeError, msgspec.EncodeError):  # lone surrogates: JCS reports them
            pass
    import rfc8785  # the general path only: plain records never load it (~0.6 ms)

    return rfc8785.dumps(_as_doubles(value))


_ENCODERS: list[msgspec.json.Encoder] = []


def _sorted_encoder() -> msgspec.json.Encoder:
    """msgspec's sorted compact JSON: the stdlib's bytes for plain values, 5x faster."""
    if not _ENCODERS:
        _ENCODERS.append(msgspec.json.Encoder(order="sorted"))
    return _ENCODERS[0]


# SHA-256 for every gait digest. A long-running process uses hashlib (OpenSSL:
# fastest on large inputs). A one-shot command (gait.cli.fast) calls
# use_builtin_sha256(): the interpreter's own SHA-256 gives the same digests and
# spares loading hashlib and OpenSSL (~12 M instructions, ~3 ms) for a few small
# inputs; anything over _BUILTIN_MAX bytes still goes to hashlib.
_BUILTIN_MAX = 256 * 1024


def _hashlib_sha256(data: bytes = b"") -> Any:
    global _sha256
    import hashlib

    _sha256 = hashlib.sha256
    return _sha256(data)


_sha256: Any = _hashlib_sha256  # rebound to hashlib.sha256 on first use


def use_builtin_sha256() -> bool:
    """Hash inputs up to 256 KiB with the interpreter's SHA-256; False if it has none."""
    global _sha256
    try:
        from _sha256 import sha256 as builtin  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256 as builtin  # type: ignore[import-not-found,no-redef]  # 3.12+
        except ImportError:
            return False
    _sha256 = builtin
    return True


def new_sha256(data: bytes = b"", *, size: int = 0) -> Any:
    """A hashlib-style SHA-256 object over ``data``; ``size``: how much will be fed in all."""
    if size > _BUILTIN_MAX or len(data) > _BUILTIN_MAX:
        import hashlib

        return hashlib.sha256(data)
    return _sha256(data)


def sha256_hex(data: bytes) -> str:
    if len(data) > _BUILTIN_MAX:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return _sha256(data).hexdigest()


def digest(value: Any) -> str:
    """Lowercase hex sha256 of the JCS form of ``value``."""
    data = canonical_bytes(value)
    if len(data) > _BUILTIN_MAX:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return _sha256(data).hexdigest()


def prefixed(hex_digest: str) -> str:
    """``sha256:<hex>`` form used in manifests and footers."""
    return hex_digest if hex_digest.startswith("sha256:") else f"sha256:{hex_digest}"
