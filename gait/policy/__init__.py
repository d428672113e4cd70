"""Policy loading, normalization, the rule DSL and the compiler (spec/policy.md)."""

from __future__ import annotations

from gait.policy.compiler import (
    CompiledPolicy,
    build_ir,
    compile_policy,
    compile_policy_file,
    load_policy_file,
    load_policy_source,
)

__all__ = [
    "CompiledPolicy",
    "build_ir",
    "compile_policy",
    "compile_policy_file",
    "load_policy_file",
    "load_policy_source",
]
