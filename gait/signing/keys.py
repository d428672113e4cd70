"""Ed25519 key pairs: generation, the Go-compatible base64 file formats, key sources.

File formats (trace.md §2), shared with the reference implementation so keys
move between the two unchanged:

* private key file: standard base64 of the 64-byte Go private key
  (32-byte seed ‖ 32-byte public key) plus ``\\n``;
* public key file: standard base64 of the 32-byte public key plus ``\\n``.

Both are read after trimming spaces/tabs/CR/LF. ``cryptography`` is imported
inside functions so that ``gait --help`` never pays for it.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING

import msgspec

from gait.errors import InvalidInput
from gait.fsutil import atomic_write

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "DEV_EPHEMERAL_WARNING",
    "DEV_KEY_WARNING",
    "KeyPair",
    "encode_private_key",
    "encode_public_key",
    "generate_keypair",
    "key_id_for",
    "load_private_key",
    "load_public_key",
    "resolve_signing_key",
    "resolve_verify_key",
    "source_label",
    "write_private_key",
    "write_public_key",
]

DEV_KEY_WARNING = (
    "dev mode: signed with this user's dev key, not a production key; "
    "signatures verify only where this dev key is"
)
# When the per-user dev key cannot be stored, dev mode falls back to a key
# that lives for one process only.
DEV_EPHEMERAL_WARNING = (
    "dev mode: ephemeral keypair generated; signatures will not verify across machines"
)

_TRIM = " \t\r\n"


# A frozen Struct rather than a frozen dataclass: same positional fields, equality
# and repr, without paying for dataclass creation at import (issue 12).
class KeyPair(msgspec.Struct, frozen=True):
    """A public key, optionally its private key, its id and where it came from.

    ``source`` is ``path:<p>``, ``env:<NAME>``, ``derived`` (public key computed
    from a private source), ``dev:<p>`` (the per-user dev key) or ``ephemeral``
    (generated for one process when the dev key cannot be stored).
    """

    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None
    key_id: str
    source: str

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return _raw_public(self.public)


def key_id_for(public_raw: bytes) -> str:
    """Key id = lowercase hex sha256 of the raw 32-byte public key (full 64 chars)."""
    from gait.canonical import sha256_hex

    return sha256_hex(public_raw)


# The *_raw methods (cryptography >= 40) give the same bytes as the Encoding.Raw
# forms without importing the serialization package (ssh, ciphers, bcrypt: ~4 ms
# of every one-shot command that signs or verifies).
def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes_raw()


def _raw_seed(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes_raw()


def _pair(private: Ed25519PrivateKey, source: str) -> KeyPair:
    public = private.public_key()
    return KeyPair(public, private, key_id_for(_raw_public(public)), source)


def generate_keypair() -> KeyPair:
    """A fresh random key pair (source ``ephemeral``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return _pair(Ed25519PrivateKey.generate(), "ephemeral")


def prime_backend() -> None:
    """Derive, sign and verify once with a throwaway key, so the crypto library's
    lazily set-up Ed25519 state exists (about 1 ms of a process's first key use).

    For a process that forks workers (the warm start server): done once before
    forking, no child pays it. Touches no key file and no environment.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(bytes(32))
    private.public_key().verify(private.sign(b"gait"), b"gait")


def source_label(path: str | None = None, env: str | None = None) -> str:
    """``path:<p>``, ``env:<NAME>`` or ``derived`` — how key sources are reported."""
    if _given(path):
        return f"path:{path.strip()}"  # type: ignore[union-attr]
    if _given(env):
        return f"env:{env.strip()}"  # type: ignore[union-attr]
    return "derived"


def _given(value: str | None) -> bool:
    return bool(value and value.strip())


def _decode_b64(text: str) -> bytes:
    """Standard padded base64, like Go's ``StdEncoding`` (which skips CR/LF anywhere)."""
    cleaned = text.replace("\r", "").replace("\n", "")
    return base64.b64decode(cleaned.encode("ascii", errors="strict"), validate=True)


def _read_source(kind: str, path: str | None, env: str | None) -> tuple[str, str]:
    """Return ``(base64 text, source label)`` for the ``kind`` ("private"/"public") key."""
    file_path, env_name = (path or "").strip(), (env or "").strip()
    if file_path and env_name:
        raise InvalidInput(f"{kind} key source: set either path or env")
    if file_path:
        try:
            with open(file_path, "rb") as handle:
                raw = handle.read()
        except OSError as err:
            raise InvalidInput(f"read {kind} key: {err}") from err
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as err:
            raise InvalidInput(f"decode {kind} key: {err}") from err
        return text.strip(_TRIM), source_label(path=file_path)
    if env_name:
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise InvalidInput(f"{kind} key env not set: {env_name}")
        return value, source_label(env=env_name)
    raise InvalidInput(f"{kind} key not configured")


def _decode_key(kind: str, text: str, size: int) -> bytes:
    try:
        raw = _decode_b64(text)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput(f"decode {kind} key: {err}") from err
    if len(raw) != size:
        raise InvalidInput(f"invalid {kind} key length: {len(raw)}")
    return raw


def load_private_key(path: str | None = None, env: str | None = None) -> KeyPair:
    """Load a Go-layout private key from a file or an env var (exactly one).

    The embedded public half must match the seed: a key file whose halves
    disagree would sign with one key and claim another, so it is rejected.
    Raises :class:`InvalidInput` with the trace.md §2 messages.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text, source = _read_source("private", path, env)
    raw = _decode_key("private", text, 64)
    pair = _pair(Ed25519PrivateKey.from_private_bytes(raw[:32]), source)
    if pair.public_bytes != raw[32:]:
        raise InvalidInput("invalid private key: embedded public key does not match seed")
    return pair


def load_public_key(path: str | None = None, env: str | None = None) -> KeyPair:
    """Load a 32-byte public key from a file or an env var (exactly one)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text, source = _read_source("public", path, env)
    raw = _decode_key("public", text, 32)
    try:
        public = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise InvalidInput(f"decode public key: {err}") from err
    return KeyPair(public, None, key_id_for(raw), source)


def resolve_signing_key(
    mode: str = "dev",
    *,
    private_key: str | None = None,
    private_key_env: str | None = None,
    public_key: str | None = None,
    public_key_env: str | None = None,
) -> tuple[KeyPair, list[str]]:
    """Pick the signing key for a key mode (trace.md §2.1); returns ``(key, warnings)``.

    ``dev``: the per-user dev key (created on first use; an ephemeral key if it
    cannot be stored) and the dev warning; explicit sources are an error (a dev
    run must never look like it used a real key). ``prod``: the private source
    is required and must not be the dev key; a public source, if given, must
    match it.
    """
    has_private = _given(private_key) or _given(private_key_env)
    has_public = _given(public_key) or _given(public_key_env)
    if mode == "dev":
        if has_private or has_public:
            raise InvalidInput("dev mode does not accept explicit key sources")
        from gait.signing.devkey import load_or_create_dev_key

        try:
            return load_or_create_dev_key(), [DEV_KEY_WARNING]
        except OSError:
            return generate_keypair(), [DEV_EPHEMERAL_WARNING]
    if mode == "prod":
        if not has_private:
            raise InvalidInput("prod mode requires a private key source")
        pair = load_private_key(private_key, private_key_env)
        _refuse_dev_key(pair)
        if has_public:
            public = load_public_key(public_key, public_key_env)
            if public.key_id != pair.key_id:
                raise InvalidInput("public key does not match private key")
        return pair, []
    raise InvalidInput(f'unsupported key mode: "{mode}"')


def _refuse_dev_key(pair: KeyPair) -> None:
    """Prod mode never signs with the per-user dev key, whatever path names it."""
    from gait.signing.devkey import find_dev_key

    try:
        dev = find_dev_key()
    except (OSError, InvalidInput):
        return
    if dev is not None and dev.key_id == pair.key_id:
        raise InvalidInput(
            f"prod mode refuses the per-user dev key ({dev.source.removeprefix('dev:')}); "
            "create a production key with: gait keys init"
        )


def resolve_verify_key(
    *,
    public_key: str | None = None,
    public_key_env: str | None = None,
    private_key: str | None = None,
    private_key_env: str | None = None,
    dev_fallback: bool = False,
) -> KeyPair:
    """The key to verify with: the public source if any, else derived from the private one.

    With ``dev_fallback`` and no source given, the per-user dev key is used if
    this user has one (its ``source`` is ``dev:<path>`` so callers can say so).
    """
    if _given(public_key) and _given(public_key_env):
        raise InvalidInput("public key source: set either path or env")
    if _given(private_key) and _given(private_key_env):
        raise InvalidInput("private key source: set either path or env")
    if _given(public_key) or _given(public_key_env):
        return load_public_key(public_key, public_key_env)
    if _given(private_key) or _given(private_key_env):
        pair = load_private_key(private_key, private_key_env)
        return KeyPair(pair.public, None, pair.key_id, "derived")
    if dev_fallback:
        from gait.signing.devkey import find_dev_key

        try:
            dev = find_dev_key()
        except OSError:
            dev = None
        if dev is not None:
            return KeyPair(dev.public, None, dev.key_id, dev.source)
    raise InvalidInput("public key not configured")


def encode_private_key(key: KeyPair) -> str:
    """Base64 of the 64-byte Go private key (seed ‖ public), without newline."""
    if key.private is None:
        raise InvalidInput("private key required")
    return base64.b64encode(_raw_seed(key.private) + key.public_bytes).decode("ascii")


def encode_public_key(key: KeyPair) -> str:
    """Base64 of the raw 32-byte public key, without newline."""
    return base64.b64encode(key.public_bytes).decode("ascii")


def write_private_key(
    path: str | os.PathLike[str], key: KeyPair, *, overwrite: bool = True
) -> None:
    """Write the private key file atomically, mode 0600, trailing newline."""
    atomic_write(path, (encode_private_key(key) + "\n").encode("ascii"), overwrite=overwrite)


def write_public_key(path: str | os.PathLike[str], key: KeyPair, *, overwrite: bool = True) -> None:
    """Write the public key file atomically, mode 0600, trailing newline."""
    atomic_write(path, (encode_public_key(key) + "\n").encode("ascii"), overwrite=overwrite)
