"""Registry manifest reading, digest and signature rules (docs/registry.md)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.registry.manifest import (
    RegistryError,
    canonical_manifest,
    check_publisher,
    check_safe_segment,
    manifest_json,
    normalize_list,
    parse_manifest,
    signable_digest,
    verify_signatures,
)
from gait.signing import generate_keypair, sign_digest

from .support import base_manifest


def _parse(value: Any) -> dict[str, Any]:
    return parse_manifest(json.dumps(value).encode())


def test_digest_is_sha256_of_the_sorted_compact_record_without_signatures() -> None:
    written = (
        '{"artifacts":[{"path":"a","sha256":"' + "a" * 64 + '"}],'
        '"created_at":"2026-01-01T00:00:00Z","pack_name":"p","pack_version":"v",'
        '"producer_version":"0.0.0-dev","schema_id":"gait.registry.pack","schema_version":"1.0.0"}'
    )
    manifest = {
        "schema_id": "gait.registry.pack",
        "schema_version": "1.0.0",
        "created_at": "2026-01-01T00:00:00Z",
        "producer_version": "0.0.0-dev",
        "pack_name": "p",
        "pack_version": "v",
        "artifacts": [{"path": "a", "sha256": "a" * 64}],
        "signatures": [{"alg": "ed25519", "key_id": "k", "sig": "s"}],
    }
    assert signable_digest(_parse(manifest)) == hashlib.sha256(written.encode()).hexdigest()


def test_unknown_fields_are_dropped_and_names_lowercased() -> None:
    manifest = base_manifest() | {
        "extra": {"x": 1},
        "publisher": "  ACME ",
        "source": "Registry",
        "pack_type": " Skill ",
    }
    parsed = _parse(manifest)
    rendered = manifest_json(parsed)
    assert "extra" not in rendered
    assert (rendered["publisher"], rendered["source"], rendered["pack_type"]) == (
        "acme",
        "registry",
        "skill",
    )
    assert signable_digest(parsed) == signable_digest(
        _parse(base_manifest() | {"publisher": "acme", "source": "registry", "pack_type": "skill"})
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00.120+00:00", "2026-01-01T00:00:00.12Z"),
        ("2026-01-01T02:00:00+02:00", "2026-01-01T02:00:00+02:00"),
        ("2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00.123456789Z"),
    ],
)
def test_created_at_is_rendered_canonically(text: str, canonical: str) -> None:
    assert manifest_json(_parse(base_manifest() | {"created_at": text}))["created_at"] == canonical


def test_missing_created_at_is_the_zero_time() -> None:
    manifest = base_manifest()
    del manifest["created_at"]
    assert manifest_json(_parse(manifest))["created_at"] == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["2026-13-01T00:00:00Z", "2026-01-01 00:00:00Z", "yesterday"])
def test_bad_created_at_is_refused(text: str) -> None:
    with pytest.raises(RegistryError, match="parse registry manifest"):
        _parse(base_manifest() | {"created_at": text})


def test_empty_lists_are_omitted_and_absent_artifacts_stay_null() -> None:
    manifest = base_manifest() | {"compatibility": [], "provenance": {}, "signatures": []}
    del manifest["artifacts"]
    rendered = manifest_json(_parse(manifest))
    assert "compatibility" not in rendered and "provenance" not in rendered
    assert "signatures" not in rendered
    assert rendered["artifacts"] is None
    assert b'"artifacts":null' in canonical_manifest(_parse(manifest))


def test_artifact_media_type_is_omitted_when_empty() -> None:
    manifest = base_manifest() | {
        "artifacts": [{"path": "p", "sha256": "b" * 64, "media_type": ""}]
    }
    assert manifest_json(_parse(manifest))["artifacts"] == [{"path": "p", "sha256": "b" * 64}]


def test_field_names_match_case_insensitively() -> None:
    manifest = base_manifest()
    manifest["PACK_NAME"] = manifest.pop("pack_name")
    assert _parse(manifest)["pack_name"] == "baseline-highrisk"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_id": "other"}, 'unsupported schema_id "other"'),
        ({"schema_version": "2.0.0"}, 'unsupported schema_version "2.0.0"'),
        ({"pack_name": "  "}, "pack_name is required"),
        ({"pack_version": ""}, "pack_version is required"),
        ({"pack_type": "skill"}, "skill pack requires publisher and source"),
        ({"pack_name": 7}, "RegistryPack.pack_name of type string"),
        ({"artifacts": {"path": "x"}}, "of type []registry.PackArtifact"),
        ({"provenance": [1]}, "RegistryPack.provenance"),
    ],
)
def test_invalid_manifests_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistryError) as info:
        _parse(base_manifest() | change)
    assert message in info.value.message


def test_a_manifest_must_be_an_object() -> None:
    with pytest.raises(RegistryError, match="cannot unmarshal array"):
        parse_manifest(b"[]")
    with pytest.raises(RegistryError, match='unsupported schema_id ""'):
        parse_manifest(b"null")


def test_repeated_keys_are_refused() -> None:
    raw = b'{"pack_name":"a","pack_name":"b"}'
    with pytest.raises(RegistryError, match="parse registry manifest"):
        parse_manifest(raw)


def test_normalize_list_trims_lowercases_sorts_and_dedups() -> None:
    assert normalize_list([" EXAMPLE.com,example.com", "api.example.com"]) == [
        "api.example.com",
        "example.com",
    ]
    assert normalize_list(" Acme,acme ,, partner") == ["acme", "partner"]


def test_publisher_allowlist_rules() -> None:
    check_publisher("acme", [])
    check_publisher("ACME", ["acme"])
    with pytest.raises(RegistryError, match="manifest publisher is empty"):
        check_publisher("", ["acme"])
    with pytest.raises(RegistryError, match="manifest publisher unknown is not in allowlist"):
        check_publisher("unknown", ["acme"])


def test_signature_checks() -> None:
    key, other = generate_keypair(), generate_keypair()
    digest = "a" * 64
    good = sign_digest(key, digest)
    verify_signatures([good], key, digest)
    verify_signatures([sign_digest(other, digest), good], key, digest)
    verify_signatures([good | {"signed_digest": digest.upper()}], key, digest)
    with pytest.raises(RegistryError, match="registry manifest has no signatures"):
        verify_signatures([], key, digest)
    with pytest.raises(RegistryError, match="public key is required"):
        verify_signatures([good], None, digest)
    with pytest.raises(RegistryError, match="no valid signature for manifest digest"):
        verify_signatures([good], key, "b" * 64)
    with pytest.raises(RegistryError, match="no valid signature"):
        verify_signatures([good], other, digest)
    with pytest.raises(RegistryError, match="no valid signature"):
        verify_signatures([good | {"alg": "rsa"}], key, digest)


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../../etc", "a\\b", "x\x00y"])
def test_unsafe_names_cannot_become_cache_folders(name: str) -> None:
    with pytest.raises(RegistryError, match="cannot be used as a cache directory name"):
        check_safe_segment("pack_name", name)


def test_ordinary_names_are_safe() -> None:
    check_safe_segment("pack_name", "baseline-highrisk")
    check_safe_segment("pack_version", "1.1.0+build.7")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(
    provenance=st.dictionaries(st.text(min_size=1, max_size=6), _json_values, max_size=4),
    compatibility=st.lists(st.text(max_size=6), max_size=3),
    publisher=st.text(alphabet="abcXYZ -", max_size=6),
)
def test_cached_form_reads_back_to_the_same_digest(
    provenance: dict[str, Any], compatibility: list[str], publisher: str
) -> None:
    manifest = base_manifest() | {
        "provenance": provenance,
        "compatibility": compatibility,
        "publisher": publisher,
    }
    try:
        parsed = _parse(manifest)
    except RegistryError:  # e.g. case-variant repeated provenance keys: refused, fine
        return
    again = parse_manifest(canonical_manifest(parsed))
    assert signable_digest(again) == signable_digest(parsed)
    assert canonical_manifest(again) == canonical_manifest(parsed)
