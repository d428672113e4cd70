"""Raw key bytes come without the serialization package, and match its Raw encoding."""

from __future__ import annotations

import subprocess
import sys

from gait.signing.keys import _raw_seed, generate_keypair


def test_raw_bytes_match_the_serialization_encoding() -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    for _ in range(20):
        pair = generate_keypair()
        assert pair.private is not None
        assert pair.public_bytes == pair.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert _raw_seed(pair.private) == pair.private.private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )


def test_signing_does_not_import_serialization() -> None:
    code = (
        "import sys; from gait.signing.keys import generate_keypair, _raw_seed; "
        "p = generate_keypair(); p.public_bytes; _raw_seed(p.private); "
        "print('cryptography.hazmat.primitives.serialization' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
