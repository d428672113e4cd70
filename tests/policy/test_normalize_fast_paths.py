"""normalize's shortcuts for unset sections give what the full path gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gait.errors import PolicyError
from gait.policy.model import Dataflow, Endpoint, Limit, Match
from gait.policy.normalize import (
    _normalize_dataflow,
    _normalize_endpoint,
    _normalize_limit,
    _normalize_match,
)


def _fail(message: str, path: object = None) -> PolicyError:
    return PolicyError(message)


def test_unset_sections_normalize_to_themselves_on_the_full_path() -> None:
    # Lists instead of tuples are not equal to the defaults, so these take the full path.
    assert _normalize_endpoint(Endpoint(path_allowlist=[]), "r", (), _fail) == Endpoint()
    assert _normalize_dataflow(Dataflow(tainted_sources=[]), "r", (), _fail) == Dataflow()
    assert _normalize_limit(Limit(window=" "), "rate_limit", "r", (), _fail) == Limit()
    assert _normalize_limit(Limit(scope=" "), "destructive_budget", "r", (), _fail) == Limit()


words = st.lists(st.sampled_from(["", " ", "A", " b ", "fs.Read", "x", "Y "]), max_size=4)


@given(
    tool_names=words, risk=words, values=words, ids=words, tool_name=st.sampled_from(["", " T "])
)
def test_match_fields_as_list_or_tuple_normalize_alike(
    tool_name: str, tool_names: list[str], risk: list[str], values: list[str], ids: list[str]
) -> None:
    as_lists = Match(
        tool_name=tool_name,
        tool_names=tool_names,
        risk_classes=risk,
        target_values=values,
        identities=ids,
    )
    as_tuples = Match(
        tool_name=tool_name,
        tool_names=tuple(tool_names),
        risk_classes=tuple(risk),
        target_values=tuple(values),
        identities=tuple(ids),
    )
    a = _normalize_match(as_lists, "r", (), _fail)
    b = _normalize_match(as_tuples, "r", (), _fail)
    assert a == b
    assert a.risk_classes == tuple(sorted({r.strip().lower() for r in risk if r.strip()}))
    assert a.identities == tuple(sorted({i.strip() for i in ids if i.strip()}))
    assert type(a.target_values) is tuple


def test_tool_annotations_is_set_on_every_combination() -> None:
    import itertools

    from gait.policy.model import ToolAnnotations

    for combo in itertools.product([None, True, False], repeat=4):
        hints = ToolAnnotations(
            readOnlyHint=combo[0],
            destructiveHint=combo[1],
            idempotentHint=combo[2],
            openWorldHint=combo[3],
        )
        assert hints.is_set() == any(v is not None for v in combo)
