"""``gait policy compile --emit yaml``: the YAML twin of a policy, whatever its source.

What must hold, on every shipped policy, every .gaitpol of the test corpora and
generated policies:

* ``.gaitpol -> --emit yaml -> compile`` gives the same ``policy_digest``;
* ``yaml -> --emit dsl -> --emit yaml`` gives the text ``policy fmt`` prints for
  the original, except the original's comments: the canonical DSL carries none,
  so the YAML at the end of the trip has none either;
* ``policy test`` decides every shipped intent the same on a policy and its twins.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.cli.main import main
from gait.errors import PolicyError
from gait.policy import compile_policy, load_policy_source
from gait.policy.digest import policy_digest
from gait.policy.dsl import render_dsl
from gait.policy.emit_yaml import emit_yaml
from gait.policy.fmt import format_policy, format_source
from tests.policy.test_properties import policy_strategy

REPO = Path(__file__).resolve().parents[2]

SHIPPED_YAML = sorted(
    {
        *REPO.glob("policies/*.yaml"),
        *REPO.glob("examples/policy/*.yaml"),
        *REPO.glob("examples/integrations/policies/*.yaml"),
        REPO / "examples" / "prompt-injection" / "policy.yaml",
        REPO / "tests" / "engine" / "data" / "running_example" / "policy.yaml",
        REPO / "tests" / "engine" / "data" / "running_example" / "baseline.yaml",
        REPO / "tests" / "policy" / "data" / "every_key.yaml",
    }
)


def _valid_dsl(path: Path) -> bool:
    # Error-message corpora hold broken files on purpose: only policies have twins.
    try:
        load_policy_source(path.read_bytes(), str(path), "dsl")
    except PolicyError:
        return False
    return True


DSL_CORPUS = sorted(
    p
    for p in {*REPO.glob("tests/**/*.gaitpol"), *REPO.glob("examples/**/*.gaitpol")}
    if _valid_dsl(p)
)
INTENTS = sorted(
    {
        *REPO.glob("examples/policy/intents/*.json"),
        *REPO.glob("examples/prompt-injection/intent_*.json"),
        *REPO.glob("tests/engine/data/running_example/fixtures/*.json"),
    }
)


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, out
    return code, json.loads(out)


def emitted(capsys: pytest.CaptureFixture[str], path: Path, emit: str) -> str:
    code, out = cli_json(capsys, "policy", "compile", str(path), "--emit", emit)
    assert code == 0, out
    return str(out[emit])


def digest_of(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    code, out = cli_json(capsys, "policy", "validate", str(path))
    assert code == 0, out
    return str(out["policy_digest"])


def decisions(capsys: pytest.CaptureFixture[str], policy: Path) -> list[tuple[Any, ...]]:
    rows = []
    for intent in INTENTS:
        code, out = cli_json(capsys, "policy", "test", str(policy), str(intent))
        rows.append(
            (
                intent.name,
                code,
                out.get("verdict"),
                out.get("reason_codes"),
                out.get("violations"),
                out.get("matched_rule"),
                out.get("error"),
            )
        )
    return rows


def test_corpora_are_not_empty() -> None:
    assert len(SHIPPED_YAML) >= 10
    assert REPO / "tests" / "policy" / "data" / "handwritten.gaitpol" in DSL_CORPUS
    assert len(INTENTS) >= 9


# ------------------------------------------------------------ .gaitpol -> yaml ---


@pytest.mark.parametrize("source", DSL_CORPUS, ids=rel)
def test_dsl_twin_has_the_same_digest_and_decisions(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = emitted(capsys, source, "yaml")
    twin = tmp_path / (source.stem + ".yaml")
    twin.write_text(text, encoding="utf-8")
    assert digest_of(capsys, twin) == digest_of(capsys, source)
    # the twin is fmt-clean and its own --emit yaml
    assert cli_json(capsys, "policy", "fmt", str(twin), "--check")[0] == 0
    assert emitted(capsys, twin, "yaml") == text
    assert decisions(capsys, twin) == decisions(capsys, source)


# ------------------------------------------------------------ yaml -> dsl -> yaml ---


def _without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("source", SHIPPED_YAML, ids=rel)
def test_yaml_through_dsl_comes_back_as_fmt_prints_it(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsl = tmp_path / (source.stem + ".gaitpol")
    dsl.write_text(emitted(capsys, source, "dsl"), encoding="utf-8")
    back = emitted(capsys, dsl, "yaml")
    code, fmt = cli_json(capsys, "policy", "fmt", str(source))
    assert code == 0
    # Shipped policies have full-line comments only: the trip loses exactly those.
    assert back == _without_comments(fmt["formatted"])
    # A YAML source's own --emit yaml is its fmt output, comments included.
    assert emitted(capsys, source, "yaml") == fmt["formatted"]
    yaml_twin = tmp_path / (source.stem + ".yaml")
    yaml_twin.write_text(back, encoding="utf-8")
    want = digest_of(capsys, source)
    assert digest_of(capsys, dsl) == want
    assert digest_of(capsys, yaml_twin) == want
    assert decisions(capsys, dsl) == decisions(capsys, source)


def test_decisions_cover_every_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    # the twin comparisons above mean something only if the intents reach each outcome
    seen = set()
    for source in SHIPPED_YAML:
        seen.update(row[2] for row in decisions(capsys, source))
    assert {"allow", "block", "require_approval"} <= seen


# ------------------------------------------------------------ comments of a .gaitpol ---

COMMENTED = """\
# gait policy (canonical DSL)
# Team policy. Reviewed weekly.
policy {
  default_verdict block  # deny unless a rule allows
}

