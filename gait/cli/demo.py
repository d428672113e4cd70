"""``gait demo [--policy] [--json]`` (runpack.md §5): offline, no keys, deterministic."""

from __future__ import annotations

import json as jsonlib
import os
import time
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import InvalidInput, VerificationFailed

OUT_DIR = "gait-out"
METRICS_OPT_IN = "export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl"
POLICY_PATH = "./gait-out/policy_demo_high_risk.yaml"
INTENT_PATH = "./gait-out/intent_demo_delete.json"

_TEXT_ORDER = (
    "mode",
    "run_id",
    "job_id",
    "job_status",
    "bundle",
    "pack_path",
    "runpack",
    "ticket_footer",
    "verify",
    "simulated_failure",
    "policy_verdict",
    "matched_rule",
    "reason_codes",
    "steps",
    "next_commands",
    "metrics_opt_in",
)


def _text(payload: dict[str, Any]) -> list[str]:
    lines = []
    for key in _TEXT_ORDER:
        value = payload.get(key)
        if not value:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        lines.append(f"{'next' if key == 'next_commands' else key}={value}")
    return lines


def _write_and_verify(result: Any, run_id: str) -> str:
    from gait.runpack.record import write_runpack
    from gait.runpack.verify import verify_runpack

    os.makedirs(OUT_DIR, mode=0o750, exist_ok=True)
    path = os.path.join(OUT_DIR, f"runpack_{run_id}.zip")
    write_runpack(path, result)
    report = verify_runpack(path)
    if not report.ok:
        raise VerificationFailed("verification failed", details={"mode": "standard"})
    return f"./{OUT_DIR}/runpack_{run_id}.zip"


