"""Repo onboarding for ``gait init`` and ``gait check``: what the repo looks like, what to gate.

Detection walks the Python files under a root and looks for agent tool
definitions of two frameworks: LangChain (``@tool``, ``StructuredTool.from_function``,
``Tool(``) and the OpenAI Agents SDK (``@function_tool``, ``from agents import``,
``openai.agents``, ``tools=[``). Every function defined in such a file is taken as a
candidate tool (plus ``name=``/``tool_name=`` strings for the Agents SDK). Tool
names that look state-changing are then sorted into classes and turned into
*suggested* starter rules (never written as live rules) and readiness findings.
Everything is sorted, so the same tree gives the same output.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "CONTRACT",
    "derive_signals",
    "detect_repo_surface",
    "findings_to_warnings",
    "readiness_findings",
    "render_init_policy",
]

REPO_POLICY_PATH = ".gait.yaml"
CONTRACT = {
    "repo_policy_path": REPO_POLICY_PATH,
    "project_defaults_path": ".gait/config.yaml",
    "regress_config_path": "gait.yaml",
    "legacy_policy_scaffold_path": "gait.policy.yaml",
}

# Folders that hold no project code (or someone else's): never scanned.
SKIP_DIRS = frozenset({".git", ".beads", "node_modules", "__pycache__", ".venv", "venv", ".tox"})
MAX_FILE_BYTES = 4 * 1024 * 1024

_DEF = re.compile(r"^\s*def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.M)
_TOOL_DECORATOR = re.compile(r"^\s*@tool(?:\s*\(|\s*$)", re.M)
_FUNCTION_TOOL = re.compile(r"^\s*@function_tool(?:\s*\(|\s*$)", re.M)
_NAME_ARG = re.compile(r"(?:name|tool_name)\s*=\s*['\"]([A-Za-z0-9._:-]+)['\"]")

_DESTRUCTIVE = ("delete", "remove", "drop", "destroy", "truncate")
_PAYMENT = ("stripe", "payment", "charge", "refund", "billing", "invoice")
_DATA_STORE = ("postgres", "database", "db", "sql")
_STATE_CHANGE = (
    "write",
    "update",
    "create",
    "set",
    "save",
    "submit",
    "approve",
    "cancel",
    "pause",
    "resume",
    "restart",
)
_ACTION_WORDS = _STATE_CHANGE[:5] + _DESTRUCTIVE + _STATE_CHANGE[6:] + _PAYMENT + _DATA_STORE


def _python_files(root: str) -> list[str]:
    out = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d.lower() not in SKIP_DIRS)
        out.extend(os.path.join(directory, n) for n in sorted(names) if n.lower().endswith(".py"))
    return out


def _scan_python(path: str) -> dict[str, set[str]]:
    """framework -> tool names found in one file."""
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return {}
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return {}
    defined = {m.group(1) for m in _DEF.finditer(text)}
    if not defined:
        defined = {os.path.splitext(os.path.basename(path))[0]}
    found: dict[str, set[str]] = {}
    if _TOOL_DECORATOR.search(text) or "StructuredTool.from_function" in text or "Tool(" in text:
        found["langchain"] = set(defined)
    if (
        _FUNCTION_TOOL.search(text)
        or "from agents import" in text
        or "openai.agents" in text
        or "tools=[" in text
    ):
        found["openai_agents"] = defined | {m.group(1) for m in _NAME_ARG.finditer(text)}
    return found


def detect_repo_surface(root: str = ".") -> dict[str, list[str]]:
    """``{"frameworks": [...], "tool_names": [...]}`` for the tree under ``root`` (sorted)."""
    frameworks: set[str] = set()
    tools: set[str] = set()
    for path in _python_files(root):
        for framework, names in _scan_python(path).items():
            names = {n.strip() for n in names if n.strip()}
            if names:
                frameworks.add(framework)
                tools |= names
    return {"frameworks": sorted(frameworks), "tool_names": sorted(tools)}


def _has_any(value: str, words: Iterable[str]) -> bool:
    lower = value.strip().lower()
    return any(w in lower for w in words)


def _all_upper(value: str) -> bool:
    letters = [c for c in value if c.isascii() and c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def action_candidates(tool_names: Iterable[str]) -> list[str]:
    """Tool names worth a rule: dotted names, or names with an action word (lowercased)."""
    out = set()
    for name in tool_names:
        text = name.strip()
        if not text or text.startswith("_"):
            continue
        if "." in text:
            out.add(text.lower())
        elif _all_upper(text) or len(text) > 48:
            continue  # constants and generated names
        elif _has_any(text, _ACTION_WORDS):
            out.add(text.lower())
    return sorted(out)


def _signal(
    code: str, category: str, value: str, confidence: str, evidence: list[str], reason: str
) -> dict[str, Any]:
    return {
        "code": code,
        "category": category,
        "value": value,
        "confidence": confidence,
        "evidence": evidence,
        "reason": reason,
    }


def derive_signals(
    detection: dict[str, list[str]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``(detected_signals, generated_rules, unknown_signals)`` for a detection."""
    signals = [
        _signal(f"framework.{f}", "framework", f, "high", [f], "supported framework tag detected")
        for f in (x.strip() for x in detection.get("frameworks", ()))
        if f
    ]
    candidates = action_candidates(detection.get("tool_names", ()))
    generated: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    if not candidates:
        return signals, generated, unknown
    classes: dict[str, list[str]] = {
        "destructive": [],
        "state_change": [],
        "payment": [],
        "data_store": [],
    }
    unclassified = []
    for name in candidates:
        # first class that matches wins, destructive before payment before data store
        if _has_any(name, _DESTRUCTIVE):
            classes["destructive"].append(name)
        elif _has_any(name, _PAYMENT):
            classes["payment"].append(name)
        elif _has_any(name, _DATA_STORE):
            classes["data_store"].append(name)
        elif _has_any(name, _STATE_CHANGE):
            classes["state_change"].append(name)
        else:
            unclassified.append(name)
    for code, category, key, reason in (
        ("tool.destructive", "destructive_tools", "destructive", "likely destructive tool names"),
        (
            "tool.state_change",
            "state_change_tools",
            "state_change",
            "likely state-changing tool names",
        ),
        ("tool.payment", "payment_tools", "payment", "payment or billing tool names"),
        ("tool.data_store", "data_store_tools", "data_store", "database or data-store tool names"),
    ):
        if classes[key]:
            signals.append(
                _signal(code, category, category, "high", classes[key], reason + " detected")
            )
    if classes["destructive"]:
        generated.append(
            {
                "id": "starter.block.destructive",
                "name": "block-destructive-tools",
                "effect": "block",
                "priority": 10,
                "match_tool_names": classes["destructive"][:6],
                "reason_codes": ["destructive_tool_blocked"],
                "confidence": "high",
                "rationale": "detected likely destructive tool names",
            }
        )
    review = sorted(set(classes["state_change"] + classes["payment"] + classes["data_store"]))
    if review:
        generated.append(
            {
                "id": "starter.require_approval.state_change",
                "name": "require-approval-state-changing-tools",
                "effect": "require_approval",
                "priority": 20,
                "match_tool_names": review[:8],
                "reason_codes": ["approval_required_for_state_change"],
                "confidence": "high",
                "rationale": "detected likely state-changing, payment, or data-store tool names",
            }
        )
    if unclassified:
        unknown.append(
            _signal(
                "tool.unclassified",
                "unclassified_tools",
                "manual_review",
                "low",
                unclassified[:8],
                "candidate tool names were detected but matched no high-confidence "
                "starter rule pattern",
            )
        )
    return signals, generated, unknown


