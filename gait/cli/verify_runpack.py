"""``gait verify RUNPACK``: the plain runpack check, with no click here.

The click command in gait.cli.verify and the click-free fast path
(gait.cli.fast) both call :func:`verify_one`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gait.cli.outcome import Outcome, gc_paused
from gait.errors import GaitError, InvalidInput

NOTES = {
    ("missing", False): (
        "unsigned local/dev artifacts are expected by default; "
        "use --require-signature for strict verification"
    ),
    (
        "missing",
        True,
    ): "signatures are required in this mode; provide signing keys and re-run verify",
    ("skipped", False): "signature checks were skipped because no verify key was provided",
    ("skipped", True): (
        "signature checks were expected but skipped; provide a public key or private key source"
    ),
    ("verified", False): "signatures verified",
    ("verified", True): "signatures verified",
    ("failed", False): (
        "signature verification failed; inspect signature_errors and re-run with the correct key"
    ),
    ("failed", True): (
        "signature verification failed; inspect signature_errors and re-run with the correct key"
    ),
}


def next_commands(run_id: str) -> list[str]:
    return [
        f"gait regress bootstrap --from {run_id} --json --junit ./gait-out/junit.xml",
        "gait demo --durable",
        "gait demo --policy",
    ]


def load_verify_key(
    profile: str,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
) -> tuple[Any, bool]:
    """``(key or None, strict)``; strict needs a key source (else exit 6)."""
    # as cmd/gait/verify.go parseArtifactVerifyProfile: trimmed, any case, empty = standard
    given = profile
    profile = profile.strip().lower() or "standard"
    if profile not in ("standard", "strict"):
        import json  # Go's %q, close enough for a flag value

        raise InvalidInput(
            f"unsupported --profile value {json.dumps(given)} (expected standard or strict)"
        )
    sources = [public_key, public_key_env, private_key, private_key_env]
    has_source = any(s and s.strip() for s in sources)
    strict = profile == "strict"
    if strict and not has_source:
        raise InvalidInput(
            "strict verify profile requires --public-key/--public-key-env or private key source"
        )
    if not has_source:
        return None, strict
    from gait.signing import resolve_verify_key

    key = resolve_verify_key(
        public_key=public_key,
        public_key_env=public_key_env,
        private_key=private_key,
        private_key_env=private_key_env,
    )
    return key, strict


def verify_payload(target: str, key: Any, require_signature: bool) -> dict[str, Any]:
    """Resolve and verify one runpack; the §4.3 JSON payload (``ok`` decides the exit code)."""
    from gait.runpack.locate import resolve_runpack
    from gait.runpack.verify import verify_runpack

    path = resolve_runpack(target)
    dev_key = None
    if key is None:
        from gait.signing import find_dev_key

        try:
            dev_key = find_dev_key()
        except (OSError, InvalidInput):
            dev_key = None
    from gait.cli.term import Progress

    try:
        with Progress("verify hashing", 0, in_bytes=True) as shown:
            report = verify_runpack(
                path,
                public_key=key,
                require_signature=require_signature,
                dev_key=dev_key,
                progress=shown,
            )
    except GaitError as err:
        err.details.setdefault("path", path)
        raise
    payload = report.to_json()
    payload["signature_note"] = NOTES[(report.signature_status, require_signature)]
    if report.key_source == "dev":
        payload["signature_note"] += " with your per-user dev key (dev mode, not a production key)"
    payload["next_commands"] = next_commands(report.run_id)
    return payload


def verify_text(payload: dict[str, Any]) -> list[str]:
    """Lines in the original's order (cmd/gait/verify.go writeVerifyOutput)."""
    path = payload.get("path", "")
    if payload["ok"]:
        lines = [f"verify ok: {path}"]
    else:
        lines = [f"verify failed: {path}"]
        if payload.get("missing_files"):
            lines.append("missing files: " + ", ".join(payload["missing_files"]))
        if payload.get("hash_mismatches"):
            lines.append(f"hash mismatches: {len(payload['hash_mismatches'])}")
        # checks the original does not make: say why they failed
        if payload.get("unexpected_files"):
            lines.append("unexpected files: " + ", ".join(payload["unexpected_files"]))
        if payload.get("zip_errors"):
            lines.append("zip errors: " + "; ".join(payload["zip_errors"]))
        if payload.get("context_errors"):
            lines.append("context errors: " + "; ".join(payload["context_errors"]))
    if payload.get("signature_status"):
        lines.append(f"signature status: {payload['signature_status']}")
    if payload.get("signature_note"):
        lines.append(f"signature note: {payload['signature_note']}")
    if not payload["ok"] and payload.get("signature_errors"):
        lines.append("signature errors: " + "; ".join(payload["signature_errors"]))
    if payload.get("next_commands"):
        lines.append("next: " + " | ".join(payload["next_commands"]))
    return lines


@gc_paused
def verify_one(
    targets: Sequence[str],
    *,
    profile: str = "standard",
    require_signature: bool = False,
    keys: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None),
) -> Outcome:
    """Verify one runpack (run_id or path): exit 0 ok, 2 integrity or signature failure."""
    if len(targets) != 1:
        raise InvalidInput("expected run_id or path")
    key, strict = load_verify_key(profile, *keys)
    payload = verify_payload(targets[0], key, require_signature or strict)
    return Outcome(payload, 0 if payload["ok"] else 2, text=verify_text(payload))
