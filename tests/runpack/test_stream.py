"""Streaming ``run inspect|diff|replay`` (issue 11 B10): same bytes, bounded memory."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.cli.output import dumps, envelope, write_json
from gait.cli.run import DIFF_OMIT, INSPECT_OMIT, REPLAY_OMIT, omit_empty
from gait.errors import InvalidInput
from gait.runpack.diff import diff_ok, diff_runpacks
from gait.runpack.inspect import inspect_runpack, inspect_text
from gait.runpack.reader import read_runpack
from gait.runpack.replay import reevaluate, replay_stub
from gait.runpack.stream import LazyList, materialize, open_stream
from gait.runpack.zipread import ZipEntryError, open_zip

sys.path.insert(0, str(Path(__file__).parent))
from stream_packs import build_all

POLICY = (
    "default_verdict: allow\nrules:\n  - name: no-db\n    effect: block\n"
    "    match: {tool_names: [db.query, write]}\n"
)


def _cli(*args: str) -> tuple[int, str]:
    from gait.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["gait", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.argv = argv
    return code, out.getvalue()


def _expected(payload: dict[str, Any], code: int, args: tuple[str, ...]) -> str:
    """What the in-memory path prints: the whole payload, then one json.dumps."""
    return dumps(envelope(payload, code, ["gait", *args])) + "\n"


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_all(tmp_path_factory.mktemp("stream"))


def test_inspect_json_is_byte_identical_to_the_in_memory_payload(packs: dict[str, Path]) -> None:
    for name, path in packs.items():
        args = ("run", "inspect", str(path), "--json")
        code, out = _cli(*args)
        assert code == 0, name
        payload = omit_empty(inspect_runpack(read_runpack(path)), INSPECT_OMIT)
        assert out == _expected(payload, 0, args), name


def test_inspect_text_lines_match_the_in_memory_rendering(packs: dict[str, Path]) -> None:
    for name, path in packs.items():
        code, out = _cli("run", "inspect", str(path))
        assert code == 0
        lines = inspect_text(inspect_runpack(read_runpack(path)))
        assert out == "".join(line + "\n" for line in lines), name


def test_replay_json_is_byte_identical_with_and_without_policy(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    from gait.engine import evaluate
    from gait.policy import compile_policy_file

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    compiled = compile_policy_file(str(policy))
    checked = 0
    for name, path in packs.items():
        pack = read_runpack(path)
        try:
            payload = omit_empty(replay_stub(pack), REPLAY_OMIT)
        except InvalidInput:
            continue  # duplicate ids: refused before any output, checked below
        re = reevaluate(pack, lambda i: evaluate(compiled, i), policy_digest=compiled.policy_digest)
        args = ("run", "replay", str(path), "--json")
        code, out = _cli(*args)
        assert out == _expected(payload, code, args), name
        assert code == (0 if payload["ok"] else 2)
        with_policy = dict(payload, reevaluation=re, divergences=len(re["divergences"]))
        if re["divergences"]:
            with_policy["ok"] = False
        args = ("run", "replay", str(path), "--policy", str(policy), "--json")
        code, out = _cli(*args)
        assert out == _expected(with_policy, code, args), name
        checked += 1
    assert checked >= 6


def test_replay_refuses_duplicate_ids_before_writing_anything(packs: dict[str, Path]) -> None:
    code, out = _cli("run", "replay", str(packs["aligned_changed"]), "--json")
    assert code == 6
    body = json.loads(out)
    assert body["error"] == "duplicate result for intent_id: intent_3"
    assert out.count("\n") == 1


def test_diff_json_is_byte_identical_for_every_pair(packs: dict[str, Path]) -> None:
    names = sorted(packs)
    for a in names:
        for b in names:
            summary = diff_runpacks(read_runpack(packs[a]), read_runpack(packs[b]))
            ok = diff_ok(summary)
            summary = omit_empty(summary, DIFF_OMIT)
            args = ("run", "diff", str(packs[a]), str(packs[b]), "--json")
            code, out = _cli(*args)
            assert code == (0 if ok else 2)
            assert out == _expected({"ok": ok, "privacy": "full", "summary": summary}, code, args)


def test_diff_in_step_and_indexed_paths_agree(packs: dict[str, Path], tmp_path: Path) -> None:
    # aligned vs aligned_moved walks in step; the same packs with results reversed
    # go through the digest index: the step changes must be the same.
    left = read_runpack(packs["aligned"])
    right = read_runpack(packs["aligned_moved"])
    in_step = diff_runpacks(left, right)
    assert len(in_step["step_changes"]) >= 5
    left.results.reverse()
    right.results.reverse()
    indexed = diff_runpacks(left, right)
    assert indexed["step_changes"] == in_step["step_changes"]
    assert indexed["results_changed"] is in_step["results_changed"] is True


def test_open_stream_reports_the_same_errors_as_the_in_memory_reader(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    source = packs["aligned"]
    cases = {
        "changed_member": lambda name, data: (
            data.replace(b"intent_3", b"intent_x") if name == "intents.jsonl" else data
        ),
        "bad_line": lambda name, data: data + b"{not json\n" if name == "results.jsonl" else data,
    }
    for label, change in cases.items():
        target = tmp_path / f"{label}.zip"
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
            for info in zin.infolist():
                zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
        with pytest.raises(InvalidInput) as streamed:
            open_stream(target)
        with pytest.raises(InvalidInput) as whole:
            read_runpack(target)
        assert streamed.value.message == whole.value.message, label
        assert "results.jsonl" in streamed.value.message or "intents.jsonl" in (
            streamed.value.message
        )


def test_iter_member_checks_the_crc_after_the_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        zout.writestr("a.txt", b"hello world" * 10)
    data = bytearray(path.read_bytes())
    at = data.index(b"hello world")
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with open_zip(path, strict=False) as archive:
        chunks = archive.iter_member(archive.entries[0])
        first = bytes(next(chunks))
        assert first[:1] == b"i"  # the bytes came through ...
        with pytest.raises(ZipEntryError) as err:
            list(chunks)  # ... and the end says they cannot be trusted
        assert err.value.reason == "zip_crc_mismatch"


json_leaf = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.text(max_size=6), json_value, max_size=5),
    st.lists(json_value, max_size=5),
    st.text(max_size=6),
)
def test_write_json_streams_the_bytes_of_dumps(
    head: dict[str, Any], items: list[Any], key: str
) -> None:
    lazy = dict(head)
    lazy[key] = {"inner": LazyList(lambda: iter(items), len(items)), "n": 1}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        write_json(lazy)
    assert out.getvalue() == dumps(materialize(lazy)) + "\n"


_MEASURE = r"""
import contextlib, json, os, sys
args = json.loads(sys.argv[1])
sys.argv = ["gait", *args]
from gait.cli.main import main
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    code = main(args)
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
print(json.dumps({"code": code, "peak_kb": peak}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_large_runpack_is_read_in_memory_far_below_its_size(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
    from bench_runpack_stream import build_pack, record_bytes

    records = 100_000
    path = build_pack(tmp_path / "big.zip", "run_big", records, 300)
    size = record_bytes(path)
    assert size > 80 * 2**20
    limit_kb = 90 * 1024  # the in-memory reader needs several times the record bytes
    for args in (
        ["run", "inspect", str(path), "--json"],
        ["run", "replay", str(path), "--json"],
        ["run", "diff", str(path), str(path), "--json"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["code"] == 0, (args, done.stderr[-500:])
        assert report["peak_kb"] < limit_kb, (args, report, size)


def test_a_pack_changed_while_read_fails_at_the_end_of_the_member(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
    from bench_runpack_stream import build_pack

    # Over MAX_IN_MEMORY_BYTES, so records are read from the file, not a copy of it.
    path = build_pack(tmp_path / "mid.zip", "run_mid", 12_000, 400)
    assert path.stat().st_size > 9 * 2**20
    with open_stream(path) as pack:
        records = pack.intents()
        assert next(records).intent_id == "intent_0000000"
        data = bytearray(path.read_bytes())
        at = data.index(b"intent_0011000")
        data[at + 7] = ord("9")
        with open(path, "r+b") as handle:  # in place: the open handle sees it
            handle.seek(at + 7)
            handle.write(b"9")
        with pytest.raises(InvalidInput) as err:
            for _record in records:
                pass
        assert err.value.message.startswith("runpack hash mismatch: intents.jsonl")


def test_an_error_while_streaming_is_reported_after_the_partial_output() -> None:
    from gait.cli.outcome import Exit, Outcome, run_body

    closed: list[bool] = []

    def items() -> Any:
        yield {"n": 1}
        raise InvalidInput("runpack hash mismatch: intents.jsonl")

    def body() -> Outcome:
        return Outcome(
            {"ok": True, "rows": LazyList(items, 2)}, closers=[lambda: closed.append(True)]
        )

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(Exit) as done:
        run_body("run inspect", True, body)
    assert done.value.code == 6
    assert closed == [True]
    partial, error = out.getvalue().splitlines()
    assert partial.startswith('{"correlation_id"') and '"rows":[{"n":1}' in partial
    assert json.loads(error)["error"] == "runpack hash mismatch: intents.jsonl"


def _rehashed(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """``source`` with members replaced and the manifest's hashes and digest made to match."""
    import hashlib

    from gait.runpack.record import manifest_digest

    with zipfile.ZipFile(source) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members.update(changes)
    manifest = json.loads(members["manifest.json"])
    for item in manifest["files"]:
        item["sha256"] = hashlib.sha256(members[item["path"]]).hexdigest()
    manifest["manifest_digest"] = manifest_digest(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return target


def test_parse_errors_name_the_first_bad_record_in_reading_order(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    with zipfile.ZipFile(packs["aligned"]) as zin:
        intents, results = zin.read("intents.jsonl"), zin.read("results.jsonl")
    cases = {
        # results break on line 1, intents only on their last line: intents are reported
        "both": {
            "intents.jsonl": intents + b'{"intent_id": 5}\n',
            "results.jsonl": b"[1]\n" + results,
        },
        "results": {"results.jsonl": results + b"{oops\n"},
        "deep": {"intents.jsonl": b"[" * 1200 + b"]" * 1200 + b"\n" + intents},
    }
    for label, change in cases.items():
        target = _rehashed(packs["aligned"], tmp_path / f"{label}.zip", change)
        with pytest.raises(InvalidInput) as whole:
            read_runpack(target)
        with pytest.raises(InvalidInput) as streamed:
            open_stream(target)
        assert "parse" in whole.value.message, label
        assert streamed.value.message == whole.value.message, label
        code, out = _cli("run", "inspect", str(target), "--json")
        assert code == 6 and json.loads(out)["error"] == whole.value.message
