"""Wrkr inventory: parsing, enrichment of intents and script steps, fail-closed loading (trace.md §5.2 step 4)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError, InvalidInput
from gait.gate import Gate, GateOptions
from gait.gate.inventory import (
    WRKR_KEYS,
    InputUnavailable,
    InventorySource,
    WrkrInventory,
    fail_closed_for,
    load_inventory,
    parse_inventory,
)
from gait.gate.pipeline import INVENTORY_WARNING
from gait.intent import intent_digest
from gait.signing import verify_signature
from gait.signing.signature import record_digest

from .conftest import Keys, compile_text, gate, make_intent, norm, write_json

BLOCK_PII = """
default_verdict: allow
rules:
  - name: block-pii
    effect: block
    match:
      tool_names: [tool.write]
      context_data_classes: [pii]
"""

_FIELDS_T = ("data_class", "endpoint_class", "autonomy_level")
ITEM = {
    "tool_name": " Tool.Write ",
    "data_class": " PII ",
    "endpoint_class": "FS.Write",
    "autonomy_level": " Assist",
}


# ---------------------------------------------------------------- parsing


def test_items_envelope_and_bare_array_parse_the_same() -> None:
    wrapped = parse_inventory(b'{"items": [%s]}' % _json(ITEM))
    bare = parse_inventory(b"[%s]" % _json(ITEM))
    assert wrapped == bare
    ctx = wrapped["tool.write"]
    assert (ctx.tool_name, ctx.data_class, ctx.endpoint_class, ctx.autonomy_level) == (
        "tool.write",
        "pii",
        "fs.write",
        "assist",
    )


def test_nameless_items_are_skipped_later_items_win_unknown_keys_ignored() -> None:
    tools = parse_inventory(
        b'{"items": [{"tool_name": "  ", "data_class": "x"},'
        b'{"tool_name": "t", "data_class": "a"},'
        b'{"tool_name": "T", "data_class": "b", "owner": "team", "endpoint_class": null}]}'
    )
    assert list(tools) == ["t"]
    assert tools["t"].data_class == "b" and tools["t"].endpoint_class == ""
    assert parse_inventory(b'{"items": []}') == {}
    assert parse_inventory(b"[]") == {}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{not-json}", "parse wrkr inventory"),
        (b'{"tools": []}', 'an object with "items"'),
        (b'{"items": {"tool_name": "t"}}', "items must be an array"),
        (b'"text"', "inventory must be an array"),
        (b"[1]", "inventory[0] must be an object"),
        (b'{"items": [{"tool_name": "t", "data_class": 3}]}', "items[0].data_class must be"),
    ],
)
def test_invalid_inventories_name_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_inventory(data)
    assert fragment in str(err.value)
    assert str(err.value).startswith("parse wrkr inventory")


def test_load_names_the_file_and_refuses_non_regular_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"read wrkr inventory: open .*nope\.json: no such file"):
        load_inventory(str(tmp_path / "nope.json"))
    with pytest.raises(InvalidInput, match="read wrkr inventory"):
        load_inventory(str(tmp_path))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        load_inventory(str(fifo))  # must not block
    with pytest.raises(InvalidInput, match="path is required"):
        load_inventory("  ")


def test_source_rereads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    write_json(path, [{**ITEM, "data_class": "pii"}])
    source = InventorySource(str(path))
    first = source.load()
    assert source.load() is first  # unchanged file: cached
    write_json(path, [{**ITEM, "data_class": "secret-and-longer"}])
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert source.load().tools["tool.write"].data_class == "secret-and-longer"


def test_apply_adds_all_four_keys_and_keeps_other_auth_context() -> None:
    inventory = WrkrInventory("inv.json", parse_inventory(b"[%s]" % _json(ITEM)))
    intent = norm(make_intent(auth_context={"team": "ops"}))
    out = inventory.apply(intent)
    auth = out.context.auth_context or {}
    assert auth["team"] == "ops"
    assert [auth[k] for k in WRKR_KEYS] == ["tool.write", "pii", "fs.write", "assist"]
    assert intent.context.auth_context == {"team": "ops"}  # the input is not changed
    other = norm(make_intent("tool.read"))
    assert inventory.apply(other) is other


@pytest.mark.parametrize(
    ("profile", "risk", "closed"),
    [
        ("standard", "low", False),
        ("standard", "medium", False),
        ("standard", "high", True),
        ("standard", "Critical", True),
        ("oss-prod", "low", True),
    ],
)
def test_fail_closed_rule(profile: str, risk: str, closed: bool) -> None:
    assert fail_closed_for(profile, risk) is closed


# ---------------------------------------------------------------- in the gate


def test_inventory_entry_feeds_the_wrkr_selectors(tmp_path: Path, keys: Keys) -> None:
    inv = write_json(tmp_path / "inv.json", {"items": [ITEM]})
    without = gate(BLOCK_PII, make_intent(), keys)
    assert without.verdict == "allow" and "context_source" not in without.to_payload("standard")
    result = gate(BLOCK_PII, make_intent(), keys, wrkr_inventory=inv)
    assert result.verdict == "block" and result.exit_code == 3
    assert result.reason_codes == ["matched_rule_block_pii"]
    payload = result.to_payload("standard")
    assert payload["context_source"] == os.path.normpath(inv)
    trace = result.trace or {}
    assert trace["context_source"] == os.path.normpath(inv)
    verify_signature(
        trace["signature"],
        record_digest({k: v for k, v in trace.items() if k != "signature"}),
        keys.signer.pair,
    )
    # the digests bind the enriched (prepared) intent, so approvals cannot be replayed across it
    assert result.decision.intent_digest != without.decision.intent_digest
    assert result.decision.intent_digest == intent_digest(result.decision.intent)
    assert (result.decision.intent.context.auth_context or {})["wrkr.data_class"] == "pii"


def test_unlisted_tool_is_not_enriched_and_names_no_source(tmp_path: Path, keys: Keys) -> None:
    inv = write_json(tmp_path / "inv.json", [{**ITEM, "tool_name": "tool.other"}])
    plain = gate(BLOCK_PII, make_intent(), keys)
    result = gate(BLOCK_PII, make_intent(), keys, wrkr_inventory=inv)
    assert result.verdict == "allow"
    assert "context_source" not in result.to_payload("standard")
    assert result.decision.intent_digest == plain.decision.intent_digest


SCRIPT_POLICY = """
default_verdict: allow
rules:
  - name: block-pii-write
    effect: block
    match:
      tool_names: [tool.write]
      context_data_classes: [pii]
  - name: block-pii-read
    priority: 5
    effect: block
    match:
      tool_names: [tool.read]
      context_data_classes: [secret]
