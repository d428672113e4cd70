"""Durable jobs: a small state machine on disk that survives restarts (``gait job``).

The layout and documents are the original's (core/jobruntime): each job lives
in ``<root>/<job_id>/`` with ``state.json`` (``gait.job.runtime`` 1.0.0,
rewritten atomically, two-space indented) and ``events.jsonl`` (one compact
``gait.job.event`` per change, each carrying the ``revision`` it produced).

Every change takes an exclusive lock on the job, applies the transition,
replaces the state and appends the event. A job waiting for a decision cannot
resume until it has as many approvals as decision checkpoints (exit 4); a
resume from a different environment fingerprint is refused unless explicitly
allowed. ``divergence`` replays the event history to tell whether the state
file still matches it (``doctor`` and job packs use it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gait.errors import GaitError, InvalidInput

__all__ = [
    "CHECKPOINT_TYPES",
    "ApprovalNeeded",
    "JobStore",
    "JobTransitionError",
    "environment_fingerprint",
]

STATE_SCHEMA = "gait.job.runtime"
EVENT_SCHEMA = "gait.job.event"
SCHEMA_VERSION = "1.0.0"
CHECKPOINT_TYPES = ("plan", "progress", "decision-needed", "blocked", "completed")
EMERGENCY_STOPPED = "emergency_stopped"
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# checkpoint type -> (status, stop_reason, status_reason_code) it moves the job to
_CHECKPOINT_MOVES = {
    "decision-needed": ("decision_needed", "decision_needed", "decision_needed"),
    "blocked": ("blocked", "blocked", "blocked"),
    "completed": ("completed", "completed", "completed"),
}


class JobTransitionError(GaitError):
    """The job is not in a state that allows this action (exit 6)."""


class ApprovalNeeded(GaitError):
    exit_code = 4
    code = "approval_required"
    category = "approval_required"


def environment_fingerprint(override: str = "") -> str:
    """The given fingerprint, else one derived from this platform and shell."""
    text = override.strip()
    if text:
        return text
    import platform
    import sys

    parts = sorted(
        [
            f"goos={sys.platform}",
            f"goarch={platform.machine().lower()}",
            f"goversion=python{sys.version_info[0]}.{sys.version_info[1]}",
            f"shell={os.environ.get('SHELL', '').strip()}",
        ]
    )
    return "envfp:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def _dumps_state(state: dict[str, Any]) -> bytes:
    return json.dumps(state, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _dumps_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class JobStore:
    root: str
    clock: Callable[[], str] | None = None
    producer_version: str = ""

    def _now(self) -> str:
        if self.clock is not None:
            return self.clock()
        from gait.signing import now_rfc3339

        return now_rfc3339()

    def job_dir(self, job_id: str) -> str:
        if not _JOB_ID.match(job_id or ""):
            raise InvalidInput(f"invalid job id: {job_id!r}")
        return os.path.join(self.root.strip() or os.path.join(".", "gait-out", "jobs"), job_id)

    def state_path(self, job_id: str) -> str:
        return os.path.join(self.job_dir(job_id), "state.json")

    def events_path(self, job_id: str) -> str:
        return os.path.join(self.job_dir(job_id), "events.jsonl")

    @contextlib.contextmanager
    def _lock(self, job_id: str) -> Iterator[None]:
        import fcntl

        directory = self.job_dir(job_id)
        if not os.path.isfile(os.path.join(directory, "state.json")):
            raise InvalidInput("job not found")
        with open(os.path.join(directory, ".lock"), "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    # ------------------------------------------------------------------ reads

    def load(self, job_id: str) -> dict[str, Any]:
        from gait.safejson import loads

        path = self.state_path(job_id)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError as err:
            raise InvalidInput("job not found") from err
        except OSError as err:
            raise InvalidInput(f"read job state: {err.strerror or err}") from err
        # another process may write this file: its status decides whether calls may run
        state = loads(data, f"parse job state {path}")
        if not isinstance(state, dict) or not str(state.get("job_id") or "").strip():
            raise InvalidInput("invalid job state: missing job_id")
        if state.get("checkpoints") is None:
            state["checkpoints"] = []
        return state

    def status(self, job_id: str) -> str:
        """The job's status alone: the emergency-stop check of every MCP surface.

        An emergency stop reads as ``stopped``, the word those surfaces check.
        """
        value = str(self.load(job_id).get("status") or "")
        return "stopped" if value == EMERGENCY_STOPPED else value

    def events(self, job_id: str) -> list[dict[str, Any]]:
        from gait.safejson import loads_line

        path = self.events_path(job_id)
        try:
            with open(path, "rb") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise InvalidInput(f"read job events: {err.strerror or err}") from err
        what = f"parse job event {path}"
        return [loads_line(line, what, n) for n, line in enumerate(lines, 1) if line.strip()]

    def list_checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return sorted(self.load(job_id)["checkpoints"], key=lambda c: c.get("checkpoint_id", ""))

    def get_checkpoint(self, job_id: str, checkpoint_id: str) -> dict[str, Any]:
        needle = checkpoint_id.strip()
        for checkpoint in self.list_checkpoints(job_id):
            if checkpoint.get("checkpoint_id") == needle:
                return checkpoint
        raise InvalidInput(f"checkpoint not found: {needle}")

    # ---------------------------------------------------------------- changes

    def _append(self, event: dict[str, Any]) -> None:
        with open(self.events_path(event["job_id"]), "ab") as handle:
            handle.write(_dumps_event(event) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _event(
        self,
        state: dict[str, Any],
        kind: str,
        actor: str,
        reason_code: str,
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "schema_id": EVENT_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created_at": state["updated_at"],
            "job_id": state["job_id"],
            "revision": state["revision"],
            "type": kind,
        }
        if actor.strip():
            event["actor"] = actor.strip()
        if reason_code:
            event["reason_code"] = reason_code
        if payload:
            event["payload"] = payload
        return event

    def _change(
        self,
        job_id: str,
        apply: Callable[[dict[str, Any], str], tuple[str, str, str, dict[str, Any] | None]],
    ) -> dict[str, Any]:
        """Lock, apply ``apply(state, now) -> (event type, actor, reason, payload)``, commit."""
        from gait.fsutil import atomic_write

        with self._lock(job_id):
            state = self.load(job_id)
            now = self._now()
            kind, actor, reason_code, payload = apply(state, now)
            state["updated_at"] = now
            state["revision"] = int(state.get("revision") or 0) + 1
            atomic_write(self.state_path(job_id), _dumps_state(state), 0o600)
            self._append(self._event(state, kind, actor, reason_code, payload))
            return state

    def submit(
        self,
        job_id: str,
        *,
        identity: str = "",
        policy_digest: str = "",
        policy_ref: str = "",
        env_fingerprint: str = "",
        actor: str = "",
    ) -> dict[str, Any]:
        from gait.fsutil import atomic_write

        job_id = job_id.strip()
        if not job_id:
            raise InvalidInput("job_id is required")
        directory = self.job_dir(job_id)
        os.makedirs(directory, mode=0o750, exist_ok=True)
        if os.path.exists(os.path.join(directory, "state.json")):
            raise InvalidInput(f"job already exists: {job_id}")
        now = self._now()
        fingerprint = environment_fingerprint(env_fingerprint)
        state: dict[str, Any] = {
            "schema_id": STATE_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created_at": now,
            "updated_at": now,
            "producer_version": self.producer_version.strip() or _version(),
            "job_id": job_id,
            "status": "running",
            "stop_reason": "none",
            "status_reason_code": "submitted",
            "environment_fingerprint": fingerprint,
        }
        for key, value in (
            ("identity", identity),
            ("policy_digest", policy_digest),
            ("policy_ref", policy_ref),
        ):
            if value.strip():
                state[key] = value.strip()
        state.update(revision=1, checkpoints=[])
        with open(os.path.join(directory, ".lock"), "a+b") as handle:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            if os.path.exists(os.path.join(directory, "state.json")):
                raise InvalidInput(f"job already exists: {job_id}")
            atomic_write(os.path.join(directory, "state.json"), _dumps_state(state), 0o600)
            payload = {"environment_fingerprint": fingerprint}
            self._append(self._event(state, "submitted", actor, "submitted", payload))
        return state

    def checkpoint(
        self,
        job_id: str,
        kind: str,
        summary: str,
        required_action: str = "",
        *,
        actor: str = "",
    ) -> dict[str, Any]:
        return self.add_checkpoint(job_id, kind, summary, required_action, actor=actor)[0]

    def add_checkpoint(
        self,
        job_id: str,
        kind: str,
        summary: str,
        required_action: str = "",
        *,
        actor: str = "",
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The new state and the checkpoint added (any status may take one, as the original)."""
        kind, summary, action = kind.strip(), summary.strip(), required_action.strip()
        if kind not in CHECKPOINT_TYPES:
            raise InvalidInput(
                "invalid checkpoint: type must be one of plan|progress|decision-needed|"
                "blocked|completed"
            )
        if not summary:
            raise InvalidInput("invalid checkpoint: summary is required")
        if len(summary.encode("utf-8")) > 512:
            raise InvalidInput("invalid checkpoint: summary exceeds max length 512")
        if kind == "decision-needed" and not action:
            raise InvalidInput(
                "invalid checkpoint: required_action is required for decision-needed checkpoints"
            )
        if kind != "decision-needed":
            action = ""
        added: dict[str, Any] = {}

        def apply(state: dict[str, Any], now: str) -> tuple[str, str, str, dict[str, Any]]:
            checkpoint: dict[str, Any] = {
                "checkpoint_id": f"cp_{len(state['checkpoints']) + 1:04d}",
                "created_at": now,
                "type": kind,
                "summary": summary,
            }
            if action:
                checkpoint["required_action"] = action
            checkpoint["reason_code"] = "checkpoint_" + kind.replace("-", "_")
            if actor.strip():
                checkpoint["actor"] = actor.strip()
            state["checkpoints"].append(checkpoint)
            added.update(checkpoint)
            if kind in _CHECKPOINT_MOVES:
                state["status"], state["stop_reason"], state["status_reason_code"] = (
                    _CHECKPOINT_MOVES[kind]
                )
            payload = {
                "checkpoint_id": checkpoint["checkpoint_id"],
                "checkpoint_type": kind,
                "required_action": action,
            }
            return "checkpoint_added", actor, checkpoint["reason_code"], payload

        return self._change(job_id, apply), added

    def _transition(
        self,
        job_id: str,
        kind: str,
        allowed: tuple[str, ...],
        status: str,
        stop_reason: str,
        reason_code: str,
        actor: str,
    ) -> dict[str, Any]:
        def apply(state: dict[str, Any], _now: str) -> tuple[str, str, str, None]:
            if state.get("status") not in allowed:
                raise JobTransitionError(f"invalid transition: {kind} from {state.get('status')}")
            state["status"], state["stop_reason"] = status, stop_reason
            state["status_reason_code"] = reason_code
            return kind, actor, reason_code, None

        return self._change(job_id, apply)

    def pause(self, job_id: str, actor: str = "") -> dict[str, Any]:
        return self._transition(
            job_id,
            "paused",
            ("running", "decision_needed"),
            "paused",
            "paused_by_user",
            "paused",
            actor,
        )

    def cancel(self, job_id: str, actor: str = "") -> dict[str, Any]:
        return self._transition(
            job_id,
            "cancelled",
            ("running", "paused", "decision_needed", "blocked"),
            "cancelled",
            "cancelled_by_user",
            "cancelled",
            actor,
        )

    def emergency_stop(self, job_id: str, actor: str = "") -> dict[str, Any]:
        return self._transition(
            job_id,
            EMERGENCY_STOPPED,
            ("running", "paused", "decision_needed", "blocked"),
            EMERGENCY_STOPPED,
            EMERGENCY_STOPPED,
            EMERGENCY_STOPPED,
            actor,
        )

    def finish(self, job_id: str, action: str, actor: str = "") -> dict[str, Any]:
        """``stop`` (emergency stop) or ``cancel``."""
        if action == "stop":
            return self.emergency_stop(job_id, actor)
        return self.cancel(job_id, actor)

    def approve(self, job_id: str, actor: str, reason: str = "") -> dict[str, Any]:
        actor, reason = actor.strip(), reason.strip() or "approved"
        if not actor:
            raise InvalidInput("approval actor is required")

        def apply(state: dict[str, Any], now: str) -> tuple[str, str, str, dict[str, Any]]:
            state.setdefault("approvals", []).append(
                {"created_at": now, "actor": actor, "reason": reason}
            )
            state["status_reason_code"] = "approval_recorded"
            return "approved", actor, "approval_recorded", {"reason": reason}

        return self._change(job_id, apply)

    def resume(
        self,
        job_id: str,
        *,
        env_fingerprint: str = "",
        allow_env_mismatch: bool = False,
        actor: str = "",
        reason: str = "",
        identity_revoked: bool = False,
    ) -> dict[str, Any]:
        reason = reason.strip() or "resume"

        def apply(state: dict[str, Any], _now: str) -> tuple[str, str, str, dict[str, Any]]:
            if state.get("status") not in ("paused", "decision_needed", "blocked"):
                raise JobTransitionError(
                    "invalid transition: resume requires paused, decision_needed, or blocked state"
                )
            decisions = sum(1 for c in state["checkpoints"] if c.get("type") == "decision-needed")
            approvals = len(state.get("approvals") or [])
            if decisions > approvals or (state["status"] == "decision_needed" and not decisions):
                raise ApprovalNeeded("approval required: approval required before resume")
            if identity_revoked:
                raise JobTransitionError("invalid transition: identity is revoked")
            current = environment_fingerprint(env_fingerprint)
            stored = str(state.get("environment_fingerprint") or "")
            state["status"], state["stop_reason"] = "running", "none"
            if stored and current != stored:
                if not allow_env_mismatch:
                    raise InvalidInput(
                        f"environment fingerprint mismatch: expected={stored} actual={current}"
                    )
                state["status_reason_code"] = "resumed_with_env_override"
                payload = {
                    "expected_fingerprint": stored,
                    "actual_fingerprint": current,
                    "reason": reason,
                }
                return "resumed", actor, "resumed_with_env_override", payload
            state["status_reason_code"] = "resumed"
            return "resumed", actor, "resumed", {"reason": reason}

        return self._change(job_id, apply)

    # ------------------------------------------------------------ consistency

    def list_jobs(self) -> list[dict[str, Any]]:
        if not os.path.isdir(self.root):
            return []
        out = []
        for name in sorted(os.listdir(self.root)):
            if os.path.isfile(os.path.join(self.root, name, "state.json")):
                try:
                    state = self.load(name)
                except InvalidInput:
                    out.append({"job_id": name, "status": "unreadable"})
                    continue
                out.append(
                    {
                        "job_id": name,
                        "status": state.get("status", ""),
                        "revision": state.get("revision", 0),
                        "updated_at": state.get("updated_at", ""),
                    }
                )
        return out

    def divergence(self, job_id: str) -> str:
        """Why the state and its event history disagree, or "" (replays the events)."""
        state = self.load(job_id)
        events = self.events(job_id)
        if not events:
            return "no event history"
        status = ""
        for event in events:
            status = _replay(status, event)
        last = events[-1]
        if last.get("revision") != state.get("revision") or status != state.get("status"):
            return (
                f"state revision {state.get('revision')} ({state.get('status')}) does not match "
                f"event history revision {last.get('revision')} ({status})"
            )
        return ""


def _replay(status: str, event: dict[str, Any]) -> str:
    """The status after ``event``, from the status before it."""
    kind = event.get("type")
    if kind == "submitted" or kind == "resumed":
        return "running"
    if kind in ("paused", "cancelled", EMERGENCY_STOPPED):
        return str(kind)
    if kind == "checkpoint_added":
        payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        moved = _CHECKPOINT_MOVES.get(str(payload.get("checkpoint_type") or ""))
        return moved[0] if moved else status
    return status


def _version() -> str:
    from gait import __version__

    return __version__
