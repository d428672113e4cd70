"""``gait registry install|list|verify`` (cli.md §3): signed registry packs in a pinned cache.

Exit codes: install failures of any check are 2; bad flags, missing or broken
keys, and unreadable/invalid files for ``list``/``verify`` are 6; a verify whose
checks fail is 2. Failures print ``registry <sub> error: <message>`` on stdout,
as the reference does.
"""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import EXIT_INVALID_INPUT, EXIT_VERIFY_FAILED, GaitError

group = GaitGroup(
    name="registry",
    explain=(
        "Fetch signed registry pack manifests from allowlisted sources into a local pinned "
        "cache, list what is cached, and re-verify cached manifests offline."
    ),
    intercept_explain=True,
    help="Install, list and verify signed registry packs (cache: ~/.gait/registry).",
    context_settings={"help_option_names": ["--help", "-h"]},
)

_KEY_OPTIONS = (
    click.option("--public-key", default="", help="Base64 ed25519 public key file."),
    click.option("--public-key-env", default="", help="Env var holding a base64 public key."),
    click.option(
        "--private-key", default="", help="Base64 private key file (its public half is used)."
    ),
    click.option(
        "--private-key-env",
        default="",
        help="Env var holding a base64 private key (its public half is used).",
    ),
)


def _key_options(fn: Any) -> Any:
    for option in reversed(_KEY_OPTIONS):
        fn = option(fn)
    return fn


def _failure(sub: str, message: str, code: int) -> Outcome:
    return Outcome({"ok": False, "error": message}, code, text=[f"registry {sub} error: {message}"])


def _verify_key(public_key: str, public_key_env: str, private_key: str, private_key_env: str):  # type: ignore[no-untyped-def]
    from gait.signing import resolve_verify_key

    return resolve_verify_key(
        public_key=public_key,
        public_key_env=public_key_env,
        private_key=private_key,
        private_key_env=private_key_env,
    )


def _omit_empty(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k == "ok" or v}


def _parse_int(flag: str, text: str) -> int:
    value = text.strip().replace("_", "")
    try:
        return int(value, 0)
    except ValueError:
        try:
            return int(value, 10)
        except ValueError:
            raise GaitError(f'invalid value "{text}" for flag -{flag}: parse error') from None


def _parse_delay(text: str) -> float:
    from gait.policy.duration import parse_go_duration

    try:
        return parse_go_duration(text) / 1e9
    except ValueError:
        raise GaitError(f'invalid value "{text}" for flag -retry-base-delay: parse error') from None


@gait_command(
    group,
    "install",
    explain="Fetch a registry pack manifest, check signature, publisher and pin, then cache it.",
    help=(
        "Install a signed registry pack manifest into the local cache. The manifest (a file "
        "path or an http(s) URL) must pass the publisher allowlist, --pin and an ed25519 "
        "signature check; it is then stored under <cache>/<name>/<version>/"
        "<digest>/registry_pack.json and pin the digest in <cache>/pins/<name>.pin. "
        "Remote sources need https (unless --allow-insecure-http) and a host in --allow-host."
    ),
)
@click.argument("args", nargs=-1, metavar="[SOURCE]")
@click.option("--source", default="", help="Manifest source: a file path or an http(s) URL.")
@click.option(
    "--cache-dir", default="", help="Registry cache directory (default ~/.gait/registry)."
)
@click.option("--allow-host", default="", help="CSV of hosts a remote source may come from.")
@click.option("--publisher-allowlist", default="", help="CSV of trusted publishers.")
@click.option("--pin", default="", help="Expected manifest digest (sha256:<hex>).")
@_key_options
@click.option(
    "--retry-max-attempts",
    default="3",
    show_default=True,
    help="Attempts for a remote fetch that fails transiently (429/502/503/504, timeouts).",
)
@click.option(
    "--retry-base-delay",
    default="200ms",
    show_default=True,
    help="First retry delay (Go duration); doubles each attempt.",
)
@click.option(
    "--allow-insecure-http", is_flag=True, help="Accept an http:// source (unsafe; tests only)."
)
@click.option(
    "--allow-cached-fallback",
    is_flag=True,
    help="If the remote fetch fails, install the cached manifest matching --pin.",
)
def install_command(
    args: tuple[str, ...],
    source: str,
    cache_dir: str,
    allow_host: str,
    publisher_allowlist: str,
    pin: str,
    public_key: str,
    public_key_env: str,
    private_key: str,
    private_key_env: str,
    retry_max_attempts: str,
    retry_base_delay: str,
    allow_insecure_http: bool,
    allow_cached_fallback: bool,
    json: bool,
) -> Outcome:
    from gait.cli.common import csv_list

    try:
        attempts = _parse_int("retry-max-attempts", retry_max_attempts)
        delay = _parse_delay(retry_base_delay)
    except GaitError as err:
        return _failure("install", err.message, EXIT_INVALID_INPUT)
    rest = list(args)
    if not source and rest:
        source = rest.pop(0)
    if not source or rest:
        return _failure("install", "expected --source <path|url>", EXIT_INVALID_INPUT)
    try:
        key = _verify_key(public_key, public_key_env, private_key, private_key_env)
    except GaitError as err:
        return _failure("install", err.message, EXIT_INVALID_INPUT)
    from gait.registry import install

    try:
        result = install(
            source,
            key=key,
            cache_dir=cache_dir,
            allow_hosts=csv_list(allow_host),
            publisher_allowlist=csv_list(publisher_allowlist),
            pin=pin,
            attempts=attempts,
            base_delay=delay,
            allow_insecure_http=allow_insecure_http,
            allow_cached_fallback=allow_cached_fallback,
        )
    except GaitError as err:
        return _failure("install", err.message, EXIT_VERIFY_FAILED)
    payload = _omit_empty(
        {
            "ok": True,
            "source": result.source,
            "pack_name": result.pack_name,
            "pack_version": result.pack_version,
            "digest": result.digest,
            "publisher": result.manifest["publisher"].strip(),
            "pack_source": result.manifest["source"].strip(),
            "metadata_path": result.metadata_path,
            "pin_path": result.pin_path,
            "fallback_used": result.fallback_used,
            "fallback_path": result.fallback_path,
        }
    )
    text = [
        f"registry install ok: {result.pack_name}@{result.pack_version}",
        f"digest: sha256:{result.digest}",
    ]
    if result.fallback_used:
        text.append(f"fallback: cached manifest {result.fallback_path}")
    return Outcome(payload, text=text)


