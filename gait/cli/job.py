"""``gait job submit|status|checkpoint add|list|show|pause|stop|approve|resume|cancel|inspect``."""

from __future__ import annotations

import os
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import GaitError, InvalidInput

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
        raise InvalidInput("job not found")  # the original looks up an empty id and fails
    return JobStore(root.strip() or ROOT)


def _outcome(
    operation: str,
    state: dict[str, Any] | None,
    *,
    job_id: str = "",
    checkpoint: dict[str, Any] | None = None,
    checkpoints: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    code: int = 0,
) -> Outcome:
    """The original's gait.job.output envelope and text lines (cmd/gait/job.go)."""
    payload: dict[str, Any] = {
        "schema_id": "gait.job.output",
        "schema_version": "1.0.0",
        "ok": code == 0,
        "operation": operation,
    }
    the_id = state["job_id"] if state else job_id
    if the_id:
        payload["job_id"] = the_id
    lines = []
    if state is not None:
        payload["job"] = state
        lines.append(
            f"job {operation}: id={state['job_id']} status={state.get('status', '')} "
            f"stop_reason={state.get('stop_reason', '')} "
            f"reason_code={state.get('status_reason_code', '')}"
        )
    if checkpoint:
        payload["checkpoint"] = checkpoint
        lines.append(f"checkpoint: {checkpoint['checkpoint_id']} ({checkpoint['type']})")
    if checkpoints:
        payload["checkpoints"] = checkpoints
        lines.append(f"checkpoints={len(checkpoints)}")
    if events:
        payload["events"] = events
        lines.append(f"events={len(events)}")
    payload.update(extra or {})
    return Outcome(payload, code, text=lines)


def _policy_metadata(policy: str, digest: str, ref: str) -> tuple[str, str]:
    """A policy file gives its digest (which must equal --policy-digest) and, by default, ref."""
    digest, ref = digest.strip(), ref.strip()
    if policy.strip():
        from gait.cli.common import load_compiled

        try:
            computed = load_compiled(policy.strip()).policy_digest
        except GaitError as err:
            raise InvalidInput(f"load policy: {err.message}") from err
        if digest and digest != computed:
            raise InvalidInput(f"policy digest mismatch: provided={digest} computed={computed}")
        digest = computed
        ref = ref or os.path.normpath(policy.strip())
    return digest, ref


@gait_command(group, "submit", explain="Create a durable job.", help="Submit a new job.")
@_opts
@click.option("--actor", default="", help="Actor identity recorded on the submit event.")
@click.option("--identity", default="", help="Agent identity bound to the job.")
@click.option("--policy", default="", help="Policy file whose digest the job records.")
@click.option("--policy-digest", default="", help="Policy digest the job runs under.")
@click.option("--policy-ref", default="", help="Policy reference (default: the --policy path).")
@click.option(
    "--env-fingerprint", default="", help="Environment fingerprint (default: derived here)."
)
def submit(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    actor: str,
    identity: str,
    policy: str,
    policy_digest: str,
    policy_ref: str,
    env_fingerprint: str,
    json: bool,
) -> Outcome:
    if args:
        raise InvalidInput("unexpected positional arguments")
    digest, ref = _policy_metadata(policy, policy_digest, policy_ref)
    if not job_id.strip():
        raise InvalidInput("job_id is required")
    store = _store(root, job_id, ())
    state = store.submit(
        job_id.strip(),
        identity=identity,
        policy_digest=digest,
        policy_ref=ref,
        env_fingerprint=env_fingerprint,
        actor=actor,
    )
    return _outcome("submit", state)