"""


def _script(*tools: str) -> dict[str, Any]:
    raw = make_intent("script", targets=[])
    raw["script"] = {
        "steps": [
            {
                "tool_name": t,
                "args": {"n": i},
                "targets": [{"kind": "path", "value": f"/w/{i}", "operation": "read"}],
            }
            for i, t in enumerate(tools)
        ]
    }
    return raw


def test_script_steps_are_enriched_one_by_one_without_leaking(tmp_path: Path, keys: Keys) -> None:
    # only tool.read is inventoried (pii): the tool.write step must not inherit its context
    inv = write_json(tmp_path / "inv.json", [{**ITEM, "tool_name": "tool.read"}])
    result = gate(SCRIPT_POLICY, _script("tool.read", "tool.write"), keys, wrkr_inventory=inv)
    assert [s.verdict for s in result.decision.step_verdicts] == ["allow", "allow"]
    assert result.verdict == "allow"
    assert result.to_payload("standard")["context_source"] == os.path.normpath(inv)
    # the whole script intent is not enriched (there is no tool called "script" to look up)
    assert result.decision.intent.context.auth_context is None
    # each step gets its own entry: tool.read→secret blocks step 0 only
    inv2 = write_json(
        tmp_path / "inv2.json",
        [{**ITEM, "tool_name": "tool.read", "data_class": "secret"}],
    )
    result = gate(SCRIPT_POLICY, _script("tool.read", "tool.write"), keys, wrkr_inventory=inv2)
    assert [s.verdict for s in result.decision.step_verdicts] == ["block", "allow"]
    assert result.verdict == "block"


def _decide(tmp_path: Path, keys: Keys, profile: str, risk: str, inv: str) -> Any:
    options: dict[str, Any] = {"profile": profile, "wrkr_inventory": inv}
    return gate(BLOCK_PII, make_intent(risk_class=risk), keys, **options)


@pytest.mark.parametrize("broken", ["missing", "invalid"])
@pytest.mark.parametrize(
    ("profile", "risk", "blocks"),
    [
        ("standard", "low", False),
        ("standard", "medium", False),
        ("standard", "high", True),
        ("standard", "critical", True),
        ("oss-prod", "low", True),
        ("oss-prod", "medium", True),
    ],
)
def test_unavailable_inventory_blocks_or_warns(
    tmp_path: Path, keys: Keys, broken: str, profile: str, risk: str, blocks: bool
) -> None:
    inv = tmp_path / "inv.json"
    if broken == "invalid":
        inv.write_text('{"items": [')
    if blocks:
        with pytest.raises(InputUnavailable) as err:
            _decide(tmp_path, keys, profile, risk, str(inv))
        assert err.value.exit_code == 3 and err.value.code == "policy_blocked"
        assert str(err.value).startswith("wrkr inventory unavailable in fail-closed mode: ")
        assert ("parse" if broken == "invalid" else "no such file") in str(err.value)
        assert not list(tmp_path.glob("trace_*.json"))  # nothing decided, nothing signed
    else:
        result = _decide(tmp_path, keys, profile, risk, str(inv))
        assert result.verdict == "allow"
        assert INVENTORY_WARNING in result.warnings
        assert any(w.startswith("wrkr inventory: ") for w in result.warnings)
        assert "context_source" not in result.to_payload(profile)


def test_inventory_error_comes_before_the_oss_prod_policy_check(tmp_path: Path, keys: Keys) -> None:
    # step 4 (exit 3) precedes step 5 (exit 6 for unbrokered high-risk rules)
    policy = """
