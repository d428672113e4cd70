"""``gait policy``: validate, fmt, compile, test, simulate, init."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.common import (
    load_compiled,
    load_intent,
    one_positional,
)
from gait.cli.policytest import run_policy_test
from gait.errors import GaitError, InvalidInput

group = GaitGroup(
    name="policy",
    help="Validate, format, compile, test and simulate gate policies.",
    explain="Author and check gate policies offline: validate, fmt, compile, test and simulate.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


# ------------------------------------------------------------ validate ---


@gait_command(
    group,
    "validate",
    explain="Strictly parse and validate a policy, then print its digest.",
    help="Strictly validate POLICY (unknown keys, types, values) and print its digest.",
)
@click.argument("args", nargs=-1, metavar="POLICY")
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings (no rules, duplicate rule names) as errors: exit 6.",
)
def validate(args: tuple[str, ...], strict: bool, json: bool) -> Outcome:
    from gait.policy import load_policy_file
    from gait.policy.digest import policy_digest

    path = one_positional(args, "<policy.yaml>")
    policy = load_policy_file(path)
    digest = policy_digest(policy)
    payload: dict[str, Any] = {
        "ok": True,
        "schema_id": policy.schema_id,
        "schema_version": policy.schema_version,
        "policy_digest": digest,
        "default_verdict": policy.default_verdict,
        "summary": (
            f"policy validate ok: default={policy.default_verdict} "
            f"rules={len(policy.rules)} digest={digest}"
        ),
    }
    if policy.rules:
        payload["rule_count"] = len(policy.rules)
    names = [r.name for r in policy.rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    warnings = [f'duplicate rule name "{n}"' for n in dupes]
    if not policy.rules:
        # An empty file is valid YAML and a valid policy, but rarely what was meant.
        warnings.insert(
            0,
            f"policy has no rules: every call gets the default verdict {policy.default_verdict}",
        )
    if warnings:
        payload["warnings"] = warnings
    if strict and warnings:
        raise InvalidInput(
            f"policy validate --strict: {path}: {warnings[0]}", details={"warnings": warnings}
        )
    text = [payload["summary"], *(f"warning: {w}" for w in warnings)]
    return Outcome(payload, text=text, warnings_in_text=True)


# ------------------------------------------------------------ fmt ---


@gait_command(
    group,
    "fmt",
    explain="Rewrite a policy in its minimal canonical form (comments kept).",
    help=(
        "Print POLICY in canonical form: stable key and rule order, only keys that differ "
        "from their defaults, comments kept. --write rewrites the file atomically (only when "
        "it changed); --check exits 2 when the file is not formatted."
    ),
)
@click.argument("args", nargs=-1, metavar="POLICY")
@click.option("--write", is_flag=True, help="Rewrite the file in place.")
@click.option("--check", is_flag=True, help="Exit 2 if the file is not already formatted.")
@click.option(
    "--full",
    is_flag=True,
    help="Write every key with its normalized value, defaults included.",
)
def fmt(args: tuple[str, ...], write: bool, check: bool, full: bool, json: bool) -> Outcome:
    from gait.policy.compiler import source_kind
    from gait.policy.digest import policy_digest
    from gait.policy.fmt import format_source
    from gait.policy.source import read_policy_bytes

    path = one_positional(args, "<policy.yaml>")
    original = read_policy_bytes(path)
    policy, formatted = format_source(original, path, source_kind(path), full=full)
    changed = original != formatted.encode("utf-8")
    payload: dict[str, Any] = {
        "ok": True,
        "path": path,
        "policy_digest": policy_digest(policy),
        "default_verdict": policy.default_verdict,
    }
    if changed:
        payload["changed"] = True
    if policy.rules:
        payload["rule_count"] = len(policy.rules)
    if write:
        if changed:
            _atomic_replace(Path(path), formatted.encode("utf-8"))
            payload["written"] = True
        text = (
            f"policy fmt ok: path={path} changed={str(changed).lower()} "
            f"written={str(changed).lower()} rules={len(policy.rules)}"
        )
        return Outcome(payload, text=[text])
    if check:
        code = 2 if changed else 0
        if changed:
            payload["ok"] = False
            payload["error"] = (
                f"policy is not formatted: {path} (run gait policy fmt --write {path})"
            )
        text = f"policy fmt check: path={path} formatted={str(not changed).lower()}"
        return Outcome(payload, exit_code=code, text=[text])
    payload["formatted"] = formatted
    return Outcome(payload, raw=formatted)


def _atomic_replace(path: Path, data: bytes) -> None:
    """Rewrite ``path`` atomically, keeping its permissions."""
    from gait.fsutil import atomic_write

    try:
        atomic_write(path, data, mode=path.stat().st_mode & 0o7777)
    except OSError as err:
        raise GaitError(
            f"policy fmt: write {path}: {err}", exit_code=1, code="internal_failure"
        ) from err


# ------------------------------------------------------------ compile ---


@gait_command(
    group,
    "compile",
    explain="Compile a policy and show its canonical DSL, its YAML twin or its decision table.",
    help=(
        "Compile POLICY (YAML or .gaitpol); --emit dsl prints the canonical DSL, --emit yaml "
        "the canonical YAML (what policy fmt prints; a .gaitpol keeps its comments), "
        "--emit ir the decision table (JSON)."
    ),
)
@click.argument("args", nargs=-1, metavar="POLICY")
@click.option(
    "--emit",
    type=click.Choice(["dsl", "yaml", "ir"]),
    default="dsl",
    show_default=True,
    help=(
        "dsl: the canonical rule language; yaml: the canonical YAML, a twin with the same "
        "policy_digest; ir: the compiled decision table as JSON."
    ),
)
@click.option(
    "--full",
    is_flag=True,
    help="With --emit yaml: write every key with its normalized value, defaults included.",
)
@click.option(
    "--no-cache", is_flag=True, help="Accepted for compatibility; every compile reads the source."
)
def compile_(args: tuple[str, ...], emit: str, full: bool, no_cache: bool, json: bool) -> Outcome:
    import msgspec

    from gait.policy import compile_policy
    from gait.policy.source import read_policy_bytes

    path = one_positional(args, "<policy.yaml>")
    if full and emit != "yaml":
        raise InvalidInput(f"--full applies to --emit yaml, not --emit {emit}")
    data = read_policy_bytes(path)  # read once: every emit describes the same bytes
    compiled = compile_policy(data, path=path, use_cache=not no_cache)
    payload: dict[str, Any] = {
        "ok": True,
        "path": path,
        "policy_digest": compiled.policy_digest,
        "source_digest": compiled.ir.source_digest,
        "rule_count": len(compiled.rows),
    }
    if emit == "dsl":
        from gait.policy.dsl import render_dsl

        text = render_dsl(compiled.policy)
        payload["dsl"] = text
        return Outcome(payload, raw=text)
    if emit == "yaml":
        from gait.policy.compiler import source_kind
        from gait.policy.emit_yaml import emit_yaml

        policy, text = emit_yaml(data, path, source_kind(path), full=full)
        if policy != compiled.policy:  # the YAML must describe what the digest names
            from gait.errors import InternalFailure

            raise InternalFailure(f"policy compile: the YAML of {path} is not its compiled policy")
        payload["yaml"] = text
        return Outcome(payload, raw=text)
    ir = msgspec.to_builtins(compiled.ir, order="deterministic")
    payload["ir"] = ir
    raw = msgspec.json.format(msgspec.json.encode(ir, order="deterministic"), indent=2).decode()
    return Outcome(payload, raw=raw + "\n")


# ------------------------------------------------------------ test ---


@gait_command(
    group,
    "test",
    explain="Evaluate one intent fixture against a policy, offline, with no side effects.",
    help=(
        "Evaluate INTENT against POLICY. Exit 0 allow/dry_run, 3 block, 4 require_approval, "
        "6 invalid input. --why lists every row and why it did or did not match."
    ),
)
@click.argument("args", nargs=-1, metavar="POLICY INTENT")
@click.option("--why", "why", is_flag=True, help="Show why each rule row did or did not match.")
@click.option(
    "--explain", "explain_flag", is_flag=True, help="Same as --why when inputs are given."
)
@click.option(
    "--junit", default="", help="With a fixtures directory: also write JUnit XML to this path."
)
def test(args: tuple[str, ...], why: bool, explain_flag: bool, junit: str, json: bool) -> Outcome:
    if explain_flag and len(args) < 2:
        return Outcome(
            {"ok": True, "explain": group.commands["test"].explain},  # type: ignore[attr-defined]
            text=[group.commands["test"].explain],  # type: ignore[attr-defined]
        )
    if len(args) != 2:
        raise InvalidInput("expected <policy.yaml> <intent_fixture.json>")
    if junit or os.path.isdir(args[1]):
        from gait.cli.policytest import run_policy_test_dir

        return run_policy_test_dir(args[0], args[1], junit=junit, why=why or explain_flag)
    return run_policy_test(args[0], args[1], why=why or explain_flag)


# ------------------------------------------------------------ simulate ---


@gait_command(
    group,
    "simulate",
    explain="Compare a candidate policy with a baseline over intent fixtures and report changes.",
    help="Evaluate every fixture under --baseline and --policy and report changed verdicts.",
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--policy", "candidate", default="", help="Candidate policy.")
@click.option("--baseline", default="", help="Baseline policy.")
@click.option("--fixtures", default="", help="CSV of intent files and/or directories.")
def simulate(
    args: tuple[str, ...], candidate: str, baseline: str, fixtures: str, json: bool
) -> Outcome:
    from gait.regress.simulate import discover_fixtures
    from gait.regress.simulate import simulate as run

    if args:
        raise InvalidInput("unexpected positional arguments")
    if not candidate.strip():
        raise InvalidInput("missing required --policy <candidate_policy.yaml>")
    if not baseline.strip():
        raise InvalidInput("missing required --baseline <baseline_policy.yaml>")
    if not fixtures.strip():
        raise InvalidInput("missing required --fixtures <csv files/dirs>")
    paths = discover_fixtures(fixtures)
    cand = load_compiled(candidate.strip())  # candidate first, as the original
    base = load_compiled(baseline.strip())
    from gait.cli.term import Progress

    with Progress("policy simulate: reading fixtures", len(paths)) as shown:
        loaded = []
        for path in paths:
            loaded.append((path, load_intent(path)[1]))
            shown(len(loaded))
    with Progress("policy simulate: evaluating", len(loaded)) as shown:
        payload = run(base, cand, loaded, progress=shown)
    text = [payload["summary"]]  # the summary line only, as the original; a terminal gets a table
    from gait.cli.tables import policy_simulate

    return Outcome(payload, text=text, tty_text=policy_simulate(payload))


# ------------------------------------------------------------ lint ---

_FAIL_ON = ("error", "warning", "info")


@gait_command(
    group,
    "lint",
    explain="Find shadowed, conflicting and risky rules in a policy, each with a witness intent.",
    help=(
        "Analyse POLICY's decision table: shadowed rules, conflicting rules, unreachable "
        "default, impossible matches, reused reason codes, risky allow rules. Every finding "
        "carries a witness intent confirmed by the engine. Exit 0 clean, 3 with findings at "
        "or above --fail-on, 6 invalid input."
    ),
)
@click.argument("args", nargs=-1, metavar="POLICY")
@click.option(
    "--fail-on",
    type=click.Choice(_FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest finding level that makes the command exit 3.",
)
def lint(args: tuple[str, ...], fail_on: str, json: bool) -> Outcome:
    from gait.engine.analysis.lint import lint_policy

    path = one_positional(args, "<policy.yaml>")
    report = lint_policy(load_compiled(path))
    findings = report["findings"]
    worst = _FAIL_ON.index(fail_on)
    failing = [f for f in findings if _FAIL_ON.index(f["level"]) <= worst]
    counts = report["counts"]
    summary = (
        f"policy lint: {path}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info"
    )
    payload: dict[str, Any] = {"ok": not failing, "policy": path, "summary": summary, **report}
    text = [summary]
    for f in findings:
        text.append(f"{f['level']}: {f['code']}: {f['message']}")
        if "witness" in f:
            text.append(f"  witness ({f.get('verdict', '')}): {_compact(f['witness'])}")
    text.extend(f"note: {n}" for n in report["sampled"])
    return Outcome(payload, exit_code=3 if failing else 0, text=text)


def _compact(obj: Any) -> str:
    import json as _json

    return _json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------ diff ---


@gait_command(
    group,
    "diff",
    explain="List every region of intents whose verdict differs between two policies.",
    help=(
        "Semantic diff of OLD and NEW policies (no fixtures needed): each region of intents "
        "whose verdict changes, with old/new verdict, the rules deciding on each side and a "
        "witness intent confirmed by the engine. Exit 0, or 5 with --fail-on-change when "
        "any verdict changes; 6 invalid input."
    ),
)
@click.argument("args", nargs=-1, metavar="OLD NEW")
@click.option(
    "--fail-on-change",
    is_flag=True,
    help="Exit 5 when any region of intents changes verdict (for CI).",
)
def diff(args: tuple[str, ...], fail_on_change: bool, json: bool) -> Outcome:
    from gait.engine.analysis.diff import diff_policies

    if len(args) != 2:
        raise InvalidInput("expected <old_policy.yaml> <new_policy.yaml>")
    report = diff_policies(load_compiled(args[0]), load_compiled(args[1]))
    regions = report["regions"]
    summary = (
        f"policy diff: {len(regions)} region(s) change verdict"
        if regions
        else "policy diff: no verdict changes"
    )
    payload: dict[str, Any] = {
        "ok": True,
        "old_policy": args[0],
        "new_policy": args[1],
        "summary": summary,
        **report,
    }
    text = [summary]
    for r in regions:
        old_rules = ",".join(r["old_rules"]) or "(default)"
        new_rules = ",".join(r["new_rules"]) or "(default)"
        text.append(
            f"  {r['old_verdict']} -> {r['new_verdict']}: old {old_rules}; new {new_rules}; "
            f"tools {', '.join(r['tools'])}"
        )
        text.append(f"    witness: {_compact(r['witness'])}")
    text.extend(f"note: {n}" for n in report["notes"])
    return Outcome(payload, exit_code=5 if fail_on_change and regions else 0, text=text)


# ------------------------------------------------------------ init ---

_TEMPLATES = {
    "baseline-lowrisk": "base_low_risk.yaml",
    "baseline-mediumrisk": "base_medium_risk.yaml",
    "baseline-highrisk": "base_high_risk.yaml",
}
_ALIASES = {
    "baseline_low_risk": "baseline-lowrisk",
    "low": "baseline-lowrisk",
    "baseline_medium_risk": "baseline-mediumrisk",
    "medium": "baseline-mediumrisk",
    "baseline_high_risk": "baseline-highrisk",
    "high": "baseline-highrisk",
}


@gait_command(
    group,
    "init",
    explain="Write a starter policy from a built-in template.",
    help="Write a starter policy: baseline-lowrisk, baseline-mediumrisk or baseline-highrisk.",
)
@click.argument("args", nargs=-1, metavar="TEMPLATE")
@click.option("--out", default="gait.policy.yaml", show_default=True, help="Policy file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option(
    "--gitignore",
    is_flag=True,
    help="Also add the default trace/audit file names to ./.gitignore (once).",
)
def init(args: tuple[str, ...], out: str, force: bool, gitignore: bool, json: bool) -> Outcome:
    from gait.resources import policy_template

    names = ", ".join(_TEMPLATES)
    if len(args) != 1:
        raise InvalidInput(f"expected <template>, one of: {names}")
    key = args[0].strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _TEMPLATES:
        raise InvalidInput(f"unknown template: {args[0]}")
    target = Path(out)
    if target.exists() and not force:
        raise InvalidInput(f"output path already exists (use --force to overwrite): {out}")
    data = policy_template(_TEMPLATES[key]).read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    from gait.fsutil import atomic_write

    atomic_write(target, data, mode=0o600)  # as the original writes it
    payload = {
        "ok": True,
        "template": key,
        "policy_path": out,
        "next_commands": [
            f"gait policy validate {out} --json",
            f"gait policy fmt {out} --write --json",
            "gait doctor --json",
        ],
    }
    text = [
        f"policy init ok: template={key} output={out}",
        "next: " + " | ".join(payload["next_commands"]),
    ]
    if gitignore:
        payload["gitignore_path"] = _add_gitignore(Path(".gitignore"))
        text.append(f"gitignore: {payload['gitignore_path']} ignores gait's default artifact names")
        return Outcome(payload, text=text)
    # the hint goes to stderr: stdout keeps the original's two lines
    tip = (
        "tip: gate eval writes trace_*.json and approval_audit_*.json here; "
        "--gitignore adds them to .gitignore"
    )
    return Outcome(payload, text=text, stderr=[tip])


GITIGNORE_LINES = (
    "# gait: decision artifacts written under default names",
    "trace_*.json",
    "approval_audit_*.json",
    "delegation_audit_*.json",
    "credential_evidence_*.json",
)


def _add_gitignore(path: Path) -> str:
    """Append the lines ``path`` lacks (idempotent); keeps what is there."""
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"read {path}: {err}") from err
    have = {line.strip() for line in current.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if missing:
        from gait.fsutil import atomic_write

        prefix = current if not current or current.endswith("\n") else current + "\n"
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        atomic_write(path, (prefix + "\n".join(missing) + "\n").encode("utf-8"), mode=mode)
    return str(path)
