"""Golden policy tests: a directory of intents with expected decisions (docs/policy-testing.md).

``gait policy test <policy> <DIR>`` evaluates every fixture in ``DIR`` with
the one engine (exactly as ``gait policy test <policy> <intent.json>`` does
for a single file), compares the decision with the fixture's expectation and
reports which policy rules no fixture ever reached.

Fixture formats (both may be mixed in one directory, found recursively;
hidden files and directories are skipped; names are the relative paths
without the suffix):

* a pair ``NAME.json`` (the intent, any format ``policy test`` reads) and
  ``NAME.expect.json`` (the expectation);
* a single file ``NAME.json`` holding ``{"intent": {...}, "expect": {...}}``
  (optionally ``"description"``).

An expectation is an object with ``verdict`` (required) and optionally
``reason_codes``, ``violations`` (compared as sets, exactly), ``matched_rule``
(the comma-joined names of the deciding rules; ``""`` = no rule matched) and
``description``. Unknown keys are errors, so a typo cannot silently disable
a check.

Errors: anything that makes a fixture unusable (unreadable or malformed
JSON, an intent that does not normalize, an intent without an expectation,
an expectation without an intent) raises :class:`InvalidInput` naming the
file; a run with fixtures that merely fail is a normal report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gait.errors import GaitError, InvalidInput
from gait.regress.junit import JUnitCase, render_junit

if TYPE_CHECKING:
    from gait.engine.decision import Decision
    from gait.intent.model import Intent
    from gait.policy.compiler import CompiledPolicy

__all__ = [
    "SUITE_SCHEMA_ID",
    "Expectation",
    "FixtureResult",
    "PolicyFixture",
    "PolicyTestReport",
    "RuleCoverage",
    "check_decision",
    "discover_policy_fixtures",
    "parse_expectation",
    "rule_coverage",
    "run_policy_tests",
    "run_policy_tests_compiled",
]

SUITE_SCHEMA_ID = "gait.policytest.suite"
SUITE_SCHEMA_VERSION = "1.0.0"
EXPECT_SUFFIX = ".expect.json"
VERDICTS = ("allow", "block", "dry_run", "require_approval")
_EXPECT_KEYS = frozenset({"verdict", "reason_codes", "violations", "matched_rule", "description"})
_SINGLE_KEYS = frozenset({"intent", "expect", "description"})


@dataclass(frozen=True)
class Expectation:
    """What a fixture expects; ``None`` fields are not checked."""

    verdict: str
    reason_codes: tuple[str, ...] | None = None
    violations: tuple[str, ...] | None = None
    matched_rule: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.reason_codes is not None:
            out["reason_codes"] = list(self.reason_codes)
        if self.violations is not None:
            out["violations"] = list(self.violations)
        if self.matched_rule is not None:
            out["matched_rule"] = self.matched_rule
        return out


@dataclass(frozen=True)
class PolicyFixture:
    """One golden test: a normalized intent and what the policy must decide for it."""

    name: str
    intent_path: str
    expect_path: str
    intent: Intent
    expect: Expectation
    description: str = ""


@dataclass
class FixtureResult:
    fixture: PolicyFixture
    decision: Decision
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        d = self.decision
        actual: dict[str, Any] = {
            "verdict": d.verdict,
            "reason_codes": list(d.reason_codes),
            "violations": list(d.violations),
            "matched_rule": d.matched_rule,
        }
        out: dict[str, Any] = {
            "name": self.fixture.name,
            "status": "pass" if self.passed else "fail",
            "intent_path": self.fixture.intent_path,
            "expect_path": self.fixture.expect_path,
            "expected": self.fixture.expect.to_dict(),
            "actual": actual,
        }
        if self.fixture.description:
            out["description"] = self.fixture.description
        if self.failures:
            out["failures"] = list(self.failures)
        return out


@dataclass(frozen=True)
class RuleCoverage:
    """How many fixtures a policy row decided (was part of the deciding tier of)."""

    index: int
    name: str
    priority: int
    effect: str
    hits: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "priority": self.priority,
            "effect": self.effect,
            "hits": self.hits,
        }


@dataclass
class PolicyTestReport:
    policy_path: str
    policy_digest: str
    fixtures_dir: str
    results: list[FixtureResult]
    coverage: list[RuleCoverage]
    no_rule_matched: int

    @property
    def failed(self) -> list[FixtureResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def uncovered(self) -> list[str]:
        """Names of rules no fixture reached, in evaluation order (each name once)."""
        seen: list[str] = []
        for row in self.coverage:
            if row.hits == 0 and row.name not in seen:
                seen.append(row.name)
        return seen

    def coverage_dict(self) -> dict[str, Any]:
        total = len(self.coverage)
        covered = sum(1 for r in self.coverage if r.hits)
        return {
            "rules_total": total,
            "rules_covered": covered,
            "percent": round(100.0 * covered / total, 1) if total else 100.0,
            "uncovered_rules": self.uncovered,
            "no_rule_matched": self.no_rule_matched,
            "rules": [r.to_dict() for r in self.coverage],
        }

    def summary(self) -> str:
        cov = self.coverage_dict()
        return (
            f"policy test: fixtures={len(self.results)} passed={len(self.results) - len(self.failed)} "
            f"failed={len(self.failed)} coverage={cov['rules_covered']}/{cov['rules_total']}"
        )

    def to_dict(self) -> dict[str, Any]:
        failed = len(self.failed)
        out: dict[str, Any] = {
            "ok": not failed,
            "schema_id": SUITE_SCHEMA_ID,
            "schema_version": SUITE_SCHEMA_VERSION,
            "status": "pass" if not failed else "fail",
            "policy_path": self.policy_path,
            "policy_digest": self.policy_digest,
            "fixtures_dir": self.fixtures_dir,
            "fixtures_total": len(self.results),
            "passed": len(self.results) - failed,
            "failed": failed,
            "fixtures": [r.to_dict() for r in self.results],
            "coverage": self.coverage_dict(),
            "summary": self.summary(),
        }
        if failed:
            out["failed_fixtures"] = [r.fixture.name for r in self.failed]
        return out

    def text_lines(self) -> list[str]:
        lines: list[str] = []
        for r in self.results:
            d = r.decision
            if r.passed:
                rule = f" matched_rule={d.matched_rule}" if d.matched_rule else ""
                lines.append(f"PASS {r.fixture.name} (verdict={d.verdict}{rule})")
            else:
                lines.append(f"FAIL {r.fixture.name}: " + "; ".join(r.failures))
        cov = self.coverage_dict()
        line = f"coverage: {cov['rules_covered']}/{cov['rules_total']} rules matched"
        if self.uncovered:
            line += "; never matched: " + ", ".join(self.uncovered)
        lines.append(line)
        lines.append(self.summary())
        return lines

    def junit(self) -> str:
        """JUnit XML: one testcase per fixture (classname = policy file), coverage as properties."""
        classname = self.policy_path
        cases = []
        for r in self.results:
            if r.passed:
                cases.append(JUnitCase(name=r.fixture.name, classname=classname))
            else:
                cases.append(
                    JUnitCase(
                        name=r.fixture.name,
                        classname=classname,
                        failure=r.failures[0],
                        detail="\n".join(r.failures),
                        failure_type="policy_test_failure",
                    )
                )
        cov = self.coverage_dict()
        properties = [
            ("policy_digest", self.policy_digest),
            ("coverage.rules_total", str(cov["rules_total"])),
            ("coverage.rules_covered", str(cov["rules_covered"])),
            ("coverage.uncovered_rules", ",".join(cov["uncovered_rules"])),
        ]
        return render_junit("gait.policytest", cases, properties=properties)


# ------------------------------------------------------------ parsing ---


def _read_json(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"read policy test fixture {path}: {err.strerror or err}") from err
    from gait.safejson import loads

    return loads(data, f"parse policy test fixture {path}")


def _string_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: expect.{key} must be a list of strings")
    return tuple(sorted({v.strip() for v in value if v.strip()}))


def parse_expectation(value: Any, where: str) -> Expectation:
    """Validate an expectation object; ``where`` names the file in error messages."""
    if isinstance(value, str):
        value = {"verdict": value}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expectation must be a JSON object")
    unknown = sorted(set(value) - _EXPECT_KEYS)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown expectation key(s): {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_EXPECT_KEYS))})"
        )
    verdict = value.get("verdict")
    if not isinstance(verdict, str) or verdict.strip().lower() not in VERDICTS:
        raise InvalidInput(f"{where}: expect.verdict must be one of {', '.join(VERDICTS)}")
    matched = value.get("matched_rule")
    if matched is not None and not isinstance(matched, str):
        raise InvalidInput(f"{where}: expect.matched_rule must be a string")
    description = value.get("description", "")
    if not isinstance(description, str):
        raise InvalidInput(f"{where}: description must be a string")
    return Expectation(
        verdict=verdict.strip().lower(),
        reason_codes=None
        if "reason_codes" not in value
        else _string_list(value["reason_codes"], "reason_codes", where),
        violations=None
        if "violations" not in value
        else _string_list(value["violations"], "violations", where),
        matched_rule=None if matched is None else _normalize_rules(matched),
        description=description,
    )


def _normalize_rules(text: str) -> str:
    """``"b, a"`` → ``"a,b"``: the engine joins the deciding rule names sorted, without spaces."""
    return ",".join(sorted({part.strip() for part in text.split(",") if part.strip()}))


def _normalize(raw: Any, source: str) -> Intent:
    from gait.intent import normalize_intent

    try:
        return normalize_intent(raw)
    except GaitError as err:
        raise InvalidInput(f"{source}: {err.message}") from err


def _load_intent_file(path: Path) -> Intent:
    from gait.intent import read_intent_file

    try:
        raw = read_intent_file(path)
    except GaitError as err:
        raise InvalidInput(f"{path}: {err.message}") from err
    return _normalize(raw, str(path))


def _load_inline_intent(value: Any, path: Path) -> Intent:
    from gait.intent import decode_intent_bytes

    if not isinstance(value, dict):
        raise InvalidInput(f"{path}: intent must be a JSON object")
    # Re-decode through the intent decoder so inline intents get exactly the
    # treatment of an intent file (key folding, time canonicalization, …).
    try:
        raw = decode_intent_bytes(json.dumps(value).encode("utf-8"), str(path))
    except GaitError as err:
        raise InvalidInput(f"{path}: {err.message}") from err
    return _normalize(raw, str(path))


def _walk_json(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(".json"):
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _fixture_name(root: Path, path: Path, suffix: str) -> str:
    rel = path.relative_to(root).as_posix()
    return rel[: -len(suffix)]


def discover_policy_fixtures(directory: str | os.PathLike[str]) -> list[PolicyFixture]:
    """Every fixture under ``directory``, sorted by name; see the module docstring."""
    root = Path(directory)
    if not root.is_dir():
        raise InvalidInput(f"policy test fixtures directory not found: {directory}")
    files = _walk_json(root)
    by_lower = {p.as_posix().lower(): p for p in files}
    expectations = {p for p in files if p.name.lower().endswith(EXPECT_SUFFIX)}
    fixtures: list[PolicyFixture] = []
    used_expectations: set[Path] = set()
    for path in files:
        if path in expectations:
            continue
        value = _read_json(path)
        if isinstance(value, dict) and "expect" in value:
            unknown = sorted(set(value) - _SINGLE_KEYS)
            if unknown:
                raise InvalidInput(
                    f"{path}: unknown key(s) in single-file fixture: {', '.join(unknown)} "
                    '(expected {"intent": {...}, "expect": {...}})'
                )
            if "intent" not in value:
                raise InvalidInput(f'{path}: single-file fixture needs an "intent" object')
            expect = parse_expectation(value["expect"], str(path))
            description = value.get("description", "") or expect.description
            fixtures.append(
                PolicyFixture(
                    name=_fixture_name(root, path, path.suffix),
                    intent_path=str(path),
                    expect_path=str(path),
                    intent=_load_inline_intent(value["intent"], path),
                    expect=expect,
                    description=description if isinstance(description, str) else "",
                )
            )
            continue
        stem = path.as_posix()[: -len(path.suffix)]
        companion = by_lower.get((stem + EXPECT_SUFFIX).lower())
        if companion is None:
            raise InvalidInput(
                f"{path}: no expectation for this intent (add {Path(stem).name}{EXPECT_SUFFIX} "
                'next to it, or wrap it as {"intent": {...}, "expect": {...}})'
            )
        used_expectations.add(companion)
        expect = parse_expectation(_read_json(companion), str(companion))
        fixtures.append(
            PolicyFixture(
                name=_fixture_name(root, path, path.suffix),
                intent_path=str(path),
                expect_path=str(companion),
                intent=_load_intent_file(path),
                expect=expect,
                description=expect.description,
            )
        )
    orphans = sorted(str(p) for p in expectations - used_expectations)
    if orphans:
        raise InvalidInput(f"expectation without an intent file: {', '.join(orphans)}")
    if not fixtures:
        raise InvalidInput(f"no policy test fixtures found in {directory}")
    fixtures.sort(key=lambda f: f.name)
    return fixtures


# ------------------------------------------------------------ checking ---


def _fmt(values: Iterable[str]) -> str:
    return "[" + ",".join(values) + "]"


def check_decision(decision: Decision, expect: Expectation) -> list[str]:
    """Human-readable differences between ``decision`` and ``expect`` (empty = pass)."""
    failures: list[str] = []
    if decision.verdict != expect.verdict:
        failures.append(f"verdict: expected {expect.verdict}, got {decision.verdict}")
    if expect.reason_codes is not None:
        actual = tuple(sorted(set(decision.reason_codes)))
        if actual != expect.reason_codes:
            failures.append(
                f"reason_codes: expected {_fmt(expect.reason_codes)}, got {_fmt(actual)}"
            )
    if expect.violations is not None:
        actual = tuple(sorted(set(decision.violations)))
        if actual != expect.violations:
            failures.append(f"violations: expected {_fmt(expect.violations)}, got {_fmt(actual)}")
    if expect.matched_rule is not None and decision.matched_rule != expect.matched_rule:
        got = decision.matched_rule or "<none>"
        want = expect.matched_rule or "<none>"
        failures.append(f"matched_rule: expected {want}, got {got}")
    return failures


def _decided_rules(decision: Decision) -> set[str]:
    names = set(decision.matched_rules)
    for step in decision.step_verdicts:
        names.update(step.matched_rules)
    return names


def rule_coverage(
    compiled: CompiledPolicy, decisions: Sequence[Decision]
) -> tuple[list[RuleCoverage], int]:
    """Per policy row (evaluation order): how many decisions it was a deciding rule of.

    Rows are identified by name, as ``matched_rule`` reports them; two rules
    sharing a name (``policy validate`` warns about it) are counted together.
    Also returns how many decisions no rule decided (default verdict or fail-closed).
    """
    hits: dict[str, int] = {}
    none = 0
    for decision in decisions:
        names = _decided_rules(decision)
        if not names:
            none += 1
        for name in names:
            hits[name] = hits.get(name, 0) + 1
    rows = [
        RuleCoverage(
            index=row.index,
            name=row.name,
            priority=row.priority,
            effect=row.effect,
            hits=hits.get(row.name, 0),
        )
        for row in compiled.rows
    ]
    return rows, none


def run_policy_tests(policy_path: str, directory: str) -> PolicyTestReport:
    """Compile ``policy_path``, evaluate every fixture in ``directory``, check and measure."""
    from gait.policy import compile_policy_file

    return run_policy_tests_compiled(compile_policy_file(policy_path), policy_path, directory)


def run_policy_tests_compiled(
    compiled: CompiledPolicy, policy_path: str, directory: str
) -> PolicyTestReport:
    """:func:`run_policy_tests` for an already compiled policy (``policy_path`` is a label)."""
    from gait.engine import evaluate

    fixtures = discover_policy_fixtures(directory)
    results = []
    for fixture in fixtures:
        decision = evaluate(compiled, fixture.intent)
        results.append(FixtureResult(fixture, decision, check_decision(decision, fixture.expect)))
    coverage, none = rule_coverage(compiled, [r.decision for r in results])
    return PolicyTestReport(
        policy_path=policy_path,
        policy_digest=compiled.policy_digest,
        fixtures_dir=directory,
        results=results,
        coverage=coverage,
        no_rule_matched=none,
    )
