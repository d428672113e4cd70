"""``gait policy test <policy> <DIR>``: render a golden policy test run (logic in gait.regress)."""

from __future__ import annotations

import os
from pathlib import Path

from gait.cli.base import Outcome
from gait.errors import EXIT_REGRESS_FAILED, InvalidInput


def run_policy_test_dir(
    policy_path: str, directory: str, *, junit: str = "", why: bool = False
) -> Outcome:
    """Exit 0 when every fixture passes, 5 when any fails; invalid input raises (exit 6)."""
    from gait.fsutil import atomic_write
    from gait.regress.policytest import run_policy_tests

    if not os.path.isdir(directory):
        raise InvalidInput("--junit requires a fixtures directory as the second argument")
    if why:
        raise InvalidInput("--why applies to a single intent file, not a fixtures directory")
    report = run_policy_tests(policy_path, directory)
    payload = report.to_dict()
    text = report.text_lines()
    if junit:
        target = Path(junit)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, report.junit().encode("utf-8"), 0o644)
        payload["junit"] = junit
        text.append(f"junit: {junit}")
    return Outcome(payload, exit_code=0 if report.passed else EXIT_REGRESS_FAILED, text=text)
