"""write_json_record writes first and creates a missing folder only after a failure: same results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gait.fsutil import GroupCommit, atomic_write
from gait.trace.store import normalize_trace_path, pretty_json, write_json_record

RECORD = {"b": 1, "a": ["x", 2.5], "c": {"d": None}}


def _old(path: str, record: dict, keep_existing: bool, writer) -> str:
    """The former order: folder check and makedirs before anything else."""
    from gait.trace.store import _write_fresh

    target = normalize_trace_path(path)
    parent = os.path.dirname(target)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, mode=0o750, exist_ok=True)
    data = pretty_json(record)
    if not keep_existing:
        writer(target, data)
        return target
    return _write_fresh(target, data, writer)


def _outcome(fn, root: Path, rel: str, keep: bool, writer) -> tuple:
    try:
        written = fn(str(root / rel), RECORD, keep, writer)
    except OSError as err:
        return ("error", type(err).__name__, err.errno)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    return ("ok", os.path.relpath(written, root), files, Path(written).read_bytes())


def _new(path: str, record: dict, keep: bool, writer) -> str:
    return write_json_record(path, record, keep_existing=keep, writer=writer)


LAYOUTS = {
    "exists": lambda r: (r / "t").mkdir(),
    "missing": lambda r: None,
    "missing_nested": lambda r: None,
    "parent_is_file": lambda r: (r / "t").write_bytes(b"x"),
    "name_taken": lambda r: ((r / "t").mkdir(), (r / "t" / "trace.json").write_bytes(b"old")),
}
RELS = {"missing_nested": "t/a/b/trace.json"}


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("kind", ["atomic", "group_batch", "group_strict"])
def test_same_outcome_as_checking_the_folder_first(tmp_path, keep, layout, kind):
    outcomes = []
    for side, fn in (("old", _old), ("new", _new)):
        root = tmp_path / side
        root.mkdir()
        LAYOUTS[layout](root)
        committer = None
        if kind == "atomic":
            writer = atomic_write
        else:
            committer = GroupCommit(wait=kind == "group_strict")
            writer = committer.write
        try:
            outcomes.append(_outcome(fn, root, RELS.get(layout, "t/trace.json"), keep, writer))
        finally:
            if committer is not None:
                committer.close()
    assert outcomes[0] == outcomes[1]
    if layout in ("missing", "missing_nested"):
        assert outcomes[1][0] == "ok"
    if layout == "parent_is_file":
        assert outcomes[1][0] == "error"


def test_unencodable_record_still_creates_the_folder_first(tmp_path):
    target = tmp_path / "t" / "trace.json"
    with pytest.raises(UnicodeEncodeError):
        write_json_record(str(target), {"a": "\ud800"})
    assert (tmp_path / "t").is_dir()
    assert not target.exists()
