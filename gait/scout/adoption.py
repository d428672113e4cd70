"""Adoption telemetry: read a ``GAIT_ADOPTION_LOG`` stream and summarize it.

The stream is written by gait.cli.telemetry (docs/telemetry.md); the report gives
activation milestones A1-A4 (demo, verify, regress init, regress run), per-command
counts and the skill workflows' success rates. ``gait doctor adoption`` renders it.
"""

from __future__ import annotations

from typing import Any

from gait.errors import GaitError, InvalidInput

MILESTONE_ORDER = ("A1", "A2", "A3", "A4", "E1", "E2", "E3")
ACTIVATION = ("A1", "A2", "A3", "A4")
SKILL_WORKFLOWS = (
    "gait-capture-runpack",
    "gait-incident-to-regression",
    "gait-policy-test-rollout",
)
_WORKFLOW_OF_COMMAND = {
    "run record": "gait-capture-runpack",
    "verify": "gait-capture-runpack",
    "regress init": "gait-incident-to-regression",
    "regress run": "gait-incident-to-regression",
    "regress bootstrap": "gait-incident-to-regression",
    "policy test": "gait-policy-test-rollout",
    "policy simulate": "gait-policy-test-rollout",
    "gate eval": "gait-policy-test-rollout",
}
_BLOCKER_HINTS = {
    "A1": "missing A1: run `gait demo`",
    "A2": "missing A2: run `gait verify <run_id>`",
    "A3": "missing A3: run `gait regress init --from <run_id>`",
    "A4": "missing A4: run `gait regress run`",
}
ADOPTION_SCHEMA = "gait.scout.adoption_event"
MAX_ADOPTION_LINE = 1024 * 1024
_NO_EVENTS_TIME = (315532800, 0)  # 1980-01-01T00:00:00Z: created_at of an empty report
_ZERO_TIME = (-62135596800, 0)  # 0001-01-01T00:00:00Z: first/last of an empty report
_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array"}
_EVENT_FIELDS = {
    # field -> (JSON type check, Go type named in errors)
    "schema_id": (str, "string"),
    "schema_version": (str, "string"),
    "producer_version": (str, "string"),
    "command": (str, "string"),
    "workflow_id": (str, "string"),
    "success": (bool, "bool"),
    "exit_code": (int, "int"),
    "elapsed_ms": (int, "int64"),
}


class _AdoptionEvent:
    __slots__ = (
        "command",
        "created",
        "elapsed_ms",
        "exit_code",
        "milestones",
        "success",
        "workflow",
    )

    def __init__(self, fields: dict[str, Any]) -> None:
        self.command: str = fields["command"]
        self.created: tuple[int, int] = fields["created_at"]
        self.elapsed_ms: int = fields["elapsed_ms"]
        self.exit_code: int = fields["exit_code"]
        self.milestones: list[str] = fields["milestones"]
        self.success: bool = fields["success"]
        self.workflow: str = fields["workflow_id"]


def _go_quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else _JSON_KIND.get(type(value), "value")


def _type_error(value: Any, field: str, go_type: str) -> InvalidInput:
    shown = _kind(value)
    if shown == "number":
        shown = f"number {value}"
    return InvalidInput(
        f"json: cannot unmarshal {shown} into Go struct field AdoptionEvent.{field} of type {go_type}"
    )


