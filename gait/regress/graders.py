"""The deterministic graders of ``regress run`` (regress.md §3.1) plus ``policy_verdict``.

Each grader takes a :class:`FixtureContext` and returns a :class:`GraderResult`
named by the bare grader name; the runner prefixes the fixture name, sorts
reason codes and adds ``fixture``/``run_id`` to ``details``. A grader never
raises for a problem it can describe: it fails with a reason code instead.

``policy_verdict`` is an addition to the spec (docs/regress.md): it
re-evaluates every recorded step of the candidate pack under a policy with
the one engine and fails when a verdict differs from the recorded one. Its
failure reason codes name the step and the change, e.g.
``policy_verdict_changed:step_2:tool.fetch:allow->block``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gait.errors import GaitError
from gait.regress.config import FixtureMeta
from gait.regress.verdicts import derive_verdict, tool_sequence, verdict_sequence

if TYPE_CHECKING:
    from gait.runpack.reader import Runpack

__all__ = [
    "CORE_GRADERS",
    "DEFAULT_POLICY_CONTEXT",
    "FixtureContext",
    "GraderResult",
    "grade_context_conformance",
    "grade_diff",
    "grade_expected_exit_code",
    "grade_policy_verdict",
    "grade_schema_validation",
    "grade_trajectory",
]

PASS, FAIL = "pass", "fail"
SCHEMA_VERSION = "1.0.0"
MISSING = "<missing>"
DEFAULT_POLICY_CONTEXT: dict[str, Any] = {
    "identity": "gait.regress",
    "workspace": "/",
    "risk_class": "low",
}
"""Context given to intents rebuilt from recorded args when the fixture sets no ``policy_context``."""


@dataclass
class GraderResult:
    name: str
    status: str
    reason_codes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    context_conformance: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "reason_codes": list(self.reason_codes),
        }
        if self.context_conformance is not None:
            out["context_conformance"] = self.context_conformance
        out["details"] = _sorted_keys(self.details)
        return out


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


@dataclass
class FixtureContext:
    """One fixture as the graders see it (paths already resolved against the config dir)."""

    name: str
    run_id: str
    fixture_dir: str
    runpack_path: str
    meta: FixtureMeta
    base_dir: str = "."
    context_conformance: bool = False
    allow_context_runtime_drift: bool = False
    policy_override: str = ""
    _packs: dict[str, Runpack] = field(default_factory=dict, repr=False)

    def read(self, path: str) -> Runpack:
        """Integrity-checked read, cached per path for the graders of one fixture."""
        from gait.runpack.reader import read_runpack

        pack = self._packs.get(path)
        if pack is None:
            pack = self._packs[path] = read_runpack(path)
        return pack

    def candidate_path(self) -> str:
        """§3.2: ``candidate_runpack`` (relative to the fixture dir) or the baseline itself."""
        candidate = self.meta.candidate_runpack
        if not candidate:
            return self.runpack_path
        if not os.path.isabs(candidate):
            candidate = _join(self.fixture_dir, candidate)
        if not os.path.isfile(candidate):
            raise _CandidateMissing(f"candidate runpack not found: {candidate}")
        return candidate


class _CandidateMissing(Exception):
    pass


def _join(base: str, rel: str) -> str:
    joined = os.path.normpath(os.path.join(base, rel.replace("\\", "/")))
    return Path(joined).as_posix()


def _fail(name: str, reason: str, details: dict[str, Any] | None = None) -> GraderResult:
    return GraderResult(name, FAIL, [reason], dict(details or {}))


def _error(err: BaseException) -> str:
    return err.message if isinstance(err, GaitError) else str(err)


# ------------------------------------------------------------ schema_validation ---

_RECORD_SCHEMAS = (
    ("run", "gait.runpack.run", "run_schema_invalid"),
    ("refs", "gait.runpack.refs", "refs_schema_invalid"),
)


def grade_schema_validation(ctx: FixtureContext) -> GraderResult:
    """Verify the baseline zip (unsigned), read it, check every record's schema id/version."""
    from gait.runpack.verify import verify_runpack

    name = "schema_validation"
    try:
        report = verify_runpack(ctx.runpack_path)
    except GaitError as err:
        return _fail(name, "schema_validation_error", {"error": err.message})
    reasons: list[str] = []
    if report.missing_files:
        reasons.append("missing_files")
    if report.hash_mismatches:
        reasons.append("hash_mismatch")
    if report.zip_errors or report.unexpected_files:
        reasons.append("schema_validation_error")
    try:
        pack = ctx.read(ctx.runpack_path)
    except GaitError as err:
        reasons.append("runpack_parse_error")
        return GraderResult(name, FAIL, reasons, {"error": err.message})
    manifest = pack.manifest
    if manifest.schema_id != "gait.runpack.manifest" or manifest.schema_version != SCHEMA_VERSION:
        reasons.append("manifest_schema_invalid")
    for attr, schema_id, reason in _RECORD_SCHEMAS:
        record = getattr(pack, attr)
        if record.schema_id != schema_id or record.schema_version != SCHEMA_VERSION:
            reasons.append(reason)
    if any(
        i.schema_id != "gait.runpack.intent" or i.schema_version != SCHEMA_VERSION
        for i in pack.intents
    ):
        reasons.append("intent_schema_invalid")
    if any(
        r.schema_id != "gait.runpack.result" or r.schema_version != SCHEMA_VERSION
        for r in pack.results
    ):
        reasons.append("result_schema_invalid")
    details = {
        "missing_files": list(report.missing_files),
        "hash_mismatches": len(report.hash_mismatches),
        "intent_records": len(pack.intents),
        "result_records": len(pack.results),
        "reference_receipts": len(pack.refs.receipts or []),
    }
    return GraderResult(name, FAIL if reasons else PASS, reasons, details)


