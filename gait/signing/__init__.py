"""Ed25519 keys and the record signing scheme of trace.md §2–§3.

Importing this package does not import ``cryptography``; the functions that
need it import it on first use, so CLI start-up stays fast. The names below
load their submodule on first access too: a command that only needs a
timestamp does not load key files, dataclasses or the canonical JSON encoder.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gait.signing.devkey import dev_key_paths, find_dev_key, load_or_create_dev_key, state_dir
    from gait.signing.keyfiles import KeyFiles, init_key_files, rotate_key_files, rotated_prefix
    from gait.signing.keys import (
        DEV_EPHEMERAL_WARNING,
        DEV_KEY_WARNING,
        KeyPair,
        encode_private_key,
        encode_public_key,
        generate_keypair,
        key_id_for,
        load_private_key,
        load_public_key,
        resolve_signing_key,
        resolve_verify_key,
        source_label,
        write_private_key,
        write_public_key,
    )
    from gait.signing.signature import (
        ALG_ED25519,
        record_digest,
        sign_digest,
        sign_record,
        verify_record,
        verify_signature,
    )
    from gait.signing.timestamps import format_rfc3339, now_rfc3339, parse_rfc3339, to_rfc3339

# public name -> submodule that defines it
_WHERE = {
    **dict.fromkeys(
        ("dev_key_paths", "find_dev_key", "load_or_create_dev_key", "state_dir"), "devkey"
    ),
    **dict.fromkeys(
        ("KeyFiles", "init_key_files", "rotate_key_files", "rotated_prefix"), "keyfiles"
    ),
    **dict.fromkeys(
        (
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
        ),
        "keys",
    ),
    **dict.fromkeys(
        (
            "ALG_ED25519",
            "record_digest",
            "sign_digest",
            "sign_record",
            "verify_record",
            "verify_signature",
        ),
        "signature",
    ),
    **dict.fromkeys(("format_rfc3339", "now_rfc3339", "parse_rfc3339", "to_rfc3339"), "timestamps"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'gait.signing' has no attribute {name!r}")
    value = getattr(import_module(f"gait.signing.{where}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "ALG_ED25519",
    "DEV_EPHEMERAL_WARNING",
    "DEV_KEY_WARNING",
    "KeyFiles",
    "KeyPair",
    "dev_key_paths",
    "encode_private_key",
    "encode_public_key",
    "find_dev_key",
    "format_rfc3339",
    "generate_keypair",
    "init_key_files",
    "key_id_for",
    "load_or_create_dev_key",
    "load_private_key",
    "load_public_key",
    "now_rfc3339",
    "parse_rfc3339",
    "record_digest",
    "resolve_signing_key",
    "resolve_verify_key",
    "rotate_key_files",
    "rotated_prefix",
    "sign_digest",
    "sign_record",
    "source_label",
    "state_dir",
    "to_rfc3339",
    "verify_record",
    "verify_signature",
    "write_private_key",
    "write_public_key",
]
