"""``gait doctor`` checks (scout_packs.md §5): the library decides, the CLI renders.

Each check looks at one thing and, when it can fail, says how to fix it in
``fix_command``. The only writes are the reference's probes: a two-byte file
in the work, output and temp directories, removed at once.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from typing import Any

from gait.errors import GaitError

PASS, WARN, FAIL = "pass", "warn", "fail"
UNIVERSAL, REPO, PRODUCTION = "universal", "repo_checkout", "production_readiness"
STALE_LOCK_NS = 30 * 1_000_000_000
CONFIG_PATH = ".gait/config.yaml"
RATE_LIMIT_LOCK = "gate_rate_limits.json.lock"
WRITE_PROBE = ".gait-doctor-writecheck"
# Telemetry streams are not fed by doctor's own ``gait version`` probe.
_TELEMETRY_VARS = ("GAIT_ADOPTION_LOG", "GAIT_OPERATIONAL_LOG", "GAIT_TELEMETRY_HEALTH_PATH")


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
    private_key: str | None = None
    private_key_env: str | None = None
    public_key: str | None = None
    public_key_env: str | None = None

    def _value(self, name: str) -> str:
        return (getattr(self, name) or "").strip()

    def any_source(self) -> bool:
        return any(
            self._value(n)
            for n in ("private_key", "private_key_env", "public_key", "public_key_env")
        )


def shell_quote(value: str) -> str:
    """POSIX single quoting, always quoted (``''`` for empty)."""
    return "'" + value.replace("'", "'\\''") + "'"


def _os_error(op: str, path: str, err: OSError) -> str:
    """``stat <path>: no such file or directory``: Go's wording of an OS error."""
    text = err.strerror or str(err)
    return f"{op} {path}: {text[:1].lower()}{text[1:]}"


def _probe_write(directory: str, name: str) -> OSError | None:
    """Create, fill and remove ``directory/name``; the error if it cannot be written."""
    from gait.registry.install import join

    path = join(directory, name)  # cleaned, as the reference names it in errors
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
    except OSError as err:
        err.filename = path
        return err
    try:
        os.remove(path)
    except OSError:
        pass
    return None


# ------------------------------------------------------------------ universal


def check_workdir(workdir: str) -> Check:
    name = "workdir"
    try:
        info = os.stat(workdir)
    except OSError as err:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"workdir not accessible: {_os_error('stat', workdir, err)}",
            f"mkdir -p {shell_quote(workdir)}",
        )
    if not stat.S_ISDIR(info.st_mode):
        return Check(
            name, UNIVERSAL, FAIL, "workdir is not a directory", f"mkdir -p {shell_quote(workdir)}"
        )
    err = _probe_write(workdir, WRITE_PROBE)
    if err is not None:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"workdir not writable: {_os_error('open', err.filename, err)}",
            f"chmod u+w {shell_quote(workdir)}",
        )
    return Check(name, UNIVERSAL, PASS, "workdir is writable")


def check_output_dir(out: str) -> Check:
    name = "output_dir"
    try:
        info = os.stat(out)
    except FileNotFoundError:
        return Check(
            name, UNIVERSAL, WARN, "output directory does not exist", f"mkdir -p {shell_quote(out)}"
        )
    except OSError as err:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"output directory check failed: {_os_error('stat', out, err)}",
        )
    if not stat.S_ISDIR(info.st_mode):
        return Check(name, UNIVERSAL, FAIL, "output path is not a directory")
    err = _probe_write(out, WRITE_PROBE)
    if err is not None:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"output directory not writable: {_os_error('open', err.filename, err)}",
            f"chmod u+w {shell_quote(out)}",
        )
    return Check(name, UNIVERSAL, PASS, "output directory is writable")


