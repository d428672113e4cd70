"""Artifact helpers of serve_sdk.md §4: record a runpack, the demo pack, a regress fixture, copy a trace.

The reference SDK ran ``gait run record`` / ``demo`` / ``regress init``; these
call the same library code in process and return the same fields.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gait.errors import InvalidInput, VerificationFailed
from gait.sdk.session import RunRecordCapture

__all__ = [
    "DemoCapture",
    "RegressInitResult",
    "capture_demo_runpack",
    "create_regress_fixture",
    "record_runpack",
    "write_trace",
]


def record_runpack(
    record_input: Mapping[str, Any] | str | os.PathLike[str],
    out_dir: str = "gait-out",
    capture_mode: str = "reference",
    context_evidence_mode: str | None = None,
    context_envelope: str | None = None,
) -> RunRecordCapture:
    """Write ``<out_dir>/runpack_<run_id>.zip`` from a run record (runpack.md §6.1) and verify it.

    ``record_input`` is the record object or a path to its JSON (or events
    JSONL). An invalid capture mode or evidence mode raises :class:`InvalidInput`.
    ``context_envelope`` is a context envelope file whose verified records
    become the refs (as ``gait run record --context-envelope``).
    """
    import json

    from gait.runpack import format_ticket_footer, verify_runpack
    from gait.runpack.capture_input import parse_record_input
    from gait.runpack.record import default_runpack_path, write_runpack
    from gait.runpack.record import record_runpack as build

    if capture_mode not in ("reference", "raw"):
        raise InvalidInput("capture mode must be one of: reference, raw")
    if isinstance(record_input, Mapping):
        text = json.dumps(dict(record_input))
    else:
        try:
            with open(record_input, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInput(f"read input: {err}") from None
    inp = parse_record_input(
        text, source="" if isinstance(record_input, Mapping) else os.fspath(record_input)
    )
    if not str(inp.run.get("run_id") or "").strip():
        raise InvalidInput("input run.run_id is required")
    refs = dict(inp.refs or {})
    evidence = (context_evidence_mode or str(refs.get("context_evidence_mode") or "")).strip()
    if evidence.lower() not in ("", "best_effort", "required"):
        raise InvalidInput("context evidence mode must be best_effort or required")
    if context_envelope:
        from gait.intent.envelope import refs_from_envelope_file

        # As `run record --context-envelope`, except that a bad envelope always fails:
        # there is no channel here for the warning that would say it was left out.
        refs, evidence, _ = refs_from_envelope_file(refs, context_envelope, evidence, strict=True)
    refs["context_evidence_mode"] = evidence.lower() or "best_effort"
    if refs["context_evidence_mode"] == "required" and not refs.get("context_set_digest"):
        raise InvalidInput("context evidence mode required but context_set_digest is missing")
    from gait import __version__

    result = build(
        inp.run,
        inp.intents,
        inp.results,
        refs,
        capture_mode=capture_mode,
        intent_args=inp.intent_args,
        result_payloads=inp.result_payloads,
        producer_version=__version__,
    )
    path = default_runpack_path(out_dir, result.run_id)
    write_runpack(path, result)
    if not verify_runpack(path).ok:
        raise VerificationFailed("recorded runpack failed verification")
    return RunRecordCapture(
        run_id=result.run_id,
        bundle_path=path,
        manifest_digest=result.manifest_digest,
        ticket_footer=format_ticket_footer(result.run_id, result.manifest_digest),
    )


@dataclass(frozen=True)
class DemoCapture:
    run_id: str
    bundle_path: str
    manifest_digest: str
    ticket_footer: str


def capture_demo_runpack(out_dir: str = "gait-out") -> DemoCapture:
    """The offline demo runpack (``gait demo``), written to ``<out_dir>/runpack_<demo id>.zip``."""
    from gait import __version__
    from gait.runpack import format_ticket_footer, verify_runpack
    from gait.runpack.demo import DEMO_RUN_ID, build_demo_runpack
    from gait.runpack.record import default_runpack_path, write_runpack

    result = build_demo_runpack(__version__)
    path = default_runpack_path(out_dir, DEMO_RUN_ID)
    write_runpack(path, result)
    if not verify_runpack(path).ok:
        raise VerificationFailed("demo runpack failed verification")
    return DemoCapture(
        run_id=DEMO_RUN_ID,
        bundle_path=path,
        manifest_digest=result.manifest_digest,
        ticket_footer=format_ticket_footer(DEMO_RUN_ID, result.manifest_digest),
    )


@dataclass(frozen=True)
class RegressInitResult:
    run_id: str
    fixture_name: str
    fixture_dir: str
    runpack_path: str
    config_path: str


def create_regress_fixture(
    from_run: str, *, name: str = "", workdir: str = ".", policy: str = ""
) -> RegressInitResult:
    """``gait regress init --from <run>``: a fixture under ``<workdir>/fixtures/`` and ``gait.yaml``."""
    from gait.regress.init import init_fixture

    made = init_fixture(from_run, name=name, policy=policy, workdir=workdir)
    return RegressInitResult(
        run_id=made.run_id,
        fixture_name=made.fixture_name,
        fixture_dir=made.fixture_dir,
        runpack_path=made.runpack_path,
        config_path=made.config_path,
    )


def write_trace(
    trace_path: str | os.PathLike[str], destination_path: str | os.PathLike[str]
) -> str:
    """Copy a trace file after checking it is one (``schema_id == "gait.gate.trace"``)."""
    from gait.fsutil import atomic_write
    from gait.safejson import loads

    try:
        with open(trace_path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise InvalidInput(f"read trace: {err.strerror or err}: {os.fspath(trace_path)}") from None
    doc = loads(data, f"parse trace {os.fspath(trace_path)}")
    if not isinstance(doc, dict) or doc.get("schema_id") != "gait.gate.trace":
        raise InvalidInput(
            f"not a gait trace (schema_id must be gait.gate.trace): {os.fspath(trace_path)}"
        )
    dest = os.fspath(destination_path)
    parent = os.path.dirname(dest)
    if parent:
        os.makedirs(parent, exist_ok=True)
    atomic_write(dest, data)
    return dest
