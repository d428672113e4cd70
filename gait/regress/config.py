"""On-disk regress layout (regress.md §1): ``gait.yaml``, ``fixtures/<name>/fixture.json``.

``gait.yaml`` is written as indented JSON and read as JSON, falling back to
YAML so a hand-edited file still loads. It is regenerated from the fixtures
directory on every ``init``/``bootstrap`` (an existing ``fixture_set`` is
kept).

``fixture.json`` carries the spec's fields plus two optional extensions for
the ``policy_verdict`` grader (docs/regress.md): ``policy`` (a policy path,
relative to the config's directory) and ``policy_context`` (the intent
``context`` used when a recorded step has to be rebuilt from its args).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from gait.errors import InvalidInput
from gait.regress.verdicts import normalize_verdict

__all__ = [
    "CONFIG_FILE",
    "FIXTURES_DIR",
    "FIXTURE_FILE",
    "FIXTURE_RUNPACK",
    "ConfigEntry",
    "FixtureMeta",
    "RegressConfig",
    "dump_json",
    "is_valid_fixture_name",
    "read_config",
    "read_fixture_meta",
    "regenerate_config",
    "sanitize_fixture_name",
]

CONFIG_FILE = "gait.yaml"
FIXTURES_DIR = "fixtures"
FIXTURE_FILE = "fixture.json"
FIXTURE_RUNPACK = "runpack.zip"
CONFIG_SCHEMA_ID = "gait.regress.config"
FIXTURE_SCHEMA_ID = "gait.regress.fixture"
SCHEMA_VERSION = "1.0.0"
DEFAULT_FIXTURE_SET = "default"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DIGEST_RE = re.compile(r"^[a-fA-F0-9]{64}$")
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def sanitize_fixture_name(value: str) -> str:
    """§2 step 3: lowercase, keep ``a-z0-9._-``, other runs → ``-``, trim ``-._``."""
    out: list[str] = []
    dash = False
    for ch in value.lower():
        if ch in _KEEP:
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-._") or "fixture"


def is_valid_fixture_name(value: str) -> bool:
    return bool(_NAME_RE.match(value))


def dump_json(value: Any) -> bytes:
    """Indented JSON with a trailing newline (every regress file)."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# ------------------------------------------------------------ fixture.json ---


@dataclass
class FixtureMeta:
    name: str
    run_id: str
    runpack: str = FIXTURE_RUNPACK
    expected_replay_exit_code: int = 0
    expected_tool_sequence: list[str] = field(default_factory=list)
    expected_verdict_sequence: list[str] = field(default_factory=list)
    candidate_runpack: str = ""
    context_conformance: str = ""
    allow_context_runtime_drift: bool = False
    expected_context_set_digest: str = ""
    diff_allow_changed_files: list[str] = field(default_factory=list)
    session_chain: str = ""
    checkpoint_index: int = 0
    policy: str = ""
    policy_context: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_id": FIXTURE_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "run_id": self.run_id,
            "runpack": self.runpack,
            "expected_replay_exit_code": self.expected_replay_exit_code,
        }
        optional: dict[str, Any] = {
            "expected_tool_sequence": self.expected_tool_sequence,
            "expected_verdict_sequence": self.expected_verdict_sequence,
            "candidate_runpack": self.candidate_runpack,
            "context_conformance": self.context_conformance,
            "allow_context_runtime_drift": self.allow_context_runtime_drift,
            "expected_context_set_digest": self.expected_context_set_digest,
            "diff_allow_changed_files": self.diff_allow_changed_files,
            "session_chain": self.session_chain,
            "checkpoint_index": self.checkpoint_index,
            "policy": self.policy,
            "policy_context": self.policy_context,
        }
        out.update({k: v for k, v in optional.items() if v})
        return out


def _get(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"parse fixture metadata: {key} has the wrong type: {where}")
    return value


def _strings(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = _get(obj, key, list, where) or []
    if not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"parse fixture metadata: {key} must be a list of strings: {where}")
    return list(value)