# ------------------------------------------------------------ expected_exit_code ---


def grade_expected_exit_code(ctx: FixtureContext) -> GraderResult:
    """Stub replay of the baseline: exit 2 if any result is missing, else 0."""
    from gait.runpack.replay import replay_stub

    name = "expected_exit_code"
    try:
        replay = replay_stub(ctx.read(ctx.runpack_path))
    except GaitError as err:
        return _fail(name, "replay_error", {"error": err.message})
    expected = ctx.meta.expected_replay_exit_code
    actual = 2 if replay["missing_results"] else 0
    details = {
        "expected_exit_code": expected,
        "actual_exit_code": actual,
        "missing_results": list(replay["missing_results"]),
    }
    if actual != expected:
        return GraderResult(name, FAIL, ["unexpected_exit_code"], details)
    return GraderResult(name, PASS, [], details)


# ------------------------------------------------------------ trajectory ---


def _mismatch(expected: Sequence[str], actual: Sequence[str]) -> tuple[int, str, str] | None:
    """§3.1 mismatch index rule."""
    for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
        if e != a:
            return i, e, a
    if len(expected) == len(actual):
        return None
    i = min(len(expected), len(actual))
    return (
        i,
        expected[i] if i < len(expected) else MISSING,
        actual[i] if i < len(actual) else MISSING,
    )


def grade_trajectory(ctx: FixtureContext) -> GraderResult:
    """Candidate tool/verdict sequences vs the expected ones recorded at init."""
    name = "trajectory"
    try:
        candidate = ctx.candidate_path()
    except _CandidateMissing as err:
        return _fail(name, "candidate_path_invalid", {"error": str(err)})
    try:
        pack = ctx.read(candidate)
    except GaitError as err:
        return _fail(
            name,
            "candidate_runpack_invalid",
            {"candidate_runpack": candidate, "error": err.message},
        )
    expected_tools = list(ctx.meta.expected_tool_sequence)
    expected_verdicts = list(ctx.meta.expected_verdict_sequence)
    actual_tools = tool_sequence(pack)
    actual_verdicts = verdict_sequence(pack)
    details: dict[str, Any] = {
        "candidate_runpack": candidate,
        "expected_tool_sequence": expected_tools,
        "actual_tool_sequence": actual_tools,
        "expected_verdict_sequence": expected_verdicts,
        "actual_verdict_sequence": actual_verdicts,
    }
    if not expected_tools and not expected_verdicts:
        return GraderResult(name, PASS, ["trajectory_not_required"], details)
    reasons: list[str] = []
    for kind, expected, actual in (
        ("tool", expected_tools, actual_tools),
        ("verdict", expected_verdicts, actual_verdicts),
    ):
        if not expected:
            continue
        found = _mismatch(expected, actual)
        if found is None:
            continue
        index, want, got = found
        reasons.append(f"unexpected_{kind}_sequence")
        details[f"{kind}_sequence_mismatch_index"] = index
        details[f"{kind}_sequence_expected_at_mismatch"] = want
        details[f"{kind}_sequence_actual_at_mismatch"] = got
    if reasons:
        return GraderResult(name, FAIL, reasons, details)
    return GraderResult(name, PASS, ["trajectory_match"], details)


# ------------------------------------------------------------ diff ---


def _changed_files(summary: dict[str, Any]) -> list[str]:
    changed = set(summary.get("files_changed") or [])
    for flag, member in (
        ("manifest_changed", "manifest.json"),
        ("intents_changed", "intents.jsonl"),
        ("results_changed", "results.jsonl"),
        ("refs_changed", "refs.json"),
    ):
        if summary.get(flag):
            changed.add(member)
    return sorted(changed)