@gait_command(group, "status", explain="Show a job's status.", help="Job status.")
@_opts
def status(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    return _outcome("status", store.load(job_id.strip()))


@gait_command(
    group, "inspect", explain="Show a job's state and event history.", help="Inspect a job."
)
@_opts
def inspect(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    state = store.load(job_id.strip())
    events = store.events(job_id.strip())
    extra = {}
    divergence = store.divergence(job_id.strip())
    if divergence:  # our addition: the state no longer matches its history
        extra["divergence"] = divergence
    return _outcome("inspect", state, events=events, extra=extra)


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
    explain="Add a checkpoint to a job.",
    help="Add a job checkpoint.",
)
@_opts
@click.option(
    "--type",
    "kind",
    default="progress",
    show_default=True,
    help="plan|progress|decision-needed|blocked|completed.",
)
@click.option("--summary", default="", help="What happened (at most 512 bytes).")
@click.option("--required-action", default="", help="What a person must decide (decision-needed).")
@click.option("--actor", default="", help="Actor identity.")
def checkpoint_add(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    kind: str,
    summary: str,
    required_action: str,
    actor: str,
    json: bool,
) -> Outcome:
    store = _store(root, job_id, args)
    state, added = store.add_checkpoint(job_id.strip(), kind, summary, required_action, actor=actor)
    return _outcome("checkpoint add", state, checkpoint=added)


@gait_command(
    checkpoint_group, "list", explain="List a job's checkpoints.", help="List job checkpoints."
)
@_opts
def checkpoint_list(args: tuple[str, ...], job_id: str, root: str, json: bool) -> Outcome:
    store = _store(root, job_id, args)
    listed = store.list_checkpoints(job_id.strip())
    return _outcome("checkpoint list", None, job_id=job_id.strip(), checkpoints=listed)


@gait_command(
    checkpoint_group, "show", explain="Show one job checkpoint.", help="Show a job checkpoint."
)
@_opts
@click.option("--checkpoint", default="", help="Checkpoint id (cp_0001, ...).")
def checkpoint_show(
    args: tuple[str, ...], job_id: str, root: str, checkpoint: str, json: bool
) -> Outcome:
    store = _store(root, job_id, args)
    found = store.get_checkpoint(job_id.strip(), checkpoint)
    return _outcome("checkpoint show", None, job_id=job_id.strip(), checkpoint=found)


def _actor_opts(fn: Any) -> Any:
    fn = click.option("--actor", default="", help="Actor identity.")(fn)
    return _opts(fn)


@gait_command(group, "pause", explain="Pause a running job.", help="Pause a job.")
@_actor_opts
def pause(args: tuple[str, ...], job_id: str, root: str, actor: str, json: bool) -> Outcome:
    return _outcome("pause", _store(root, job_id, args).pause(job_id.strip(), actor))


@gait_command(
    group,
    "stop",
    explain="Emergency-stop a job: MCP surfaces block its calls from then on.",
    help="Emergency-stop a job.",
)
@_actor_opts
def stop(args: tuple[str, ...], job_id: str, root: str, actor: str, json: bool) -> Outcome:
    return _outcome("stop", _store(root, job_id, args).emergency_stop(job_id.strip(), actor))


@gait_command(group, "cancel", explain="Cancel a job (terminal).", help="Cancel a job.")
@_actor_opts
def cancel(args: tuple[str, ...], job_id: str, root: str, actor: str, json: bool) -> Outcome:
    return _outcome("cancel", _store(root, job_id, args).cancel(job_id.strip(), actor))


@gait_command(group, "approve", explain="Record an approval on a job.", help="Approve a job.")
@_actor_opts
@click.option("--reason", default="", help="Why (default: approved).")
def approve(
    args: tuple[str, ...], job_id: str, root: str, actor: str, reason: str, json: bool
) -> Outcome:
    return _outcome("approve", _store(root, job_id, args).approve(job_id.strip(), actor, reason))


def _revoked(path: str) -> set[str]:
    """Identities listed in a JSON array, a {revoked_identities|identities} object or lines.

    Fails closed: text that starts like JSON must be one of the JSON forms, so a
    broken or misspelt file is an input error, never an empty revocation list.
    """
    from gait.safejson import NotJSON, loads

    try:
        with open(path.strip(), "rb") as handle:
            text = handle.read().decode("utf-8", "replace").strip()
    except OSError as err:
        raise InvalidInput(f"read identity revocations: {err.strerror or err}") from err
    if not text:
        return set()
    if text[0] not in "[{":
        lines = (line.strip() for line in text.splitlines())
        return {line for line in lines if line and not line.startswith("#")}
    try:
        data = loads(text, "parse identity revocations")
    except NotJSON as err:
        raise InvalidInput(err.message) from None
    if isinstance(data, dict):
        if "revoked_identities" not in data and "identities" not in data:
            raise InvalidInput(
                "parse identity revocations: expected revoked_identities or identities"
            )
        lists = [data.get("revoked_identities") or [], data.get("identities") or []]
    else:
        lists = [data]
    for entries in lists:
        if not isinstance(entries, list) or not all(isinstance(v, str) for v in entries):
            raise InvalidInput("parse identity revocations: expected a list of identity strings")
    return {v.strip() for entries in lists for v in entries if v.strip()}


@gait_command(
    group,
    "resume",
    explain="Resume a paused, decision-needed or blocked job (approvals and fingerprint checked).",
    help="Resume a job.",
)
@_actor_opts
@click.option("--identity", default="", help="Agent identity to check on resume.")
@click.option("--reason", default="", help="Why (default: resume).")
@click.option("--env-fingerprint", default="", help="Fingerprint of the resuming environment.")
@click.option("--allow-env-mismatch", is_flag=True, help="Resume despite a different fingerprint.")
@click.option("--policy", default="", help="Policy file re-checked on resume.")
@click.option("--policy-digest", default="", help="Policy digest (must match --policy).")
@click.option("--policy-ref", default="", help="Policy reference.")
@click.option("--identity-validation-source", default="", help="Label for the identity check.")
@click.option("--identity-revocations", default="", help="File of revoked identities.")
@click.option("--identity-revoked", is_flag=True, help="Treat the identity as revoked.")
def resume(
    args: tuple[str, ...],
    job_id: str,
    root: str,
    actor: str,
    identity: str,
    reason: str,
    env_fingerprint: str,
    allow_env_mismatch: bool,
    policy: str,
    policy_digest: str,
    policy_ref: str,
    identity_validation_source: str,
    identity_revocations: str,
    identity_revoked: bool,
    json: bool,
) -> Outcome:
    if args:
        raise InvalidInput("unexpected positional arguments")
    _policy_metadata(policy, policy_digest, policy_ref)
    store = _store(root, job_id, ())
    if identity_revocations.strip():
        revoked = _revoked(identity_revocations)
        # the job's own identity counts too: --identity must not hide it
        bound = str(store.load(job_id.strip()).get("identity") or "").strip()
        identity_revoked = identity_revoked or bool({identity.strip(), bound} & revoked)
    state = store.resume(
        job_id.strip(),
        env_fingerprint=env_fingerprint,
        allow_env_mismatch=allow_env_mismatch,
        actor=actor,
        reason=reason,
        identity_revoked=identity_revoked,
    )
    return _outcome("resume", state)
