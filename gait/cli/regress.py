"""``gait regress``: init, run, bootstrap (regress.md). Logic lives in :mod:`gait.regress`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gait.cli.base import GaitGroup, Outcome, gait_command
from gait.errors import EXIT_REGRESS_FAILED, InvalidInput

group = GaitGroup(
    name="regress",
    intercept_explain=True,
    help="Turn runpacks into CI regression fixtures and grade them.",
    explain=(
        "Turn a verified runpack into a regression fixture (gait.yaml + fixtures/) and grade "
        "every fixture deterministically, writing regress_result.json and optional JUnit XML."
    ),
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _no_positionals(args: tuple[str, ...]) -> None:
    if args:
        raise InvalidInput("unexpected positional arguments")


def _policy_context(path: str) -> dict[str, Any] | None:
    if not path.strip():
        return None
    from gait.safejson import loads

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InvalidInput(f"read policy context: {err.strerror or err}: {path}") from err
    value = loads(data, f"parse policy context {path}")
    if not isinstance(value, dict):
        raise InvalidInput(f"policy context must be a JSON object: {path}")
    return value


def _init_options(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--from", "source", default="", help="run_id or runpack path."),
            click.option("--name", default="", help="Fixture name (default: sanitized run_id)."),
            click.option("--checkpoint", default="", help="Session chain checkpoint (advanced)."),
            click.option(
                "--force", is_flag=True, help="Replace an existing fixture's different runpack."
            ),
            click.option(
                "--policy",
                default="",
                help="Policy to re-check recorded verdicts against (policy_verdict grader).",
            ),
            click.option(
                "--policy-context",
                default="",
                help="JSON file: intent context for steps rebuilt from recorded args.",
            ),
        )
    ):
        fn = option(fn)
    return fn


def _run_options(fn: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--config", default="gait.yaml", show_default=True, help="Regress config file."
            ),
            click.option(
                "--output",
                default="regress_result.json",
                show_default=True,
                help="Where to write the result JSON.",
            ),
            click.option("--junit", default="", help="Also write JUnit XML to this path."),
            click.option(
                "--allow-nondeterministic",
                is_flag=True,
                help="Do not fail fixtures whose runs are marked nondeterministic.",
            ),
            click.option(
                "--context-conformance",
                is_flag=True,
                help="Also grade context drift between the fixture and the candidate run.",
            ),
            click.option(
                "--allow-context-runtime-drift",
                is_flag=True,
                help="Accept context drift that only touches runtime fields.",
            ),
        )
    ):
        fn = option(fn)
    return fn


def _init(
    source: str,
    name: str,
    checkpoint: str,
    force: bool,
    policy: str,
    policy_context: str,
    workdir: str = ".",
) -> Any:
    from gait.packs.verify import verify_any_pack
    from gait.regress.init import init_fixture

    if not source.strip():
        raise InvalidInput("missing required --from <run_id|path>")
    return init_fixture(
        source,
        name=name,
        force=force,
        policy=policy,
        policy_context=_policy_context(policy_context),
        checkpoint=checkpoint,
        workdir=workdir,
        verify_pack=verify_any_pack,  # a run/call pack source is verified as a pack
    )


@gait_command(
    group,
    "init",
    explain="Copy a verified runpack into fixtures/<name>/ and register it in gait.yaml.",
    help="Create (or refresh) a regression fixture from a runpack; regenerates gait.yaml.",
)
@click.argument("args", nargs=-1, metavar="")
@_init_options
def init(
    args: tuple[str, ...],
    source: str,
    name: str,
    checkpoint: str,
    force: bool,
    policy: str,
    policy_context: str,
    json: bool,
) -> Outcome:
    _no_positionals(args)
    result = _init(source, name, checkpoint, force, policy, policy_context)
    return Outcome(result.to_json(), text=result.text_lines())


def _run(
    config: str,
    output: str,
    junit: str,
    allow_nondeterministic: bool,
    context_conformance: bool,
    allow_context_runtime_drift: bool,
    policy: str = "",
) -> Any:
    from gait.cli.term import Progress
    from gait.regress.run import RunOptions, run_regress

    if not output.strip():
        raise InvalidInput("--output must not be empty")
    with Progress("regress run: grading", 0) as shown:
        return run_regress(
            RunOptions(
                config_path=config.strip() or "gait.yaml",
                output_path=output.strip(),
                junit_path=junit.strip(),
                allow_nondeterministic=allow_nondeterministic,
                context_conformance=context_conformance,
                allow_context_runtime_drift=allow_context_runtime_drift,
                policy=policy.strip(),
            ),
            progress=shown,
        )


@gait_command(
    group,
    "run",
    explain="Grade every regress fixture deterministically and write regress_result.json.",
    help="Run every fixture's graders. Exit 0 pass, 5 regression, 6 invalid config/fixtures.",
)
@click.argument("args", nargs=-1, metavar="")
@_run_options
@click.option(
    "--policy",
    default="",
    help="Re-check every fixture's recorded verdicts against this policy (policy_verdict).",
)
def run(
    args: tuple[str, ...],
    config: str,
    output: str,
    junit: str,
    allow_nondeterministic: bool,
    context_conformance: bool,
    allow_context_runtime_drift: bool,
    policy: str,
    json: bool,
) -> Outcome:
    _no_positionals(args)
    result = _run(
        config,
        output,
        junit,
        allow_nondeterministic,
        context_conformance,
        allow_context_runtime_drift,
        policy,
    )
    code = 0 if result.passed else EXIT_REGRESS_FAILED
    from gait.cli.tables import regress_graders

    text = result.text_lines()
    tty = regress_graders(list(result.result.get("graders") or ()), text)
    hints = [] if json else result.hint_lines()
    return Outcome(result.to_json(), exit_code=code, text=text, tty_text=tty, stderr=hints)


@gait_command(
    group,
    "bootstrap",
    explain="Create a fixture from a runpack and grade it in one step (init + run).",
    help="init + run in one call. Exit 0 pass, 5 regression, 6 invalid input.",
)
@click.argument("args", nargs=-1, metavar="")
@_init_options
@_run_options
def bootstrap(
    args: tuple[str, ...],
    source: str,
    name: str,
    checkpoint: str,
    force: bool,
    policy: str,
    policy_context: str,
    config: str,
    output: str,
    junit: str,
    allow_nondeterministic: bool,
    context_conformance: bool,
    allow_context_runtime_drift: bool,
    json: bool,
) -> Outcome:
    _no_positionals(args)
    config = config.strip() or "gait.yaml"
    if os.path.basename(config) != "gait.yaml":
        raise InvalidInput("bootstrap writes gait.yaml: --config must name a gait.yaml file")
    workdir = os.path.dirname(config) or "."
    created = _init(source, name, checkpoint, force, policy, policy_context, workdir)
    ran = _run(
        config,
        output,
        junit,
        allow_nondeterministic,
        context_conformance,
        allow_context_runtime_drift,
    )
    payload = {**created.to_json(), **ran.to_json()}
    # The reference's bootstrap output has no fixture_set / graders count.
    for key in ("next_commands", "fixture_set", "graders"):
        payload.pop(key, None)
    payload["ok"] = ran.passed
    if ran.passed:
        text = [f"regress bootstrap ok: run_id={created.run_id} fixture={created.fixture_name}"]
        text += [line for line in ran.text_lines()[1:]]
    else:
        # As the reference: no output/junit lines after a failure.
        text = [
            f"regress bootstrap failed: run_id={created.run_id} fixture={created.fixture_name} "
            f"failed={ran.failed}",
            *(
                line
                for line in ran.text_lines()[1:]
                if not line.startswith(("output: ", "junit: "))
            ),
        ]
    hints = [] if json else ran.hint_lines()
    return Outcome(
        payload, exit_code=0 if ran.passed else EXIT_REGRESS_FAILED, text=text, stderr=hints
    )


@gait_command(
    group,
    "add",
    explain=(
        "Add a fixture from a capture receipt, a session chain checkpoint, a run_id or a "
        "runpack path."
    ),
    help="Add a regression fixture (from `gait capture` receipts, chains or runpacks).",
)
@click.argument("args", nargs=-1, metavar="")
@_init_options
def add(
    args: tuple[str, ...],
    source: str,
    name: str,
    checkpoint: str,
    force: bool,
    policy: str,
    policy_context: str,
    json: bool,
) -> Outcome:
    from gait.regress.sources import read_capture_receipt

    _no_positionals(args)
    origin = source.strip()
    target = origin
    if origin.lower().endswith(".json") and os.path.isfile(origin):
        receipt = read_capture_receipt(origin)
        if receipt is not None:
            if receipt.get("artifact_type") != "runpack":
                kind = str(receipt.get("artifact_type") or "")
                raise InvalidInput(
                    f'capture receipt artifact_type "{kind}" is not supported by regress add'
                )
            target = str(receipt["artifact_path"])
            checkpoint = ""
    created = _init(target, name, checkpoint, force, policy, policy_context)
    payload = {**created.to_json(), "source": origin}
    text = [f"regress add ok: fixture={created.fixture_name} run_id={created.run_id}"]
    return Outcome(payload, text=text)
