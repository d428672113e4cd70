"""Shared runner of the integration quickstarts (one framework call shape each).

Each quickstart turns its framework's tool call into a full gait intent, lets
the gate decide with the scenario's policy (in process, no subprocess), runs
the tool only on ``allow`` and prints ``key=value`` lines.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = ("allow", "block", "require_approval")


def context(framework: str) -> dict[str, Any]:
    """Who is acting, where, and with which credentials (intent.md context)."""
    return {
        "identity": f"{framework}-agent",
        "workspace": os.getcwd(),
        "risk_class": "high",
        "session_id": f"sess_{framework}_quickstart",
        "auth_context": {"auth_mode": "oauth", "subject": "user:alice"},
        "credential_scopes": ["fs:write"],
        "environment_fingerprint": "env:quickstart",
    }


def delegation(framework: str) -> dict[str, Any]:
    """The agent requests the call on behalf of Alice: a one-link delegation chain."""
    return {
        "requester_identity": f"{framework}-agent",
        "scope_class": "write",
        "chain": [
            {
                "delegator_identity": "user:alice",
                "delegate_identity": f"{framework}-agent",
                "scope_class": "write",
            }
        ],
    }


def write_file(path: str, content: str) -> str:
    """The tool being gated: writes a file and says what it did."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return f"wrote {len(content.encode())} bytes to {path}"


def parse(framework: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"gait quickstart: {framework} tool call")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="allow",
        help="which example policy decides the call",
    )
    parser.add_argument(
        "--out-dir",
        default=os.path.join("gait-out", "integrations", framework),
        help="where the trace (and, on allow, the written file) go",
    )
    return parser.parse_args()


def run(
    framework: str,
    call: Mapping[str, Any],
    decide_and_run: Callable[[Any, Any, str], tuple[Any, bool, Any]] | None = None,
) -> int:
    """Decide ``call`` (a ``framework`` payload), run ``write_file`` on allow, print the outcome."""
    sys.path.insert(0, str(HERE.parents[1]))  # run from a checkout without installing
    from gait.sdk import GateEnforcementError, ToolAdapter, framework_intent

    args = parse(framework)
    policy = HERE / "policies" / f"{args.scenario}.yaml"
    trace_path = os.path.join(args.out_dir, f"trace_{framework}_{args.scenario}.json")
    adapter = ToolAdapter(str(policy))
    intent = framework_intent(
        framework,
        _with_out_dir(call, args.out_dir),
        context(framework),
        delegation=delegation(framework),
    )

    def executor(req: Any) -> str:
        return write_file(req.args["path"], str(req.args.get("content", "")))

    executed, output = False, None
    try:
        outcome = adapter.execute(intent, executor, trace_out=trace_path)
        decision, executed, output = outcome.decision, outcome.executed, outcome.result
    except GateEnforcementError as err:
        decision = err.decision
    print(f"framework={framework}")
    print(f"scenario={args.scenario}")
    print(f"verdict={decision.verdict}")
    print(f"executed={'true' if executed else 'false'}")
    print(f"trace_path={decision.trace_path}")
    if executed:
        print(f"executor_output={output}")
    if decision.error:  # gait could not decide, so the call was blocked
        print(f"error: {decision.error}", file=sys.stderr)
    return decision.exit_code


def _with_out_dir(call: Mapping[str, Any], out_dir: str) -> dict[str, Any]:
    """Point the example's file path into ``out_dir`` (payload shapes differ per framework)."""
    import json

    path = os.path.join(out_dir, "hello.txt")

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (path if k == "path" else fix(v)) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("{"):
            return json.dumps(fix(json.loads(value)))
        return value

    return fix(dict(call))
