"""Picking a fresh trace name: taken names cost one lstat, not one written temp file each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.fsutil import atomic_write
from gait.trace import store


def counting_writer(calls: list[str]) -> Any:
    def writer(path: str, data: bytes, **kw: Any) -> None:
        calls.append(path)
        atomic_write(path, data, **kw)

    return writer


@pytest.mark.parametrize("taken", [0, 1, 5])
def test_first_free_name_with_one_write(tmp_path: Path, taken: int) -> None:
    target = str(tmp_path / "trace_x.json")
    names = [target] + [str(tmp_path / f"trace_x_{n}.json") for n in range(2, taken + 1)]
    for i, name in enumerate(names[:taken]):
        Path(name).write_bytes(b"other %d\n" % i)
    calls: list[str] = []
    out = store.write_json_record(
        target, {"a": 1}, keep_existing=True, writer=counting_writer(calls)
    )
    want = target if taken == 0 else str(tmp_path / f"trace_x_{taken + 1}.json")
    assert out == want and calls == [want]
    assert Path(out).read_bytes() == store.pretty_json({"a": 1})


def test_same_bytes_reuses_the_name_without_writing(tmp_path: Path) -> None:
    target = str(tmp_path / "trace_x.json")
    Path(target).write_bytes(b"other\n")
    (tmp_path / "trace_x_2.json").write_bytes(store.pretty_json({"a": 1}))
    calls: list[str] = []
    out = store.write_json_record(
        target, {"a": 1}, keep_existing=True, writer=counting_writer(calls)
    )
    assert out == str(tmp_path / "trace_x_2.json") and calls == []


def test_non_regular_names_still_go_to_the_writer(tmp_path: Path) -> None:
    target = tmp_path / "trace_x.json"
    target.mkdir()  # a folder under the name: refused by the writer, as before
    with pytest.raises(InvalidInput, match="refusing to write"):
        store.write_json_record(str(target), {"a": 1}, keep_existing=True)
    link = tmp_path / "trace_y.json"
    os.symlink(tmp_path / "elsewhere.json", link)  # a dangling link: written through, as before
    out = store.write_json_record(str(link), {"a": 1}, keep_existing=True)
    assert out == str(link)
    assert (tmp_path / "elsewhere.json").read_bytes() == store.pretty_json({"a": 1})