def grade_diff(ctx: FixtureContext) -> GraderResult:
    """``run diff`` (privacy full) baseline vs candidate; changes outside the allowlist fail."""
    from gait.runpack.diff import diff_runpacks

    name = "diff"
    try:
        candidate = ctx.candidate_path()
    except _CandidateMissing as err:
        return _fail(name, "candidate_path_invalid", {"error": str(err)})
    try:
        summary = diff_runpacks(ctx.read(ctx.runpack_path), ctx.read(candidate), privacy="full")
    except GaitError as err:
        return _fail(name, "diff_error", {"candidate_runpack": candidate, "error": err.message})
    changed = _changed_files(summary)
    allowed = list(ctx.meta.diff_allow_changed_files)
    unexpected = [f for f in changed if f not in set(allowed)]
    details: dict[str, Any] = {
        "candidate_runpack": candidate,
        "changed_files": changed,
        "allowed_files": allowed,
    }
    if summary.get("step_changes"):
        details["step_changes"] = summary["step_changes"]
    if unexpected:
        details["unexpected_files"] = unexpected
        return GraderResult(name, FAIL, ["unexpected_diff"], details)
    return GraderResult(name, PASS, [], details)


# ------------------------------------------------------------ context_conformance ---


def grade_context_conformance(ctx: FixtureContext) -> GraderResult:
    """Classify refs drift baseline → candidate and apply the §3.1 order of checks."""
    from gait.runpack.diff import diff_runpacks

    name = "context_conformance"

    def missing(reason: str, err: str, **extra: Any) -> GraderResult:
        result = _fail(name, reason, {"error": err, **extra})
        result.context_conformance = "missing"
        return result

    try:
        candidate = ctx.candidate_path()
    except _CandidateMissing as err:
        return missing("candidate_path_invalid", str(err))
    try:
        source = ctx.read(ctx.runpack_path)
    except GaitError as err:
        return missing("source_runpack_invalid", err.message)
    try:
        cand = ctx.read(candidate)
    except GaitError as err:
        return missing("candidate_runpack_invalid", err.message, candidate_runpack=candidate)
    try:
        summary = diff_runpacks(source, cand, privacy="full")
    except GaitError as err:
        return missing("context_diff_error", err.message, candidate_runpack=candidate)
    classification = str(summary.get("context_drift_classification") or "none")
    cand_digest = cand.refs.context_set_digest or ""
    details = {
        "candidate_runpack": candidate,
        "context_set_digest_fixture": source.refs.context_set_digest or "",
        "context_set_digest_candidate": cand_digest,
        "context_changed": bool(summary.get("refs_changed")),
        "context_runtime_only": bool(summary.get("context_runtime_only_changes")),
    }
    meta = ctx.meta
    expected = meta.expected_context_set_digest
    enforce = ctx.context_conformance or meta.context_conformance == "required" or bool(expected)
    allow_runtime = ctx.allow_context_runtime_drift or meta.allow_context_runtime_drift

    def outcome(status: str, reason: str, conformance: str) -> GraderResult:
        return GraderResult(name, status, [reason], details, conformance)

    if expected and cand_digest.lower() != expected.lower() and classification != "runtime_only":
        return outcome(FAIL, "context_set_digest_mismatch", "semantic")
    if not enforce:
        return outcome(PASS, "context_conformance_not_required", classification)
    if not cand_digest.strip():
        return outcome(FAIL, "context_evidence_missing", "missing")
    if classification == "semantic":
        return outcome(FAIL, "context_semantic_drift", "semantic")
    if classification == "runtime_only" and not allow_runtime:
        return outcome(FAIL, "context_runtime_drift_blocked", "runtime_only")
    return outcome(PASS, "context_conformance_pass", classification)


# ------------------------------------------------------------ policy_verdict ---


def _policy_path(ctx: FixtureContext) -> str:
    policy = ctx.policy_override or ctx.meta.policy
    if not policy or os.path.isabs(policy):
        return policy
    return _join(ctx.base_dir, policy)


def _recorded_policy_digests(pack: Runpack) -> list[str]:
    from gait.runpack.inspect import trace_receipts

    digests: set[str] = set()
    for result in pack.results:
        payload = result.result if isinstance(result.result, dict) else {}
        if isinstance(payload.get("policy_digest"), str) and payload["policy_digest"]:
            digests.add(payload["policy_digest"])
    for receipt in trace_receipts(pack).values():
        params = receipt.retrieval_params if isinstance(receipt.retrieval_params, dict) else {}
        if isinstance(params.get("policy_digest"), str) and params["policy_digest"]:
            digests.add(params["policy_digest"])
    return sorted(digests)


