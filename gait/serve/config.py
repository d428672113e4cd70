"""``mcp serve`` settings and their start-up validation (serve_sdk.md §3).

Pure data and checks: nothing here imports a web framework, so the CLI can
reject a bad flag (exit 6) before paying for starlette/uvicorn.
"""

from __future__ import annotations

import ipaddress
import os

import msgspec

from gait.errors import InvalidInput
from gait.gate.choices import check_key_mode, check_profile

__all__ = ["RetentionRule", "ServeConfig", "is_loopback_host", "parse_listen", "validate_config"]

AUTH_MODES = ("off", "token")
VERDICT_STATUS_MODES = ("compat", "strict")
ARTIFACT_CLASSES = ("trace", "runpack", "pack", "session")
TRACE_DURABILITY_MODES = ("strict", "batch")


class RetentionRule(msgspec.Struct, frozen=True, kw_only=True):
    """Keep at most ``max_count`` files of a class and none older than ``max_age_ns`` (0 = off)."""

    max_age_ns: int = 0
    max_count: int = 0

    @property
    def active(self) -> bool:
        return self.max_age_ns > 0 or self.max_count > 0


class ServeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the decision service needs, already validated by :func:`validate_config`."""

    policy: str
    listen: str = "127.0.0.1:8787"
    adapter: str = "mcp"
    profile: str = "standard"
    job_root: str = "./gait-out/jobs"
    context_envelope: str = ""
    auth_mode: str = "off"
    auth_token_env: str = ""
    max_request_bytes: int = 1_048_576
    http_verdict_status: str = "compat"
    allow_client_artifact_paths: bool = False
    trace_dir: str = "./gait-out/mcp-serve/traces"
    runpack_dir: str = ""
    pack_dir: str = ""
    session_dir: str = "./gait-out/mcp-serve/sessions"
    retention: dict[str, RetentionRule] = msgspec.field(default_factory=dict)
    export_log_out: str = ""
    export_otel_out: str = ""
    key_mode: str = "dev"
    private_key: str = ""
    private_key_env: str = ""
    state: str = ""
    # Seconds between checks of the policy file for changes (0 = only on SIGHUP).
    reload_interval: float = 2.0
    # Server timeouts of §3 (seconds): header, body read, response write, idle keep-alive.
    header_timeout: float = 5.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    idle_timeout: float = 60.0
    # Blocking decisions (sign + fsynced trace write) run on this many threads.
    decision_threads: int = 16
    # When a trace is fsynced: "strict" before the answer (group commit), "batch" within 10 ms.
    trace_durability: str = "strict"
    # Server processes sharing the listening socket (uvicorn's supervisor when > 1).
    workers: int = 1
    # Connections and requests served at once per process; more get 503 (bounds memory:
    # each in-flight request may hold up to max_request_bytes).
    max_concurrency: int = 1024
    access_log: bool = False


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) -> (host, port); InvalidInput if unparseable."""
    text = listen.strip()
    bad = InvalidInput(f"invalid --listen address {listen!r}: expected host:port")
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise bad
        host, port_text = text[1:end], text[end + 2 :]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise bad
    if not port_text.isdigit() or int(port_text) > 65535:
        raise bad
    if host and not _valid_host(host):
        raise bad
    return host, int(port_text)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
        for label in labels
    )


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP. An empty host means every interface: not loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_config(config: ServeConfig, environ: dict[str, str] | None = None) -> ServeConfig:
    """Apply the start-up rules of §3; raise InvalidInput (exit 6) naming the flag.

    Returns the config with trimmed/lowercased enum values (``--profile`` and
    ``--key-mode`` are case-sensitive: trimmed, never lowercased). ``environ`` defaults to
    ``os.environ`` (the token value itself is read by the server, never stored here).
    """
    env = os.environ if environ is None else environ
    policy = config.policy.strip()
    if not policy:
        raise InvalidInput("--policy is required")
    profile, key_mode = check_profile(config.profile), check_key_mode(config.key_mode)
    auth_mode = config.auth_mode.strip().lower()
    if auth_mode not in AUTH_MODES:
        raise InvalidInput(f"unsupported --auth-mode {config.auth_mode!r}: expected off or token")
    host, _port = parse_listen(config.listen)
    if not is_loopback_host(host) and auth_mode != "token":
        raise InvalidInput(
            f"refusing to listen on non-loopback address {config.listen!r} without "
            "--auth-mode token"
        )
    token_env = config.auth_token_env.strip()
    if auth_mode == "token":
        if not token_env:
            raise InvalidInput("--auth-mode token requires --auth-token-env")
        if not env.get(token_env, "").strip():
            raise InvalidInput(f"--auth-token-env {token_env} is not set or empty")
    if config.max_request_bytes <= 0:
        raise InvalidInput("--max-request-bytes must be > 0")
    status_mode = config.http_verdict_status.strip().lower()
    if status_mode not in VERDICT_STATUS_MODES:
        raise InvalidInput(
            f"unsupported --http-verdict-status {config.http_verdict_status!r}: "
            "expected compat or strict"
        )
    for name, rule in config.retention.items():
        if name not in ARTIFACT_CLASSES:
            raise InvalidInput(f"unknown retention class {name!r}")
        if rule.max_count < 0:
            raise InvalidInput(f"--{name}-max-count must be >= 0")
        if rule.max_age_ns < 0:
            raise InvalidInput(f"--{name}-max-age must be >= 0")
    if not config.trace_dir.strip():
        raise InvalidInput("--trace-dir must not be empty")
    if config.decision_threads <= 0:
        raise InvalidInput("--decision-threads must be > 0")
    if config.header_timeout <= 0 or config.read_timeout <= 0:
        raise InvalidInput("--header-timeout and --read-timeout must be > 0")
    if config.max_concurrency <= 0:
        raise InvalidInput("--max-concurrency must be > 0")
    durability = config.trace_durability.strip().lower()
    if durability not in TRACE_DURABILITY_MODES:
        raise InvalidInput(
            f"unsupported --trace-durability {config.trace_durability!r}: expected strict or batch"
        )
    if config.workers <= 0:
        raise InvalidInput("--workers must be > 0")
    if config.reload_interval < 0:
        raise InvalidInput("--reload-interval must be >= 0")
    return msgspec.structs.replace(
        config,
        policy=policy,
        listen=config.listen.strip(),
        context_envelope=config.context_envelope.strip(),
        adapter=config.adapter.strip().lower() or "mcp",
        profile=profile,
        auth_mode=auth_mode,
        auth_token_env=token_env,
        http_verdict_status=status_mode,
        key_mode=key_mode,
        trace_durability=durability,
    )


def parse_duration_flag(flag: str, text: str) -> int:
    """A retention age flag: Go duration or ``0``; InvalidInput naming the flag otherwise."""
    from gait.policy.duration import parse_go_duration

    try:
        value = parse_go_duration(text)
    except ValueError as err:
        raise InvalidInput(f"invalid {flag}: {err}") from None
    if value < 0:
        raise InvalidInput(f"invalid {flag}: duration must be >= 0")
    return value


def make_dirs(config: ServeConfig) -> None:
    """Create the artifact directories (§3: created at start-up)."""
    for directory in (config.trace_dir, config.runpack_dir, config.pack_dir, config.session_dir):
        if directory.strip():
            os.makedirs(directory, mode=0o750, exist_ok=True)
