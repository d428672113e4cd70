"""evaluate() skips the fail-closed call for one classified target when no other
field is required: the decision must be the one the call gives."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.engine import evaluate
from gait.engine.evaluate import _runtime
from gait.intent.model import ArgProvenance, Context, Delegation, Intent, Target
from gait.policy import compile_policy

FIELDS = ["targets", "arg_provenance", "endpoint_class", "delegation", "context_evidence"]


def _policy(required: tuple[str, ...], risk: tuple[str, ...]) -> str:
    return (
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\n"
        "fail_closed:\n  enabled: true\n"
        f"  risk_classes: [{', '.join(risk)}]\n"
        f"  required_fields: [{', '.join(required)}]\n"
        "rules:\n"
        "  - name: egress\n    priority: 10\n    effect: block\n    match:\n"
        "      provenance_sources: [external]\n      target_kinds: [url, host]\n"
        "    reason_codes: [blocked_untrusted_egress]\n    violations: [untrusted_egress]\n"
        "  - name: reads\n    priority: 20\n    effect: allow\n    match:\n"
        "      tool_names: [fs.read]\n"
    )


_COMPILED: dict[tuple[tuple[str, ...], tuple[str, ...]], object] = {}


def _compiled(required: tuple[str, ...], risk: tuple[str, ...]) -> object:
    key = (required, risk)
    if key not in _COMPILED:
        _COMPILED[key] = compile_policy(_policy(required, risk), use_cache=False)
    return _COMPILED[key]


_compiled(("targets",), ("high",))  # the compiler's first use, outside hypothesis


def _target(kind: str, endpoint_class: str, destructive: bool) -> Target:
    return Target(
        kind=kind,
        value="https://x.test/a" if kind == "url" else "/repo/a",
        operation="read",
        endpoint_class=endpoint_class,
        destructive=destructive,
    )


targets = st.lists(
    st.builds(
        _target,
        st.sampled_from(["url", "path", "host"]),
        st.sampled_from(["", "other", "fs.read", "net.http", "OTHER", " "]),
        st.booleans(),
    ),
    max_size=3,
).map(tuple)
intents = st.builds(
    Intent,
    tool_name=st.sampled_from(["fs.read", "http.post"]),
    args=st.just({}),
    context=st.builds(
        Context,
        identity=st.just("bot"),
        workspace=st.just("/w"),
        risk_class=st.sampled_from(["low", "high", "critical", ""]),
        context_set_digest=st.sampled_from(["", "a" * 64]),
    ),
    targets=targets,
    arg_provenance=st.sampled_from(
        [
            (),
            (ArgProvenance(arg_path="$.body", source="external", source_ref="web:1"),),
            (ArgProvenance(arg_path="$.path", source="user"),),
        ]
    ),
    delegation=st.sampled_from([None, Delegation(requester_identity="r")]),
)


def _fields(decision: object) -> dict[str, object]:
    out = msgspec.structs.asdict(decision)  # type: ignore[arg-type]
    out.pop("digest_cache")
    return out


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(FIELDS), max_size=3, unique=True).map(tuple),
    st.sampled_from([("high",), ("high", "critical"), ("low", "high")]),
    intents,
)
def test_inline_check_gives_the_functions_decision(
    required: tuple[str, ...], risk: tuple[str, ...], intent: Intent
) -> None:
    compiled = _compiled(required, risk)
    rt = _runtime(compiled)  # type: ignore[arg-type]
    fast = evaluate(compiled, intent, prepare=False)  # type: ignore[arg-type]
    saved = rt.fc_targets_only
    rt.fc_targets_only = False  # every intent through _fail_closed
    try:
        general = evaluate(compiled, intent, prepare=False)  # type: ignore[arg-type]
    finally:
        rt.fc_targets_only = saved
    assert _fields(fast) == _fields(general)


def test_flag_reads_the_required_fields() -> None:
    assert _runtime(_compiled(("targets",), ("high",))).fc_targets_only is True  # type: ignore[arg-type]
    assert _runtime(_compiled(("endpoint_class",), ("high",))).fc_targets_only is True  # type: ignore[arg-type]
    for other in ("arg_provenance", "delegation", "context_evidence"):
        rt = _runtime(_compiled(("targets", other), ("high",)))  # type: ignore[arg-type]
        assert rt.fc_targets_only is False


def test_unclassified_target_still_blocks_on_a_built_runtime() -> None:
    compiled = _compiled(("targets",), ("high",))
    _runtime(compiled)  # type: ignore[arg-type]
    ctx = Context(identity="b", workspace="/w", risk_class="high")
    for cls in ("", "other"):
        intent = Intent(
            tool_name="fs.read",
            args={},
            context=ctx,
            targets=(_target("path", cls, False),),
        )
        d = evaluate(compiled, intent)  # type: ignore[arg-type]
        assert d.verdict == "block"
        assert "fail_closed_endpoint_class_unknown" in d.reason_codes
    ok = Intent(
        tool_name="fs.read", args={}, context=ctx, targets=(_target("path", "fs.read", False),)
    )
    assert evaluate(compiled, ok).verdict == "allow"  # type: ignore[arg-type]
