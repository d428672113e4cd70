"""``gait keys init|rotate|verify`` (trace.md §2.2, cli.md §3.1)."""

from __future__ import annotations

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import InvalidInput
from gait.signing import (
    KeyFiles,
    init_key_files,
    resolve_signing_key,
    rotate_key_files,
    source_label,
)

group = GaitGroup(
    name="keys",
    explain="Manage local ed25519 signing keys for trace and artifact verification workflows.",
    help="Create, rotate and check ed25519 signing keys.",
    context_settings={"help_option_names": ["--help", "-h"]},
)

_DEFAULT_OUT_DIR = "gait-out/keys"


def _files_outcome(files: KeyFiles) -> Outcome:
    payload = {
        "ok": True,
        "prefix": files.prefix,
        "key_id": files.key_id,
        "public_key_path": files.public_key_path,
        "private_key_path": files.private_key_path,
    }
    # rotate prints the init line too, as the original (it shares init's writer)
    text = (
        f"keys init ok: key_id={files.key_id} "
        f"public={files.public_key_path} private={files.private_key_path}"
    )
    return Outcome(payload, text=[text])


@gait_command(
    group,
    "init",
    explain="Generate a new ed25519 keypair and write base64-encoded key files to disk.",
    help="Write <out-dir>/<prefix>_private.key and <prefix>_public.key (mode 0600).",
)
@click.option("--out-dir", default=_DEFAULT_OUT_DIR, show_default=True, help="Key directory.")
@click.option("--prefix", default="gait", show_default=True, help="Key file name prefix.")
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
def init_command(out_dir: str, prefix: str, force: bool, json: bool) -> Outcome:
    return _files_outcome(init_key_files(out_dir, prefix, force=force))


@gait_command(
    group,
    "rotate",
    explain="Rotate signing keys by generating a timestamped keypair while keeping previous keys intact.",
    help="Write a new key pair under <prefix>_<UTC YYYYMMDDTHHMMSSZ>; never overwrites.",
)
@click.option("--out-dir", default=_DEFAULT_OUT_DIR, show_default=True, help="Key directory.")
@click.option("--prefix", default="gait", show_default=True, help="Key file name prefix.")
def rotate_command(out_dir: str, prefix: str, json: bool) -> Outcome:
    return _files_outcome(rotate_key_files(out_dir, prefix))


@gait_command(
    group,
    "verify",
    explain="Validate that configured signing key sources decode correctly and that public/private keys match.",
    help="Check that the private key loads and matches the public key, if given.",
)
@click.option("--private-key", default=None, help="Path to a base64 private key file.")
@click.option("--private-key-env", default=None, help="Env var holding a base64 private key.")
@click.option("--public-key", default=None, help="Path to a base64 public key file.")
@click.option("--public-key-env", default=None, help="Env var holding a base64 public key.")
def verify_command(
    private_key: str | None,
    private_key_env: str | None,
    public_key: str | None,
    public_key_env: str | None,
    json: bool,
) -> Outcome:
    if not (private_key or "").strip() and not (private_key_env or "").strip():
        raise InvalidInput("private key source is required (--private-key or --private-key-env)")
    key, _ = resolve_signing_key(
        "prod",
        private_key=private_key,
        private_key_env=private_key_env,
        public_key=public_key,
        public_key_env=public_key_env,
    )
    payload = {
        "ok": True,
        "key_id": key.key_id,
        "public_key_source": source_label(public_key, public_key_env),
        "private_key_source": key.source,
    }
    return Outcome(payload, text=[f"keys verify ok: key_id={key.key_id}"])