def check_job_runtime(out: str) -> Check:
    """Each durable job's state must parse and agree with its event history."""
    from pathlib import Path

    from gait.packs.jobs import JobStore

    name = "job_runtime_durability"
    jobs = Path(out) / "jobs"
    if not jobs.is_dir():
        return Check(name, UNIVERSAL, PASS, "no durable job state")
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
            UNIVERSAL,
            FAIL,
            "divergent durable job state: " + "; ".join(broken),
            f"gait job inspect --id <job_id> --root {shell_quote(str(jobs))}",
        )
    return Check(name, UNIVERSAL, PASS, "durable job state is consistent")


def temp_dir() -> str:
    """Go's ``os.TempDir`` on Unix: ``$TMPDIR``, else ``/tmp`` (never a fallback search)."""
    return os.environ.get("TMPDIR") or "/tmp"


def check_temp_dir() -> Check:
    name = "temp_dir"
    directory = temp_dir().strip()
    if not directory:
        return Check(name, UNIVERSAL, FAIL, "temporary directory is not configured")
    err = _probe_write(directory, f"gait-doctor-{time.time_ns()}.tmp")
    if err is not None:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"temporary directory is not writable: {_os_error('open', err.filename, err)}",
            f"chmod u+w {shell_quote(directory)}",
        )
    return Check(name, UNIVERSAL, PASS, "temporary directory is writable")


def _pin_consistent(cache: str, pin_path: str) -> bool:
    """The pin file names a 64-char digest whose ``registry_pack.json`` is in the cache."""
    from gait.registry.manifest import MANIFEST_FILE

    try:
        with open(pin_path, "rb") as handle:
            raw = handle.read(1 << 16)
    except OSError:
        return False
    digest = raw.decode("utf-8", "replace").strip().lower().removeprefix("sha256:")
    if len(digest) != 64 or "/" in digest or digest in (".", ".."):
        return False
    for pack in _entries(cache):
        for version in _entries(os.path.join(cache, pack)):
            if os.path.lexists(os.path.join(cache, pack, version, digest, MANIFEST_FILE)):
                return True
    return False