def parse_fixture_meta(obj: Any, where: str) -> FixtureMeta:
    """Validate a decoded ``fixture.json`` (§1.2 "Reading validates")."""
    if not isinstance(obj, dict):
        raise InvalidInput(f"parse fixture metadata: not a JSON object: {where}")
    schema_id = _get(obj, "schema_id", str, where)
    if schema_id and schema_id != FIXTURE_SCHEMA_ID:
        raise InvalidInput(f"unsupported fixture schema_id: {schema_id}")
    version = _get(obj, "schema_version", str, where)
    if version and version != SCHEMA_VERSION:
        raise InvalidInput(f"unsupported fixture schema_version: {version}")
    name = _get(obj, "name", str, where) or ""
    run_id = _get(obj, "run_id", str, where) or ""
    runpack = _get(obj, "runpack", str, where) or ""
    if not name or not run_id or not runpack:
        raise InvalidInput(f"fixture metadata incomplete: {where}")
    exit_code = _get(obj, "expected_replay_exit_code", int, where) or 0
    if exit_code < 0:
        raise InvalidInput(f"fixture expected_replay_exit_code must be >= 0: {where}")
    checkpoint = _get(obj, "checkpoint_index", int, where) or 0
    if checkpoint < 0:
        raise InvalidInput(f"fixture checkpoint_index must be >= 0: {where}")
    conformance = (_get(obj, "context_conformance", str, where) or "").strip().lower()
    if conformance not in ("", "required", "none"):
        raise InvalidInput(f"fixture context_conformance must be one of required|none: {where}")
    digest = (_get(obj, "expected_context_set_digest", str, where) or "").strip()
    if digest and not _DIGEST_RE.match(digest):
        raise InvalidInput(f"fixture expected_context_set_digest must be sha256 hex: {where}")
    verdicts = []
    for entry in _strings(obj, "expected_verdict_sequence", where):
        verdict = normalize_verdict(entry)
        if not verdict:
            raise InvalidInput(
                f"fixture expected_verdict_sequence has invalid verdict {entry!r}: {where}"
            )
        verdicts.append(verdict)
    context = _get(obj, "policy_context", dict, where)
    return FixtureMeta(
        name=name,
        run_id=run_id,
        runpack=runpack,
        expected_replay_exit_code=exit_code,
        expected_tool_sequence=_strings(obj, "expected_tool_sequence", where),
        expected_verdict_sequence=verdicts,
        candidate_runpack=(_get(obj, "candidate_runpack", str, where) or "").strip(),
        context_conformance=conformance,
        allow_context_runtime_drift=bool(_get(obj, "allow_context_runtime_drift", bool, where)),
        expected_context_set_digest=digest,
        diff_allow_changed_files=sorted(
            {s.strip() for s in _strings(obj, "diff_allow_changed_files", where) if s.strip()}
        ),
        session_chain=_get(obj, "session_chain", str, where) or "",
        checkpoint_index=checkpoint,
        policy=(_get(obj, "policy", str, where) or "").strip(),
        policy_context=dict(context) if context else None,
    )


def read_fixture_meta(path: Path) -> FixtureMeta:
    where = path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"read fixture metadata: {err.strerror or err}: {where}") from err
    from gait.safejson import loads

    obj = loads(data, f"parse fixture metadata {where}")
    return parse_fixture_meta(obj, where)


# ------------------------------------------------------------ gait.yaml ---


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    run_id: str
    runpack: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "run_id": self.run_id, "runpack": self.runpack}


@dataclass
class RegressConfig:
    fixture_set: str = DEFAULT_FIXTURE_SET
    fixtures: list[ConfigEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_id": CONFIG_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "fixture_set": self.fixture_set or DEFAULT_FIXTURE_SET,
            "fixtures": [f.to_json() for f in self.fixtures],
        }