def _standard(started: float) -> dict[str, Any]:
    from gait import __version__
    from gait.runpack.demo import DEMO_RUN_ID, build_demo_runpack
    from gait.runpack.inspect import format_ticket_footer

    result = build_demo_runpack(__version__)
    bundle = _write_and_verify(result, DEMO_RUN_ID)
    return {
        "ok": True,
        "mode": "standard",
        "run_id": DEMO_RUN_ID,
        "bundle": bundle,
        "ticket_footer": format_ticket_footer(DEMO_RUN_ID, result.manifest_digest),
        "verify": "ok",
        "next_commands": [
            f"gait verify {DEMO_RUN_ID} --json",
            f"gait regress bootstrap --from {DEMO_RUN_ID} --json --junit ./gait-out/junit.xml",
            "gait demo --durable",
            "gait demo --policy",
        ],
        "metrics_opt_in": METRICS_OPT_IN,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


def _policy(started: float) -> dict[str, Any]:
    from gait import __version__
    from gait.engine import evaluate
    from gait.fsutil import atomic_write
    from gait.policy import compile_policy
    from gait.runpack.demo import (
        DEMO_POLICY_INTENT,
        DEMO_POLICY_RUN_ID,
        DEMO_POLICY_YAML,
        record_policy_demo,
    )
    from gait.runpack.inspect import format_ticket_footer

    os.makedirs(OUT_DIR, mode=0o750, exist_ok=True)
    atomic_write(POLICY_PATH, DEMO_POLICY_YAML.encode("utf-8"))
    intent_text = jsonlib.dumps(DEMO_POLICY_INTENT, indent=2) + "\n"
    atomic_write(INTENT_PATH, intent_text.encode("utf-8"))
    compiled = compile_policy(DEMO_POLICY_YAML, path=POLICY_PATH, use_cache=False)
    decision = evaluate(compiled, DEMO_POLICY_INTENT)
    if decision.verdict != "block":
        raise VerificationFailed(f"expected block verdict, got {decision.verdict}")
    result = record_policy_demo(compiled, __version__)
    runpack = _write_and_verify(result, DEMO_POLICY_RUN_ID)
    steps = []
    for record in result.members["results.jsonl"].splitlines():
        payload = jsonlib.loads(record).get("result", {})
        steps.append(payload.get("verdict", ""))
    tools = [jsonlib.loads(r)["tool_name"] for r in result.members["intents.jsonl"].splitlines()]
    return {
        "ok": True,
        "mode": "policy",
        "run_id": DEMO_POLICY_RUN_ID,
        "bundle": INTENT_PATH,
        "pack_path": POLICY_PATH,
        "runpack": runpack,
        "ticket_footer": format_ticket_footer(DEMO_POLICY_RUN_ID, result.manifest_digest),
        "verify": "ok",
        "policy_verdict": decision.verdict,
        "matched_rule": decision.matched_rule,
        "reason_codes": list(decision.reason_codes),
        "steps": [f"{tool}:{verdict}" for tool, verdict in zip(tools, steps, strict=True)],
        "next_commands": [
            f"gait gate eval --policy {POLICY_PATH} --intent {INTENT_PATH} --simulate --json",
            f"gait run inspect --from {DEMO_POLICY_RUN_ID}",
            f"gait run replay {DEMO_POLICY_RUN_ID} --policy {POLICY_PATH} --json",
        ],
        "metrics_opt_in": METRICS_OPT_IN,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


DURABLE_JOB = "job_demo_durable"
DURABLE_PACK = "./gait-out/pack_job_demo_durable.zip"


def _durable(started: float) -> dict[str, Any]:
    """A job that checkpoints, stops for a decision, is refused a resume, then approved."""
    import shutil

    from gait import __version__
    from gait.packs.common import write_pack
    from gait.packs.jobs import ApprovalNeeded, JobStore
    from gait.packs.unified import build_job_pack
    from gait.packs.verify import verify_any_pack
    from gait.signing import format_rfc3339, parse_rfc3339

    root = os.path.join(".", OUT_DIR, "jobs")
    shutil.rmtree(os.path.join(root, DURABLE_JOB), ignore_errors=True)
    base, _ = parse_rfc3339("2026-02-05T00:00:00Z")
    ticks = iter(range(1000))
    store = JobStore(root, clock=lambda: format_rfc3339(base + next(ticks)))
    store.submit(DURABLE_JOB, identity="demo.user", env_fingerprint="demo")
    store.checkpoint(DURABLE_JOB, "progress", "collected inputs")
    store.checkpoint(
        DURABLE_JOB,
        "decision-needed",
        "about to delete staged files",
        "approve deletion of staged files",
    )
    try:
        store.resume(DURABLE_JOB, env_fingerprint="demo")
        simulated_failure = ""
    except ApprovalNeeded:
        simulated_failure = "resume blocked until approval"
    store.approve(DURABLE_JOB, "demo.approver", "staged files reviewed")
    store.resume(DURABLE_JOB, env_fingerprint="demo")
    state = store.checkpoint(DURABLE_JOB, "completed", "staged files deleted")
    built = build_job_pack(root, DURABLE_JOB, producer_version=__version__)
    write_pack(DURABLE_PACK, built.zip_bytes)
    if not verify_any_pack(DURABLE_PACK).ok or not simulated_failure:
        raise VerificationFailed("verification failed", details={"mode": "durable"})
    return {
        "ok": True,
        "mode": "durable",
        "run_id": "run_demo",  # as the reference (the demo run id in every mode)
        "job_id": DURABLE_JOB,
        "job_status": state["status"],
        "bundle": f"./{OUT_DIR}/jobs/{DURABLE_JOB}/state.json",
        "pack_path": DURABLE_PACK,
        "verify": "ok",
        "simulated_failure": simulated_failure,
        "next_commands": [
            f"gait job inspect --id {DURABLE_JOB} --json",
            f"gait pack inspect {DURABLE_PACK} --json",
            "gait demo --policy",
        ],
        "metrics_opt_in": METRICS_OPT_IN,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


@gait_command(
    None,
    "demo",
    explain=(
        "Run a fully offline deterministic demo and emit a shareable runpack receipt "
        "for verification."
    ),
    help=(
        "Record and verify the demo runpack ./gait-out/runpack_run_demo.zip (offline, no keys). "
        "--policy: gate a demo agent run with a policy that blocks tool.delete. --durable: a "
        "durable job that needs an approval to resume."
    ),
)
@click.argument("extra", nargs=-1, metavar="")
@click.option(
    "--durable",
    is_flag=True,
    help="Durable job demo: checkpoints, a blocked resume, approval, a verified job pack.",
)
@click.option(
    "--policy", is_flag=True, help="Policy block demo: a gated run with one blocked call."
)
def command(extra: tuple[str, ...], durable: bool, policy: bool, json: bool) -> Outcome:
    if extra:
        raise InvalidInput("unexpected positional arguments")
    if durable and policy:
        raise InvalidInput("choose only one mode: --durable or --policy")
    started = time.monotonic()
    if durable:
        payload = _durable(started)
    else:
        payload = _policy(started) if policy else _standard(started)
    return Outcome(payload, text=_text(payload))