def _event_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The event's fields as the reference's struct decoding sees them (names match any case)."""
    from gait.signing.timestamps import parse_rfc3339

    by_name = {key.lower(): value for key, value in raw.items()}
    fields: dict[str, Any] = {
        "schema_id": "",
        "schema_version": "",
        "producer_version": "",
        "command": "",
        "workflow_id": "",
        "success": False,
        "exit_code": 0,
        "elapsed_ms": 0,
        "created_at": None,
        "milestones": [],
        "environment": {"os": "", "arch": ""},
    }
    for name, (kind, go_type) in _EVENT_FIELDS.items():
        value = by_name.get(name)
        if value is None:
            continue
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(value, name, go_type)
        elif not isinstance(value, kind):
            raise _type_error(value, name, go_type)
        fields[name] = value
    created = by_name.get("created_at")
    if created is not None:
        if not isinstance(created, str):
            raise InvalidInput("Time.UnmarshalJSON: input is not a JSON string")
        try:
            fields["created_at"] = parse_rfc3339(created)
        except InvalidInput:
            raise InvalidInput(f"parsing time {_go_quote(created)} as RFC 3339 failed") from None
    milestones = by_name.get("milestones")
    if milestones is not None:
        if not isinstance(milestones, list):
            raise _type_error(milestones, "milestones", "[]string")
        for item in milestones:
            if item is not None and not isinstance(item, str):
                raise _type_error(item, "milestones", "string")
        fields["milestones"] = [m for m in milestones if m is not None]
    env = by_name.get("environment")
    if env is not None:
        if not isinstance(env, dict):
            raise _type_error(env, "environment", "scout.AdoptionEnvContext")
        env_fields = {key.lower(): value for key, value in env.items()}
        for name in ("os", "arch"):
            value = env_fields.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _type_error(value, f"environment.{name}", "string")
            fields["environment"][name] = value
    return fields


def _validate_event(fields: dict[str, Any]) -> _AdoptionEvent:
    schema_id = fields["schema_id"] or ADOPTION_SCHEMA
    if schema_id != ADOPTION_SCHEMA:
        raise InvalidInput(f"unsupported schema_id {_go_quote(schema_id)}")
    version = fields["schema_version"] or "1.0.0"
    if version != "1.0.0":
        raise InvalidInput(f"unsupported schema_version {_go_quote(version)}")
    if fields["created_at"] is None or fields["created_at"] == _ZERO_TIME:
        raise InvalidInput("created_at is required")
    fields["command"] = fields["command"].strip()
    if not fields["command"]:
        raise InvalidInput("command is required")
    fields["workflow_id"] = fields["workflow_id"].strip()
    if fields["exit_code"] < 0:
        raise InvalidInput("exit_code must be >= 0")
    if fields["exit_code"] > 255:
        raise InvalidInput("exit_code must be <= 255")
    fields["elapsed_ms"] = max(fields["elapsed_ms"], 0)
    fields["milestones"] = sorted({m.strip() for m in fields["milestones"]} - {""})
    for name in ("os", "arch"):
        if not fields["environment"][name].strip():
            raise InvalidInput(f"environment.{name} is required")
    return _AdoptionEvent(fields)


def load_adoption_events(path: str) -> list[_AdoptionEvent]:
    """Every event of an adoption log; the first bad line stops the read (exit 6)."""
    from gait.fsutil import go_os_error
    from gait.safejson import loads

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError as err:
        raise InvalidInput(f"scan adoption log: {go_os_error(path, err)}") from None
    except OSError as err:
        raise InvalidInput(f"open adoption log: {go_os_error(path, err)}") from None
    events = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) >= MAX_ADOPTION_LINE:
            raise InvalidInput("scan adoption log: bufio.Scanner: token too long")
        text = line.strip()
        if not text:
            continue
        try:
            raw = loads(text, "adoption event")
            if not isinstance(raw, dict):
                raise InvalidInput(
                    f"json: cannot unmarshal {_kind(raw)} into Go value of type scout.AdoptionEvent"
                )
            fields = _event_fields(raw)
        except GaitError as err:
            message = err.message.removeprefix("adoption event: ")
            raise InvalidInput(
                f"parse adoption log line {number}: {message}", details=err.details
            ) from None
        try:
            events.append(_validate_event(fields))
        except GaitError as err:
            raise InvalidInput(f"validate adoption log line {number}: {err.message}") from None
    return events


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) // 2


def _ms_between(later: tuple[int, int], earlier: tuple[int, int]) -> int:
    nanos = (later[0] - earlier[0]) * 1_000_000_000 + later[1] - earlier[1]
    return nanos // 1_000_000 if nanos > 0 else 0


def _rate(success: int, total: int) -> float | int:
    rate = success / total if total else 0.0
    return int(rate) if rate.is_integer() else rate  # Go prints 1, not 1.0


def build_adoption_report(events: list[_AdoptionEvent], source: str) -> dict[str, Any]:
    """The ``gait.doctor.adoption_report`` of a list of adoption events."""
    from gait import __version__
    from gait.signing.timestamps import format_rfc3339

    commands: dict[str, dict[str, Any]] = {}
    achieved: set[str] = set()
    first_success: dict[str, tuple[int, int]] = {}
    samples: dict[str, list[int]] = {"A1": [], "A4": []}
    workflows: dict[str, dict[str, Any]] = {}
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    for event in events:
        name = event.command or "unknown"
        row = commands.setdefault(name, {"command": name, "total": 0, "success": 0, "failure": 0})
        row["total"] += 1
        row["success" if event.success else "failure"] += 1
        for tag in event.milestones:
            achieved.add(tag)
            if event.success:
                if tag not in first_success or event.created < first_success[tag]:
                    first_success[tag] = event.created
                if tag in samples:
                    samples[tag].append(event.elapsed_ms)
        workflow = event.workflow or _WORKFLOW_OF_COMMAND.get(event.command, "")
        if workflow:
            acc = workflows.setdefault(
                workflow, {"total": 0, "success": 0, "failure": 0, "runtime": [], "codes": {}}
            )
            acc["total"] += 1
            acc["runtime"].append(event.elapsed_ms)
            if event.success:
                acc["success"] += 1
            else:
                acc["failure"] += 1
                acc["codes"][event.exit_code] = acc["codes"].get(event.exit_code, 0) + 1
        if first is None or event.created < first:
            first = event.created
        if last is None or event.created > last:
            last = event.created

    blockers = sorted({_BLOCKER_HINTS[m] for m in ACTIVATION if m not in achieved})
    report: dict[str, Any] = {
        "schema_id": "gait.doctor.adoption_report",
        "schema_version": "1.0.0",
        "created_at": format_rfc3339(*(last or _NO_EVENTS_TIME)),
        "producer_version": __version__,
        "source": source.strip(),
        "total_events": len(events),
        "success_events": sum(r["success"] for r in commands.values()),
        "failed_events": sum(r["failure"] for r in commands.values()),
        "first_event_at": format_rfc3339(*(first or _ZERO_TIME)),
        "last_event_at": format_rfc3339(*(last or _ZERO_TIME)),
        "commands": [commands[name] for name in sorted(commands)],
        "milestones": [{"name": m, "achieved": m in achieved} for m in MILESTONE_ORDER],
        "activation_complete": not blockers,
    }
    if first is not None:
        timing = {m: _ms_between(first_success[m], first) for m in ACTIVATION if m in first_success}
        if timing:
            report["activation_timing_ms"] = timing
    medians = {}
    for tag, key in (("A1", "m1_demo_elapsed_ms"), ("A4", "m2_regress_run_elapsed_ms")):
        median = _median(samples[tag])
        if median is not None:
            medians[key] = median
    if medians:
        report["activation_medians_ms"] = medians
    skill = []
    for workflow in SKILL_WORKFLOWS:
        acc = workflows.get(workflow)
        if not acc:
            continue
        entry: dict[str, Any] = {
            "workflow": workflow,
            "total": acc["total"],
            "success": acc["success"],
            "failure": acc["failure"],
            "success_rate": _rate(acc["success"], acc["total"]),
            "median_runtime_ms": _median(acc["runtime"]) or 0,
        }
        if acc["codes"]:
            # most frequent failing exit code; ties go to the lowest code
            code = min(acc["codes"], key=lambda c: (-acc["codes"][c], c))
            if code:
                entry["most_common_failure_code"] = code
        skill.append(entry)
    if skill:
        report["skill_workflows"] = skill
    if blockers:
        report["blockers"] = blockers
    return report
