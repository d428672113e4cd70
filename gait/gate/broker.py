"""Credential brokers for rules with ``require_broker_credential`` (trace.md §5.6).

The broker proves a credential *could* be issued for this call; only a
reference to it is recorded, never the secret.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from gait.canonical import sha256_hex
from gait.errors import InvalidInput
from gait.signing import format_rfc3339, now_rfc3339, parse_rfc3339

BROKERS = ("off", "none", "stub", "env", "command")
DEFAULT_ENV_PREFIX = "GAIT_BROKER_TOKEN_"
_MAX_OUTPUT = 16 * 1024
_TIMEOUT = 5.0


class BrokerFailure(Exception):
    """The broker could not issue a credential (the call is blocked, not an input error)."""


class BrokerRequest(msgspec.Struct, frozen=True):
    tool_name: str
    identity: str
    workspace: str
    session_id: str
    request_id: str
    reference: str
    scope: tuple[str, ...]


class Credential(msgspec.Struct, gc=False):
    """What a broker issued: a reference to the credential, never the secret."""

    issued_by: str
    credential_ref: str
    issued_at: str
    expires_at: str
    ttl_seconds: int = 0
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


CREDENTIAL_RECORD_SCHEMA = "gait.gate.broker_credential_record"


class BrokerCredentialRecord(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """``gait.gate.broker_credential_record`` v1.0.0 (trace.md §5.6), in written order.

    Optional fields are left out when empty; ``issued_at`` and ``expires_at``
    are always written, empty or not. ``identity`` is left out when the intent
    carried none.
    """

    schema_id: str
    schema_version: str
    created_at: str
    producer_version: str
    trace_id: str
    tool_name: str
    identity: str = ""
    broker: str
    reference: str = ""
    scope: list[str] = msgspec.field(default_factory=list)
    credential_ref: str
    issued_at: str
    expires_at: str
    ttl_seconds: int = 0


def credential_record(
    credential: Credential,
    *,
    created_at: str,
    trace_id: str,
    tool_name: str,
    identity: str,
    broker: str,
    reference: str,
    scope: list[str],
) -> dict[str, Any]:
    """The evidence record for an issued credential (written next to the signed trace)."""
    from gait import PRODUCER_VERSION

    record = BrokerCredentialRecord(
        schema_id=CREDENTIAL_RECORD_SCHEMA,
        schema_version="1.0.0",
        created_at=created_at,
        producer_version=PRODUCER_VERSION,
        trace_id=trace_id,
        tool_name=tool_name,
        identity=identity,
        broker=broker,
        reference=reference,
        scope=scope,
        credential_ref=credential.credential_ref,
        issued_at=credential.issued_at,
        expires_at=credential.expires_at,
        ttl_seconds=credential.ttl_seconds or 0,  # a command broker's false is no TTL
    )
    return msgspec.to_builtins(record)


def check_broker_config(name: str, command: str, names: Mapping[str, str] | None = None) -> str:
    """The canonical broker name; ``names`` spells options the caller's way in errors."""
    flag = (names or {}).get("credential_command", "credential_command")
    name = (name or "off").strip().lower()
    if name not in BROKERS:
        raise InvalidInput(f"unsupported credential broker: {name}")
    if name == "command":
        if not command.strip():
            raise InvalidInput(f"command broker requires {flag}")
        if any(c.isspace() for c in command.strip()):
            raise InvalidInput(f"{flag} must not contain whitespace")
    return "off" if name == "none" else name


class CredentialBroker(msgspec.Struct, frozen=True):
    """A configured broker; the pipeline only calls ``issue`` and reads ``name``."""

    name: str = "off"
    env_prefix: str = DEFAULT_ENV_PREFIX
    command: str = ""
    command_args: tuple[str, ...] = ()

    @classmethod
    def configure(
        cls,
        name: str,
        *,
        env_prefix: str = DEFAULT_ENV_PREFIX,
        command: str = "",
        command_args: tuple[str, ...] = (),
        names: Mapping[str, str] | None = None,
    ) -> CredentialBroker:
        """Errors: InvalidInput for an unknown broker or a bad command."""
        canonical = check_broker_config(name, command, names)
        return cls(canonical, env_prefix or DEFAULT_ENV_PREFIX, command.strip(), command_args)

    def issue(self, req: BrokerRequest) -> Credential:
        """A credential for ``req``; raises BrokerFailure when none can be issued."""
        return issue(
            self.name,
            req,
            env_prefix=self.env_prefix,
            command=self.command,
            command_args=self.command_args,
        )


def _plus(ts: str, seconds: int) -> str:
    secs, nanos = parse_rfc3339(ts)
    return format_rfc3339(secs + seconds, nanos)


