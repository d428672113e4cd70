"""gait.fsutil.path_text is str(pathlib.Path(p)) without pathlib: proven on generated paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.fsutil import path_text

# components that exercise every parsing rule: empty, ".", "..", names, odd characters
PART = st.sampled_from(["", ".", "..", "a", "b.zip", " x ", "\\", "é", ".hidden", "a.b/"])


@settings(max_examples=600, deadline=None)
@given(st.lists(PART, max_size=8), st.integers(min_value=0, max_value=4))
def test_path_text_equals_pathlib(parts: list[str], leading: int) -> None:
    text = "/" * leading + "/".join(parts)
    assert path_text(text) == str(Path(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/.ab\\ \x00", max_size=16))
def test_path_text_equals_pathlib_on_any_text(text: str) -> None:
    assert path_text(text) == str(Path(text))


@pytest.mark.parametrize("value", ["", ".", "./", "//", "///", "//a//b/", "/./a/./", "a/../b", "~"])
def test_path_text_corpus_and_pathlike(value: str) -> None:
    assert path_text(value) == str(Path(value))
    assert path_text(Path(value)) == str(Path(value))  # a PathLike is read through os.fspath


def test_path_text_refuses_what_pathlib_refuses() -> None:
    with pytest.raises(TypeError):
        path_text(b"a/b")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Path(b"a/b")  # type: ignore[arg-type]
    assert os.name != "posix" or path_text("a//b") == "a/b"
