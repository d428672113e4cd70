"""``gait doctor [--production-readiness]`` (scout_packs.md §5): environment checks with fixes.

The checks only look (stat, parse, open a temp file); none changes anything.
Every check that can fail says how to fix it in ``fix_command``.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import GaitError, InvalidInput

PASS, WARN, FAIL = "pass", "warn", "fail"
STALE_LOCK_SECONDS = 15


@dataclass
class Check:
    name: str
    scope: str
    status: str
    message: str
    fix_command: str = ""
    non_fixable: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "scope": self.scope,
            "status": self.status,
            "message": self.message,
        }
        if self.fix_command:
            out["fix_command"] = self.fix_command
        if self.non_fixable:
            out["non_fixable"] = True
        return out


@dataclass
class Keys:
    mode: str
    private_key: str | None
    private_key_env: str | None
    public_key: str | None
    public_key_env: str | None

    def given(self) -> bool:
        return any(
            v and v.strip()
            for v in (self.private_key, self.private_key_env, self.public_key, self.public_key_env)
        )


def _writable_dir(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def check_workdir(workdir: Path) -> Check:
    name, scope = "workdir", "universal"
    if not workdir.exists():
        return Check(name, scope, FAIL, f"{workdir} does not exist", f"mkdir -p {workdir}")
    if not workdir.is_dir():
        return Check(name, scope, FAIL, f"{workdir} is not a directory", f"mkdir -p {workdir}")
    if not _writable_dir(workdir):
        return Check(name, scope, FAIL, f"{workdir} is not writable", f"chmod u+w {workdir}")
    return Check(name, scope, PASS, f"{workdir} is writable")


def check_output_dir(out: Path) -> Check:
    name, scope = "output_dir", "universal"
    if not out.exists():
        return Check(name, scope, WARN, f"{out} does not exist yet", f"mkdir -p {out}")
    if not out.is_dir():
        return Check(
            name, scope, FAIL, f"{out} is not a directory", f"rm -f {out} && mkdir -p {out}"
        )
    if not _writable_dir(out):
        return Check(name, scope, FAIL, f"{out} is not writable", f"chmod u+w {out}")
    return Check(name, scope, PASS, f"{out} is writable")


def check_job_runtime(out: Path) -> Check:
    """Each durable job's state must parse and agree with its event history."""
    from gait.packs.jobs import JobStore

    name, scope = "job_runtime_durability", "universal"
    jobs = out / "jobs"
    if not jobs.is_dir():
        return Check(name, scope, PASS, "no durable job state")
    store = JobStore(str(jobs))
    broken = []
    for state in sorted(jobs.glob("*/state.json")):
        try:
            reason = store.divergence(state.parent.name)
        except GaitError as err:
            reason = err.message
        if reason:
            broken.append(f"{state.parent.name} ({reason})")
    if broken:
        return Check(
            name,
            scope,
            FAIL,
            "divergent durable job state: " + "; ".join(broken),
            f"gait job inspect --id <job_id> --root {jobs}",
        )
    return Check(name, scope, PASS, "durable job state is consistent")


def check_temp_dir() -> Check:
    name, scope = "temp_dir", "universal"
    try:
        directory = tempfile.gettempdir()
        with tempfile.NamedTemporaryFile(dir=directory, prefix="gait-doctor-"):
            pass
    except (OSError, FileNotFoundError) as err:
        return Check(
            name,
            scope,
            FAIL,
            f"temp dir unusable: {err}",
            "export TMPDIR=$HOME/tmp && mkdir -p $HOME/tmp",
        )
    return Check(name, scope, PASS, f"{directory} is writable")


