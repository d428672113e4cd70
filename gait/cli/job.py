"""``gait job submit|status|checkpoint add|list|show|pause|stop|approve|resume|cancel|inspect``."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import InvalidInput

group = GaitGroup(
    name="job",
    explain="Durable jobs: submit, checkpoint, pause, approve and resume long-running agent work.",
    help="Durable job lifecycle with checkpoints and approval gates.",
    context_settings={"help_option_names": ["--help", "-h"]},
)

checkpoint_group = GaitGroup(
    name="checkpoint",
    explain="Record job checkpoints.",
    help="Record job checkpoints (progress, decision-needed, blocked, completed).",
    context_settings={"help_option_names": ["--help", "-h"]},
)
group.add_command(checkpoint_group)

ROOT = "./gait-out/jobs"


def _opts(fn: Any) -> Any:
    fn = click.option("--root", default=ROOT, show_default=True, help="Job state root.")(fn)
    fn = click.option("--id", "job_id", default="", help="Job id.")(fn)
    return click.argument("args", nargs=-1, metavar="")(fn)


def _store(root: str, job_id: str, args: tuple[str, ...]) -> Any:
    from gait.packs.jobs import JobStore

    if args:
        raise InvalidInput("unexpected positional arguments")
    if not job_id.strip():
        raise InvalidInput("--id is required")
    return JobStore(root.strip() or ROOT)


def _outcome(action: str, state: dict[str, Any]) -> Outcome:
    payload = {"ok": True, "job_id": state["job_id"], "status": state["status"], "job": state}
    return Outcome(
        payload,
        text=[
            f"job {action} ok: job_id={state['job_id']} status={state['status']} "
            f"revision={state.get('revision', 0)}"
        ],
    )


@gait_command(group, "submit", explain="Create a durable job.", help="Submit a new job.")
@_opts
@click.option("--identity", default="", help="Identity the job runs as.")
@click.option("--policy-digest", default="", help="Policy digest the job runs under.")
@click.option("--policy-ref", default="", help="Policy reference (path or name).")
@click.option("--env-fingerprint", default="", help="Environment fingerprint for resume checks.")
def submit(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    identity: str,
    policy_digest: str,
    policy_ref: str,
    env_fingerprint: str,
    json: bool,
) -> Outcome:
    store = _store(root, job_id, args)
    state = store.submit(
        job_id.strip(),
        identity=identity,
        policy_digest=policy_digest,
        policy_ref=policy_ref,
        env_fingerprint=env_fingerprint,
    )
    return _outcome("submit", state)


@gait_command(group, "status", explain="Show a job's status.", help="Job status.")
@_opts
def status(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    return _outcome("status", store.load(job_id.strip()))


@gait_command(group, "show", explain="Show a job's full state.", help="Job state.")
@_opts
def show(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    return _outcome("show", store.load(job_id.strip()))


@gait_command(
    group, "inspect", explain="Show a job's state, history and consistency.", help="Inspect a job."
)
@_opts
def inspect(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    state = store.load(job_id.strip())
    events = store.events(job_id.strip())
    divergence = store.divergence(job_id.strip())
    payload = {
        "ok": not divergence,
        "job_id": state["job_id"],
        "status": state["status"],
        "job": state,
        "events": events,
        "divergence": divergence,
    }
    lines = [f"job inspect: job_id={state['job_id']} status={state['status']} events={len(events)}"]
    lines += [f"{e['revision']}. {e['action']} -> {e['status']}" for e in events]
    if divergence:
        lines.append(f"divergence: {divergence}")
    return Outcome(payload, 0 if not divergence else 2, text=lines)


@gait_command(group, "list", explain="List durable jobs.", help="List jobs under --root.")
@click.argument("args", nargs=-1, metavar="")
@click.option("--root", default=ROOT, show_default=True, help="Job state root.")
def list_jobs(args: tuple[str, ...], root: str, json: bool) -> Outcome:
    from gait.packs.jobs import JobStore

    if args:
        raise InvalidInput("unexpected positional arguments")
    jobs = JobStore(root.strip() or ROOT).list_jobs()
    lines = [f"jobs: {len(jobs)}"] + [f"{j['job_id']} {j['status']}" for j in jobs]
    return Outcome({"ok": True, "root": root, "jobs": jobs}, text=lines)


@gait_command(
    checkpoint_group,
    "add",
    explain="Add a checkpoint to a running job.",
    help="Add a job checkpoint.",
)
@_opts
@click.option(
    "--type",
    "kind",
    default="progress",
    show_default=True,
    help="progress|decision-needed|blocked|completed.",
)
@click.option("--summary", default="", help="What happened.")
@click.option("--required-action", default="", help="What a person must decide (decision-needed).")
def checkpoint_add(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    kind: str,
    summary: str,
    required_action: str,
    json: bool,
) -> Outcome:
    store = _store(root, job_id, args)
    return _outcome(
        "checkpoint add", store.checkpoint(job_id.strip(), kind.strip(), summary, required_action)
    )


@gait_command(group, "pause", explain="Pause a running job.", help="Pause a job.")
@_opts
def pause(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    return _outcome("pause", _store(root, job_id, args).pause(job_id.strip()))


@gait_command(group, "approve", explain="Approve a job's pending decision.", help="Approve a job.")
@_opts
@click.option("--actor", default="", help="Who approves.")
@click.option("--reason", default="", help="Why.")
def approve(
    args: tuple[str, ...], job_id: str, root: str, actor: str, reason: str, json: bool
) -> Outcome:
    return _outcome("approve", _store(root, job_id, args).approve(job_id.strip(), actor, reason))


@gait_command(group, "resume", explain="Resume a paused or approved job.", help="Resume a job.")
@_opts
@click.option("--env-fingerprint", default="", help="Fingerprint of the resuming environment.")
@click.option("--allow-env-mismatch", is_flag=True, help="Resume despite a different fingerprint.")
def resume(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    env_fingerprint: str,
    allow_env_mismatch: bool,
    json: bool,
) -> Outcome:
    store = _store(root, job_id, args)
    state = store.resume(
        job_id.strip(),
        env_fingerprint=env_fingerprint.strip(),
        allow_env_mismatch=allow_env_mismatch,
    )
    return _outcome("resume", state)


@gait_command(group, "stop", explain="Stop a job (terminal).", help="Stop a job.")
@_opts
@click.option("--reason", default="", help="Why.")
def stop(args: tuple[str, ...], job_id: str, root: str, reason: str, json: bool) -> Outcome:
    return _outcome("stop", _store(root, job_id, args).finish(job_id.strip(), "stop", reason))


@gait_command(group, "cancel", explain="Cancel a job (terminal).", help="Cancel a job.")
@_opts
@click.option("--reason", default="", help="Why.")
def cancel(args: tuple[str, ...], job_id: str, root: str, reason: str, json: bool) -> Outcome:
    return _outcome("cancel", _store(root, job_id, args).finish(job_id.strip(), "cancel", reason))
