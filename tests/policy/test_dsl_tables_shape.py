"""The fast DSL drivers read the generated LALR tables as they are.

They index ``_dsl_tables.STATES`` by state number and follow a rule's goto
without checking its sign; these tests hold the tables to that shape, and the
name typing per state to the plain per-action reading it replaced.
(tests/policy/test_fast_dsl.py compares whole parses with Lark's.)
"""

from __future__ import annotations

from gait.policy import _dsl_tables as t
from gait.policy import dsl


def test_states_are_numbered_in_order() -> None:
    assert list(t.STATES) == list(range(len(t.STATES)))
    assert 0 <= t.START < len(t.STATES)
    assert 0 <= t.END < len(t.STATES)


def test_every_code_names_a_state_or_a_rule() -> None:
    for actions in t.STATES.values():
        for code in actions.values():
            assert (0 <= code < len(t.STATES)) or (0 <= ~code < len(t.RULES))


def test_a_rules_goto_is_always_a_shift() -> None:
    origins = {origin for origin, *_ in t.RULES}
    seen = 0
    for actions in t.STATES.values():
        for kind, code in actions.items():
            if kind in origins:
                assert code >= 0, kind
                seen += 1
    assert seen > 100


def _names_per_action(actions: dict[str, int]) -> tuple[dict[str, str | None], str | None]:
    spelled: dict[str, str | None] = {}
    for kind in actions:
        for word in t.KEYWORDS.get(kind, ()):
            spelled[word] = kind if spelled.get(word, kind) == kind else None
    return spelled, ("WORD" if "WORD" in actions else None)


def test_name_typing_per_state_is_the_per_action_reading() -> None:
    states, names, start, end, rules = dsl._fast_tables()
    assert (start, end) == (t.START, t.END)
    assert len(names) == len(states) == len(t.STATES)
    for state, actions in t.STATES.items():
        assert states[state] is actions
        assert names[state] in (None, _names_per_action(actions))  # filled on first use
        assert dsl._names_at(names, state) == _names_per_action(actions)
        assert names[state] == _names_per_action(actions)
    model = dsl._model_tables()
    assert model[:4] == (states, names, start, end)  # shared; only the callbacks differ
    assert (
        [r[:2] for r in model[4]]
        == [r[:2] for r in rules]
        == [(size, origin) for origin, _name, size, _e, _k in t.RULES]
    )


def test_a_negative_goto_at_the_end_fails_closed() -> None:
    # _reduce_at_end refuses a goto that is not a shift instead of reading a wrong state
    states = ({"$END": -1}, {"x": -1})
    rules = ((1, "x", None),)
    assert dsl._reduce_at_end(states, rules, 99, [1, 0], ["v"], None) is None