def check_registry_cache() -> Check:
    name, scope = "registry_cache", "universal"
    cache = Path.home() / ".gait" / "registry"
    if not cache.exists():
        return Check(name, scope, WARN, f"{cache} does not exist", "mkdir -p ~/.gait/registry")
    if not cache.is_dir():
        return Check(
            name,
            scope,
            FAIL,
            f"{cache} is not a directory",
            "rm -f ~/.gait/registry && mkdir -p ~/.gait/registry",
        )
    pins = cache / "pins.json"
    if pins.exists():
        from gait.safejson import loads

        problem = ""
        try:
            value = loads(pins.read_bytes(), "parse pins.json")
        except OSError:
            value = None
        except InvalidInput as err:  # also a repeated key: named, as every reader does
            value, problem = None, f" ({err.message})"
        if not isinstance(value, dict):
            return Check(
                name,
                scope,
                WARN,
                f"{pins} is unreadable or inconsistent{problem}",
                f"rm -f {pins}",
            )
    return Check(name, scope, PASS, f"{cache} is present")


def check_rate_limit_lock(out: Path, now: float) -> Check:
    name, scope = "gate_rate_limit_lock", "universal"
    stale = []
    for directory in (out, Path(".gait-out")):
        for lock in sorted(directory.glob("*.lock")) if directory.is_dir() else []:
            try:
                age = now - lock.stat().st_mtime
            except OSError:
                continue
            if age > STALE_LOCK_SECONDS:
                stale.append(str(lock))
    if stale:
        return Check(
            name, scope, WARN, "stale lock file: " + ", ".join(stale), "rm -f " + " ".join(stale)
        )
    return Check(name, scope, PASS, "no stale rate-limit lock")


def binary_info() -> dict[str, str]:
    from gait import __version__

    on_path = shutil.which("gait") or ""
    argv0 = sys.argv[0] if sys.argv and os.path.basename(sys.argv[0]) == "gait" else ""
    if argv0:
        path, source = os.path.abspath(argv0), "argv0"
    elif on_path:
        path, source = on_path, "path"
    else:
        path, source = "", "none"
    return {
        "binary_path": path,
        "binary_path_source": source,
        "path_binary_path": on_path,
        "binary_version": __version__,
    }


def check_binary(info: dict[str, str]) -> Check:
    name, scope = "onboarding_binary", "universal"
    if not info["path_binary_path"]:
        return Check(
            name,
            scope,
            WARN,
            "the gait executable is not on PATH",
            'export PATH="$(python -m site --user-base)/bin:$PATH"',
        )
    return Check(name, scope, PASS, f"gait {info['binary_version']} at {info['path_binary_path']}")


def check_key_ambiguity(keys: Keys) -> Check:
    name, scope = "key_source_ambiguity", "universal"
    both = []
    if keys.private_key and keys.private_key_env:
        both.append("private")
    if keys.public_key and keys.public_key_env:
        both.append("public")
    if both:
        return Check(
            name,
            scope,
            FAIL,
            " and ".join(both) + " key: set either a path or an env var, not both",
            "drop --private-key-env or --private-key (same for the public key)",
        )
    return Check(name, scope, PASS, "key sources are unambiguous")


def check_key_permissions(keys: Keys) -> Check:
    name, scope = "key_permissions", "universal"
    for path in (keys.private_key, keys.public_key):
        if not (path and path.strip()):
            continue
        target = Path(path)
        if not os.access(target, os.R_OK):
            return Check(name, scope, WARN, f"key file unreadable: {target}", f"chmod 600 {target}")
        if not os.access(target.parent, os.X_OK):
            return Check(
                name,
                scope,
                WARN,
                f"key directory not searchable: {target.parent}",
                f"chmod 700 {target.parent}",
            )
        mode = stat.S_IMODE(target.stat().st_mode)
        if mode & 0o077:
            return Check(
                name,
                scope,
                WARN,
                f"key file {target} is readable by others ({mode:o})",
                f"chmod 600 {target}",
            )
    return Check(name, scope, PASS, "key file permissions are private")


