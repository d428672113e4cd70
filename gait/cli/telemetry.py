"""Optional local telemetry streams (cli.md §1.3, docs/telemetry.md).

Off unless an environment variable names a file; nothing ever leaves the
machine. ``gait.cli.main`` calls :func:`observe` around the command when one
of the variables is set:

* ``GAIT_ADOPTION_LOG``: one ``gait.scout.adoption_event`` line per invocation;
* ``GAIT_OPERATIONAL_LOG``: ``gait.scout.operational_event`` start and end lines
  sharing the invocation's correlation id;
* ``GAIT_TELEMETRY_HEALTH_PATH``: after each stream write, a
  ``gait.scout.telemetry_health`` snapshot of this invocation's write counters.

A failed write prints one ``gait warning: telemetry stream=<s> write failed:``
line on stderr (unless ``GAIT_TELEMETRY_WARN=off``); it never changes the
command's output or exit code.
"""

from __future__ import annotations

import os
import sys
import time

from gait import __version__
from gait.signing.timestamps import format_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

ADOPTION_SCHEMA = "gait.scout.adoption_event"
OPERATIONAL_SCHEMA = "gait.scout.operational_event"
HEALTH_SCHEMA = "gait.scout.telemetry_health"
SCHEMA_VERSION = "1.0.0"

# Commands whose first non-flag argument names a subcommand in the event ("gate eval").
WITH_SUBCOMMAND = frozenset(
    (
        "approve-script capture check contract enforce gate init keys list-scripts policy "
        "regress run job pack report scout guard incident registry gateway mcp voice doctor "
        "delegate test ui"
    ).split()
)
# Activation milestones a successful command marks (docs/telemetry.md).
MILESTONES = {"demo": "A1", "verify": "A2", "regress init": "A3", "regress run": "A4"}
_SPACE = " \t\n\v\f\r\x85\xa0"


def normalize_command(args: list[str]) -> str:
    """``command`` or ``command subcommand`` of an invocation (arguments after ``gait``)."""
    if not args:
        return "version"
    command = args[0].strip(_SPACE)
    if not command:
        return "unknown"
    if command in ("--help", "-h", "help"):
        return "help"
    if command in ("--version", "-v", "version"):
        return "version"
    if command == "--explain":
        return "explain"
    if command in WITH_SUBCOMMAND and len(args) > 1:
        sub = args[1].strip(_SPACE)
        if sub and not sub.startswith("-"):
            return f"{command} {sub}"
    return command


def environment() -> dict[str, str]:
    """``{"os", "arch"}`` in Go's GOOS/GOARCH spelling, as the reference writes them."""
    platform = sys.platform
    name = {"win32": "windows", "cygwin": "windows"}.get(platform, platform)
    for prefix in ("linux", "freebsd", "openbsd", "netbsd"):
        if platform.startswith(prefix):
            name = prefix
    try:
        machine = os.uname().machine.lower()
    except AttributeError:  # Windows
        machine = os.environ.get("PROCESSOR_ARCHITECTURE", "").lower()
    arch = {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "i386": "386",
        "i686": "386",
        "x86": "386",
        "armv7l": "arm",
        "armv6l": "arm",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
        "riscv64": "riscv64",
    }.get(machine, machine or "unknown")
    return {"os": name or "unknown", "arch": arch}


def _stamp(ns: int) -> str:
    return format_rfc3339(*divmod(ns, 1_000_000_000))


def adoption_event(
    command: str, exit_code: int, elapsed_ms: int, now_ns: int, workflow: str = ""
) -> dict[str, Any]:
    success = exit_code == 0
    event: dict[str, Any] = {
        "schema_id": ADOPTION_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": _stamp(now_ns),
        "producer_version": __version__,
        "command": command.strip() or "unknown",
        "success": success,
        "exit_code": exit_code,
        "elapsed_ms": max(elapsed_ms, 0),
        "environment": environment(),
    }
    if workflow.strip():
        event["workflow_id"] = workflow.strip()
    milestone = MILESTONES.get(event["command"]) if success else None
    if milestone:
        event["milestones"] = [milestone]
    return event


def operational_event(
    command: str,
    correlation: str,
    phase: str,
    now_ns: int,
    exit_code: int = 0,
    elapsed_ms: int = 0,
) -> dict[str, Any]:
    category, retryable = "none", False
    if phase == "end" and exit_code != 0:
        from gait.errors import RETRYABLE_CATEGORIES, exit_class

        category = exit_class(exit_code).category
        retryable = category in RETRYABLE_CATEGORIES
    return {
        "schema_id": OPERATIONAL_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": _stamp(now_ns),
        "producer_version": __version__,
        "correlation_id": correlation.strip() or "unknown",
        "command": command.strip() or "unknown",
        "phase": phase,
        "exit_code": exit_code,
        "error_category": category,
        "retryable": retryable,
        "elapsed_ms": max(elapsed_ms, 0),
        "environment": environment(),
    }


