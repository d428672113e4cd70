"""The warm start server of the hot commands (gait.cli.warm, gait.cli.warmd).

Real processes throughout: the installed ``gait`` client, the daemon it starts
in a private socket folder, and the forked children that run the commands.
Every test's daemon is stopped by its fixture (``gait warm stop``, then by pid).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "policy"


def gait_argv() -> list[str]:
    """The installed console script (its sys.path does not depend on the cwd), else -m."""
    script = Path(sys.executable).parent / "gait"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gait.cli.main"]


_SNAPSHOT: list[Path] = []


def snapshot() -> Path:
    """A private copy of the gait package, first on PYTHONPATH of every run here.

    A daemon exits when a module file it loaded changes; other work on the
    checkout while these tests run must not turn a warm run into a cold one.
    """
    if not _SNAPSHOT:
        root = Path(tempfile.mkdtemp(prefix="gwpkg"))
        ignore = shutil.ignore_patterns("*-pytest-*.pyc")
        shutil.copytree(REPO / "gait", root / "gait", ignore=ignore)
        _SNAPSHOT.append(root)
    return _SNAPSHOT[0]


@pytest.fixture(scope="module", autouse=True)
def _snapshot_removed() -> Iterator[None]:
    yield
    while _SNAPSHOT:
        shutil.rmtree(_SNAPSHOT.pop(), ignore_errors=True)


class Warm:
    """A private warm start folder and the environment that uses it."""

    def __init__(self, package: Path | None = None) -> None:
        # A short path: AF_UNIX socket paths are limited to ~100 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="gw", dir="/tmp"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GAIT_WARM")}
        self.env.update(GAIT_WARM="1", GAIT_WARM_DIR=str(self.dir), GAIT_WARM_IDLE="120")
        self.package = package or snapshot()
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.package), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.cold_env = {**self.env, "GAIT_WARM": "0"}

    def run(
        self,
        *args: str,
        cwd: Path,
        warm: bool = True,
        env: dict[str, str] | None = None,
        stdout: object = subprocess.PIPE,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[bytes]:
        base = self.env if warm else self.cold_env
        return subprocess.run(
            [*gait_argv(), *args],
            cwd=cwd,
            env={**base, **(env or {})},
            stdout=stdout,  # type: ignore[arg-type]
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )

    def status(self, env: dict[str, str] | None = None) -> dict:
        proc = self.run("warm", "status", "--json", cwd=self.dir, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def current(self, env: dict[str, str] | None = None) -> dict | None:
        """The running server of the CLI's own key, if it answers."""
        for server in self.status(env)["servers"]:
            if server["current"] and server["answers"]:
                return server
        return None

    def start(self, cwd: Path, env: dict[str, str] | None = None, limit: float = 60) -> dict:
        """Start the daemon (one eligible call spawns it) and wait until it answers."""
        probe = str(EXAMPLES / "intents" / "intent_read.json")
        self.run("policy", "test", str(EXAMPLES / "base_low_risk.yaml"), probe, cwd=cwd, env=env)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            server = self.current(env)
            if server is not None:
                return server
            time.sleep(0.1)
        raise AssertionError(f"warm daemon did not start in {limit} s: {self.status(env)}")

    def pids(self) -> list[int]:
        out = []
        for server in self.status()["servers"]:
            if server.get("pid"):
                out.append(server["pid"])
        return out

    def stop(self) -> None:
        """Stop every daemon of this folder (Q requests), then make sure by pid."""
        pids = self.pids()
        self.run("warm", "stop", "--json", cwd=self.dir)
        for pid in pids:
            wait_gone(pid, 5, kill=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, limit: float, *, kill: bool = False) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return not alive(pid)


@pytest.fixture
def warm() -> Iterator[Warm]:
    folder = Warm()
    try:
        yield folder
    finally:
        folder.stop()


@pytest.fixture(scope="module")
def shared_warm() -> Iterator[Warm]:
    folder = Warm()
    try:
        yield folder
    finally:
        folder.stop()


