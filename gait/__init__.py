"""gait: the agent control plane.

Compile a policy once, evaluate tool-call intents against it, sign every
decision. Public API::

    from gait import compile_policy_file, evaluate
    compiled = compile_policy_file("policy.yaml")
    decision = evaluate(compiled, {"tool_name": "fs.read", ...})
"""

from __future__ import annotations

# typing costs a one-shot command ~10 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
PRODUCER_VERSION = __version__

__all__ = [
    "PRODUCER_VERSION",
    "GateEnforcementError",
    "ToolAdapter",
    "__version__",
    "capture_intent",
    "compile_policy",
    "compile_policy_file",
    "evaluate",
    "evaluate_gate",
    "gate_tool",
    "run_session",
]

# The Python SDK's main names (gait.sdk), also loaded only on first use.
_SDK_NAMES = frozenset(
    (
        "GateEnforcementError",
        "ToolAdapter",
        "capture_intent",
        "evaluate_gate",
        "gate_tool",
        "run_session",
    )
)


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import gait` cheap for the CLI's fast paths.
    if name in ("compile_policy", "compile_policy_file"):
        from gait.policy import compiler

        return getattr(compiler, name)
    if name == "evaluate":
        from gait.engine import evaluate

        return evaluate
    if name in _SDK_NAMES:
        from gait import sdk

        return getattr(sdk, name)
    raise AttributeError(name)