def grade_policy_verdict(ctx: FixtureContext) -> GraderResult:
    """Re-decide every recorded step under the fixture's policy; any changed verdict fails.

    The intent handed to the engine is the ``gate_intent`` the Recorder stored
    (``raw`` capture), else one rebuilt from the recorded ``tool_name`` and
    ``args`` with ``policy_context`` (default :data:`DEFAULT_POLICY_CONTEXT`).
    The recorded verdict is the gate decision stored with the step, else the
    §3.3 verdict of its result record. Steps without a result are skipped; a
    step with a result but neither a gate intent nor args cannot be checked
    and fails the grader (``policy_intent_not_captured``): record with
    ``capture_mode: raw`` to make such runs re-checkable.
    """
    from gait.engine import evaluate
    from gait.policy import compile_policy_file
    from gait.runpack.inspect import step_verdict, trace_receipts

    name = "policy_verdict"
    policy = _policy_path(ctx)
    if not policy:
        return GraderResult(name, PASS, ["policy_not_configured"], {})
    try:
        candidate = ctx.candidate_path()
    except _CandidateMissing as err:
        return _fail(name, "candidate_path_invalid", {"error": str(err), "policy": policy})
    try:
        pack = ctx.read(candidate)
    except GaitError as err:
        return _fail(
            name,
            "candidate_runpack_invalid",
            {"candidate_runpack": candidate, "error": err.message},
        )
    try:
        compiled = compile_policy_file(policy)
    except GaitError as err:
        return _fail(name, "policy_invalid", {"policy": policy, "error": err.message})

    results: dict[str, Any] = {}
    for result in pack.results:
        results.setdefault(result.intent_id, result)
    receipts = trace_receipts(pack)
    context = ctx.meta.policy_context or DEFAULT_POLICY_CONTEXT
    width = len(str(len(pack.intents)))
    steps: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    reasons: list[str] = []
    not_captured: list[str] = []
    skipped: list[str] = []
    for number, intent in enumerate(pack.intents, start=1):
        result = results.get(intent.intent_id)
        if result is None:
            skipped.append(intent.intent_id)
            continue
        recorded, _reasons, _violations = step_verdict(result, receipts.get(intent.intent_id))
        recorded = recorded or derive_verdict(result)
        payload = result.result if isinstance(result.result, dict) else {}
        gate_intent = payload.get("gate_intent")
        if isinstance(gate_intent, dict):
            request: dict[str, Any] = dict(gate_intent)
            source = "recorded_gate_intent"
        elif intent.args is not None:
            request = {"tool_name": intent.tool_name, "args": intent.args, "context": context}
            source = "rebuilt_from_args"
        else:
            not_captured.append(intent.intent_id)
            continue
        step: dict[str, Any] = {
            "step": number,
            "intent_id": intent.intent_id,
            "tool_name": intent.tool_name,
            "intent_source": source,
            "recorded_verdict": recorded,
        }
        try:
            decision = evaluate(compiled, request)
            verdict = decision.verdict
            step["policy_reason_codes"] = list(decision.reason_codes)
            if decision.matched_rule:
                step["matched_rule"] = decision.matched_rule
        except GaitError as err:
            verdict = "error"
            step["error"] = err.message
        step["policy_verdict"] = verdict
        steps.append(step)
        if verdict != recorded:
            changed.append(step)
            reasons.append(
                f"policy_verdict_changed:step_{number:0{width}d}:{intent.tool_name}:"
                f"{recorded}->{verdict}"
            )
    if not_captured:
        reasons.append("policy_intent_not_captured")
    details: dict[str, Any] = {
        "policy": policy,
        "policy_digest": compiled.policy_digest,
        "recorded_policy_digests": _recorded_policy_digests(pack),
        "candidate_runpack": candidate,
        "steps_evaluated": len(steps),
        "steps": steps,
    }
    if changed:
        details["changed_steps"] = changed
    if not_captured:
        details["steps_not_captured"] = not_captured
    if skipped:
        details["steps_without_result"] = skipped
    if reasons:
        return GraderResult(name, FAIL, reasons, details)
    return GraderResult(name, PASS, ["policy_verdicts_match"], details)


Grader = Callable[[FixtureContext], GraderResult]
CORE_GRADERS: tuple[tuple[str, Grader], ...] = (
    ("schema_validation", grade_schema_validation),
    ("expected_exit_code", grade_expected_exit_code),
    ("trajectory", grade_trajectory),
    ("diff", grade_diff),
)