# -- parity: the same bytes, codes and files cold and warm ---------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs under relative names: policies, intents, keys, a signed trace, runpacks."""
    root = tmp_path_factory.mktemp("warm-base")
    for name in ("base_high_risk.yaml", "base_low_risk.yaml"):
        shutil.copy(EXAMPLES / name, root / name)
    for intent in (EXAMPLES / "intents").glob("*.json"):
        shutil.copy(intent, root / intent.name)
    (root / "garbage.json").write_text("{not json")
    (root / "bad_policy.yaml").write_text("rules:\n  - name: [unclosed\n")
    off = Warm()
    try:
        for args in (
            ("demo",),
            ("keys", "init", "--out-dir", ".", "--prefix", "k"),
            (
                "gate",
                "eval",
                "--policy",
                "base_high_risk.yaml",
                "--intent",
                "intent_read.json",
                "--key-mode",
                "prod",
                "--private-key",
                "k_private.key",
                "--trace-out",
                "signed.json",
            ),
        ):
            proc = off.run(*args, cwd=root, warm=False)
            assert proc.returncode in (0, 3, 4), proc.stderr
    finally:
        shutil.rmtree(off.dir, ignore_errors=True)
    text = (root / "signed.json").read_text()
    tampered = text.replace('"tool_name": "', '"tool_name": "x', 1)
    assert tampered != text
    (root / "tampered.json").write_text(tampered)
    pack = root / "gait-out" / "runpack_run_demo.zip"
    data = bytearray(pack.read_bytes())
    data[len(data) // 3] ^= 0x01
    (root / "flipped.zip").write_bytes(bytes(data))
    for stray in root.glob("trace_*.json"):
        stray.unlink()
    return root


HIGH, LOW = "base_high_risk.yaml", "base_low_risk.yaml"
PROD = ("--key-mode", "prod", "--private-key", "k_private.key")
PACK = "gait-out/runpack_run_demo.zip"
# (argv, extra env): every spelling a user runs, all exit codes of the hot commands.
CORPUS: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("policy", "test", HIGH, "intent_delete.json"), {}),
    (("policy", "test", HIGH, "intent_delete.json", "--json"), {}),
    (("policy", "test", LOW, "intent_read.json", "--json"), {}),
    (("policy", "test", HIGH, "intent_write.json", "--why"), {}),
    (("policy", "test", HIGH, "intent_tainted_egress.json", "--json", "--why"), {}),
    (("policy", "test", HIGH, "garbage.json", "--json"), {}),
    (("policy", "test", HIGH, "missing.json"), {}),
    (("policy", "test", "bad_policy.yaml", "intent_read.json", "--json"), {}),
    (("gate", "eval", "--policy", HIGH, "--intent", "intent_read.json", *PROD, "--json"), {}),
    (("gate", "eval", "--policy", HIGH, "--intent", "intent_delete.json", *PROD), {}),
    (("gate", "eval", "--policy", HIGH, "--intent", "intent_write.json", *PROD, "--json"), {}),
    (
        (
            "gate",
            "eval",
            "--policy",
            HIGH,
            "--intent",
            "intent_delete.json",
            "--simulate",
            *PROD,
            "--json",
        ),
        {},
    ),
    (
        (
            "gate",
            "eval",
            "--policy",
            HIGH,
            "--intent",
            "intent_tainted_egress.json",
            *PROD,
            "--why",
            "--json",
        ),
        {},
    ),
    (
        (
            "gate",
            "eval",
            "--policy",
            HIGH,
            "--intent",
            "intent_read.json",
            *PROD,
            "--trace-out",
            "out/trace.json",
            "--json",
        ),
        {},
    ),
    (("gate", "eval", HIGH, "intent_write.json", *PROD, "--trace-out", "t.json"), {}),
    (
        (
            "gate",
            "eval",
            "--policy",
            HIGH,
            "--intent",
            "intent_read.json",
            "--key-mode",
            "prod",
            "--private-key-env",
            "WARM_TEST_KEY",
            "--json",
        ),
        {"WARM_TEST_KEY": "@k_private.key"},
    ),
    (("gate", "eval", "--policy", HIGH, "--intent", "garbage.json", *PROD, "--json"), {}),
    (("gate", "eval", "--policy", "bad_policy.yaml", "--intent", "intent_read.json", *PROD), {}),
    (("gate", "eval", "--policy", HIGH, "--intent", "missing.json", *PROD, "--json"), {}),
    (("verify", PACK), {}),
    (("verify", PACK, "--json"), {}),
    (("verify", PACK, "--require-signature", "--json"), {}),
    (("verify", "flipped.zip", "--json"), {}),
    (("verify", "flipped.zip"), {}),
    (("verify", "run_that_does_not_exist", "--json"), {}),
    (("trace", "verify", "signed.json", "--public-key", "k_public.key"), {}),
    (("trace", "verify", "signed.json", "--public-key", "k_public.key", "--json"), {}),
    (("trace", "verify", "tampered.json", "--public-key", "k_public.key", "--json"), {}),
    (("trace", "verify", "garbage.json", "--public-key", "k_public.key"), {}),
    (("trace", "verify", "signed.json", "--private-key", "k_private.key", "--json"), {}),
]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


