"""Why each row of the table did or did not match an intent (``--explain`` on test/eval).

Slow path by design: every predicate of every row is checked and described.
"""

from __future__ import annotations

from typing import Any

from gait.engine.evaluate import _fail_closed, _runtime
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import (
    IDENTITY,
    PROVENANCE_SOURCE,
    RISK_CLASS,
    SKILL_PUBLISHER,
    SKILL_SOURCE,
    TARGET_FIELDS,
    TOOL_ANNOTATIONS,
    TOOL_NAME,
    WORKSPACE_PREFIX,
    WRKR_PREFIX,
    Predicate,
)


def _intent_side(p: Predicate, intent: Intent) -> Any:
    s = p.subject
    if s == TOOL_NAME:
        return intent.tool_name
    if s == RISK_CLASS:
        return intent.context.risk_class
    if s == IDENTITY:
        return intent.context.identity
    if s == WORKSPACE_PREFIX:
        return intent.context.workspace
    if s in TARGET_FIELDS:
        return sorted({getattr(t, TARGET_FIELDS[s]) for t in intent.targets})
    if s == PROVENANCE_SOURCE:
        return sorted({a.source for a in intent.arg_provenance})
    if s in (SKILL_PUBLISHER, SKILL_SOURCE):
        sp = intent.skill_provenance
        if sp is None:
            return None
        return sp.publisher.lower() if s == SKILL_PUBLISHER else sp.source
    if s.startswith(WRKR_PREFIX):
        auth = intent.context.auth_context or {}
        return auth.get(s[len(WRKR_PREFIX) :])
    if s == TOOL_ANNOTATIONS:
        return [{f: getattr(t, f) for f, _ in p.hints} for t in intent.targets]
    return "delegation" if intent.delegation is not None else None


def _wanted(p: Predicate) -> Any:
    if p.prefixes:
        return list(p.prefixes)
    if p.hints:
        return dict(p.hints)
    if p.values:
        return sorted(p.values)
    return "delegation constraints"


def _show(value: Any) -> str:
    """A value as a policy file writes it (``[host, url]``), not as a Python repr."""
    from gait.policy.fmt import yaml_scalar

    if value is None:
        return "nothing"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and not value:
        return '""'
    return yaml_scalar(value)


def explain_rows(compiled: CompiledPolicy, intent: Intent, history: Any = None) -> dict[str, Any]:
    """Per-row report: considered / matched / first failing predicate, plus the tier chosen.

    ``history`` (a :class:`gait.engine.flow.FlowHistory`) is what the decision saw
    for flow rules; without it they are explained as the engine decides then (blocking).
    """
    ir = compiled.ir
    rt = _runtime(compiled)
    fail_closed = _fail_closed(ir, intent)
    candidates = {row.index for row in rt.candidates.get(intent.tool_name, rt.default_rows)}
    rows: list[dict[str, Any]] = []
    tier_priority: int | None = None
    for row in ir.rows:
        entry: dict[str, Any] = {
            "index": row.index,
            "name": row.name,
            "priority": row.priority,
            "effect": row.effect,
        }
        if fail_closed is not None:
            entry["status"] = "not_evaluated"
            entry["why"] = "fail-closed blocked the intent before any rule"
            rows.append(entry)
            continue
        if tier_priority is not None and row.priority != tier_priority:
            entry["status"] = "not_evaluated"
            entry["why"] = f"priority tier {tier_priority} already matched"
            rows.append(entry)
            continue
        failed = None
        for pred, check in zip(row.predicates, rt.matchers[row.index], strict=True):
            if not check(intent):
                failed = pred
                break
        if failed is None and row.flow:
            from gait.engine.flow import check_flow

            if history is None or not history.available:
                reason = history.reason if history is not None else "flow_history_unavailable"
                entry["status"] = "matched"
                entry["why"] = f"other conditions hold; session history unknown: blocks ({reason})"
            else:
                holds, refs = check_flow(row.flow, intent, history)
                if holds:
                    entry["status"] = "matched"
                    entry["why"] = "all conditions hold, flow predicates on the session history" + (
                        f" (earlier calls {', '.join(refs)})" if refs else ""
                    )
                else:
                    entry["status"] = "no_match"
                    entry["why"] = (
                        "flow predicates (match.after / not_after) do not hold on the session history"
                    )
            if entry["status"] == "matched" and tier_priority is None:
                tier_priority = row.priority
        elif failed is None:
            entry["status"] = "matched"
            entry["why"] = (
                "all conditions hold" if row.predicates else "empty match (matches every intent)"
            )
            if tier_priority is None:
                tier_priority = row.priority
        else:
            entry["status"] = "no_match"
            entry["why"] = (
                f"{failed.source}: wants {_show(_wanted(failed))}, "
                f"intent has {_show(_intent_side(failed, intent))}"
            )
            if row.index not in candidates:
                entry["skipped_by_tool_index"] = True
        rows.append(entry)
    out: dict[str, Any] = {"rows": rows}
    if fail_closed is not None:
        out["fail_closed"] = {
            "reason_codes": list(fail_closed[0]),
            "violations": list(fail_closed[1]),
        }
    if tier_priority is not None:
        out["tier_priority"] = tier_priority
    else:
        out["default_verdict"] = ir.default_verdict
    return out


def render_explanation(report: dict[str, Any]) -> list[str]:
    lines = ["rows in evaluation order:"]
    if "fail_closed" in report:
        fc = report["fail_closed"]
        lines.insert(0, f"fail-closed: block ({', '.join(fc['reason_codes'])})")
    for r in report["rows"]:
        mark = {"matched": "MATCH", "no_match": "no", "not_evaluated": "-"}[r["status"]]
        lines.append(
            f"  [{r['index']}] {mark:5} {r['name']} (priority {r['priority']}, {r['effect']}): {r['why']}"
        )
    if "tier_priority" in report:
        lines.append(f"winning tier: priority {report['tier_priority']}")
    elif "fail_closed" not in report:
        lines.append(f"no rule matched: default verdict {report['default_verdict']}")
    return lines
