"""``gait gate eval``: the command body and its option table, without click.

The click command in gait.cli.gate declares its options from the tables here
and calls :func:`run_gate_eval`; plain spellings run through gait.cli.fast
with the same option values, so both paths share one body.
"""

from __future__ import annotations

import sys
from typing import Any

from gait.cli.outcome import Outcome, gc_paused
from gait.errors import InvalidInput

EXPLAIN = (
    "Evaluate a tool-call intent against a policy, enforce the verdict (exit 0 allow, "
    "3 block, 4 approval required) and write a signed trace."
)

# Valued options of the command itself: name -> click's default (what the body sees
# when the option is not given).
VALUED: dict[str, str | None] = {
    "policy": "",
    "intent": "",
    "trace-out": "",
    "key-mode": "dev",
    "private-key": None,
    "private-key-env": None,
    "profile": "standard",
    "approval-token-ref": "",
}

# Boolean flags (``--explain`` is left out: it always goes through click).
FLAGS = ("simulate", "no-config", "trust-project-keys", "why")

# String flags of trace.md §5.1 consumed by the gate pipeline, with their help text.
PASSTHROUGH = {
    "approval-token": "Approval token file(s), comma-separated.",
    "approval-token-chain": "More approval token files, comma-separated.",
    "approval-audit-out": "Approval audit record path (default approval_audit_<trace_id>.json).",
    "approval-public-key": "Public key file that verifies approval tokens.",
    "approval-public-key-env": "Env var holding the approval verify key.",
    "approval-private-key": "Private key file whose public half verifies approval tokens.",
    "approval-private-key-env": "Env var holding that private key.",
    "delegation-token": "Delegation token file(s), comma-separated.",
    "delegation-token-chain": "More delegation token files, comma-separated.",
    "delegation-audit-out": "Delegation audit record path.",
    "delegation-public-key": "Public key file that verifies delegation tokens.",
    "delegation-public-key-env": "Env var holding the delegation verify key.",
    "delegation-private-key": "Private key file whose public half verifies delegation tokens.",
    "delegation-private-key-env": "Env var holding that private key.",
    "rate-limit-state": "Rate-limit state file (older name of --state for a path).",
    "state": (
        "Shared state for budgets, rate limits and approval uses: a file path or "
        "redis://host:port/db (default .gait-out/gate_rate_limits.json)."
    ),
    "credential-broker": "off, stub, env or command.",
    "credential-env-prefix": "Env var prefix of the env broker (default GAIT_BROKER_TOKEN_).",
    "credential-ref": "Credential reference (default: the rule's broker_reference).",
    "credential-scopes": "Extra credential scopes, comma-separated.",
    "credential-command": "Executable of the command broker (no whitespace).",
    "credential-command-args": "Arguments of the command broker, comma-separated.",
    "credential-evidence-out": "Credential evidence record path.",
    "context-envelope": (
        "Context envelope JSON (gait.context.envelope): verified, then its digest, evidence "
        "mode, refs and age replace the intent's claims."
    ),
    "wrkr-inventory": (
        "Wrkr tool inventory JSON: adds wrkr.* context for the policy's context_* selectors. "
        "Unavailable: exit 3 for oss-prod or high/critical risk, else a warning."
    ),
    "approved-script-registry": (
        "Approved-script registry JSON (gait approve-script): a matching script is allowed "
        "without evaluation. Unavailable: exit 3 for oss-prod or high/critical risk."
    ),
    "approved-script-public-key": (
        "Public key file verifying registry entries (default: the approval verify key)."
    ),
    "approved-script-public-key-env": "Env var holding that public key.",
    "config": "Project defaults file (default .gait/config.yaml).",
}


def option_values(values: dict[str, str], flags: set[str]) -> dict[str, Any]:
    """The keyword arguments click would pass the body for these given options."""
    opts: dict[str, Any] = {}
    for name, default in VALUED.items():
        opts[name.replace("-", "_")] = values.get(name, default)
    for name in FLAGS:
        opts[name.replace("-", "_")] = name in flags
    opts["explain_flag"] = False
    for name in PASSTHROUGH:
        opts[name.replace("-", "_")] = values.get(name)
    return opts


