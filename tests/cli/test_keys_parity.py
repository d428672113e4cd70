"""``gait keys`` text and errors as the original (cmd/gait/keys.go)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.inproc import run_cli


def test_rotate_prints_the_init_line(tmp_path: Path) -> None:
    code, text = run_cli("keys", "rotate", "--out-dir", str(tmp_path))
    assert code == 0 and text.startswith("keys init ok: key_id=")
    assert f"public={tmp_path}/gait_" in text and "_public.key private=" in text


def test_verify_needs_a_private_key_source(tmp_path: Path) -> None:
    run_cli("keys", "init", "--out-dir", str(tmp_path))
    code, text = run_cli(
        "keys", "verify", "--public-key", str(tmp_path / "gait_public.key"), "--json"
    )
    assert code == 6
    assert json.loads(text)["error"] == (
        "private key source is required (--private-key or --private-key-env)"
    )
    code, text = run_cli("keys", "verify", "--private-key", str(tmp_path / "gait_private.key"))
    assert code == 0 and text.startswith("keys verify ok: key_id=")
