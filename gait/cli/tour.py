"""``gait tour``: the first-run path in one command (demo, verify, regress init, regress run)."""

from __future__ import annotations

import time
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import EXIT_REGRESS_FAILED, InvalidInput

BRANCH_HINTS = [
    "gait demo --policy",
    "gait demo --durable",
    "gait scout signal --runs run_demo",
    "gait guard pack --run run_demo",
    "gait doctor",
]


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
    from gait.cli.demo import _standard
    from gait.regress.init import init_fixture
    from gait.regress.run import RunOptions, run_regress
    from gait.runpack.verify import verify_runpack

    if args:
        raise InvalidInput("unexpected positional arguments")
    started = time.monotonic()
    demo = _standard(started)
    report = verify_runpack(demo["bundle"])
    if not report.ok:
        from gait.errors import VerificationFailed

        raise VerificationFailed(f"tour: demo runpack failed verification: {demo['bundle']}")
    created = init_fixture(demo["run_id"])
    ran = run_regress(RunOptions(junit_path="./gait-out/junit.xml"))
    payload: dict[str, Any] = {
        "ok": ran.passed,
        "a1_demo": "ok",
        "a2_verify": "ok",
        "a3_regress_init": "ok",
        "a4_regress_run": "pass" if ran.passed else "fail",
        "run_id": demo["run_id"],
        "bundle": demo["bundle"],
        "fixture": created.fixture_name,
        "regress_output": ran.to_json().get("output", ""),
        "branch_hints": BRANCH_HINTS,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    lines = [
        f"{key}={payload[key]}"
        for key in ("a1_demo", "a2_verify", "a3_regress_init", "a4_regress_run")
    ]
    lines.append("branch_hints=" + ",".join(BRANCH_HINTS))
    return Outcome(payload, 0 if ran.passed else EXIT_REGRESS_FAILED, text=lines)
