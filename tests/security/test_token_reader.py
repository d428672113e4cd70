"""Issue 11 A6/B9: the token reader rejects repeated keys, huge integers and deep nesting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.errors import EXIT_INVALID_INPUT, InvalidInput
from gait.gate.tokens import read_token


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (b'{"token_id":"a","Token_Id":"b"}', "duplicate key"),
        (b'{"max_targets":' + b"9" * 400 + b"}", "digits"),
        (b'{"scope":' + b"[" * 5000 + b"]" * 5000 + b"}", "nesting"),
        (b'{"max_targets": Infinity}', "Infinity"),
    ],
)
def test_bad_token_documents_are_invalid_input(tmp_path: Path, doc: bytes, problem: str) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(doc)
    with pytest.raises(InvalidInput) as info:
        read_token(str(path))
    assert info.value.exit_code == EXIT_INVALID_INPUT
    assert problem in str(info.value) and str(path) in str(info.value)