_VARYING = re.compile(
    rb'"(created_at|observed_at|signature|sig|signed_digest|event_id|trace_id|trace_path|timestamp|issued_at)"'
    rb':\s*"[^"]*"'
)
_NUMBERS = re.compile(rb'"(latency_ms|duration_ms|elapsed_ms)":\s*[0-9.eE+-]+')
_TIMES = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_TRACE_NAMES = re.compile(rb"trace_[0-9a-f]+(_\d+)?\.json")


def normalize(data: bytes) -> bytes:
    """Blank what differs between any two cold runs: times, and ids and signatures over them."""
    data = _VARYING.sub(lambda m: b'"' + m.group(1) + b'":"*"', data)
    data = _NUMBERS.sub(lambda m: b'"' + m.group(1) + b'":0', data)
    data = _TIMES.sub(b"<time>", data)
    return _TRACE_NAMES.sub(b"trace_*.json", data)


def _files(root: Path, before: dict[str, bytes]) -> dict[bytes, bytes]:
    after = _tree(root)
    return {
        normalize(name.encode()): normalize(data)
        for name, data in after.items()
        if before.get(name) != data
    }


def _outcome(proc: subprocess.CompletedProcess[bytes]) -> tuple[int, bytes, bytes]:
    return proc.returncode, normalize(proc.stdout), normalize(proc.stderr)


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 25
    codes = {args[0] for args, _ in CORPUS}
    assert codes == {"policy", "gate", "verify", "trace"}


def test_parity_cold_and_warm(base: Path, shared_warm: Warm, tmp_path: Path) -> None:
    """Every corpus invocation: the same exit code, stdout, stderr and files, cold and warm."""
    start = shared_warm.start(base)
    served = start["served"]
    codes = set()
    for n, (args, env) in enumerate(CORPUS):
        runs = {}
        for mode in ("cold", "cold2", "warm"):
            work = tmp_path / f"{n}-{mode}"
            shutil.copytree(base, work)
            before = _tree(work)
            proc = shared_warm.run(*args, cwd=work, warm=mode == "warm", env=env)
            runs[mode] = (_outcome(proc), _files(work, before))
        assert runs["cold"] == runs["cold2"], f"cold runs differ beyond normalization: {args}"
        assert runs["warm"] == runs["cold"], f"warm differs from cold: {args}"
        codes.add(runs["warm"][0][0])
    assert {0, 2, 3, 4, 6} <= codes
    server = shared_warm.current()
    assert server is not None and server["pid"] == start["pid"]
    assert server["served"] == served + len(CORPUS)  # every warm run was served by the daemon
