"""``gait scout signal`` and ``gait report top`` (scout_packs.md §1)."""

from __future__ import annotations

import os
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import InvalidInput

group = GaitGroup(
    name="scout",
    explain="Cluster incidents: fingerprint runs, group them into families, rank and explain them.",
    help="Fingerprint runs and rank incident families with likely drivers and fixes.",
    context_settings={"help_option_names": ["--help", "-h"]},
)

report_group = GaitGroup(
    name="report",
    explain="Rank the highest-risk actions from runpacks and traces in an offline triage report.",
    help="Summaries over many runs.",
    context_settings={"help_option_names": ["--help", "-h"]},
)

DEFAULT_OUT = "./gait-out/scout_signal_report.json"


def _signal(runs: list[str], traces: str, regress: str) -> dict[str, Any]:
    from gait import __version__
    from gait.packs.common import split_csv
    from gait.scout.signal import build_signal_report, resolve_run_sources

    sources = resolve_run_sources(runs)
    if not sources:
        raise InvalidInput("missing required --runs <csv> or positional run sources")
    trace_paths = []
    for item in split_csv(traces):
        if os.path.isdir(item):
            trace_paths += [
                os.path.join(item, n)
                for n in sorted(os.listdir(item))
                if n.startswith("trace_") and n.endswith(".json")
            ]
        else:
            trace_paths.append(item)
    return build_signal_report(
        sources,
        trace_paths=trace_paths,
        regress_paths=split_csv(regress),
        producer_version=__version__,
    )


def _write_report(path: str, report: dict[str, Any]) -> str:
    from gait.canonical import canonical_bytes
    from gait.packs.common import write_pack

    return write_pack(path, canonical_bytes(report))


@gait_command(
    group,
    "signal",
    explain=(
        "Fingerprint runpacks (with optional traces and regress results), group identical "
        "fingerprints into families, rank them by severity and name their likely drivers."
    ),
    help="Rank incident families across runs (run_ids or runpack paths).",
)
@click.argument("args", nargs=-1, metavar="[RUN_ID|PATH...]")
@click.option("--runs", default="", help="CSV of run_ids or runpack paths.")
@click.option("--traces", default="", help="CSV of gate trace JSON files (or directories).")
@click.option("--regress", default="", help="CSV of regress_result.json files.")
@click.option("--out", default=DEFAULT_OUT, show_default=True, help="Report output file.")
def signal_command(
    args: tuple[str, ...], runs: str, traces: str, regress: str, out: str, json: bool
) -> Outcome:
    from gait.packs.common import split_csv

    report = _signal([*split_csv(runs), *split_csv(list(args))], traces, regress)
    path = _write_report(out.strip() or DEFAULT_OUT, report)
    top = report["top_issues"]
    payload = {
        "ok": True,
        "output_path": path,
        "run_count": report["run_count"],
        "family_count": report["family_count"],
        "top_issues": len(top),
        "report": report,
    }
    lines = [
        f"scout signal ok: runs={report['run_count']} families={report['family_count']} "
        f"top_issues={len(top)}",
        f"output: {path}",
    ]
    if top:
        first = top[0]
        lines.append(
            f"top_issue: family={first['family_id']} severity={first['severity_level']} "
            f"score={first['severity_score']} reason={first.get('top_failure_reason', '')}"
        )
    # the ranked table is for a person at a terminal; pipes get the original's lines only
    table = ["rank  score  level     count  drivers                          run"] if top else []
    for issue in top:
        table.append(
            f"{issue['rank']:<5} {issue['severity_score']:<6} {issue['severity_level']:<9} "
            f"{issue['count']:<6} {','.join(issue.get('drivers', [])):<32} "
            f"{issue['canonical_run_id']}"
        )
    return Outcome(payload, text=lines, tty_text=lines + table)


@gait_command(
    report_group,
    "top",
    explain=(
        "Rank the riskiest single actions in runpacks and gate traces by tool class, "
        "blast radius, verdict and reasons."
    ),
    help="Top risky actions across runs and traces (run_ids, runpack paths or directories).",
)
@click.argument("args", nargs=-1, metavar="[RUN_ID|PATH|DIR...]")
@click.option("--runs", default="", help="CSV of run_ids, runpack paths or directories.")
@click.option("--traces", default="", help="CSV of trace JSON files or directories.")
@click.option("--limit", default=5, show_default=True, type=int, help="How many actions (1-20).")
@click.option(
    "--out",
    default="",
    help="Report file (default ./gait-out/report_top_actions.json).",
)
def top_command(
    args: tuple[str, ...], runs: str, traces: str, limit: int, out: str, json: bool
) -> Outcome:
    from gait import __version__
    from gait.packs.common import split_csv
    from gait.scout.top_actions import (
        build_top_actions_report,
        resolve_report_runs,
        resolve_report_traces,
    )

    if limit < 1:
        raise InvalidInput("--limit must be >= 1")
    run_sources = [*split_csv(runs), *args]
    trace_sources = split_csv(traces)
    if not run_sources and not trace_sources:
        raise InvalidInput("missing --runs and/or --traces sources")
    run_paths = resolve_report_runs(run_sources)
    trace_paths = resolve_report_traces(trace_sources)
    if not run_paths and not trace_paths:
        raise InvalidInput("no runpack or trace artifacts found in provided sources")
    report = build_top_actions_report(
        run_paths, trace_paths, limit=limit, producer_version=__version__
    )
    path = _write_report(out.strip() or "./gait-out/report_top_actions.json", report)
    payload: dict[str, Any] = {"ok": True, "output_path": path, "report": report}
    # zero counts are left out, as the original (omitempty)
    for key, value in (
        ("run_count", report["run_count"]),
        ("trace_count", report["trace_count"]),
        ("action_count", report["action_count"]),
        ("top_actions", len(report["top_actions"])),
    ):
        if value:
            payload[key] = value
    lines = [
        f"report top ok: runs={report['run_count']} traces={report['trace_count']} "
        f"actions={report['action_count']} top={len(report['top_actions'])}",
        f"output: {path}",
    ]
    lines += [
        f"{a['rank']}. score={a['score']} class={a['tool_class']} blast={a['blast_radius']} "
        f"tool={a['tool_name']} run={a['run_id']} verdict={a.get('verdict') or 'n/a'} "
        f"source={a['source_artifact']}"
        for a in report["top_actions"]
    ]
    return Outcome(payload, text=lines)


