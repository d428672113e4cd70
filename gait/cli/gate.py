"""``gait gate eval``: enforce a policy on one intent and sign the decision.

The body and option table live in gait.cli.gate_eval (no click), which
gait.cli.fast also runs for plain spellings.
"""

from __future__ import annotations

from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.cli.gate_eval import EXPLAIN, PASSTHROUGH, run_gate_eval

group = GaitGroup(
    name="gate",
    help="Evaluate tool-call intents against a policy before they run.",
    explain="Decide allow / block / require_approval / dry_run for a tool-call intent and sign a trace.",
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _passthrough(fn: Any) -> Any:
    for name, text in reversed(PASSTHROUGH.items()):
        fn = click.option(f"--{name}", name.replace("-", "_"), default=None, help=text)(fn)
    return fn


@gait_command(
    group,
    "eval",
    explain=EXPLAIN,
    help=(
        "Evaluate --intent against --policy and write a signed trace. Exit 0 allow/dry_run, "
        "3 block, 4 require_approval, 6 invalid input. --simulate reports without enforcing."
    ),
)
@click.argument("args", nargs=-1, metavar="[POLICY] [INTENT]")
@click.option("--policy", default="", help="Policy file (.yaml or .gaitpol).")
@click.option("--intent", default="", help="Intent request JSON file.")
@click.option("--trace-out", default="", help="Trace path (default trace_<trace_id>.json).")
@click.option("--key-mode", default="dev", show_default=True, help="dev or prod.")
@click.option("--private-key", default=None, help="Signing key file (prod).")
@click.option("--private-key-env", default=None, help="Env var holding the signing key (prod).")
@click.option("--profile", default="standard", show_default=True, help="standard or oss-prod.")
@click.option("--simulate", is_flag=True, help="Report what would happen; never enforce.")
@click.option("--approval-token-ref", default="", help="Free-text reference recorded in the trace.")
@click.option("--no-config", is_flag=True, help="Ignore .gait/config.yaml.")
@click.option(
    "--trust-project-keys",
    is_flag=True,
    help=(
        "Trust a project config file: use the verify keys, broker command, state location "
        "and outside paths it names (off: keys and outside paths are refused, state ignored)."
    ),
)
@click.option("--why", is_flag=True, help="Show why each rule row did or did not match.")
@click.option(
    "--explain", "explain_flag", is_flag=True, help="Same as --why when inputs are given."
)
@_passthrough
def eval_(args: tuple[str, ...], json: bool, **opts: Any) -> Outcome:
    return run_gate_eval(args, opts)
