from __future__ import annotations

from gait import __version__
from gait.cli.base import Outcome, gait_command


@gait_command(None, "version", explain="Print the gait version.", help="Print the gait version.")
def command(json: bool) -> Outcome:
    return Outcome({"ok": True, "version": __version__}, text=[f"gait {__version__}"])