def check_key_config(keys: Keys) -> Check:
    from gait.signing import load_private_key, load_public_key

    name, scope = "key_config", "universal"
    if keys.mode == "dev":
        if keys.given():
            return Check(
                name,
                scope,
                WARN,
                "dev mode ignores explicit key sources",
                "gait doctor --key-mode prod --private-key <path>",
            )
        return Check(
            name, scope, PASS, "dev mode: ephemeral keys (signatures do not verify across machines)"
        )
    if keys.mode != "prod":
        return Check(
            name,
            scope,
            FAIL,
            f"unsupported key mode: {keys.mode}",
            "gait doctor --key-mode prod --private-key <path>",
        )
    if not (keys.private_key or keys.private_key_env):
        return Check(
            name,
            scope,
            FAIL,
            "prod mode requires a private key source",
            "gait keys init --out-dir gait-out/keys",
        )
    try:
        pair = load_private_key(keys.private_key, keys.private_key_env)
        if keys.public_key or keys.public_key_env:
            public = load_public_key(keys.public_key, keys.public_key_env)
            if public.key_id != pair.key_id:
                return Check(
                    name,
                    scope,
                    FAIL,
                    "public key does not match private key",
                    "gait keys init --out-dir gait-out/keys --force",
                )
    except GaitError as err:
        return Check(name, scope, FAIL, err.message, "gait keys init --out-dir gait-out/keys")
    return Check(name, scope, PASS, f"prod key {pair.key_id[:16]}… loads")


def repo_root(start: Path) -> Path | None:
    """The gait source checkout containing ``start``, if any."""
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "gait" / "cli").is_dir():
            return candidate
    return None


def repo_checks(root: Path) -> list[Check]:
    from gait.resources import grammar_text

    out = []
    try:
        grammar_text()
        out.append(Check("schema_files", "repo_checkout", PASS, "grammar and schemas load"))
    except (OSError, GaitError) as err:
        out.append(
            Check("schema_files", "repo_checkout", FAIL, f"grammar unreadable: {err}", "", True)
        )
    hooks = root / ".git"
    if hooks.exists():
        out.append(Check("hooks_path", "repo_checkout", PASS, "git checkout present"))
    else:
        out.append(
            Check("hooks_path", "repo_checkout", WARN, "not a git checkout", f"git -C {root} init")
        )
    missing = [d for d in ("docs", "examples") if not (root / d).is_dir()]
    if missing:
        out.append(
            Check(
                "onboarding_assets",
                "repo_checkout",
                WARN,
                "missing " + ", ".join(missing),
                f"git -C {root} checkout -- " + " ".join(missing),
            )
        )
    else:
        out.append(Check("onboarding_assets", "repo_checkout", PASS, "docs and examples present"))
    return out


def production_checks(workdir: Path) -> list[Check]:
    """§5 production readiness: the project config must pin a production posture."""
    from gait.fsutil import read_regular_file
    from gait.gate.config import MAX_CONFIG_BYTES
    from gait.safeyaml import load

    scope = "production_readiness"
    path = workdir / ".gait" / "config.yaml"
    fix = f"mkdir -p {workdir / '.gait'} && $EDITOR {path}"
    try:
        # the reader gate eval uses: a repeated key is an error here too, not the last one
        data = read_regular_file(path, MAX_CONFIG_BYTES)
        doc = load(data, "parse config", source=str(path)) or {}
        if not isinstance(doc, dict):
            raise ValueError("expected a mapping")
    except FileNotFoundError:
        checks = [Check("production_readiness_config", scope, FAIL, f"{path} does not exist", fix)]
        doc = None
    except (OSError, ValueError, GaitError) as err:
        checks = [
            Check("production_readiness_config", scope, FAIL, f"{path} does not parse: {err}", fix)
        ]
        doc = None
    else:
        checks = [Check("production_readiness_config", scope, PASS, f"{path} parses")]
    gate = (doc or {}).get("gate") if isinstance((doc or {}).get("gate"), dict) else {}
    profile = str(gate.get("profile") or "")
    checks.append(
        Check("production_profile", scope, PASS, "gate.profile is oss-prod")
        if profile == "oss-prod"
        else Check(
            "production_profile",
            scope,
            FAIL,
            f"gate.profile is {profile or 'unset'}, want oss-prod",
            f"set gate.profile: oss-prod in {path}",
        )
    )
    key_mode = str(gate.get("key_mode") or "")
    checks.append(
        Check("production_key_mode", scope, PASS, "gate.key_mode is prod")
        if key_mode == "prod"
        else Check(
            "production_key_mode",
            scope,
            FAIL,
            f"gate.key_mode is {key_mode or 'unset'}, want prod",
            f"set gate.key_mode: prod in {path}",
        )
    )
    strict_context = str(gate.get("context_evidence_mode") or "") == "required" or gate.get(
        "wrkr_inventory_path"
    )
    checks.append(
        Check("production_context_strictness", scope, PASS, "context evidence is enforced")
        if strict_context
        else Check(
            "production_context_strictness",
            scope,
            WARN,
            "context evidence is best effort",
            f"set gate.context_evidence_mode: required in {path}",
        )
    )
    checks.append(_retention_check(doc or {}, path, scope))
    checks.append(_service_check(doc or {}, path, scope))
    return checks


