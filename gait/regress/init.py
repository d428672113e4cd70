"""``regress init``: turn a verified runpack into a fixture (regress.md §2).

Re-running init for the same fixture with the same runpack bytes is
idempotent (settings added to ``fixture.json`` by hand, such as
``candidate_runpack`` or ``policy``, are kept). Replacing a fixture's runpack
with *different* bytes would silently discard a recorded incident, so it
needs ``force=True``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.regress.config import (
    CONFIG_FILE,
    FIXTURE_FILE,
    FIXTURE_RUNPACK,
    FIXTURES_DIR,
    FixtureMeta,
    dump_json,
    is_valid_fixture_name,
    read_fixture_meta,
    regenerate_config,
    sanitize_fixture_name,
)
from gait.regress.verdicts import tool_sequence, verdict_sequence

__all__ = ["InitResult", "init_fixture"]

NEXT_COMMAND = "gait regress run --json"


@dataclass(frozen=True)
class InitResult:
    run_id: str
    fixture_name: str
    fixture_dir: str
    runpack_path: str
    config_path: str
    source: str
    replaced: bool = False
    policy: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": True,
            "run_id": self.run_id,
            "fixture_name": self.fixture_name,
            "fixture_dir": self.fixture_dir,
            "runpack_path": self.runpack_path,
            "config_path": self.config_path,
            "next_commands": [NEXT_COMMAND],
        }
        if self.policy:
            out["policy"] = self.policy
        if self.replaced:
            out["replaced"] = True
        return out

    def text_lines(self) -> list[str]:
        return [
            f"regress init ok: fixture={self.fixture_name} run_id={self.run_id}",
            f"config: {self.config_path}",
            f"runpack: {self.runpack_path}",
            f"next: {NEXT_COMMAND}",
        ]


def _rel(workdir: Path, *parts: str) -> str:
    """A slash-separated display path under ``workdir`` (bare when workdir is ``.``)."""
    rel = "/".join(parts)
    if workdir == Path("."):
        return rel
    return (workdir / rel).as_posix()


def _verify_source(path: str) -> None:
    from gait.runpack.verify import verify_runpack

    try:
        report = verify_runpack(path)
    except GaitError as err:
        raise InvalidInput(f"verify source runpack: {err.message}") from err
    if (
        report.missing_files
        or report.hash_mismatches
        or report.zip_errors
        or report.unexpected_files
    ):
        raise InvalidInput("source runpack failed integrity checks")


def _stored_policy_path(policy: str, workdir: Path) -> str:
    """Compile ``policy`` (relative to the process cwd) and return it relative to ``workdir``."""
    from gait.policy import compile_policy_file

    compile_policy_file(policy)
    if os.path.isabs(policy):
        return Path(policy).as_posix()
    return Path(os.path.relpath(os.path.abspath(policy), os.path.abspath(workdir))).as_posix()


def init_fixture(
    source: str,
    *,
    name: str = "",
    force: bool = False,
    policy: str = "",
    policy_context: dict[str, Any] | None = None,
    checkpoint: str = "",
    workdir: str | os.PathLike[str] = ".",
    verify_pack: Any = None,
) -> InitResult:
    """Create or refresh ``fixtures/<name>/`` from ``source`` and regenerate ``gait.yaml``.

    ``workdir`` is where ``gait.yaml`` and ``fixtures/`` live; ``source`` and
    ``policy`` are resolved like command-line arguments (against the process's
    working directory) and ``policy`` is stored relative to ``workdir``. A
    policy enables the ``policy_verdict`` grader for this fixture. Raises :class:`InvalidInput` (exit 6) for an unknown or
    damaged source, a bad name, a bad policy, or a fixture that exists with a
    different runpack while ``force`` is false. ``verify_pack`` checks a whole
    run/call pack given as source (see :func:`gait.regress.sources.resolve_regress_source`).
    """

    base = Path(workdir)
    text = (source or "").strip()
    if not text:
        raise InvalidInput("missing required --from <run_id|path>")
    from gait.regress.sources import resolve_regress_source

    ref = resolve_regress_source(text, checkpoint, verify_pack=verify_pack)
    try:
        return _init_from(ref, base, name, force, policy, policy_context)
    finally:
        ref.cleanup()


def _init_from(
    ref: Any,
    base: Path,
    name: str,
    force: bool,
    policy: str,
    policy_context: dict[str, Any] | None,
) -> InitResult:
    from gait.fsutil import atomic_write
    from gait.runpack.reader import read_runpack

    path = ref.path
    text = ref.origin
    full = Path(path)
    _verify_source(path)
    try:
        pack = read_runpack(full)
    except GaitError as err:
        raise InvalidInput(f"read source runpack: {err.message}") from err
    run_id = pack.run_id
    if not run_id:
        raise InvalidInput("source runpack missing run_id")
    fixture_name = name.strip() or sanitize_fixture_name(run_id)
    if not is_valid_fixture_name(fixture_name):
        raise InvalidInput(f"invalid fixture name: {fixture_name}")
    policy = policy.strip()
    if policy:
        policy = _stored_policy_path(policy, base)

    try:
        data = full.read_bytes()
    except OSError as err:
        raise InvalidInput(f"read source runpack: {err.strerror or err}") from err
    fixture_dir = base / FIXTURES_DIR / fixture_name
    meta_path = fixture_dir / FIXTURE_FILE
    existing_runpack = fixture_dir / FIXTURE_RUNPACK
    kept: FixtureMeta | None = None
    replaced = False
    if existing_runpack.exists():
        same = existing_runpack.is_file() and existing_runpack.read_bytes() == data
        if not same and not force:
            raise InvalidInput(
                f"fixture {fixture_name} already exists with a different runpack "
                f"({_rel(base, FIXTURES_DIR, fixture_name, FIXTURE_RUNPACK)}); "
                "use --force to replace it or --name to add a new fixture"
            )
        replaced = not same
        if same and meta_path.is_file():
            try:
                kept = read_fixture_meta(meta_path)
            except InvalidInput:
                kept = None

    meta = FixtureMeta(
        name=fixture_name,
        run_id=run_id,
        expected_tool_sequence=tool_sequence(pack),
        expected_verdict_sequence=verdict_sequence(pack),
    )
    context_digest = (pack.refs.context_set_digest or "").strip()
    if context_digest:
        meta.context_conformance = "required"
        meta.expected_context_set_digest = context_digest
    if kept is not None:
        # Settings a user adds by hand survive an idempotent re-init.
        meta.candidate_runpack = kept.candidate_runpack
        meta.allow_context_runtime_drift = kept.allow_context_runtime_drift
        meta.diff_allow_changed_files = kept.diff_allow_changed_files
        meta.expected_replay_exit_code = kept.expected_replay_exit_code
        meta.policy = kept.policy
        meta.policy_context = kept.policy_context
        if kept.context_conformance:
            meta.context_conformance = kept.context_conformance
    if policy:
        meta.policy = policy
    if policy_context is not None:
        meta.policy_context = dict(policy_context)
    if ref.session_chain:
        meta.session_chain = ref.session_chain
        meta.checkpoint_index = ref.checkpoint_index

    fixture_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    atomic_write(existing_runpack, data, 0o600)
    atomic_write(meta_path, dump_json(meta.to_json()), 0o600)
    regenerate_config(base)
    return InitResult(
        run_id=run_id,
        fixture_name=fixture_name,
        fixture_dir=_rel(base, FIXTURES_DIR, fixture_name),
        runpack_path=_rel(base, FIXTURES_DIR, fixture_name, FIXTURE_RUNPACK),
        config_path=_rel(base, CONFIG_FILE),
        source=text if ref.temp_dir else path,
        replaced=replaced,
        policy=meta.policy,
    )
