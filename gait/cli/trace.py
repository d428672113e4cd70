"""``gait trace verify <path>`` (trace.md §4.1) and ``gait trace [flags] -- <cmd>`` (cli.md)."""

from __future__ import annotations

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.trace_verify import verify_trace_file


class TraceGroup(GaitGroup):
    """``trace verify`` as a subcommand; ``trace <flags> -- <cmd>`` runs the observe wrapper."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing and args and _wrapper_form(args):
            from gait.cli.wrapper import run_wrapper_args

            run_wrapper_args("trace", args)
        return super().parse_args(ctx, args)


def _wrapper_form(args: list[str]) -> bool:
    """A first word that is a flag (other than help/explain) or ``--`` means the wrapper."""
    first = args[0]
    return first == "--" or (
        first.startswith("-") and first not in ("--help", "-h", "-help", "--explain", "-explain")
    )


group = TraceGroup(
    name="trace",
    explain=(
        "Verify signed gate trace records offline, or run a Gait-aware command in "
        "observe-only mode and summarize the traces it reports."
    ),
    help=(
        "Verify signed decision traces.\n\n"
        "gait trace [--cwd .] [--timeout 30s] [--json] -- COMMAND [ARG]... runs COMMAND "
        "with GAIT_WRAPPER_MODE=trace, keeps its exit code and counts the verdicts of the "
        "traces it reports with trace_path=<file> lines (see gait test --help)."
    ),
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
