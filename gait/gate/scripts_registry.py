"""Approved-script fast path of ``gate eval`` (trace.md §7, §5.2 step 6).

A registry entry (written by ``gait approve-script``, format in
:mod:`gait.gate.approved_scripts`) pre-approves one script under one policy.
During a decision, a script intent whose policy digest, script hash, step tool
names and scope match an unexpired, verified entry is allowed without policy
evaluation (reason ``approved_script_match``, every step ``allow``).

Every entry must verify: one entry that does not (bad signature, malformed)
makes the whole registry unavailable, like a missing or unreadable file. What
that means (block or warning) depends on the call, so this module raises and
the pipeline decides. Expired entries are valid but never match.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gait.errors import GaitError, InvalidInput

if TYPE_CHECKING:
    from gait.engine import Decision
    from gait.intent.model import Intent
    from gait.policy.compiler import CompiledPolicy
    from gait.signing import KeyPair

__all__ = [
    "MATCH",
    "NOT_FOUND",
    "RegistrySource",
    "ScriptMatch",
    "load_verified_entries",
    "match_script",
    "policy_requires_context_evidence",
    "pre_approved_decision",
]

MATCH = "approved_script_match"
NOT_FOUND = "approved_script_not_found"


class KeyMissing(GaitError):
    """No key to verify registry entries with."""


def load_verified_entries(path: str, key: KeyPair) -> list[dict[str, Any]]:
    """Normalized entries of the registry at ``path``, each verified with ``key``.

    Errors (GaitError): unreadable or malformed file, or ``verification failed at
    entry N: …`` for the first entry that is malformed or not signed by ``key``.
    """
    from gait.gate.approved_scripts import read_registry, verify_entry

    clean = path.strip()
    if not clean:
        raise InvalidInput("approved script registry path is required")
    out = []
    for index, entry in enumerate(read_registry(clean)):
        try:
            out.append(verify_entry(entry, key))
        except GaitError as err:
            raise InvalidInput(
                f"approved script registry verification failed at entry {index}: {err.message}"
            ) from err
    return out


class RegistrySource:
    """A registry file and how to find its verify key; re-read only when the file changes.

    ``key`` returns the verify key or None when none is configured (resolved at
    the first decision that needs it, so a gate without scripts reads no key).
    """

    def __init__(self, path: str, key: Callable[[], KeyPair | None]) -> None:
        self.path = path
        self._key = key
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int, int], str, list[dict[str, Any]]] | None = None

    def verify_key(self) -> KeyPair | None:
        """The configured verify key, or None. Errors: InvalidInput for a broken key source."""
        return self._key()

    def entries(self, key: KeyPair) -> list[dict[str, Any]]:
        """Entries verified with ``key``. Errors: GaitError for the file or its first bad entry."""
        stamp: tuple[int, int, int] | None = None
        try:
            info = os.stat(self.path.strip())
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except (OSError, ValueError):
            pass
        cached = self._cached
        if stamp is not None and cached is not None and cached[:2] == (stamp, key.key_id):
            return cached[2]
        entries = load_verified_entries(self.path, key)
        if stamp is not None:
            with self._lock:
                self._cached = (stamp, key.key_id, entries)
        return entries


def policy_requires_context_evidence(compiled: CompiledPolicy) -> bool:
    """True when any rule (or fail-closed) needs context evidence: the fast path must not skip it."""
    policy = compiled.policy
    if "context_evidence" in policy.fail_closed.required_fields:
        return True
    return any(
        r.require_context_evidence
        or r.required_context_evidence_mode == "required"
        or r.max_context_age_seconds > 0
        for r in policy.rules
    )


class ScriptMatch:
    __slots__ = ("matched", "pattern_id", "reason")

    def __init__(self, matched: bool, pattern_id: str, reason: str) -> None:
        self.matched = matched
        self.pattern_id = pattern_id
        self.reason = reason


def _scope_holds(intent: Intent, scope: Sequence[str]) -> bool:
    """Entry scopes narrow a match; a scope kind gait does not know never matches."""
    ctx = intent.context
    for item in scope:
        kind, _, value = item.partition(":")
        if kind == "risk":
            ok = ctx.risk_class.strip().lower() == value
        elif kind == "tool":
            ok = intent.tool_name.strip().lower() == value
        elif kind == "workspace_prefix":
            workspace = posixpath.normpath(ctx.workspace.strip().replace("\\", "/"))
            ok = workspace == value or workspace.startswith(value + "/")
        elif kind == "endpoint":
            targets = [t for s in intent.script or () for t in s.targets] or list(intent.targets)
            ok = any(t.endpoint_class.strip().lower() == value for t in targets)
        else:
            ok = False
        if not ok:
            return False
    return True


def match_script(
    intent: Intent, policy_digest: str, entries: Sequence[dict[str, Any]], now_ns: int
) -> ScriptMatch:
    """The first unexpired entry for this policy, script hash, step sequence and scope.

    The entry's ``tool_sequence`` is stored sorted and de-duplicated while the
    intent's is in step order, so only scripts whose steps are already in sorted
    order without repeats can match (the reference behaves the same way).
    """
    from gait.signing import parse_rfc3339

    if intent.script is None:
        return ScriptMatch(False, "", "not_script")
    sequence = [step.tool_name for step in intent.script]
    digest = policy_digest.strip().lower()
    for entry in entries:
        if entry["policy_digest"] != digest or entry["script_hash"] != intent.script_hash:
            continue
        seconds, nanos = parse_rfc3339(entry["expires_at"])
        if seconds * 1_000_000_000 + nanos <= now_ns:
            continue
        if entry["tool_sequence"] != sequence:
            continue
        if not _scope_holds(intent, entry.get("scope") or ()):
            continue
        return ScriptMatch(True, entry["pattern_id"], MATCH)
    return ScriptMatch(False, "", NOT_FOUND)


def pre_approved_decision(intent: Intent, policy_digest: str) -> Decision:
    """The decision of a matched script: allow, every step allow, no rule evaluated."""
    from gait.engine import Decision
    from gait.engine.decision import StepVerdict
    from gait.engine.evaluate import RISK_RANK, step_risk

    steps = intent.script or ()
    reasons = (MATCH,)
    risks = [step_risk(s.targets) for s in steps]
    return Decision(
        verdict="allow",
        reason_codes=reasons,
        violations=(),
        matched_rules=(),
        policy_digest=policy_digest,
        intent=intent,
        step_verdicts=tuple(
            StepVerdict(i, s.tool_name, "allow", reasons, (), ()) for i, s in enumerate(steps)
        ),
        composite_risk_class=max(risks, key=lambda r: RISK_RANK[r]) if risks else "low",
    )
