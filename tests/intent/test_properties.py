"""Properties: normalization is idempotent, total (only IntentError) and deterministic."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import IntentError
from gait.intent import (
    decode_intent_bytes,
    intent_digest,
    intent_to_dict,
    normalize_intent,
    prepare_intent,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Strings that exercise trimming, casing and the enumerations.
_WORDS = st.sampled_from(
    [
        "",
        " ",
        "path",
        "URL",
        "host",
        "repo",
        "other",
        "read",
        "Delete",
        "exec",
        "fs.read",
        "net.http",
        "FS.Write",
        "user",
        "External",
        "tool_output",
        "mcp",
        "Dynamic-MCP",
        "https://API.example.com:8443/x",
        "/tmp/a",
        " /tmp/a ",
        "plan",
        "apply",
        "low",
        "HIGH",
        "required",
        "best_effort",
        "a" * 64,
        "İ",
        "\u00a0x\u3000",
        "tool.format",
        "\x1cz",
    ]
)
_TEXT = st.one_of(_WORDS, st.text(max_size=12))
_TIMES = st.sampled_from(
    [
        None,
        "2026-01-01T00:00:00Z",
        "2026-01-01T01:00:00.123456789+01:00",
        "0001-01-01T00:00:00Z",
        "2025-12-31T23:59:59.5-00:30",
    ]
)
_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXT,
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


_TARGET = st.fixed_dictionaries(
    {},
    optional={
        "kind": _TEXT,
        "value": _TEXT,
        "operation": _TEXT,
        "sensitivity": _TEXT,
        "endpoint_class": _TEXT,
        "endpoint_domain": _TEXT,
        "discovery_method": _TEXT,
        "destructive": st.booleans(),
        "read_only_hint": st.booleans(),
        "destructive_hint": st.booleans(),
        "idempotent_hint": st.booleans(),
        "open_world_hint": st.booleans(),
    },
)
_PROVENANCE = st.fixed_dictionaries(
    {},
    optional={"arg_path": _TEXT, "source": _TEXT, "source_ref": _TEXT, "integrity_digest": _TEXT},
)
_LINK = st.fixed_dictionaries(
    {},
    optional={
        "delegator_identity": _TEXT,
        "delegate_identity": _TEXT,
        "scope_class": _TEXT,
        "token_ref": _TEXT,
        "issued_at": _TIMES,
        "expires_at": _TIMES,
    },
)
_CONTEXT = st.fixed_dictionaries(
    {"identity": _TEXT, "workspace": _TEXT, "risk_class": _TEXT},
    optional={
        "phase": _TEXT,
        "job_id": _TEXT,
        "session_id": _TEXT,
        "request_id": _TEXT,
        "auth_context": _optional(st.dictionaries(_TEXT, _JSON, max_size=3)),
        "credential_scopes": st.lists(_TEXT, max_size=3),
        "environment_fingerprint": _TEXT,
        "context_set_digest": _TEXT,
        "context_evidence_mode": _TEXT,
        "context_refs": st.lists(_TEXT, max_size=3),
    },
)
_STEP = st.fixed_dictionaries(
    {"tool_name": _TEXT},
    optional={
        "args": _optional(st.dictionaries(_TEXT, _JSON, max_size=3)),
        "targets": st.lists(_TARGET, max_size=2),
        "arg_provenance": st.lists(_PROVENANCE, max_size=2),
    },
)
_INTENT = st.fixed_dictionaries(
    {"tool_name": _TEXT, "context": _CONTEXT},
    optional={
        "schema_id": _TEXT,
        "created_at": _TIMES,
        "producer_version": _TEXT,
        "args": _optional(st.dictionaries(_TEXT, _JSON, max_size=4)),
        "targets": st.lists(_TARGET, max_size=4),
        "arg_provenance": st.lists(_PROVENANCE, max_size=3),
        "skill_provenance": _optional(
            st.fixed_dictionaries(
                {},
                optional={
                    "skill_name": _TEXT,
                    "source": _TEXT,
                    "publisher": _TEXT,
                    "digest": _TEXT,
                },
            )
        ),
        "delegation": _optional(
            st.fixed_dictionaries(
                {"requester_identity": _TEXT},
                optional={
                    "scope_class": _TEXT,
                    "token_refs": st.lists(_TEXT, max_size=3),
                    "chain": st.lists(_LINK, max_size=3),
                    "issued_at": _TIMES,
                    "expires_at": _TIMES,
                },
            )
        ),
        "script": _optional(st.fixed_dictionaries({"steps": st.lists(_STEP, max_size=3)})),
    },
)


_KEY = st.sampled_from(["a", " b ", "C", "é", "\u2028x"])
_SAFE_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXT,
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEY, inner, max_size=3),
    max_leaves=8,
)


def _noisy(words: list[str]) -> st.SearchStrategy[str]:
    """Valid values with whitespace and case noise normalization must undo."""
    return st.tuples(
        st.sampled_from(words), st.sampled_from(["", " ", "\t", "\u3000"]), st.booleans()
    ).map(lambda t: f"{t[1]}{t[0].upper() if t[2] else t[0]}{t[1]}")


_ID = st.sampled_from(["a", "b", "r"])
_VALID_TARGET = st.fixed_dictionaries(
    {
        "kind": _noisy(["path", "url", "host", "repo", "other", "table"]),
        "value": _noisy(["/a", "/b", "https://X.test:1/p", "x.test", "ls"]),
    },
    optional={
        "operation": _noisy(["read", "write", "delete", "dns", "exec", "post"]),
        "sensitivity": _noisy(["pii", "secret"]),
        "endpoint_class": _noisy(["fs.read", "net.http", "other", "proc.exec"]),
        "discovery_method": _noisy(["mcp", "dynamic-mcp", "a2a", "static mcp"]),
        "destructive": st.booleans(),
        "destructive_hint": st.booleans(),
        "read_only_hint": st.booleans(),
        "open_world_hint": st.booleans(),
    },
)
_VALID_PROVENANCE = st.fixed_dictionaries(
    {"arg_path": _noisy(["$.a", "$.b"]), "source": _noisy(["user", "external", "tool_output"])},
    optional={"source_ref": _TEXT, "integrity_digest": _noisy(["ab" * 32, "0f" * 32])},
)
_VALID_STEP = st.fixed_dictionaries(
    {"tool_name": _noisy(["fs.read", "fs.write", "tool.format", "bash.run"])},
    optional={
        "args": st.dictionaries(_KEY, _SAFE_JSON, max_size=2),
        "targets": st.lists(_VALID_TARGET, max_size=2),
        "arg_provenance": st.lists(_VALID_PROVENANCE, max_size=2),
    },
)


@st.composite
def _valid_delegation(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(_ID, min_size=1, max_size=4))
    chain = [
        {
            "delegator_identity": ids[i],
            "delegate_identity": ids[i + 1],
            "scope_class": draw(_noisy(["write", "admin"])),
            "issued_at": draw(_TIMES),
        }
        for i in range(len(ids) - 1)
    ]
    return {
        "requester_identity": ids[-1],
        "chain": chain,
        "token_refs": draw(st.lists(_TEXT, max_size=2)),
        "expires_at": draw(_TIMES),
    }


_VALID_INTENT = st.fixed_dictionaries(
    {
        "tool_name": _noisy(["fs.read", "http.post", "tool.format", "db.truncate"]),
        "context": st.fixed_dictionaries(
            {
                "identity": _noisy(["bot"]),
                "workspace": _noisy(["/w", "C:\\w"]),
                "risk_class": _noisy(["low", "high"]),
            },
            optional={
                "phase": _noisy(["plan", "apply"]),
                "auth_context": st.dictionaries(
                    st.sampled_from(["k", "context_age_seconds"]), _SAFE_JSON, max_size=2
                ),
                "credential_scopes": st.lists(_TEXT, max_size=3),
                "context_set_digest": _noisy(["ab" * 32]),
                "context_evidence_mode": _noisy(["required", "best_effort"]),
                "context_refs": st.lists(_TEXT, max_size=2),
                "session_id": _TEXT,
            },
        ),
    },
    optional={
        "created_at": _TIMES,
        "args": st.dictionaries(_KEY, _SAFE_JSON, max_size=3),
        "targets": st.lists(_VALID_TARGET, max_size=4),
        "arg_provenance": st.lists(_VALID_PROVENANCE, max_size=3),
        "skill_provenance": st.fixed_dictionaries(
            {"skill_name": _noisy(["s"]), "source": _noisy(["git"]), "publisher": _noisy(["P"])}
        ),
        "delegation": _valid_delegation(),
        "script": st.fixed_dictionaries({"steps": st.lists(_VALID_STEP, min_size=1, max_size=3)}),
        "relationship": st.dictionaries(st.sampled_from(["parent_record_id"]), _TEXT, max_size=1),
    },
)


def _normalize_or_none(raw: Any) -> Any:
    try:
        return normalize_intent(raw)
    except IntentError:
        return None


@SETTINGS
@given(_VALID_INTENT)
def test_normalize_is_idempotent_on_its_own_output(raw: dict[str, Any]) -> None:
    intent = normalize_intent(raw)
    as_json = intent_to_dict(intent)
    assert normalize_intent(as_json) == intent
    assert normalize_intent(decode_intent_bytes(msgspec.json.encode(as_json))) == intent


@SETTINGS
@given(_INTENT | _VALID_INTENT)
def test_dict_and_bytes_paths_agree(raw: dict[str, Any]) -> None:
    from_dict = _normalize_or_none(raw)
    try:
        from_bytes = normalize_intent(decode_intent_bytes(json.dumps(raw).encode()))
    except IntentError:
        from_bytes = None
    assert from_dict == from_bytes


@SETTINGS
@given(_VALID_INTENT)
def test_digest_is_deterministic(raw: dict[str, Any]) -> None:
    intent = normalize_intent(raw)
    first = intent_digest(intent)
    assert first == intent_digest(normalize_intent(raw))
    assert first == intent_to_dict(intent)["intent_digest"]
    assert len(first) == 64 and int(first, 16) >= 0
    prepare_intent(intent)  # never raises on a normalized intent


_FIELD_NAMES = st.sampled_from(
    [
        "tool_name",
        "Tool_Name",
        "args",
        "ARGS",
        "targets",
        "arg_provenance",
        "context",
        "Context",
        "delegation",
        "script",
        "skill_provenance",
        "created_at",
        "relationship",
        "schema_id",
        "unknown",
        "kind",
        "value",
        "identity",
        "risk_class",
        "steps",
        "chain",
        "issued_at",
    ]
)
_ANY_KEYS = st.one_of(_FIELD_NAMES, st.text(max_size=6))
_ANYTHING = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), _TIMES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_KEYS, inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(st.dictionaries(_ANY_KEYS, _ANYTHING, max_size=6))
def test_normalize_only_raises_intent_error(raw: dict[str, Any]) -> None:
    try:
        normalize_intent(raw)
    except IntentError as err:
        assert str(err).startswith(("parse intent json: ", "normalize intent: "))


@SETTINGS
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_decode_only_raises_intent_error(data: bytes) -> None:
    try:
        normalize_intent(decode_intent_bytes(data))
    except IntentError as err:
        assert str(err).startswith(("parse intent json: ", "normalize intent: "))
