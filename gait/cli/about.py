"""``gait version`` body; no click here, so it also runs through gait.cli.fast."""

from __future__ import annotations

from gait import __version__
from gait.cli.outcome import Outcome


def version_outcome() -> Outcome:
    return Outcome({"ok": True, "version": __version__}, text=[f"gait {__version__}"])
