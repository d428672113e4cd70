"""``gait tour``: the first-run path in one command (demo, verify, regress init, regress run)."""

from __future__ import annotations

import time
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import EXIT_REGRESS_FAILED, InvalidInput

NEXT_COMMANDS = ["gait demo --durable", "gait demo --policy", "gait doctor --summary"]
BRANCH_HINTS = [
    "durable branch: run a resumable job lifecycle demo with checkpoints",
    "policy branch: run a deterministic high-risk block demo before enforce rollout",
]
# Where the tour's own regress run writes (the reference keeps them apart from
# a project's regress_result.json / junit.xml).
TOUR_RESULT = "gait-out/tour_regress_result.json"
TOUR_JUNIT = "gait-out/tour_junit.xml"


@gait_command(
    None,
    "tour",
    explain=(
        "Walk the first-run path: record the demo runpack, verify it, turn it into a regress "
        "fixture and run the graders, then suggest where to go next."
    ),
    help=(
        "Run demo, verify, regress init and regress run in the current directory (writes "
        "gait-out/, fixtures/, gait.yaml, regress_result.json)."
    ),
)
@click.argument("args", nargs=-1, metavar="")
def command(args: tuple[str, ...], json: bool) -> Outcome:
    from gait.cli.demo import METRICS_OPT_IN, _standard
    from gait.regress.init import init_fixture
    from gait.regress.run import RunOptions, run_regress
    from gait.runpack.reader import resolve_runpack
    from gait.runpack.verify import verify_runpack

    if args:
        raise InvalidInput("unexpected positional arguments")
    started = time.monotonic()
    demo = _standard(started)
    verify_path = resolve_runpack(demo["run_id"])
    report = verify_runpack(verify_path)
    if not report.ok:
        from gait.errors import VerificationFailed

        raise VerificationFailed("verify step failed", details={"verify_path": verify_path})
    created = init_fixture(demo["run_id"])
    ran = run_regress(
        RunOptions(config_path=created.config_path, output_path=TOUR_RESULT, junit_path=TOUR_JUNIT)
    )
    status = "pass" if ran.passed else "fail"
    payload: dict[str, Any] = {
        "ok": ran.passed,
        "mode": "activation",
        "run_id": demo["run_id"],
        "verify_path": verify_path,
        "verify_status": "ok",
        "fixture_name": created.fixture_name,
        "fixture_dir": created.fixture_dir,
        "regress_status": status,
        "next_commands": NEXT_COMMANDS,
        "branch_hints": BRANCH_HINTS,
        "metrics_opt_in": METRICS_OPT_IN,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    if ran.failed:
        payload["regress_failed"] = ran.failed
    if not ran.passed:
        # The reference prints only its (empty) error line when the regress step fails.
        return Outcome(payload, EXIT_REGRESS_FAILED, text=["tour error: "])
    lines = [
        f"tour mode={payload['mode']}",
        f"a1_demo=ok run_id={payload['run_id']}",
        f"a2_verify=ok path={verify_path}",
        f"a3_regress_init=ok fixture={created.fixture_name} dir={created.fixture_dir}",
        f"a4_regress_run={status} failed={ran.failed}",
        "next=" + " | ".join(NEXT_COMMANDS),
        "branch_hints=" + " | ".join(BRANCH_HINTS),
        f"metrics_opt_in={METRICS_OPT_IN}",
    ]
    return Outcome(payload, text=lines)
