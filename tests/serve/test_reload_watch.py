"""The policy watcher picks up a file rewritten in place, even when its stat does not move.

An editor saving in place truncates or overwrites the file; a poll may read it
half-written (refused: the old table stays) and the rest of the write may land in
the same timestamp tick. These tests force that case with ``os.utime`` and check
the watcher still ends on the finished file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gait.policy import compile_policy
from tests.serve.conftest import POLICY
from tests.serve.test_inline_lane import _service

ALLOW = "effect: allow\n    match:\n      endpoint_classes: [fs.read]"
BLOCK = "effect: block\n    match:\n      endpoint_classes: [fs.read]"


def _texts() -> tuple[bytes, bytes]:
    original = POLICY.read_bytes()
    blocked = original.replace(ALLOW.encode(), BLOCK.encode())
    assert blocked != original and len(blocked) == len(original)
    return original, blocked


def _write_in_place(path: Path, data: bytes, offset: int, stamp_ns: int) -> None:
    """Overwrite ``data`` at ``offset`` without truncating, then pin the mtime."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    os.utime(path, ns=(stamp_ns, stamp_ns))


def test_second_half_of_an_in_place_write_with_the_same_stat_is_picked_up(tmp_path, capsys):
    original, blocked = _texts()
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(original)
    service = _service(tmp_path, policy=policy)
    try:
        first = service.gate.compiled.policy_digest
        # Split inside the changed word: the first half alone reads "bloow", not a verdict.
        split = blocked.index(BLOCK.encode()) + len(b"effect: blo")
        mtime = time.time_ns()
        _write_in_place(policy, blocked[:split], 0, mtime)
        size_ino = (policy.stat().st_size, policy.stat().st_ino)
        assert service.reload_policy() is False  # the half-written file is refused
        assert "bloow" in capsys.readouterr().err
        assert service.gate.compiled.policy_digest == first
        _write_in_place(policy, blocked[split:], split, mtime)
        assert policy.read_bytes() == blocked
        assert (policy.stat().st_size, policy.stat().st_ino, policy.stat().st_mtime_ns) == (
            *size_ino,
            mtime,
        )
        assert service.reload_policy() is True
        assert service.gate.compiled.policy_digest == compile_policy(blocked).policy_digest
        assert service.gate.compiled.policy_digest != first
        assert service.reload_policy() is False  # nothing new: no second reload
    finally:
        service.close()


def test_a_refused_file_is_reported_once_and_a_fixed_one_loads(tmp_path, capsys):
    original, blocked = _texts()
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(original)
    service = _service(tmp_path, policy=policy)
    try:
        policy.write_text("rules: [this is not a policy\n")
        assert service.reload_policy() is False
        assert service.reload_policy() is False  # same bytes: not compiled or logged again
        assert capsys.readouterr().err.count("policy reload failed") == 1
        policy.write_bytes(blocked)
        assert service.reload_policy() is True
        assert service.gate.compiled.policy_digest == compile_policy(blocked).policy_digest
    finally:
        service.close()


def test_a_settled_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    import gait.policy.source as source
    import gait.serve.service as svc

    original, _blocked = _texts()
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(original)
    service = _service(tmp_path, policy=policy)
    try:
        # The file was just written (racy at start-up); from now on no change is that recent.
        monkeypatch.setattr(svc, "RACY_WINDOW_NS", 0)
        reads: list[str] = []
        real_read = source.read_policy_bytes

        def counting(path):
            reads.append(str(path))
            return real_read(path)

        monkeypatch.setattr(source, "read_policy_bytes", counting)
        assert service.reload_policy() is False  # racy from start-up: read once more
        assert service.reload_policy() is False
        assert service.reload_policy() is False
        assert len(reads) == 1  # then the stat alone answers
        assert service.reload_policy(force=True) is False  # same table: no swap
        assert len(reads) == 2
    finally:
        service.close()
