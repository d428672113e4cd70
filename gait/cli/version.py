from __future__ import annotations

from gait.cli.about import version_outcome
from gait.cli.base import Outcome, gait_command


@gait_command(None, "version", explain="Print the gait version.", help="Print the gait version.")
def command(json: bool) -> Outcome:
    return version_outcome()
