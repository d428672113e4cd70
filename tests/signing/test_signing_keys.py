"""Key files, env sources and key-mode resolution (trace.md §2, §2.1)."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.signing import (
    DEV_KEY_WARNING,
    KeyPair,
    encode_private_key,
    encode_public_key,
    generate_keypair,
    key_id_for,
    load_private_key,
    load_public_key,
    resolve_signing_key,
    resolve_verify_key,
    source_label,
    write_private_key,
    write_public_key,
)

Loader = Callable[..., KeyPair]

VECTOR_PUBLIC_B64 = "2452IFcJJprSJUSaASiKpWRN4bzs7KbckliBk2cKGeg="
VECTOR_KEY_ID = "8393424682c702d59a923d26924b2d4827711e6c585117077766645e22efeb52"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_key_id_matches_reference_vector() -> None:
    assert key_id_for(base64.b64decode(VECTOR_PUBLIC_B64)) == VECTOR_KEY_ID


def test_loaded_public_key_has_reference_key_id(tmp_path: Path) -> None:
    key = load_public_key(_write(tmp_path, "pub.key", VECTOR_PUBLIC_B64 + "\n"))
    assert key.key_id == VECTOR_KEY_ID
    assert key.private is None


def test_generate_keypair_is_ephemeral_with_full_key_id() -> None:
    key = generate_keypair()
    assert key.source == "ephemeral"
    assert len(key.key_id) == 64
    assert key.key_id == key_id_for(key.public_bytes)
    assert generate_keypair().key_id != key.key_id


def test_private_key_file_is_go_layout_seed_then_public(tmp_path: Path, fixed_key: KeyPair) -> None:
    path = tmp_path / "k_private.key"
    write_private_key(path, fixed_key)
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    raw = base64.b64decode(text)
    assert len(raw) == 64
    assert raw[:32] == bytes(range(32))
    assert raw[32:] == fixed_key.public_bytes


def test_written_key_files_are_mode_0600(tmp_path: Path, fixed_key: KeyPair) -> None:
    write_private_key(tmp_path / "a.key", fixed_key)
    write_public_key(tmp_path / "b.key", fixed_key)
    for name in ("a.key", "b.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_private_key_roundtrip_keeps_key_id_and_records_path_source(
    tmp_path: Path, fixed_key: KeyPair
) -> None:
    path = tmp_path / "k.key"
    write_private_key(path, fixed_key)
    loaded = load_private_key(str(path))
    assert loaded.key_id == fixed_key.key_id
    assert loaded.private is not None
    assert loaded.source == f"path:{path}"


def test_public_key_file_is_base64_of_32_bytes(tmp_path: Path, fixed_key: KeyPair) -> None:
    write_public_key(tmp_path / "p.key", fixed_key)
    assert base64.b64decode((tmp_path / "p.key").read_text()) == fixed_key.public_bytes


def test_key_text_is_trimmed_of_spaces_tabs_cr_lf(tmp_path: Path, fixed_key: KeyPair) -> None:
    text = " \t\r\n" + encode_private_key(fixed_key) + "\r\n\t "
    assert load_private_key(_write(tmp_path, "k", text)).key_id == fixed_key.key_id


@pytest.mark.parametrize(
    ("kind", "loader", "wrong"),
    [("private", load_private_key, 32), ("public", load_public_key, 64)],
)
def test_wrong_length_reports_decoded_length(
    tmp_path: Path, kind: str, loader: Loader, wrong: int
) -> None:
    path = _write(tmp_path, "k", base64.b64encode(b"\x01" * wrong).decode())
    with pytest.raises(InvalidInput, match=f"^invalid {kind} key length: {wrong}$"):
        loader(path)


@pytest.mark.parametrize(
    ("kind", "loader"), [("private", load_private_key), ("public", load_public_key)]
)
def test_bad_base64_is_a_decode_error(tmp_path: Path, kind: str, loader: Loader) -> None:
    with pytest.raises(InvalidInput, match=f"^decode {kind} key: "):
        loader(_write(tmp_path, "k", "not*base64!"))


def test_missing_padding_is_a_decode_error(tmp_path: Path, fixed_key: KeyPair) -> None:
    text = encode_public_key(fixed_key).rstrip("=")
    with pytest.raises(InvalidInput, match=r"^decode public key: "):
        load_public_key(_write(tmp_path, "k", text))


def test_unreadable_key_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^read private key: "):
        load_private_key(str(tmp_path / "absent.key"))


def test_private_key_whose_halves_disagree_is_rejected(
    tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    raw = base64.b64decode(encode_private_key(fixed_key))[:32] + other_key.public_bytes
    with pytest.raises(InvalidInput, match="embedded public key does not match seed"):
        load_private_key(_write(tmp_path, "k", base64.b64encode(raw).decode()))


def test_env_sources_hold_trimmed_base64(
    monkeypatch: pytest.MonkeyPatch, fixed_key: KeyPair
) -> None:
    monkeypatch.setenv("GAIT_TEST_PRIV", "  " + encode_private_key(fixed_key) + "\n")
    monkeypatch.setenv("GAIT_TEST_PUB", encode_public_key(fixed_key))
    private = load_private_key(env="GAIT_TEST_PRIV")
    public = load_public_key(env="GAIT_TEST_PUB")
    assert private.key_id == public.key_id == fixed_key.key_id
    assert (private.source, public.source) == ("env:GAIT_TEST_PRIV", "env:GAIT_TEST_PUB")


@pytest.mark.parametrize("value", [None, "", "  \n"])
@pytest.mark.parametrize(
    ("kind", "loader"), [("private", load_private_key), ("public", load_public_key)]
)
def test_unset_or_empty_env_is_not_set(
    monkeypatch: pytest.MonkeyPatch, value: str | None, kind: str, loader: Loader
) -> None:
    monkeypatch.delenv("GAIT_TEST_KEY", raising=False)
    if value is not None:
        monkeypatch.setenv("GAIT_TEST_KEY", value)
    with pytest.raises(InvalidInput, match=f"^{kind} key env not set: GAIT_TEST_KEY$"):
        loader(env="GAIT_TEST_KEY")


@pytest.mark.parametrize(
    ("kind", "loader"), [("private", load_private_key), ("public", load_public_key)]
)
def test_path_and_env_together_is_an_error(kind: str, loader: Loader) -> None:
    with pytest.raises(InvalidInput, match=f"^{kind} key source: set either path or env$"):
        loader("some.key", "SOME_ENV")


def test_no_source_is_not_configured() -> None:
    with pytest.raises(InvalidInput, match=r"^private key not configured$"):
        load_private_key()


def test_source_label() -> None:
    assert source_label(" k.key ", None) == "path:k.key"
    assert source_label(None, "VAR") == "env:VAR"
    assert source_label(None, None) == "derived"


# --- key modes (§2.1) -------------------------------------------------------------


def test_dev_mode_uses_the_per_user_dev_key_with_warning() -> None:
    key, warnings = resolve_signing_key()
    assert key.source.startswith("dev:") and key.private is not None
    assert warnings == [DEV_KEY_WARNING]
    assert DEV_KEY_WARNING.startswith("dev mode: signed with this user's dev key")
    # Same key on the next run: that is what makes dev signatures checkable.
    assert resolve_signing_key()[0].key_id == key.key_id


@pytest.mark.parametrize(
    "source",
    [
        {"private_key": "k"},
        {"private_key_env": "V"},
        {"public_key": "k"},
        {"public_key_env": "V"},
    ],
)
def test_dev_mode_rejects_explicit_sources(source: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match=r"^dev mode does not accept explicit key sources$"):
        resolve_signing_key("dev", **source)


def test_prod_mode_requires_private_source(tmp_path: Path, fixed_key: KeyPair) -> None:
    write_public_key(tmp_path / "p.key", fixed_key)
    with pytest.raises(InvalidInput, match=r"^prod mode requires a private key source$"):
        resolve_signing_key("prod", public_key=str(tmp_path / "p.key"))


def test_prod_mode_loads_private_key_without_warnings(tmp_path: Path, fixed_key: KeyPair) -> None:
    write_private_key(tmp_path / "k.key", fixed_key)
    write_public_key(tmp_path / "p.key", fixed_key)
    key, warnings = resolve_signing_key(
        "prod", private_key=str(tmp_path / "k.key"), public_key=str(tmp_path / "p.key")
    )
    assert (key.key_id, warnings) == (fixed_key.key_id, [])
    assert key.source == f"path:{tmp_path / 'k.key'}"


def test_prod_mode_rejects_mismatched_public_key(
    tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    write_private_key(tmp_path / "k.key", fixed_key)
    write_public_key(tmp_path / "p.key", other_key)
    with pytest.raises(InvalidInput, match=r"^public key does not match private key$"):
        resolve_signing_key(
            "prod", private_key=str(tmp_path / "k.key"), public_key=str(tmp_path / "p.key")
        )


def test_prod_mode_rejects_private_path_and_env(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^private key source: set either path or env$"):
        resolve_signing_key("prod", private_key="k", private_key_env="V")


def test_unsupported_key_mode() -> None:
    with pytest.raises(InvalidInput, match=r'^unsupported key mode: "staging"$'):
        resolve_signing_key("staging")


# --- verify-key resolution --------------------------------------------------------


def test_verify_key_prefers_public_source(
    tmp_path: Path, fixed_key: KeyPair, other_key: KeyPair
) -> None:
    write_private_key(tmp_path / "k.key", other_key)
    write_public_key(tmp_path / "p.key", fixed_key)
    key = resolve_verify_key(
        public_key=str(tmp_path / "p.key"), private_key=str(tmp_path / "k.key")
    )
    assert key.key_id == fixed_key.key_id


def test_verify_key_is_derived_from_private_source(tmp_path: Path, fixed_key: KeyPair) -> None:
    write_private_key(tmp_path / "k.key", fixed_key)
    key = resolve_verify_key(private_key=str(tmp_path / "k.key"))
    assert (key.key_id, key.source, key.private) == (fixed_key.key_id, "derived", None)


def test_verify_key_not_configured() -> None:
    with pytest.raises(InvalidInput, match=r"^public key not configured$"):
        resolve_verify_key()


def test_verify_key_rejects_public_path_and_env() -> None:
    with pytest.raises(InvalidInput, match=r"^public key source: set either path or env$"):
        resolve_verify_key(public_key="p", public_key_env="V")