@gc_paused
def run_gate_eval(args: tuple[str, ...] | list[str], opts: dict[str, Any]) -> Outcome:
    from gait.cli.common import csv_list, load_compiled, load_intent
    from gait.cli.output import correlation_id
    from gait.gate import Gate, GateOptions
    from gait.gate.pipeline import FlagNames, check_settings

    if opts["explain_flag"] and not (opts["policy"] and opts["intent"]):
        return Outcome({"ok": True, "explain": EXPLAIN}, text=[EXPLAIN])
    rest = [a.strip() for a in args]
    # POLICY and INTENT may also be given as positionals (as in `mcp proxy`).
    if not opts["policy"] and rest:
        opts["policy"] = rest.pop(0)
    if not opts["intent"] and rest:
        opts["intent"] = rest.pop(0)
    if rest:
        raise InvalidInput("unexpected positional arguments")
    config_warnings: list[str] = []
    if not opts["no_config"]:
        from gait.gate.config import load_gate_defaults

        given = frozenset(k for k, v in opts.items() if isinstance(v, str) and v.strip())
        defaults = load_gate_defaults(
            opts.get("config"),
            trust_project_keys=opts["trust_project_keys"],
            given=given,
            profile=opts["profile"].strip(),
            warnings=config_warnings,
        )
        builtin = {"profile": "standard", "key_mode": "dev"}
        if {"state", "rate_limit_state"} & given:
            # One setting under two names: the user's flag for either beats the file's.
            defaults.pop("state", None)
            defaults.pop("rate_limit_state", None)
        for name, value in defaults.items():
            current = opts.get(name)
            if current in (None, "") or current == builtin.get(name):
                opts[name] = value
    if not opts["policy"].strip() or not opts["intent"].strip():
        raise InvalidInput("both --policy and --intent are required")

    def opt(name: str) -> str | None:
        value = opts.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    flags = FlagNames()
    profile = opts["profile"].strip()  # case-sensitive, as the spec says
    key_mode = opts["key_mode"].strip()
    check_settings(
        profile,
        simulate=opts["simulate"],
        key_mode=key_mode,
        private_key=opt("private_key"),
        private_key_env=opt("private_key_env"),
        names=flags,
    )
    state, legacy_state = opt("state"), opt("rate_limit_state")
    if state and legacy_state and state != legacy_state:
        raise InvalidInput("use either --state or --rate-limit-state, not both")
    options = GateOptions(
        profile=profile,
        simulate=opts["simulate"],
        key_mode=key_mode,
        private_key=opt("private_key"),
        private_key_env=opt("private_key_env"),
        state=state or legacy_state,
        approval_public_key=opt("approval_public_key"),
        approval_public_key_env=opt("approval_public_key_env"),
        approval_private_key=opt("approval_private_key"),
        approval_private_key_env=opt("approval_private_key_env"),
        delegation_public_key=opt("delegation_public_key"),
        delegation_public_key_env=opt("delegation_public_key_env"),
        delegation_private_key=opt("delegation_private_key"),
        delegation_private_key_env=opt("delegation_private_key_env"),
        credential_broker=opt("credential_broker") or "off",
        credential_env_prefix=opt("credential_env_prefix") or "GAIT_BROKER_TOKEN_",
        credential_ref=opt("credential_ref") or "",
        credential_scopes=tuple(csv_list(opt("credential_scopes"))),
        credential_command=opt("credential_command") or "",
        credential_command_args=tuple(csv_list(opt("credential_command_args"))),
        wrkr_inventory=opt("wrkr_inventory"),
        approved_script_registry=opt("approved_script_registry"),
        approved_script_public_key=opt("approved_script_public_key"),
        approved_script_public_key_env=opt("approved_script_public_key_env"),
    )
    envelope = None
    if opt("context_envelope"):
        from gait.intent.envelope import load_envelope

        envelope = load_envelope(opt("context_envelope") or "")
    compiled = load_compiled(opts["policy"].strip())
    _raw, intent = load_intent(opts["intent"].strip())
    # a project file's ignored settings are reported with the decision
    gate = Gate(compiled, options, key_warnings=config_warnings, option_names=flags)
    try:
        result = gate.decide(
            intent,
            trace_out=opts["trace_out"].strip() or None,
            correlation_id=correlation_id(["gait", *sys.argv[1:]]),
            approval_token_ref=opts["approval_token_ref"],
            approval_tokens=[
                *csv_list(opt("approval_token")),
                *csv_list(opt("approval_token_chain")),
            ],
            approval_audit_out=opt("approval_audit_out"),
            delegation_tokens=[
                *csv_list(opt("delegation_token")),
                *csv_list(opt("delegation_token_chain")),
            ],
            delegation_audit_out=opt("delegation_audit_out"),
            credential_evidence_out=opt("credential_evidence_out"),
            context_envelope=envelope,
        )
    finally:
        gate.close()
    payload = result.to_payload(profile)
    text = gate_eval_text(payload)
    if opts["why"] or opts["explain_flag"]:
        from gait.engine.explain import explain_rows, render_explanation

        report = explain_rows(
            compiled, result.decision.intent or intent, history=result.flow_history
        )
        payload["explanation"] = report
        text = [*render_explanation(report), *text]
    return Outcome(payload, exit_code=result.exit_code, text=text, warnings_in_text=True)


def gate_eval_text(payload: dict[str, Any]) -> list[str]:
    """Text lines in the original's order (cmd/gait/gate.go writeGateEvalOutput); warnings on stdout."""
    text = [
        f"gate eval: verdict={payload.get('verdict', '')}",
        f"trace: {payload.get('trace_path', '')}",
    ]
    if payload.get("simulate_mode"):
        would = "true" if payload.get("would_have_blocked") else "false"
        text.append(
            f"simulate: would_have_blocked={would} "
            f"simulated_verdict={payload.get('simulated_verdict', '')}"
        )
    if payload.get("reason_codes"):
        text.append(f"reasons: {','.join(payload['reason_codes'])}")
    if payload.get("violations"):
        text.append(f"violations: {','.join(payload['violations'])}")
    if payload.get("required_approvals"):
        text.append(
            f"approvals: {payload.get('valid_approvals', 0)}/{payload['required_approvals']}"
        )
    if payload.get("approval_audit_path"):
        text.append(f"approval audit: {payload['approval_audit_path']}")
    if payload.get("delegation_required"):
        text.append(f"delegations: {payload.get('valid_delegations', 0)}")
    if payload.get("delegation_audit_path"):
        text.append(f"delegation audit: {payload['delegation_audit_path']}")
    if payload.get("credential_ref"):
        text.append(
            f"credential: {payload['credential_ref']} ({payload.get('credential_issuer', '')})"
        )
    if payload.get("credential_evidence_path"):
        text.append(f"credential evidence: {payload['credential_evidence_path']}")
    text += [f"warning: {w}" for w in payload.get("warnings") or ()]
    return text
