"""One error hierarchy for the whole library.

Every error carries a stable ``code``, a ``category`` and the process exit code
the CLI uses for it, so callers never have to guess from message text (exit 1
is chosen by where an error is raised, never by the words in its message).
"""

from __future__ import annotations

# typing costs a one-shot command ~10 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_VERIFY_FAILED = 2
EXIT_POLICY_BLOCKED = 3
EXIT_APPROVAL_REQUIRED = 4
EXIT_REGRESS_FAILED = 5
EXIT_INVALID_INPUT = 6
EXIT_MISSING_DEPENDENCY = 7
EXIT_UNSAFE_OPERATION = 8


class ExitClass:
    """What an exit code means in an error envelope: ``error_code``, category and hint."""

    __slots__ = ("category", "code", "hint")

    def __init__(self, code: str, category: str, hint: str) -> None:
        self.code = code
        self.category = category
        self.hint = hint


# The one mapping of exit codes to error classes. Errors carry their own exit code
# (``GaitError.exit_code``); this table only names what a bare exit code stands for
# when a payload reports an error without its own code (the CLI envelope).
EXIT_CLASSES: dict[int, ExitClass] = {
    EXIT_INTERNAL: ExitClass(
        "internal_failure", "internal_failure", "retry after checking local environment and logs"
    ),
    EXIT_VERIFY_FAILED: ExitClass(
        "verification_failed",
        "verification_failed",
        "re-run verify after checking artifact integrity",
    ),
    EXIT_POLICY_BLOCKED: ExitClass(
        "policy_blocked", "policy_blocked", "inspect reason_codes and adjust policy or intent"
    ),
    EXIT_APPROVAL_REQUIRED: ExitClass(
        "approval_required", "approval_required", "provide a valid approval token and retry"
    ),
    EXIT_REGRESS_FAILED: ExitClass(
        "regress_failed", "internal_failure", "inspect regress_result.json and the failing grader"
    ),
    EXIT_INVALID_INPUT: ExitClass(
        "invalid_input", "invalid_input", "check command usage and input schema"
    ),
    EXIT_MISSING_DEPENDENCY: ExitClass(
        "dependency_missing", "dependency_missing", "install the missing dependency and retry"
    ),
    EXIT_UNSAFE_OPERATION: ExitClass(
        "unsafe_operation",
        "internal_failure",
        "unsafe flags are only accepted for approved replay",
    ),
}


def exit_class(exit_code: int) -> ExitClass:
    """The :data:`EXIT_CLASSES` entry of ``exit_code`` (internal failure when unknown)."""
    return EXIT_CLASSES.get(exit_code, EXIT_CLASSES[EXIT_INTERNAL])


RETRYABLE_CATEGORIES = frozenset({"network_transient", "state_contention"})


class Location:
    """Where in a source file an error was found (1-based line and column).

    A plain slotted class (not a dataclass) keeps ``dataclasses``/``inspect``
    off the import path of every command.
    """

    __slots__ = ("column", "field", "file", "line")

    def __init__(self, file: str = "", line: int = 0, column: int = 0, field: str = "") -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and (
            (self.file, self.line, self.column, self.field)
            == (other.file, other.line, other.column, other.field)
        )

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column, self.field))

    def __repr__(self) -> str:
        return (
            f"Location(file={self.file!r}, line={self.line}, column={self.column}, "
            f"field={self.field!r})"
        )

    def render(self) -> str:
        parts = []
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        parts.append(where)
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.file:
            out["file"] = self.file
        if self.line:
            out["line"] = self.line
            out["column"] = self.column or 1
        if self.field:
            out["field"] = self.field
        return out


class GaitError(Exception):
    """Base error. ``str(err)`` is the stable, spec-worded message."""

    exit_code: int = EXIT_INVALID_INPUT
    code: str = "invalid_input"
    category: str = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        category: str | None = None,
        exit_code: int | None = None,
        location: Location | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if category is not None:
            self.category = category
        if exit_code is not None:
            self.exit_code = exit_code
        self.location = location
        self.details = dict(details or {})

    def with_location(self, location: Location | None) -> GaitError:
        if location is not None and self.location is None:
            self.location = location
        return self


class MissingDependency(GaitError):
    """An optional component (extra, binary, service) is not available (exit 7)."""

    exit_code = EXIT_MISSING_DEPENDENCY
    code = "dependency_missing"
    category = "dependency_missing"


class InvalidInput(GaitError):
    """Bad flags, unreadable or malformed files, schema violations (exit 6)."""


class PolicyError(InvalidInput):
    """A policy could not be loaded, parsed or validated (exit 6)."""


class IntentError(InvalidInput):
    """An intent could not be read, parsed or normalized (exit 6)."""


class VerificationFailed(GaitError):
    """An artifact or signature did not verify (exit 2)."""

    exit_code = EXIT_VERIFY_FAILED
    code = "verification_failed"
    category = "verification_failed"


class RegressFailed(GaitError):
    exit_code = EXIT_REGRESS_FAILED
    code = "regress_failed"
    category = "internal_failure"


class InternalFailure(GaitError):
    """Faults of the environment, e.g. a state-lock timeout or a failed write (exit 1)."""

    exit_code = EXIT_INTERNAL
    code = "internal_failure"
    category = "internal_failure"


class StateContention(InternalFailure):
    code = "state_contention"
    category = "state_contention"


class UnsafeOperation(GaitError):
    exit_code = EXIT_UNSAFE_OPERATION
    code = "unsafe_operation"
    category = "internal_failure"


class StateUnavailable(InternalFailure):
    """A shared state store (e.g. Redis) did not answer in time; decisions needing it fail closed."""

    code = "state_unavailable"
    category = "network_transient"