def _retention_check(doc: dict[str, Any], path: Path, scope: str) -> Check:
    from gait.policy.duration import parse_go_duration

    bad = []
    for section in ("retention", "mcp_serve"):
        values = doc.get(section) if isinstance(doc.get(section), dict) else {}
        for key, value in sorted(values.items()):
            if str(key).endswith(("_ttl", "_max_age")):
                try:
                    parse_go_duration(str(value))
                except ValueError:
                    bad.append(f"{section}.{key}={value}")
    if bad:
        return Check(
            "production_retention",
            scope,
            FAIL,
            "TTL does not parse: " + ", ".join(bad),
            f"use Go durations (168h, 30m) in {path}",
        )
    return Check("production_retention", scope, PASS, "retention TTLs parse")


def _service_check(doc: dict[str, Any], path: Path, scope: str) -> Check:
    serve = doc.get("mcp_serve") if isinstance(doc.get("mcp_serve"), dict) else None
    if not serve:
        return Check("production_service_boundary", scope, PASS, "no mcp_serve service configured")
    listen = str(serve.get("listen") or "127.0.0.1:8787")
    host = listen.rsplit(":", 1)[0].strip("[]")
    loopback = host in ("127.0.0.1", "localhost", "::1")
    problems = []
    if not loopback and str(serve.get("auth_mode") or "off") != "token":
        problems.append(f"listen {listen} is not loopback and auth_mode is not token")
    if str(serve.get("http_verdict_status") or "compat") != "strict":
        problems.append("http_verdict_status is not strict")
    if serve.get("allow_client_artifact_paths"):
        problems.append("allow_client_artifact_paths is on")
    if problems:
        return Check(
            "production_service_boundary",
            scope,
            FAIL,
            "; ".join(problems),
            f"set mcp_serve.auth_mode: token and mcp_serve.http_verdict_status: strict in {path}",
        )
    return Check("production_service_boundary", scope, PASS, "mcp_serve boundary is locked down")


def run_doctor(
    workdir: Path, output_dir: Path, keys: Keys, *, production: bool, now: float | None = None
) -> dict[str, Any]:
    from gait import __version__
    from gait.signing import now_rfc3339

    info = binary_info()
    root = repo_root(Path.cwd().resolve())
    checks = [
        check_workdir(workdir),
        check_output_dir(output_dir),
        check_job_runtime(output_dir),
        check_temp_dir(),
    ]
    if not production:
        checks += [
            check_registry_cache(),
            check_rate_limit_lock(output_dir, now or time.time()),
            check_binary(info),
        ]
    checks += [check_key_ambiguity(keys), check_key_permissions(keys), check_key_config(keys)]
    if production:
        checks += production_checks(workdir)
    elif root is not None:
        checks += repo_checks(root)
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    non_fixable = any(c.non_fixable and c.status == FAIL for c in checks)
    status = FAIL if failed else WARN if warned else PASS
    mode = "repo_checkout" if root is not None else "installed_binary"
    summary = (
        f"doctor: onboarding_mode={mode} status={status} failed={failed} warned={warned} "
        f"non_fixable={'true' if non_fixable else 'false'}"
    )
    return {
        "ok": not non_fixable and not (production and status == FAIL),
        "schema_id": "gait.doctor.result",
        "schema_version": "1.0.0",
        "created_at": now_rfc3339(),
        "producer_version": __version__,
        "onboarding_mode": mode,
        "status": status,
        "non_fixable": non_fixable,
        "summary": summary,
        "fix_commands": sorted(
            {c.fix_command for c in checks if c.fix_command and c.status != PASS}
        ),
        **info,
        "checks": [c.to_json() for c in checks],
    }


