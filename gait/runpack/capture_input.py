"""Inputs of ``gait run record``: the spec's record JSON (§6.1) or a JSONL event log.

Record JSON is one object ``{run, intents, results, refs, capture_mode,
normalization}``. An event log is one JSON object per line with a ``type``,
replayed through the :class:`~gait.runpack.Recorder` so non-Python agents get
exactly what the Python capture API produces::

    {"type":"run","run_id":"run_x","created_at":"2026-02-05T00:00:00Z","capture_mode":"raw"}
    {"type":"intent","intent_id":"i1","tool_name":"tool.search","args":{"q":"x"},"ts":"…"}
    {"type":"decision","intent_id":"i1","verdict":"allow","reason_codes":[],"ts":"…"}
    {"type":"result","intent_id":"i1","status":"ok","result":{"hits":3},"ts":"…"}
    {"type":"ref","ref_id":"doc_1","source_type":"kb","source_locator":"kb://1",
     "query_digest":"…","content_digest":"…"}
    {"type":"event","event":"checkpoint","ts":"…"}

A ``decision`` with a non-``allow`` verdict and no ``result`` records the call
as not executed; an allowed intent without a ``result`` gets no result record
(replay reports it as missing). ``result`` fields: ``status`` (default ``ok``,
or ``error`` when ``error`` is set), ``executed`` (default: the verdict allows
it), ``result``, ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gait.errors import InvalidInput
from gait.runpack.model import RunEnv
from gait.runpack.recorder import GateDecision, Recorder, Step

__all__ = ["RecordInput", "parse_events", "parse_record_input"]

MAX_INPUT_BYTES = 64 * 1024 * 1024
_EVENT_TYPES = ("run", "intent", "decision", "result", "ref", "event")


@dataclass
class RecordInput:
    """Everything ``record_runpack`` needs, from either input format."""

    run: dict[str, Any]
    intents: list[Any] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    refs: dict[str, Any] | None = None
    capture_mode: str = ""
    intent_args: dict[str, Any] = field(default_factory=dict)
    result_payloads: dict[str, Any] = field(default_factory=dict)


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{what} must be a JSON array")
    return value


def parse_record_input(text: str, *, run_id: str = "", source: str = "") -> RecordInput:
    """Parse either format (see module docstring); raises InvalidInput (exit 6).

    ``run_id`` (from ``--run-id``) names an event log's run when it has no
    ``run`` event; for both formats the caller still applies the override.
    ``source`` (the input file) is named in JSON errors.
    """
    from gait.safejson import NotJSON, loads

    stripped = text.strip()
    if not stripped:
        raise InvalidInput("parse run record input: empty input")
    try:
        whole = loads(stripped, _named("parse run record input", source))
    except NotJSON:
        whole = None  # an event log (several documents), or bad JSON the log parse reports
    except InvalidInput as err:
        # JSON that breaks a rule (a repeated key...). If it is an event log, name the
        # line; if the log parse cannot read it line by line, it was one document.
        if "\n" not in stripped:
            raise
        try:
            parse_events(stripped.splitlines(), run_id=run_id, source=source)
        except NotJSON:
            raise err from None
        raise
    if isinstance(whole, dict) and "type" not in whole:
        return _from_record_json(whole)
    return parse_events(stripped.splitlines(), run_id=run_id, source=source)


def _named(what: str, source: str) -> str:
    return f"{what} {source}" if source else what


def _from_record_json(doc: dict[str, Any]) -> RecordInput:
    normalization = _obj(doc.get("normalization"), "normalization")
    capture_mode = doc.get("capture_mode") or ""
    if not isinstance(capture_mode, str):
        raise InvalidInput("capture_mode must be a string")
    return RecordInput(
        run=_obj(doc.get("run"), "run"),
        intents=_list(doc.get("intents"), "intents"),
        results=_list(doc.get("results"), "results"),
        refs=_obj(doc.get("refs"), "refs") if doc.get("refs") is not None else None,
        capture_mode=capture_mode,
        intent_args=_obj(normalization.get("intent_args"), "normalization.intent_args"),
        result_payloads=_obj(normalization.get("result_payloads"), "normalization.result_payloads"),
    )


class _EventClock:
    def __init__(self) -> None:
        self.current = ""

    def __call__(self) -> str:
        if not self.current:
            from gait.signing.timestamps import now_rfc3339

            self.current = now_rfc3339()
        return self.current


def parse_events(lines: list[str], *, run_id: str = "", source: str = "") -> RecordInput:
    """Parse a JSONL event log into a :class:`RecordInput`."""
    return _EventLog(lines, run_id=run_id, source=source).to_input()


class _EventLog:
    def __init__(self, lines: list[str], *, run_id: str, source: str = "") -> None:
        from gait.safejson import loads_line

        self.events: list[tuple[int, dict[str, Any]]] = []
        what = _named("parse events", source)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            event = loads_line(line, what, number)
            if not isinstance(event, dict):
                raise InvalidInput(f"parse events line {number}: event must be a JSON object")
            kind = event.get("type")
            if kind not in _EVENT_TYPES:
                raise InvalidInput(
                    f"parse events line {number}: type must be one of {', '.join(_EVENT_TYPES)}"
                )
            self.events.append((number, event))
        self.run_id = run_id

    def to_input(self) -> RecordInput:
        run_event: dict[str, Any] = {}
        for _number, event in self.events:
            if event["type"] == "run":
                run_event = event
                break
        run_id = self.run_id or str(run_event.get("run_id") or "")
        if not run_id:
            raise InvalidInput("run_id is required")
        mode = str(run_event.get("capture_mode") or "reference")
        clock = _EventClock()
        env = _obj(run_event.get("env"), "run env")
        recorder = Recorder(
            run_id=run_id,
            capture_mode=mode,
            clock=clock,
            producer_version=str(run_event.get("producer_version") or ""),
            env=RunEnv(
                os=str(env.get("os", "")),
                arch=str(env.get("arch", "")),
                runtime=str(env.get("runtime", "")),
            ),
        )
        clock.current = str(run_event.get("created_at") or "")
        open_steps: dict[str, Step] = {}
        for number, event in self.events:
            try:
                self._apply(recorder, clock, open_steps, event)
            except InvalidInput as err:
                raise InvalidInput(f"events line {number}: {err.message}") from err
        for step in open_steps.values():
            if step.allowed:
                step.no_outcome()
            else:
                step.complete(executed=False)
        run, intents, results, refs = recorder.records()
        return RecordInput(
            run=run.to_json(),
            intents=[i.to_json() for i in intents],
            results=[r.to_json() for r in results],
            refs=refs.to_json(),
            capture_mode=mode,
        )

    @staticmethod
    def _apply(
        recorder: Recorder,
        clock: _EventClock,
        open_steps: dict[str, Step],
        event: dict[str, Any],
    ) -> None:
        kind = event["type"]
        if event.get("ts"):
            clock.current = str(event["ts"])
        if kind == "run":
            return
        if kind == "event":
            recorder.event(str(event.get("event") or ""), str(event.get("ref") or ""))
            return
        if kind == "ref":
            fields = {k: v for k, v in event.items() if k not in ("type", "ts")}
            ref_id = str(fields.pop("ref_id", "") or "")
            if not ref_id:
                raise InvalidInput("ref requires ref_id")
            try:
                recorder.add_ref(ref_id, **fields)
            except TypeError as err:
                raise InvalidInput(f"invalid ref fields: {err}") from err
            return
        intent_id = str(event.get("intent_id") or "")
        if not intent_id:
            raise InvalidInput(f"{kind} requires intent_id")
        if kind == "intent":
            if intent_id in open_steps:
                raise InvalidInput(f"duplicate intent_id: {intent_id}")
            gate_intent = {
                k: event[k]
                for k in ("targets", "context", "arg_provenance", "delegation")
                if event.get(k) is not None
            }
            step = recorder.begin(
                str(event.get("tool_name") or ""),
                _obj(event.get("args"), "args"),
                intent_id=intent_id,
            )
            if gate_intent:
                step.gate_intent = {
                    "tool_name": step.tool_name,
                    "args": step.args,
                    **gate_intent,
                }
            open_steps[intent_id] = step
            return
        step = open_steps.get(intent_id)
        if step is None:
            raise InvalidInput(f"{kind} for unknown or finished intent_id: {intent_id}")
        if kind == "decision":
            step.decision = GateDecision.of(event)
            return
        error = str(event.get("error") or "")
        status = str(event.get("status") or ("error" if error else ""))
        executed = event.get("executed")
        if executed is None:
            executed = step.allowed
        if not isinstance(executed, bool):
            raise InvalidInput("executed must be a boolean")
        if executed and not step.allowed:
            raise InvalidInput(
                f"intent {intent_id} executed although its verdict is {step.decision.verdict}"  # type: ignore[union-attr]
            )
        del open_steps[intent_id]
        step.complete(
            executed=executed,
            status=status or ("ok" if executed else ""),
            result=event.get("result"),
            error=error,
        )