def _decode_config(data: bytes, where: str) -> Any:
    from gait.safejson import NotJSON, loads

    try:
        # JSON that breaks a rule (a repeated key, deep nesting) is refused, never
        # retried as YAML, which would keep the last of two keys
        return loads(data, f"parse config {where}")
    except NotJSON:
        from gait.safeyaml import load

        # hand-edited configs may share entries with anchors and merge keys; the
        # reader bounds their expansion and refuses repeated keys like JSON does
        return load(data, "parse config", source=where, aliases=True)


def read_config(path: Path) -> RegressConfig:
    """Read and validate a regress config; entries sorted by name (§3 step 1)."""
    where = path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"read config: {err.strerror or err}: {where}") from err
    obj = _decode_config(data, where)
    if not isinstance(obj, dict):
        raise InvalidInput(f"parse config: not an object: {where}")
    schema_id = obj.get("schema_id") or ""
    if schema_id and schema_id != CONFIG_SCHEMA_ID:
        raise InvalidInput(f"unsupported config schema_id: {schema_id}")
    version = obj.get("schema_version") or ""
    if version and version != SCHEMA_VERSION:
        raise InvalidInput(f"unsupported config schema_version: {version}")
    fixture_set = obj.get("fixture_set") or DEFAULT_FIXTURE_SET
    if not isinstance(fixture_set, str):
        raise InvalidInput(f"parse config: fixture_set must be a string: {where}")
    raw_fixtures = obj.get("fixtures") or []
    if not isinstance(raw_fixtures, list):
        raise InvalidInput(f"parse config: fixtures must be a list: {where}")
    entries: list[ConfigEntry] = []
    for item in raw_fixtures:
        if not isinstance(item, dict):
            raise InvalidInput(f"parse config: fixture entries must be objects: {where}")
        name = str(item.get("name") or "").strip()
        runpack = str(item.get("runpack") or "").strip()
        if not name:
            raise InvalidInput("fixture name is required")
        if not runpack:
            raise InvalidInput(f"fixture runpack is required for {name}")
        entries.append(ConfigEntry(name, str(item.get("run_id") or "").strip(), runpack))
    entries.sort(key=lambda e: e.name)
    return RegressConfig(fixture_set=fixture_set, fixtures=entries)


def scan_fixtures(workdir: Path) -> list[ConfigEntry]:
    """Config entries for every ``fixtures/<name>/`` holding a fixture (§1.1 regeneration)."""
    root = workdir / FIXTURES_DIR
    if not root.is_dir():
        return []
    entries: list[ConfigEntry] = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if not child.is_dir() or not is_valid_fixture_name(child.name):
            continue
        meta_path = child / FIXTURE_FILE
        if not meta_path.is_file():
            if (child / FIXTURE_RUNPACK).exists():
                raise InvalidInput(f"fixture metadata missing for {child.name}")
            continue
        meta = read_fixture_meta(meta_path)
        if meta.name != child.name:
            raise InvalidInput(f"fixture metadata name mismatch for {child.name}")
        if PurePosixPath(meta.runpack).name != meta.runpack or "\\" in meta.runpack:
            raise InvalidInput(f"fixture runpack path must be a filename for {child.name}")
        if not (child / meta.runpack).is_file():
            raise InvalidInput(f"fixture runpack missing for {child.name}")
        entries.append(
            ConfigEntry(meta.name, meta.run_id, f"{FIXTURES_DIR}/{child.name}/{meta.runpack}")
        )
    return entries


def regenerate_config(workdir: Path) -> Path:
    """Rewrite ``<workdir>/gait.yaml`` from the fixtures directory; keeps its ``fixture_set``."""
    from gait.fsutil import atomic_write

    path = workdir / CONFIG_FILE
    fixture_set = DEFAULT_FIXTURE_SET
    if path.is_file():
        try:
            fixture_set = read_config(path).fixture_set
        except InvalidInput:
            fixture_set = DEFAULT_FIXTURE_SET
    config = RegressConfig(fixture_set=fixture_set, fixtures=scan_fixtures(workdir))
    atomic_write(path, dump_json(config.to_json()), 0o644)
    return path
