"""``gait doctor [--production-readiness]`` (scout_packs.md §5) and ``gait doctor adoption``.

The checks live in :mod:`gait.scout.doctor`; this module parses flags and renders.
"""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import InvalidInput

PASS = "pass"
# the two tips of a clean ``--summary`` run
SUMMARY_TIPS = (
    "tip: export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl",
    "tip: gait doctor adoption --from ./gait-out/adoption.jsonl --json",
)


_ADOPTION_EXPLAIN = (
    "Summarize local activation milestones and blockers from GAIT_ADOPTION_LOG events."
)

# Not registered anywhere: it only gives ``doctor adoption`` its name in usage and errors.
_doctor_names = click.Group(name="doctor")


@gait_command(
    _doctor_names,
    "adoption",
    explain=_ADOPTION_EXPLAIN,
    help=(
        "Summarize adoption telemetry (the GAIT_ADOPTION_LOG JSONL): activation milestones "
        "A1-A4 (demo, verify, regress init, regress run), blockers, counts per command and "
        "skill workflow success rates. Exit 6 on a missing or malformed log."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--from", "from_path", default="", help="Adoption events JSONL to summarize.")
def adoption_command(args: tuple[str, ...], from_path: str, json: bool) -> Outcome:
    if args:
        raise InvalidInput("unexpected positional arguments")
    if not from_path.strip():
        raise InvalidInput("missing required --from <path>")
    from gait.scout.adoption import build_adoption_report, load_adoption_events

    events = load_adoption_events(from_path.strip())
    report = build_adoption_report(events, from_path)
    lines = [
        f"doctor adoption: source={report['source']} total_events={report['total_events']} "
        f"activation_complete={'true' if report['activation_complete'] else 'false'}"
    ]
    if report.get("blockers"):
        lines.append("blockers: " + "; ".join(report["blockers"]))
    return Outcome({"ok": True, "report": report}, text=lines)


@gait_command(
    None,
    "doctor",
    explain="Check the local environment (directories, keys, binary, production settings) and say how to fix each problem.",
    help=(
        "Diagnose the environment. Exit 0 (even with warnings or fixable failures), 7 on a "
        "non-fixable problem, 2 when --production-readiness fails. "
        "`gait doctor adoption --from <events.jsonl>` summarizes adoption telemetry."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--workdir", default=".", show_default=True, help="Workspace the checks look at.")
@click.option(
    "--output-dir",
    default="./gait-out",
    show_default=True,
    help="Output directory to check (relative to --workdir).",
)
@click.option(
    "--key-mode", default="dev", show_default=True, help="dev|prod: the key posture to check."
)
@click.option("--private-key", default=None, help="Base64 private key file to check.")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key.")
@click.option("--public-key", default=None, help="Base64 public key file to check.")
@click.option("--public-key-env", default=None, help="Env var with a base64 public key.")
@click.option(
    "--production-readiness", is_flag=True, help="Check .gait/config.yaml for a production posture."
)
@click.option(
    "--summary",
    "summary_only",
    is_flag=True,
    help="Print the summary and only the checks that need attention.",
)
def command(
    args: tuple[str, ...],
    workdir: str,
    output_dir: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    public_key: str | None,
    public_key_env: str | None,
    production_readiness: bool,
    summary_only: bool,
    json: bool,
) -> Outcome:
    from gait.scout.doctor import FAIL, Keys, run_doctor

    if args:
        raise InvalidInput("unexpected positional arguments")
    keys = Keys(key_mode, private_key, private_key_env, public_key, public_key_env)
    result = run_doctor(workdir, output_dir, keys, production=production_readiness)
    non_fixable = bool(result.get("non_fixable"))
    ok, code = not non_fixable, 7 if non_fixable else 0
    if production_readiness and result["status"] == FAIL:
        ok, code = False, 2
    payload = {"ok": ok, **result}
    if summary_only:
        payload["summary_mode"] = True
    return Outcome(payload, code, text=doctor_lines(result, summary_only))


def doctor_lines(result: dict[str, Any], summary_only: bool) -> list[str]:
    """The summary, then ``- name: status (message)`` with an indented ``fix:`` per check.

    ``--summary`` keeps only the problems, or two tips when there are none.
    """
    lines = [result["summary"]]
    if summary_only and result["status"] == PASS and not result.get("non_fixable"):
        return lines + list(SUMMARY_TIPS)
    for check in result["checks"]:
        if summary_only and check["status"] == PASS:
            continue
        lines.append(f"- {check['name']}: {check['status']} ({check['message']})")
        if check.get("fix_command"):
            lines.append(f"  fix: {check['fix_command']}")
    return lines


class _DoctorCommand(type(command)):  # type: ignore[misc]
    """``gait doctor adoption ...`` goes to its own command (own flags, help and --explain)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if args and args[0].strip() == "adoption":
            doctor_ctx = click.Context(_doctor_names, info_name=info_name, parent=parent)
            return adoption_command.make_context("adoption", args[1:], parent=doctor_ctx, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


command.__class__ = _DoctorCommand