def _broker_time(value: str, what: str) -> str:
    """A broker-supplied time as RFC 3339 UTC text; a malformed one is a broker failure."""
    if not value:
        return ""
    try:
        return format_rfc3339(*parse_rfc3339(value))
    except InvalidInput as err:
        raise BrokerFailure(f"credential {what} is not an RFC 3339 time: {value!r}") from err


def issue(
    broker: str,
    req: BrokerRequest,
    *,
    env_prefix: str = DEFAULT_ENV_PREFIX,
    command: str = "",
    command_args: tuple[str, ...] = (),
) -> Credential:
    now = now_rfc3339()
    if broker == "stub":
        material = "|".join(
            [
                req.tool_name,
                req.identity,
                req.workspace,
                req.session_id,
                req.request_id,
                req.reference,
                ",".join(req.scope),
            ]
        )
        ref = "stub:" + sha256_hex(material.encode())[:24]
        return Credential("stub", ref, now, _plus(now, 300), 300)
    if broker == "env":
        return _issue_env(req, env_prefix, now)
    if broker == "command":
        return _issue_command(req, command, command_args, now)
    raise BrokerFailure("no credential broker configured")


def env_key(reference: str, tool_name: str) -> str:
    key = (reference or tool_name).upper().replace(".", "_").replace("-", "_")
    key = re.sub(r"[^A-Z0-9_]+", "_", key).strip("_")
    return key or "DEFAULT"


def _issue_env(req: BrokerRequest, prefix: str, now: str) -> Credential:
    var = f"{prefix}{env_key(req.reference, req.tool_name)}"
    value = os.environ.get(var, "")
    if not value.strip():
        raise BrokerFailure(f"credential env not set: {var}")
    ref = f"env:{var}:" + sha256_hex(value.encode())[:16]
    issued = _broker_time(os.environ.get(f"{var}_ISSUED_AT", "").strip(), "issued_at") or now
    expires = _broker_time(os.environ.get(f"{var}_EXPIRES_AT", "").strip(), "expires_at")
    ttl_text = os.environ.get(f"{var}_TTL_SECONDS", "").strip()
    ttl = int(ttl_text) if ttl_text.isdigit() else 0
    if not expires and ttl:
        expires = _plus(issued, ttl)
    return Credential("env", ref, issued, expires, ttl)


def _issue_command(req: BrokerRequest, command: str, args: tuple[str, ...], now: str) -> Credential:
    import subprocess  # only the command broker runs a process

    allow = os.environ.get("GAIT_CREDENTIAL_COMMAND_ALLOWLIST", "")
    if allow.strip():
        allowed = {a.strip() for a in allow.split(",") if a.strip()}
        if command not in allowed and os.path.basename(command) not in allowed:
            raise BrokerFailure(f"credential command not in allowlist: {command}")
    payload = json.dumps(
        {
            "ToolName": req.tool_name,
            "Identity": req.identity,
            "Workspace": req.workspace,
            "SessionID": req.session_id,
            "RequestID": req.request_id,
            "Reference": req.reference,
            "Scope": list(req.scope),
        }
    )
    try:
        proc = subprocess.run(
            [command, *args],
            input=payload.encode(),
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BrokerFailure(f"credential command failed: {err}") from err
    if len(proc.stdout) + len(proc.stderr) > _MAX_OUTPUT:
        raise BrokerFailure("credential command output exceeds 16 KiB")
    if proc.returncode != 0:
        raise BrokerFailure(f"credential command exited {proc.returncode}")
    from gait.safejson import loads

    try:
        doc = loads(proc.stdout, "credential command output")
    except InvalidInput as err:  # not JSON, a repeated key, a huge number: no credential
        raise BrokerFailure(err.message) from err
    ref = doc.get("credential_ref") if isinstance(doc, dict) else None
    if (
        not isinstance(ref, str)
        or not ref.strip()
        or len(ref) > 256
        or any(c in ref for c in "\r\n\t")
    ):
        raise BrokerFailure("credential command returned an invalid credential_ref")
    ttl = doc.get("ttl_seconds") if isinstance(doc.get("ttl_seconds"), int) else 0
    issued = doc.get("issued_at") if isinstance(doc.get("issued_at"), str) else ""
    issued = _broker_time(issued.strip(), "issued_at") or now
    expires = doc.get("expires_at") if isinstance(doc.get("expires_at"), str) else ""
    expires = _broker_time(expires.strip(), "expires_at")
    if not expires and ttl:
        expires = _plus(issued, ttl)
    issued_by = doc.get("issued_by") if isinstance(doc.get("issued_by"), str) else "command"
    return Credential(issued_by or "command", ref.strip(), issued, expires, ttl)
