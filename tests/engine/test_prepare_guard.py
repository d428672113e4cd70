"""evaluate calls prepare_intent only when the context carries evidence claims.

The guard must skip exactly the intents prepare_intent would return unchanged.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.engine import evaluate
from gait.intent import prepare_intent
from gait.intent.model import Context, Intent, Target
from gait.policy import compile_policy

POLICY = compile_policy(
    """\
default_verdict: block
rules:
  - name: reads
    effect: allow
    match:
      tool_names: [fs.read]
  - name: fresh-context
    effect: allow
    match:
      tool_names: [fs.write]
    require_context_evidence: true
    max_context_age_seconds: 60
""",
    use_cache=False,
)

contexts = st.builds(
    Context,
    identity=st.just("bot"),
    workspace=st.just("/w"),
    risk_class=st.just("low"),
    context_set_digest=st.sampled_from(["", "a" * 64]),
    context_evidence_mode=st.sampled_from(["", "required", "best_effort"]),
    context_refs=st.sampled_from([(), ("ref:1",)]),
    auth_context=st.sampled_from([None, {}, {"k": "v"}, {"context_age_seconds": 5}]),
)


@settings(max_examples=200, deadline=None)
@given(contexts, st.sampled_from(["fs.read", "fs.write"]))
def test_guarded_prepare_decides_as_always_preparing(context: Context, tool: str) -> None:
    intent = Intent(
        tool_name=tool,
        args={},
        context=context,
        targets=(Target(kind="path", value="/x", endpoint_class="fs.read"),),
    )
    prepared = prepare_intent(intent)
    decided = evaluate(POLICY, intent)
    assert decided == evaluate(POLICY, prepared, prepare=False)
    assert decided.intent == prepared
