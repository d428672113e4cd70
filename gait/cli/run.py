"""``gait run record|receipt|inspect|diff|replay`` (runpack.md §6)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import GaitError, InvalidInput, VerificationFailed

group = GaitGroup(
    name="run",
    intercept_explain=True,
    explain="Record, inspect, diff, replay runpacks and print their ticket receipts.",
    help="Record, inspect, diff, replay runpacks; print receipts.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _one_target(positionals: tuple[str, ...], option: str | None, what: str) -> str:
    # As the reference: --from wins, else exactly one positional.
    rest = list(positionals)
    target = (option or "").strip()
    if not target and len(rest) == 1:
        target, rest = rest[0].strip(), []
    if not target:
        raise InvalidInput(f"missing required {what}")
    if rest:
        raise InvalidInput("unexpected positional arguments")
    return target


# Top-level fields the reference leaves out of its JSON when empty (omitempty).
INSPECT_OMIT = (
    "capture_mode",
    "intents_total",
    "results_total",
    "entries",
    "unmatched_results",
    "warnings",
)
REPLAY_OMIT = ("steps", "missing_results", "warnings", "requested_unsafe")
DIFF_OMIT = (
    "files_changed",
    "left_only_intents",
    "right_only_intents",
    "left_only_results",
    "right_only_results",
    "context_drift_classification",
    "context_runtime_only_changes",
    "step_changes",
)


def omit_empty(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Drop the listed keys when empty/zero/false (the reference's omitempty fields)."""
    for key in keys:
        if key in payload and not payload[key]:
            del payload[key]
    return payload


def _display_path(path: str) -> str:
    if os.path.isabs(path) or path.startswith("."):
        return path
    return "./" + path


