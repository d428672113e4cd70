"""gait.canonical's SHA-256 choice: the interpreter's built-in one (one-shot commands) and
hashlib give the same digests, and large inputs always go to hashlib."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait import canonical


@pytest.fixture
def builtin_sha256(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canonical, "_sha256", canonical._sha256)  # restored after the test
    assert canonical.use_builtin_sha256()
    assert canonical._sha256 is not hashlib.sha256


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=4096), value=st.dictionaries(st.text(max_size=8), st.integers()))
def test_builtin_and_hashlib_digests_agree(data: bytes, value: dict[str, int]) -> None:
    before = canonical._sha256
    try:
        assert canonical.use_builtin_sha256()
        built = (canonical.sha256_hex(data), canonical.digest(value))
        hasher = canonical.new_sha256()
        hasher.update(data)
        streamed = hasher.hexdigest()
    finally:
        canonical._sha256 = before
    want = hashlib.sha256(data).hexdigest()
    assert built == (want, hashlib.sha256(canonical.canonical_bytes(value)).hexdigest())
    assert streamed == want


def test_large_inputs_use_hashlib(builtin_sha256: None) -> None:
    big = b"x" * (canonical._BUILTIN_MAX + 1)
    assert type(canonical.new_sha256(size=len(big))) is type(hashlib.sha256())
    assert type(canonical.new_sha256(big)) is type(hashlib.sha256())
    assert type(canonical.new_sha256(b"small")) is not type(hashlib.sha256())
    assert canonical.sha256_hex(big) == hashlib.sha256(big).hexdigest()


def test_default_is_hashlib_after_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canonical, "_sha256", canonical._hashlib_sha256)
    assert canonical.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert canonical._sha256 is hashlib.sha256
