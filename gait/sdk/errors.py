"""SDK errors, inside the one :mod:`gait.errors` hierarchy.

``gait.sdk.GaitError`` *is* :class:`gait.errors.GaitError` (not a look-alike), so
``except gait.errors.GaitError`` catches every SDK failure and every SDK error
carries a stable ``code`` and the CLI ``exit_code`` it corresponds to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gait.errors import EXIT_APPROVAL_REQUIRED, EXIT_POLICY_BLOCKED, GaitError

if TYPE_CHECKING:
    from gait.sdk.result import GateEvalResult

__all__ = ["GaitCommandError", "GaitError", "GateEnforcementError"]


class GaitCommandError(GaitError):
    """A gait decision could not be obtained: the service failed or answered nonsense.

    ``command`` names what was run (``POST http://…/v1/evaluate``). As in the
    reference SDK, ``exit_code`` is the *command's* code, not a verdict: the gait
    exit code the answer carried, else the HTTP status, or ``-1`` for a transport
    failure (connection refused, timeout).
    """

    code = "command_failed"
    category = "internal_failure"

    def __init__(
        self, message: str, *, command: str, exit_code: int, stdout: str = "", stderr: str = ""
    ) -> None:
        super().__init__(message, exit_code=exit_code)
        self.command = command
        self.stdout = stdout
        self.stderr = stderr
        self.details = {"command": command, "exit_code": exit_code}


class GateEnforcementError(GaitError):
    """The gate did not allow a tool call, so the tool was not run.

    ``decision`` is the :class:`~gait.sdk.GateEvalResult` that stopped it; the
    message is ``execution blocked by gate verdict=<v> reasons=<csv|none>``.
    """

    def __init__(self, decision: GateEvalResult) -> None:
        reasons = ",".join(decision.reason_codes) or "none"
        approval = decision.verdict == "require_approval"
        super().__init__(
            f"execution blocked by gate verdict={decision.verdict or 'none'} reasons={reasons}",
            code="approval_required" if approval else "policy_blocked",
            category="approval_required" if approval else "policy_blocked",
            exit_code=EXIT_APPROVAL_REQUIRED if approval else EXIT_POLICY_BLOCKED,
            details=_details(decision),
        )
        self.decision = decision


def _details(decision: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"verdict": decision.verdict}
    if decision.reason_codes:
        out["reason_codes"] = list(decision.reason_codes)
    if decision.error:
        out["error"] = decision.error
    return out
