"""``regress run``: grade every configured fixture, write the result JSON and JUnit (§3).

Paths in ``gait.yaml`` (runpacks, fixture ``policy``) are relative to the
config's directory, which is the working directory for the default
``gait.yaml``. ``output``/``junit`` paths are relative to the process's
working directory. Problems with the configuration or a fixture's files are
:class:`InvalidInput` (exit 6); failing graders are a normal result (exit 5
is the caller's mapping of ``status == "fail"``); failing to write the
result files is an ``OSError`` (exit 1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.regress.config import CONFIG_FILE, FIXTURE_FILE, dump_json, read_config, read_fixture_meta
from gait.regress.graders import (
    CORE_GRADERS,
    FAIL,
    PASS,
    FixtureContext,
    Grader,
    GraderResult,
    grade_context_conformance,
    grade_policy_verdict,
)
from gait.regress.junit import JUnitCase, render_junit

__all__ = ["DEFAULT_OUTPUT", "RegressRun", "RunOptions", "run_regress"]

DEFAULT_OUTPUT = "regress_result.json"
_MAX_LISTED = 10  # failing graders named in text output; the rest are in the result file
RESULT_SCHEMA_ID = "gait.regress.result"
SCHEMA_VERSION = "1.0.0"
ZERO_TIME = "1980-01-01T00:00:00Z"


@dataclass
class RunOptions:
    config_path: str = CONFIG_FILE
    output_path: str = DEFAULT_OUTPUT
    junit_path: str = ""
    allow_nondeterministic: bool = False
    context_conformance: bool = False
    allow_context_runtime_drift: bool = False
    policy: str = ""
    """Apply ``policy_verdict`` to every fixture with this policy (overrides fixture ``policy``;
    relative to the working directory)."""


@dataclass
class RegressRun:
    """The written result plus what the CLI reports about it."""

    result: dict[str, Any]
    options: RunOptions
    graders: list[GraderResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.result["status"])

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def failed(self) -> int:
        return sum(1 for g in self.graders if g.status == FAIL)

    @property
    def fixture_set(self) -> str:
        return str(self.result["fixture_set"])

    @property
    def top_failure_reason(self) -> str:
        """§3.6: first reason code of the first failing grader in sorted order."""
        for grader in self.graders:
            if grader.status == FAIL:
                return grader.reason_codes[0] if grader.reason_codes else "grader_failed"
        return ""

    @property
    def top_failure_grader(self) -> str:
        return next((g.name for g in self.graders if g.status == FAIL), "")

    @property
    def next_command(self) -> str:
        if self.passed:
            return ""
        config = self.options.config_path
        if config in (CONFIG_FILE, f"./{CONFIG_FILE}"):
            return "gait regress run --json"
        return f"gait regress run --config {config} --json"

    @property
    def artifact_paths(self) -> list[str]:
        paths = [self.options.output_path]
        if self.options.junit_path:
            paths.append(self.options.junit_path)
        return paths

    def to_json(self) -> dict[str, Any]:
        """The CLI payload of §3.6 (empty values omitted)."""
        out: dict[str, Any] = {
            "ok": self.passed,
            "status": self.status,
            "fixture_set": self.fixture_set,
            "graders": len(self.graders),
            "failed": self.failed,
            "top_failure_reason": self.top_failure_reason,
            "top_failure_grader": self.top_failure_grader,
            "next_command": self.next_command,
            "artifact_paths": self.artifact_paths,
            "output": self.options.output_path,
            "junit": self.options.junit_path,
        }
        return {k: v for k, v in out.items() if k == "ok" or v}

    def text_lines(self) -> list[str]:
        """The reference's stdout lines (cmd/gait/regress.go)."""
        opts = self.options
        if self.passed:
            lines = [
                f"regress run ok: fixture_set={self.fixture_set} graders={len(self.graders)}",
                f"output: {opts.output_path}",
            ]
        else:
            lines = [f"regress run failed: fixture_set={self.fixture_set} failed={self.failed}"]
            if self.top_failure_reason:
                lines.append(f"top_failure_reason: {self.top_failure_reason}")
            if self.next_command:
                lines.append(f"next: {self.next_command}")
            if self.artifact_paths:
                lines.append(f"artifacts: {', '.join(self.artifact_paths)}")
            lines.append(f"output: {opts.output_path}")
        if opts.junit_path:
            lines.append(f"junit: {opts.junit_path}")
        return lines

    def hint_lines(self) -> list[str]:
        """For a person (stderr, text mode): the failing graders and what to do next."""
        if self.passed:
            return []
        opts = self.options
        failing = [g for g in self.graders if g.status == FAIL]
        shown = [
            f"failed grader: {g.name} ({g.reason_codes[0] if g.reason_codes else 'grader_failed'})"
            for g in failing[:_MAX_LISTED]
        ]
        if len(failing) > _MAX_LISTED:
            shown.append(f"... and {len(failing) - _MAX_LISTED} more in {opts.output_path}")
        fixture = str(failing[0].details.get("fixture", "")) if failing else ""
        shown.append(
            f"hint: read the failing graders' details in {opts.output_path}; if the change "
            f"is intended, re-record the fixture: gait regress init --from <run> "
            f"--name {fixture or '<fixture>'} --force"
        )
        return shown


def _resolve(base: Path, rel: str) -> str:
    if os.path.isabs(rel):
        return rel
    if base == Path("."):
        return Path(os.path.normpath(rel.replace("\\", "/"))).as_posix()
    return Path(os.path.normpath(base / rel.replace("\\", "/"))).as_posix()