default_verdict: block
rules:
  - name: risky
    effect: allow
    match:
      risk_classes: [high]
"""
    with pytest.raises(GaitError) as err:
        gate(policy, make_intent(), keys, profile="oss-prod", wrkr_inventory=str(tmp_path / "no"))
    assert err.value.exit_code == 3
    with pytest.raises(GaitError) as err:
        gate(policy, make_intent(), keys, profile="oss-prod")
    assert err.value.exit_code == 6


def test_long_lived_gate_sees_inventory_edits(tmp_path: Path, keys: Keys) -> None:
    path = tmp_path / "inv.json"
    write_json(path, [{**ITEM, "data_class": "public"}])
    g = Gate(
        compile_text(BLOCK_PII),
        GateOptions(key_mode="prod", private_key=keys.signer.private, wrkr_inventory=str(path)),
    )
    try:
        assert g.decide(norm(make_intent()), write_trace=False).verdict == "allow"
        write_json(path, [{**ITEM, "data_class": "pii", "autonomy_level": "autonomous"}])
        assert g.decide(norm(make_intent()), write_trace=False).verdict == "block"
    finally:
        g.close()


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


# ---------------------------------------------------------------- properties


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_items = st.lists(
    st.fixed_dictionaries(
        {"tool_name": st.sampled_from(["tool.a", " Tool.B ", "", "tool.c"])},
        optional={f: st.one_of(st.none(), st.text(max_size=6), st.integers()) for f in _FIELDS_T},
    ),
    max_size=5,
)


@given(st.one_of(_json_values, _items, _items.map(lambda i: {"items": i})))
@settings(max_examples=200, deadline=None)
def test_any_json_parses_to_normalized_tools_or_invalid_input(doc: Any) -> None:
    try:
        tools = parse_inventory(json.dumps(doc))
    except InvalidInput as err:
        assert str(err).startswith("parse wrkr inventory")
        return
    for name, ctx in tools.items():
        assert name == ctx.tool_name == name.strip().lower() and name
        for value in (ctx.data_class, ctx.endpoint_class, ctx.autonomy_level):
            assert value == value.strip().lower()


@given(
    st.lists(st.sampled_from(["tool.read", "tool.write", "tool.send"]), min_size=1, max_size=4),
    st.dictionaries(
        st.sampled_from(["tool.read", "tool.write", "tool.send"]),
        st.sampled_from(["pii", "secret", "public"]),
        max_size=3,
    ),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_each_step_decides_as_if_it_were_called_alone(
    tmp_path: Path, keys: Keys, tools: list[str], classes: dict[str, str]
) -> None:
    policy = compile_text(LEAK_POLICY)
    inventory = WrkrInventory(
        "inv.json",
        parse_inventory(
            json.dumps([{"tool_name": t, "data_class": c} for t, c in classes.items()])
        ),
    )
    from gait.engine import evaluate

    script_decision = evaluate(policy, norm(_script(*tools)), enrich=inventory.apply)
    for step, verdict in zip(tools, script_decision.step_verdicts, strict=True):
        alone = evaluate(policy, norm(make_intent(step, targets=[_READ])), enrich=inventory.apply)
        assert verdict.verdict == alone.verdict, (step, classes)


_READ = {"kind": "path", "value": "/w/0", "operation": "read"}
LEAK_POLICY = """
default_verdict: allow
rules:
  - name: pii
    effect: block
    match:
      context_data_classes: [pii]
  - name: secret-send
    effect: require_approval
    match:
      tool_names: [tool.send]
      context_data_classes: [secret]
"""
