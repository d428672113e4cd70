"""One intent, every surface, one decision.

Each case is a call written two ways: the intent file ``gate eval`` reads and
the tool-call payload an agent runtime sends. Every surface must report the
same verdict, reason codes, violations, matched rule and digests as
``gate eval`` does for the intent.

Adding a surface (``mcp serve``, ``mcp wrap``, the SDK, ...): write a function
``(case, workdir) -> Observed`` that sends ``case.call`` (with
``case.adapter``) or ``case.intent`` through that surface against
``case.policy``, and register it with ``@surface("name")``. The
parametrization picks it up for every case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.serve_process import ServeProcess

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "policy"
HIGH = str(EXAMPLES / "base_high_risk.yaml")
LOW = str(EXAMPLES / "base_low_risk.yaml")
DEFAULT_CONTEXT = {"identity": "mcp-proxy", "workspace": ".", "risk_class": "high"}


class Observed(NamedTuple):
    """What every surface must agree on."""

    verdict: str
    reason_codes: tuple[str, ...]
    violations: tuple[str, ...]
    matched_rule: str
    policy_digest: str
    intent_digest: str

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Observed:
        return cls(
            payload["verdict"],
            tuple(payload.get("reason_codes") or ()),
            tuple(payload.get("violations") or ()),
            payload.get("matched_rule") or "",
            payload["policy_digest"],
            payload["intent_digest"],
        )


@dataclass(frozen=True)
class Case:
    name: str
    policy: str
    intent: dict[str, Any]  # the intent request for `gate eval`
    call: dict[str, Any]  # the same call as the runtime sends it
    verdict: str  # expected, so that all surfaces agreeing on a wrong answer still fails
    adapter: str = "mcp"
    tags: tuple[str, ...] = field(default=())


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / "intents" / name).read_text())


def _native(intent: dict[str, Any]) -> dict[str, Any]:
    keys = ("args", "targets", "arg_provenance", "context", "created_at")
    return {"name": intent["tool_name"], **{k: intent[k] for k in keys if k in intent}}


def _example_case(name: str, verdict: str) -> Case:
    intent = _example(f"intent_{name}.json")
    return Case(name, HIGH, intent, _native(intent), verdict)


SCRIPT_STEPS = [
    {
        "tool_name": "tool.read",
        "args": {"path": "/workspace/a.txt"},
        "targets": [{"kind": "path", "value": "/workspace/a.txt", "operation": "read"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
    },
    {
        "tool_name": "tool.write",
        "args": {"path": "/workspace/b.txt"},
        "targets": [{"kind": "path", "value": "/workspace/b.txt", "operation": "write"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
    },
]
# The runtime spells a step's tool as "name".
SCRIPT_CALL_STEPS = [
    {"name": s["tool_name"], **{k: v for k, v in s.items() if k != "tool_name"}}
    for s in SCRIPT_STEPS
]
SCRIPT_CONTEXT = {"identity": "agent", "workspace": "/workspace", "risk_class": "high",
                  "session_id": "s-script"}  # fmt: skip

CASES = [
    _example_case("read", "allow"),
    _example_case("write", "require_approval"),
    _example_case("delete", "block"),
    _example_case("tainted_egress", "block"),
    Case(
        "openai-name-and-args-only",
        LOW,
        {"tool_name": "tool.read", "args": {"path": "/x"}, "context": DEFAULT_CONTEXT},
        {"function": {"name": "tool.read", "arguments": '{"path": "/x"}'}},
        "allow",
        adapter="openai",
    ),
    Case(
        "anthropic-high-risk-fails-closed",
        HIGH,
        {"tool_name": "tool.write", "args": {"path": "/x"}, "context": DEFAULT_CONTEXT},
        {"type": "tool_use", "name": "tool.write", "input": {"path": "/x"}},
        "block",
        adapter="anthropic",
    ),
    Case(
        "langchain-string-input",
        LOW,
        {"tool_name": "tool.search", "args": {"q": "gait"}, "context": DEFAULT_CONTEXT},
        {"tool": "tool.search", "tool_input": '{"q": "gait"}'},
        "allow",
        adapter="langchain",
    ),
    Case(
        "claude-code-bash",
        LOW,
        {
            "tool_name": "tool.exec",
            "args": {"command": "rm -rf build"},
            "targets": [{"kind": "other", "value": "rm -rf build", "operation": "execute"}],
            "context": {
                **DEFAULT_CONTEXT,
                "session_id": "cc-1",
                "auth_context": {"hook_event_name": "PreToolUse", "adapter": "claude_code"},
            },
        },
        {
            "session_id": "cc-1",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "rm -rf build"},
        },
        "require_approval",
        adapter="claude_code",
    ),
    Case(
        "script",
        HIGH,
        {"tool_name": "script", "script": {"steps": SCRIPT_STEPS}, "context": SCRIPT_CONTEXT},
        {"script": {"steps": SCRIPT_CALL_STEPS}, "context": SCRIPT_CONTEXT},
        "require_approval",
    ),
]


# --- surfaces ---------------------------------------------------------------

SURFACES: dict[str, Callable[[Case, Path], Observed]] = {}


def surface(
    name: str,
) -> Callable[[Callable[[Case, Path], Observed]], Callable[[Case, Path], Observed]]:
    def register(fn: Callable[[Case, Path], Observed]) -> Callable[[Case, Path], Observed]:
        SURFACES[name] = fn
        return fn

    return register


def gait_cli(*args: str, cwd: Path, stdin: str | None = None) -> dict[str, Any]:
    exe = shutil.which("gait", path=str(Path(sys.executable).parent)) or shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    proc = subprocess.run(
        [*base, *args, "--json"],
        cwd=cwd,
        env={**os.environ, "HOME": str(cwd)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (0, 3, 4), (args, proc.stdout, proc.stderr)
    payload = json.loads(proc.stdout)
    expected_code = {"block": 3, "require_approval": 4}.get(payload["verdict"], 0)
    assert proc.returncode == expected_code, (args, payload)
    return payload


def gate_eval(case: Case, work: Path) -> Observed:
    path = work / "intent.json"
    path.write_text(json.dumps(case.intent))
    return Observed.of(
        gait_cli("gate", "eval", "--policy", case.policy, "--intent", str(path), cwd=work)
    )


@surface("mcp proxy")
def mcp_proxy_cli(case: Case, work: Path) -> Observed:
    path = work / "call.json"
    path.write_text(json.dumps(case.call))
    payload = gait_cli("mcp", "proxy", case.policy, str(path), "--adapter", case.adapter, cwd=work)
    assert payload["executed"] is False
    return Observed.of(payload)


@surface("mcp bridge (stdin)")
def mcp_bridge_stdin(case: Case, work: Path) -> Observed:
    payload = gait_cli(
        "mcp", "bridge", "--policy", case.policy, "--call", "-", "--adapter", case.adapter,
        cwd=work, stdin=json.dumps(case.call),
    )  # fmt: skip
    return Observed.of(payload)


@surface("gait.mcp library")
def mcp_library(case: Case, work: Path) -> Observed:
    from gait.gate import Gate, GateOptions
    from gait.mcp import decode_tool_call, evaluate_call

    gate = Gate.from_policy_file(case.policy, GateOptions(state=str(work / "state.json")))
    call = decode_tool_call(json.dumps(case.call), adapter=case.adapter)
    result = evaluate_call(gate, call, trace_path=str(work / "lib_trace.json"))
    close = getattr(gate, "close", None)
    if close is not None:
        close()
    payload = result.payload()
    assert result.exit_code == {"block": 3, "require_approval": 4}.get(payload["verdict"], 0)
    return Observed.of(payload)


# --- mcp serve (HTTP) -----------------------------------------------------------
# One real server per policy, started on first use and stopped when the module ends.

_SERVE_SERVERS: dict[str, tuple[ServeProcess, str]] = {}


def _serve_url(policy: str) -> str:
    import tempfile

    if policy not in _SERVE_SERVERS:
        workdir = tempfile.mkdtemp(prefix="gait-surface-serve-")
        args = ["--policy", policy, "--listen", "127.0.0.1:0", "--reload-interval", "0"]
        try:
            server = ServeProcess(Path(workdir), args)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        _SERVE_SERVERS[policy] = (server, workdir)
    return _SERVE_SERVERS[policy][0].url


@pytest.fixture(scope="module", autouse=True)
def _stop_serve_servers() -> Any:
    yield
    for server, workdir in _SERVE_SERVERS.values():
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _SERVE_SERVERS.clear()


@surface("mcp serve")
def mcp_serve_http(case: Case, work: Path) -> Observed:
    import httpx

    url = _serve_url(case.policy)
    response = httpx.post(
        url + "/v1/evaluate", json={"call": case.call, "adapter": case.adapter}, timeout=30
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["executed"] is False
    assert payload["exit_code"] == {"block": 3, "require_approval": 4}.get(payload["verdict"], 0)
    return Observed.of(payload)


# --- the Python SDK (engineer "sdk") ----------------------------------------------
# In process (with and without traces) and as an HTTP client of the real `mcp serve`
# servers above.


def _sdk_observed(result: Any) -> Observed:
    payload = result.to_dict()
    assert result.exit_code == {"block": 3, "require_approval": 4}.get(result.verdict, 0)
    return Observed.of(payload)


@surface("sdk evaluate_gate")
def sdk_evaluate_gate(case: Case, work: Path) -> Observed:
    from gait.sdk import evaluate_gate

    result = evaluate_gate(case.policy, case.intent, trace_out=str(work / "sdk_trace.json"))
    assert Path(result.trace_path).is_file()
    return _sdk_observed(result)


@surface("sdk no-trace")
def sdk_no_trace(case: Case, work: Path) -> Observed:
    from gait.sdk import ToolAdapter

    result = ToolAdapter(case.policy, write_trace=False).gate_intent(case.intent)
    assert result.trace_path == ""
    return _sdk_observed(result)


@surface("sdk http (mcp serve)")
def sdk_http(case: Case, work: Path) -> Observed:
    from gait.sdk import ToolAdapter

    adapter = ToolAdapter(server_url=_serve_url(case.policy))  # the "mcp serve" servers
    try:
        return _sdk_observed(adapter.gate_intent(case.intent))
    finally:
        adapter.gate.close()  # type: ignore[union-attr]


# --- the test -------------------------------------------------------------------

_BASELINE: dict[str, Observed] = {}


def baseline(case: Case, tmp_path_factory: pytest.TempPathFactory) -> Observed:
    """``gate eval`` on the case's intent, computed once per case."""
    if case.name not in _BASELINE:
        observed = gate_eval(case, tmp_path_factory.mktemp(f"gate-eval-{case.name}"))
        assert observed.verdict == case.verdict, observed
        _BASELINE[case.name] = observed
    return _BASELINE[case.name]


