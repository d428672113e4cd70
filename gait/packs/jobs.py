"""Durable jobs: a small state machine on disk that survives restarts (cli.md §3.2 ``gait job``).

Each job lives in ``<root>/<job_id>/``: ``state.json`` (current state,
rewritten atomically) and ``events.jsonl`` (append-only history; each event
carries the state ``revision`` it produced). Every change takes an exclusive
lock on the job directory, appends the event, then replaces the state, so a
crash leaves either the old state or the new one, and ``doctor`` can tell a
state that diverged from its history. A job waiting for a decision cannot be
resumed until someone approves it (exit 4), and a resume from a different
environment fingerprint is refused unless explicitly allowed.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from gait.canonical import canonical_bytes
from gait.errors import GaitError, InvalidInput

__all__ = [
    "CHECKPOINT_TYPES",
    "JobStore",
    "JobTransitionError",
]

STATE_SCHEMA = "gait.job.state"
EVENT_SCHEMA = "gait.job.event"
SCHEMA_VERSION = "1.0.0"
CHECKPOINT_TYPES = ("progress", "decision-needed", "blocked", "completed")
TERMINAL = ("completed", "cancelled", "stopped")
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class JobTransitionError(GaitError):
    """The job is not in a state that allows this action (exit 6)."""


class ApprovalNeeded(GaitError):
    exit_code = 4
    code = "approval_required"
    category = "approval_required"


@dataclass
class JobStore:
    root: str
    clock: Callable[[], str] | None = None

    def _now(self) -> str:
        if self.clock is not None:
            return self.clock()
        from gait.signing import now_rfc3339

        return now_rfc3339()

    def job_dir(self, job_id: str) -> str:
        if not _JOB_ID.match(job_id or ""):
            raise InvalidInput(f"invalid job id: {job_id!r}")
        return os.path.join(self.root, job_id)

    def state_path(self, job_id: str) -> str:
        return os.path.join(self.job_dir(job_id), "state.json")

    def events_path(self, job_id: str) -> str:
        return os.path.join(self.job_dir(job_id), "events.jsonl")

    @contextlib.contextmanager
    def _lock(self, job_id: str) -> Iterator[None]:
        import fcntl

        directory = self.job_dir(job_id)
        if not os.path.isdir(directory):
            raise InvalidInput(f"job not found: {job_id}")
        with open(os.path.join(directory, ".lock"), "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    def load(self, job_id: str) -> dict[str, Any]:
        from gait.safejson import loads

        path = self.state_path(job_id)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError as err:
            raise InvalidInput(f"job not found: {job_id}") from err
        except OSError as err:
            raise InvalidInput(f"read job state {path}: {err}") from err
        # another process may write this file: its status decides whether calls may run
        state = loads(data, f"read job state {path}")
        if not isinstance(state, dict) or state.get("schema_id") != STATE_SCHEMA:
            raise InvalidInput(f"job state {path} is not a {STATE_SCHEMA} document")
        return state

    def status(self, job_id: str) -> str:
        """The job's status alone: the emergency-stop check of every MCP surface."""
        return str(self.load(job_id)["status"])

    def events(self, job_id: str) -> list[dict[str, Any]]:
        from gait.safejson import loads_line

        path = self.events_path(job_id)
        try:
            with open(path, "rb") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise InvalidInput(f"read job events {path}: {err.strerror or err}") from err
        what = f"read job events {path}"
        return [loads_line(line, what, n) for n, line in enumerate(lines, 1) if line.strip()]

    def _commit(self, state: dict[str, Any], action: str, detail: dict[str, Any]) -> dict[str, Any]:
        from gait.fsutil import atomic_write

        now = self._now()
        state["revision"] = int(state.get("revision") or 0) + 1
        state["updated_at"] = now
        event = {
            "schema_id": EVENT_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "job_id": state["job_id"],
            "revision": state["revision"],
            "action": action,
            "created_at": now,
            "status": state["status"],
            **{k: v for k, v in detail.items() if v not in ("", None, [], {})},
        }
        with open(self.events_path(state["job_id"]), "ab") as handle:
            handle.write(canonical_bytes(event) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        text = msgspec.json.format(canonical_bytes(state), indent=2) + b"\n"
        atomic_write(self.state_path(state["job_id"]), text, 0o600)
        return state

    def submit(
        self,
        job_id: str,
        *,
        identity: str = "",
        policy_digest: str = "",
        policy_ref: str = "",
        env_fingerprint: str = "",
    ) -> dict[str, Any]:
        directory = self.job_dir(job_id)
        os.makedirs(self.root, mode=0o750, exist_ok=True)
        try:
            os.mkdir(directory, 0o750)
        except FileExistsError as err:
            raise InvalidInput(f"job already exists: {job_id}") from err
        now = self._now()
        state = {
            "schema_id": STATE_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "job_id": job_id,
            "status": "running",
            "created_at": now,
            "identity": identity,
            "policy_digest": policy_digest,
            "policy_ref": policy_ref,
            "env_fingerprint": env_fingerprint,
            "checkpoints": [],
            "approvals": [],
            "pending_decision": "",
            "revision": 0,
        }
        with self._lock(job_id):
            return self._commit(state, "submit", {"identity": identity})

    def _change(
        self, job_id: str, action: str, apply: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        with self._lock(job_id):
            state = self.load(job_id)
            if state["status"] in TERMINAL and action not in ("inspect",):
                raise JobTransitionError(f"job {job_id} is {state['status']}; cannot {action}")
            detail = apply(state)
            return self._commit(state, action, detail)

    def checkpoint(
        self, job_id: str, kind: str, summary: str, required_action: str = ""
    ) -> dict[str, Any]:
        if kind not in CHECKPOINT_TYPES:
            raise InvalidInput(f"--type must be one of {', '.join(CHECKPOINT_TYPES)}")
        if not summary.strip():
            raise InvalidInput("--summary is required")

        def apply(state: dict[str, Any]) -> dict[str, Any]:
            if state["status"] != "running":
                raise JobTransitionError(
                    f"job {job_id} is {state['status']}; checkpoints need a running job"
                )
            index = len(state["checkpoints"]) + 1
            state["checkpoints"].append(
                {
                    "index": index,
                    "type": kind,
                    "summary": summary.strip(),
                    "required_action": required_action.strip(),
                    "created_at": self._now(),
                }
            )
            if kind == "decision-needed":
                state["status"] = "decision_needed"
                state["pending_decision"] = required_action.strip() or summary.strip()
            elif kind == "blocked":
                state["status"] = "blocked"
            elif kind == "completed":
                state["status"] = "completed"
            return {"checkpoint": index, "type": kind, "summary": summary.strip()}

        return self._change(job_id, "checkpoint", apply)

    def pause(self, job_id: str) -> dict[str, Any]:
        def apply(state: dict[str, Any]) -> dict[str, Any]:
            if state["status"] != "running":
                raise JobTransitionError(
                    f"job {job_id} is {state['status']}; only running jobs pause"
                )
            state["status"] = "paused"
            return {}

        return self._change(job_id, "pause", apply)

    def approve(self, job_id: str, actor: str, reason: str = "") -> dict[str, Any]:
        if not actor.strip():
            raise InvalidInput("--actor is required")

        def apply(state: dict[str, Any]) -> dict[str, Any]:
            if state["status"] not in ("decision_needed", "blocked"):
                raise JobTransitionError(f"job {job_id} is {state['status']}; nothing to approve")
            state["approvals"].append(
                {
                    "actor": actor.strip(),
                    "reason": reason.strip(),
                    "decision": state["pending_decision"],
                    "created_at": self._now(),
                }
            )
            state["pending_decision"] = ""
            state["status"] = "approved"
            return {"actor": actor.strip(), "reason": reason.strip()}

        return self._change(job_id, "approve", apply)

    def resume(
        self, job_id: str, *, env_fingerprint: str = "", allow_env_mismatch: bool = False
    ) -> dict[str, Any]:
        def apply(state: dict[str, Any]) -> dict[str, Any]:
            if state["status"] in ("decision_needed", "blocked"):
                raise ApprovalNeeded(
                    f"resume blocked until approval: job {job_id} is {state['status']}"
                )
            if state["status"] not in ("paused", "approved"):
                raise JobTransitionError(f"job {job_id} is {state['status']}; nothing to resume")
            stored = state.get("env_fingerprint") or ""
            if env_fingerprint and stored and env_fingerprint != stored and not allow_env_mismatch:
                raise InvalidInput(
                    f"environment fingerprint differs from the job's ({stored}); "
                    "use --allow-env-mismatch to resume anyway"
                )
            state["status"] = "running"
            return {"env_fingerprint": env_fingerprint}

        return self._change(job_id, "resume", apply)

    def finish(self, job_id: str, action: str, reason: str = "") -> dict[str, Any]:
        """``stop`` or ``cancel``: terminal."""

        def apply(state: dict[str, Any]) -> dict[str, Any]:
            state["status"] = "stopped" if action == "stop" else "cancelled"
            return {"reason": reason.strip()}

        return self._change(job_id, action, apply)

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
                        "status": state["status"],
                        "revision": state.get("revision", 0),
                        "updated_at": state.get("updated_at", ""),
                    }
                )
        return out

    def divergence(self, job_id: str) -> str:
        """Why the state and its event history disagree, or ""."""
        state = self.load(job_id)
        events = self.events(job_id)
        if not events:
            return "no event history"
        last = events[-1]
        if last.get("revision") != state.get("revision") or last.get("status") != state.get(
            "status"
        ):
            return (
                f"state revision {state.get('revision')} ({state.get('status')}) does not match "
                f"last event revision {last.get('revision')} ({last.get('status')})"
            )
        return ""
