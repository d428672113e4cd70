"""Decoding intent files with the reference's Go struct semantics (intent.md §1)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import canonical_bytes
from gait.errors import EXIT_INVALID_INPUT, IntentError
from gait.intent import (
    decode_intent_bytes,
    intent_digest_payload,
    load_intent,
    normalize_intent,
    raw_risk_class,
    read_intent_file,
)

CTX = {"identity": "i", "workspace": "/w", "risk_class": "low"}


def decode(obj: Any) -> dict[str, Any]:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return decode_intent_bytes(data)


def parse_error(obj: Any) -> IntentError:
    with pytest.raises(IntentError) as info:
        decode(obj)
    assert str(info.value).startswith("parse intent json: ")
    assert info.value.details["stage"] == "parse"
    assert info.value.exit_code == EXIT_INVALID_INPUT
    return info.value


# --- reading files ------------------------------------------------------------


def test_read_missing_file_is_read_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(IntentError) as info:
        read_intent_file(missing)
    assert str(info.value) == f"read intent: open {missing}: no such file or directory"
    assert info.value.details["stage"] == "read"
    assert info.value.exit_code == EXIT_INVALID_INPUT


def test_read_directory_is_read_error(tmp_path: Path) -> None:
    with pytest.raises(IntentError, match=r"^read intent: "):
        read_intent_file(tmp_path)


def test_read_file_decodes_and_load_normalizes(tmp_path: Path) -> None:
    path = tmp_path / "i.json"
    path.write_text(json.dumps({"tool_name": " FS.Read ", "context": CTX}))
    assert read_intent_file(path)["tool_name"] == " FS.Read "
    raw, intent = load_intent(str(path))
    assert raw["tool_name"] == " FS.Read "
    assert intent.tool_name == "fs.read"


def test_parse_error_in_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{\n  "tool_name": "x",\n  oops\n}')
    with pytest.raises(IntentError) as info:
        read_intent_file(path)
    assert str(info.value).startswith("parse intent json: ")
    assert info.value.location is not None
    assert info.value.location.file == str(path)
    assert info.value.location.line == 3


# --- JSON-level errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"{", b"", b"{} {}", b"\xef\xbb\xbf{}", b"NaN", b'{"tool_name": tru}', b'{"a":1,}'],
    ids=["truncated", "empty", "trailing", "bom", "nan", "bad-literal", "trailing-comma"],
)
def test_malformed_json_is_parse_error(data: bytes) -> None:
    parse_error(data)


def test_invalid_utf8_is_parse_error() -> None:
    parse_error(b'{"tool_name": "\xff\xfe"}')


@pytest.mark.parametrize("data", [b"[]", b'"x"', b"1", b"null", b"true"])
def test_non_object_document_is_parse_error(data: bytes) -> None:
    assert "expected an intent: a JSON object" in str(parse_error(data))


def test_number_out_of_double_range_is_parse_error() -> None:
    parse_error(b'{"tool_name":"t","args":{"x":1e400},"context":{}}')


# --- type errors are parse errors ---------------------------------------------


@pytest.mark.parametrize("args", ["x", [1], 5, True])
def test_args_must_be_object(args: Any) -> None:
    parse_error({"tool_name": "t", "args": args, "context": CTX})


def test_args_null_or_absent_becomes_empty_object() -> None:
    assert normalize_intent(decode({"tool_name": "t", "args": None, "context": CTX})).args == {}
    assert normalize_intent(decode({"tool_name": "t", "context": CTX})).args == {}


@pytest.mark.parametrize("targets", [{"kind": "path"}, "x", 1])
def test_targets_must_be_array(targets: Any) -> None:
    parse_error({"tool_name": "t", "targets": targets, "context": CTX})


@pytest.mark.parametrize("element", ["path", 1, [], True])
def test_targets_elements_must_be_objects(element: Any) -> None:
    parse_error({"tool_name": "t", "targets": [element], "context": CTX})


def test_null_target_element_is_zero_target() -> None:
    raw = decode({"tool_name": "t", "targets": [None], "context": CTX})
    with pytest.raises(IntentError, match=r"^normalize intent: targets require kind and value$"):
        normalize_intent(raw)


@pytest.mark.parametrize(
    "intent",
    [
        {"tool_name": 5},
        {"tool_name": "t", "context": {"identity": 1}},
        {"tool_name": "t", "context": "ctx"},
        {"tool_name": "t", "targets": [{"kind": "path", "value": "/x", "destructive": "yes"}]},
        {"tool_name": "t", "targets": [{"kind": "path", "value": 3}]},
        {"tool_name": "t", "delegation": []},
        {"tool_name": "t", "delegation": {"token_refs": "a"}},
        {"tool_name": "t", "context": {"credential_scopes": [1]}},
        {"tool_name": "t", "script": {"steps": {}}},
        {"tool_name": "t", "skill_provenance": "s"},
        {"tool_name": "t", "args_digest": 1},
        {"tool_name": "t", "relationship": [1]},
    ],
)
def test_field_type_mismatch_is_parse_error(intent: dict[str, Any]) -> None:
    parse_error(intent)


def test_type_error_names_field_path() -> None:
    err = parse_error({"tool_name": "t", "targets": [{"kind": 1}]})
    assert err.location is not None
    assert err.location.field == "targets[0].kind"


@pytest.mark.parametrize(
    "field_value",
    ["", "yesterday", "2026-02-18", "2026-02-18T00:00:00", 1700000000, True],
)
def test_times_must_be_rfc3339_strings(field_value: Any) -> None:
    parse_error({"tool_name": "t", "created_at": field_value, "context": CTX})


def test_delegation_time_errors_are_parse_errors() -> None:
    parse_error(
        {
            "tool_name": "t",
            "context": CTX,
            "delegation": {
                "requester_identity": "r",
                "chain": [{"delegator_identity": "a", "delegate_identity": "r", "issued_at": ""}],
            },
        }
    )


def test_null_time_is_absent() -> None:
    intent = normalize_intent(decode({"tool_name": "t", "created_at": None, "context": CTX}))
    assert intent.created_at == ""


def test_created_at_offset_converted_to_utc_with_nanoseconds() -> None:
    raw = decode({"tool_name": "t", "created_at": "2026-02-18T20:13:04.953970001+01:00"})
    assert raw["created_at"] == "2026-02-18T19:13:04.953970001Z"


# --- key matching ----------------------------------------------------------------


def test_keys_match_case_insensitively() -> None:
    intent = normalize_intent(
        decode(
            {
                "Tool_Name": "FS.Read",
                "ARGS": {"Path": "/x"},
                "Targets": [{"KIND": "path", "Value": "/x", "Operation": "READ"}],
                "Context": {"Identity": "me", "WORKSPACE": "/w", "Risk_Class": "High"},
            }
        )
    )
    assert intent.tool_name == "fs.read"
    assert intent.args == {"Path": "/x"}  # map keys are data, not fields: case kept
    assert intent.targets[0].endpoint_class == "fs.read"
    assert (intent.context.identity, intent.context.risk_class) == ("me", "high")


def test_unicode_case_folding_of_keys() -> None:
    # encoding/json folds the long s (U+017F) to "s" and the Kelvin sign to "k".
    raw = decode(
        {"tool_name": "t", "context": CTX, "targets": [{"\u212aind": "path", "value": "/x"}]}
    )
    assert normalize_intent(raw).targets[0].kind == "path"
    ctx = {k: v for k, v in CTX.items() if k != "risk_class"}
    raw = decode({"tool_name": "t", "context": {**ctx, "ri\u017fk_cla\u017f\u017f": "HIGH"}})
    assert normalize_intent(raw).context.risk_class == "high"
    # issue 11 A6: two spellings of one field are rejected, not decided by order
    with pytest.raises(IntentError, match="duplicate key"):
        decode({"tool_name": "t", "context": {**CTX, "ri\u017fk_cla\u017f\u017f": "HIGH"}})


def test_unknown_keys_are_ignored_everywhere() -> None:
    raw = decode(
        {
            "tool_name": "t",
            "future_field": {"x": [1, 2]},
            "targets": [{"kind": "path", "value": "/x", "extra": 1}],
            "context": {**CTX, "agent_id": "a-1"},
        }
    )
    assert "future_field" not in raw
    intent = normalize_intent(raw)
    assert intent.targets[0].value == "/x"
    assert intent.context.identity == "i"


# Issue 11 A6 (deliberate difference from the reference, which lets the last
# spelling win or merges objects): a repeated key is rejected, naming the key.
@pytest.mark.parametrize(
    ("doc", "key"),
    [
        (b'{"tool_name":"first","tool_name":"second","context":{}}', "tool_name"),
        (b'{"tool_name":"first","TOOL_NAME":"second"}', "TOOL_NAME"),
        (b'{"TOOL_NAME":"first","tool_name":"second"}', "tool_name"),
        (
            b'{"tool_name":"t","context":{"identity":"a","workspace":"/w"},'
            b'"Context":{"risk_class":"low","identity":"b"}}',
            "Context",
        ),
        (b'{"tool_name":"t","args":{"x":1,"x":2}}', "x"),
        (b'{"tool_name":"kept","Tool_Name":null}', "Tool_Name"),
        (b'{"tool_name":"t","targets":[],"t\\u0061rgets":[]}', "targets"),
    ],
)
def test_repeated_keys_are_rejected(doc: bytes, key: str) -> None:
    with pytest.raises(IntentError) as info:
        decode(doc)
    assert info.value.exit_code == EXIT_INVALID_INPUT
    assert f"duplicate key {key!r}" in str(info.value)


# --- numbers and strings -----------------------------------------------------------


def _payload(args_json: bytes) -> bytes:
    raw = decode(
        b'{"tool_name":"t","args":' + args_json + b',"context":{"identity":"i",'
        b'"workspace":"/w","risk_class":"low"}}'
    )
    payload = intent_digest_payload(normalize_intent(raw))
    return canonical_bytes(payload["args"])


def test_integer_beyond_2_pow_53_digests_as_double() -> None:
    assert _payload(b'{"n":12345678901234567890}') == b'{"n":12345678901234567000}'
    assert _payload(b'{"n":9007199254740993}') == b'{"n":9007199254740992}'


def test_float_canonical_forms() -> None:
    assert _payload(b'{"a":1e21,"b":1e-7,"c":1.0,"d":0.000001}') == (
        b'{"a":1e+21,"b":1e-7,"c":1,"d":0.000001}'
    )


def test_negative_zero_digests_as_zero() -> None:
    assert _payload(b'{"z":-0.0,"y":-0}') == b'{"y":0,"z":0}'


def test_unicode_and_html_characters_are_not_escaped() -> None:
    assert _payload('{"s":" <&> \u2028 é 😀 "}'.encode()) == '{"s":"<&> \u2028 é 😀"}'.encode()


def test_lone_surrogate_escape_becomes_replacement_character() -> None:
    raw = decode(b'{"tool_name":"t\\ud800x","context":{}}')
    assert raw["tool_name"] == "t\ufffdx"


def test_surrogate_pair_escape_decodes() -> None:
    assert decode(b'{"tool_name":"\\ud83d\\ude00"}')["tool_name"] == "😀"


def test_decode_accepts_text() -> None:
    assert decode_intent_bytes('{"tool_name":"é"}')["tool_name"] == "é"


# --- the decoded mapping -------------------------------------------------------


def test_decoded_intent_is_plain_json_without_nulls() -> None:
    raw = decode({"tool_name": "t", "skill_provenance": None, "context": CTX, "x": 1})
    assert raw == {"tool_name": "t", "context": CTX}
    assert isinstance(raw, dict)


def test_decoded_intent_is_read_only_but_copies_are_not() -> None:
    raw = decode({"tool_name": "t", "context": CTX})
    with pytest.raises(TypeError):
        raw["tool_name"] = "other"
    with pytest.raises(TypeError):
        raw.update(tool_name="other")
    for clone in (raw.copy(), copy.copy(raw), copy.deepcopy(raw), dict(raw)):
        clone["tool_name"] = "other"
        assert normalize_intent(clone).tool_name == "other"
    assert normalize_intent(raw).tool_name == "t"


def test_plain_dict_and_decoded_bytes_normalize_identically() -> None:
    obj = {"Tool_Name": "T", "targets": [{"kind": "url", "value": "https://a.b/c"}], "context": CTX}
    assert normalize_intent(obj) == normalize_intent(decode(obj))


def test_normalize_plain_dict_type_error_is_parse_error() -> None:
    with pytest.raises(IntentError, match=r"^parse intent json: "):
        normalize_intent({"tool_name": ["t"], "context": CTX})


# --- raw_risk_class --------------------------------------------------------------


def test_raw_risk_class_from_decoded_intent() -> None:
    assert raw_risk_class(decode({"context": {"risk_class": " HIGH "}})) == "high"


def test_raw_risk_class_from_plain_mapping_is_case_insensitive() -> None:
    assert raw_risk_class({"Context": {"RISK_CLASS": "Critical\t"}}) == "critical"


@pytest.mark.parametrize(
    "raw",
    [{}, {"context": None}, {"context": "x"}, {"context": {"risk_class": 3}}, [], None],
)
def test_raw_risk_class_missing_or_mistyped_is_empty(raw: Any) -> None:
    assert raw_risk_class(raw) == ""


def test_raw_risk_class_available_when_normalization_fails() -> None:
    raw = decode({"tool_name": "", "context": {"risk_class": "High"}})
    with pytest.raises(IntentError, match="tool_name is required"):
        normalize_intent(raw)
    assert raw_risk_class(raw) == "high"
