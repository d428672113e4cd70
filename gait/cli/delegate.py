"""``gait delegate mint|verify``: signed delegation tokens."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.common import csv_list
from gait.errors import InvalidInput

group = GaitGroup(
    name="delegate",
    help="Mint and verify signed delegation tokens.",
    explain="Mint and verify signed delegation tokens that let one identity act for another.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


@gait_command(
    group, "mint", explain="Mint a signed delegation token.", help="Mint a signed delegation token."
)
@click.option("--delegator", default="", help="Identity handing over the authority.")
@click.option("--delegate", default="", help="Identity receiving it (the agent).")
@click.option("--scope", default="", help="CSV of scopes granted, e.g. tool:tool.write.")
@click.option("--scope-class", default="", help="A scope class granted on top of --scope.")
@click.option("--ttl", default="", help="How long the token is valid: Go duration, e.g. 2h.")
@click.option("--intent-digest", default="", help="Bind the token to this intent digest.")
@click.option("--policy-digest", default="", help="Bind the token to this policy digest.")
@click.option("--out", default="", help="Token path (default delegation_<token_id>.json).")
@click.option(
    "--key-mode",
    default="dev",
    show_default=True,
    help="dev (your per-user dev key) or prod (needs --private-key/--private-key-env).",
)
@click.option("--private-key", default=None, help="Signing key file (prod mode).")
@click.option("--private-key-env", default=None, help="Env var holding the signing key (prod).")
def mint(
    delegator: str,
    delegate: str,
    scope: str,
    scope_class: str,
    ttl: str,
    intent_digest: str,
    policy_digest: str,
    out: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait.gate.choices import check_key_mode
    from gait.gate.tokens import mint_delegation, parse_ttl, write_token
    from gait.signing import resolve_signing_key

    nanos = parse_ttl(ttl)
    if not csv_list(scope):
        raise InvalidInput("scope is required")
    key, warnings = resolve_signing_key(
        check_key_mode(key_mode), private_key=private_key, private_key_env=private_key_env
    )
    _check_mint_inputs(delegator, delegate, intent_digest, policy_digest)
    token = mint_delegation(
        key,
        delegator=delegator,
        delegate=delegate,
        scope=csv_list(scope),
        ttl_nanos=nanos,
        scope_class=scope_class,
        intent_digest=intent_digest,
        policy_digest=policy_digest,
    )
    path = write_token(out.strip() or f"delegation_{token['token_id']}.json", token)
    payload = {
        "ok": True,
        "token_id": token["token_id"],
        "token_path": path,
        "delegator_identity": token["delegator_identity"],
        "delegate_identity": token["delegate_identity"],
        "scope": token["scope"],
        "scope_class": token.get("scope_class", ""),
        "expires_at": _rfc3339_seconds(token["expires_at"]),
        "key_id": key.key_id,
        "warnings": warnings,
        "description": "signed delegation token created",
    }
    payload = {k: v for k, v in payload.items() if v not in ([], "")}
    return Outcome(payload, text=[f"delegation token ok: {path}"])


def _rfc3339_seconds(text: str) -> str:
    """Go's time.RFC3339 rendering of a UTC time: whole seconds."""
    return text.split(".")[0].rstrip("Z") + "Z" if text else ""


def _check_mint_inputs(delegator: str, delegate: str, intent: str, policy: str) -> None:
    """The original's checks and messages, in its order (core/gate/delegation.go)."""
    from gait.intent._text import is_sha256_hex

    if not delegator.strip() or not delegate.strip():
        raise InvalidInput("delegator and delegate identities are required")
    for name, value in (("intent_digest", intent), ("policy_digest", policy)):
        if value.strip() and not is_sha256_hex(value.strip().lower()):
            raise InvalidInput(f"{name} must be sha256 hex when set")


# the original's error text after each code (DelegationTokenError: "<code>: <detail>")
_DETAIL = {
    "delegation_token_signature_missing": "signature missing",
    "delegation_token_signature_invalid": "signature verification failed",
    "delegation_token_expired": "token expired",
    "delegation_token_delegator_mismatch": "delegator mismatch",
    "delegation_token_delegate_mismatch": "delegate mismatch",
    "delegation_token_intent_mismatch": "intent digest mismatch",
    "delegation_token_policy_mismatch": "policy digest mismatch",
    "delegation_token_scope_mismatch": "scope mismatch",
}


@gait_command(
    group,
    "verify",
    explain="Verify a delegation token.",
    help="Verify a delegation token (exit 2 if invalid).",
)
@click.option("--token", default="", help="Delegation token file to check.")
@click.option("--delegator", default="", help="Expected delegator identity.")
@click.option("--delegate", default="", help="Expected delegate identity.")
@click.option("--scope", default="", help="CSV of scopes; the token must grant one of them.")
@click.option("--intent-digest", default="", help="Expected intent digest.")
@click.option("--policy-digest", default="", help="Expected policy digest.")
@click.option(
    "--public-key", default=None, help="Verify key file (default: your dev key, if you have one)."
)
@click.option("--public-key-env", default=None, help="Env var holding the verify key.")
@click.option(
    "--private-key", default=None, help="Private key file whose public half verifies the token."
)
@click.option("--private-key-env", default=None, help="Env var holding that private key.")
def verify(
    token: str,
    delegator: str,
    delegate: str,
    scope: str,
    intent_digest: str,
    policy_digest: str,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait.gate.tokens import read_token, validate_delegation
    from gait.signing import resolve_verify_key

    if not token.strip():
        raise InvalidInput("--token is required")
    doc = read_token(token.strip())
    key = resolve_verify_key(
        public_key=public_key,
        public_key_env=public_key_env,
        private_key=private_key,
        private_key_env=private_key_env,
        dev_fallback=True,
    )
    check = validate_delegation(
        doc,
        key,
        delegator=delegator.strip(),
        delegate=delegate.strip(),
        required_scope=csv_list(scope),
        intent_digest=intent_digest.strip(),
        policy_digest=policy_digest.strip(),
    )
    payload: dict[str, Any] = {
        "ok": check.valid,
        "token_id": check.token_id,
        "token_path": token.strip(),
        "valid": check.valid,
        "key_id": key.key_id,
    }
    if key.source.startswith("dev:"):
        payload["key_source"] = "dev"
        payload["key_path"] = key.source.removeprefix("dev:")
    if not check.valid:
        detail = _DETAIL.get(check.error_code, "invalid delegation token")
        payload["error"] = f"{check.error_code}: {detail}"
        payload["error_code"] = check.error_code
        return Outcome(payload, exit_code=2, text=[f"delegate error: {payload['error']}"])
    scope_class = str(doc.get("scope_class") or "").strip().lower()
    payload.update(
        delegator_identity=str(doc.get("delegator_identity") or "").strip(),
        delegate_identity=str(doc.get("delegate_identity") or "").strip(),
        scope=sorted({str(v).strip().lower() for v in doc.get("scope") or [] if str(v).strip()}),
        expires_at=_rfc3339_seconds(str(doc.get("expires_at") or "")),
        description="delegation token verified",
    )
    if scope_class:
        payload["scope_class"] = scope_class
    return Outcome(payload, text=[f"delegation token ok: {token.strip()}"])