# Reads are fine.
rule "read" priority 20 => allow {  # the common case
  match {
    # only this tool
    tool_names ["fs.read"]  # exact name
  }
}

rule "egress" priority 10 => block {
  match {
    target_kinds [
      "url",  # item comments go above the next key
      "host",
    ]
    provenance_sources ["external"]
  }
  reason_codes ["egress # not a comment"]
}
# end of file
"""


def test_dsl_comments_land_next_to_their_keys() -> None:
    policy, text = emit_yaml(COMMENTED.encode(), "c.gaitpol", "dsl")
    assert text == (
        "# Team policy. Reviewed weekly.\n"
        "schema_id: gait.gate.policy\n"
        "schema_version: 1.0.0\n"
        "default_verdict: block  # deny unless a rule allows\n"
        "rules:\n"
        "  - name: egress\n"
        "    priority: 10\n"
        "    effect: block\n"
        "    match:\n"
        "      target_kinds: [host, url]\n"
        "      # item comments go above the next key\n"
        "      provenance_sources: [external]\n"
        '    reason_codes: ["egress # not a comment"]\n'
        "  # Reads are fine.\n"
        "  - name: read  # the common case\n"
        "    priority: 20\n"
        "    effect: allow\n"
        "    match:\n"
        "      # only this tool\n"
        "      tool_names: [fs.read]  # exact name\n"
        "# end of file\n"
    )
    assert load_policy_source(text.encode(), "c.yaml", "yaml") == policy


def test_handwritten_dsl_as_yaml(snapshot) -> None:
    source = REPO / "tests" / "policy" / "data" / "handwritten.gaitpol"
    policy, text = emit_yaml(source.read_bytes(), str(source), "dsl")
    assert text.startswith("# A policy written directly in the DSL")
    assert text == snapshot
    assert policy_digest(load_policy_source(text.encode(), "h.yaml", "yaml")) == policy_digest(
        policy
    )


def test_comment_characters_yaml_cannot_hold_are_escaped() -> None:
    dsl = 'policy { default_verdict allow }  # a\u2028b: c\x01\x85d\r\nrule "r" => block {}\n'
    policy, text = emit_yaml(dsl.encode(), "c.gaitpol", "dsl")
    assert "# a\\u2028b: c\\u0001\\u0085d" in text
    assert yaml.safe_load(text)["default_verdict"] == "allow"
    assert load_policy_source(text.encode(), "c.yaml", "yaml") == policy


# ------------------------------------------------------------ generated policies ---

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

flow_condition = st.fixed_dictionaries(
    {},
    optional={
        "tool_names": st.lists(st.sampled_from(["fs.read", "Net.Fetch", "db.query"]), max_size=2),
        "sensitivity": st.lists(st.sampled_from(["secret", "internal"]), max_size=2),
        "same_target": st.booleans(),
        "within": st.sampled_from(["90s", "10m", "1h30m"]),
        "min_count": st.integers(1, 3),
    },
)


@st.composite
def policies_with_flow(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(policy_strategy)
    for rule in doc["rules"]:
        for key in ("after", "not_after"):
            if draw(st.booleans()):
                conditions = draw(st.lists(flow_condition, min_size=1, max_size=2))
                rule.setdefault("match", {})[key] = conditions
    return doc


def to_yaml(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@SETTINGS
@given(policies_with_flow())
def test_generated_yaml_through_dsl_is_fmt_output(doc: dict[str, Any]) -> None:
    source = to_yaml(doc)
    policy, formatted = format_source(source, "g.yaml", "yaml")
    dsl = render_dsl(policy).encode()
    twin_policy, twin = emit_yaml(dsl, "g.gaitpol", "dsl")
    assert twin == formatted  # generated YAML has no comments to lose
    assert twin_policy == policy
    assert (
        compile_policy(twin.encode(), path="t.yaml").policy_digest
        == compile_policy(dsl, path="g.gaitpol").policy_digest
    )


@SETTINGS
@given(policies_with_flow())
def test_generated_full_form_is_fmt_full(doc: dict[str, Any]) -> None:
    policy, full = format_source(to_yaml(doc), "g.yaml", "yaml", full=True)
    twin_policy, twin = emit_yaml(render_dsl(policy).encode(), "g.gaitpol", "dsl", full=True)
    assert (twin, twin_policy) == (full, policy)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_HEADER = re.compile(
    r'^rule ("(?:[^"\\]|\\.)*")((?: priority -?[0-9]+)?)(?: => ([a-z_]+))? \{', re.M
)


def restyle(text: str, policy: Any, draw: st.DrawFn) -> str:
    """Canonical DSL rewritten as an author might: bare words, header fields in the
    body, trailing commas, everything on one line; the same policy either way."""
    from gait.policy import model

    reserved = {"policy", "rule", "true", "false", "null", "allow", "block", "dry_run"}
    reserved |= {"require_approval"}
    for cls in vars(model).values():
        if isinstance(cls, type) and cls.__module__ == model.__name__:
            reserved |= set(cls.__struct_fields__)
    rule_lines = text.split("\n")
    out = []
    for line in rule_lines:
        head = _HEADER.match(line)
        if head and draw(st.booleans()):
            body = []
            if head.group(2):
                body.append(head.group(2).strip())
            if head.group(3):
                body.append(f"effect {head.group(3)}")
            line = f"rule {head.group(1)} {{ {' '.join(body)}" + line[head.end() :]
        if not line.startswith("rule ") and draw(st.booleans()):

            def bare(m: re.Match[str]) -> str:
                word = m.group(1)
                ok = _WORD.fullmatch(word) and word not in reserved
                return word if ok else m.group(0)

            line = _QUOTED.sub(bare, line)
        if line.rstrip().endswith("]") and "[" in line and draw(st.booleans()):
            line = line.rstrip()[:-1] + ",]" if not line.rstrip().endswith("[]") else line
        out.append(line)
    joiner = draw(st.sampled_from(["\n", " ", "\n\n  "]))
    return joiner.join(line for line in out if not line.startswith("#"))


@SETTINGS
@given(policies_with_flow(), st.data())
def test_author_styled_dsl_has_a_faithful_yaml_twin(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    policy = load_policy_source(to_yaml(doc), "g.yaml", "yaml")
    styled = restyle(render_dsl(policy), policy, data.draw)
    twin_policy, twin = emit_yaml(styled.encode(), "s.gaitpol", "dsl")
    assert twin_policy == policy, styled
    assert twin == format_policy(policy)
    assert (
        compile_policy(twin.encode(), path="t.yaml").policy_digest
        == compile_policy(styled.encode(), path="s.gaitpol").policy_digest
        == policy_digest(policy)
    )


comment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\n"),
    max_size=12,
)


@SETTINGS
@given(
    policies_with_flow(),
    st.lists(st.tuples(st.integers(0, 400), st.booleans(), comment_text), max_size=6),
)
def test_generated_dsl_comments_all_reach_the_yaml(
    doc: dict[str, Any], marks: list[tuple[int, bool, str]]
) -> None:
    policy = load_policy_source(to_yaml(doc), "g.yaml", "yaml")
    lines = render_dsl(policy).rstrip("\n").split("\n")
    tags = []
    for n, (i, trailing, extra) in enumerate(marks):
        i %= len(lines)
        tag = f"#c{n}x"
        if trailing:
            lines[i] += f"  {tag} {extra}"
        else:
            lines.insert(i, f"{tag} {extra}")
        tags.append(tag)
    source = ("\n".join(lines) + "\n").encode()
    twin_policy, text = emit_yaml(source, "g.gaitpol", "dsl")
    assert twin_policy == policy
    for tag in tags:
        assert re.search(rf"^\s*(\S.*\s)?{tag}\b", text, re.MULTILINE), (tag, text)
    assert load_policy_source(text.encode(), "t.yaml", "yaml") == policy
    assert format_source(text.encode(), "t.yaml", "yaml")[1] == text  # fmt-clean
    # without its comments the twin is the comment-free canonical YAML
    assert yaml.safe_load(text) == yaml.safe_load(format_policy(policy))


# ------------------------------------------------------------ CLI ---


def test_compile_emit_yaml_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    source = REPO / "tests" / "policy" / "data" / "handwritten.gaitpol"
    code, out = cli_json(capsys, "policy", "compile", str(source), "--emit", "yaml")
    assert code == 0
    assert set(out) - {"correlation_id"} == {
        "ok",
        "path",
        "policy_digest",
        "source_digest",
        "rule_count",
        "yaml",
    }
    assert (out["ok"], out["rule_count"], out["path"]) == (True, 3, str(source))
    code, dsl_out = cli_json(capsys, "policy", "compile", str(source))
    assert dsl_out["policy_digest"] == out["policy_digest"]
    assert dsl_out["source_digest"] == out["source_digest"]


def test_compile_emit_yaml_text_is_the_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    source = REPO / "examples" / "policy" / "base_low_risk.yaml"
    assert main(["policy", "compile", str(source), "--emit", "yaml"]) == 0
    text = capsys.readouterr().out
    assert text == source.read_text(encoding="utf-8")  # shipped policies are fmt-clean


def test_compile_full_matches_fmt_full(capsys: pytest.CaptureFixture[str]) -> None:
    source = REPO / "tests" / "policy" / "data" / "every_key.yaml"
    code, out = cli_json(capsys, "policy", "compile", str(source), "--emit", "yaml", "--full")
    assert code == 0
    code, fmt = cli_json(capsys, "policy", "fmt", str(source), "--full")
    assert out["yaml"] == fmt["formatted"]
    assert "max_delegation_depth: 0" in out["yaml"]


@pytest.mark.parametrize("emit", ["dsl", "ir"])
def test_full_without_emit_yaml_is_invalid_input(
    emit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = REPO / "examples" / "policy" / "base_low_risk.yaml"
    code, out = cli_json(capsys, "policy", "compile", str(source), "--emit", emit, "--full")
    assert (code, out["error"]) == (6, f"--full applies to --emit yaml, not --emit {emit}")


def test_compile_emit_yaml_bad_source_is_exit_6(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.gaitpol"
    bad.write_text('rule "r" => block {\n  match { tool_names ["x"] \n', encoding="utf-8")
    code, out = cli_json(capsys, "policy", "compile", str(bad), "--emit", "yaml")
    assert code == 6
    assert "bad.gaitpol" in out["error"] or "parse policy dsl" in out["error"]


def test_compile_help_names_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "compile", "--help"]) == 0
    out = capsys.readouterr().out
    assert "[dsl|yaml|ir]" in out
    assert "--full" in out


def test_policy_cli_doc_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (REPO / "docs" / "policy-cli.md").read_text(encoding="utf-8")
    found = re.search(
        r"\$ cat guard\.gaitpol\n(.*?)\$ gait policy compile guard\.gaitpol --emit yaml "
        r"> guard\.yaml\n\$ cat guard\.yaml\n(.*?)```",
        doc,
        re.DOTALL,
    )
    assert found, "docs/policy-cli.md lost its --emit yaml example"
    monkeypatch.chdir(tmp_path)
    Path("guard.gaitpol").write_text(found.group(1), encoding="utf-8")
    assert main(["policy", "compile", "guard.gaitpol", "--emit", "yaml"]) == 0
    assert capsys.readouterr().out == found.group(2)
