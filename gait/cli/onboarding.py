"""``gait init`` (starter repo policy) and ``gait check`` (policy readiness for this repo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import GaitError, InvalidInput

_INIT_EXPLAIN = (
    "Write a deterministic starter repo policy at .gait.yaml, report the agent frameworks "
    "and tools found locally, and suggest conservative starter rules, without touching "
    "existing regress or project-defaults files."
)
_CHECK_EXPLAIN = (
    "Validate a repo policy file, then report readiness findings and gap warnings against "
    "the tools and frameworks found locally, without changing the workspace."
)


def _contract() -> dict[str, str]:
    from gait.scout.onboarding import CONTRACT

    return dict(CONTRACT)


def _with_context(err: GaitError, **extra: Any) -> GaitError:
    err.details = {"contract": _contract(), **extra, **err.details}
    return err


def _fail(message: str, **extra: Any) -> GaitError:
    return _with_context(InvalidInput(message), **extra)


def _detection_payload(detection: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in detection.items() if v}


@gait_command(
    None,
    "init",
    explain=_INIT_EXPLAIN,
    help=(
        "Write a starter repo policy (default .gait.yaml) from a built-in template, with a "
        "comment header naming the frameworks and tools found under the current directory "
        "and suggested (commented-out) starter rules for them."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option(
    "--template",
    default="baseline-highrisk",
    show_default=True,
    help="Starter template: baseline-lowrisk, baseline-mediumrisk or baseline-highrisk.",
)
@click.option("--out", default=".gait.yaml", show_default=True, help="Policy file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def init_command(
    args: tuple[str, ...], template: str, out: str, force: bool, json: bool
) -> Outcome:
    from gait.cli.policy import _ALIASES, _TEMPLATES
    from gait.fsutil import atomic_write
    from gait.resources import policy_template
    from gait.scout.onboarding import derive_signals, detect_repo_surface, render_init_policy

    if args:
        raise _fail("unexpected positional arguments")
    key = template.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _TEMPLATES:
        raise _fail(f"unknown template: {template.strip().lower()}")
    try:
        body = policy_template(_TEMPLATES[key]).read_text(encoding="utf-8")
    except OSError as err:
        raise _fail(f"template is not available: {key}: {err}") from err
    detection = detect_repo_surface(".")
    signals, generated, unknown = derive_signals(detection)
    path = out.strip()
    if not path:
        raise _fail("output path must not be empty")
    target = Path(path)
    if not force and (target.exists() or target.is_symlink()):
        raise _fail(f"output path already exists (use --force to overwrite): {path}")
    if target.is_dir():
        raise _fail(f"output path is a directory: {path}")
    text = render_init_policy(body, detection, generated, unknown)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text.encode("utf-8"), mode=0o644)
    except OSError as err:
        raise _fail(f"write {path}: {err}") from err
    payload: dict[str, Any] = {
        "ok": True,
        "template": key,
        "policy_path": path,
        "detection": _detection_payload(detection),
        "contract": _contract(),
        "next_commands": [
            f"gait check --policy {path} --json",
            f"gait policy validate {path} --json",
            f"gait gate eval --policy {path} "
            "--intent examples/policy/intents/intent_delete.json --json",
        ],
    }
    for name, value in (
        ("detected_signals", signals),
        ("generated_rules", generated),
        ("unknown_signals", unknown),
    ):
        if value:
            payload[name] = value
    lines = [f"init ok: policy={path} template={key}"]
    if detection["frameworks"]:
        lines.append(f"detected frameworks: {', '.join(detection['frameworks'])}")
    return Outcome(payload, text=lines)


@gait_command(
    None,
    "check",
    explain=_CHECK_EXPLAIN,
    help=(
        "Validate a repo policy (default .gait.yaml; a single POLICY positional works when "
        "--policy is empty) and report readiness findings against the agent frameworks and "
        "tools found under the current directory. Read-only."
    ),
)
@click.argument("args", nargs=-1, metavar="[POLICY]")
@click.option("--policy", default=".gait.yaml", show_default=True, help="Repo policy to check.")
def check_command(args: tuple[str, ...], policy: str, json: bool) -> Outcome:
    from gait.policy import load_policy_file
    from gait.scout.onboarding import (
        derive_signals,
        detect_repo_surface,
        findings_to_warnings,
        readiness_findings,
    )

    rest = list(args)
    if not policy.strip() and len(rest) == 1:
        policy, rest = rest[0], []
    if rest:
        raise _fail("unexpected positional arguments")
    path = policy.strip()
    if not path:
        raise _fail("policy path must not be empty")
    try:
        loaded = load_policy_file(path)
    except GaitError as err:
        raise _with_context(err, policy_path=path) from None
    detection = detect_repo_surface(".")
    signals, generated, unknown = derive_signals(detection)
    findings = readiness_findings(loaded, detection, signals, generated, unknown)
    gaps = findings_to_warnings(findings)
    rules = len(loaded.rules)
    payload: dict[str, Any] = {
        "ok": True,
        "policy_path": path,
        "default_verdict": loaded.default_verdict,
        "detection": _detection_payload(detection),
        "contract": _contract(),
        "next_commands": [
            f"gait policy validate {path} --json",
            f"gait policy test {path} examples/policy/intents/intent_delete.json --json",
        ],
        "summary": (
            f"policy ok: default_verdict={loaded.default_verdict} rules={rules} "
            f"findings={len(findings)} gap_warnings={len(gaps)}"
        ),
    }
    for name, value in (
        ("rule_count", rules),
        ("detected_signals", signals),
        ("unknown_signals", unknown),
        ("findings", findings),
        ("gap_warnings", gaps),
    ):
        if value:
            payload[name] = value
    return Outcome(payload, text=[f"check ok: policy={path} rules={rules} warnings={len(gaps)}"])
