"""Framework-free pieces of the service: request decoding, retention, pack triggers."""

from __future__ import annotations

import os
import time

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.serve.config import RetentionRule
from gait.serve.packs import is_state_changing
from gait.serve.request import RequestRejected, check_content_type, decode_request
from gait.serve.retention import matches_class, sweep
from gait.serve.sessions import sanitize_session


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_body_is_a_request_or_a_400(body):
    try:
        request = decode_request(body)
    except RequestRejected as err:
        assert err.status == 400 and err.message
    else:
        assert bytes(request.call).strip() not in (b"", b"null")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_content_type_is_accepted_or_a_415(header):
    try:
        check_content_type(header)
    except RequestRejected as err:
        assert err.status == 415
    else:
        assert header.split(";")[0].strip().lower() == "application/json"


def test_request_keeps_the_call_raw_for_the_adapter_decoder():
    request = decode_request(b'{"call": {"name": "tool.read", "args": {"b": 1, "a": 2}}}')
    assert msgspec.json.decode(bytes(request.call)) == {
        "name": "tool.read",
        "args": {"b": 1, "a": 2},
    }


@pytest.mark.parametrize(
    ("artifact_class", "name", "expected"),
    [
        ("trace", "trace__20260101T000000.000000001.json", True),
        ("trace", ".trace_x.json.abc.tmp", False),  # an atomic write in progress
        ("trace", "notes.json", False),
        ("runpack", "runpack_run_a_1.zip", True),
        ("runpack", "s1_cp_000002.zip", True),
        ("runpack", "pack_run_a.zip", False),
        ("pack", "pack_run_a.zip", True),
        ("session", "s1.journal.jsonl", True),
        ("session", "s1.journal_chain.json", True),
    ],
)
def test_retention_classes(artifact_class, name, expected):
    assert matches_class(artifact_class, name) is expected


def test_sweep_keeps_the_newest_and_drops_the_old(tmp_path):
    now = time.time_ns()
    for age_s, name in [(10, "trace_a.json"), (20, "trace_b.json"), (30, "trace_c.json")]:
        path = tmp_path / name
        path.write_text("{}")
        stamp = (now - age_s * 1_000_000_000) / 1e9
        os.utime(path, (stamp, stamp))
    (tmp_path / "other.txt").write_text("kept")
    assert sweep(str(tmp_path), "trace", RetentionRule(max_count=2), now) == (0, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.txt",
        "trace_a.json",
        "trace_b.json",
    ]
    rule = RetentionRule(max_age_ns=15 * 1_000_000_000)
    assert sweep(str(tmp_path), "trace", rule, now) == (1, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt", "trace_a.json"]
    assert sweep(str(tmp_path / "missing"), "trace", rule, now) == (0, 0)


def _intent(tool: str, *operations: str):
    from gait.intent import normalize_intent

    targets = [
        {"kind": "path", "value": f"/w/{i}", "operation": op} for i, op in enumerate(operations)
    ]
    return normalize_intent(
        {
            "tool_name": tool,
            "args": {},
            "targets": targets,
            "context": {"identity": "a", "workspace": "/w", "risk_class": "high"},
        }
    )


@pytest.mark.parametrize(
    ("tool", "operations", "changing"),
    [
        ("tool.read", (), False),
        ("repo.list_files", (), False),
        ("tool.write", (), True),
        ("tool.anything", ("read",), False),
        ("tool.read", ("read", "delete"), True),
        ("tool.sync", (), True),
    ],
)
def test_state_changing_calls_get_packs(tool, operations, changing):
    assert is_state_changing(_intent(tool, *operations)) is changing


@pytest.mark.parametrize(
    ("session", "stem"),
    [("s1", "s1"), ("team/alpha", "team_alpha"), ("../../etc", "etc"), ("///", "session")],
)
def test_session_ids_become_safe_file_names(session, stem):
    assert sanitize_session(session) == stem


@pytest.mark.parametrize("mode", ["Token", "TOKEN", "", "bearer"])
def test_auth_mode_other_than_off_fails_closed_without_validate_config(tmp_path, mode):
    # A library caller may build the service without validate_config: a mode that
    # is not exactly "off" must still demand the bearer token, never open the door.
    from gait.serve.config import ServeConfig
    from gait.serve.service import DecisionService
    from tests.serve.conftest import POLICY

    config = ServeConfig(
        policy=str(POLICY), auth_mode=mode, auth_token_env="T", trace_dir=str(tmp_path)
    )
    service = DecisionService(config, environ={"T": "s3cret"})
    try:
        for header in (None, "", "Bearer wrong", "Basic s3cret"):
            with pytest.raises(RequestRejected) as err:
                service.check_auth(header)
            assert err.value.status == 401
        service.check_auth("Bearer s3cret")
        # An unset token matches nothing, not the empty string.
        empty = DecisionService(config, environ={})
        try:
            with pytest.raises(RequestRejected):
                empty.check_auth("Bearer  ")
            with pytest.raises(RequestRejected):
                empty.check_auth("Bearer x")
        finally:
            empty.close()
    finally:
        service.close()


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("../p.zip", True),
        ("a/../../p.zip", True),
        ("a\\..\\p.zip", True),
        ("\\x\\..\\p.zip", True),  # not absolute on POSIX: still a relative traversal
        ("a/..b/p.zip", False),
        ("/abs/../p.zip", False),
        ("packs/p.zip", False),
        ("", False),
    ],
)
def test_check_pack_out_refuses_relative_parent_traversal(path, refused):
    from gait.errors import InvalidInput
    from gait.serve.packs import check_pack_out

    if refused:
        with pytest.raises(InvalidInput, match="must not traverse parent directories"):
            check_pack_out(path)
    else:
        check_pack_out(path)