def _entries(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def check_registry_cache() -> Check:
    """The pinned packs of ``~/.gait/registry`` (docs/registry.md) point at cached manifests."""
    from gait.registry.install import join

    name = "registry_cache"
    home = os.environ.get("HOME", "")
    if not home:
        return Check(
            name,
            UNIVERSAL,
            WARN,
            "unable to resolve user home for registry cache: $HOME is not defined",
            "mkdir -p ~/.gait/registry",
        )
    cache = join(home, ".gait", "registry")
    try:
        info = os.stat(cache)
    except FileNotFoundError:
        return Check(
            name, UNIVERSAL, WARN, "registry cache is not initialized", "mkdir -p ~/.gait/registry"
        )
    except OSError as err:
        return Check(
            name,
            UNIVERSAL,
            WARN,
            f"registry cache check failed: {_os_error('stat', cache, err)}",
            "mkdir -p ~/.gait/registry",
        )
    if not stat.S_ISDIR(info.st_mode):
        return Check(name, UNIVERSAL, FAIL, "registry cache path is not a directory")
    pins_dir = os.path.join(cache, "pins")
    pins = [os.path.join(pins_dir, n) for n in _entries(pins_dir) if n.endswith(".pin")]
    if not pins:
        return Check(name, UNIVERSAL, PASS, "registry cache is accessible")
    broken = sum(not _pin_consistent(cache, pin) for pin in pins)
    if broken:
        return Check(
            name,
            UNIVERSAL,
            WARN,
            f"registry cache has {broken} inconsistent pin entries",
            f"gait registry list --cache-dir {shell_quote(cache)}",
        )
    return Check(name, UNIVERSAL, PASS, f"registry cache healthy ({len(pins)} pinned pack(s))")


def check_rate_limit_lock(out: str, workdir: str, now_ns: int | None = None) -> Check:
    """A rate-limit lock left behind by a killed ``gate eval`` (in the output dir or .gait-out)."""
    from gait.policy.duration import format_go_duration
    from gait.registry.install import join

    name = "gate_rate_limit_lock"
    candidates = [join(out, RATE_LIMIT_LOCK), join(workdir, ".gait-out", RATE_LIMIT_LOCK)]
    for lock in candidates:
        try:
            info = os.stat(lock)
        except FileNotFoundError:
            continue
        except OSError as err:
            return Check(
                name,
                UNIVERSAL,
                WARN,
                f"unable to inspect gate lock file: {_os_error('stat', lock, err)}",
            )
        if stat.S_ISDIR(info.st_mode):
            return Check(name, UNIVERSAL, WARN, "gate rate-limit lock path is a directory")
        age = (time.time_ns() if now_ns is None else now_ns) - info.st_mtime_ns
        if age > STALE_LOCK_NS:
            shown = format_go_duration(age - age % 1_000_000_000)
            return Check(
                name,
                UNIVERSAL,
                WARN,
                f"stale gate rate-limit lock detected ({shown} old)",
                f"rm -f {shell_quote(lock)}",
            )
        return Check(name, UNIVERSAL, PASS, "gate rate-limit lock is not stale")
    return Check(name, UNIVERSAL, PASS, "no stale gate rate-limit lock detected")


def binary_info(argv0: str | None = None) -> dict[str, str]:
    """Where the running ``gait`` came from: its own path when run as ``gait``, else ``PATH``."""
    import shutil
    import sys

    from gait import __version__

    on_path = shutil.which("gait") or ""
    first = sys.argv[0] if argv0 is None and sys.argv else (argv0 or "")
    if first and os.path.basename(first) == "gait":
        path, source = os.path.abspath(first), "argv0"
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


def _gait_version(binary: str) -> str:
    """``<binary> version``'s output; ValueError with the reason it is not a gait binary."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_VARS}
    try:
        done = subprocess.run(
            [binary, "version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ValueError("signal: killed") from None
    except OSError as err:
        raise ValueError(_os_error("fork/exec", binary, err)) from None
    if done.returncode != 0:
        raise ValueError(f"exit status {done.returncode}")
    text = done.stdout.decode("utf-8", "replace").strip()
    if not text.startswith("gait "):
        raise ValueError(f"unexpected version output: {text}")
    return text


def check_binary(info: dict[str, str], workdir: str) -> Check:
    name = "onboarding_binary"
    fix = "python -m pip install gait"
    binary = info.get("binary_path") or ""
    if not binary:
        for candidate in (os.path.join(workdir, "gait"), os.path.join(workdir, "gait.exe")):
            if os.path.exists(candidate) and not os.path.isdir(candidate):
                binary = candidate
                break
    if not binary:
        return Check(
            name, UNIVERSAL, WARN, "gait binary not found; onboarding commands may fail", fix
        )
    try:
        mode = os.stat(binary).st_mode
    except OSError:
        mode = None
    if mode is None or stat.S_ISDIR(mode):
        return Check(name, UNIVERSAL, WARN, "gait binary path is not accessible", fix)
    if not mode & 0o111:
        return Check(
            name,
            UNIVERSAL,
            WARN,
            f"gait binary is not executable: {binary}",
            f"chmod +x {shell_quote(binary)}",
        )
    try:
        version = _gait_version(binary)
    except ValueError as err:
        return Check(
            name, UNIVERSAL, WARN, f"gait binary version check failed ({binary}): {err}", fix
        )
    return Check(name, UNIVERSAL, PASS, f"gait binary ready (path={binary} version={version})")


def check_key_ambiguity(keys: Keys) -> Check:
    name = "key_source_ambiguity"
    for kind in ("private", "public"):
        if keys._value(f"{kind}_key") and keys._value(f"{kind}_key_env"):
            return Check(
                name,
                UNIVERSAL,
                FAIL,
                f"{kind} key path and env are both set",
                f"set only one of --{kind}-key or --{kind}-key-env",
            )
    return Check(name, UNIVERSAL, PASS, "key source configuration is unambiguous")


def check_key_permissions(keys: Keys) -> Check:
    """Key files must exist, be files, and be writable by their owner only."""
    name = "key_permissions"
    paths = [p for p in (keys._value("private_key"), keys._value("public_key")) if p]
    if not paths:
        return Check(name, UNIVERSAL, PASS, "no key file paths configured")
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as err:
            return Check(
                name,
                UNIVERSAL,
                WARN,
                f"key file not accessible: {path} ({_os_error('stat', path, err)})",
                f"ls -l {shell_quote(path)}",
            )
        if stat.S_ISDIR(info.st_mode):
            return Check(
                name,
                UNIVERSAL,
                WARN,
                f"key path is a directory: {path}",
                f"set key path to a file: {shell_quote(path)}",
            )
        if info.st_mode & 0o022:
            return Check(
                name,
                UNIVERSAL,
                WARN,
                f"key file is writable by group/others: {path}",
                f"chmod go-w {shell_quote(path)}",
            )
    return Check(name, UNIVERSAL, PASS, "key file permissions are strict")


def check_key_config(keys: Keys) -> Check:
    """dev: nothing to load; prod: the signing key loads (never the dev key) and so does the
    verify key, which must be the signing key's public half."""
    from gait.signing import resolve_signing_key, resolve_verify_key

    name = "key_config"
    mode = keys.mode.strip().lower() or "dev"
    if mode == "dev":
        if keys.any_source():
            return Check(
                name,
                UNIVERSAL,
                WARN,
                "dev mode ignores explicit key sources",
                "remove explicit key flags/env or use --key-mode prod",
            )
        return Check(name, UNIVERSAL, PASS, "dev key mode is configured")
    if mode != "prod":
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"unsupported key mode: {mode}",
            "use --key-mode dev or --key-mode prod",
        )
    try:
        pair, _ = resolve_signing_key(
            "prod", private_key=keys.private_key, private_key_env=keys.private_key_env
        )
    except GaitError as err:
        return Check(
            name,
            UNIVERSAL,
            FAIL,
            f"invalid prod signing key config: {err.message}",
            "set --private-key <path> or --private-key-env <VAR> for prod mode",
        )
    verify_fix = "set a valid --public-key/--public-key-env or matching private key source"
    if keys.any_source():
        try:
            public = resolve_verify_key(
                public_key=keys.public_key,
                public_key_env=keys.public_key_env,
                private_key=keys.private_key,
                private_key_env=keys.private_key_env,
            )
        except GaitError as err:
            return Check(
                name, UNIVERSAL, FAIL, f"invalid verify key config: {err.message}", verify_fix
            )
        if public.key_id != pair.key_id:  # stricter than the reference: a mismatch cannot verify
            return Check(
                name,
                UNIVERSAL,
                FAIL,
                "invalid verify key config: public key does not match private key",
                verify_fix,
            )
    return Check(name, UNIVERSAL, PASS, "prod key configuration is valid")


