"""``gait migrate <artifact|id>``: rewrite a legacy runpack in the current format (cli.md)."""

from __future__ import annotations

import click

from gait.cli.base import Outcome, gait_command
from gait.errors import InvalidInput

_EXPLAIN = (
    "Migrate artifact files to the current schema generation without requiring network access."
)


@gait_command(
    None,
    "migrate",
    explain=_EXPLAIN,
    help=(
        "Rewrite a legacy runpack (a run_id or zip path) in the current v1 format as "
        "runpack_<run_id>_migrated.zip next to it; a current runpack is left as it is "
        "(status no_change). The result is verified before the command succeeds."
    ),
)
@click.argument("targets", nargs=-1, metavar="[ARTIFACT|RUN_ID]")
@click.option("--input", "input_", default=None, help="Runpack path or run_id to migrate.")
@click.option(
    "--out", default="", help="Output path (default: runpack_<run_id>_migrated.zip beside it)."
)
@click.option("--target", default="v1", show_default=True, help="Target schema generation (v1).")
def command(
    targets: tuple[str, ...], input_: str | None, out: str, target: str, json: bool
) -> Outcome:
    from gait.runpack.migrate import migrate_runpack
    from gait.runpack.reader import resolve_runpack

    values = [*targets, *([input_] if input_ is not None else [])]
    if target.strip() != "v1":
        raise InvalidInput("unsupported --target (only v1 is currently available)")
    if len(values) > 1:
        raise InvalidInput("unexpected positional arguments")
    if not values or not values[0].strip():
        raise InvalidInput("missing required --input <artifact_path|run_id>")
    path = resolve_runpack(values[0].strip())
    result = migrate_runpack(path, out=out, target=target)
    # stdout keeps the reference's one line; what changed goes to stderr for a person.
    lines = [f"migrate ok: {result.input} -> {result.output} ({result.status})"]
    changes = [] if json else [f"change: {c}" for c in result.changes]
    return Outcome(result.to_json(), text=lines, stderr=changes)
