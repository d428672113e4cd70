"""``gait guard encrypt|decrypt``: AES-256-GCM at-rest wrapping of one artifact.

The output (``gait.guard.encrypted_artifact`` 1.0.0, canonical JSON) carries
the base64 nonce and ciphertext, the plaintext's sha256 and size, and where the
key came from (``env`` + variable name, or ``command`` + program) — never the
key. The key is 32 bytes, base64, from ``--key-env`` or the stdout of
``--key-command`` (run without a shell).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import subprocess
from typing import Any

from gait.errors import InvalidInput

__all__ = ["decrypt_artifact", "encrypt_artifact", "resolve_encryption_key"]

SCHEMA_ID = "gait.guard.encrypted_artifact"
_FIELDS = {
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "algorithm",
    "key_source",
    "nonce",
    "ciphertext",
    "plain_sha256",
    "plain_size",
}


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput(f"decode encryption key from {where}: {err}") from err
    if len(key) != 32:
        raise InvalidInput(
            f"decode encryption key from {where}: expected 32-byte key, got {len(key)}"
        )
    return key


def resolve_encryption_key(
    key_env: str, key_command: str, key_command_args: list[str]
) -> tuple[bytes, dict[str, str]]:
    env = key_env.strip()
    if env:
        raw = os.environ.get(env, "").strip()
        if not raw:
            raise InvalidInput(f"encryption key env var is empty: {env}")
        return _decode_key(raw, "env"), {"mode": "env", "ref": env}
    command = key_command.strip()
    if command:
        args = [a.strip() for a in key_command_args if a.strip()]
        try:
            done = subprocess.run([command, *args], capture_output=True, check=False, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise InvalidInput(f"run encryption key command: {err}") from err
        if done.returncode != 0:
            raise InvalidInput(f"run encryption key command: exit status {done.returncode}")
        text = done.stdout.decode("utf-8", "replace")
        return _decode_key(text, "command"), {"mode": "command", "command": command}
    raise InvalidInput("missing key source: provide --key-env or --key-command")


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise InvalidInput(f"read {what}: {err.strerror or err}: {path}") from err


def _write(path: str, data: bytes) -> None:
    from gait.fsutil import atomic_write

    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    atomic_write(path, data, 0o600)


def encrypt_artifact(
    in_path: str,
    out_path: str = "",
    *,
    key_env: str = "",
    key_command: str = "",
    key_command_args: list[str] | None = None,
    producer_version: str = "0.0.0-dev",
) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from gait.canonical import canonical_bytes
    from gait.signing.timestamps import now_rfc3339

    source = in_path.strip()
    if not source:
        raise InvalidInput("input path is required")
    plain = _read(source, "input artifact")
    key, key_source = resolve_encryption_key(key_env, key_command, key_command_args or [])
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plain, None)
    artifact = {
        "schema_id": SCHEMA_ID,
        "schema_version": "1.0.0",
        "created_at": now_rfc3339(),
        "producer_version": producer_version.strip() or "0.0.0-dev",
        "algorithm": "aes-256-gcm",
        "key_source": key_source,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
        "plain_sha256": hashlib.sha256(plain).hexdigest(),
        "plain_size": len(plain),
    }
    target = out_path.strip() or source + ".gaitenc"
    _write(target, canonical_bytes(artifact))
    return {"path": target, "artifact": artifact, "key_source": key_source}


def decrypt_artifact(
    in_path: str,
    out_path: str = "",
    *,
    key_env: str = "",
    key_command: str = "",
    key_command_args: list[str] | None = None,
) -> dict[str, Any]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from gait.safejson import NotJSON, loads

    source = in_path.strip()
    if not source:
        raise InvalidInput("input path is required")
    raw = _read(source, "encrypted artifact")
    try:
        artifact = loads(raw, f"parse encrypted artifact {source}")
    except NotJSON as err:
        raise InvalidInput(f"parse encrypted artifact: {source}: not JSON") from err
    if not isinstance(artifact, dict):
        raise InvalidInput(f"parse encrypted artifact: {source}: expected a JSON object")
    unknown = sorted(set(artifact) - _FIELDS)
    if unknown:
        raise InvalidInput(f'parse encrypted artifact: json: unknown field "{unknown[0]}"')
    key, _ = resolve_encryption_key(key_env, key_command, key_command_args or [])
    try:
        nonce = base64.b64decode(str(artifact.get("nonce", "")), validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput(f"decode nonce: {err}") from err
    try:
        sealed = base64.b64decode(str(artifact.get("ciphertext", "")), validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput(f"decode ciphertext: {err}") from err
    if len(nonce) != 12:
        raise InvalidInput("decrypt artifact: cipher: message authentication failed")
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, None)
    except (InvalidTag, ValueError) as err:
        raise InvalidInput("decrypt artifact: cipher: message authentication failed") from err
    digest = hashlib.sha256(plain).hexdigest()
    expected = str(artifact.get("plain_sha256") or "")
    if expected and expected.lower() != digest:
        raise InvalidInput("decrypted payload digest mismatch")
    target = out_path.strip()
    if not target:
        target = source[: -len(".gaitenc")] if source.endswith(".gaitenc") else source + ".plain"
    _write(target, plain)
    return {"path": target, "plain_sha256": digest, "plain_size": len(plain)}