# ------------------------------------------------------------ repo checkout


def repo_root(start: str) -> str | None:
    """The gait source checkout holding ``start`` (or one of its parents), if any."""
    here = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(here, "pyproject.toml")) and os.path.isdir(
            os.path.join(here, "gait", "cli")
        ):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def repo_checks(root: str) -> list[Check]:
    from gait.resources import grammar_text

    out = []
    try:
        grammar_text()
        out.append(Check("schema_files", REPO, PASS, "required schema files are present"))
    except (OSError, GaitError) as err:
        out.append(
            Check(
                "schema_files",
                REPO,
                FAIL,
                f"missing required schema files: {err}",
                non_fixable=True,
            )
        )
    if os.path.exists(os.path.join(root, ".git")):
        out.append(Check("hooks_path", REPO, PASS, "git checkout present"))
    else:
        out.append(
            Check(
                "hooks_path", REPO, WARN, "not a git checkout", f"git -C {shell_quote(root)} init"
            )
        )
    missing = [d for d in ("docs", "examples") if not os.path.isdir(os.path.join(root, d))]
    if missing:
        out.append(
            Check(
                "onboarding_assets",
                REPO,
                WARN,
                f"missing onboarding assets: {','.join(missing)}",
                "git restore --source=HEAD -- " + " ".join(missing),
            )
        )
    else:
        out.append(Check("onboarding_assets", REPO, PASS, "onboarding assets are present"))
    return out


