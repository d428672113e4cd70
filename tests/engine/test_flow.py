"""Flow rules (match.after / match.not_after): policy format, DSL, table, engine, gate."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gait.engine import evaluate
from gait.engine.flow import (
    JOURNAL_KIND,
    FlowCall,
    FlowHistory,
    calls_from_journal,
    check_flow,
    flow_call,
    journal_entry,
)
from gait.errors import InvalidInput, PolicyError
from gait.policy import compile_policy
from gait.policy.dsl import render_dsl

from .conftest import REPO, make_intent

FLOW_POLICY = """\
default_verdict: allow
rules:
  - name: no-egress-after-secret
    priority: 10
    effect: block
    match:
      endpoint_classes: [net.http]
      after:
        - sensitivity: [Secret]
          within: 10m
    reason_codes: [egress_after_secret_read]
  - name: delete-after-read
    priority: 20
    effect: allow
    match:
      tool_names: [fs.delete]
      after:
        - tool_names: [fs.read]
          same_target: true
  - name: no-blind-delete
    priority: 30
    effect: block
    match:
      tool_names: [fs.delete]
    reason_codes: [delete_without_read]
"""

MIN = 60 * 1_000_000_000


def _compile(text: str, kind: str = "yaml"):
    return compile_policy(text, kind=kind, use_cache=False)


def _call(call_id, tool, target, *, sens="", cls="fs.read", verdict="allow", at=0):
    kind, value = target
    return FlowCall(
        call_id=call_id,
        tool_name=tool,
        targets=((kind, value, sens, cls),),
        verdict=verdict,
        at_ns=at,
    )


def _egress():
    return make_intent(
        tool_name="http.post",
        args={"url": "https://x.example/a"},
        targets=[{"kind": "url", "value": "https://x.example/a", "endpoint_class": "net.http"}],
        context={"session_id": "s1"},
    )


def _delete(path="/repo/a.txt", phase="plan"):
    return make_intent(
        tool_name="fs.delete",
        args={"path": path},
        targets=[{"kind": "path", "value": path, "endpoint_class": "fs.delete"}],
        context={"session_id": "s1", "phase": phase},
    )


# ---- policy format ---------------------------------------------------------------------


def test_normalized_flow_fields_and_dsl_twin_share_the_digest() -> None:
    compiled = _compile(FLOW_POLICY)
    rule = compiled.policy.rules[0]
    (cond,) = rule.match.after
    assert cond.sensitivity == ("secret",)
    assert cond.within == "10m0s"
    assert cond.min_count == 1
    text = render_dsl(compiled.policy)
    assert 'after [\n      { sensitivity ["secret"] within "10m0s" },\n    ]' in text
    twin = _compile(text, kind="dsl")
    assert twin.policy_digest == compiled.policy_digest
    assert twin.policy == compiled.policy
    assert compiled.ir.flow_rows == (0, 1)
    assert compiled.rows[0].flow.after[0].within_ns == 10 * MIN


def test_flow_changes_the_digest_and_predicate_order_does_not() -> None:
    a = FLOW_POLICY.replace(
        "        - sensitivity: [Secret]\n          within: 10m\n",
        "        - sensitivity: [Secret]\n          within: 10m\n        - tool_names: [x]\n",
    )
    b = FLOW_POLICY.replace(
        "        - sensitivity: [Secret]\n          within: 10m\n",
        "        - tool_names: [x]\n        - sensitivity: [secret]\n          within: 600s\n",
    )
    assert _compile(a).policy_digest == _compile(b).policy_digest
    assert _compile(a).policy_digest != _compile(FLOW_POLICY).policy_digest


def test_policies_without_flow_keep_their_encoding() -> None:
    for path in sorted((REPO / "examples" / "policy").glob("*.yaml"))[:4] or [None]:
        if path is None:
            pytest.fail("no example policies found")
        compiled = compile_policy(Path(path).read_bytes(), path=str(path), use_cache=False)
        encoded = msgspec.json.encode(compiled.ir).decode()
        assert '"after"' not in encoded and '"flow' not in encoded
        assert "after" not in render_dsl(compiled.policy)


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ("within: soon", "parse match.after.within"),
        ("within: -1m", "match.after.within must be > 0"),
        ("min_count: 0", "match.after.min_count must be >= 1"),
        ("endpoint_classes: [net.bogus]", 'unsupported match.after endpoint_class "net.bogus"'),
        ("bogus: 1", "bogus"),
    ],
)
def test_bad_flow_predicates_are_policy_errors(cond: str, message: str) -> None:
    text = f"rules:\n  - name: r\n    effect: block\n    match:\n      after:\n        - {cond}\n"
    with pytest.raises(PolicyError) as err:
        _compile(text)
    assert message in str(err.value)


def test_dsl_block_list_reports_position_of_bad_field() -> None:
    text = 'rule "r" => block {\n  match {\n    not_after [{ tool_names "x" }]\n  }\n}\n'
    with pytest.raises(PolicyError) as err:
        _compile(text, kind="dsl")
    assert "not_after" in str(err.value)


# ---- engine ------------------------------------------------------------------------------


def test_no_history_fails_closed_only_for_rows_whose_other_conditions_hold() -> None:
    compiled = _compile(FLOW_POLICY)
    blocked = evaluate(compiled, _egress())
    assert blocked.verdict == "block"
    assert blocked.reason_codes == ("flow_history_unavailable",)
    store_down = evaluate(compiled, _egress(), history=FlowHistory.unavailable("state_unavailable"))
    assert store_down.reason_codes == ("state_unavailable",)
    read = make_intent(context={"session_id": "s1"})  # tool.read: no flow row applies
    assert evaluate(compiled, read).verdict == "allow"


def test_egress_after_secret_read_is_blocked_with_the_read_as_reference() -> None:
    compiled = _compile(FLOW_POLICY)
    now = 100 * MIN
    secret = _call("read-1", "fs.read", ("path", "/k"), sens="secret", at=now - 5 * MIN)
    d = evaluate(compiled, _egress(), history=FlowHistory(calls=(secret,), now_ns=now))
    assert d.verdict == "block"
    assert d.reason_codes == ("egress_after_secret_read",)
    assert d.flow_refs == ("read-1",)
    assert d.to_dict()["flow_refs"] == ["read-1"]
    # outside the window, blocked, or in the future: it does not count
    for late in (
        msgspec.structs.replace(secret, at_ns=now - 11 * MIN),
        msgspec.structs.replace(secret, verdict="block"),
        msgspec.structs.replace(secret, at_ns=now + 1),
    ):
        d = evaluate(compiled, _egress(), history=FlowHistory(calls=(late,), now_ns=now))
        assert d.verdict == "allow", late
        assert d.flow_refs == ()


def test_delete_needs_a_read_of_the_same_path() -> None:
    compiled = _compile(FLOW_POLICY)
    other = _call("r-other", "fs.read", ("path", "/repo/b.txt"))
    same = _call("r-same", "fs.read", ("path", "/repo/a.txt"))
    d = evaluate(compiled, _delete(), history=FlowHistory(calls=(other,), now_ns=1))
    assert (d.verdict, d.matched_rules) == ("block", ("no-blind-delete",))
    d = evaluate(compiled, _delete(), history=FlowHistory(calls=(other, same), now_ns=1))
    assert d.matched_rules == ("delete-after-read",)
    assert d.verdict == "dry_run"  # plan phase of a destructive call
    assert d.flow_refs == ("r-same",)


def test_not_after_and_min_count() -> None:
    compiled = _compile(
        """\
