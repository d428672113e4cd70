"""decode_policy decodes a mapping directly when msgspec takes it as it is.

The Go-semantics pass (``_prepare``) must then have nothing to change: a
mapping that converts directly converts to the same policy after the pass.
Mappings the direct convert refuses go through the pass as before.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import PolicyError
from gait.policy.model import Policy
from gait.policy.source import _prepare, decode_policy

ODD_SCALARS = [None, "", "yes", "No", "on", "0", "1.5", "x", 0, 7, -1, 1.5, True, False]


def values_for(typ: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    odd = st.sampled_from(ODD_SCALARS)
    if isinstance(typ, mi.StructType):
        if depth > 3:
            return odd
        fields = {f.encode_name: f.type for f in typ.fields}
        keyed = st.fixed_dictionaries(
            {}, optional={name: values_for(sub, depth + 1) for name, sub in fields.items()}
        )
        return st.one_of(keyed, keyed, odd, st.just({"unknown_key": 1}))
    if isinstance(typ, mi.VarTupleType):
        return st.one_of(st.lists(values_for(typ.item_type, depth + 1), max_size=3), odd)
    if isinstance(typ, mi.UnionType):
        return st.one_of(*(values_for(t, depth) for t in typ.types), odd)
    if isinstance(typ, mi.StrType):
        return st.one_of(st.sampled_from(["a", "allow", "fs.read", "1.0.0"]), odd)
    return odd


POLICY_INFO = mi.type_info(Policy)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values_for(POLICY_INFO))
def test_a_direct_convert_equals_the_convert_after_the_go_pass(raw: Any) -> None:
    try:
        direct = msgspec.convert(raw, Policy)
    except msgspec.ValidationError:
        return
    assert msgspec.convert(_prepare(raw, POLICY_INFO, (), {}), Policy) == direct


@pytest.mark.parametrize(
    ("raw", "field", "want"),
    [
        ({"fail_closed": {"enabled": "yes"}}, "fail_closed", True),
        ({"fail_closed": None}, "fail_closed", False),
        ({"rules": [{"name": "r", "match": None}]}, "rules", "r"),
    ],
)
def test_what_strict_decoding_refuses_still_gets_the_go_pass(
    raw: Any, field: str, want: Any
) -> None:
    policy = decode_policy(raw, {}, {}, "p.yaml")
    got = getattr(policy, field)
    assert (got.enabled if field == "fail_closed" else got[0].name) == want


def test_errors_still_come_from_the_go_pass() -> None:
    with pytest.raises(PolicyError, match=r"integer was used where string is expected"):
        decode_policy({"rules": [{"name": 5}]}, {}, {}, "p.yaml")