# ------------------------------------------------------- production readiness


def _mapping(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping")
    return value


def _text(section: dict[str, Any], key: str, where: str) -> str:
    value = section.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise ValueError(f"{where}.{key} must be a string")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _flag(section: dict[str, Any], key: str, where: str) -> bool:
    value = section.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key} must be a boolean")
    return value


def load_project_config(workdir: str) -> tuple[dict[str, Any] | None, bool]:
    """``(config, present)`` of ``<workdir>/.gait/config.yaml``; ValueError if it does not parse.

    Unknown keys are ignored (the file also carries other commands' defaults).
    """
    from gait.fsutil import read_regular_file
    from gait.gate.config import MAX_CONFIG_BYTES
    from gait.registry.install import join
    from gait.safeyaml import load

    path = join(workdir, CONFIG_PATH)
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return {}, False
    except OSError as err:
        raise ValueError(f"read project config: {_os_error('open', path, err)}") from None
    if not data.strip():
        return {}, True
    try:
        doc = load(data, "parse project config", source=path)
    except GaitError as err:
        raise ValueError(err.message) from None
    if doc is None:
        return {}, True
    if not isinstance(doc, dict):
        raise ValueError("parse project config: expected a mapping")
    try:
        gate, serve, retention = (_mapping(doc, k) for k in ("gate", "mcp_serve", "retention"))
        max_bytes = serve.get("max_request_bytes", 0)
        if max_bytes is None:
            max_bytes = 0
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise ValueError("mcp_serve.max_request_bytes must be an integer")
        config = {
            "gate": {k: _text(gate, k, "gate") for k in ("policy", "profile", "key_mode")},
            "mcp_serve": {
                "enabled": _flag(serve, "enabled", "mcp_serve"),
                "listen": _text(serve, "listen", "mcp_serve"),
                "auth_mode": _text(serve, "auth_mode", "mcp_serve").lower(),
                "auth_token_env": _text(serve, "auth_token_env", "mcp_serve"),
                "max_request_bytes": max_bytes,
                "http_verdict_status": _text(serve, "http_verdict_status", "mcp_serve").lower(),
                "allow_client_artifact_paths": _flag(
                    serve, "allow_client_artifact_paths", "mcp_serve"
                ),
            },
            "retention": {
                k: _text(retention, k, "retention")
                for k in ("trace_ttl", "session_ttl", "export_ttl")
            },
        }
    except ValueError as err:
        raise ValueError(f"parse project config: {err}") from None
    return config, True


