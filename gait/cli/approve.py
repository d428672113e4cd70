"""``gait approve``: mint a signed approval token bound to one intent and policy digest."""

from __future__ import annotations

import click

from gait.cli.base import Outcome, gait_command
from gait.cli.common import csv_list
from gait.errors import InvalidInput


@gait_command(
    None,
    "approve",
    explain="Mint a signed approval token for one intent digest and policy digest.",
    help=(
        "Mint a signed approval token. gate eval accepts it (--approval-token) to turn "
        "require_approval into allow for exactly that intent and policy."
    ),
)
@click.option(
    "--intent-digest", default="", help="64-hex digest of the intent (from gate eval --json)."
)
@click.option("--policy-digest", default="", help="64-hex policy digest.")
@click.option(
    "--delegation-binding-digest", default="", help="Bind to the intent's delegation chain."
)
@click.option("--ttl", default="", help="Go duration, e.g. 30m, 2h.")
@click.option("--scope", default="", help="CSV of scopes, e.g. tool:tool.write,phase:apply.")
@click.option("--approver", default="", help="Approver identity.")
@click.option("--reason-code", default="", help="Why this was approved (ticket id, change id).")
@click.option(
    "--max-targets",
    default=0,
    type=int,
    help="Most targets the approved call may touch (0: no limit).",
)
@click.option(
    "--max-ops",
    default=0,
    type=int,
    help="Most operations the approved call may run (0: no limit).",
)
@click.option("--out", default="", help="Token path (default approval_<token_id>.json).")
@click.option(
    "--key-mode",
    default="dev",
    show_default=True,
    help="dev (your per-user dev key) or prod (needs --private-key/--private-key-env).",
)
@click.option("--private-key", default=None, help="Signing key file (prod mode).")
@click.option(
    "--private-key-env", default=None, help="Env var holding the signing key (prod mode)."
)
def command(
    intent_digest: str,
    policy_digest: str,
    delegation_binding_digest: str,
    ttl: str,
    scope: str,
    approver: str,
    reason_code: str,
    max_targets: int,
    max_ops: int,
    out: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    from gait.gate.choices import check_key_mode
    from gait.gate.tokens import mint_approval, parse_ttl, write_token
    from gait.signing import resolve_signing_key

    ttl_nanos = parse_ttl(ttl)
    if not csv_list(scope):
        raise InvalidInput("scope is required")
    key, warnings = resolve_signing_key(
        check_key_mode(key_mode), private_key=private_key, private_key_env=private_key_env
    )
    _check_mint_inputs(intent_digest, policy_digest, delegation_binding_digest, approver)
    token = mint_approval(
        key,
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        approver=approver,
        reason_code=reason_code,
        scope=csv_list(scope),
        ttl_nanos=ttl_nanos,
        delegation_binding_digest=delegation_binding_digest,
        max_targets=max_targets,
        max_ops=max_ops,
    )
    path = write_token(out.strip() or f"approval_{token['token_id']}.json", token)
    payload = {
        "ok": True,
        "token_id": token["token_id"],
        "token_path": path,
        "expires_at": token["expires_at"].split(".")[0].rstrip("Z") + "Z",
        "reason_code": token["reason_code"],
        "scope": token["scope"],
        "max_targets": token.get("max_targets", 0),
        "max_ops": token.get("max_ops", 0),
        "key_id": key.key_id,
        "warnings": warnings,
        "description": "signed approval token created",
    }
    payload = {k: v for k, v in payload.items() if v not in (0, [])}
    return Outcome(payload, text=[f"approval token created: {path}"])


def _check_mint_inputs(intent: str, policy: str, binding: str, approver: str) -> None:
    """The original's checks and messages, in its order (core/gate/approval.go)."""
    from gait.gate.tokens import is_sha256_hex

    if not is_sha256_hex(intent.strip().lower()):
        raise InvalidInput("intent_digest must be sha256 hex")
    if not is_sha256_hex(policy.strip().lower()):
        raise InvalidInput("policy_digest must be sha256 hex")
    if binding.strip() and not is_sha256_hex(binding.strip().lower()):
        raise InvalidInput("delegation_binding_digest must be sha256 hex when set")
    if not approver.strip():
        raise InvalidInput("approver identity is required")
