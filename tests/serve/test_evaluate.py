"""Decisions over HTTP (serve_sdk.md §3.1, §3.2, §3.4) against a real server process."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import _keypair
from tests.serve.conftest import call_body, client

TRACE_NAME = re.compile(r"trace_(run_[A-Za-z0-9_-]+)?_\d{8}T\d{6}\.\d{9}\.json")


@pytest.fixture
def prod_key(tmp_path: Path) -> tuple[str, object]:
    from gait.signing import write_private_key

    pair = _keypair(bytes(range(32)))
    path = tmp_path / "serve.key"
    write_private_key(path, pair)
    return str(path), pair


def test_json_endpoint_returns_the_proxy_object_plus_exit_code(shared_server):
    server, tmp_path = shared_server, shared_server.workdir
    with client(server.url) as http:
        response = http.post("/v1/evaluate", json=call_body("tool.delete"))
    assert response.status_code == 200  # compat: every decision is 200
    assert response.headers["content-type"] == "application/json"
    assert response.content.endswith(b"}\n") and response.content.count(b"\n") == 1
    body = response.json()
    assert body["ok"] is True and body["executed"] is False
    assert body["verdict"] == "block" and body["exit_code"] == 3
    assert "destructive_blocked" in body["reason_codes"]
    assert body["matched_rule"] == "block-destructive"
    assert body["adapter"] == "mcp" and body["tool_name"] == "tool.delete"
    assert body["run_id"].startswith("run_mcp_")
    assert "correlation_id" not in body
    trace_path = Path(body["trace_path"])
    assert trace_path.parent == Path("gait-out/mcp-serve/traces")
    assert TRACE_NAME.fullmatch(trace_path.name) and trace_path.name.startswith("trace__")
    trace = json.loads((tmp_path / trace_path).read_text())
    assert trace["trace_id"] == body["trace_id"] and trace["verdict"] == "block"
    # Keys are sorted, as every gait JSON output.
    assert list(body) == sorted(body)


def test_sse_and_ndjson_frames(shared_server):
    server = shared_server
    with client(server.url) as http:
        sse = http.post("/v1/evaluate/sse", json=call_body("tool.read"))
        stream = http.post("/v1/evaluate/stream", json=call_body("tool.write"))
    assert sse.status_code == 200
    assert sse.headers["content-type"].startswith("text/event-stream")
    assert sse.headers["cache-control"] == "no-cache"
    assert sse.headers["connection"] == "keep-alive"
    text = sse.text
    assert text.startswith("event: evaluate\ndata: ") and text.endswith("\n\n")
    data = json.loads(text.removeprefix("event: evaluate\ndata: "))
    assert data["verdict"] == "allow" and data["exit_code"] == 0
    assert stream.headers["content-type"] == "application/x-ndjson"
    lines = stream.text.splitlines()
    assert len(lines) == 1 and stream.text.endswith("\n")
    line = json.loads(lines[0])
    assert line["verdict"] == "require_approval" and line["exit_code"] == 4


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("compat", {"tool.read": 200, "tool.delete": 200, "tool.write": 200}),
        ("strict", {"tool.read": 200, "tool.delete": 403, "tool.write": 409}),
    ],
)
def test_http_verdict_status(start_server, mode, expected):
    server = start_server("--http-verdict-status", mode)
    seen = {}
    with client(server.url) as http:
        for tool in expected:
            response = http.post("/v1/evaluate", json=call_body(tool))
            assert response.json()["ok"] is True
            seen[tool] = response.status_code
    assert seen == expected


def test_run_id_names_the_trace_and_every_trace_verifies(start_server, tmp_path, prod_key):
    from gait.trace.store import verify_trace_file

    key_path, pair = prod_key
    server = start_server("--key-mode", "prod", "--private-key", key_path, "--trace-dir", "tr")
    with client(server.url) as http:
        named = http.post("/v1/evaluate", json=call_body(run_id="build 42/a")).json()
        ctx_body = call_body()
        ctx_body["call"]["context"]["run_id"] = "from-context"
        from_ctx = http.post("/v1/evaluate", json=ctx_body).json()
    assert named["run_id"] == "run_build_42_a"
    assert Path(named["trace_path"]).name.startswith("trace_run_build_42_a_")
    assert from_ctx["run_id"] == "run_from-context"
    assert Path(from_ctx["trace_path"]).name.startswith("trace__")
    traces = sorted((tmp_path / "tr").iterdir())
    assert len(traces) == 2
    for path in traces:
        assert verify_trace_file(path, pair)["ok"] is True
    assert "warnings" not in named or not any("dev mode" in w for w in named["warnings"])


def test_adapter_default_and_per_request_override(start_server):
    server = start_server("--adapter", "openai")
    openai_call = {"function": {"name": "tool.read", "arguments": '{"path": "/tmp/x"}'}}
    anthropic_call = {"type": "tool_use", "name": "tool.read", "input": {"path": "/tmp/x"}}
    with client(server.url) as http:
        first = http.post("/v1/evaluate", json={"call": openai_call}).json()
        second = http.post(
            "/v1/evaluate", json={"call": anthropic_call, "adapter": "anthropic"}
        ).json()
        wrong = http.post("/v1/evaluate", json={"call": anthropic_call})
    assert first["adapter"] == "openai" and first["tool_name"] == "tool.read"
    assert second["adapter"] == "anthropic"
    assert wrong.status_code == 400


def test_client_paths_and_runpacks_when_allowed(start_server, tmp_path):
    server = start_server("--allow-client-artifact-paths", "--runpack-dir", "rp")
    with client(server.url) as http:
        chosen = http.post(
            "/v1/evaluate",
            json=call_body(trace_path="mine/t.json", runpack_out="mine/r.zip"),
        ).json()
        emitted = http.post("/v1/evaluate", json=call_body(run_id="r9", emit_runpack=True)).json()
    assert chosen["trace_path"] == "mine/t.json" and (tmp_path / "mine/t.json").is_file()
    assert chosen["runpack_path"] == "mine/r.zip"
    assert zipfile.is_zipfile(tmp_path / "mine/r.zip")
    name = Path(emitted["runpack_path"]).name
    assert re.fullmatch(r"runpack_run_r9_\d{8}T\d{6}\.\d{9}\.zip", name)
    assert zipfile.is_zipfile(tmp_path / "rp" / name)


def test_exports_append_one_line_per_decision(start_server, tmp_path):
    server = start_server("--export-log-out", "log.jsonl", "--export-otel-out", "otel.jsonl")
    with client(server.url) as http:
        for tool in ("tool.read", "tool.delete", "tool.write"):
            assert http.post("/v1/evaluate", json=call_body(tool)).status_code == 200
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    otel = [json.loads(x) for x in (tmp_path / "otel.jsonl").read_text().splitlines()]
    assert [x["verdict"] for x in log] == ["allow", "block", "require_approval"]
    assert [x["attributes"]["gait.verdict"] for x in otel] == [
        "allow",
        "block",
        "require_approval",
    ]


def test_retention_keeps_the_newest_traces(start_server, tmp_path):
    server = start_server("--trace-dir", "tr", "--trace-max-count", "2")
    warnings = []
    with client(server.url) as http:
        for _ in range(4):
            warnings.append(http.post("/v1/evaluate", json=call_body()).json().get("warnings", []))
        last = http.post("/v1/evaluate", json=call_body()).json()
    assert len(list((tmp_path / "tr").glob("*.json"))) == 2
    assert Path(last["trace_path"]).name in {p.name for p in (tmp_path / "tr").iterdir()}
    assert "retention_trace_removed_age=0 removed_count=1" in last["warnings"]


def test_packs_on_request_and_for_state_changing_calls(start_server, tmp_path):
    from gait.packs.verify import verify_any_pack

    pair = _keypair(bytes(range(32)))
    server = start_server(
        "--pack-dir", "packs", "--key-mode", "prod", "--private-key", _key(tmp_path)
    )
    with client(server.url) as http:
        read = http.post("/v1/evaluate", json=call_body("tool.read", run_id="r")).json()
        asked = http.post(
            "/v1/evaluate", json=call_body("tool.read", run_id="r", emit_pack=True)
        ).json()
        write = http.post("/v1/evaluate", json=call_body("tool.write", run_id="w")).json()
    assert "pack_path" not in read  # a read is not state-changing: no automatic pack
    for body in (asked, write):
        path = tmp_path / body["pack_path"]
        assert re.fullmatch(r"pack_run_[rw]_\d{8}T\d{6}\.\d{9}\.zip", path.name)
        assert body["pack_id"]
        report = verify_any_pack(path, public_key=pair, require_signature=True)
        assert report.ok is True and report.pack_id == body["pack_id"]


def test_pack_requests_need_a_pack_dir_or_a_safe_path(start_server):
    server = start_server("--allow-client-artifact-paths")
    with client(server.url) as http:
        emit = http.post("/v1/evaluate", json=call_body(emit_pack=True))
        escape = http.post("/v1/evaluate", json=call_body(pack_out="../evil.zip"))
    assert (emit.status_code, emit.json()["error"]) == (
        400,
        "request.emit_pack requires the server's --pack-dir",
    )
    assert escape.status_code == 400
    assert "must not traverse parent directories" in escape.json()["error"]


def _key(tmp_path: Path) -> str:
    from gait.signing import write_private_key

    path = tmp_path / "pack.key"
    write_private_key(path, _keypair(bytes(range(32))))
    return str(path)


def test_healthz_reports_state_health_and_degrades_without_failing(start_server):
    server = start_server("--state", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    with client(server.url) as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["service"] == "gait.mcp.serve"
    assert body["status"] == "degraded" and body["state"]["ok"] is False
    assert "127.0.0.1:1" in body["state"]["detail"]


def test_healthz_is_ok_with_the_default_local_state(shared_server):
    server = shared_server
    with client(server.url) as http:
        body = http.get("/healthz").json()
    assert body["status"] == "ok" and body["state"]["ok"] is True
    assert len(body["policy_digest"]) == 64


def test_session_decisions_are_journaled_and_checkpointed(start_server, tmp_path):
    from gait.runpack.session import read_chain, read_journal

    server = start_server("--runpack-dir", "rp", "--session-dir", "sess")
    warnings = []
    with client(server.url) as http:
        for tool in ("tool.read", "tool.delete", "tool.write", "tool.read"):
            body = call_body(tool, run_id="r1", session_id="team/alpha", checkpoint_interval=2)
            response = http.post("/v1/evaluate", json=body)
            assert response.status_code == 200, response.text
            warnings.append(response.json()["warnings"])
    journal_path = tmp_path / "sess" / "team_alpha.journal.jsonl"
    journal = read_journal(str(journal_path))
    assert journal.session_id == "team/alpha" and journal.run_id == "run_r1"
    assert [e["verdict"] for e in journal.events] == [
        "allow",
        "block",
        "require_approval",
        "allow",
    ]
    assert [e["sequence"] for e in journal.events] == [1, 2, 3, 4]
    assert "session_journal=sess/team_alpha.journal.jsonl sequence=3" in warnings[2]
    checkpoints = [w for ws in warnings for w in ws if w.startswith("session_checkpoint=")]
    assert checkpoints == [
        "session_checkpoint=rp/team_alpha_cp_000002.zip chain=sess/team_alpha.journal_chain.json",
        "session_checkpoint=rp/team_alpha_cp_000004.zip chain=sess/team_alpha.journal_chain.json",
    ]
    chain = read_chain(str(tmp_path / "sess" / "team_alpha.journal_chain.json"))
    assert [c["sequence_end"] for c in chain["checkpoints"]] == [2, 4]
    assert (tmp_path / "rp" / "team_alpha_cp_000004.zip").is_file()


def test_a_journal_of_another_run_gets_a_run_specific_journal(start_server, tmp_path):
    server = start_server("--session-dir", "sess")
    with client(server.url) as http:
        first = http.post("/v1/evaluate", json=call_body(run_id="a", session_id="s")).json()
        second = http.post("/v1/evaluate", json=call_body(run_id="b", session_id="s")).json()
    assert "session_journal=sess/s.journal.jsonl sequence=1" in first["warnings"]
    assert "session_journal=sess/s_run_b.journal.jsonl sequence=1" in second["warnings"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"checkpoint_interval": 2},
            "request.checkpoint_interval requires the server's --runpack-dir",
        ),
        ({"checkpoint_interval": -1}, "request.checkpoint_interval must be >= 0"),
    ],
)
def test_checkpoint_requests_that_cannot_be_honoured_are_400(shared_server, extra, message):
    before = set((shared_server.workdir / "gait-out" / "mcp-serve" / "traces").glob("*"))
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json=call_body(**extra))
    assert response.status_code == 400
    assert response.json()["error"] == message
    after = set((shared_server.workdir / "gait-out" / "mcp-serve" / "traces").glob("*"))
    assert after == before  # refused before any trace was written


def test_a_call_of_an_unknown_job_is_blocked(shared_server):
    body = call_body("tool.read")
    body["call"]["context"]["job_id"] = "job-that-does-not-exist"
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json=body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["verdict"] == "block" and payload["exit_code"] == 3
    assert "emergency_stop_state_unavailable" in payload["reason_codes"]


def test_concurrent_calls_of_a_new_session_share_one_journal(start_server, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from gait.runpack.session import read_journal

    server = start_server("--session-dir", "sess")

    def one(_: int) -> int:
        with client(server.url) as http:
            body = call_body(run_id="race", session_id="fresh")
            return http.post("/v1/evaluate", json=body).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(32)))
    assert statuses == [200] * 32
    journal = read_journal(str(tmp_path / "sess" / "fresh.journal.jsonl"))
    assert sorted(e["sequence"] for e in journal.events) == list(range(1, 33))
