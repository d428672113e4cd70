"""Hostname extraction for ``url`` targets, matching Go's ``net/url``.

``endpoint_domain`` feeds policy domain allow/deny lists and the intent digest,
so it must agree with the reference byte for byte. ``urllib.parse`` is more
lenient (it accepts spaces, bad ``%`` escapes, ``user@`` junk) and would infer
domains that Go rejects, hence this small re-implementation of
``url.Parse(...).Hostname()``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from gait.intent._text import GO_SPACE, lower, trim

_HOST, _ZONE, _OTHER = 0, 1, 2
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HOST_OK = _ALNUM | frozenset("-_.~!$&'()*+,;=:[]<>\"")
_HEX = frozenset("0123456789abcdefABCDEF")
_USERINFO_OK = _ALNUM | frozenset("-._:~!$&'()*+,;=%@")
_SCHEME_TAIL = frozenset("0123456789+-.")


class _URLError(ValueError):
    pass


def _unescape(text: str, mode: int) -> str:
    """``url.unescape``: validate ``%`` escapes (and host characters), decode."""
    if "%" not in text and mode == _OTHER:
        return text
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "%":
            if i + 2 >= n or text[i + 1] not in _HEX or text[i + 2] not in _HEX:
                raise _URLError("invalid URL escape")
            if mode == _HOST and int(text[i + 1], 16) < 8 and text[i : i + 3] != "%25":
                raise _URLError("invalid URL escape")
            if mode == _ZONE:
                byte = int(text[i + 1 : i + 3], 16)
                if (
                    text[i : i + 3] != "%25"
                    and byte != 0x20
                    and (byte >= 0x80 or chr(byte) not in _HOST_OK)
                ):
                    raise _URLError("invalid URL escape")
            i += 3
        else:
            if mode != _OTHER and c < "\x80" and c not in _HOST_OK:
                raise _URLError("invalid character in host name")
            i += 1
    if "%" not in text:
        return text
    raw = bytearray()
    i = 0
    while i < n:
        c = text[i]
        if c == "%":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw += c.encode("utf-8", "surrogatepass")
            i += 1
    return _decode_go(bytes(raw))


def _decode_go(raw: bytes) -> str:
    """Decode UTF-8 replacing each invalid byte with U+FFFD, as Go does."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        out: list[str] = []
        pos = 0
        while pos < len(raw):
            try:
                out.append(raw[pos:].decode("utf-8"))
                break
            except UnicodeDecodeError as err:
                out.append(raw[pos : pos + err.start].decode("utf-8"))
                out.append("\ufffd")
                pos += err.start + 1
        return "".join(out)


def _valid_optional_port(port: str) -> bool:
    if not port:
        return True
    return port[0] == ":" and all("0" <= c <= "9" for c in port[1:])


