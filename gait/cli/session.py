"""``gait run session start|append|status|checkpoint|compact``, ``gait run reduce`` and
``gait capture`` (runpack.md §6.6–6.7, regress.md §5)."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import InvalidInput

group = GaitGroup(
    name="session",
    explain="Keep an append-only journal of gated calls and checkpoint it into runpacks.",
    help="Append-only session journals, checkpoints and compaction.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


EVENT_SCHEMA = "gait.runpack.session_event"
CHECKPOINT_SCHEMA = "gait.runpack.session_checkpoint"


def _require(message: str, *values: str) -> None:
    if any(not v.strip() for v in values):
        raise InvalidInput(message)


def _no_args(args: tuple[str, ...]) -> None:
    if args:
        raise InvalidInput("unexpected positional arguments")


def _clean(value: str) -> str:
    """One line for a log: control characters dropped, whitespace runs folded."""
    text = "".join(
        " " if c in "\n\r\t" else c for c in value.strip() if c.isprintable() or c in "\n\r\t"
    )
    return " ".join(text.split())


def _status(path: str) -> dict[str, Any]:
    """The reference's SessionStatus object."""
    from gait.runpack.session import read_journal

    journal = read_journal(path)
    return {
        "session_id": journal.session_id,
        "run_id": journal.run_id,
        "created_at": journal.created_at,
        "started_at": journal.created_at,
        "event_count": len(journal.events),
        "checkpoint_count": len(journal.checkpoints),
        "last_sequence": journal.last_sequence,
    }


def _status_outcome(operation: str, journal: str) -> Outcome:
    status = _status(journal)
    payload = {"ok": True, "operation": operation, "journal": journal, "status": status}
    return Outcome(
        payload,
        text=[
            f"session {operation}: session_id={_clean(status['session_id'])} "
            f"run_id={_clean(status['run_id'])} events={status['event_count']} "
            f"checkpoints={status['checkpoint_count']} last_sequence={status['last_sequence']}",
            f"journal: {_clean(journal)}",
        ],
    )


