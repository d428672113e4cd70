"""The libyaml-free reader of plain policies against the full YAML reader.

``_yaml_lite.read`` either gives exactly the values the libyaml walk gives
(same types: True is not 1) or declines with None; it never accepts a text the
full reader refuses.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gait.policy.source as source
from gait.errors import PolicyError
from gait.policy import _yaml_lite

REPO = Path(__file__).resolve().parents[2]
ERROR = object()


def full_read(text: str) -> Any:
    """What load_yaml gave before the lite reader: the libyaml walk, or ERROR."""
    try:
        node = source._compose(yaml, text, yaml.CSafeLoader, "p.yaml")
        if node is None:
            return {}
        try:
            return source._plain_values(node)
        except source._Irregular:
            return source._walk_with_positions(node, "p.yaml")[0]
    except PolicyError:
        return ERROR


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def check(text: str) -> Any:
    lite = _yaml_lite.read(text, source._MAX_NODES)
    if lite is not None:
        full = full_read(text)
        assert full is not ERROR, f"lite reader accepted a text libyaml refuses: {text!r}"
        assert same(lite, full), f"{text!r}: lite {lite!r} != full {full!r}"
    return lite


def repo_yaml() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    return [REPO / f for f in out.stdout.split() if f.endswith((".yaml", ".yml"))]


@pytest.mark.parametrize("path", repo_yaml(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_of_the_repository_reads_the_same(path: Path) -> None:
    check(path.read_text(encoding="utf-8").removeprefix("\ufeff"))


@pytest.mark.parametrize(
    "path",
    [
        *(REPO / "examples" / "policy").glob("*.yaml"),
        *(REPO / "policies").glob("*.yaml"),
        REPO / "tests" / "policy" / "data" / "every_key.yaml",
    ],
    ids=lambda p: p.name,
)
def test_shipped_policies_take_the_lite_reader(path: Path) -> None:
    assert check(path.read_text(encoding="utf-8")) is not None


SCALARS = [
    "a", "b c", "a  b", "true", "True", "TRUE", "tRUE", "false", "yes", "No", "on", "OFF", "y",
    "null", "Null", "nULL", "~", "0", "01", "-1", "+5", "-0", "0x1F", "0o17", "1_000", "1e5",
    "1.5", "-2.25", ".5", "1.", "1.0.0", ".inf", "-.inf", ".NaN", "2001-12-14", "=", "<<",
    "a:b", "a: b", "a:", "a #b", "a#b", "-a", "- a", "-", "--", "?a", ":a", "@a", "`a", "%a",
    "!a", "&a", "*a", "|", ">", "https://x.com/a", "/srv/**", "*.example.com", "it's",
    'say "hi"', "a,b", "[a]", "{a}", "a]", "\u00e9t\u00e9", "---", "...", "a\\b", "9" * 301,
    "x" * 40, "_k", "/p", "tool.read", "fs.write", "1:2", "k: [v]",
]  # fmt: skip
KEYS = ["a", "b", "name", "rules", "x-y", "k.v", "1", "true", "<<", "a b", "-k", "n/m", "é"]
# shapes the lite reader takes, for documents that mostly reach the comparison
EASY_SCALARS = ["a", "b c", "true", "False", "NULL", "0", "-1", "1.5", "1.0.0", "x:y", "/a/*"]
EASY_KEYS = ["a", "b", "name", "rules", "x-y", "k.v", "1"]


def render_scalar(draw: Any, value: str) -> str:
    style = draw(st.sampled_from(["plain", "plain", "single", "double"]))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value + '"'
    return value


def render_flow(draw: Any, closer: str, scalars: list[str], keys: list[str]) -> str:
    items = draw(st.lists(st.sampled_from(scalars), max_size=4))
    parts = []
    for item in items:
        text = render_scalar(draw, item)
        if closer == "}":
            text = f"{draw(st.sampled_from(keys))}:{draw(st.sampled_from([' ', '  ', '']))}{text}"
        parts.append(text)
    sep = draw(st.sampled_from([", ", ",", " , "]))
    opener = "[" if closer == "]" else "{"
    pad = draw(st.sampled_from(["", " "]))
    return opener + pad + sep.join(parts) + pad + closer


@st.composite
def documents(draw: Any, scalars: list[str] = SCALARS, keys: list[str] = KEYS) -> str:
    step = draw(st.integers(1, 4))
    lines: list[str] = []

    def tail() -> str:
        return draw(st.sampled_from(["", "", " ", "  # note", " #", "#x", " # \u00e9\u2028"]))

    def value_lines(indent: int, depth: int) -> tuple[str, list[str]]:
        """(text after "key:" / "- ", lines below)."""
        kind = draw(st.sampled_from(["scalar", "scalar", "flow", "fmap", "map", "seq", "empty"]))
        if depth > 3 and kind in ("map", "seq"):
            kind = "scalar"
        if kind == "scalar":
            return " " + render_scalar(draw, draw(st.sampled_from(scalars))) + tail(), []
        if kind == "flow":
            return " " + render_flow(draw, "]", scalars, keys) + tail(), []
        if kind == "fmap":
            return " " + render_flow(draw, "}", scalars, keys) + tail(), []
        if kind == "empty":
            return tail(), []
        if kind == "map":
            return tail(), mapping(indent + step, depth + 1)
        compact = draw(st.booleans())
        return tail(), sequence(indent if compact else indent + step, depth + 1)

    def mapping(indent: int, depth: int) -> list[str]:
        out = []
        for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4)):
            head, below = value_lines(indent, depth)
            out.append(" " * indent + key + ":" + head)
            if draw(st.integers(0, 9)) == 0:
                out.append(draw(st.sampled_from(["", "   ", "# c", "  # c"])))
            out.extend(below)
        return out

    def sequence(indent: int, depth: int) -> list[str]:
        out = []
        for _ in range(draw(st.integers(1, 3))):
            gap = " " * draw(st.integers(1, 2))
            if draw(st.booleans()):
                body = mapping(indent + 1 + len(gap), depth + 1)
                out.append(" " * indent + "-" + gap + body[0].lstrip(" "))
                out.extend(body[1:])
            else:
                head, below = value_lines(indent, depth)
                out.append(" " * indent + "-" + (head if head.startswith(" ") else gap + head))
                out.extend(below)
        return out

    lines = mapping(0, 0)
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
    # mutations: what a person mistypes
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["del", "ins", "dup"]))
        if edit == "del":
            text = text[:at] + text[at + 1 :]
        elif edit == "ins":
            ch = draw(st.sampled_from([" ", "\t", ":", "-", "#", "'", '"', "[", "]", "\n", "é", "\r", "{", "&", "*"]))  # fmt: skip
            text = text[:at] + ch + text[at:]
        else:
            parts = text.split("\n")
            i = draw(st.integers(0, len(parts) - 1))
            text = "\n".join([*parts[: i + 1], parts[i], *parts[i + 1 :]])
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents(), documents(EASY_SCALARS, EASY_KEYS)))
def test_generated_documents_read_the_same_or_are_declined(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: b\n",
        "rules:\n- name: x\n  effect: allow\n- name: y\n",
        "rules:\n  - name: x\n    match:\n      tool_names: [a, 'b', \"c\"]\n",
        "a: [https://x.com, /srv/**]\nb: {k: 1, j: 'x'}\nc: []\nd: {}\n",
        "a:\nb: ~x\nc: 1.5\nd: -3\ne: TRUE\nf: Null\n",
        "# é comment\na: b # trailing\n",
    ],
)
def test_plain_shapes_are_taken(text: str) -> None:
    assert check(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: !!str 12\n",
        "a: |\n  text\n",
        "a: b\n  c\n",
        "a: 'x\n  y'\n",
        'a: "x\\ty"\n',
        "a: [x,\n  y]\n",
        "a:\tb\n",
        "a: b\r\n",
        "a: é\n",
        "a: 1\na: 2\n",
        "<<: {a: 1}\n",
        "a: nULL\n",
        "a: 0o17\n",
        "a: 1e5\n",
        "a: [a, b,]\n",
        "- a\n",
        "---\na: b\n",
        "a: " + "9" * 400 + "\n",
        "a: '" + "9" * 400 + "'\n",
        "",
        "# only a comment\n",
        "k" * 1100 + ": 1\n",
        "a: {" + "k" * 1100 + ": 1}\n",
    ],
)
def test_other_shapes_are_left_to_libyaml(text: str) -> None:
    assert check(text) is None


def test_budgets_near_their_limit_are_left_to_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "rules:\n" + "".join(f"  - name: r{i}\n    effect: allow\n" for i in range(40))
    assert _yaml_lite.read(text, 1000) is not None
    assert _yaml_lite.read(text, 100) is None
    monkeypatch.setattr(source, "_MAX_NODES", 60)
    with pytest.raises(PolicyError, match="more than 60 nodes"):
        source.load_yaml(text, "p.yaml")


def test_a_plain_policy_compiles_without_loading_yaml() -> None:
    code = (
        "import sys\nfrom gait.policy import compile_policy\n"
        f"compile_policy(open({str(REPO / 'examples/policy/base_high_risk.yaml')!r}, 'rb').read(),"
        " path='p.yaml')\nprint('yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_deep_nesting_is_left_to_libyaml() -> None:
    text = "".join(" " * (2 * i) + f"k{i}:\n" for i in range(100)) + " " * 200 + "v: 1\n"
    assert check(text) is None
    value, _, _ = source.load_yaml(text, "p.yaml")
    assert "k0" in value
