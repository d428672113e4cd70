"""Shared helpers for registry tests: signed manifests and a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gait.registry.manifest import parse_manifest, signable_digest
from gait.signing import KeyPair, encode_public_key, generate_keypair, sign_digest


def base_manifest(name: str = "baseline-highrisk", version: str = "1.1.0") -> dict[str, Any]:
    return {
        "schema_id": "gait.registry.pack",
        "schema_version": "1.0.0",
        "created_at": "2026-01-01T00:00:00Z",
        "producer_version": "0.0.0-dev",
        "pack_name": name,
        "pack_version": version,
        "artifacts": [{"path": "policy.yaml", "sha256": "a" * 64}],
    }


def signed(manifest: dict[str, Any], key: KeyPair) -> tuple[dict[str, Any], str]:
    """``manifest`` with a signature over its digest, and that digest."""
    digest = signable_digest(parse_manifest(json.dumps(manifest).encode()))
    out = dict(manifest)
    out["signatures"] = [sign_digest(key, digest)]
    return out, digest


class Signer:
    """A key pair with its public key written to a file, plus manifest writers."""

    def __init__(self, directory: Path) -> None:
        self.key = generate_keypair()
        self.directory = directory
        self.public_key_path = directory / f"public_{self.key.key_id[:8]}.key"
        self.public_key_path.write_text(encode_public_key(self.key))

    def write(self, manifest: dict[str, Any], name: str = "manifest.json") -> tuple[Path, str]:
        data, digest = signed(manifest, self.key)
        path = self.directory / name
        path.write_text(json.dumps(data))
        return path, digest


class Server:
    """A loopback HTTP server answering from a script of ``(status, body)`` per path."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                script = outer.routes.get(self.path) or [(404, b"missing", {})]
                status, body, headers = script[0] if len(script) == 1 else script.pop(0)
                if "X-Test-Delay" in headers:  # answer late, to exercise client timeouts
                    time.sleep(float(headers["X-Test-Delay"]))
                self.send_response(status)
                for name, value in headers.items():
                    if not name.startswith(("X-Test-", "Content-Length-Override")):
                        self.send_header(name, value)
                length = headers.get("Content-Length-Override", str(len(body)))
                self.send_header("Content-Length", length)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, *responses: tuple[int, bytes] | tuple[int, bytes, dict[str, str]]):
        self.routes[path] = [r if len(r) == 3 else (r[0], r[1], {}) for r in responses]  # type: ignore[misc]


@contextmanager
def serving() -> Iterator[Server]:
    server = Server()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serving_tls(cert: Path, key: Path) -> Iterator[Server]:
    """Like :func:`serving`, over TLS with the given certificate."""
    import ssl

    server = Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


def https_url(server: Server, path: str) -> str:
    return f"https://127.0.0.1:{server.port}{path}"