def _finding(
    code: str,
    severity: str,
    summary: str,
    surface: str,
    remediation: str,
    evidence: Sequence[str] = (),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": code,
        "severity": severity,
        "summary": summary,
        "detected_surface": surface,
        "remediation": remediation,
    }
    if evidence:
        out["evidence"] = list(evidence)
    return out


def readiness_findings(
    policy: Any,
    detection: dict[str, list[str]],
    signals: list[dict[str, Any]],
    generated: list[dict[str, Any]],
    unknown: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """What stands between this policy and enforcing it in this repo (warnings, then info)."""
    findings = []
    rules = list(policy.rules)
    if not rules:
        findings.append(
            _finding(
                "policy.no_rules",
                "warning",
                "policy defines no explicit rules; only default_verdict will apply",
                "policy.rules",
                "add explicit rules or review the starter suggestions of `gait init --json`",
            )
        )
    if str(policy.default_verdict).strip().lower() == "allow":
        findings.append(
            _finding(
                "policy.default_allow",
                "warning",
                "default_verdict=allow is permissive; high-risk repos usually prefer "
                "require_approval or block",
                "policy.default_verdict",
                "set `default_verdict` to `require_approval` or `block` before production rollout",
            )
        )
    named: set[str] = set()
    gating = False
    for rule in rules:
        effect = (rule.effect or rule.action or "").strip().lower()
        if effect and effect != "allow":
            gating = True
        if rule.match.tool_name.strip():
            named.add(rule.match.tool_name.strip())
        named.update(n.strip() for n in rule.match.tool_names if n.strip())
    if not gating:
        findings.append(
            _finding(
                "policy.no_non_allow_rules",
                "warning",
                "policy has no non-allow rules; enforce paths will not block or require approval",
                "policy.rules",
                "add `block` or `require_approval` rules for state-changing or destructive tools",
            )
        )
    if not detection.get("frameworks"):
        findings.append(
            _finding(
                "repo.no_supported_framework_detected",
                "info",
                "no supported framework tools were detected locally; check whether this repo "
                "has an explicit Gait interception seam yet",
                "repo.frameworks",
                "wire one explicit tool boundary before relying on runtime enforcement",
            )
        )
    tools = detection.get("tool_names") or []
    evidence = action_candidates(tools)[:8]
    if tools and not named:
        findings.append(
            _finding(
                "repo.tool_inventory_uncovered",
                "warning",
                "detected tool inventory but no explicit tool_name/tool_names coverage was found",
                "repo.tools",
                "add explicit `match.tool_name` or `match.tool_names` coverage for the "
                "detected tools",
                evidence,
            )
        )
    elif tools and not any(t.strip() in named for t in tools):
        findings.append(
            _finding(
                "repo.tool_inventory_name_mismatch",
                "warning",
                "detected tool names do not match any policy tool_name/tool_names entry",
                "repo.tools",
                "align the detected tool names with `match.tool_name` / `match.tool_names` "
                "before rollout",
                evidence,
            )
        )
    if generated:
        findings.append(
            _finding(
                "repo.generated_rules_available",
                "info",
                "repo-aware starter rule suggestions are available from local detection",
                "repo.signals",
                "review the generated starter rules in the `.gait.yaml` comments and adopt or "
                "discard them explicitly",
                [r["id"] for r in generated],
            )
        )
    if unknown:
        findings.append(
            _finding(
                "repo.manual_review_required",
                "info",
                "some detected tools need manual review: they matched no high-confidence "
                "starter rule pattern",
                "repo.signals",
                "review `unknown_signals` and decide whether to add custom rules",
                unknown[0]["evidence"][:8],
            )
        )
    if not signals:
        findings.append(
            _finding(
                "repo.no_high_confidence_signals",
                "info",
                "no high-confidence repo signals were detected for starter rule suggestions",
                "repo.signals",
                "continue with the baseline template and add custom rules by hand",
            )
        )
    return findings


def findings_to_warnings(findings: Iterable[dict[str, Any]]) -> list[str]:
    return [
        f["summary"]
        for f in findings
        if f.get("severity", "").strip().lower() == "warning" and f.get("summary", "").strip()
    ]


def _tools_comment(tool_names: Sequence[str]) -> str:
    shown = ", ".join(tool_names[:8])
    if len(tool_names) > 8:
        shown += f" (+{len(tool_names) - 8} more)"
    return shown


def render_init_policy(
    template: str,
    detection: dict[str, list[str]],
    generated: list[dict[str, Any]],
    unknown: list[dict[str, Any]],
) -> str:
    """The starter policy: a comment header (paths, detection, suggestions), then the template."""
    lines = [
        "# gait init starter policy",
        f"# repo_policy_path: {CONTRACT['repo_policy_path']}",
        f"# project_defaults_path: {CONTRACT['project_defaults_path']}",
        f"# regress_config_path: {CONTRACT['regress_config_path']}",
    ]
    if detection.get("frameworks"):
        lines.append(f"# detected_frameworks: {', '.join(detection['frameworks'])}")
    if detection.get("tool_names"):
        lines.append(f"# detected_tools: {_tools_comment(detection['tool_names'])}")
    if generated:
        lines.append("# generated_rules (suggestions only; copy into rules: to adopt):")
        for rule in generated:
            lines += [
                f"#   - id: {rule['id']}",
                f"#     rationale: {rule['rationale']}",
                "#     suggested_yaml:",
                f"#       - name: {rule['name']}",
                f"#         priority: {rule['priority']}",
                f"#         effect: {rule['effect']}",
            ]
            if rule["match_tool_names"]:
                lines += [
                    "#         match:",
                    f"#           tool_names: [{', '.join(rule['match_tool_names'])}]",
                ]
            if rule["reason_codes"]:
                lines.append(f"#         reason_codes: [{', '.join(rule['reason_codes'])}]")
    if unknown:
        lines.append("# unknown_signals:")
        for sig in unknown:
            lines.append(f"#   - code: {sig['code']}")
            if sig["evidence"]:
                lines.append(f"#     evidence: [{', '.join(sig['evidence'])}]")
            if sig["reason"]:
                lines.append(f"#     reason: {sig['reason']}")
    body = template.lstrip("\n")
    if not body.endswith("\n"):
        body += "\n"
    return "\n".join(lines) + "\n\n" + body