# ------------------------------------------------------------ doctor adoption
#
# Reads the GAIT_ADOPTION_LOG stream (gait.cli.telemetry, docs/telemetry.md) and
# reports activation milestones A1-A4 (demo, verify, regress init, regress run),
# per-command counts and the skill workflows' success rates.

MILESTONE_ORDER = ("A1", "A2", "A3", "A4", "E1", "E2", "E3")
ACTIVATION = ("A1", "A2", "A3", "A4")
SKILL_WORKFLOWS = (
    "gait-capture-runpack",
    "gait-incident-to-regression",
    "gait-policy-test-rollout",
)
_WORKFLOW_OF_COMMAND = {
    "run record": "gait-capture-runpack",
    "verify": "gait-capture-runpack",
    "regress init": "gait-incident-to-regression",
    "regress run": "gait-incident-to-regression",
    "regress bootstrap": "gait-incident-to-regression",
    "policy test": "gait-policy-test-rollout",
    "policy simulate": "gait-policy-test-rollout",
    "gate eval": "gait-policy-test-rollout",
}
_BLOCKER_HINTS = {
    "A1": "missing A1: run `gait demo`",
    "A2": "missing A2: run `gait verify <run_id>`",
    "A3": "missing A3: run `gait regress init --from <run_id>`",
    "A4": "missing A4: run `gait regress run`",
}
ADOPTION_SCHEMA = "gait.scout.adoption_event"
MAX_ADOPTION_LINE = 1024 * 1024
_NO_EVENTS_TIME = (315532800, 0)  # 1980-01-01T00:00:00Z: created_at of an empty report
_ZERO_TIME = (-62135596800, 0)  # 0001-01-01T00:00:00Z: first/last of an empty report
_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array"}
_EVENT_FIELDS = {
    # field -> (JSON type check, Go type named in errors)
    "schema_id": (str, "string"),
    "schema_version": (str, "string"),
    "producer_version": (str, "string"),
    "command": (str, "string"),
    "workflow_id": (str, "string"),
    "success": (bool, "bool"),
    "exit_code": (int, "int"),
    "elapsed_ms": (int, "int64"),
}


class _AdoptionEvent:
    __slots__ = (
        "command",
        "created",
        "elapsed_ms",
        "exit_code",
        "milestones",
        "success",
        "workflow",
    )

    def __init__(self, fields: dict[str, Any]) -> None:
        self.command: str = fields["command"]
        self.created: tuple[int, int] = fields["created_at"]
        self.elapsed_ms: int = fields["elapsed_ms"]
        self.exit_code: int = fields["exit_code"]
        self.milestones: list[str] = fields["milestones"]
        self.success: bool = fields["success"]
        self.workflow: str = fields["workflow_id"]


def _go_quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else _JSON_KIND.get(type(value), "value")


def _type_error(value: Any, field: str, go_type: str) -> InvalidInput:
    shown = _kind(value)
    if shown == "number":
        shown = f"number {value}"
    return InvalidInput(
        f"json: cannot unmarshal {shown} into Go struct field AdoptionEvent.{field} of type {go_type}"
    )