@pytest.mark.parametrize("surface_name", sorted(SURFACES))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_surface_agrees_with_gate_eval(
    case: Case,
    surface_name: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = baseline(case, tmp_path_factory)
    monkeypatch.chdir(tmp_path)
    assert SURFACES[surface_name](case, tmp_path) == expected


# --- mcp wrap (engineer "wrap") ---------------------------------------------------
# The gateway builds the intent itself from the tool name, the arguments, the wrapped
# server's tool annotations and its own context flags (docs/mcp-wrap.md), so the calls
# above, which carry their own targets and provenance, cannot pass through it verbatim.
# These cases write out the intent the gateway must build and send the call through the
# whole path (SDK client -> `gait mcp wrap` -> a real MCP server); one gateway per policy.

WRAP_SERVER = REPO / "tests" / "mcp" / "fixtures" / "recording_server.py"
WRAP_CONTEXT = {"identity": "agent.demo", "workspace": "/workspace", "risk_class": "medium",
                "session_id": "sess-demo"}  # fmt: skip
WRAP_FLAGS = ("--identity", "agent.demo", "--workspace", "/workspace", "--risk-class", "medium",
              "--session-id", "sess-demo")  # fmt: skip


def _wrap_case(
    name: str, policy: str, tool: str, args: dict[str, Any], targets: list[Any], verdict: str
) -> Case:
    intent = {"tool_name": tool, "args": args, "targets": targets, "context": WRAP_CONTEXT}
    return Case(f"wrap-{name}", policy, intent, {"name": tool, "arguments": args}, verdict)


def _path(value: str, operation: str, **hints: bool) -> dict[str, Any]:
    return {"kind": "path", "value": value, "operation": operation, "discovery_method": "mcp",
            **hints}  # fmt: skip


WRAP_CASES = [
    _wrap_case("read", HIGH, "tool.read", {"path": "/workspace/README.md"},
               [_path("/workspace/README.md", "read")], "allow"),
    _wrap_case("write", HIGH, "tool.write", {"path": "/workspace/notes.txt", "content": "x"},
               [_path("/workspace/notes.txt", "write")], "require_approval"),
    # delete_file is annotated destructiveHint=true by the wrapped server
    _wrap_case("annotated-delete", HIGH, "delete_file", {"path": "/workspace/customers.db"},
               [_path("/workspace/customers.db", "delete", read_only_hint=False,
                      destructive_hint=True)], "block"),
    _wrap_case("post", HIGH, "http.post", {"url": "https://paste.example.net/upload", "body": "b"},
               [{"kind": "url", "value": "https://paste.example.net/upload",
                 "discovery_method": "mcp"}], "block"),
    # read_file is annotated readOnlyHint=true, openWorldHint=false
    _wrap_case("annotated-read", LOW, "read_file", {"path": "/workspace/a.txt"},
               [_path("/workspace/a.txt", "read", read_only_hint=True, open_world_hint=False)],
               "allow"),
    _wrap_case("no-targets", LOW, "tool.search", {"q": "gait"}, [], "allow"),
]  # fmt: skip


def _wrap_session(policy: str, cases: list[Case], work: Path) -> dict[str, Observed]:
    """Send every case's call through one gateway; observe each decision from its trace,
    the gateway's log line and (for non-allow verdicts) the refusal the agent got."""
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    stderr = work / "wrap.stderr"
    refusals: dict[str, Any] = {}
    argv = ["-m", "gait.cli.main", "mcp", "wrap", policy, "--trace-dir", str(work / "traces"),
            *WRAP_FLAGS, "--", sys.executable, str(WRAP_SERVER),
            "--record", str(work / "calls.jsonl")]  # fmt: skip

    async def main() -> None:
        params = StdioServerParameters(command=sys.executable, args=argv, env=dict(os.environ),
                                       cwd=str(work))  # fmt: skip
        with anyio.fail_after(60), open(stderr, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                for case in cases:
                    result = await session.call_tool(case.call["name"], case.call["arguments"])
                    refusals[case.name] = result.structured_content if result.is_error else None

    anyio.run(main)
    logged: dict[str, dict[str, str]] = {}
    for line in stderr.read_text().splitlines():
        if line.startswith("gait mcp wrap: tool=") and " verdict=" in line:
            fields = dict(part.split("=", 1) for part in line.split(": ", 1)[1].split())
            logged[fields["tool"]] = fields
    observed: dict[str, Observed] = {}
    for case in cases:
        log = logged[case.call["name"]]
        trace = json.loads(Path(log["trace"]).read_text())
        assert log["verdict"] == trace["verdict"]

        def listed(text: str) -> tuple[str, ...]:
            return () if text == "-" else tuple(text.split(","))

        seen = Observed(trace["verdict"], listed(log["reasons"]), listed(log["violations"]),
                        "" if log["rule"] == "-" else log["rule"], trace["policy_digest"],
                        trace["intent_digest"])  # fmt: skip
        refusal = refusals[case.name]
        assert (refusal is None) == (seen.verdict == "allow"), (case.name, refusal)
        if refusal is not None:
            assert refusal["executed"] is False
            assert Observed.of(refusal) == seen, case.name
        observed[case.name] = seen
    return observed


@pytest.mark.parametrize("policy", [HIGH, LOW], ids=["high", "low"])
def test_mcp_wrap_agrees_with_gate_eval(
    policy: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cases = [c for c in WRAP_CASES if c.policy == policy]
    observed = _wrap_session(policy, cases, tmp_path)
    for case in cases:
        assert observed[case.name] == baseline(case, tmp_path_factory), case.name
    # The wrapped server ran exactly the allowed calls to tools it has (here read_file);
    # the blocked delete_file never reached it.
    record = tmp_path / "calls.jsonl"
    ran = (
        [json.loads(line)["tool"] for line in record.read_text().splitlines()]
        if record.exists()
        else []
    )
    assert ran == [
        c.call["name"] for c in cases if c.verdict == "allow" and c.call["name"] == "read_file"
    ]
