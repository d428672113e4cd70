"""Aligned-table text for people at a terminal (``Outcome.tty_text``).

The plain text of these commands (one ``key=value`` line per item) stays what
scripts and the spec expect; on a terminal the same facts are shown as a table.
"""

from __future__ import annotations

from typing import Any

from gait.cli.term import table


def run_inspect(payload: dict[str, Any]) -> list[str]:
    lines = [
        f"run inspect: run_id={payload.get('run_id', '')} "
        f"intents={payload.get('intents_total', 0)} results={payload.get('results_total', 0)} "
        f"capture_mode={payload.get('capture_mode', '')}",
        f"path: {payload.get('path', '')}",
    ]
    entries = payload.get("entries") or []
    if entries:
        lines.append("")
        lines += table(
            ("#", "INTENT", "TOOL", "STATUS", "VERDICT", "DURATION", "REASONS"),
            (
                (
                    e["index"],
                    e["intent_id"],
                    e["tool_name"],
                    e.get("status") or "missing_result",
                    e.get("verdict") or "-",
                    f"{e['duration_ms']:g}ms" if "duration_ms" in e else "-",
                    ",".join(e.get("reason_codes") or ()) or "-",
                )
                for e in entries
            ),
        )
    for result in payload.get("unmatched_results") or ():
        status = result.get("status") or "unknown"
        lines.append(f"unmatched result: intent={result['intent_id']} status={status}")
    lines.extend(f"warning: {w}" for w in payload.get("warnings") or ())
    return lines


def policy_simulate(payload: dict[str, Any]) -> list[str]:
    lines = [payload["summary"]]
    changed = payload.get("changed") or []
    if changed:
        lines.append("")
        lines += table(
            ("FIXTURE", "BASELINE", "", "CANDIDATE", "CANDIDATE RULE"),
            (
                (
                    e["fixture_path"],
                    e["baseline_verdict"],
                    "->",
                    e["candidate_verdict"],
                    e.get("candidate_matched_rule") or "-",
                )
                for e in changed
            ),
        )
    return lines


def regress_graders(graders: list[dict[str, Any]], text: list[str]) -> list[str]:
    """The plain text with every grader's result as a table after the first line."""
    if not graders:
        return text
    rows = table(
        ("STATUS", "GRADER", "REASON"),
        (
            (
                "PASS" if g["status"] == "pass" else "FAIL",
                g["name"],
                (g["reason_codes"] or ["-"])[0],
            )
            for g in graders
        ),
    )
    kept = [line for line in text[1:] if not line.startswith("failed grader: ")]
    return [text[0], "", *rows, "", *kept]