# ------------------------------------------------------------------ record
@gait_command(
    group,
    "record",
    explain=(
        "Create a signed and verifiable runpack zip from normalized run, intent, result, "
        "and reference receipt records."
    ),
    help=(
        "Write <out-dir>/runpack_<run_id>.zip from a run record JSON or a "
        "JSONL event log (one {type: run|intent|decision|result|ref|event} object per line)."
    ),
)
@click.argument("inputs", nargs=-1, metavar="[INPUT]")
@click.option("--input", "input_path", default=None, help="Run record JSON or events JSONL.")
@click.option("--out-dir", default="./gait-out", help="Output directory.")
@click.option("--run-id", default="", help="Override the run_id everywhere.")
@click.option("--capture-mode", default="", help="reference|raw (flag > input > reference).")
@click.option("--key-mode", default="", help="dev|prod; signing happens only when asked.")
@click.option("--private-key", default=None, help="Base64 private key file (prod).")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key (prod).")
@click.option(
    "--context-envelope",
    default=None,
    help="Context envelope JSON (gait.context.envelope); its verified records become the refs.",
)
@click.option(
    "--context-evidence-mode",
    default="",
    help="best_effort|required (flag > input refs > envelope > best_effort).",
)
@click.option("--unsafe-context-raw", is_flag=True, help="Allow receipts with redaction_mode=raw.")
def record_command(
    inputs: tuple[str, ...],
    input_path: str | None,
    out_dir: str,
    run_id: str,
    capture_mode: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    context_envelope: str | None,
    context_evidence_mode: str,
    unsafe_context_raw: bool,
    json: bool,
) -> Outcome:
    from gait.runpack.capture_input import MAX_INPUT_BYTES, parse_record_input
    from gait.runpack.inspect import format_ticket_footer
    from gait.runpack.record import default_runpack_path, record_runpack, write_runpack
    from gait.runpack.verify import verify_runpack

    if input_path is None and len(inputs) == 1:
        input_path, inputs = inputs[0], ()
    if inputs:
        raise InvalidInput("unexpected positional arguments")
    if not input_path or not input_path.strip():
        raise InvalidInput("missing required --input <run_record.json>")
    try:
        with open(input_path, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as err:
        raise InvalidInput(f"read input: {err.strerror or err}: {input_path}") from err
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(f"read input: input exceeds {MAX_INPUT_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"parse input json: {err}") from err
    override = run_id.strip()
    inp = parse_record_input(text, run_id=override, source=input_path)
    if override:
        inp.run["run_id"] = override
        if inp.refs is not None:
            inp.refs["run_id"] = override
        for record in (*inp.intents, *inp.results):
            if isinstance(record, dict):
                record["run_id"] = override
    final_run_id = str(inp.run.get("run_id") or "").strip()
    if not final_run_id:
        raise InvalidInput("input run.run_id is required (or set --run-id)")
    mode = capture_mode.strip() or inp.capture_mode.strip() or "reference"
    if mode not in ("reference", "raw"):
        raise InvalidInput("capture mode must be one of: reference, raw")
    refs = dict(inp.refs or {})
    from gait.intent.envelope import normalize_evidence_mode

    evidence = normalize_evidence_mode(
        context_evidence_mode.strip() or str(refs.get("context_evidence_mode") or "")
    )
    warnings: list[str] = []
    if context_envelope is not None:
        from gait.intent.envelope import refs_from_envelope_file

        refs, evidence, envelope_warnings = refs_from_envelope_file(
            refs, context_envelope, evidence, unsafe_context_raw=unsafe_context_raw
        )
        warnings.extend(envelope_warnings)
    refs["context_evidence_mode"] = evidence or "best_effort"
    receipts = refs.get("receipts") or []
    if not isinstance(receipts, list):
        raise InvalidInput("refs.receipts must be a JSON array")
    sign_key = None
    if key_mode.strip() or (private_key or "").strip() or (private_key_env or "").strip():
        from gait.signing import resolve_signing_key

        sign_key, key_warnings = resolve_signing_key(
            key_mode.strip().lower() or "prod",
            private_key=private_key,
            private_key_env=private_key_env,
        )
        warnings.extend(key_warnings)
    from gait import __version__

    result = record_runpack(
        inp.run,
        inp.intents,
        inp.results,
        refs,
        capture_mode=mode,
        sign_key=sign_key,
        intent_args=inp.intent_args,
        result_payloads=inp.result_payloads,
        producer_version=__version__,
        unsafe_context_raw=unsafe_context_raw,  # the library enforces context safety
    )
    path = default_runpack_path(out_dir, result.run_id)
    write_runpack(path, result)
    report = verify_runpack(path)
    if not report.ok:
        raise VerificationFailed("recorded runpack failed verification")
    footer = format_ticket_footer(result.run_id, result.manifest_digest)
    payload: dict[str, Any] = {
        "ok": True,
        "run_id": result.run_id,
        "bundle": _display_path(path),
        "manifest_digest": result.manifest_digest,
        "signature_status": "signed" if result.signed else "missing",
        "ticket_footer": footer,
    }
    if result.key_id:
        payload["signature_key_id"] = result.key_id
    if warnings:
        payload["warnings"] = warnings
    lines = [
        f"run_id={result.run_id}",
        f"bundle={payload['bundle']}",
        f"signature_status={payload['signature_status']}",
    ]
    if result.key_id:
        lines.append(f"signature_key_id={result.key_id}")
    if warnings:
        lines.append("warnings=" + ";".join(warnings))
    lines.append(f"ticket_footer={footer}")
    return Outcome(payload, text=lines)


# ----------------------------------------------------------------- receipt
@gait_command(
    group,
    "receipt",
    explain="Regenerate the ticket footer of a verified runpack.",
    help="Verify a runpack (unsigned OK) and print its ticket footer line.",
)
@click.argument("targets", nargs=-1, metavar="[RUN_ID|PATH]")
@click.option("--from", "from_", default=None, help="run_id or runpack path.")
def receipt_command(targets: tuple[str, ...], from_: str | None, json: bool) -> Outcome:
    from gait.runpack.inspect import format_ticket_footer
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.verify import verify_runpack

    path = resolve_runpack(_one_target(targets, from_, "--from <run_id|path>"))
    try:
        report = verify_runpack(path)
    except VerificationFailed as err:
        raise VerificationFailed(
            f"runpack verification failed: {err.message}", code=err.code, details={"path": path}
        ) from err
    if not report.ok:
        raise VerificationFailed(
            "runpack verification failed", details={"path": path, **_failure_details(report)}
        )
    footer = format_ticket_footer(report.run_id, report.manifest_digest)
    payload = {
        "ok": True,
        "run_id": report.run_id,
        "path": path,
        "manifest_digest": report.manifest_digest,
        "ticket_footer": footer,
    }
    return Outcome(payload, text=[footer])


def _failure_details(report: Any) -> dict[str, Any]:
    body = report.to_json()
    return {
        k: body[k]
        for k in (
            "missing_files",
            "hash_mismatches",
            "unexpected_files",
            "zip_errors",
            "context_errors",
        )
        if k in body
    }


# ----------------------------------------------------------------- inspect
@gait_command(
    group,
    "inspect",
    explain="Show a runpack as a readable timeline: one line per tool call.",
    help="Integrity-check a runpack and list each step: tool, verdict, status, duration.",
)
@click.argument("targets", nargs=-1, metavar="[RUN_ID|PATH]")
@click.option("--from", "from_", default=None, help="run_id or runpack path.")
def inspect_command(targets: tuple[str, ...], from_: str | None, json: bool) -> Outcome:
    from gait.runpack.inspect import inspect_stream, iter_inspect_text
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.stream import open_stream

    path = resolve_runpack(_one_target(targets, from_, "--from <run_id|path>"))
    if path.lower().endswith(".json"):
        from gait.runpack.session import is_session_chain

        if is_session_chain(path):
            return _inspect_chain(path)
    pack = open_stream(path)
    try:
        payload = omit_empty(inspect_stream(pack), INSPECT_OMIT)
    except BaseException:
        pack.close()
        raise

    def table() -> list[str]:
        from gait.cli.tables import run_inspect

        return run_inspect(payload)

    # Entries are read from the pack while they are written, never held all at once.
    return Outcome(
        payload,
        text=iter_inspect_text(payload),
        tty_text=table,
        warnings_in_text=True,
        closers=[pack.close],
    )


def _inspect_chain(path: str) -> Outcome:
    """A session chain, as the reference's ``run inspect`` shows one (artifact=session_chain)."""
    from gait.runpack.session import entry_range, read_chain

    chain = read_chain(path)
    checkpoints = []
    for entry in chain["checkpoints"]:
        if not isinstance(entry, dict):
            raise InvalidInput(f"session chain {path}: checkpoint is not an object")
        start, end = entry_range(entry)
        item: dict[str, Any] = {
            "checkpoint_index": entry.get("checkpoint_index"),
            "runpack_path": entry.get("runpack_path", ""),
            "sequence_start": start,
            "sequence_end": end,
            "checkpoint_digest": entry.get("checkpoint_digest", ""),
        }
        if entry.get("prev_checkpoint_digest"):
            item["prev_checkpoint_digest"] = entry["prev_checkpoint_digest"]
        checkpoints.append(item)
    checkpoints.sort(
        key=lambda c: c["checkpoint_index"] if isinstance(c["checkpoint_index"], int) else 0
    )
    payload = omit_empty(
        {
            "ok": True,
            "artifact_type": "session_chain",
            "run_id": str(chain.get("run_id") or ""),
            "session_id": str(chain.get("session_id") or ""),
            "path": path,
            "checkpoint_count": len(checkpoints),
            "checkpoints": checkpoints,
        },
        ("run_id", "session_id", "checkpoint_count", "checkpoints"),
    )
    lines = [
        f"run inspect: artifact=session_chain session_id={chain.get('session_id', '')} "
        f"run_id={chain.get('run_id', '')} checkpoints={len(checkpoints)}",
        f"path: {path}",
    ]
    lines += [
        f"{c['checkpoint_index']}. runpack={c['runpack_path']} "
        f"seq={c['sequence_start']}..{c['sequence_end']}"
        for c in checkpoints
    ]
    return Outcome(payload, text=lines)


# -------------------------------------------------------------------- diff
@gait_command(
    group,
    "diff",
    explain="Compare two runpacks deterministically (exit 0 identical, 2 different).",
    help="Diff two runpacks: manifest, files, intents, results, refs, per-step changes.",
)
@click.argument("targets", nargs=-1, metavar="LEFT RIGHT")
@click.option("--privacy", default="full", help="full|metadata.")
@click.option("--output", default=None, help="Write {privacy, summary} JSON to this file.")
def diff_command(targets: tuple[str, ...], privacy: str, output: str | None, json: bool) -> Outcome:
    import json as jsonlib

    from gait.runpack.diff import PRIVACY_MODES, diff_ok, diff_stream
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.stream import materialize, open_stream

    if len(targets) != 2:
        raise InvalidInput("expected left and right run_id|path")
    left_path, right_path = (resolve_runpack(t) for t in targets)
    # As the reference: checked after the packs are found, spelled exactly.
    mode = privacy or "full"
    if mode not in PRIVACY_MODES:
        raise InvalidInput(f"unsupported privacy mode: {privacy}")
    chains = _chain_pair(left_path, right_path)
    if chains is not None:
        return _diff_chains(*chains, mode, output)
    left_pack = open_stream(left_path)
    closers = [left_pack.close]
    try:
        right_pack = open_stream(right_path)
        closers.append(right_pack.close)
        summary = omit_empty(diff_stream(left_pack, right_pack, privacy=mode), DIFF_OMIT)
        ok = diff_ok(summary)
        payload: dict[str, Any] = {"ok": ok, "privacy": mode, "summary": summary}
        if output and output.strip():
            from gait.fsutil import atomic_write

            full = {"privacy": mode, "summary": materialize(summary)}
            body = jsonlib.dumps(full, sort_keys=True, separators=(",", ":"))
            parent = os.path.dirname(output)
            if parent:
                os.makedirs(parent, mode=0o750, exist_ok=True)
            atomic_write(output, body.encode("utf-8"), 0o600)
            payload["output"] = output
    except BaseException:
        for close in closers:
            close()
        raise
    # Step changes are read from both packs while they are written.
    return Outcome(payload, 0 if ok else 2, text=_diff_text(summary, ok), closers=closers)


def _chain_pair(left: str, right: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Both session chains (the reference then compares checkpoint-wise), else None."""
    from gait.runpack.session import is_session_chain, read_chain

    if not (left.lower().endswith(".json") and right.lower().endswith(".json")):
        return None
    if not (is_session_chain(left) and is_session_chain(right)):
        return None
    return read_chain(left), read_chain(right)


def _diff_chains(
    left: dict[str, Any], right: dict[str, Any], mode: str, output: str | None
) -> Outcome:
    """Checkpoints compared by index and checkpoint_digest (core/runpack/session.go)."""
    import json as jsonlib

    def by_index(chain: dict[str, Any]) -> dict[Any, str]:
        return {
            c.get("checkpoint_index"): str(c.get("checkpoint_digest") or "")
            for c in chain["checkpoints"]
            if isinstance(c, dict)
        }

    lefts, rights = by_index(left), by_index(right)
    files = [f"checkpoint_{i}" for i in lefts if i in rights and lefts[i] != rights[i]]
    files += [f"left_only_checkpoint_{i}" for i in lefts if i not in rights]
    files += [f"right_only_checkpoint_{i}" for i in rights if i not in lefts]
    files.sort()
    changed = bool(files)
    summary: dict[str, Any] = {
        "run_id_left": str(left.get("run_id") or ""),
        "run_id_right": str(right.get("run_id") or ""),
        "manifest_changed": changed,
        "intents_changed": changed,
        "results_changed": changed,
        "refs_changed": changed,
    }
    if files:
        summary["files_changed"] = files
    payload: dict[str, Any] = {"ok": not changed, "privacy": mode, "summary": summary}
    if output and output.strip():
        from gait.fsutil import atomic_write

        body = jsonlib.dumps(
            {"privacy": mode, "summary": summary}, sort_keys=True, separators=(",", ":")
        )
        atomic_write(output, body.encode("utf-8"), 0o600)
        payload["output"] = output
    return Outcome(payload, 2 if changed else 0, text=_diff_text(summary, not changed))


def _diff_text(summary: dict[str, Any], ok: bool) -> Iterator[str]:
    # The reference's two lines (run ids from the packs), then our per-step detail.
    left, right = summary["run_id_left"], summary["run_id_right"]
    yield f"diff {'ok' if ok else 'changed'}: {left} vs {right}"
    if ok:
        return
    if summary.get("files_changed"):
        yield "files changed: " + ", ".join(summary["files_changed"])
    for change in summary.get("step_changes", []):
        yield f"  {change['intent_id']} {change['field']}: {change['left']} -> {change['right']}"


# ------------------------------------------------------------------ replay
@gait_command(
    group,
    "replay",
    explain="Replay a runpack deterministically with stubs; never executes tools by default.",
    help=(
        "Replay with the recorded results as stubs (no tool runs). --policy <file> "
        "re-evaluates every recorded intent with that policy and reports divergences from "
        "the recorded verdicts. "
        "--real-tools (unsafe; needs --unsafe-real-tools, --allow-tools and "
        "GAIT_ALLOW_REAL_REPLAY=1, else exit 8) runs allowlisted built-ins (echo, file.write "
        "inside the working directory, shell.exec without a shell)."
    ),
)
@click.argument("targets", nargs=-1, metavar="RUN_ID|PATH")
@click.option("--policy", "policy_path", default=None, help="Re-evaluate intents with this policy.")
@click.option(
    "--context",
    "context_path",
    default=None,
    help="JSON file: default intent context for intents recorded without one.",
)
@click.option("--real-tools", is_flag=True, help="Execute allowlisted built-in tools (unsafe).")
@click.option("--unsafe-real-tools", is_flag=True, help="Confirm unsafe real tool replay.")
@click.option("--allow-tools", default="", help="CSV allowlist for --real-tools.")
@click.option(
    "--unsafe-real-tools-env",
    default="GAIT_ALLOW_REAL_REPLAY",
    help="Env var that must be 1 for real replay.",
)
def replay_command(
    targets: tuple[str, ...],
    policy_path: str | None,
    context_path: str | None,
    real_tools: bool,
    unsafe_real_tools: bool,
    allow_tools: str,
    unsafe_real_tools_env: str,
    json: bool,
) -> Outcome:
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.replay import check_real_replay, reevaluate_stream, replay_stream
    from gait.runpack.stream import open_stream

    if len(targets) != 1:
        raise InvalidInput("expected run_id or path")
    allowed = [t.strip() for t in allow_tools.split(",") if t.strip()]
    check_real_replay(
        real_tools=real_tools,
        unsafe=unsafe_real_tools,
        allow_tools=allowed,
        env_name=unsafe_real_tools_env,
    )
    pack = open_stream(resolve_runpack(targets[0]))
    try:
        payload = replay_stream(
            pack,
            real_tools=real_tools,
            allow_tools=allowed,
            unsafe=unsafe_real_tools,
            unsafe_env=unsafe_real_tools_env,
        )
        if context_path and not policy_path:
            raise InvalidInput("--context requires --policy")
        if policy_path:
            from gait.engine import evaluate
            from gait.policy import compile_policy_file

            compiled = compile_policy_file(policy_path)
            context = _load_context(context_path) if context_path else None
            re = reevaluate_stream(
                pack,
                lambda intent: evaluate(compiled, intent),
                policy_digest=compiled.policy_digest,
                default_context=context,
            )
            payload["reevaluation"] = re
            payload["divergences"] = len(re["divergences"])
            if re["divergences"]:
                payload["ok"] = False
    except BaseException:
        pack.close()
        raise
    omit_empty(payload, REPLAY_OMIT)
    exit_code = 0 if payload["ok"] else 2
    # Steps are read from the pack while they are written, never held all at once.
    return Outcome(
        payload,
        exit_code,
        text=_replay_text(payload),
        warnings_in_text=True,
        closers=[pack.close],
    )


def _load_context(path: str) -> dict[str, Any]:
    from gait.safejson import loads

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise InvalidInput(f"read context: {err.strerror or err}") from err
    value = loads(data, f"parse context json {path}")
    if not isinstance(value, dict):
        raise InvalidInput("context must be a JSON object")
    return value


def _replay_text(payload: dict[str, Any]) -> Iterator[str]:
    # The reference's lines: "replay ok: <run_id> (<mode>)" or "replay failed: <run_id>".
    warnings = payload.get("warnings") or []
    if payload["ok"]:
        yield f"replay ok: {payload['run_id']} ({payload['mode']})"
    else:
        yield f"replay failed: {payload['run_id']}"
        if payload.get("missing_results"):
            yield "missing results: " + ", ".join(payload["missing_results"])
    if warnings:
        yield "warnings: " + "; ".join(warnings)
    re = payload.get("reevaluation")
    if re is not None:
        matches = re["policy_matches_recorded"]
        yield (
            f"policy re-evaluation: divergences={len(re['divergences'])} "
            f"skipped={re['skipped']} same_policy={'unknown' if matches is None else matches}"
        )
        for d in re["divergences"]:
            yield (
                f"  diverged: intent={d['intent_id']} tool={d['tool_name']} "
                f"recorded={d['recorded_verdict'] or '-'} replay={d['replay_verdict']}"
            )


__all__ = ["GaitError", "group"]

# Session journals and reduce live in gait.cli.session, loaded on first use.
group.lazy["session"] = ("gait.cli.session:group", "Append-only session journals and checkpoints.")
group.lazy["reduce"] = (
    "gait.cli.session:reduce_command",
    "Cut a runpack down to one failing step.",
)
