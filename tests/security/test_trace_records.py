"""Issue 11 A6 (signed records with repeated keys) and B13 (signature without key_id)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.signing import write_public_key
from gait.trace import build_trace_record, sign_trace, verify_trace_file


def _write(tmp_path: Path, key, edit) -> Path:
    record = sign_trace(
        build_trace_record(
            policy_digest="a" * 64,
            intent_digest="b" * 64,
            args_digest="c" * 64,
            tool_name="t",
            verdict="allow",
            observed_at="2026-01-01T00:00:00Z",
        ),
        key,
    )
    text = edit(json.dumps(record, indent=2))
    path = tmp_path / "trace.json"
    path.write_text(text, encoding="utf-8")
    write_public_key(tmp_path / "pub.key", key)
    return path


def _cli(path: Path, capsys) -> tuple[int, dict]:
    code = main(
        ["trace", "verify", str(path), "--public-key", str(path.parent / "pub.key"), "--json"]
    )
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("added", ['"Verdict": "block"', '"verdict": "block"', '"VERDICT": "x"'])
def test_repeated_or_case_variant_key_fails_verification(
    tmp_path: Path, fixed_key, capsys, added: str
) -> None:
    path = _write(
        tmp_path,
        fixed_key,
        lambda t: t.replace('"verdict": "allow",', f'"verdict": "allow", {added},'),
    )
    code, payload = _cli(path, capsys)
    assert code == 2
    assert payload["ok"] is False and "duplicate key" in payload["error"]
    assert verify_trace_file(path, fixed_key)["ok"] is False


def test_signature_without_key_id_verifies_with_the_right_key(
    tmp_path: Path, fixed_key, capsys
) -> None:
    def drop(text: str) -> str:
        doc = json.loads(text)
        del doc["signature"]["key_id"]
        return json.dumps(doc)

    path = _write(tmp_path, fixed_key, drop)
    code, payload = _cli(path, capsys)
    assert (code, payload["ok"]) == (0, True)


def test_signature_without_key_id_and_wrong_key_exits_2(
    tmp_path: Path, fixed_key, other_key, capsys
) -> None:
    def drop(text: str) -> str:
        doc = json.loads(text)
        del doc["signature"]["key_id"]
        return json.dumps(doc)

    path = _write(tmp_path, fixed_key, drop)
    write_public_key(tmp_path / "pub.key", other_key)
    code = main(["trace", "verify", str(path), "--public-key", str(tmp_path / "pub.key"), "--json"])
    assert code == 2
