"""``gait gateway ingest``: gateway audit logs to signed policy_enforcement proof records.

Library: :mod:`gait.gateway.ingest`; formats: docs/gateway.md.
"""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import GaitError

SCHEMA_ID = "gait.gateway.output"
SCHEMA_VERSION = "1.0.0"
_EXPLAIN = (
    "Ingest gateway audit logs and emit signed policy_enforcement proof records "
    "for compliance evidence."
)

group = GaitGroup(
    name="gateway",
    help="Turn gateway audit logs (kong, docker, mintmcp) into signed proof records.",
    explain=_EXPLAIN,
    intercept_explain=True,
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _failed(err: GaitError, as_json: bool) -> Outcome:
    payload: dict[str, Any] = {
        "ok": False,
        "schema_id": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "operation": "ingest",
        "error": err.message,
        "error_code": err.code,
        "error_category": err.category,
    }
    stderr = [] if as_json else [f"gateway ingest error: {err.message}"]
    return Outcome(payload, err.exit_code, text=[], stderr=stderr)


@gait_command(
    group,
    "ingest",
    explain=_EXPLAIN,
    help=(
        "Read a gateway log (one JSON object per line; docker lines may wrap the JSON in "
        '"log") and write one hash-chained, ed25519-signed policy_enforcement proof record '
        "per non-blank line (JSONL). Exit 6 on bad input, 1 when the output cannot be written."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--source", default="", help="Gateway that wrote the log: kong, docker or mintmcp.")
@click.option("--log-path", default="", help="Gateway log file to read (JSON lines).")
@click.option(
    "--proof-out",
    default="",
    help="Proof records JSONL to write (default: gateway_<source>_policy_enforcement.jsonl "
    "beside the log).",
)
@click.option("--key-mode", default="dev", show_default=True, help="Signing key mode: dev or prod.")
@click.option("--private-key", default="", help="Path to a base64 private signing key (prod).")
@click.option(
    "--private-key-env", default="", help="Env var holding a base64 private signing key (prod)."
)
def ingest_command(
    args: tuple[str, ...],
    source: str,
    log_path: str,
    proof_out: str,
    key_mode: str,
    private_key: str,
    private_key_env: str,
    json: bool,
) -> Outcome:
    from gait.errors import InvalidInput

    try:
        if args:
            raise InvalidInput("unexpected positional arguments")
        if not source.strip() or not log_path.strip():
            raise InvalidInput("expected --source <kong|docker|mintmcp> and --log-path <path>")
        return _ingest(source, log_path, proof_out, key_mode, private_key, private_key_env)
    except GaitError as err:
        return _failed(err, json)


def _ingest(
    source: str,
    log_path: str,
    proof_out: str,
    key_mode: str,
    private_key: str,
    private_key_env: str,
) -> Outcome:
    from gait import __version__
    from gait.gateway import ingest_logs
    from gait.signing import resolve_signing_key

    key, warnings = resolve_signing_key(
        key_mode.strip().lower(), private_key=private_key, private_key_env=private_key_env
    )
    result = ingest_logs(
        source.strip(),
        log_path.strip(),
        proof_out.strip(),
        producer_version=__version__,
        key=key,
    )
    payload: dict[str, Any] = {
        "ok": True,
        "schema_id": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "operation": "ingest",
        "source": result.source,
        "log_path": result.log_path,
        "proof_records_out": result.proof_records_out,
    }
    # Counts of zero and an empty warning list are left out, as in the reference output.
    if result.input_events:
        payload["input_events"] = result.input_events
    if result.output_records:
        payload["output_records"] = result.output_records
    if warnings:
        payload["warnings"] = list(warnings)
    lines = [
        f"gateway ingest: source={result.source} input={result.input_events} "
        f"output={result.output_records} proof={result.proof_records_out}"
    ]
    if warnings:
        lines.append("warnings: " + "; ".join(warnings))
    return Outcome(payload, text=lines, warnings_in_text=True)
