"""The gate's shortcut (sign the built record without projecting it again) signs the same bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.signing import generate_keypair
from gait.trace.record import build_trace_record, project_trace, sign_built_trace, sign_trace

KEY = generate_keypair()
words = st.text(alphabet="abc é_-.", max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    verdict=st.sampled_from(["allow", "block", "require_approval", "dry_run"]),
    violations=st.lists(words, max_size=3),
    latency=st.floats(min_value=-1, max_value=1e6, allow_nan=False),
    created=st.sampled_from(["", "2026-01-02T03:04:05.120Z", "2026-01-02T04:04:05+01:00"]),
    steps=st.lists(
        st.fixed_dictionaries(
            {
                "index": st.integers(0, 3),
                "tool_name": words,
                "verdict": words,
                "matched_rule": words,
            }
        ),
        max_size=2,
    ),
    flow=st.lists(words, max_size=2),
    script=st.booleans(),
)
def test_built_record_is_its_own_projection(
    verdict, violations, latency, created, steps, flow, script
):
    record = build_trace_record(
        policy_digest="p" * 64,
        intent_digest="i" * 64,
        args_digest="a" * 64,
        tool_name="tool.read",
        verdict=verdict,
        created_at=created or None,
        observed_at="2026-12-01T00:00:00.5Z",
        violations=violations,
        latency_ms=round(latency, 3),
        step_verdicts=steps,
        flow_refs=flow,
        script=script,
        delegation_ref={"delegation_token_ref": "d", "chain_digest": "c"} if script else None,
    )
    assert project_trace(record) == record
    assert list(project_trace(record)) == list(record)  # same field order, so same file bytes
    assert sign_built_trace(record, KEY) == sign_trace(record, KEY)
