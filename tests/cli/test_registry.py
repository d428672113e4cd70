"""``gait registry install|list|verify``: flags, JSON and text output, exit codes, report file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.signing import encode_private_key
from tests.registry.support import Signer, base_manifest, serving

from .conftest import run, run_json


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(tmp_path)


def _install(capsys: pytest.CaptureFixture[str], signer: Signer, source: Path, cache: Path):  # type: ignore[no-untyped-def]
    return run_json(
        capsys,
        "registry",
        "install",
        "--source",
        str(source),
        "--cache-dir",
        str(cache),
        "--public-key",
        str(signer.public_key_path),
    )


def test_install_list_verify_round_trip(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    source, digest = signer.write(base_manifest() | {"publisher": "Acme", "source": "registry"})
    cache = tmp_path / "cache"
    code, out = _install(capsys, signer, source, cache)
    metadata = cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json"
    pin = cache / "pins" / "baseline-highrisk.pin"
    assert code == 0
    assert {k: v for k, v in out.items() if k != "correlation_id"} == {
        "ok": True,
        "source": str(source),
        "pack_name": "baseline-highrisk",
        "pack_version": "1.1.0",
        "digest": digest,
        "publisher": "acme",
        "pack_source": "registry",
        "metadata_path": str(metadata),
        "pin_path": str(pin),
    }

    code, listed = run_json(capsys, "registry", "list", "--cache-dir", str(cache))
    assert code == 0
    assert listed["packs"] == [
        {
            "pack_name": "baseline-highrisk",
            "pack_version": "1.1.0",
            "digest": digest,
            "metadata_path": str(metadata),
            "pin_path": str(pin),
            "pin_digest": "sha256:" + digest,
            "pin_verified": True,
        }
    ]

    code, verified = run_json(
        capsys, "registry", "verify", str(metadata), "--public-key", str(signer.public_key_path)
    )
    assert code == 0
    assert {k: v for k, v in verified.items() if k != "correlation_id"} == {
        "ok": True,
        "pack_name": "baseline-highrisk",
        "pack_version": "1.1.0",
        "digest": digest,
        "metadata_path": str(metadata),
        "pin_path": str(pin),
        "pin_digest": "sha256:" + digest,
        "pin_present": True,
        "pin_verified": True,
        "signature_verified": True,
        "publisher": "acme",
        "pack_source": "registry",
        "publisher_allowed": True,
    }


def test_text_output(capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path) -> None:
    source, digest = signer.write(base_manifest() | {"publisher": "acme", "source": "r"})
    cache = tmp_path / "cache"
    key = str(signer.public_key_path)
    code, out, _ = run(
        capsys, "registry", "install", str(source), "--cache-dir", str(cache), "--public-key", key
    )
    assert code == 0
    assert out.splitlines() == [
        "registry install ok: baseline-highrisk@1.1.0",
        f"digest: sha256:{digest}",
    ]
    code, out, _ = run(capsys, "registry", "list", "--cache-dir", str(cache))
    assert out.splitlines() == [
        "registry list ok: 1 packs",
        f"- baseline-highrisk@1.1.0 sha256:{digest}",
    ]
    metadata = cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json"
    report = tmp_path / "reports" / "verify.json"
    code, out, _ = run(
        capsys, "registry", "verify", "--path", str(metadata), "--public-key", key,
        "--report-out", str(report),
    )  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        f"registry verify ok: baseline-highrisk@1.1.0 sha256:{digest}",
        "publisher: acme",
        f"report: {report}",
    ]
    code, out, _ = run(capsys, "registry", "list", "--cache-dir", str(tmp_path / "none"))
    assert (code, out) == (0, "registry list ok: 0 packs\n")


def test_empty_list_omits_packs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run_json(capsys, "registry", "list", "--cache-dir", str(tmp_path / "none"))
    assert code == 0 and out["ok"] is True and "packs" not in out


def test_install_failures_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    source, _ = signer.write(base_manifest())
    code, out = run_json(
        capsys, "registry", "install", "--source", str(source), "--cache-dir", str(tmp_path / "c"),
        "--public-key", str(signer.public_key_path), "--pin", "sha256:" + "0" * 64,
    )  # fmt: skip
    assert code == 2
    assert out["ok"] is False and out["error"] == "pin digest mismatch"
    assert out["error_code"] == "verification_failed"
    code, text, _ = run(
        capsys, "registry", "install", "--source", "https://example.com/p.json",
        "--public-key", str(signer.public_key_path), "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert code == 2
    assert text == "registry install error: remote source requires --allow-host\n"
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "expected --source <path|url>"),
        (["--source", "a.json", "b.json"], "expected --source <path|url>"),
        (["--source", "a.json"], "public key not configured"),
        (["a.json", "--retry-base-delay", "soon"], 'invalid value "soon" for flag'),
        (["a.json", "--retry-max-attempts", "many"], 'invalid value "many" for flag'),
    ],
)
def test_install_usage_errors_exit_6(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out = run_json(capsys, "registry", "install", *args)
    assert code == 6 and out["ok"] is False and message in out["error"]
    assert out["error_category"] == "invalid_input"


def test_install_accepts_a_private_key_env(
    capsys: pytest.CaptureFixture[str],
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, digest = signer.write(base_manifest())
    monkeypatch.setenv("REG_PRIV", encode_private_key(signer.key))
    code, out = run_json(
        capsys, "registry", "install", "-source", str(source), "--cache-dir", str(tmp_path / "c"),
        "--private-key-env", "REG_PRIV",
    )  # fmt: skip
    assert code == 0 and out["digest"] == digest


def test_remote_install_with_retries_over_loopback(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    source, digest = signer.write(base_manifest())
    with serving() as server:
        server.add("/p.json", (503, b"busy"), (200, source.read_bytes()))
        code, out = run_json(
            capsys, "registry", "install", "--source", server.url("/p.json"),
            "--allow-host", "127.0.0.1", "--allow-insecure-http", "--retry-base-delay", "1ms",
            "--cache-dir", str(tmp_path / "c"), "--public-key", str(signer.public_key_path),
        )  # fmt: skip
        assert server.hits["/p.json"] == 2
    assert code == 0 and out["digest"] == digest and out["source"] == server.url("/p.json")


def test_cached_fallback_is_reported(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    source, digest = signer.write(base_manifest())
    cache = tmp_path / "cache"
    assert _install(capsys, signer, source, cache)[0] == 0
    with serving() as server:
        url = server.url("/missing.json")
        code, out, _ = run(
            capsys, "registry", "install", url, "--allow-host", "127.0.0.1",
            "--allow-insecure-http", "--allow-cached-fallback", "--pin", "sha256:" + digest,
            "--cache-dir", str(cache), "--public-key", str(signer.public_key_path),
        )  # fmt: skip
    cached = cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json"
    assert code == 0
    assert out.splitlines()[-1] == f"fallback: cached manifest {cached}"


def test_verify_failures(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    source, digest = signer.write(base_manifest() | {"publisher": "acme"})
    cache = tmp_path / "cache"
    _install(capsys, signer, source, cache)
    metadata = str(cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json")
    other = Signer(_folder(tmp_path / "other"))

    code, out = run_json(
        capsys, "registry", "verify", metadata, "--public-key", str(other.public_key_path)
    )
    assert code == 2 and out["ok"] is False
    assert out["signature_error"] == "no valid signature for manifest digest"
    assert "signature_verified" not in out and "error" not in out

    code, text, _ = run(
        capsys, "registry", "verify", metadata, "--public-key", str(signer.public_key_path),
        "--publisher-allowlist", "other",
    )  # fmt: skip
    assert (code, text) == (
        2,
        "registry verify failed: manifest publisher acme is not in allowlist\n",
    )

    (cache / "pins" / "baseline-highrisk.pin").write_text("sha256:" + "e" * 64 + "\n")
    code, text, _ = run(
        capsys, "registry", "verify", metadata, "--public-key", str(signer.public_key_path)
    )
    assert (code, text) == (2, "registry verify failed: pin mismatch for baseline-highrisk\n")


def test_verify_report_file(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    from gait import PRODUCER_VERSION

    source, digest = signer.write(base_manifest() | {"publisher": "acme", "source": "registry"})
    cache = tmp_path / "cache"
    _install(capsys, signer, source, cache)
    metadata = str(cache / "baseline-highrisk" / "1.1.0" / digest / "registry_pack.json")
    (cache / "pins" / "baseline-highrisk.pin").write_text("sha256:" + "e" * 64)
    report = tmp_path / "out" / "report.json"
    code, out = run_json(
        capsys, "registry", "verify", "--path", metadata, "--public-key",
        str(signer.public_key_path), "--publisher-allowlist", "other", "--report-out", str(report),
    )  # fmt: skip
    assert code == 2 and out["report_path"] == str(report)
    raw = report.read_text()
    assert raw.endswith("}\n") and raw.startswith(
        '{\n  "schema_id": "gait.registry.verification_report",'
    )
    assert list(json.loads(raw)) == [
        "schema_id", "schema_version", "created_at", "producer_version", "pack_name",
        "pack_version", "digest", "metadata_path", "pin_path", "pin_digest", "pin_present",
        "pin_verified", "signature_verified", "publisher", "source", "publisher_allowed",
        "status", "failure_reasons",
    ]  # fmt: skip
    data = json.loads(raw)
    assert data["created_at"] == "1980-01-01T00:00:00Z"
    assert data["producer_version"] == PRODUCER_VERSION
    assert (data["status"], data["failure_reasons"]) == (
        "fail",
        ["pin_mismatch", "publisher_not_allowed"],
    )
    assert data["signature_verified"] is True and data["publisher_allowed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "expected --path <registry_pack.json>"),
        (["--path", "a.json", "b.json"], "expected --path <registry_pack.json>"),
        (["a.json"], "public key not configured"),
    ],
)
def test_verify_usage_errors_exit_6(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out = run_json(capsys, "registry", "verify", *args)
    assert code == 6 and message in out["error"]


def test_verify_unreadable_manifest_exits_6(
    capsys: pytest.CaptureFixture[str], signer: Signer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_id": "other"}')
    key = str(signer.public_key_path)
    code, out = run_json(capsys, "registry", "verify", str(bad), "--public-key", key)
    assert code == 6 and out["error"] == 'unsupported schema_id "other"'
    code, text, _ = run(
        capsys, "registry", "verify", str(tmp_path / "nope.json"), "--public-key", key
    )
    assert code == 6 and text.startswith("registry verify error: read metadata file: open ")


def test_list_rejects_positional_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "registry", "list", "extra")
    assert code == 6 and out["error"] == "unexpected positional arguments"


def test_group_usage_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "registry")
    assert code == 6
    code, _, _ = run(capsys, "registry", "unknown")
    assert code == 6
    code, out, _ = run(capsys, "registry", "install", "--explain")
    assert code == 0 and "registry" in out and len(out.splitlines()) == 1
    code, out, _ = run(capsys, "registry", "verify", "--help")
    assert code == 0 and "--report-out" in out and "--publisher-allowlist" in out


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_relative_cache_paths_are_reported_clean(
    capsys: pytest.CaptureFixture[str],
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, digest = signer.write(base_manifest())
    monkeypatch.chdir(tmp_path)
    code, out = run_json(
        capsys, "registry", "install", source.name, "--cache-dir", "./",
        "--public-key", signer.public_key_path.name,
    )  # fmt: skip
    assert code == 0
    assert out["metadata_path"] == f"baseline-highrisk/1.1.0/{digest}/registry_pack.json"
    assert out["pin_path"] == "pins/baseline-highrisk.pin"
    code, verified = run_json(
        capsys, "registry", "verify", out["metadata_path"], "--public-key",
        signer.public_key_path.name,
    )  # fmt: skip
    assert code == 0 and verified["pin_path"] == "pins/baseline-highrisk.pin"
