"""``gait.registry.install``: local and remote sources, pins, retries, cached fallback, cache layout."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gait.registry import RegistryError, install, list_packs, resolve_cache_dir, verify_manifest
from gait.registry.fetch import MAX_PAYLOAD, retry_delay

from .support import (
    Signer,
    base_manifest,
    https_url,
    self_signed_cert,
    serving,
    serving_tls,
)


def _no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(tmp_path)


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_local_install_writes_manifest_and_pin(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    cache = tmp_path / "cache"
    result = install(str(source), key=signer.key, cache_dir=str(cache))
    expected = cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json"
    assert result.metadata_path == str(expected)
    assert result.pin_path == str(cache / "pins" / "baseline-highrisk.pin")
    assert (cache / "pins" / "baseline-highrisk.pin").read_text() == f"sha256:{digest}\n"
    assert (result.digest, result.fallback_used, result.source) == (digest, False, str(source))
    stored = json.loads(expected.read_bytes())
    assert stored["signatures"][0]["signed_digest"] == digest
    assert (
        expected.read_bytes() == json.dumps(stored, sort_keys=True, separators=(",", ":")).encode()
    )
    assert _mode(expected) == 0o600 and _mode(result.pin_path) == 0o600
    for folder in (cache, cache / "baseline-highrisk", expected.parent, cache / "pins"):
        assert _mode(folder) == 0o750


def test_install_is_repeatable_byte_for_byte(signer: Signer, tmp_path: Path) -> None:
    source, _ = signer.write(base_manifest())
    first = install(str(source), key=signer.key, cache_dir=str(tmp_path / "c"))
    before = Path(first.metadata_path).read_bytes()
    second = install(str(source), key=signer.key, cache_dir=str(tmp_path / "c"))
    assert Path(second.metadata_path).read_bytes() == before


def test_pin_must_match(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    cache = tmp_path / "cache"
    with pytest.raises(RegistryError, match="pin digest mismatch"):
        install(str(source), key=signer.key, cache_dir=str(cache), pin="sha256:" + "b" * 64)
    assert not cache.exists()
    result = install(str(source), key=signer.key, cache_dir=str(cache), pin="SHA256:" + digest)
    assert result.digest == digest


def test_publisher_allowlist_is_enforced(signer: Signer, tmp_path: Path) -> None:
    plain, _ = signer.write(base_manifest(), "plain.json")
    with pytest.raises(RegistryError, match="publisher allowlist configured"):
        install(
            str(plain), key=signer.key, cache_dir=str(tmp_path / "c"), publisher_allowlist="acme"
        )
    acme, _ = signer.write(base_manifest() | {"publisher": "Acme"}, "acme.json")
    with pytest.raises(RegistryError, match="manifest publisher acme is not in allowlist"):
        install(
            str(acme), key=signer.key, cache_dir=str(tmp_path / "c"), publisher_allowlist="other"
        )
    assert install(
        str(acme), key=signer.key, cache_dir=str(tmp_path / "c"), publisher_allowlist=" ACME "
    )


def test_wrong_key_or_tampered_manifest_is_refused(signer: Signer, tmp_path: Path) -> None:
    source, _ = signer.write(base_manifest())
    other = Signer(_folder(tmp_path / "other"))
    with pytest.raises(RegistryError, match="no valid signature for manifest digest"):
        install(str(source), key=other.key, cache_dir=str(tmp_path / "c"))
    data = json.loads(source.read_text())
    data["pack_version"] = "9.9.9"
    source.write_text(json.dumps(data))
    with pytest.raises(RegistryError, match="no valid signature"):
        install(str(source), key=signer.key, cache_dir=str(tmp_path / "c"))
    assert not (tmp_path / "c").exists()


def test_unsigned_manifest_is_refused(tmp_path: Path, signer: Signer) -> None:
    source = tmp_path / "unsigned.json"
    source.write_text(json.dumps(base_manifest()))
    with pytest.raises(RegistryError, match="registry manifest has no signatures"):
        install(str(source), key=signer.key, cache_dir=str(tmp_path / "c"))


@pytest.mark.parametrize(("field", "value"), [("pack_name", "../escape"), ("pack_version", "..")])
def test_manifest_names_cannot_leave_the_cache(
    signer: Signer, tmp_path: Path, field: str, value: str
) -> None:
    source, _ = signer.write(base_manifest() | {field: value})
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(RegistryError, match="cannot be used as a cache directory name"):
        install(str(source), key=signer.key, cache_dir=str(cache))
    assert not (tmp_path / "deep").exists()


def test_missing_source_and_missing_file(tmp_path: Path, signer: Signer) -> None:
    with pytest.raises(RegistryError, match="source is required"):
        install("  ", key=signer.key, cache_dir=str(tmp_path))
    with pytest.raises(
        RegistryError, match=r"read source file: open .*missing\.json: no such file"
    ):
        install(str(tmp_path / "missing.json"), key=signer.key, cache_dir=str(tmp_path))


def test_default_cache_dir_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir("") == str(tmp_path / ".gait" / "registry")
    assert resolve_cache_dir(" /tmp//x/ ") == "/tmp/x"


def test_concurrent_installs_all_succeed(signer: Signer, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    source, digest = signer.write(base_manifest())
    cache = str(tmp_path / "cache")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: install(str(source), key=signer.key, cache_dir=cache), range(6))
        )
    assert {r.digest for r in results} == {digest}
    assert [p["digest"] for p in list_packs(cache)] == [digest]


# --- remote sources -------------------------------------------------------------------


def test_remote_install_over_loopback_http(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    with serving() as server:
        server.add("/pack.json", (200, source.read_bytes()))
        result = install(
            server.url("/pack.json"),
            key=signer.key,
            cache_dir=str(tmp_path / "cache"),
            allow_hosts="127.0.0.1",
            allow_insecure_http=True,
            pin="sha256:" + digest,
        )
    assert result.digest == digest and result.source == server.url("/pack.json")


def test_remote_rules_are_checked_before_any_request(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/pack.json", (200, b"{}"))
        url = server.url("/pack.json")
        cases = [
            ({"allow_hosts": "127.0.0.1"}, "remote source requires https"),
            ({"allow_insecure_http": True}, "remote source requires --allow-host"),
            (
                {"allow_insecure_http": True, "allow_hosts": "example.com"},
                "source host 127.0.0.1 is not in allowlist",
            ),
        ]
        for options, message in cases:
            with pytest.raises(RegistryError, match=message):
                install(url, key=signer.key, cache_dir=str(tmp_path / "c"), **options)  # type: ignore[arg-type]
        assert server.hits == {}


def test_transient_failures_are_retried_until_success(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    delays: list[float] = []
    with serving() as server:
        server.add("/p", (502, b"bad"), (503, b"bad"), (200, source.read_bytes()))
        result = install(
            server.url("/p"),
            key=signer.key,
            cache_dir=str(tmp_path / "cache"),
            allow_hosts="127.0.0.1",
            allow_insecure_http=True,
            attempts=3,
            base_delay=0.2,
            sleep=delays.append,
        )
        assert server.hits["/p"] == 3
    assert result.digest == digest and not result.fallback_used
    assert delays == [pytest.approx(0.225), pytest.approx(0.45)]


def test_permanent_status_is_not_retried(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/p", (403, b"forbidden"))
        with pytest.raises(RegistryError, match="download source: unexpected status 403"):
            install(
                server.url("/p"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                attempts=5,
                sleep=_no_sleep,
            )
        assert server.hits["/p"] == 1


def test_retries_stop_after_the_last_attempt(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/p", (503, b"busy"))
        with pytest.raises(RegistryError, match="download source: unexpected status 503"):
            install(
                server.url("/p"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                attempts=2,
                sleep=_no_sleep,
            )
        assert server.hits["/p"] == 2


def test_oversized_response_is_refused(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/big", (200, b" " * (MAX_PAYLOAD + 1)))
        with pytest.raises(RegistryError, match="payload too large"):
            install(
                server.url("/big"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                sleep=_no_sleep,
            )


def test_redirect_to_a_host_off_the_allowlist_is_refused(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/r", (302, b"", {"Location": "http://localhost:1/evil.json"}))
        with pytest.raises(RegistryError, match="source host localhost is not in allowlist"):
            install(
                server.url("/r"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                sleep=_no_sleep,
            )


def test_redirect_within_the_allowlist_is_followed(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    with serving() as server:
        server.add("/old", (301, b"", {"Location": "/new"}))
        server.add("/new", (200, source.read_bytes()))
        result = install(
            server.url("/old"),
            key=signer.key,
            cache_dir=str(tmp_path / "c"),
            allow_hosts="127.0.0.1",
            allow_insecure_http=True,
        )
    assert result.digest == digest


def test_cached_fallback_needs_the_flag_and_a_pin(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest())
    cache = tmp_path / "cache"
    installed = install(str(source), key=signer.key, cache_dir=str(cache))
    with serving() as server:
        url = server.url("/gone")  # 404: a permanent failure
        common = {
            "key": signer.key,
            "cache_dir": str(cache),
            "allow_hosts": "127.0.0.1",
            "allow_insecure_http": True,
            "sleep": _no_sleep,
        }
        with pytest.raises(RegistryError, match=r"^download source: unexpected status 404$"):
            install(url, pin="sha256:" + digest, **common)  # type: ignore[arg-type]
        with pytest.raises(RegistryError) as info:
            install(url, allow_cached_fallback=True, **common)  # type: ignore[arg-type]
        assert info.value.message == (
            "remote fetch failed: download source: unexpected status 404; "
            "cached fallback failed: cached fallback requires --pin sha256:<digest>"
        )
        with pytest.raises(RegistryError, match="no cached manifest found for digest " + "c" * 64):
            install(url, allow_cached_fallback=True, pin="c" * 64, **common)  # type: ignore[arg-type]
        result = install(url, allow_cached_fallback=True, pin="sha256:" + digest, **common)  # type: ignore[arg-type]
    assert result.fallback_used and result.fallback_path == installed.metadata_path
    assert result.digest == digest


def test_local_sources_never_use_the_cached_fallback(signer: Signer, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="read source file"):
        install(
            str(tmp_path / "nope.json"),
            key=signer.key,
            cache_dir=str(tmp_path),
            allow_cached_fallback=True,
            pin="a" * 64,
        )


def test_connection_refused_is_transient(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        url = server.url("/p")
    delays: list[float] = []  # the server is stopped: its port now refuses connections
    with pytest.raises(RegistryError, match="connection refused"):
        install(
            url,
            key=signer.key,
            cache_dir=str(tmp_path / "c"),
            allow_hosts="127.0.0.1",
            allow_insecure_http=True,
            attempts=3,
            base_delay=0.001,
            sleep=delays.append,
        )
    assert len(delays) == 2


def test_retry_delay_doubles_with_a_capped_step() -> None:
    assert retry_delay(0.2, 1) == pytest.approx(0.225)
    assert retry_delay(0.2, 2) == pytest.approx(0.45)
    assert retry_delay(0.1, 5) == pytest.approx(1.6 + 0.1)


# --- list and verify --------------------------------------------------------------------


def test_list_missing_cache_is_empty(tmp_path: Path) -> None:
    assert list_packs(str(tmp_path / "missing")) == []


def test_list_sorts_and_skips_broken_entries(signer: Signer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    digests = {}
    for name, version in (("zeta", "1.0.0"), ("alpha", "2.0.0"), ("alpha", "1.0.0")):
        source, digests[(name, version)] = signer.write(
            base_manifest(name, version), f"{name}{version}.json"
        )
        install(str(source), key=signer.key, cache_dir=str(cache))
    broken = cache / "alpha" / "3.0.0" / ("d" * 64)
    broken.mkdir(parents=True)
    (broken / "registry_pack.json").write_text("{not json")
    (cache / "pins" / "zeta.pin").write_text("sha256:" + "f" * 64 + "\n")
    packs = list_packs(str(cache))
    assert [(p["pack_name"], p["pack_version"]) for p in packs] == [
        ("alpha", "1.0.0"),
        ("alpha", "2.0.0"),
        ("zeta", "1.0.0"),
    ]
    zeta = packs[2]
    assert zeta["pin_verified"] is False and zeta["pin_digest"] == "sha256:" + "f" * 64
    # the pin names one digest per pack: only the last installed alpha matches it
    assert [p["pin_verified"] for p in packs[:2]] == [True, False]


def test_verify_reports_pin_signature_and_publisher(signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest() | {"publisher": "acme", "source": "registry"})
    cache = tmp_path / "cache"
    installed = install(str(source), key=signer.key, cache_dir=str(cache))
    good = verify_manifest(installed.metadata_path, key=signer.key)
    assert good.passed(False) and good.pin_present and good.pin_verified
    assert good.pin_path == str(cache / "pins" / "baseline-highrisk.pin")  # inferred cache
    assert (good.publisher, good.source, good.publisher_allowed) == ("acme", "registry", True)

    other = Signer(_folder(tmp_path / "other"))
    bad_key = verify_manifest(installed.metadata_path, key=other.key, cache_dir=str(cache))
    assert not bad_key.signature_verified and "no valid signature" in bad_key.signature_error

    denied = verify_manifest(installed.metadata_path, key=signer.key, publisher_allowlist="other")
    assert not denied.publisher_allowed and not denied.passed(True)
    assert denied.signature_error == "manifest publisher acme is not in allowlist"

    Path(installed.pin_path).write_text("sha256:" + "e" * 64)
    mismatch = verify_manifest(installed.metadata_path, key=signer.key, cache_dir=str(cache))
    assert mismatch.pin_present and not mismatch.pin_verified and not mismatch.passed(False)
    assert mismatch.digest == digest


def test_verify_outside_a_cache_has_no_pin(signer: Signer) -> None:
    source, _ = signer.write(base_manifest())
    result = verify_manifest(str(source), key=signer.key)
    assert result.pin_path == "" and not result.pin_present and result.passed(False)


def test_verify_missing_file(signer: Signer, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="read metadata file: open"):
        verify_manifest(str(tmp_path / "missing.json"), key=signer.key)
    with pytest.raises(RegistryError, match="metadata path is required"):
        verify_manifest(" ", key=signer.key)


def test_a_slow_server_times_out_and_is_retried(signer: Signer, tmp_path: Path) -> None:
    with serving() as server:
        server.add("/slow", (200, b"{}", {"X-Test-Delay": "0.6"}))
        with pytest.raises(RegistryError, match=r"download source: .*timeout"):
            install(
                server.url("/slow"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                attempts=2,
                sleep=_no_sleep,
                timeout=0.2,
            )
        assert server.hits["/slow"] == 2


def test_a_truncated_body_is_retried(signer: Signer, tmp_path: Path) -> None:
    source, _ = signer.write(base_manifest())
    with serving() as server:
        body = source.read_bytes()
        server.add("/cut", (200, body[:10], {"Content-Length-Override": str(len(body))}))
        with pytest.raises(RegistryError, match="unexpected EOF"):
            install(
                server.url("/cut"),
                key=signer.key,
                cache_dir=str(tmp_path / "c"),
                allow_hosts="127.0.0.1",
                allow_insecure_http=True,
                attempts=2,
                sleep=_no_sleep,
            )
        assert server.hits["/cut"] == 2


def test_empty_manifest_file(signer: Signer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(
        RegistryError, match=r"^parse registry manifest: unexpected end of JSON input$"
    ):
        install(str(empty), key=signer.key, cache_dir=str(tmp_path / "c"))


def test_https_source_with_a_trusted_certificate(
    signer: Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_cert(tmp_path)
    source, digest = signer.write(base_manifest())
    with serving_tls(cert, key) as server:
        server.add("/pack.json", (200, source.read_bytes()))
        url = https_url(server, "/pack.json")
        common = {"key": signer.key, "allow_hosts": "127.0.0.1", "sleep": _no_sleep}
        # the certificate is not trusted yet: refused
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
        with pytest.raises(RegistryError, match=r"download source: .*(?i:certificate)"):
            install(url, cache_dir=str(tmp_path / "c1"), **common)  # type: ignore[arg-type]
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        result = install(url, cache_dir=str(tmp_path / "c2"), **common)  # type: ignore[arg-type]
    assert result.digest == digest