def _load_fixtures(options: RunOptions) -> tuple[str, list[FixtureContext], list[str]]:
    """§3 steps 1–3; returns the fixture set, one context per fixture and their created_at."""
    from gait.runpack.reader import read_runpack

    config_path = Path(options.config_path)
    if not config_path.exists():
        raise InvalidInput(
            f"read config: no such file: {config_path.as_posix()} "
            "(create one from a recorded run with: gait regress init --from <run_id|runpack>)"
        )
    config = read_config(config_path)
    base = config_path.parent
    override = options.policy
    if override and not os.path.isabs(override):
        # A --policy flag is relative to the working directory; graders resolve
        # policies against the config directory.
        override = os.path.relpath(os.path.abspath(override), os.path.abspath(base))
    contexts: list[FixtureContext] = []
    created: list[str] = []
    for entry in config.fixtures:
        runpack = _resolve(base, entry.runpack)
        if not os.path.isfile(runpack):
            raise InvalidInput(f"fixture runpack missing for {entry.name}: {runpack}")
        try:
            pack = read_runpack(runpack)
        except GaitError as err:
            raise InvalidInput(f"read fixture runpack for {entry.name}: {err.message}") from err
        fixture_dir = Path(runpack).parent.as_posix()
        meta = read_fixture_meta(Path(fixture_dir) / FIXTURE_FILE)
        if meta.name != entry.name:
            raise InvalidInput(f"fixture metadata name mismatch for {entry.name}")
        if entry.run_id and meta.run_id != entry.run_id:
            raise InvalidInput(f"fixture run_id mismatch for {entry.name}")
        if pack.run.run_id != meta.run_id:
            raise InvalidInput(f"runpack run_id mismatch for {entry.name}")
        ctx = FixtureContext(
            name=entry.name,
            run_id=meta.run_id,
            fixture_dir=fixture_dir,
            runpack_path=runpack,
            meta=meta,
            base_dir=base.as_posix(),
            context_conformance=options.context_conformance,
            allow_context_runtime_drift=options.allow_context_runtime_drift,
            policy_override=override,
        )
        ctx._packs[runpack] = pack
        contexts.append(ctx)
        created.append(pack.run.created_at)
    if not contexts:
        raise InvalidInput("no fixtures configured")
    return config.fixture_set, contexts, created


def _select_graders(
    options: RunOptions, fixtures: list[FixtureContext]
) -> list[tuple[str, Grader]]:
    graders = list(CORE_GRADERS)
    if options.context_conformance or any(
        f.meta.context_conformance
        or f.meta.expected_context_set_digest
        or f.meta.allow_context_runtime_drift
        for f in fixtures
    ):
        graders.append(("context_conformance", grade_context_conformance))
    if options.policy or any(f.meta.policy for f in fixtures):
        graders.append(("policy_verdict", grade_policy_verdict))
    return graders


def _grade(fixture: FixtureContext, name: str, grader: Grader) -> GraderResult:
    try:
        result = grader(fixture)
    except Exception as err:  # §3 step 5: a grader that errors internally fails, never aborts
        message = err.message if isinstance(err, GaitError) else f"{type(err).__name__}: {err}"
        result = GraderResult(name, FAIL, ["grader_error"], {"error": message})
    result.name = f"{fixture.name}/{result.name or name}"
    if not result.status:
        result.status = FAIL
    result.reason_codes = sorted({c.strip() for c in result.reason_codes if c.strip()})
    result.details = dict(result.details or {})
    result.details["fixture"] = fixture.name
    result.details["run_id"] = fixture.run_id
    return result


def _created_at(value: str) -> str:
    text = (value or "").strip()
    if not text or text.startswith("0001-01-01"):
        return ZERO_TIME
    return text


def render_run_junit(result: dict[str, Any]) -> str:
    """§3.5: one testcase per grader result; classname = fixture, name = grader."""
    cases = []
    for grader in result["graders"]:
        fixture, sep, name = str(grader["name"]).partition("/")
        if not sep:
            fixture, name = "regress", fixture
        if grader["status"] == FAIL:
            text = ",".join(grader["reason_codes"]) or "failed"
            cases.append(JUnitCase(name=name, classname=fixture, failure=text, detail=text))
        else:
            cases.append(JUnitCase(name=name, classname=fixture))
    return render_junit(f"gait.regress.{result['fixture_set']}", cases)


def _write(path: str, data: bytes) -> None:
    from gait.fsutil import atomic_write

    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    atomic_write(path, data, 0o644)


def run_regress(
    options: RunOptions, progress: Callable[[int, int], None] | None = None
) -> RegressRun:
    """Grade every fixture; write ``options.output_path`` (and JUnit if asked).

    ``progress(done, total)`` is called after each grader (the CLI shows it).
    """
    from gait import __version__

    fixture_set, fixtures, created = _load_fixtures(options)
    graders = _select_graders(options, fixtures)
    total = len(fixtures) * len(graders)
    results = []
    for fixture in fixtures:
        for name, grader in graders:
            results.append(_grade(fixture, name, grader))
            if progress is not None:
                progress(len(results), total)
    results.sort(key=lambda g: g.name)
    status = FAIL if any(g.status == FAIL for g in results) else PASS
    result = {
        "schema_id": RESULT_SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "created_at": _created_at(created[0]),
        "producer_version": __version__,
        "fixture_set": fixture_set,
        "status": status,
        "graders": [g.to_json() for g in results],
    }
    _write(options.output_path, dump_json(result))
    if options.junit_path:
        _write(options.junit_path, render_run_junit(result).encode("utf-8"))
    return RegressRun(result=result, options=options, graders=results)
