"""The YAML reader's plain walk against its walk with positions.

``load_yaml`` builds values without positions and reads positions and raw
scalar texts again only when asked; both must be exactly what the walk with
positions gives, and every irregular document must still get its located error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gait.errors import PolicyError
from gait.policy.compiler import load_policy_source
from gait.policy.source import _walk_with_positions, load_yaml

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *(REPO / "examples" / "policy").glob("*.yaml"),
        *(REPO / "policies").glob("*.yaml"),
        *(Path(__file__).parent / "data").glob("*.yaml"),
    ]
)
ODD = """\
a: &x {k: [1, 2.5, true, NULL, nULL, yes, "7", '8', 0x1F, .inf, ~]}
b: *x
c: !!str 12
d: |
  text
e: 12345678901234567890
"""


@pytest.mark.parametrize("path", [*SOURCES, None], ids=lambda p: p.name if p else "odd")
def test_values_positions_and_texts_match_the_walk_with_positions(path: Path | None) -> None:
    text = path.read_text() if path else ODD
    value, positions, texts = load_yaml(text, "p.yaml")
    slow = _walk_with_positions(yaml.compose(text, Loader=yaml.CSafeLoader), "p.yaml")
    assert value == slow[0]
    assert dict(positions) == slow[1] and len(positions) == len(slow[1])
    assert dict(texts) == slow[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", 'mapping key "a" already defined at line 1'),
        ("a: &x [*x]\n", "recursive alias"),
        ("<<: {a: 1}\n", "merge keys (<<) are not supported"),
        ("? [a]\n: 1\n", "mapping keys must be scalars"),
        ("a: " + "9" * 5000 + "\n", "digits"),
    ],
)
def test_irregular_documents_get_located_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        load_yaml(text, "p.yaml")
    assert message in str(err.value)
    assert err.value.location is not None and err.value.location.line >= 1


def test_a_type_error_deep_in_a_policy_names_line_and_field() -> None:
    rules = "".join(f"  - name: r{i}\n    effect: allow\n" for i in range(50))
    text = "schema_id: gait.gate.policy\nschema_version: 1.0.0\nrules:\n" + rules
    text += "  - name: bad\n    effect: allow\n    priority: [1]\n"
    with pytest.raises(PolicyError) as err:
        load_policy_source(text.encode(), "p.yaml", "yaml")
    loc = err.value.location
    assert (loc.line, loc.field) == (106, "rules[50].priority")


def test_a_number_in_a_string_field_keeps_its_source_text() -> None:
    text = "schema_id: gait.gate.policy\nschema_version: 1.0.0\nrules:\n"
    text += "  - name: 0x10\n    effect: allow\n"
    policy = load_policy_source(text.encode(), "p.yaml", "yaml")
    assert policy.rules[0].name == "0x10"