@gait_command(
    group, "start", explain="Create a new session journal.", help="Start a session journal."
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--journal", default="", help="Journal file to create (JSONL).")
@click.option("--session-id", default="", help="Session identifier.")
@click.option("--run-id", default="", help="Run id; checkpoints become <run_id>_cp_NNNN.")
def start_command(
    args: tuple[str, ...], journal: str, session_id: str, run_id: str, json: bool
) -> Outcome:
    from gait import __version__
    from gait.runpack.session import start_session

    _no_args(args)
    _require("--journal, --session-id, and --run-id are required", journal, session_id, run_id)
    start_session(journal.strip(), session_id, run_id, producer_version=__version__)
    return _status_outcome("start", journal.strip())


@gait_command(
    group,
    "append",
    explain="Append one gated tool call (its verdict and evidence) to a session journal.",
    help="Append an event to a session journal.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--journal", default="", help="Session journal.")
@click.option("--tool", default="", help="Tool name of the call.")
@click.option("--verdict", default="", help="allow|block|dry_run|require_approval.")
@click.option(
    "--intent-id", default="", help="Intent id (default: intent_<n> within its checkpoint)."
)
@click.option("--trace-id", default="", help="Gate trace id.")
@click.option("--trace-path", default="", help="Gate trace file.")
@click.option("--intent-digest", default="", help="Intent digest.")
@click.option("--policy-digest", default="", help="Policy digest.")
@click.option("--reason-codes", default="", help="CSV of reason codes.")
@click.option("--violations", default="", help="CSV of violations.")
def append_command(
    args: tuple[str, ...],
    journal: str,
    tool: str,
    verdict: str,
    intent_id: str,
    trace_id: str,
    trace_path: str,
    intent_digest: str,
    policy_digest: str,
    reason_codes: str,
    violations: str,
    json: bool,
) -> Outcome:
    from gait.packs.common import split_csv
    from gait.runpack.session import VERDICTS, append_event, journal_header

    _no_args(args)
    _require("--journal, --tool, and --verdict are required", journal, tool, verdict)
    if verdict.strip().lower() not in VERDICTS:
        raise InvalidInput(
            "unsupported --verdict value (expected allow|block|dry_run|require_approval)"
        )
    path = journal.strip()
    record = append_event(
        path,
        {
            "tool_name": tool,
            "verdict": verdict,
            "intent_id": intent_id,
            "trace_id": trace_id,
            "trace_path": trace_path,
            "intent_digest": intent_digest.strip().lower(),
            "policy_digest": policy_digest.strip().lower(),
            "reason_codes": split_csv(reason_codes),
            "violations": split_csv(violations),
        },
    )
    header = journal_header(path)
    # The reference's SessionEvent: the stored record plus the session it belongs to.
    event = {k: v for k, v in record.items() if k != "record_type"}
    event.update(
        schema_id=EVENT_SCHEMA,
        schema_version="1.0.0",
        producer_version=str(header.get("producer_version") or ""),
        session_id=str(header.get("session_id") or ""),
        run_id=str(header.get("run_id") or ""),
    )
    payload = {"ok": True, "operation": "append", "journal": path, "event": event}
    # Like the reference, the text line names neither the tool nor the path of a call.
    return Outcome(
        payload,
        text=[
            f"session append: sequence={event['sequence']} tool=redacted "
            f"verdict={event['verdict']}",
            f"journal: {_clean(path)}",
        ],
    )


@gait_command(group, "status", explain="Summarize a session journal.", help="Session status.")
@click.argument("args", nargs=-1, metavar="")
@click.option("--journal", default="", help="Session journal.")
def status_command(args: tuple[str, ...], journal: str, json: bool) -> Outcome:
    _no_args(args)
    _require("--journal is required", journal)
    return _status_outcome("status", journal.strip())


@gait_command(
    group,
    "checkpoint",
    explain="Write the events since the last checkpoint as a runpack and extend the chain file.",
    help="Checkpoint a session journal into a runpack.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--journal", default="", help="Session journal.")
@click.option("--out", default="", help="Checkpoint runpack zip to write.")
@click.option("--chain-out", default="", help="Chain file (default: <journal>_chain.json).")
def checkpoint_command(
    args: tuple[str, ...], journal: str, out: str, chain_out: str, json: bool
) -> Outcome:
    from gait.runpack.session import checkpoint, journal_header

    _no_args(args)
    _require("--journal and --out are required", journal, out)
    path = journal.strip()
    record, chain = checkpoint(path, out.strip(), chain_out=chain_out)
    header = journal_header(path)
    # The reference's SessionCheckpoint (run_id is the session's run).
    body: dict[str, Any] = {
        "schema_id": CHECKPOINT_SCHEMA,
        "schema_version": "1.0.0",
        "created_at": record["created_at"],
        "producer_version": str(header.get("producer_version") or ""),
        "session_id": str(header.get("session_id") or ""),
        "run_id": str(header.get("run_id") or ""),
        "checkpoint_index": record["checkpoint_index"],
        "sequence_start": record["seq_start"],
        "sequence_end": record["seq_end"],
        "runpack_path": out.strip(),
        "manifest_digest": record["manifest_digest"],
        "checkpoint_digest": record["checkpoint_digest"],
    }
    if record["prev_checkpoint_digest"]:
        body["prev_checkpoint_digest"] = record["prev_checkpoint_digest"]
    payload = {
        "ok": True,
        "operation": "checkpoint",
        "journal": path,
        "chain_path": chain,
        "checkpoint": body,
    }
    return Outcome(
        payload,
        text=[
            f"session checkpoint: index={body['checkpoint_index']} runpack=redacted "
            f"range={body['sequence_start']}..{body['sequence_end']}",
            f"session chain: {_clean(chain)}",
        ],
    )


@gait_command(
    group,
    "compact",
    explain="Drop journal events already covered by checkpoints.",
    help="Compact a session journal.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--journal", default="", help="Session journal.")
@click.option("--out", default="", help="Write the compacted journal here (default: in place).")
@click.option("--dry-run", is_flag=True, help="Only report what would be dropped.")
def compact_command(
    args: tuple[str, ...], journal: str, out: str, dry_run: bool, json: bool
) -> Outcome:
    from gait.runpack.session import compact

    _no_args(args)
    _require("--journal is required", journal)
    path = journal.strip()
    done = compact(path, out, dry_run=dry_run)
    compaction = {
        "journal_path": path,
        "output_path": done["out"],
        "dry_run": dry_run,
        # As the reference: whether the compacted journal differs from the input
        # (also reported on a dry run).
        "compacted": bool(done["dropped"])
        or done["out"] != path
        or done["bytes_before"] != done["bytes_after"],
        "events_before": done["events_before"],
        "events_after": done["events_after"],
        "checkpoints": done["checkpoints"],
        "last_checkpoint_sequence": done["last_checkpoint_sequence"],
        "bytes_before": done["bytes_before"],
        "bytes_after": done["bytes_after"],
    }
    payload = {"ok": True, "operation": "compact", "journal": path, "compaction": compaction}
    flag = {True: "true", False: "false"}
    return Outcome(
        payload,
        text=[
            f"session compact: compacted={flag[compaction['compacted']]} "
            f"dry_run={flag[dry_run]} events={compaction['events_before']}->"
            f"{compaction['events_after']} checkpoints={compaction['checkpoints']} "
            f"bytes={compaction['bytes_before']}->{compaction['bytes_after']}",
            f"journal: {_clean(path)}",
            f"output: {_clean(done['out'])}",
        ],
    )


@gait_command(
    None,
    "reduce",
    explain="Reduce a runpack to its first intent that matches a failure predicate.",
    help="Cut a runpack down to one failing step (missing_result or non_ok_status).",
)
@click.argument("args", nargs=-1, metavar="[RUN_ID|PATH]")
@click.option("--from", "source", default=None, help="run_id or runpack path.")
@click.option(
    "--predicate", default="missing_result", show_default=True, help="missing_result|non_ok_status."
)
@click.option("--out", default="", help="Reduced runpack (default: beside the input).")
@click.option("--report-out", default="", help="Reduce report (default: <out>.reduce_report.json).")
def reduce_command(
    args: tuple[str, ...], source: str | None, predicate: str, out: str, report_out: str, json: bool
) -> Outcome:
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.reduce import parse_predicate, reduce_runpack

    # As the reference: --from, else the first positional; nothing may be left over.
    rest = list(args)
    target = source or ""
    if not target and rest:
        target, rest = rest[0], rest[1:]
    if not target or rest:
        raise InvalidInput("expected --from <run_id|path>")
    chosen = parse_predicate(predicate)
    path = resolve_runpack(target)
    result = reduce_runpack(path, chosen, out=out, report_out=report_out)
    payload = {
        "ok": True,
        "input": path,
        "output": result.out_path,
        "report_path": result.report_path,
        "run_id": result.source_run_id,
        "reduced_run_id": result.run_id,
        "predicate": chosen,
        "report": result.report,
    }
    return Outcome(
        payload,
        text=[f"run reduce ok: {path} -> {result.out_path}", f"report: {result.report_path}"],
    )


CAPTURE_SCHEMA = "gait.capture.receipt"


def capture_source(source: str, which: str) -> dict[str, Any]:
    """The receipt fields for a run_id, runpack, trace file or session chain."""
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.session import is_session_chain, resolve_checkpoint
    from gait.runpack.verify import verify_runpack

    text = source.strip()
    if not text:
        raise InvalidInput("missing required --from <run_id|path>")
    chain_path = ""
    entry: dict[str, Any] = {}
    if text.lower().endswith(".json"):
        if is_session_chain(text):
            chain_path = text
            path, entry = resolve_checkpoint(text, which)
        else:
            from gait.trace import read_trace

            record = read_trace(text)
            return {
                "artifact_type": "trace",
                "artifact_path": text,
                "session_chain_path": "",
                "run_id": "",
                "trace_id": str(record.get("trace_id") or ""),
            }
    else:
        if which.strip() and which.strip() != "latest":
            raise InvalidInput("--checkpoint applies only to session chain sources")
        path = resolve_runpack(text)
    report = verify_runpack(path)
    if not report.ok:
        raise InvalidInput(f"source runpack failed integrity checks: {path}")
    return {
        "artifact_type": "runpack",
        "artifact_path": path,
        "session_chain_path": chain_path,
        # As the reference: a chain checkpoint names the session's run.
        "run_id": str(entry.get("run_id") or "") or report.run_id,
    }


@gait_command(
    None,
    "capture",
    explain="Write a capture receipt naming a verified runpack (or trace) for regress add.",
    help="Capture a runpack, trace or session checkpoint into a receipt file.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--from", "source", default="", help="run_id, runpack, trace.json or chain.json.")
@click.option(
    "--checkpoint", default="latest", show_default=True, help="Chain checkpoint: latest or N."
)
@click.option("--out", default="gait-out/capture.json", show_default=True, help="Receipt file.")
def capture_command(
    args: tuple[str, ...], source: str, checkpoint: str, out: str, json: bool
) -> Outcome:
    import json as jsonlib

    from gait.packs.common import write_pack

    _no_args(args)
    fields = capture_source(source, checkpoint)
    # The reference's receipt: empty session_chain_path / run_id are left out.
    receipt = {
        "schema_id": CAPTURE_SCHEMA,
        "schema_version": "1.0.0",
        "ok": True,
        "from": source.strip(),
        **{k: v for k, v in fields.items() if k != "trace_id" and v},
        "output_path": out.strip().replace("\\", "/"),
    }
    body = jsonlib.dumps(receipt, indent=2, sort_keys=True) + "\n"
    write_pack(out.strip(), body.encode("utf-8"))
    lines = [
        f"capture ok: type={fields['artifact_type']} path={fields['artifact_path']}",
        f"receipt: {receipt['output_path']}",
    ]
    return Outcome(dict(receipt), text=lines)
