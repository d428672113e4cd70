"""``gait incident pack`` (scout_packs.md §3): evidence around a run, selected by time."""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.guard import one_target

group = GaitGroup(
    name="incident",
    explain="Package a run with the traces, regress results and approvals around it in time.",
    help="Build incident packs from a run and the artifacts beside it.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


@gait_command(
    group,
    "pack",
    explain=(
        "Build an unsigned incident pack: the run plus every trace, regress result and "
        "approval/credential record in its directory within --window of the run."
    ),
    help="Build an incident pack for a run (run_id or path) and a time window around it.",
)
@click.argument("args", nargs=-1, metavar="[RUN_ID|PATH]")
@click.option("--from", "source", default=None, help="run_id or runpack path.")
@click.option("--window", default="24h", help="Go duration either side of the run (24h, 90m).")
@click.option("--template", default="incident_response", help="incident_response|soc2|pci.")
@click.option("--out", default="", help="Output zip (default: evidence_pack_<pack_id>.zip).")
@click.option("--case-id", default="", help="Case identifier recorded in the manifest.")
@click.option("--render-pdf", is_flag=True, help="Also add a summary.pdf of controls and members.")
def pack_command(
    args: tuple[str, ...],
    source: str | None,
    window: str,
    template: str,
    out: str,
    case_id: str,
    render_pdf: bool,
    json: bool,
) -> Outcome:
    from gait import __version__
    from gait.packs.guard import default_pack_path, write_guard_pack
    from gait.packs.incident import build_incident_pack, parse_window
    from gait.packs.source import read_source_run
    from gait.runpack.reader import resolve_runpack

    target = one_target(args, source, "--from <run_id|path>")
    window_ns = parse_window(window)
    pack = read_source_run(resolve_runpack(target))
    result = build_incident_pack(
        pack,
        window_ns=window_ns,
        template=template,
        case_id=case_id,
        producer_version=__version__,
        render_pdf=render_pdf,
    )
    built = result.pack
    write_guard_pack(built, out.strip() or default_pack_path(pack, built.pack_id))
    payload: dict[str, Any] = {
        "ok": True,
        "pack_path": built.path,
        "pack_id": built.pack_id,
        "run_id": built.run_id,
        "template_id": built.template_id,
        "trace_count": len(result.traces),
        "regress_count": len(result.regress),
        "approval_audit_count": len(result.approval_audit),
        "credential_evidence_count": len(result.credential_evidence),
        "policy_digests": result.policy_digests,
        "window_from": result.window_from,
        "window_to": result.window_to,
    }
    # zero counts and an empty digest list are left out, as the original (omitempty)
    payload = {k: v for k, v in payload.items() if v or k == "ok"}
    return Outcome(payload, text=[f"incident pack ok: {built.path}"])
