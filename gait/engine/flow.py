"""Flow predicates: conditions on the earlier calls of the same session (docs/flow-rules.md).

The engine stays pure: the caller (the gate pipeline) reads the session journal
and passes its calls in as a :class:`FlowHistory`. An earlier call counts for a
predicate when it was allowed, happened at or before ``now`` and within the
predicate's window, names one of its tools (any when none are listed), and has
one target meeting every target condition (endpoint class, sensitivity, same
kind and value as one of the current call's targets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gait.errors import InvalidInput
from gait.intent.model import Intent
from gait.policy.ir import FlowIR, FlowPredicateIR

JOURNAL_KIND = "gait.flow.call"
HISTORY_UNAVAILABLE = "flow_history_unavailable"
COUNTED_VERDICT = "allow"  # only calls that were let through ran, so only they are history


class FlowCall(msgspec.Struct, frozen=True, kw_only=True):
    """One earlier call: its id (the trace's event_id), tool, targets, verdict and time."""

    call_id: str
    tool_name: str
    targets: tuple[tuple[str, str, str, str], ...]  # (kind, value, sensitivity, endpoint_class)
    verdict: str
    at_ns: int


class FlowHistory(msgspec.Struct, frozen=True, kw_only=True):
    """The session's earlier calls as seen at ``now_ns``, or why they are not known."""

    calls: tuple[FlowCall, ...] = ()
    now_ns: int = 0
    available: bool = True
    reason: str = ""  # reason code when unavailable
    # The journal kept only its newest entries: calls before this instant may be missing.
    complete_since_ns: int = 0

    @classmethod
    def unavailable(cls, reason: str = HISTORY_UNAVAILABLE) -> FlowHistory:
        return cls(available=False, reason=reason)


UNAVAILABLE = FlowHistory.unavailable()


def flow_call(intent: Intent, *, call_id: str, verdict: str, at_ns: int) -> FlowCall:
    """The history record of a decided call (script steps' targets together)."""
    targets = list(intent.targets)
    for step in intent.script or ():
        targets.extend(step.targets)
    return FlowCall(
        call_id=call_id,
        tool_name=intent.tool_name,
        targets=tuple((t.kind, t.value, t.sensitivity, t.endpoint_class) for t in targets),
        verdict=verdict,
        at_ns=at_ns,
    )


def journal_entry(call: FlowCall) -> dict[str, Any]:
    return {
        "kind": JOURNAL_KIND,
        "call_id": call.call_id,
        "tool_name": call.tool_name,
        "targets": [list(t) for t in call.targets],
        "verdict": call.verdict,
        "at_ns": call.at_ns,
    }


def calls_from_journal(entries: list[Mapping[str, Any]]) -> tuple[FlowCall, ...]:
    """Flow records of a session journal (other entry kinds are skipped).

    A flow record that does not decode raises :class:`InvalidInput`: a damaged
    journal must not silently read as an empty history.
    """
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"session journal: entry is not an object: {type(entry).__name__}")
        if entry.get("kind") != JOURNAL_KIND:
            continue
        try:
            out.append(
                msgspec.convert(
                    {k: v for k, v in entry.items() if k != "kind"}, FlowCall, strict=True
                )
            )
        except msgspec.ValidationError as err:
            raise InvalidInput(f"session journal: bad flow record: {err}") from err
    return tuple(out)


def _counts(p: FlowPredicateIR, call: FlowCall, now_ns: int, current: frozenset) -> bool:
    if call.verdict != COUNTED_VERDICT or call.at_ns > now_ns:
        return False
    if p.within_ns and now_ns - call.at_ns > p.within_ns:
        return False
    if p.tool_names and call.tool_name not in p.tool_names:
        return False
    if not (p.endpoint_classes or p.sensitivity or p.same_target):
        return True
    return any(
        (not p.endpoint_classes or cls in p.endpoint_classes)
        and (not p.sensitivity or sens in p.sensitivity)
        and (not p.same_target or (kind, value) in current)
        for kind, value, sens, cls in call.targets
    )


def check_flow(
    flow: FlowIR, intent: Intent, history: FlowHistory
) -> tuple[bool, tuple[str, ...] | None]:
    """Whether a row's flow conditions hold, and the ids of the earlier calls they matched.

    For ``after`` the refs are the newest ``min_count`` matching calls; ``not_after``
    holds when fewer than ``min_count`` calls match, so it refers to none. Refs are
    None when a condition looks further back than the truncated journal reaches: the
    answer is unknown, so the rule blocks as if history were unavailable.
    """
    now = history.now_ns
    since = history.complete_since_ns
    if since and any(
        not p.within_ns or now - p.within_ns < since for p in (*flow.after, *flow.not_after)
    ):
        return True, None
    current = frozenset((t.kind, t.value) for t in intent.targets)
    refs: set[str] = set()
    for p in flow.after:
        hits = [c for c in history.calls if _counts(p, c, now, current)]
        if len(hits) < p.min_count:
            return False, ()
        hits.sort(key=lambda c: (c.at_ns, c.call_id))
        refs.update(c.call_id for c in hits[-p.min_count :])
    for p in flow.not_after:
        found = 0
        for c in history.calls:
            if _counts(p, c, now, current):
                found += 1
                if found >= p.min_count:
                    return False, ()
    return True, tuple(sorted(refs))


__all__ = [
    "COUNTED_VERDICT",
    "HISTORY_UNAVAILABLE",
    "JOURNAL_KIND",
    "UNAVAILABLE",
    "FlowCall",
    "FlowHistory",
    "calls_from_journal",
    "check_flow",
    "flow_call",
    "journal_entry",
]
