"""The compiler and its IR: decision-table shape, msgspec round trip, no on-disk cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import pytest

from gait.policy import compile_policy, compile_policy_file
from gait.policy import compiler as compiler_module
from gait.policy.compiler import sanitize_rule_name
from gait.policy.ir import PolicyIR

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
RUNNING = REPO / "tests" / "engine" / "data" / "running_example" / "policy.yaml"
EVERY_KEY = DATA / "every_key.yaml"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GAIT_CACHE_DIR", str(directory))
    monkeypatch.delenv("GAIT_NO_CACHE", raising=False)
    return directory


def cache_files(directory: Path) -> list[Path]:
    return sorted((directory / "ir").glob("*.msgpack")) if (directory / "ir").is_dir() else []


# ------------------------------------------------------------ table shape ---


def test_rows_are_in_evaluation_order() -> None:
    compiled = compile_policy(RUNNING.read_bytes(), use_cache=False)
    assert [(r.priority, r.name) for r in compiled.rows] == [
        (10, "deny-external-egress"),
        (20, "read-files"),
        (20, "write-needs-review"),
    ]
    assert [r.index for r in compiled.rows] == [0, 1, 2]


def test_row_without_reason_codes_reports_matched_rule_name() -> None:
    compiled = compile_policy(RUNNING.read_bytes(), use_cache=False)
    assert compiled.rows[1].reasons == ("matched_rule_read_files",)
    assert compiled.rows[0].reasons == ("blocked_untrusted_egress",)
    assert compiled.rows[0].violations == ("untrusted_egress",)


def test_rows_carry_only_constrained_predicates() -> None:
    compiled = compile_policy(RUNNING.read_bytes(), use_cache=False)
    deny = compiled.rows[0]
    assert {(p.subject, p.values) for p in deny.predicates} == {
        ("target.kind", frozenset({"host", "url"})),
        ("arg_provenance.source", frozenset({"external"})),
    }
    assert (
        compile_policy(b"rules:\n  - {name: r, effect: allow}\n", use_cache=False)
        .rows[0]
        .predicates
        == ()
    )


def test_tool_index_and_any_tool_rows() -> None:
    ir = compile_policy(RUNNING.read_bytes(), use_cache=False).ir
    assert dict(ir.tool_index) == {"fs.read": (1,), "fs.write": (2,)}
    assert ir.any_tool_rows == (0,)


def test_row_metadata_comes_from_the_rule() -> None:
    row = compile_policy(EVERY_KEY.read_bytes(), use_cache=False).rows[0]
    assert (row.name, row.priority, row.effect, row.min_approvals) == (
        "Everything Rule",
        -7,
        "require_approval",
        3,
    )
    assert (
        row.require_distinct_approvers and row.require_broker_credential and row.require_delegation
    )
    assert row.broker_reference == "vault:db"
    assert row.endpoint is not None and row.endpoint.destructive_action == "block"
    assert row.dataflow is not None and row.dataflow.action == "block"
    assert row.context is not None and row.context.max_age_seconds == 600
    assert row.delegation is not None and row.delegation.max_depth == 0
    assert row.rate_limit is not None and row.rate_limit.requests == 10


def test_source_digest_is_sha256_of_source_bytes() -> None:
    data = RUNNING.read_bytes()
    assert (
        compile_policy(data, use_cache=False).ir.source_digest == hashlib.sha256(data).hexdigest()
    )


def test_compile_is_deterministic() -> None:
    data = EVERY_KEY.read_bytes()
    one = msgspec.json.encode(compile_policy(data, use_cache=False).ir, order="deterministic")
    two = msgspec.json.encode(compile_policy(data, use_cache=False).ir, order="deterministic")
    assert one == two


@pytest.mark.parametrize(
    ("name", "sanitized"),
    [
        ("Allow Safe-Read", "allow_safe_read"),
        ("Deny <All> & Co-Op", "deny_<all>_&_co_op"),
        ('say "hi"\\now', 'say_"hi"\\now'),
    ],
)
def test_sanitize_rule_name(name: str, sanitized: str) -> None:
    assert sanitize_rule_name(name) == sanitized


# ------------------------------------------------------------ serialization ---


@pytest.mark.parametrize("path", [RUNNING, EVERY_KEY], ids=lambda p: p.name)
def test_ir_json_round_trip(path: Path) -> None:
    ir = compile_policy(path.read_bytes(), use_cache=False).ir
    again = msgspec.json.decode(msgspec.json.encode(ir), type=PolicyIR)
    assert again == ir


@pytest.mark.parametrize("path", [RUNNING, EVERY_KEY], ids=lambda p: p.name)
def test_ir_msgpack_round_trip(path: Path) -> None:
    ir = compile_policy(path.read_bytes(), use_cache=False).ir
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(ir), type=PolicyIR) == ir


def test_ir_is_immutable() -> None:
    ir = compile_policy(RUNNING.read_bytes(), use_cache=False).ir
    with pytest.raises(AttributeError):
        ir.default_verdict = "allow"  # type: ignore[misc]


# ------------------------------------------------------------ no disk cache ---
# Compiled tables are never stored or read back (issue 11 A1; the poisoning
# properties are in test_cache_poisoning.py).


def test_compile_writes_nothing_to_the_cache_dir(cache_dir: Path) -> None:
    compile_policy(RUNNING.read_bytes())
    compile_policy_file(RUNNING)
    compile_policy((DATA / "handwritten.gaitpol").read_bytes(), kind="dsl")
    assert not cache_dir.exists()


def test_every_compile_reads_the_source(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = RUNNING.read_bytes()
    first = compile_policy(data)
    calls = []
    real = compiler_module.load_policy_source

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compiler_module, "load_policy_source", counting)
    assert compile_policy(data).ir == first.ir
    assert compile_policy_file(RUNNING).ir == first.ir
    assert len(calls) == 2


def test_unusable_cache_dir_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GAIT_CACHE_DIR", str(blocker))
    assert compile_policy(RUNNING.read_bytes()).rows
    assert blocker.read_text() == "not a directory"
