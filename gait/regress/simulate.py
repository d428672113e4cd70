"""Compare two compiled policies over a set of intent fixtures (``policy simulate``)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.engine.decision import Decision
from gait.engine.evaluate import evaluate
from gait.errors import InvalidInput
from gait.policy.compiler import CompiledPolicy


def discover_fixtures(spec: str) -> list[str]:
    """CSV of files/directories → sorted, de-duplicated ``.json`` fixture paths."""
    found: set[str] = set()
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        p = Path(entry)
        if not p.exists():
            raise InvalidInput(f"fixtures path: stat {entry}: no such file or directory")
        if p.is_dir():
            for root, _dirs, files in os.walk(p):
                for name in files:
                    if name.lower().endswith(".json"):
                        found.add(os.path.normpath(os.path.join(root, name)))
        else:
            if not entry.lower().endswith(".json"):
                raise InvalidInput(f"fixture file must be .json: {entry}")
            found.add(os.path.normpath(entry))
    if not found:
        raise InvalidInput("no intent fixtures discovered from --fixtures")
    return sorted(found)


@dataclass(frozen=True)
class FixtureRun:
    path: str
    baseline: Decision
    candidate: Decision

    @property
    def changed(self) -> bool:
        b, c = self.baseline, self.candidate
        return (b.verdict, b.reason_codes, b.violations, b.matched_rule) != (
            c.verdict,
            c.reason_codes,
            c.violations,
            c.matched_rule,
        )


def recommendation(runs: Sequence[FixtureRun]) -> str:
    changed = [r for r in runs if r.changed]
    if not changed:
        return "enforce"
    if any(r.baseline.verdict != "allow" and r.candidate.verdict == "allow" for r in changed):
        return "observe"
    if any(r.baseline.verdict != "block" and r.candidate.verdict == "block" for r in changed):
        return "require_approval"
    return "enforce"


def simulate(
    baseline: CompiledPolicy,
    candidate: CompiledPolicy,
    fixtures: Sequence[tuple[str, Any]],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Evaluate every (path, normalized intent) under both policies; the spec's report shape.

    ``progress(done, total)`` is called after each fixture (the CLI shows it).
    """
    runs = []
    for path, intent in fixtures:
        runs.append(FixtureRun(path, evaluate(baseline, intent), evaluate(candidate, intent)))
        if progress is not None:
            progress(len(runs), len(fixtures))
    changed = [r for r in runs if r.changed]
    rec = recommendation(runs)

    def counts(pick: str) -> list[dict[str, Any]]:
        c = Counter(getattr(r, pick).verdict for r in runs)
        return [{"verdict": v, "count": n} for v, n in sorted(c.items())]

    entries = []
    for r in changed:
        b, c = r.baseline, r.candidate
        entry: dict[str, Any] = {
            "fixture_path": r.path,
            "intent_digest": b.intent_digest,
            "baseline_verdict": b.verdict,
            "candidate_verdict": c.verdict,
            "changed": True,
        }
        for key, value in (
            ("baseline_reason_codes", list(b.reason_codes)),
            ("candidate_reason_codes", list(c.reason_codes)),
            ("baseline_violations", list(b.violations)),
            ("candidate_violations", list(c.violations)),
            ("baseline_matched_rule", b.matched_rule),
            ("candidate_matched_rule", c.matched_rule),
        ):
            if value:
                entry[key] = value
        entries.append(entry)
    out: dict[str, Any] = {
        "ok": True,
        "baseline_policy_digest": baseline.policy_digest,
        "candidate_policy_digest": candidate.policy_digest,
        "fixtures_total": len(runs),
        "baseline_verdicts": counts("baseline"),
        "candidate_verdicts": counts("candidate"),
        "recommendation": rec,
        "summary": f"policy simulate fixtures={len(runs)} changed={len(changed)} recommendation={rec}",
    }
    if changed:
        out["changed_fixtures"] = len(changed)
        out["changed"] = entries
    return out
