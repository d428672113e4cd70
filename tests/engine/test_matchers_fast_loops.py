"""Target and provenance matchers loop in C (isdisjoint over map); same answers as any()."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.engine.matchers import build_matcher
from gait.intent.model import ArgProvenance, Context, Intent, Target
from gait.policy.ir import PROVENANCE_SOURCE, TARGET_FIELDS, Predicate

WORDS = st.sampled_from(["", "path", "url", "fs.read", "net.http", "read", "secret", "user"])


@st.composite
def targets(draw: st.DrawFn) -> Target:
    return Target(
        kind=draw(WORDS),
        value=draw(WORDS),
        operation=draw(WORDS),
        sensitivity=draw(WORDS),
        endpoint_class=draw(WORDS),
        discovery_method=draw(WORDS),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(targets(), max_size=3),
    st.lists(WORDS, max_size=3),
    st.frozensets(WORDS, max_size=3),
    st.sampled_from(sorted(TARGET_FIELDS)),
)
def test_matchers_agree_with_a_scan(
    found: list[Target], sources: list[str], values: frozenset[str], subject: str
) -> None:
    intent = Intent(
        tool_name="t",
        args={},
        context=Context(identity="i", workspace="/w", risk_class="low"),
        targets=tuple(found),
        arg_provenance=tuple(ArgProvenance(arg_path="$.a", source=s) for s in sources),
    )
    field = TARGET_FIELDS[subject]
    target_match = build_matcher(Predicate(subject=subject, values=values), None)
    assert target_match(intent) is any(getattr(t, field) in values for t in found)
    source_match = build_matcher(Predicate(subject=PROVENANCE_SOURCE, values=values), None)
    assert source_match(intent) is any(s in values for s in sources)