def _write_go_json(path: str, value: Any) -> str:
    """Compact JSON in the document's own field order (the original's json.Marshal)."""
    import json as _json

    from gait.packs.common import write_pack

    return write_pack(path, _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@gait_command(
    group,
    "snapshot",
    explain=(
        "Generate an inventory snapshot of agent tools and MCP servers from workspace files "
        "and, with --policy, the share of them a policy gates."
    ),
    help="Snapshot the tools and MCP servers under --roots; optional policy coverage.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--roots", default=".", show_default=True, help="CSV of directories to scan.")
@click.option("--include", default="", help="CSV of path patterns to include.")
@click.option("--exclude", default="", help="CSV of path patterns to skip.")
@click.option("--policy", default="", help="CSV of policies to compute coverage for.")
@click.option(
    "--out", default="", help="Snapshot file (default ./gait-out/inventory_snapshot_<id>.json)."
)
@click.option(
    "--coverage-out",
    default="",
    help="Coverage file (default ./gait-out/inventory_coverage_<id>.json with --policy).",
)
def snapshot_command(
    args: tuple[str, ...],
    roots: str,
    include: str,
    exclude: str,
    policy: str,
    out: str,
    coverage_out: str,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.packs.common import split_csv
    from gait.scout.snapshot import build_coverage, build_snapshot

    if args:
        raise InvalidInput("unexpected positional arguments")
    snap = build_snapshot(
        split_csv(roots),
        include=split_csv(include),
        exclude=split_csv(exclude),
        producer_version=__version__,
    )
    snapshot_id = snap["snapshot_id"]
    path = _write_go_json(out.strip() or f"./gait-out/inventory_snapshot_{snapshot_id}.json", snap)
    payload: dict[str, Any] = {"ok": True, "snapshot_path": path}
    lines = [f"scout snapshot ok: {path}"]
    report = None
    policies = split_csv(policy)
    if policies:
        report = build_coverage(snap, policies)
        payload["coverage_path"] = _write_go_json(
            coverage_out.strip() or f"./gait-out/inventory_coverage_{snapshot_id}.json", report
        )
        lines.append(
            f"coverage: discovered={report['discovered_tools']} gated={report['gated_tools']} "
            f"high_risk_ungated={report['high_risk_ungated_tools']} "
            f"coverage_percent={float(report['coverage_percent']):.2f}"
        )
    elif coverage_out.strip():
        payload["coverage_path"] = coverage_out.strip()  # named, not written: no --policy
    payload["snapshot_id"] = snapshot_id
    if snap["items"]:
        payload["items"] = len(snap["items"])
    if report is not None:
        payload["coverage"] = report
    return Outcome(payload, text=lines)


@gait_command(
    group,
    "diff",
    explain="Diff two scout inventory snapshots and optionally write the drift report.",
    help="Diff two scout snapshots (exit 2 when items were added, removed or changed).",
)
@click.argument("args", nargs=-1, metavar="[LEFT RIGHT]")
@click.option("--left", default="", help="Left (older) snapshot JSON.")
@click.option("--right", default="", help="Right (newer) snapshot JSON.")
@click.option("--out", default="", help="Also write the diff JSON here.")
def diff_command(args: tuple[str, ...], left: str, right: str, out: str, json: bool) -> Outcome:
    from gait.packs.common import read_json_file
    from gait.scout.snapshot import diff_snapshots

    rest = list(args)
    if not left and rest:
        left = rest.pop(0)
    if not right and rest:
        right = rest.pop(0)
    if not left or not right or rest:
        raise InvalidInput("expected <left_snapshot.json> <right_snapshot.json>")
    loaded = []
    for side in (left, right):
        value = read_json_file(side, "snapshot")
        if not isinstance(value, dict):
            raise InvalidInput(f"parse snapshot {side}: expected a JSON object")
        loaded.append(value)
    diff = diff_snapshots(loaded[0], loaded[1])
    same = not (diff["added_count"] or diff["removed_count"] or diff["changed_count"])
    payload: dict[str, Any] = {"ok": same, "left": left, "right": right}
    if out.strip():
        payload["output_path"] = out
        _write_go_json(out.strip(), diff)
    payload["diff"] = diff
    word = "ok" if same else "changed"
    return Outcome(payload, 0 if same else 2, text=[f"scout diff {word}: {left} vs {right}"])