def _parse_host(host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise _URLError("missing ']' in host")
        if not _valid_optional_port(host[end + 1 :]):
            raise _URLError("invalid port after host")
        zone = host.find("%25", 0, end)
        if zone >= 0:
            return (
                _unescape(host[:zone], _HOST)
                + _unescape(host[zone:end], _ZONE)
                + _unescape(host[end:], _HOST)
            )
    else:
        colon = host.rfind(":")
        if colon != -1 and not _valid_optional_port(host[colon:]):
            raise _URLError("invalid port after host")
    return _unescape(host, _HOST)


def _parse_authority(authority: str) -> str:
    at = authority.rfind("@")
    host = _parse_host(authority[at + 1 :])
    if at >= 0:
        userinfo = authority[:at]
        if any(c not in _USERINFO_OK for c in userinfo):
            raise _URLError("invalid userinfo")
        _unescape(userinfo, _OTHER)
    return host


def _split_scheme(raw: str) -> tuple[str, str]:
    for i, c in enumerate(raw):
        if ("a" <= c <= "z") or ("A" <= c <= "Z"):
            continue
        if c in _SCHEME_TAIL:
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise _URLError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _hostname(host: str) -> str:
    colon = host.rfind(":")
    if colon != -1 and _valid_optional_port(host[colon:]):
        host = host[:colon]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


# patterns compiled (and cached by re) on first use: most intents carry no URL
_CONTROL = "[\x00-\x1f\x7f]"


@lru_cache(maxsize=4096)
def url_hostname(raw: str) -> str:
    """Lowercased ``url.Parse(raw).Hostname()``; ``""`` when Go fails to parse.

    Memoized: a pure function of the text, and agents call the same URLs repeatedly.
    """
    try:
        return _url_hostname(raw)
    except _URLError:
        return ""


def _url_hostname(raw: str) -> str:
    if re.search(_CONTROL, raw):
        return ""
    rest, _, fragment = raw.partition("#")
    if rest == "*":
        return ""
    scheme, rest = _split_scheme(rest)
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        if scheme:
            return ""  # opaque URL such as mailto:x or host:8080: no host
        if ":" in rest.partition("/")[0]:
            return ""  # first path segment in URL cannot contain colon
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority = rest[2:]
        slash = authority.find("/")
        if slash >= 0:
            authority, rest = authority[:slash], authority[slash:]
        else:
            rest = ""
        host = _parse_authority(authority)
    _unescape(rest, _OTHER)
    if fragment:
        _unescape(fragment, _OTHER)
    return lower(trim(_hostname(host)))


def host_domain(value: str) -> str:
    """Domain of a ``host`` target: scheme prefix dropped, cut at ``/`` then ``:``."""
    host = trim(value)
    host = host.removeprefix("http://")
    host = host.removeprefix("https://")
    host = host.partition("/")[0]
    host = host.partition(":")[0]
    return lower(trim(host))


# --- policy matching -------------------------------------------------------
#
# ``endpoint_domain`` above reproduces the reference for digests, and is empty
# whenever Go cannot parse the value. Policy domain lists must not be skipped
# for such values, so matching uses ``matching_domain``: the host a client
# would actually contact, derived only from the value, or ``None`` when that
# cannot be determined (the engine then denies).

_LABEL_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_AUTHORITY_END = "/\\?#"


def _percent_decode(text: str) -> str | None:
    if "%" not in text:
        return text
    raw = bytearray()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                return None
            raw.append(int(pair, 16))
            i += 3
        else:
            raw += c.encode("utf-8", "surrogatepass")
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _clean_host(host: str) -> str | None:
    """Percent-decoded, IDNA-encoded, lowercased hostname, or ``None``."""
    if host.startswith("["):
        if not host.endswith("]"):
            return None
        import ipaddress

        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        # an IPv4-mapped address reaches the IPv4 host: match it as that
        return str(address.ipv4_mapped or address)
    decoded = _percent_decode(host)
    if decoded is None:
        return None
    decoded = decoded.removesuffix(".")
    if not decoded.isascii():
        try:
            decoded = decoded.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            return None
    decoded = decoded.lower()
    if not decoded or len(decoded) > 253:
        return None
    labels = decoded.split(".")
    for label in labels:
        if not label or len(label) > 63 or any(c not in _LABEL_OK for c in label):
            return None
    if re.fullmatch(_NUMERIC_LABEL, labels[-1]):
        return _ipv4(decoded)
    return decoded


# A host whose last label is a number is an IPv4 address to clients, in any of the
# inet_aton spellings (2130706433, 0x7f.1, 0177.0.0.1): match it as a dotted quad.
_NUMERIC_LABEL = r"[0-9]+|0x[0-9a-f]*"


def _ipv4(host: str) -> str | None:
    import ipaddress
    import socket

    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(host)))
    except (OSError, ValueError):
        return None  # numeric but not an address: where it goes is unknown


def _authority_host(authority: str) -> str | None:
    host = authority.rpartition("@")[2]  # userinfo never names the host
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        port = host[end + 1 :]
        host = host[: end + 1]
    else:
        host, colon, port = host.partition(":")
        port = colon + port
    digits = port[1:]
    if port and (port[0] != ":" or (digits and not (digits.isascii() and digits.isdigit()))):
        return None
    return _clean_host(host)


def canonical_domain(text: str) -> str | None:
    """A declared domain in the form :func:`matching_domain` returns, or ``None``.

    A port or userinfo is dropped as in a URL authority; anything else that is not
    a hostname (a path, a bad escape, an invalid label) gives ``None``, so a
    malformed declaration cannot slip past a denylist.
    """
    text = trim(text)
    if any(c <= " " or c == "\x7f" or c in GO_SPACE for c in text):
        return None
    if any(c in text for c in _AUTHORITY_END):
        return None
    return _authority_host(text)


@lru_cache(maxsize=4096)
def matching_domain(kind: str, value: str) -> str | None:
    """The domain policy lists are matched against for a ``url``/``host`` value.

    Backslashes end the authority (as browsers treat them), userinfo is dropped,
    the host is percent-decoded, IDNA-encoded and lowercased. Whitespace or
    control characters anywhere, a missing scheme on a ``url``, a bad escape or
    an invalid label give ``None``: the domain cannot be determined.
    """
    text = trim(value)
    if not text or any(c <= " " or c == "\x7f" or c in GO_SPACE for c in text):
        return None
    if kind == "url" or "://" in text:
        scheme, sep, rest = text.partition(":")
        if (
            not sep
            or not scheme
            or not scheme[0].isascii()
            or not scheme[0].isalpha()
            or any(not (c.isascii() and (c.isalnum() or c in "+-.")) for c in scheme)
        ):
            return None
        if rest[:2] not in ("//", "\\\\", "/\\", "\\/"):
            return None
        rest = rest[2:]
    else:
        rest = text
    end = min((i for i in (rest.find(c) for c in _AUTHORITY_END) if i >= 0), default=len(rest))
    return _authority_host(rest[:end])
