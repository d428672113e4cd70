"""gait.yaml and fixture.json (regress.md §1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.regress.config import (
    FixtureMeta,
    is_valid_fixture_name,
    parse_fixture_meta,
    read_config,
    read_fixture_meta,
    regenerate_config,
    sanitize_fixture_name,
)


@pytest.mark.parametrize(
    ("run_id", "name"),
    [
        ("run_demo", "run_demo"),
        ("Run Demo!!2", "run-demo-2"),
        ("--run..", "run"),
        ("Ünïcode run", "n-code-run"),
        ("***", "fixture"),
        ("", "fixture"),
        ("a/b\\c", "a-b-c"),
    ],
)
def test_fixture_names_are_sanitized(run_id: str, name: str) -> None:
    assert sanitize_fixture_name(run_id) == name
    assert is_valid_fixture_name(name)


@pytest.mark.parametrize("name", ["", "-x", ".x", "_x", "A", "a b", "a/b"])
def test_invalid_fixture_names(name: str) -> None:
    assert not is_valid_fixture_name(name)


def test_fixture_meta_round_trips_and_omits_empty_optionals() -> None:
    meta = FixtureMeta(name="f", run_id="run_f", expected_tool_sequence=["t"])
    doc = meta.to_json()
    assert list(doc) == [
        "schema_id",
        "schema_version",
        "name",
        "run_id",
        "runpack",
        "expected_replay_exit_code",
        "expected_tool_sequence",
    ]
    assert doc["expected_replay_exit_code"] == 0
    assert parse_fixture_meta(doc, "x") == meta


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"name": ""}, "fixture metadata incomplete"),
        ({"run_id": None}, "fixture metadata incomplete"),
        ({"expected_replay_exit_code": -1}, "must be >= 0"),
        ({"expected_replay_exit_code": True}, "wrong type"),
        ({"context_conformance": "sometimes"}, "required|none"),
        ({"expected_context_set_digest": "abc"}, "sha256 hex"),
        ({"expected_verdict_sequence": ["allow", "perhaps"]}, "invalid verdict 'perhaps'"),
        ({"expected_tool_sequence": [1]}, "list of strings"),
        ({"schema_id": "gait.other"}, "unsupported fixture schema_id"),
        ({"schema_version": "2.0.0"}, "unsupported fixture schema_version"),
    ],
)
def test_invalid_fixture_metadata_is_rejected(patch: dict, message: str) -> None:
    doc = FixtureMeta(name="f", run_id="run_f").to_json() | patch
    with pytest.raises(InvalidInput, match=message):
        parse_fixture_meta(doc, "fixtures/f/fixture.json")


def test_verdict_sequence_entries_are_normalized_on_read() -> None:
    doc = FixtureMeta(name="f", run_id="r").to_json()
    doc["expected_verdict_sequence"] = ["OK", "Blocked"]
    assert parse_fixture_meta(doc, "x").expected_verdict_sequence == ["allow", "block"]


def _fixture(root: Path, name: str, meta: dict | None = None, runpack: bool = True) -> Path:
    directory = root / "fixtures" / name
    directory.mkdir(parents=True)
    if runpack:
        (directory / "runpack.zip").write_bytes(b"zip")
    if meta is not None:
        (directory / "fixture.json").write_text(json.dumps(meta), encoding="utf-8")
    return directory


def test_config_is_regenerated_from_fixture_directories(tmp_path: Path) -> None:
    _fixture(tmp_path, "b", FixtureMeta(name="b", run_id="run_b").to_json())
    _fixture(tmp_path, "a", FixtureMeta(name="a", run_id="run_a").to_json())
    _fixture(tmp_path, "Not_Valid", None)  # skipped: name does not match the pattern
    _fixture(tmp_path, "other", None, runpack=False)  # skipped: not a regress fixture
    (tmp_path / "fixtures" / "loose.txt").write_text("x", encoding="utf-8")
    path = regenerate_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "schema_id"')
    assert json.loads(text) == {
        "schema_id": "gait.regress.config",
        "schema_version": "1.0.0",
        "fixture_set": "default",
        "fixtures": [
            {"name": "a", "run_id": "run_a", "runpack": "fixtures/a/runpack.zip"},
            {"name": "b", "run_id": "run_b", "runpack": "fixtures/b/runpack.zip"},
        ],
    }


def test_regeneration_keeps_a_custom_fixture_set(tmp_path: Path) -> None:
    (tmp_path / "gait.yaml").write_text('{"fixture_set": "prod"}', encoding="utf-8")
    regenerate_config(tmp_path)
    assert read_config(tmp_path / "gait.yaml").fixture_set == "prod"


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (None, "fixture metadata missing for f"),
        (FixtureMeta(name="g", run_id="r").to_json(), "name mismatch for f"),
        (FixtureMeta(name="f", run_id="r", runpack="../x.zip").to_json(), "must be a filename"),
        (FixtureMeta(name="f", run_id="r", runpack="other.zip").to_json(), "runpack missing"),
    ],
)
def test_regeneration_rejects_broken_fixture_directories(
    tmp_path: Path, meta: dict | None, message: str
) -> None:
    _fixture(tmp_path, "f", meta)
    with pytest.raises(InvalidInput, match=message):
        regenerate_config(tmp_path)


def test_config_reader_accepts_yaml_and_sorts_entries(tmp_path: Path) -> None:
    path = tmp_path / "gait.yaml"
    path.write_text(
        "fixtures:\n"
        "  - {name: z, runpack: fixtures/z/runpack.zip}\n"
        "  - {name: a, run_id: run_a, runpack: fixtures/a/runpack.zip}\n",
        encoding="utf-8",
    )
    config = read_config(path)
    assert config.fixture_set == "default"
    assert [(f.name, f.run_id) for f in config.fixtures] == [("a", "run_a"), ("z", "")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_id": "gait.other"}', "unsupported config schema_id"),
        ('{"schema_version": "9"}', "unsupported config schema_version"),
        ('{"fixtures": [{"runpack": "x"}]}', "fixture name is required"),
        ('{"fixtures": [{"name": "x"}]}', "fixture runpack is required for x"),
        ('{"fixtures": {"name": "x"}}', "fixtures must be a list"),
        ("[1, 2]", "not an object"),
        ("{: [", "parse config"),
    ],
)
def test_invalid_configs(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gait.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        read_config(path)


def test_missing_files_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="read config"):
        read_config(tmp_path / "gait.yaml")
    with pytest.raises(InvalidInput, match="read fixture metadata"):
        read_fixture_meta(tmp_path / "fixture.json")