default_verdict: allow
rules:
  - name: third-write-needs-approval
    effect: require_approval
    match:
      tool_names: [tool.write]
      after: [{tool_names: [tool.write], min_count: 2, within: 1h}]
  - name: first-contact
    effect: block
    match:
      tool_names: [tool.mail]
      not_after: [{tool_names: [tool.hello]}]
"""
    )
    write = make_intent(tool_name="tool.write")
    w = [_call(f"w{i}", "tool.write", ("path", "/x"), at=i) for i in range(3)]
    assert evaluate(compiled, write, history=FlowHistory(calls=w[:1], now_ns=9)).verdict == "allow"
    d = evaluate(compiled, write, history=FlowHistory(calls=tuple(w), now_ns=9))
    assert d.verdict == "require_approval"
    assert d.flow_refs == ("w1", "w2")  # the newest min_count matches
    mail = make_intent(tool_name="tool.mail")
    assert evaluate(compiled, mail, history=FlowHistory()).verdict == "block"
    hello = _call("h", "tool.hello", ("path", "/x"))
    d = evaluate(compiled, mail, history=FlowHistory(calls=(hello,), now_ns=1))
    assert d.verdict == "allow"
    assert d.flow_refs == ()


def test_script_steps_see_the_session_history() -> None:
    compiled = _compile(FLOW_POLICY)
    step = {
        "tool_name": "http.post",
        "args": {"url": "https://x.example/a"},
        "targets": [{"kind": "url", "value": "https://x.example/a", "endpoint_class": "net.http"}],
    }
    script = make_intent(script={"steps": [step]}, context={"session_id": "s1"})
    secret = _call("read-1", "fs.read", ("path", "/k"), sens="secret", at=0)
    d = evaluate(compiled, script, history=FlowHistory(calls=(secret,), now_ns=1))
    assert d.verdict == "block"
    assert d.flow_refs == ("read-1",)


# ---- journal records -------------------------------------------------------------------


def test_journal_round_trip_and_damaged_records() -> None:
    from gait.intent import normalize_intent

    intent = normalize_intent(_delete())
    call = flow_call(intent, call_id="e1", verdict="allow", at_ns=7)
    entry = journal_entry(call)
    assert entry["kind"] == JOURNAL_KIND
    assert calls_from_journal([{"kind": "other"}, entry]) == (call,)
    with pytest.raises(InvalidInput):
        calls_from_journal([{**entry, "at_ns": "soon"}])
    with pytest.raises(InvalidInput):
        calls_from_journal([entry, ["gait.flow.call", "e2"]])  # not an object
    assert check_flow(
        _compile(FLOW_POLICY).rows[1].flow, intent, FlowHistory(calls=(call,), now_ns=7)
    ) == (False, ())  # a delete is not a read


# ---- lint and diff ---------------------------------------------------------------------


def test_lint_does_not_claim_shadowing_through_a_flow_rule() -> None:
    from gait.engine.analysis.lint import lint_policy

    report = lint_policy(_compile(FLOW_POLICY))
    codes = {f["code"]: f for f in report["findings"]}
    assert report["counts"]["error"] == 0
    assert "shadowed_rule" not in codes
    soft = codes["shadowed_depending_on_history"]
    assert soft["level"] == "info" and soft["rules"][0] == "no-blind-delete"
    assert codes["flow_rules"]["rules"] == ["delete-after-read", "no-egress-after-secret"]
    # the same table without the history condition is a real shadowing error
    static = FLOW_POLICY.replace(
        "      after:\n        - tool_names: [fs.read]\n          same_target: true\n", ""
    ).replace("      after:\n        - sensitivity: [Secret]\n          within: 10m\n", "")
    assert "after:" not in static
    report = lint_policy(_compile(static))
    assert any(f["code"] == "shadowed_rule" for f in report["findings"])


def test_diff_reports_changed_flow_predicates() -> None:
    from gait.engine.analysis.diff import diff_policies

    old = _compile(FLOW_POLICY)
    new = _compile(FLOW_POLICY.replace("within: 10m", "within: 20m"))
    out = diff_policies(old, new)
    assert out["changed"] is True
    assert out["flow_changed"] == ["no-egress-after-secret"]
    assert any("session history" in n for n in out["notes"])
    same = diff_policies(old, _compile(FLOW_POLICY))
    assert same["changed"] is False and "flow_changed" not in same


def test_explain_follows_the_history_the_decision_saw() -> None:
    from gait.engine.explain import explain_rows
    from gait.intent import normalize_intent

    compiled = _compile(FLOW_POLICY)
    delete = normalize_intent(_delete())
    empty = explain_rows(compiled, delete, history=FlowHistory(now_ns=1))
    assert [r["status"] for r in empty["rows"]] == ["no_match", "no_match", "matched"]
    same = _call("r-same", "fs.read", ("path", "/repo/a.txt"))
    seen = explain_rows(compiled, delete, history=FlowHistory(calls=(same,), now_ns=1))
    assert seen["rows"][1]["status"] == "matched" and "r-same" in seen["rows"][1]["why"]
    assert seen["tier_priority"] == 20
    unknown = explain_rows(compiled, delete)
    assert "flow_history_unavailable" in unknown["rows"][1]["why"]
