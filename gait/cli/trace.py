"""``gait trace verify <path>`` (trace.md §4.1)."""

from __future__ import annotations

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.trace_verify import verify_trace_file

group = GaitGroup(
    name="trace",
    explain="Verify signed gate trace records for offline auditability.",
    help="Verify signed decision traces.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


@gait_command(
    group,
    "verify",
    explain="Validate a gate trace signature and report deterministic verification status.",
    help=(
        "Verify the signature of a trace file. Exit 0 verified, 2 signature missing or "
        "invalid, 6 unreadable/unparsable file or no key."
    ),
)
@click.argument("paths", nargs=-1, metavar="PATH")
@click.option("--path", "path_option", default=None, help="Trace file (instead of PATH).")
@click.option("--public-key", default=None, help="Path to a base64 public key file.")
@click.option("--public-key-env", default=None, help="Env var holding a base64 public key.")
@click.option("--private-key", default=None, help="Path to a base64 private key (public derived).")
@click.option("--private-key-env", default=None, help="Env var holding a base64 private key.")
def verify_command(
    paths: tuple[str, ...],
    path_option: str | None,
    public_key: str | None,
    public_key_env: str | None,
    private_key: str | None,
    private_key_env: str | None,
    json: bool,
) -> Outcome:
    return verify_trace_file(
        paths,
        path_option=path_option,
        public_key=public_key,
        public_key_env=public_key_env,
        private_key=private_key,
        private_key_env=private_key_env,
    )
