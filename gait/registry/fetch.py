"""Read a registry source: a local file, or an allowlisted http(s) URL with bounded retries.

Remote rules (checked before any byte is fetched, and again for every redirect):
https only unless insecure http is explicitly allowed; the host must be on the
allowlist. A response must be ``200`` and at most :data:`MAX_PAYLOAD` bytes.
Transient failures (429/502/503/504, timeouts, refused or reset connections,
truncated bodies) are retried with exponential backoff; anything else fails at
once. Uses only the standard library, so the core install can fetch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gait.registry.manifest import RegistryError

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BASE_DELAY",
    "MAX_PAYLOAD",
    "REQUEST_TIMEOUT",
    "FetchError",
    "check_remote",
    "fetch_source",
    "is_remote",
    "read_local",
    "retry_delay",
]

MAX_PAYLOAD = 5 * 1024 * 1024
REQUEST_TIMEOUT = 20.0  # seconds, per request
DEFAULT_ATTEMPTS = 3
DEFAULT_BASE_DELAY = 0.2  # seconds
_TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
_TRANSIENT_WORDS = ("connection reset", "connection refused", "unexpected eof")


class FetchError(RegistryError):
    """One failed attempt; ``transient`` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def is_remote(source: str) -> bool:
    low = source.lower()
    return low.startswith("https://") or low.startswith("http://")


def _split(url: str) -> tuple[str, str]:
    """``(scheme, host)`` of ``url``, lower-cased; RegistryError if it does not parse."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as err:
        raise RegistryError(f"parse source url: {err}") from None
    return parts.scheme.strip().lower(), host.lower()


def check_remote(url: str, allow_hosts: list[str], allow_insecure_http: bool) -> None:
    """The scheme rule, then the host allowlist (the reference's order and wording)."""
    scheme, host = _split(url)
    if not (scheme == "https" or (scheme == "http" and allow_insecure_http)):
        raise RegistryError("remote source requires https")
    if not allow_hosts:
        raise RegistryError("remote source requires --allow-host")
    if host not in allow_hosts:
        raise RegistryError(f"source host {host} is not in allowlist")


def read_local(path: str) -> bytes:
    from gait.fsutil import go_os_error, read_regular_file

    try:
        return read_regular_file(path, MAX_PAYLOAD)
    except OSError as err:
        raise RegistryError(f"read source file: {go_os_error(path, err)}") from None


def retry_delay(base: float, attempt: int) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): doubling, plus a small fixed step."""
    if attempt <= 0:
        return base
    return base * (1 << (attempt - 1)) + min(attempt * 0.025, 0.1)


def _address(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason_text(url: str, reason: Any) -> str:
    text = getattr(reason, "strerror", None) or str(reason)
    low = text.lower()
    if isinstance(reason, ConnectionRefusedError) or "refused" in low:
        text = f"dial tcp {_address(url)}: connect: connection refused"
    elif isinstance(reason, ConnectionResetError) or "reset" in low:
        text = "connection reset by peer"
    elif isinstance(reason, TimeoutError) or "timed out" in low:
        text = "timeout"
    return f'Get "{url}": {text}'


def _opener(allow_hosts: list[str], allow_insecure_http: bool, *, proxy: bool) -> Any:
    import urllib.request

    class _Redirects(urllib.request.HTTPRedirectHandler):
        # A redirect must satisfy the same scheme and host rules as the source itself.
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            check_remote(newurl, allow_hosts, allow_insecure_http)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    # Loopback sources never go through a proxy (as Go's default transport behaves).
    proxies = {}
    if proxy:
        proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _Redirects())


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _fetch_once(url: str, opener: Any, timeout: float) -> bytes:
    import http.client
    import urllib.error

    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
            if status != 200:
                raise FetchError(
                    f"unexpected status {status}", transient=status in _TRANSIENT_STATUS
                )
            data = response.read(MAX_PAYLOAD + 1)
            declared = response.getheader("Content-Length")
            # http.client returns a short body quietly when the peer closes early.
            if declared and declared.isdigit() and len(data) < min(int(declared), MAX_PAYLOAD + 1):
                raise FetchError(f'Get "{url}": unexpected EOF', transient=True)
    except urllib.error.HTTPError as err:
        err.close()
        raise FetchError(
            f"unexpected status {err.code}", transient=err.code in _TRANSIENT_STATUS
        ) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, RegistryError):  # a redirect broke the source rules
            raise err.reason from None
        text = _reason_text(url, err.reason)
        transient = isinstance(err.reason, TimeoutError) or any(
            w in text.lower() for w in (*_TRANSIENT_WORDS, "timeout")
        )
        raise FetchError(text, transient=transient) from None
    except http.client.IncompleteRead:
        raise FetchError(f'Get "{url}": unexpected EOF', transient=True) from None
    except (http.client.HTTPException, ConnectionError) as err:
        text = _reason_text(url, err)
        raise FetchError(text, transient=any(w in text.lower() for w in _TRANSIENT_WORDS)) from None
    except TimeoutError:
        raise FetchError(f'Get "{url}": timeout', transient=True) from None
    except OSError as err:  # any other socket or TLS failure: reported, not retried
        raise FetchError(_reason_text(url, err)) from None
    if len(data) > MAX_PAYLOAD:
        raise FetchError("read source response: payload too large")
    return data


def fetch_source(
    source: str,
    *,
    allow_hosts: list[str] | None = None,
    allow_insecure_http: bool = False,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    timeout: float = REQUEST_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The bytes of ``source``; remote sources must already have passed :func:`check_remote`.

    ``attempts`` <= 0 means 3 and ``base_delay`` <= 0 means 0.2 s, as in the reference.
    """
    if not is_remote(source):
        return read_local(source)
    attempts = attempts if attempts > 0 else DEFAULT_ATTEMPTS
    base_delay = base_delay if base_delay > 0 else DEFAULT_BASE_DELAY
    _, host = _split(source)
    opener = _opener(list(allow_hosts or ()), allow_insecure_http, proxy=not _loopback(host))
    last: FetchError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(source, opener, timeout)
        except FetchError as err:
            last = err
            if not err.transient or attempt == attempts:
                break
        sleep(retry_delay(base_delay, attempt))
    assert last is not None
    raise RegistryError(f"download source: {last.message}")