def _event_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The event's fields as the reference's struct decoding sees them (names match any case)."""
    from gait.signing.timestamps import parse_rfc3339

    by_name = {key.lower(): value for key, value in raw.items()}
    fields: dict[str, Any] = {
        "schema_id": "",
        "schema_version": "",
        "producer_version": "",
        "command": "",
        "workflow_id": "",
        "success": False,
        "exit_code": 0,
        "elapsed_ms": 0,
        "created_at": None,
        "milestones": [],
        "environment": {"os": "", "arch": ""},
    }
    for name, (kind, go_type) in _EVENT_FIELDS.items():
        value = by_name.get(name)
        if value is None:
            continue
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(value, name, go_type)
        elif not isinstance(value, kind):
            raise _type_error(value, name, go_type)
        fields[name] = value
    created = by_name.get("created_at")
    if created is not None:
        if not isinstance(created, str):
            raise InvalidInput("Time.UnmarshalJSON: input is not a JSON string")
        try:
            fields["created_at"] = parse_rfc3339(created)
        except InvalidInput:
            raise InvalidInput(f"parsing time {_go_quote(created)} as RFC 3339 failed") from None
    milestones = by_name.get("milestones")
    if milestones is not None:
        if not isinstance(milestones, list):
            raise _type_error(milestones, "milestones", "[]string")
        for item in milestones:
            if item is not None and not isinstance(item, str):
                raise _type_error(item, "milestones", "string")
        fields["milestones"] = [m for m in milestones if m is not None]
    env = by_name.get("environment")
    if env is not None:
        if not isinstance(env, dict):
            raise _type_error(env, "environment", "scout.AdoptionEnvContext")
        env_fields = {key.lower(): value for key, value in env.items()}
        for name in ("os", "arch"):
            value = env_fields.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _type_error(value, f"environment.{name}", "string")
            fields["environment"][name] = value
    return fields


def _validate_event(fields: dict[str, Any]) -> _AdoptionEvent:
    schema_id = fields["schema_id"] or ADOPTION_SCHEMA
    if schema_id != ADOPTION_SCHEMA:
        raise InvalidInput(f"unsupported schema_id {_go_quote(schema_id)}")
    version = fields["schema_version"] or "1.0.0"
    if version != "1.0.0":
        raise InvalidInput(f"unsupported schema_version {_go_quote(version)}")
    if fields["created_at"] is None or fields["created_at"] == _ZERO_TIME:
        raise InvalidInput("created_at is required")
    fields["command"] = fields["command"].strip()
    if not fields["command"]:
        raise InvalidInput("command is required")
    fields["workflow_id"] = fields["workflow_id"].strip()
    if fields["exit_code"] < 0:
        raise InvalidInput("exit_code must be >= 0")
    if fields["exit_code"] > 255:
        raise InvalidInput("exit_code must be <= 255")
    fields["elapsed_ms"] = max(fields["elapsed_ms"], 0)
    fields["milestones"] = sorted({m.strip() for m in fields["milestones"]} - {""})
    for name in ("os", "arch"):
        if not fields["environment"][name].strip():
            raise InvalidInput(f"environment.{name} is required")
    return _AdoptionEvent(fields)


def load_adoption_events(path: str) -> list[_AdoptionEvent]:
    """Every event of an adoption log; the first bad line stops the read (exit 6)."""
    from gait.fsutil import go_os_error
    from gait.safejson import loads

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError as err:
        raise InvalidInput(f"scan adoption log: {go_os_error(path, err)}") from None
    except OSError as err:
        raise InvalidInput(f"open adoption log: {go_os_error(path, err)}") from None
    events = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) >= MAX_ADOPTION_LINE:
            raise InvalidInput("scan adoption log: bufio.Scanner: token too long")
        text = line.strip()
        if not text:
            continue
        try:
            raw = loads(text, "adoption event")
            if not isinstance(raw, dict):
                raise InvalidInput(
                    f"json: cannot unmarshal {_kind(raw)} into Go value of type scout.AdoptionEvent"
                )
            fields = _event_fields(raw)
        except GaitError as err:
            message = err.message.removeprefix("adoption event: ")
            raise InvalidInput(
                f"parse adoption log line {number}: {message}", details=err.details
            ) from None
        try:
            events.append(_validate_event(fields))
        except GaitError as err:
            raise InvalidInput(f"validate adoption log line {number}: {err.message}") from None
    return events


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) // 2


def _ms_between(later: tuple[int, int], earlier: tuple[int, int]) -> int:
    nanos = (later[0] - earlier[0]) * 1_000_000_000 + later[1] - earlier[1]
    return nanos // 1_000_000 if nanos > 0 else 0


def _rate(success: int, total: int) -> float | int:
    rate = success / total if total else 0.0
    return int(rate) if rate.is_integer() else rate  # Go prints 1, not 1.0


def build_adoption_report(events: list[_AdoptionEvent], source: str) -> dict[str, Any]:
    """The ``gait.doctor.adoption_report`` of a list of adoption events."""
    from gait import __version__
    from gait.signing.timestamps import format_rfc3339

    commands: dict[str, dict[str, Any]] = {}
    achieved: set[str] = set()
    first_success: dict[str, tuple[int, int]] = {}
    samples: dict[str, list[int]] = {"A1": [], "A4": []}
    workflows: dict[str, dict[str, Any]] = {}
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    for event in events:
        name = event.command or "unknown"
        row = commands.setdefault(name, {"command": name, "total": 0, "success": 0, "failure": 0})
        row["total"] += 1
        row["success" if event.success else "failure"] += 1
        for tag in event.milestones:
            achieved.add(tag)
            if event.success:
                if tag not in first_success or event.created < first_success[tag]:
                    first_success[tag] = event.created
                if tag in samples:
                    samples[tag].append(event.elapsed_ms)
        workflow = event.workflow or _WORKFLOW_OF_COMMAND.get(event.command, "")
        if workflow:
            acc = workflows.setdefault(
                workflow, {"total": 0, "success": 0, "failure": 0, "runtime": [], "codes": {}}
            )
            acc["total"] += 1
            acc["runtime"].append(event.elapsed_ms)
            if event.success:
                acc["success"] += 1
            else:
                acc["failure"] += 1
                acc["codes"][event.exit_code] = acc["codes"].get(event.exit_code, 0) + 1
        if first is None or event.created < first:
            first = event.created
        if last is None or event.created > last:
            last = event.created

    blockers = sorted({_BLOCKER_HINTS[m] for m in ACTIVATION if m not in achieved})
    report: dict[str, Any] = {
        "schema_id": "gait.doctor.adoption_report",
        "schema_version": "1.0.0",
        "created_at": format_rfc3339(*(last or _NO_EVENTS_TIME)),
        "producer_version": __version__,
        "source": source.strip(),
        "total_events": len(events),
        "success_events": sum(r["success"] for r in commands.values()),
        "failed_events": sum(r["failure"] for r in commands.values()),
        "first_event_at": format_rfc3339(*(first or _ZERO_TIME)),
        "last_event_at": format_rfc3339(*(last or _ZERO_TIME)),
        "commands": [commands[name] for name in sorted(commands)],
        "milestones": [{"name": m, "achieved": m in achieved} for m in MILESTONE_ORDER],
        "activation_complete": not blockers,
    }
    if first is not None:
        timing = {m: _ms_between(first_success[m], first) for m in ACTIVATION if m in first_success}
        if timing:
            report["activation_timing_ms"] = timing
    medians = {}
    for tag, key in (("A1", "m1_demo_elapsed_ms"), ("A4", "m2_regress_run_elapsed_ms")):
        median = _median(samples[tag])
        if median is not None:
            medians[key] = median
    if medians:
        report["activation_medians_ms"] = medians
    skill = []
    for workflow in SKILL_WORKFLOWS:
        acc = workflows.get(workflow)
        if not acc:
            continue
        entry: dict[str, Any] = {
            "workflow": workflow,
            "total": acc["total"],
            "success": acc["success"],
            "failure": acc["failure"],
            "success_rate": _rate(acc["success"], acc["total"]),
            "median_runtime_ms": _median(acc["runtime"]) or 0,
        }
        if acc["codes"]:
            # most frequent failing exit code; ties go to the lowest code
            code = min(acc["codes"], key=lambda c: (-acc["codes"][c], c))
            if code:
                entry["most_common_failure_code"] = code
        skill.append(entry)
    if skill:
        report["skill_workflows"] = skill
    if blockers:
        report["blockers"] = blockers
    return report


_ADOPTION_EXPLAIN = (
    "Summarize local activation milestones and blockers from GAIT_ADOPTION_LOG events."
)

# Not registered anywhere: it only gives ``doctor adoption`` its name in usage and errors.
_doctor_names = click.Group(name="doctor")


@gait_command(
    _doctor_names,
    "adoption",
    explain=_ADOPTION_EXPLAIN,
    help=(
        "Summarize adoption telemetry (the GAIT_ADOPTION_LOG JSONL): activation milestones "
        "A1-A4 (demo, verify, regress init, regress run), blockers, counts per command and "
        "skill workflow success rates. Exit 6 on a missing or malformed log."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--from", "from_path", default="", help="Adoption events JSONL to summarize.")
def adoption_command(args: tuple[str, ...], from_path: str, json: bool) -> Outcome:
    if args:
        raise InvalidInput("unexpected positional arguments")
    if not from_path.strip():
        raise InvalidInput("missing required --from <path>")
    events = load_adoption_events(from_path.strip())
    report = build_adoption_report(events, from_path)
    lines = [
        f"doctor adoption: source={report['source']} total_events={report['total_events']} "
        f"activation_complete={'true' if report['activation_complete'] else 'false'}"
    ]
    if report.get("blockers"):
        lines.append("blockers: " + "; ".join(report["blockers"]))
    return Outcome({"ok": True, "report": report}, text=lines)


@gait_command(
    None,
    "doctor",
    explain="Check the local environment (directories, keys, binary, production settings) and say how to fix each problem.",
    help=(
        "Diagnose the environment. Exit 0 (even with warnings or fixable failures), 7 on a "
        "non-fixable problem, 2 when --production-readiness fails. "
        "`gait doctor adoption --from <events.jsonl>` summarizes adoption telemetry."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option("--workdir", default=".", show_default=True, help="Project working directory.")
@click.option("--output-dir", default="./gait-out", show_default=True, help="Artifact directory.")
@click.option(
    "--key-mode", default="dev", show_default=True, help="dev|prod: the key posture to check."
)
@click.option("--private-key", default=None, help="Base64 private key file to check.")
@click.option("--private-key-env", default=None, help="Env var with a base64 private key.")
@click.option("--public-key", default=None, help="Base64 public key file to check.")
@click.option("--public-key-env", default=None, help="Env var with a base64 public key.")
@click.option(
    "--production-readiness", is_flag=True, help="Check .gait/config.yaml for a production posture."
)
@click.option(
    "--summary", "summary_only", is_flag=True, help="Text mode: print only the summary line."
)
def command(
    args: tuple[str, ...],
    workdir: str,
    output_dir: str,
    key_mode: str,
    private_key: str | None,
    private_key_env: str | None,
    public_key: str | None,
    public_key_env: str | None,
    production_readiness: bool,
    summary_only: bool,
    json: bool,
) -> Outcome:
    if args:
        raise InvalidInput("unexpected positional arguments")
    keys = Keys(key_mode.strip() or "dev", private_key, private_key_env, public_key, public_key_env)
    result = run_doctor(Path(workdir), Path(output_dir), keys, production=production_readiness)
    if result["non_fixable"]:
        code = 7
    elif production_readiness and result["status"] == FAIL:
        code = 2
    else:
        code = 0
    lines = [result["summary"]]
    if not summary_only:
        for check in result["checks"]:
            line = f"[{check['status']}] {check['name']}: {check['message']}"
            if check.get("fix_command") and check["status"] != PASS:
                line += f" (fix: {check['fix_command']})"
            lines.append(line)
    return Outcome(result, code, text=lines)


class _DoctorCommand(type(command)):  # type: ignore[misc]
    """``gait doctor adoption ...`` goes to its own command (own flags, help and --explain)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if args and args[0].strip() == "adoption":
            doctor_ctx = click.Context(_doctor_names, info_name=info_name, parent=parent)
            return adoption_command.make_context("adoption", args[1:], parent=doctor_ctx, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


command.__class__ = _DoctorCommand
