"""The fail-closed shortcut (every requirement holds) agrees with the full check."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.engine.evaluate import _fail_closed, _fail_closed_general
from gait.intent.model import ArgProvenance, Context, Delegation, Intent, Target
from gait.policy.ir import FailClosedIR

FIELDS = ["targets", "arg_provenance", "endpoint_class", "delegation", "context_evidence", "x"]

configs = st.builds(
    FailClosedIR,
    enabled=st.booleans(),
    risk_classes=st.sampled_from([frozenset({"high"}), frozenset({"high", "low"}), frozenset()]),
    required_fields=st.lists(st.sampled_from(FIELDS), max_size=4, unique=True).map(tuple),
)
targets = st.lists(
    st.builds(
        Target,
        kind=st.just("path"),
        value=st.just("/x"),
        endpoint_class=st.sampled_from(["", "other", "fs.read", "net.http"]),
    ),
    max_size=2,
).map(tuple)
intents = st.builds(
    Intent,
    tool_name=st.just("t"),
    args=st.just({}),
    context=st.builds(
        Context,
        identity=st.just("bot"),
        workspace=st.just("/w"),
        risk_class=st.sampled_from(["low", "high"]),
        context_set_digest=st.sampled_from(["", "a" * 64]),
    ),
    targets=targets,
    arg_provenance=st.sampled_from([(), (ArgProvenance(arg_path="$", source="user"),)]),
    delegation=st.sampled_from([None, Delegation(requester_identity="r")]),
)


@settings(max_examples=500, deadline=None)
@given(configs, intents)
def test_shortcut_agrees_with_the_full_check(fc: FailClosedIR, intent: Intent) -> None:
    ir = SimpleNamespace(fail_closed=fc)
    assert _fail_closed(ir, intent) == _fail_closed_general(ir, intent)  # type: ignore[arg-type]


def test_every_requirement_combination_agrees() -> None:
    # exhaustive where the shortcut applies: enabled, the intent's risk class listed
    def target(endpoint_class: str) -> Target:
        return Target(kind="path", value="/x", endpoint_class=endpoint_class)

    target_sets = [(), (target("fs.read"),), (target(""),), (target("other"),)]
    target_sets.append((target("fs.read"), target("")))
    checked = 0
    for mask in range(1 << len(FIELDS)):
        required = tuple(f for i, f in enumerate(FIELDS) if mask >> i & 1)
        ir = SimpleNamespace(
            fail_closed=FailClosedIR(
                enabled=True, risk_classes=frozenset({"high"}), required_fields=required
            )
        )
        for digest in ("", "a" * 64):
            context = Context(
                identity="b", workspace="/w", risk_class="high", context_set_digest=digest
            )
            for tset in target_sets:
                for prov in ((), (ArgProvenance(arg_path="$", source="user"),)):
                    for delegation in (None, Delegation(requester_identity="r")):
                        intent = Intent(
                            tool_name="t",
                            args={},
                            context=context,
                            targets=tset,
                            arg_provenance=prov,
                            delegation=delegation,
                        )
                        assert _fail_closed(ir, intent) == _fail_closed_general(ir, intent)  # type: ignore[arg-type]
                        checked += 1
    assert checked == 64 * 2 * 5 * 2 * 2