class _WriteFailed(Exception):
    pass


def _os_text(err: OSError) -> str:
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def append_line(path: str, line: bytes, what: str) -> None:
    """Append one line under an exclusive lock (concurrent gait processes share a log)."""
    directory = os.path.dirname(path)
    if directory and directory != ".":
        try:
            os.makedirs(directory, mode=0o750, exist_ok=True)
        except OSError as err:
            # Go's MkdirAll wording: a file in the way "is not a directory"
            text = "not a directory" if isinstance(err, FileExistsError) else _os_text(err)
            raise _WriteFailed(f"create {what} directory: mkdir {directory}: {text}") from None
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as err:
        raise _WriteFailed(f"open {what}: open {path}: {_os_text(err)}") from None
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass  # no advisory locks here: O_APPEND still keeps one write whole
        data = line + b"\n"
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except OSError as err:
        raise _WriteFailed(f"write {what}: write {path}: {_os_text(err)}") from None
    finally:
        os.close(fd)


class _Streams:
    """This invocation's write counters, the health snapshot and the warning line."""

    def __init__(self, environ: Any) -> None:
        self.environ = environ
        self.counts: dict[str, dict[str, int]] = {}

    def write(self, stream: str, path: str, event: dict[str, Any], what: str) -> None:
        from gait.cli.output import dumps

        error = ""
        try:
            append_line(path, dumps(event).encode("utf-8"), what)
        except _WriteFailed as err:
            error = str(err)
        except Exception as err:  # never let telemetry break the command
            error = f"{type(err).__name__}: {err}"
        stats = self.counts.setdefault(stream, {"attempts": 0, "success": 0, "failed": 0})
        stats["attempts"] += 1
        stats["failed" if error else "success"] += 1
        if error:
            self.warn(stream, error)
        self.snapshot()

    def warn(self, stream: str, error: str) -> None:
        if self.environ.get("GAIT_TELEMETRY_WARN", "").strip().lower() == "off":
            return
        try:
            sys.stderr.write(f"gait warning: telemetry stream={stream} write failed: {error}\n")
            sys.stderr.flush()
        except Exception:  # no stderr at all (``2>&-``: sys.stderr is None) included
            pass

    def snapshot(self) -> None:
        path = self.environ.get("GAIT_TELEMETRY_HEALTH_PATH", "").strip()
        if not path:
            return
        import json

        from gait.fsutil import atomic_write

        body = {
            "schema_id": HEALTH_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created_at": _stamp(time.time_ns()),
            "producer_version": __version__,
            "streams": self.counts,
        }
        text = json.dumps(body, indent=2, sort_keys=True) + "\n"
        try:
            atomic_write(path, text.encode("utf-8"), 0o600)
        except OSError as err:
            self.warn("telemetry_health", f"{path}: {_os_text(err)}")
        except Exception as err:
            self.warn("telemetry_health", f"{type(err).__name__}: {err}")


def observe(args: list[str], run: Callable[[list[str]], int]) -> int:
    """Run the command through ``run`` and write the enabled telemetry streams around it."""
    start_ns = time.time_ns()
    started = time.perf_counter_ns()
    environ = os.environ
    operational = environ.get("GAIT_OPERATIONAL_LOG", "").strip()
    adoption = environ.get("GAIT_ADOPTION_LOG", "").strip()
    streams = _Streams(environ)
    command = correlation = ""
    try:
        from gait.cli.output import correlation_id

        command = normalize_command(args)
        correlation = correlation_id(["gait", *args])
        if operational:
            event = operational_event(command, correlation, "start", start_ns)
            streams.write("operational_start", operational, event, "operational log")
    except Exception as err:  # the command runs whatever telemetry does
        streams.warn("operational_start", f"{type(err).__name__}: {err}")

    code = run(args)

    try:
        end_ns = time.time_ns()
        elapsed_ms = (time.perf_counter_ns() - started) // 1_000_000
        if adoption:
            workflow = environ.get("GAIT_ADOPTION_WORKFLOW", "")
            event = adoption_event(command, code, elapsed_ms, end_ns, workflow)
            streams.write("adoption", adoption, event, "adoption log")
        if operational:
            event = operational_event(command, correlation, "end", end_ns, code, elapsed_ms)
            streams.write("operational_end", operational, event, "operational log")
    except Exception as err:
        streams.warn("telemetry", f"{type(err).__name__}: {err}")
    return code