def production_checks(workdir: str) -> list[Check]:
    """§5: ``.gait/config.yaml`` must pin the production posture."""
    quoted = shell_quote(CONFIG_PATH)
    try:
        config, present = load_project_config(workdir)
    except ValueError as err:
        return [
            Check(
                "production_readiness_config",
                PRODUCTION,
                FAIL,
                f"failed to parse {CONFIG_PATH}: {err}",
                f"edit {quoted} and fix yaml syntax",
            )
        ]
    assert config is not None
    checks = [
        Check("production_readiness_config", PRODUCTION, PASS, f"{CONFIG_PATH} present")
        if present
        else Check(
            "production_readiness_config",
            PRODUCTION,
            FAIL,
            f"missing {CONFIG_PATH}",
            f"cp examples/config/oss_prod_template.yaml {quoted}",
        )
    ]
    gate = config.get("gate") or {}
    profile = str(gate.get("profile", "")).lower()
    checks.append(
        Check("production_profile", PRODUCTION, PASS, "gate.profile is oss-prod")
        if profile == "oss-prod"
        else Check(
            "production_profile",
            PRODUCTION,
            FAIL,
            "gate.profile must be oss-prod for production readiness",
            f"set gate.profile=oss-prod in {quoted}",
        )
    )
    key_mode = str(gate.get("key_mode", "")).lower()
    checks.append(
        Check("production_key_mode", PRODUCTION, PASS, "gate.key_mode is prod")
        if key_mode == "prod"
        else Check(
            "production_key_mode",
            PRODUCTION,
            FAIL,
            "gate.key_mode must be prod for production readiness",
            f"set gate.key_mode=prod in {quoted}",
        )
    )
    checks.append(_context_check(profile, str(gate.get("policy", "")), quoted))
    checks.append(_retention_check(config.get("retention") or {}, quoted))
    checks.append(_service_check(config.get("mcp_serve") or {}, quoted))
    return checks


def _context_check(profile: str, policy: str, quoted: str) -> Check:
    name = "production_context_strictness"
    if profile != "oss-prod":
        return Check(
            name, PRODUCTION, FAIL, "strict context enforcement requires gate.profile=oss-prod"
        )
    if not policy.strip():
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "gate.policy must be set for strict context enforcement",
            f"set gate.policy in {quoted}",
        )
    return Check(name, PRODUCTION, PASS, "strict context profile is configured")


def _retention_check(retention: dict[str, str], quoted: str) -> Check:
    from gait.policy.duration import parse_go_duration

    name = "production_retention"
    keys = ("trace_ttl", "session_ttl", "export_ttl")
    if not all(retention.get(k) for k in keys):
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "retention.trace_ttl, retention.session_ttl, and retention.export_ttl are required",
            f"set retention trace/session/export TTLs in {quoted}",
        )
    for key in keys:
        try:
            parse_go_duration(retention[key])
        except ValueError as err:
            return Check(name, PRODUCTION, FAIL, f"invalid retention.{key}: {err}")
    return Check(name, PRODUCTION, PASS, "retention TTLs are configured")


def split_host_port(address: str) -> str:
    """The host of ``host:port`` (``[v6]:port``); ValueError with Go's wording otherwise."""

    def bad(why: str) -> ValueError:
        return ValueError(f"address {address}: {why}")

    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise bad("missing ']' in address")
        rest = address[end + 1 :]
        if not rest:
            raise bad("missing port in address")
        if not rest.startswith(":"):
            raise bad(
                "missing port in address" if ":" not in rest else "too many colons in address"
            )
        host = address[1:end]
        if "[" in rest or "]" in rest or "[" in host:
            raise bad("unexpected '[' in address")
        if ":" in rest[1:]:
            raise bad("too many colons in address")
        return host
    colon = address.rfind(":")
    if colon < 0:
        raise bad("missing port in address")
    host = address[:colon]
    if ":" in host:
        raise bad("too many colons in address")
    if "[" in host or "]" in address[colon:]:
        raise bad("unexpected '[' in address" if "[" in host else "unexpected ']' in address")
    return host


