"""The post-decision guards agree on every MCP surface: ``mcp_trust`` and the emergency stop.

``gate eval`` applies neither (policy.md §12: mcp_trust is for the MCP proxy
commands), so these cases compare ``mcp proxy``, ``mcp serve`` and ``mcp wrap``
with each other and with the expected verdict and reason code. Each call is the
one ``mcp wrap`` builds for the same flags (gait.mcp.gateway_call.build_tool_call),
so all three decide the same intent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from gait.mcp.gateway_call import build_tool_call
from tests.serve_process import ServeProcess

REPO = Path(__file__).resolve().parents[2]
LOW = (REPO / "examples" / "policy" / "base_low_risk.yaml").read_text()
WRAP_SERVER = REPO / "tests" / "mcp" / "fixtures" / "recording_server.py"
CONTEXT = {"identity": "agent.demo", "workspace": "/workspace", "risk_class": "high",
           "session_id": "sess-guards"}  # fmt: skip
ARGS = {"path": "/workspace/a.txt"}


class Case(NamedTuple):
    name: str
    server_id: str
    job_id: str
    verdict: str
    reason: str  # one reason code the decision must carry


CASES = [
    Case("trusted-live-job", "github", "job-live", "allow", "mcp_trust_verified"),
    Case("unknown-server", "evil", "job-live", "block", "mcp_trust_server_unknown"),
    Case("stopped-job", "github", "job-stopped", "block", "emergency_stop_preempted"),
    Case("unknown-job", "github", "job-nobody", "block", "emergency_stop_state_unavailable"),
]


class Seen(NamedTuple):
    verdict: str
    reason_codes: tuple[str, ...]
    violations: tuple[str, ...]
    policy_digest: str
    intent_digest: str


def _gait(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gait.cli.main", *args],
        cwd=cwd,
        env={**os.environ, "HOME": str(cwd)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A policy with an mcp_trust block, its snapshot, and a live and a stopped job."""
    work = tmp_path_factory.mktemp("guards")
    fresh = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    snapshot = work / "snapshot.json"
    entry = {"server_id": "github", "server_name": "GitHub", "publisher": "acme",
             "status": "trusted", "score": 0.9, "updated_at": fresh}  # fmt: skip
    snapshot.write_text(json.dumps({"schema_id": "gait.mcp.trust_snapshot",
                                    "schema_version": "1.0.0", "entries": [entry]}))  # fmt: skip
    policy = work / "policy.yaml"
    policy.write_text(LOW + f"mcp_trust:\n  snapshot: {snapshot}\n  min_score: 0.5\n")
    jobs = work / "jobs"
    for job in ("job-live", "job-stopped"):
        assert _gait("job", "submit", "--id", job, "--root", str(jobs), cwd=work).returncode == 0
    assert (
        _gait("job", "stop", "--id", "job-stopped", "--root", str(jobs), cwd=work).returncode == 0
    )
    return {"work": work, "policy": str(policy), "jobs": str(jobs)}


def _call(case: Case) -> dict[str, Any]:
    context = {**CONTEXT, "job_id": case.job_id}
    return build_tool_call("tool.read", ARGS, None, context, server={"server_id": case.server_id})


def _seen(payload: dict[str, Any]) -> Seen:
    return Seen(payload["verdict"], tuple(payload.get("reason_codes") or ()),
                tuple(payload.get("violations") or ()), payload["policy_digest"],
                payload["intent_digest"])  # fmt: skip


def _proxy(world: dict[str, Any], case: Case, work: Path) -> Seen:
    proc = _gait("mcp", "proxy", world["policy"], "-", "--job-root", world["jobs"], "--json",
                 cwd=work, stdin=json.dumps(_call(case)))  # fmt: skip
    payload = json.loads(proc.stdout)
    assert "verdict" in payload, (proc.stdout, proc.stderr)
    assert proc.returncode == {"block": 3}.get(payload["verdict"], 0), proc.stdout
    return _seen(payload)


def _serve(world: dict[str, Any], cases: list[Case], work: Path) -> dict[str, Seen]:
    import httpx

    server = ServeProcess(
        work,
        ["--policy", world["policy"], "--listen", "127.0.0.1:0", "--reload-interval", "0",
         "--job-root", world["jobs"]],
    )  # fmt: skip
    try:
        seen = {}
        for case in cases:
            response = httpx.post(
                server.url + "/v1/evaluate", json={"call": _call(case)}, timeout=30
            )
            assert response.status_code == 200, response.text
            seen[case.name] = _seen(response.json())
        return seen
    finally:
        server.stop()


def _wrap(world: dict[str, Any], case: Case, work: Path) -> Seen:
    """One gateway (server id and job id are its flags); the decision is read from its
    log line and signed trace, and the refusal the agent got must say the same."""
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    work.mkdir()
    stderr = work / "wrap.stderr"
    record = work / "calls.jsonl"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in CONTEXT.items()]
    argv = ["-m", "gait.cli.main", "mcp", "wrap", world["policy"], "--trace-dir",
            str(work / "traces"), *flags, "--job-id", case.job_id, "--job-root", world["jobs"],
            "--server-id", case.server_id, "--", sys.executable, str(WRAP_SERVER),
            "--record", str(record)]  # fmt: skip
    box: dict[str, Any] = {}

    async def main() -> None:
        params = StdioServerParameters(command=sys.executable, args=argv, env=dict(os.environ),
                                       cwd=str(work))  # fmt: skip
        with anyio.fail_after(60), open(stderr, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                result = await session.call_tool("tool.read", ARGS)
                box["refusal"] = result.structured_content if result.is_error else None

    anyio.run(main)
    lines = [ln for ln in stderr.read_text().splitlines() if " verdict=" in ln]
    assert len(lines) == 1, stderr.read_text()
    fields = dict(part.split("=", 1) for part in lines[0].split(": ", 1)[1].split())
    trace = json.loads(Path(fields["trace"]).read_text())
    listed = lambda text: () if text == "-" else tuple(text.split(","))  # noqa: E731
    seen = Seen(trace["verdict"], listed(fields["reasons"]), listed(fields["violations"]),
                trace["policy_digest"], trace["intent_digest"])  # fmt: skip
    assert tuple(trace.get("violations") or ()) == seen.violations
    refusal = box["refusal"]
    assert (refusal is None) == (seen.verdict == "allow")
    if refusal is not None:
        assert refusal["executed"] is False and _seen(refusal) == seen
        assert not record.exists()  # the wrapped tool never ran
    return seen


def test_trust_and_emergency_stop_agree_on_every_mcp_surface(world: dict[str, Any]) -> None:
    work: Path = world["work"]
    served = _serve(world, CASES, work)
    for case in CASES:
        proxied = _proxy(world, case, work)
        wrapped = _wrap(world, case, work / f"wrap-{case.name}")
        assert proxied.verdict == case.verdict, (case.name, proxied)
        assert case.reason in proxied.reason_codes, (case.name, proxied)
        assert served[case.name] == proxied, case.name
        assert wrapped == proxied, case.name
