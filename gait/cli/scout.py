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


@gait_command(
    group,
    "snapshot",
    explain=(
        "Inventory the agent tools a codebase defines (decorated functions, Tool objects, "
        "tool_name fields) and, with --policy, which of them a policy covers."
    ),
    help="Snapshot the tools defined under --roots; optional policy coverage report.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--roots", default=".", show_default=True, help="CSV of directories to scan.")
@click.option("--include", default="", help="CSV of file globs (default *.py,*.json,*.js,*.ts).")
@click.option("--exclude", default="", help="CSV of file globs to skip.")
@click.option("--policy", default="", help="CSV of policies to compute tool coverage for.")
@click.option(
    "--out", default="./gait-out/scout_snapshot.json", show_default=True, help="Snapshot file."
)
@click.option("--coverage-out", default="", help="Coverage report file (with --policy).")
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
    from gait.scout.snapshot import DEFAULT_INCLUDE, build_snapshot, coverage

    if args:
        raise InvalidInput("unexpected positional arguments")
    snap = build_snapshot(
        split_csv(roots) or ["."],
        include=split_csv(include) or list(DEFAULT_INCLUDE),
        exclude=split_csv(exclude),
        producer_version=__version__,
    )
    path = _write_report(out.strip() or "./gait-out/scout_snapshot.json", snap)
    payload: dict[str, Any] = {
        "ok": True,
        "output_path": path,
        "tool_count": snap["tool_count"],
        "files_scanned": snap["files_scanned"],
        "frameworks": snap["frameworks"],
        "snapshot_digest": snap["snapshot_digest"],
    }
    lines = [
        f"scout snapshot ok: tools={snap['tool_count']} files={snap['files_scanned']} "
        f"frameworks={','.join(snap['frameworks']) or 'none'}",
        f"output: {path}",
    ]
    policies = split_csv(policy)
    if policies:
        report = coverage(snap, policies)
        payload["coverage"] = {
            k: report[k]
            for k in ("tools_total", "tools_covered", "coverage_percent", "uncovered_tools")
        }
        if coverage_out.strip():
            payload["coverage_path"] = _write_report(coverage_out.strip(), report)
        lines.append(
            f"coverage: {report['tools_covered']}/{report['tools_total']} tools "
            f"({report['coverage_percent']}%)"
        )
        if report["uncovered_tools"]:
            lines.append("uncovered: " + ", ".join(report["uncovered_tools"]))
    elif coverage_out.strip():
        raise InvalidInput("--coverage-out needs --policy")
    return Outcome(payload, text=lines)


@gait_command(
    group,
    "diff",
    explain="Compare two scout snapshots: tools added, removed or moved (exit 2 when changed).",
    help="Diff two scout snapshots.",
)
@click.argument("args", nargs=-1, metavar="[LEFT RIGHT]")
@click.option("--left", default="", help="Older snapshot JSON.")
@click.option("--right", default="", help="Newer snapshot JSON.")
@click.option("--out", default="", help="Also write the diff JSON here.")
def diff_command(args: tuple[str, ...], left: str, right: str, out: str, json: bool) -> Outcome:
    from gait.packs.common import read_json_file
    from gait.scout.snapshot import diff_snapshots

    sides = [v for v in (*args, left, right) if v.strip()]
    if len(sides) != 2:
        raise InvalidInput("expected <left> <right> snapshots (or --left/--right)")
    loaded = [read_json_file(s, "scout snapshot") for s in sides]
    if not all(isinstance(v, dict) for v in loaded):
        raise InvalidInput("scout snapshots must be JSON objects")
    summary = diff_snapshots(loaded[0], loaded[1])
    payload: dict[str, Any] = {
        "ok": not summary["changed"],
        "left": sides[0],
        "right": sides[1],
        "summary": summary,
    }
    if out.strip():
        payload["output_path"] = _write_report(out.strip(), {"summary": summary})
    lines = [f"scout diff {'changed' if summary['changed'] else 'ok'}: {sides[0]} vs {sides[1]}"]
    for key in ("added_tools", "removed_tools", "changed_tools", "added_frameworks"):
        if summary[key]:
            lines.append(f"{key.replace('_', ' ')}: " + ", ".join(summary[key]))
    return Outcome(payload, 2 if summary["changed"] else 0, text=lines)