def is_loopback_listen(listen: str) -> bool:
    """Whether a listen address binds loopback only; ValueError when it does not parse."""
    import ipaddress

    text = listen.strip()
    if not text:
        raise ValueError("listen address is required")
    try:
        host = split_host_port(text).strip("[]")
    except ValueError as err:
        raise ValueError(f"invalid listen address: {err}") from None
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def _service_check(serve: dict[str, Any], quoted: str) -> Check:
    name = "production_service_boundary"
    listen = str(serve.get("listen") or "")
    if not serve.get("enabled") and not listen:
        return Check(name, PRODUCTION, PASS, "mcp_serve not configured")
    try:
        loopback = is_loopback_listen(listen or "127.0.0.1:8787")
    except ValueError as err:
        return Check(name, PRODUCTION, FAIL, f"invalid mcp_serve.listen: {err}")
    auth = str(serve.get("auth_mode") or "")
    if not loopback and auth != "token":
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "non-loopback mcp_serve.listen requires mcp_serve.auth_mode=token",
            f"set mcp_serve.auth_mode=token in {quoted}",
        )
    if auth == "token" and not str(serve.get("auth_token_env") or ""):
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "mcp_serve.auth_mode=token requires mcp_serve.auth_token_env",
            f"set mcp_serve.auth_token_env in {quoted}",
        )
    if serve.get("allow_client_artifact_paths"):
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "mcp_serve.allow_client_artifact_paths must be false in production",
            f"set mcp_serve.allow_client_artifact_paths=false in {quoted}",
        )
    max_bytes = int(serve.get("max_request_bytes") or 0)
    if max_bytes <= 0 or max_bytes > 4 << 20:
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "mcp_serve.max_request_bytes must be >0 and <=4194304",
            f"set mcp_serve.max_request_bytes=1048576 in {quoted}",
        )
    if str(serve.get("http_verdict_status") or "") != "strict":
        return Check(
            name,
            PRODUCTION,
            FAIL,
            "mcp_serve.http_verdict_status must be strict in production",
            f"set mcp_serve.http_verdict_status=strict in {quoted}",
        )
    return Check(name, PRODUCTION, PASS, "service boundary hardening settings are configured")


# ------------------------------------------------------------------ the run


def output_path(workdir: str, output_dir: str) -> str:
    """The output directory as the checks see it: relative paths are under the workdir."""
    from gait.registry.install import go_clean, join

    out = output_dir.strip() or "./gait-out"
    return go_clean(out) if os.path.isabs(out) else join(workdir, out)


def run_doctor(
    workdir: str,
    output_dir: str,
    keys: Keys,
    *,
    production: bool = False,
    argv0: str | None = None,
) -> dict[str, Any]:
    """The ``gait.doctor.result`` of scout_packs.md §5 (``ok`` excluded: the CLI decides it)."""
    from gait import __version__
    from gait.signing import now_rfc3339

    work = workdir.strip() or "."
    out = output_path(work, output_dir)
    info = binary_info(argv0)
    root = repo_root(work)
    checks = [check_workdir(work), check_output_dir(out), check_job_runtime(out), check_temp_dir()]
    if not production:
        checks += [
            check_registry_cache(),
            check_rate_limit_lock(out, work),
            check_binary(info, work),
        ]
    checks += [check_key_ambiguity(keys), check_key_permissions(keys), check_key_config(keys)]
    if production:
        checks += production_checks(work)
    elif root is not None:
        checks += repo_checks(root)
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    non_fixable = any(c.non_fixable for c in checks)
    status = FAIL if failed else WARN if warned else PASS
    mode = "repo_checkout" if root is not None else "installed_binary"
    result: dict[str, Any] = {
        "schema_id": "gait.doctor.result",
        "schema_version": "1.0.0",
        "created_at": now_rfc3339(),
        "producer_version": __version__,
        "onboarding_mode": mode,
        "status": status,
        "summary": (
            f"doctor: onboarding_mode={mode} status={status} failed={failed} warned={warned} "
            f"non_fixable={'true' if non_fixable else 'false'}"
        ),
        "checks": [c.to_json() for c in checks],
        **{k: v for k, v in info.items() if v},
    }
    # omitted when empty, as the reference does
    if non_fixable:
        result["non_fixable"] = True
    fixes = sorted({c.fix_command for c in checks if c.fix_command})
    if fixes:
        result["fix_commands"] = fixes
    return result
