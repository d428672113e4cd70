"""``registry install``: check a manifest, then cache it and pin its digest.

Cache layout (the reference's, so caches are shared between the tools)::

    <cache>/<pack_name>/<pack_version>/<digest>/registry_pack.json   JCS of the manifest
    <cache>/pins/<pack_name>.pin                                      "sha256:<digest>\\n"

Checks, in order: source rules (scheme, host allowlist), fetch, manifest
schema, publisher allowlist, ``--pin``, signatures. Nothing is written unless
all pass. With ``allow_cached_fallback`` a failed remote fetch may install the
cached manifest whose digest equals the pin (a pin is required for that).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from gait.registry.fetch import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BASE_DELAY,
    check_remote,
    fetch_source,
    is_remote,
)
from gait.registry.manifest import (
    MANIFEST_FILE,
    RegistryError,
    canonical_manifest,
    check_publisher,
    check_safe_segment,
    normalize_digest,
    normalize_list,
    parse_manifest,
    signable_digest,
    verify_signatures,
)

__all__ = ["InstallResult", "go_clean", "install", "join", "make_dirs", "resolve_cache_dir"]

_MAX_CACHED = 5 * 1024 * 1024


class InstallResult:
    __slots__ = (
        "digest",
        "fallback_path",
        "fallback_used",
        "manifest",
        "metadata_path",
        "pack_name",
        "pack_version",
        "pin_path",
        "source",
    )

    def __init__(self, **fields: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def go_clean(path: str) -> str:
    """Lexical path cleaning with the reference's result (``//x`` becomes ``/x``)."""
    import posixpath

    cleaned = posixpath.normpath(path) if path else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def join(*parts: str) -> str:
    """``filepath.Join``: joined, then cleaned (``./x`` is ``x``)."""
    return go_clean(os.path.join(*parts))


def resolve_cache_dir(cache_dir: str = "") -> str:
    """The given cache directory (cleaned), else ``~/.gait/registry``."""
    if cache_dir.strip():
        return go_clean(cache_dir.strip())
    home = os.path.expanduser("~")
    if home == "~":
        raise RegistryError("resolve user home: $HOME is not defined")
    return os.path.join(home, ".gait", "registry")


def _cached_fallback(cache_dir: str, pin: str) -> tuple[bytes, str]:
    """The cached manifest stored under the pinned digest (first by path order)."""
    from gait.fsutil import read_regular_file

    wanted = normalize_digest(pin)
    if not wanted:
        raise RegistryError("cached fallback requires --pin sha256:<digest>")
    candidates = []
    if "/" in wanted or "\\" in wanted or wanted in (".", ".."):
        raise RegistryError(f"no cached manifest found for digest {wanted}")
    for pack in _names(cache_dir):
        for version in _names(join(cache_dir, pack)):
            path = join(cache_dir, pack, version, wanted, MANIFEST_FILE)
            if os.path.lexists(path):
                candidates.append(path)
    if not candidates:
        raise RegistryError(f"no cached manifest found for digest {wanted}")
    for path in sorted(candidates):
        try:
            return read_regular_file(path, _MAX_CACHED), path
        except OSError:
            continue
    raise RegistryError("cached fallback candidates unreadable")


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def make_dirs(path: str) -> None:
    """``mkdir -p`` where every folder created gets mode 0750 (not only the last one)."""
    missing = []
    current = path
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o750)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
    if not os.path.isdir(path):
        raise NotADirectoryError(20, "not a directory", path)


def _mkdirs(path: str, what: str) -> None:
    try:
        make_dirs(path)
    except OSError as err:
        raise RegistryError(f"mkdir {what} dir: {err.strerror or err}") from None


def _install_bytes(
    cache_dir: str,
    source: str,
    raw: bytes,
    key: Any,
    publisher_allowlist: list[str] | str,
    pin: str,
    fallback_path: str = "",
) -> InstallResult:
    from gait.fsutil import atomic_write

    manifest = parse_manifest(raw)
    check_publisher(manifest["publisher"], publisher_allowlist)
    digest = signable_digest(manifest)
    data = canonical_manifest(manifest)
    if pin.strip() and normalize_digest(pin) != digest:
        raise RegistryError("pin digest mismatch")
    verify_signatures(manifest["signatures"], key, digest)
    name, version = manifest["pack_name"], manifest["pack_version"]
    check_safe_segment("pack_name", name)
    check_safe_segment("pack_version", version)
    metadata_dir = join(cache_dir, name, version, digest)
    metadata_path = join(metadata_dir, MANIFEST_FILE)
    _mkdirs(metadata_dir, "metadata")
    try:
        atomic_write(metadata_path, data, 0o600)
    except OSError as err:
        raise RegistryError(f"write registry metadata: {err.strerror or err}") from None
    pins_dir = join(cache_dir, "pins")
    _mkdirs(pins_dir, "pins")
    pin_path = join(pins_dir, name + ".pin")
    try:
        atomic_write(pin_path, f"sha256:{digest}\n".encode("ascii"), 0o600)
    except OSError as err:
        raise RegistryError(f"write pin file: {err.strerror or err}") from None
    return InstallResult(
        source=source,
        pack_name=name,
        pack_version=version,
        digest=digest,
        metadata_path=metadata_path,
        pin_path=pin_path,
        fallback_used=bool(fallback_path),
        fallback_path=fallback_path,
        manifest=manifest,
    )


def install(
    source: str,
    *,
    key: Any,
    cache_dir: str = "",
    allow_hosts: list[str] | str = (),  # type: ignore[assignment]
    publisher_allowlist: list[str] | str = (),  # type: ignore[assignment]
    pin: str = "",
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    allow_insecure_http: bool = False,
    allow_cached_fallback: bool = False,
    sleep: Callable[[float], None] | None = None,
    timeout: float | None = None,
) -> InstallResult:
    """Install one manifest into the cache; :class:`RegistryError` on any failed check.

    ``key`` is the :class:`gait.signing.KeyPair` that must have signed the manifest.
    """
    source = source.strip()
    if not source:
        raise RegistryError("source is required")
    hosts = normalize_list(allow_hosts)
    remote = is_remote(source)
    if remote:
        check_remote(source, hosts, allow_insecure_http)
    cache = resolve_cache_dir(cache_dir)
    extra: dict[str, Any] = {}
    if sleep is not None:
        extra["sleep"] = sleep
    if timeout is not None:
        extra["timeout"] = timeout
    try:
        raw = fetch_source(
            source,
            allow_hosts=hosts,
            allow_insecure_http=allow_insecure_http,
            attempts=attempts,
            base_delay=base_delay,
            **extra,
        )
    except RegistryError as err:
        if not remote or not allow_cached_fallback:
            raise
        try:
            raw, path = _cached_fallback(cache, pin)
        except RegistryError as fallback_err:
            raise RegistryError(
                f"remote fetch failed: {err.message}; cached fallback failed: "
                f"{fallback_err.message}"
            ) from None
        return _install_bytes(cache, source, raw, key, publisher_allowlist, pin, path)
    return _install_bytes(cache, source, raw, key, publisher_allowlist, pin)