@gait_command(
    group,
    "list",
    explain="List the registry packs in the local cache with their pins.",
    help=(
        "List the registry packs in the local cache. Each cached manifest "
        "(<cache>/<name>/<version>/<digest>/registry_pack.json) is shown sorted by name, "
        "version and digest, with its pin and whether the pin matches."
    ),
)
@click.argument("args", nargs=-1, metavar="")
@click.option(
    "--cache-dir", default="", help="Registry cache directory (default ~/.gait/registry)."
)
def list_command(args: tuple[str, ...], cache_dir: str, json: bool) -> Outcome:
    if args:
        return _failure("list", "unexpected positional arguments", EXIT_INVALID_INPUT)
    from gait.registry import list_packs

    try:
        packs = list_packs(cache_dir)
    except GaitError as err:
        return _failure("list", err.message, EXIT_INVALID_INPUT)
    text = [f"registry list ok: {len(packs)} packs"]
    text += [f"- {p['pack_name']}@{p['pack_version']} sha256:{p['digest']}" for p in packs]
    payload: dict[str, Any] = {"ok": True}
    if packs:
        payload["packs"] = packs
    return Outcome(payload, text=text)


@gait_command(
    group,
    "verify",
    explain="Re-check a cached registry manifest: signature, publisher allowlist and pin.",
    help=(
        "Verify a cached registry manifest offline. Checks its ed25519 signature, its publisher against "
        "--publisher-allowlist, and the pin in the cache it belongs to (--cache-dir, or "
        "inferred from the path). Exit 2 when a check fails."
    ),
)
@click.argument("args", nargs=-1, metavar="[PATH]")
@click.option("--path", default="", help="The registry_pack.json to verify.")
@click.option("--cache-dir", default="", help="Cache whose pin to check (default: from --path).")
@click.option("--publisher-allowlist", default="", help="CSV of trusted publishers.")
@click.option("--report-out", default="", help="Write a verification report JSON here.")
@_key_options
def verify_command(
    args: tuple[str, ...],
    path: str,
    cache_dir: str,
    publisher_allowlist: str,
    report_out: str,
    public_key: str,
    public_key_env: str,
    private_key: str,
    private_key_env: str,
    json: bool,
) -> Outcome:
    from gait.cli.common import csv_list

    rest = list(args)
    if not path and rest:
        path = rest.pop(0)
    if not path or rest:
        return _failure("verify", "expected --path <registry_pack.json>", EXIT_INVALID_INPUT)
    allowlist = csv_list(publisher_allowlist)
    try:
        key = _verify_key(public_key, public_key_env, private_key, private_key_env)
    except GaitError as err:
        return _failure("verify", err.message, EXIT_INVALID_INPUT)
    from gait import PRODUCER_VERSION
    from gait.registry import verification_report, verify_manifest
    from gait.registry.query import write_report

    try:
        result = verify_manifest(path, key=key, cache_dir=cache_dir, publisher_allowlist=allowlist)
    except GaitError as err:
        return _failure("verify", err.message, EXIT_INVALID_INPUT)
    ok = result.passed(bool(allowlist))
    report_path = ""
    if report_out.strip():
        try:
            report_path = write_report(
                report_out, verification_report(result, ok, PRODUCER_VERSION)
            )
        except GaitError as err:
            return _failure("verify", err.message, EXIT_INVALID_INPUT)
    payload = _omit_empty(
        {
            "ok": ok,
            "pack_name": result.pack_name,
            "pack_version": result.pack_version,
            "digest": result.digest,
            "metadata_path": result.metadata_path,
            "pin_path": result.pin_path,
            "pin_digest": result.pin_digest,
            "pin_present": result.pin_present,
            "pin_verified": result.pin_verified,
            "signature_verified": result.signature_verified,
            "signature_error": result.signature_error,
            "publisher": result.publisher,
            "pack_source": result.source,
            "publisher_allowed": result.publisher_allowed,
            "report_path": report_path,
        }
    )
    if ok:
        text = [
            f"registry verify ok: {result.pack_name}@{result.pack_version} sha256:{result.digest}"
        ]
        if result.publisher:
            text.append(f"publisher: {result.publisher}")
        if report_path:
            text.append(f"report: {report_path}")
        return Outcome(payload, text=text)
    if result.signature_error:
        text = [f"registry verify failed: {result.signature_error}"]
    else:
        text = [f"registry verify failed: pin mismatch for {result.pack_name}"]
    return Outcome(payload, EXIT_VERIFY_FAILED, text=text)
