"""gait.signing.keys.prime_backend: a throwaway Ed25519 round trip, nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_prime_backend_touches_no_file_and_keys_still_work(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "from gait.signing.keys import generate_keypair, prime_backend\n"
        "prime_backend()\n"
        "pair = generate_keypair()\n"
        "print(sorted(os.listdir('.')), len(pair.key_id) > 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIT_")}
    env["HOME"] = str(tmp_path)  # a dev key written anywhere would show up here
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert out == "[] True"
