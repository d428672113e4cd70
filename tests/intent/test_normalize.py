"""Normalization rules and error wording (intent.md §2-§10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gait.errors import IntentError
from gait.intent import Intent, decode_intent_bytes, intent_digest, normalize_intent

CTX = {"identity": "i", "workspace": "/w", "risk_class": "low"}
HEX = "ab" * 32


def norm(**fields: Any) -> Intent:
    """Normalize an intent through the real decoder (bytes in, Intent out)."""
    fields.setdefault("tool_name", "tool.x")
    fields.setdefault("context", CTX)
    return normalize_intent(decode_intent_bytes(json.dumps(fields).encode()))


def reason(**fields: Any) -> str:
    """The bare normalization error message; also checks the wrapping."""
    with pytest.raises(IntentError) as info:
        norm(**fields)
    err = info.value
    assert err.details["stage"] == "normalize"
    assert str(err) == f"normalize intent: {err.details['reason']}"
    return err.details["reason"]


def target(**fields: Any) -> dict[str, Any]:
    return {"kind": "path", "value": "/x", **fields}


# --- top level ----------------------------------------------------------------


def test_tool_name_trimmed_and_lowercased() -> None:
    assert norm(tool_name="  FS.Write\n").tool_name == "fs.write"


@pytest.mark.parametrize("tool_name", [None, "", " \t "])
def test_tool_name_required(tool_name: Any) -> None:
    assert reason(tool_name=tool_name) == "tool_name is required"


def test_go_whitespace_rules_for_trim() -> None:
    # Go's TrimSpace removes NBSP and U+3000 but not the \x1c-\x1f separators
    # that Python's str.strip() also removes.
    assert norm(tool_name="\u00a0\u3000tool\u2029").tool_name == "tool"
    assert norm(tool_name="\x1ctool\x1f").tool_name == "\x1ctool\x1f"


def test_go_lowercase_rules() -> None:
    # Go maps rune by rune: İ -> i and a final Σ -> σ (Python would give i̇ / ς).
    assert norm(tool_name="İD.ΟΔΟΣ").tool_name == "id.οδοσ"


def test_schema_defaults_and_not_validated() -> None:
    intent = norm()
    assert (intent.schema_id, intent.schema_version) == ("gait.gate.intent_request", "1.0.0")
    custom = norm(schema_id="my.schema", schema_version="9")
    assert (custom.schema_id, custom.schema_version) == ("my.schema", "9")


def test_metadata_passthrough_is_not_digested() -> None:
    plain = norm()
    decorated = norm(
        created_at="2026-02-18T01:00:00+01:00",
        producer_version="1.2.3",
        schema_id="other",
        relationship={"parent_ref": {"kind": "run", "id": "r1"}},
        args_digest="bogus",
        intent_digest="bogus",
        script_hash="bogus",
    )
    assert decorated.created_at == "2026-02-18T00:00:00Z"
    assert decorated.producer_version == "1.2.3"
    assert decorated.relationship == {"parent_ref": {"kind": "run", "id": "r1"}}
    assert decorated.script_hash == ""
    assert intent_digest(decorated) == intent_digest(plain)


def test_args_strings_and_keys_trimmed_recursively() -> None:
    args = {" a ": " x ", "n": {" b": [" y ", 1, None, True, {" c ": "\tz"}]}, "f": 1.5}
    assert norm(args=args).args == {
        "a": "x",
        "n": {"b": ["y", 1, None, True, {"c": "z"}]},
        "f": 1.5,
    }


@pytest.mark.parametrize("args", [{"": 1}, {"  ": 1}, {"a": {"b": {" ": 1}}}, {"a": [{"": 1}]}])
def test_args_empty_key_error(args: dict[str, Any]) -> None:
    assert reason(args=args) == "normalize args: args contains empty key"


# --- context ------------------------------------------------------------------


def test_context_identity_required_and_case_kept() -> None:
    assert norm(context={**CTX, "identity": " Bot-7 "}).context.identity == "Bot-7"
    assert reason(context={**CTX, "identity": " "}) == "context.identity is required"


def test_context_missing_entirely() -> None:
    assert reason(context=None) == "context.identity is required"


def test_context_workspace_required_and_slashes_converted() -> None:
    assert norm(context={**CTX, "workspace": " C:\\a\\b "}).context.workspace == "C:/a/b"
    assert reason(context={**CTX, "workspace": ""}) == "context.workspace is required"


def test_context_risk_class_free_form_lowercased() -> None:
    assert norm(context={**CTX, "risk_class": " Extreme "}).context.risk_class == "extreme"
    assert reason(context={**CTX, "risk_class": None}) == "context.risk_class is required"


@pytest.mark.parametrize(
    ("phase", "expected"), [(None, "apply"), ("", "apply"), (" PLAN ", "plan"), ("Apply", "apply")]
)
def test_context_phase(phase: Any, expected: str) -> None:
    assert norm(context={**CTX, "phase": phase}).context.phase == expected


def test_context_phase_invalid() -> None:
    assert reason(context={**CTX, "phase": "execute"}) == "context.phase must be plan or apply"


def test_context_ids_trimmed() -> None:
    ctx = norm(
        context={
            **CTX,
            "job_id": " j ",
            "session_id": " s ",
            "request_id": " r ",
            "environment_fingerprint": " fp ",
        }
    ).context
    assert (ctx.job_id, ctx.session_id, ctx.request_id, ctx.environment_fingerprint) == (
        "j",
        "s",
        "r",
        "fp",
    )


def test_context_auth_context_normalized_like_args() -> None:
    ctx = norm(context={**CTX, "auth_context": {" k ": " v ", "n": 3}}).context
    assert ctx.auth_context == {"k": "v", "n": 3}


def test_context_auth_context_empty_is_omitted() -> None:
    assert norm(context={**CTX, "auth_context": {}}).context.auth_context is None


def test_context_auth_context_empty_key_error() -> None:
    assert reason(context={**CTX, "auth_context": {" ": 1}}) == (
        "normalize context.auth_context: args contains empty key"
    )


def test_context_credential_scopes_set_semantics_case_kept() -> None:
    scopes = [" b ", "A", "", "b", None, "a"]
    assert norm(context={**CTX, "credential_scopes": scopes}).context.credential_scopes == (
        "A",
        "a",
        "b",
    )


def test_context_refs_set_semantics() -> None:
    assert norm(context={**CTX, "context_refs": ["z", " y", "z", " "]}).context.context_refs == (
        "y",
        "z",
    )


def test_context_set_digest_lowercased_and_validated() -> None:
    assert (
        norm(context={**CTX, "context_set_digest": " " + HEX.upper()}).context.context_set_digest
        == HEX
    )
    assert reason(context={**CTX, "context_set_digest": "abc"}) == (
        "context.context_set_digest must be sha256 hex"
    )
    assert reason(context={**CTX, "context_set_digest": HEX[:-1] + "g"}) == (
        "context.context_set_digest must be sha256 hex"
    )


@pytest.mark.parametrize("mode", ["", "best_effort", " REQUIRED "])
def test_context_evidence_mode_allowed(mode: str) -> None:
    assert norm(context={**CTX, "context_evidence_mode": mode}).context.context_evidence_mode == (
        mode.strip().lower()
    )


def test_context_evidence_mode_invalid() -> None:
    assert reason(context={**CTX, "context_evidence_mode": "strict"}) == (
        "context.context_evidence_mode must be best_effort or required"
    )


# --- targets ----------------------------------------------------------------------


def test_target_fields_normalized() -> None:
    (t,) = norm(
        targets=[
            {
                "kind": " PATH ",
                "value": " /Repo/File ",
                "operation": " Write ",
                "sensitivity": " PII ",
                "endpoint_class": " FS.Write ",
                "endpoint_domain": " Example.COM ",
                "read_only_hint": True,
                "idempotent_hint": True,
                "open_world_hint": True,
            }
        ]
    ).targets
    assert (t.kind, t.value, t.operation, t.sensitivity) == ("path", "/Repo/File", "write", "pii")
    assert (t.endpoint_class, t.endpoint_domain) == ("fs.write", "example.com")
    assert (t.read_only_hint, t.idempotent_hint, t.open_world_hint) == (True, True, True)
    assert t.destructive_hint is False


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "path"},
        {"value": "/x"},
        {"kind": " ", "value": "/x"},
        {"kind": "path", "value": " "},
        {},
    ],
)
def test_target_requires_kind_and_value(bad: dict[str, Any]) -> None:
    assert reason(targets=[bad]) == "targets require kind and value"


def test_target_unsupported_kind() -> None:
    assert reason(targets=[{"kind": "File", "value": "/x"}]) == "unsupported target kind: file"


def test_target_unsupported_endpoint_class() -> None:
    assert (
        reason(targets=[target(endpoint_class="FS.Move")]) == "unsupported endpoint class: fs.move"
    )


@pytest.mark.parametrize("cls", ["ui.click", "ui.type", "ui.navigate", "net.dns", "other"])
def test_target_declared_endpoint_class_kept(cls: str) -> None:
    assert (
        norm(targets=[target(endpoint_class=cls, operation="read")]).targets[0].endpoint_class
        == cls
    )


def test_declared_endpoint_domain_is_not_inferred() -> None:
    t = norm(
        targets=[{"kind": "url", "value": "https://a.example/x", "endpoint_domain": "B.test"}]
    ).targets[0]
    assert t.endpoint_domain == "b.test"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, False),
        ({"destructive": True}, True),
        ({"destructive_hint": True}, True),
        ({"operation": "truncate"}, True),
        ({"endpoint_class": "proc.exec"}, True),
        ({"endpoint_class": "fs.read", "operation": "rm"}, True),
    ],
)
def test_target_destructive_is_or_of_flag_hint_and_inference(
    fields: dict[str, Any], expected: bool
) -> None:
    assert norm(tool_name="tool.x", targets=[target(**fields)]).targets[0].destructive is expected


def test_destructive_hint_kept_as_hint() -> None:
    t = norm(targets=[target(destructive_hint=True)]).targets[0]
    assert (t.destructive, t.destructive_hint) == (True, True)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (None, "unknown"),
        ("", "unknown"),
        ("Dynamic-MCP", "dynamic_mcp"),
        (" static mcp ", "static_mcp"),
        ("WEBMCP", "webmcp"),
        ("a2a", "a2a"),
        ("mcp", "mcp"),
        ("Manual", "manual"),
    ],
)
def test_target_discovery_method(method: Any, expected: str) -> None:
    assert norm(targets=[target(discovery_method=method)]).targets[0].discovery_method == expected


def test_target_unsupported_discovery_method_reports_normalized_value() -> None:
    assert (
        reason(targets=[target(discovery_method="Plug-In")])
        == "unsupported discovery method: plug_in"
    )


def test_targets_exact_duplicates_dropped() -> None:
    intent = norm(targets=[target(), target(value=" /x "), {"kind": "PATH", "value": "/x"}])
    assert len(intent.targets) == 1


def test_targets_differing_in_one_field_are_kept() -> None:
    intent = norm(targets=[target(), target(sensitivity="pii"), target(open_world_hint=True)])
    assert len(intent.targets) == 3


def test_targets_sorted_by_all_fields_false_first() -> None:
    intent = norm(
        tool_name="tool.x",
        targets=[
            {"kind": "url", "value": "https://b"},
            target(value="/b"),
            target(value="/a", destructive=True),
            target(value="/a"),
            target(value="/a", operation="read"),
            {"kind": "host", "value": "z"},
        ],
    )
    order = [(t.kind, t.value, t.operation, t.destructive) for t in intent.targets]
    assert order == [
        ("host", "z", "", False),
        ("path", "/a", "", False),
        ("path", "/a", "", True),
        ("path", "/a", "read", False),
        ("path", "/b", "", False),
        ("url", "https://b", "", False),
    ]


def test_targets_sort_by_byte_order() -> None:
    intent = norm(targets=[target(value="/é"), target(value="/z"), target(value="/Z")])
    assert [t.value for t in intent.targets] == ["/Z", "/z", "/é"]


def test_targets_absent_is_empty() -> None:
    assert norm().targets == ()


# --- arg provenance ------------------------------------------------------------------


def test_provenance_normalized() -> None:
    (p,) = norm(
        arg_provenance=[
            {
                "arg_path": " $.a ",
                "source": " Tool_Output ",
                "source_ref": " r ",
                "integrity_digest": " " + HEX.upper(),
            }
        ]
    ).arg_provenance
    assert (p.arg_path, p.source, p.source_ref, p.integrity_digest) == (
        "$.a",
        "tool_output",
        "r",
        HEX,
    )


@pytest.mark.parametrize(
    "bad", [{"arg_path": "$.a"}, {"source": "user"}, {"arg_path": " ", "source": "user"}, {}]
)
def test_provenance_requires_path_and_source(bad: dict[str, Any]) -> None:
    assert reason(arg_provenance=[bad]) == "arg provenance requires arg_path and source"


def test_provenance_null_entry_is_zero_entry() -> None:
    assert reason(arg_provenance=[None]) == "arg provenance requires arg_path and source"


def test_provenance_unsupported_source() -> None:
    assert reason(arg_provenance=[{"arg_path": "$.a", "source": "Web"}]) == (
        "unsupported provenance source: web"
    )


def test_provenance_invalid_integrity_digest_reports_lowercased_value() -> None:
    assert reason(
        arg_provenance=[{"arg_path": "$.a", "source": "user", "integrity_digest": "SHA256:AB"}]
    ) == ("invalid provenance integrity_digest: sha256:ab")


def test_provenance_dedup_and_sort() -> None:
    entries = [
        {"arg_path": "$.b", "source": "user"},
        {"arg_path": "$.a", "source": "user", "source_ref": "z"},
        {"arg_path": "$.a", "source": "external"},
        {"arg_path": " $.b", "source": "USER"},
        {"arg_path": "$.a", "source": "user"},
    ]
    got = [
        (p.arg_path, p.source, p.source_ref) for p in norm(arg_provenance=entries).arg_provenance
    ]
    assert got == [
        ("$.a", "external", ""),
        ("$.a", "user", ""),
        ("$.a", "user", "z"),
        ("$.b", "user", ""),
    ]


# --- skill provenance ----------------------------------------------------------------


def test_skill_provenance_normalized() -> None:
    skill = norm(
        skill_provenance={
            "skill_name": " Deploy ",
            "skill_version": " 1.0 ",
            "source": " Registry ",
            "publisher": " ACME ",
            "digest": HEX.upper(),
            "signature_key_id": " k1 ",
        }
    ).skill_provenance
    assert skill is not None
    assert (skill.skill_name, skill.skill_version, skill.source, skill.publisher) == (
        "Deploy",
        "1.0",
        "registry",
        "ACME",
    )
    assert (skill.digest, skill.signature_key_id) == (HEX, "k1")


@pytest.mark.parametrize("missing", ["skill_name", "source", "publisher"])
def test_skill_provenance_required_fields(missing: str) -> None:
    skill = {"skill_name": "s", "source": "git", "publisher": "p"}
    skill[missing] = " "
    assert (
        reason(skill_provenance=skill)
        == "skill provenance requires skill_name, source, and publisher"
    )


def test_skill_provenance_invalid_digest() -> None:
    skill = {"skill_name": "s", "source": "git", "publisher": "p", "digest": "ABC"}
    assert reason(skill_provenance=skill) == "invalid skill provenance digest: abc"


def test_skill_provenance_null_is_absent() -> None:
    assert norm(skill_provenance=None).skill_provenance is None


# --- delegation -------------------------------------------------------------------------


def link(delegator: str, delegate: str, **fields: Any) -> dict[str, Any]:
    return {"delegator_identity": delegator, "delegate_identity": delegate, **fields}


def test_delegation_normalized() -> None:
    d = norm(
        delegation={
            "requester_identity": " R ",
            "scope_class": " Write ",
            "token_refs": [" t2", "t1", "t2", ""],
            "chain": [link(" A ", "B", scope_class="ADMIN", token_ref=" tok "), link("B", "R")],
            "issued_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00+01:00",
        }
    ).delegation
    assert d is not None
    assert (d.requester_identity, d.scope_class, d.token_refs) == ("R", "write", ("t1", "t2"))
    assert [(x.delegator_identity, x.delegate_identity) for x in d.chain] == [
        ("A", "B"),
        ("B", "R"),
    ]
    assert (d.chain[0].scope_class, d.chain[0].token_ref) == ("admin", "tok")
    assert (d.issued_at, d.expires_at) == ("2026-01-01T00:00:00Z", "2026-01-01T23:00:00Z")


def test_delegation_requester_required() -> None:
    assert (
        reason(delegation={"requester_identity": " "})
        == "delegation.requester_identity is required"
    )


def test_delegation_link_identities_required() -> None:
    chain = [link("a", "b"), link("b", " ")]
    assert reason(delegation={"requester_identity": "b", "chain": chain}) == (
        "delegation.chain[1] requires delegator_identity and delegate_identity"
    )


def test_delegation_null_link_is_zero_link() -> None:
    assert reason(delegation={"requester_identity": "b", "chain": [None]}) == (
        "delegation.chain[0] requires delegator_identity and delegate_identity"
    )


def test_delegation_chain_must_be_continuous() -> None:
    chain = [link("a", "b"), link("b", "c"), link("x", "r")]
    assert reason(delegation={"requester_identity": "r", "chain": chain}) == (
        "delegation.chain[2] delegator_identity must match delegation.chain[1].delegate_identity"
    )


def test_delegation_last_delegate_must_be_requester() -> None:
    assert reason(delegation={"requester_identity": "r", "chain": [link("a", "b")]}) == (
        "delegation.chain last delegate_identity must match delegation.requester_identity"
    )


def test_delegation_identity_comparison_is_case_sensitive() -> None:
    assert reason(delegation={"requester_identity": "R", "chain": [link("a", "r")]}) == (
        "delegation.chain last delegate_identity must match delegation.requester_identity"
    )


@pytest.mark.parametrize(
    ("issued", "expires"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00.000000002Z", "2026-01-01T00:00:00.000000001Z"),
        ("2026-01-01T00:00:00Z", "2026-01-01T00:30:00+01:00"),
    ],
)
def test_delegation_link_expiry_must_be_strictly_after_issue(issued: str, expires: str) -> None:
    chain = [link("a", "r", issued_at=issued, expires_at=expires)]
    assert reason(delegation={"requester_identity": "r", "chain": chain}) == (
        "delegation.chain[0] expires_at must be after issued_at"
    )


def test_delegation_expiry_must_be_after_issue() -> None:
    assert (
        reason(
            delegation={
                "requester_identity": "r",
                "issued_at": "2026-01-02T00:00:00Z",
                "expires_at": "2026-01-01T23:59:59.999999999Z",
            }
        )
        == "delegation.expires_at must be after issued_at"
    )


def test_delegation_nanosecond_later_expiry_is_fine() -> None:
    d = norm(
        delegation={
            "requester_identity": "r",
            "issued_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-01T00:00:00.000000001Z",
        }
    ).delegation
    assert d is not None and d.expires_at == "2026-01-01T00:00:00.000000001Z"


def test_delegation_link_error_precedes_top_level_time_error() -> None:
    assert (
        reason(
            delegation={
                "requester_identity": "r",
                "chain": [link("a", "")],
                "issued_at": "2026-01-02T00:00:00Z",
                "expires_at": "2026-01-01T00:00:00Z",
            }
        )
        == "delegation.chain[0] requires delegator_identity and delegate_identity"
    )


def test_delegation_one_time_missing_is_not_compared() -> None:
    d = norm(
        delegation={"requester_identity": "r", "expires_at": "2000-01-01T00:00:00Z"}
    ).delegation
    assert d is not None and (d.issued_at, d.expires_at) == ("", "2000-01-01T00:00:00Z")


def test_delegation_expired_token_is_not_checked_here() -> None:
    chain = [link("a", "r", issued_at="1999-01-01T00:00:00Z", expires_at="1999-01-02T00:00:00Z")]
    assert norm(delegation={"requester_identity": "r", "chain": chain}).delegation is not None


def test_delegation_explicit_zero_time_is_absent() -> None:
    d = norm(
        delegation={
            "requester_identity": "r",
            "issued_at": "0001-01-01T01:00:00+01:00",
            "expires_at": "0001-01-01T00:00:00Z",
        }
    ).delegation
    assert d is not None and (d.issued_at, d.expires_at) == ("", "")


def test_delegation_without_chain() -> None:
    d = norm(delegation={"requester_identity": "solo"}).delegation
    assert d is not None and d.chain == () and d.token_refs == ()


# --- scripts -----------------------------------------------------------------------------


def step(tool: str, **fields: Any) -> dict[str, Any]:
    return {"tool_name": tool, **fields}


def test_script_forces_tool_name() -> None:
    intent = norm(tool_name="", script={"steps": [step("a")]})
    assert intent.tool_name == "script"
    assert intent.script is not None and intent.script[0].tool_name == "a"


@pytest.mark.parametrize("script", [{}, {"steps": []}, {"steps": None}])
def test_script_steps_must_not_be_empty(script: dict[str, Any]) -> None:
    assert reason(script=script) == "script.steps must not be empty"


def test_script_null_is_no_script() -> None:
    assert norm(script=None).script is None


def test_script_max_steps() -> None:
    assert len(norm(script={"steps": [step("t")] * 64}).script or ()) == 64
    assert (
        reason(script={"steps": [step("t")] * 65})
        == "script.steps exceeds max supported steps (64)"
    )


def test_script_step_tool_name_required() -> None:
    assert (
        reason(script={"steps": [step("a"), step(" ")]}) == "script.steps[1].tool_name is required"
    )
    assert reason(script={"steps": [None]}) == "script.steps[0].tool_name is required"


def test_script_step_errors_are_prefixed() -> None:
    assert reason(script={"steps": [step("a", args={"": 1})]}) == (
        "normalize script.steps[0].args: args contains empty key"
    )
    assert reason(
        script={"steps": [step("a"), step("b", targets=[{"kind": "disk", "value": "/"}])]}
    ) == ("normalize script.steps[1].targets: unsupported target kind: disk")
    assert reason(script={"steps": [step("a", arg_provenance=[{"arg_path": "$"}])]}) == (
        "normalize script.steps[0].arg_provenance: arg provenance requires arg_path and source"
    )


def test_script_top_level_targets_come_from_normalized_step_targets() -> None:
    intent = norm(
        script={
            "steps": [
                step("Tool.Read", targets=[target(value="/a")]),
                step("fs.delete", targets=[target(value="/b"), target(value="/a")]),
                step("x", targets=[target(value="/a", endpoint_class="fs.read")]),
            ]
        }
    )
    got = [(t.value, t.endpoint_class, t.destructive) for t in intent.targets]
    # /a inferred fs.read in step 0 and declared fs.read in step 2: one entry.
    assert got == [("/a", "fs.delete", True), ("/a", "fs.read", False), ("/b", "fs.delete", True)]


def test_script_explicit_top_level_targets_use_tool_name_script() -> None:
    intent = norm(
        script={"steps": [step("tool.read", targets=[target(value="/s")])]},
        targets=[target(value="/t")],
    )
    assert [(t.value, t.endpoint_class) for t in intent.targets] == [("/t", "other")]
    assert intent.script is not None and intent.script[0].targets[0].endpoint_class == "fs.read"


def test_script_provenance_from_steps_dedup_sorted() -> None:
    intent = norm(
        script={
            "steps": [
                step("a", arg_provenance=[{"arg_path": "$.z", "source": "user"}]),
                step(
                    "b",
                    arg_provenance=[
                        {"arg_path": "$.a", "source": "external"},
                        {"arg_path": "$.z", "source": "USER"},
                    ],
                ),
            ]
        }
    )
    assert [(p.arg_path, p.source) for p in intent.arg_provenance] == [
        ("$.a", "external"),
        ("$.z", "user"),
    ]


def test_script_explicit_top_level_provenance_wins() -> None:
    intent = norm(
        script={"steps": [step("a", arg_provenance=[{"arg_path": "$.z", "source": "user"}])]},
        arg_provenance=[{"arg_path": "$.top", "source": "system"}],
    )
    assert [p.arg_path for p in intent.arg_provenance] == ["$.top"]


def test_script_hash_depends_on_step_order_and_content() -> None:
    a = norm(script={"steps": [step("a"), step("b")]}).script_hash
    b = norm(script={"steps": [step("b"), step("a")]}).script_hash
    c = norm(script={"steps": [step("a"), step("b", args={"k": 1})]}).script_hash
    assert len({a, b, c}) == 3
    assert a == norm(script={"steps": [step(" A "), step("B")]}, script_hash="ignored").script_hash


def test_script_top_level_args_still_normalized() -> None:
    assert (
        reason(script={"steps": [step("a")]}, args={" ": 1})
        == "normalize args: args contains empty key"
    )


# --- validation order (§10) --------------------------------------------------------------


BROKEN = {
    "script": {"steps": []},
    "tool_name": "",
    "args": {"": 1},
    "targets": [{"kind": "bad", "value": "x"}],
    "arg_provenance": [{"arg_path": "$"}],
    "skill_provenance": {"skill_name": "s"},
    "context": {"risk_class": "low"},
    "delegation": {"requester_identity": ""},
}
EXPECTED_ORDER = [
    ("script", "script.steps must not be empty"),
    ("tool_name", "tool_name is required"),
    ("args", "normalize args: args contains empty key"),
    ("targets", "unsupported target kind: bad"),
    ("arg_provenance", "arg provenance requires arg_path and source"),
    ("skill_provenance", "skill provenance requires skill_name, source, and publisher"),
    ("context", "context.identity is required"),
    ("delegation", "delegation.requester_identity is required"),
]


@pytest.mark.parametrize("depth", range(len(EXPECTED_ORDER)))
def test_validation_order(depth: int) -> None:
    """With every earlier check fixed, the next broken field is reported."""
    fields = dict(BROKEN)
    fixes = {
        "script": None,
        "tool_name": "t",
        "args": {},
        "targets": [],
        "arg_provenance": [],
        "skill_provenance": None,
        "context": CTX,
    }
    for name, _ in EXPECTED_ORDER[:depth]:
        fields[name] = fixes[name]
    assert reason(**fields) == EXPECTED_ORDER[depth][1]


def test_context_validation_order() -> None:
    bad = {
        "identity": "",
        "workspace": "",
        "risk_class": "",
        "auth_context": {"": 1},
        "context_set_digest": "x",
        "context_evidence_mode": "x",
        "phase": "x",
    }
    expected = [
        ("identity", "i", "context.identity is required"),
        ("workspace", "/w", "context.workspace is required"),
        ("risk_class", "low", "context.risk_class is required"),
        ("auth_context", None, "normalize context.auth_context: args contains empty key"),
        ("context_set_digest", None, "context.context_set_digest must be sha256 hex"),
        (
            "context_evidence_mode",
            None,
            "context.context_evidence_mode must be best_effort or required",
        ),
        ("phase", None, "context.phase must be plan or apply"),
    ]
    for name, fix, message in expected:
        assert reason(context=bad) == message
        bad[name] = fix


def test_first_bad_target_reported() -> None:
    assert reason(targets=[target(), {"kind": "x", "value": "1"}, {"kind": "path"}]) == (
        "unsupported target kind: x"
    )
