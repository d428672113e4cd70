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
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the warm start server is Linux-only"
)

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
        proc = self.run("warm", "status", "--json", cwd=Path("/"), env=env)
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
        self.run("warm", "stop", "--json", cwd=Path("/"))
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
        {"WARM_TEST_KEY": "<k_private.key>"},
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


def _env(env: dict[str, str], base: Path) -> dict[str, str]:
    """``<name>`` values stand for the text of that file in the base folder."""
    out = {}
    for name, value in env.items():
        if value.startswith("<") and value.endswith(">"):
            value = (base / value[1:-1]).read_text().strip()
        out[name] = value
    return out


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
    report = tmp_path / "modules.txt"
    codes = set()
    for n, (args, env) in enumerate(CORPUS):
        runs = {}
        # twice cold where runs write files: what differs there must be normalized away
        modes = ("cold", "cold2", "warm") if args[0] == "gate" else ("cold", "warm")
        for mode in modes:
            work = tmp_path / f"{n}-{mode}"
            shutil.copytree(base, work)
            before = _tree(work)
            run_env = _env(env, base)
            if mode == "warm":
                run_env["GAIT_WARM_TEST_MODULES"] = str(report)
            proc = shared_warm.run(*args, cwd=work, warm=mode == "warm", env=run_env)
            runs[mode] = (_outcome(proc), _files(work, before))
        assert runs.get("cold2", runs["cold"]) == runs["cold"], f"cold runs differ: {args}"
        assert runs["warm"] == runs["cold"], f"warm differs from cold: {args}"
        codes.add(runs["warm"][0][0])
    assert {0, 2, 3, 4, 6} <= codes
    server = shared_warm.current()
    assert server is not None and server["pid"] == start["pid"]
    assert server["served"] == served + len(CORPUS)  # every warm run was served by the daemon
    # The daemon preloads every module the hot commands use, so a child imports none.
    lines = report.read_text().splitlines()
    assert len(lines) == len(CORPUS)  # each warm child wrote its line
    loaded = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert {k: v for k, v in loaded.items() if v} == {}


# -- passthrough: env, cwd, umask, stdout to a file ----------------------------


def test_env_changes_between_warm_calls(base: Path, shared_warm: Warm, tmp_path: Path) -> None:
    server = shared_warm.start(base)
    args = ("gate", "eval", "--policy", HIGH, "--intent", "intent_read.json", "--key-mode", "prod")
    args += ("--private-key-env", "WARM_TEST_KEY", "--json")
    shutil.copytree(base, tmp_path / "w")
    with_key = shared_warm.run(
        *args, cwd=tmp_path / "w", env=_env({"WARM_TEST_KEY": "<k_private.key>"}, base)
    )
    without = shared_warm.run(*args, cwd=tmp_path / "w")
    assert with_key.returncode == 0, with_key.stdout
    assert without.returncode == 6
    assert b"WARM_TEST_KEY" in without.stdout
    after = shared_warm.current()
    assert after is not None and after["served"] == server["served"] + 2


def test_umask_and_stdout_file(base: Path, shared_warm: Warm, tmp_path: Path) -> None:
    """Files a warm child writes get the client's umask; its stdout may be a file."""
    shared_warm.start(base)
    args = ("gate", "eval", "--policy", HIGH, "--intent", "intent_write.json", *PROD)
    args += ("--trace-out", "out.json", "--json")
    results = {}
    for mode in ("cold", "warm"):
        work = tmp_path / mode
        shutil.copytree(base, work)
        with open(tmp_path / f"{mode}.stdout", "wb") as out:
            proc = subprocess.run(
                [*gait_argv(), *args],
                cwd=work,
                env=shared_warm.env if mode == "warm" else shared_warm.cold_env,
                stdout=out,
                stderr=subprocess.PIPE,
                umask=0o077,
                timeout=60,
                check=False,
            )
        written = normalize((tmp_path / f"{mode}.stdout").read_bytes())
        results[mode] = (proc.returncode, written, oct((work / "out.json").stat().st_mode))
    assert results["warm"] == results["cold"]
    assert results["warm"][2].endswith("600")
    assert results["warm"][1].startswith(b"{")


# -- when the warm path must not be used ---------------------------------------


def _policy_test_args() -> tuple[str, ...]:
    return (
        "policy",
        "test",
        str(EXAMPLES / HIGH),
        str(EXAMPLES / "intents" / "intent_delete.json"),
    )


def test_off_spawns_nothing(tmp_path: Path) -> None:
    folder = Warm()
    try:
        folder.dir.rmdir()
        for word in ("0", "off", "False", "no"):
            proc = folder.run(*_policy_test_args(), cwd=tmp_path, env={"GAIT_WARM": word})
            assert proc.returncode == 3
            assert b"verdict=block" in proc.stdout
        time.sleep(0.3)
        assert not folder.dir.exists()  # not even the folder
    finally:
        folder.stop()


@pytest.mark.parametrize("unsafe", ["world-writable", "symlink"])
def test_unsafe_folder_runs_cold(unsafe: str, tmp_path: Path) -> None:
    folder = Warm()
    try:
        if unsafe == "world-writable":
            folder.dir.chmod(0o777)
            env = None
        else:
            link = Path(str(folder.dir) + "l")
            link.symlink_to(folder.dir)
            env = {"GAIT_WARM_DIR": str(link)}
        for _ in range(2):
            proc = folder.run(*_policy_test_args(), cwd=tmp_path, env=env)
            assert proc.returncode == 3 and b"verdict=block" in proc.stdout
        time.sleep(0.5)
        assert list(folder.dir.iterdir()) == []  # no socket, no lock: nothing was started
        if unsafe == "world-writable":
            assert folder.dir.stat().st_mode & 0o777 == 0o777  # never "fixed" by gait
    finally:
        if unsafe == "symlink":
            Path(str(folder.dir) + "l").unlink()
        folder.stop()


def test_peer_of_another_uid_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon serves only its own uid (SO_PEERCRED); checked here with a faked getuid."""
    import socket

    from gait.cli import warm as client
    from gait.cli import warmd

    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert client.peer_uid(left) == os.getuid()
        daemon = warmd._Daemon("/nonexistent", "k", 1.0)
        right.sendall(b"".join(client.request(b"P", b"")))
        monkeypatch.setattr(warmd.os, "getuid", lambda: os.geteuid() + 1)
        assert daemon.handle(left) is True
        monkeypatch.undo()
        right.settimeout(1)
        left.shutdown(socket.SHUT_WR)
        assert right.recv(100) == b""  # no status for a stranger
        # the same request from our own uid is answered
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        right.sendall(b"".join(client.request(b"P", b"")))
        assert daemon.handle(left) is True
        right.settimeout(1)
        assert right.recv(100).startswith(f"P{os.getpid()} ".encode())


# -- concurrency, staleness, idle exit, signals, failures ----------------------


def test_sixteen_concurrent_warm_calls(base: Path, shared_warm: Warm, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server = shared_warm.start(base)
    args = ("gate", "eval", "--policy", HIGH, "--intent", "intent_delete.json", *PROD, "--json")
    reference_dir = tmp_path / "ref"
    shutil.copytree(base, reference_dir)
    reference = _outcome(shared_warm.run(*args, cwd=reference_dir, warm=False))
    assert reference[0] == 3

    def one(n: int) -> tuple[int, bytes, bytes]:
        work = tmp_path / f"c{n}"
        shutil.copytree(base, work)
        return _outcome(shared_warm.run(*args, cwd=work))

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(one, range(16)))
    assert outcomes == [reference] * 16
    time.sleep(0.2)  # the last children are reaped
    after = shared_warm.current()
    assert after is not None and after["pid"] == server["pid"]
    assert after["served"] == server["served"] + 16
    assert after["children_cpu_ms"] > server["children_cpu_ms"]  # reaped and accounted
    zombies = [
        line
        for pid in Path("/proc").iterdir()
        if pid.name.isdigit()
        for line in _proc_stat(pid)
        if line[1] == str(server["pid"]) and line[0] == "Z"
    ]
    assert zombies == []  # the daemon leaves no child unreaped


def _proc_stat(pid: Path) -> list[tuple[str, str]]:
    """(state, parent pid) of a process, or nothing if it is gone."""
    try:
        fields = (pid / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []
    return [(fields[0], fields[1])]


def test_stale_module_file_runs_cold_and_restarts(tmp_path: Path) -> None:
    """A loaded module file changed on disk: that call runs cold, the old daemon exits."""
    own = Path(tempfile.mkdtemp(prefix="gwstale"))
    shutil.copytree(snapshot() / "gait", own / "gait")
    folder = Warm(package=own)
    try:
        first = folder.start(tmp_path)
        module = own / "gait" / "cli" / "fast.py"
        stamp = module.stat().st_mtime_ns + 5_000_000_000
        os.utime(module, ns=(stamp, stamp))
        proc = folder.run(*_policy_test_args(), cwd=tmp_path)
        assert proc.returncode == 3 and b"verdict=block" in proc.stdout
        assert wait_gone(first["pid"], 10)
        second = folder.start(tmp_path)  # started again by the stale call (or this one)
        assert second["pid"] != first["pid"]
        warm_run = folder.run(*_policy_test_args(), cwd=tmp_path)
        assert warm_run.stdout == proc.stdout and warm_run.returncode == 3
        server = folder.current()
        assert server is not None and server["served"] == second["served"] + 1
    finally:
        folder.stop()
        shutil.rmtree(own, ignore_errors=True)


def test_idle_exit(tmp_path: Path) -> None:
    folder = Warm()
    try:
        folder.env["GAIT_WARM_IDLE"] = "1"
        server = folder.start(tmp_path)
        assert wait_gone(server["pid"], 15)
        assert not list(folder.dir.glob("*.sock"))  # it removed its socket
    finally:
        folder.stop()


def _wait_served(folder: Warm, count: int, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        server = folder.current()
        if server is not None and server["served"] >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the daemon did not fork a child in {limit} s")


def _no_reader(fifo: Path) -> bool:
    """Nobody has the FIFO open for reading (opening its write end fails with ENXIO)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return True
    os.close(fd)
    return False


FIFO_KEY = ("--key-mode", "prod", "--private-key")  # a FIFO key file: open() blocks


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_is_forwarded_to_the_child(
    signum: int, base: Path, shared_warm: Warm, tmp_path: Path
) -> None:
    """A warm command blocked on a FIFO: the client's signal ends the child as it ends cold."""
    results = {}
    for mode in ("cold", "warm"):
        server = shared_warm.start(base) if mode == "warm" else None
        fifo = tmp_path / f"{mode}.fifo"
        os.mkfifo(fifo)
        proc = subprocess.Popen(
            [*gait_argv(), "gate", "eval", HIGH, "intent_read.json", *FIFO_KEY, str(fifo)],
            env=shared_warm.env if mode == "warm" else shared_warm.cold_env,
            cwd=base,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            if server is not None:
                _wait_served(shared_warm, server["served"] + 1)  # the child exists
            time.sleep(1.0)  # and has reached the FIFO's open()
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        tail = err.strip().splitlines()[-1:] if signum == signal.SIGINT else []
        results[mode] = (proc.returncode, out, tail)
        deadline = time.monotonic() + 10
        while not _no_reader(fifo) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _no_reader(fifo), "the command is still blocked on the FIFO"
    assert results["warm"] == results["cold"]
    assert results["warm"][0] == -signum
    if signum == signal.SIGINT:
        assert results["warm"][2] == [b"KeyboardInterrupt"]


class FakeDaemon:
    """A socket at the CLI's own key that answers as told (a daemon dying, or stale)."""

    def __init__(self, path: Path, replies: list[bytes]) -> None:
        import socket
        import threading

        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.listener.settimeout(30)
        self.replies = replies
        self.got_go = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            data = b""
            while b"\x00" not in data:
                data += conn.recv(1 << 16)
            head, _, rest = data.partition(b"\x00")
            size = int(head[4:])
            while len(rest) < size:
                rest += conn.recv(1 << 16)
            for reply in self.replies:
                conn.sendall(reply)
                if reply.startswith(b"S") and reply.endswith(b"\n"):
                    self.got_go = (rest[size:] or conn.recv(1)) == b"G"

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


@pytest.mark.parametrize("replies", [[], [b"R\n"], [b"S12"]], ids=["closed", "stale", "partial"])
def test_daemon_gone_before_start_runs_cold(replies: list[bytes], tmp_path: Path) -> None:
    """Nothing has run until the child's S line: the client runs the command itself."""
    folder = Warm()
    try:
        key = folder.status()["key"]
        fake = FakeDaemon(folder.dir / f"{key}.sock", replies)
        try:
            proc = folder.run(*_policy_test_args(), cwd=tmp_path)
        finally:
            fake.close()
        cold = folder.run(*_policy_test_args(), cwd=tmp_path, warm=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (3, cold.stdout, cold.stderr)
        assert not fake.got_go
    finally:
        folder.stop()


@pytest.mark.parametrize("as_json", [False, True])
def test_child_dead_after_start_is_an_internal_error(as_json: bool, tmp_path: Path) -> None:
    """After S the command may have had effects: never re-run it, report the lost worker."""
    folder = Warm()
    try:
        key = folder.status()["key"]
        fake = FakeDaemon(folder.dir / f"{key}.sock", [b"S4242\n"])
        try:
            args = _policy_test_args() + (("--json",) if as_json else ())
            proc = folder.run(*args, cwd=tmp_path)
        finally:
            fake.close()
        assert fake.got_go
        assert proc.returncode == 1
        message = "internal error: warm worker 4242 ended without an exit status"
        if as_json:
            payload = json.loads(proc.stdout)
            assert payload["error"] == message and payload["ok"] is False
            assert payload["error_code"] == "internal_failure"
        else:
            assert proc.stdout == b""
            assert proc.stderr.decode() == f"gait: {message}\n"
    finally:
        folder.stop()


def test_daemon_holds_no_inherited_fd(tmp_path: Path) -> None:
    """A pipe the caller left inheritable reaches EOF although the daemon keeps running."""
    import select

    folder = Warm()
    read_end, write_end = os.pipe()
    try:
        os.set_inheritable(write_end, True)
        proc = subprocess.Popen(
            [*gait_argv(), *_policy_test_args()],
            cwd=tmp_path,
            env=folder.env,
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        write_end = -1
        assert proc.wait(timeout=60) == 3
        server = folder.start(tmp_path)  # the daemon that call spawned
        ready, _, _ = select.select([read_end], [], [], 20)
        assert ready and os.read(read_end, 1) == b""
        assert alive(server["pid"])
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
        folder.stop()


CLIENT_PROBE = r"""
import sys
sys.path[0] = sys.argv[1]  # the console script's own sys.path: the same warm key
out = sys.argv[2]
sys.argv = [sys.argv[1] + "/gait", *sys.argv[3:]]  # as the console script sees them
from gait.cli.main import _run
code = _run(sys.argv[1:])
heavy = {"msgspec", "cryptography", "click", "json", "typing", "yaml", "hashlib"}
with open(out, "w") as f:
    f.write(repr((code, sorted(heavy & set(sys.modules)))))
"""


def test_library_call_of_main_runs_in_process(
    base: Path, shared_warm: Warm, tmp_path: Path
) -> None:
    """main(argv) called by a program (not its own command line) is never sent to a worker."""
    server = shared_warm.start(base)
    code = (
        "import sys\nfrom gait.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "print(code, 'msgspec' in sys.modules)\n"
    )
    args = ["policy", "test", str(EXAMPLES / HIGH), str(EXAMPLES / "intents" / "intent_read.json")]
    proc = subprocess.run(
        [sys.executable, "-c", code.replace("sys.argv[1:]", repr(args)), "host", "argv"],
        env=shared_warm.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.decode().splitlines()[-1] == "0 True"  # ran here: msgspec loaded
    after = shared_warm.current()
    assert after is not None and after["served"] == server["served"]
    assert not any(
        p.name.endswith(".sock") and p.name[:-5] != server["key"] for p in shared_warm.dir.iterdir()
    )


def test_off_loads_no_socket_module(tmp_path: Path) -> None:
    """GAIT_WARM=0: the hot commands' cold path is as before (no socket, no digest of the key)."""
    probe = tmp_path / "probe.txt"
    code = (
        "import sys\nfrom gait.cli.main import main\n"
        "code = main(sys.argv[2:])\n"
        "open(sys.argv[1], 'w').write(repr((code, '_socket' in sys.modules)))\n"
    )
    args = ["policy", "test", str(EXAMPLES / HIGH), str(EXAMPLES / "intents" / "intent_read.json")]
    env = {**os.environ, "GAIT_WARM": "0", "GAIT_WARM_DIR": str(tmp_path / "w")}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(probe), *args],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert probe.read_text() == "(0, False)"
    assert not (tmp_path / "w").exists()


def test_warm_client_imports_nothing_heavy(base: Path, shared_warm: Warm, tmp_path: Path) -> None:
    server = shared_warm.start(base)
    out = tmp_path / "probe.txt"
    bin_dir = str(Path(gait_argv()[0]).parent)
    args = ["gate", "eval", "--policy", str(EXAMPLES / HIGH), "--intent"]
    args += [str(EXAMPLES / "intents" / "intent_delete.json"), "--json"]
    script = Path(gait_argv()[0])
    first = script.read_text().splitlines()[0] if script.name == "gait" else ""
    python = first[2:].strip() if first.startswith("#!") else sys.executable  # its sys.executable
    proc = subprocess.run(
        [python, "-c", CLIENT_PROBE, bin_dir, str(out), *args],
        cwd=tmp_path,
        env=shared_warm.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "(3, [])"
    assert json.loads(proc.stdout)["verdict"] == "block"
    after = shared_warm.current()
    assert after is not None and after["served"] == server["served"] + 1


def test_status_and_stop(tmp_path: Path) -> None:
    folder = Warm()
    try:
        server = folder.start(tmp_path)
        text = folder.run("warm", "status", cwd=tmp_path)
        assert text.returncode == 0
        assert f"pid {server['pid']}, served" in text.stdout.decode()
        assert text.stdout.decode().startswith(f"warm start: on\nfolder: {folder.dir}\n")
        stop = folder.run("warm", "stop", "--json", cwd=tmp_path)
        payload = json.loads(stop.stdout)
        assert stop.returncode == 0 and payload["ok"] is True
        assert payload["stopped"] == 1 and payload["servers"][0]["pid"] == server["pid"]
        assert wait_gone(server["pid"], 10)
        assert not list(folder.dir.glob("*.sock"))
        again = json.loads(folder.run("warm", "stop", "--json", cwd=tmp_path).stdout)
        assert again["stopped"] == 0
        off = folder.run("warm", "status", "--json", cwd=tmp_path, env={"GAIT_WARM": "off"})
        assert json.loads(off.stdout)["enabled"] is False
    finally:
        folder.stop()


def test_sigterm_removes_the_socket(tmp_path: Path) -> None:
    folder = Warm()
    try:
        server = folder.start(tmp_path)
        os.kill(server["pid"], signal.SIGTERM)
        assert wait_gone(server["pid"], 10)
        assert not list(folder.dir.glob("*.sock"))
    finally:
        folder.stop()


def test_no_spawn_when_the_folder_holds_many_sockets(tmp_path: Path) -> None:
    """A cap against runaway keys: eight sockets already there, no ninth daemon."""
    folder = Warm()
    try:
        for n in range(8):
            (folder.dir / f"{n:016x}.sock").touch()
        proc = folder.run(*_policy_test_args(), cwd=tmp_path)
        assert proc.returncode == 3
        time.sleep(0.5)
        assert not list(folder.dir.glob("*.lock"))  # no daemon ever started
    finally:
        for n in range(8):
            (folder.dir / f"{n:016x}.sock").unlink()
        folder.stop()


def test_signal_before_the_child_starts_is_held_then_forwarded() -> None:
    """A signal between the request and the child's start reaches the child once it runs."""
    from gait.cli import warm as client

    forwarder = client._Forwarder()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        signal.raise_signal(signal.SIGHUP)
        assert forwarder.pending == [signal.SIGHUP]
        forwarder.started(child.pid)
        assert child.wait(timeout=20) == -signal.SIGHUP
        assert forwarder.forwarded == [signal.SIGHUP] and forwarder.pending == []
    finally:
        forwarder.pending.clear()
        forwarder.restore()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert signal.getsignal(signal.SIGHUP) != forwarder.handle


def _on_tty(folder: Warm, args: tuple[str, ...], cwd: Path, warm: bool) -> tuple[int, bytes]:
    """Run with stdin, stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    import pty
    import select

    master, slave = pty.openpty()
    env = {**(folder.env if warm else folder.cold_env), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [*gait_argv(), *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, shown


def test_terminal_output_is_the_same(base: Path, shared_warm: Warm) -> None:
    """On a terminal (colour, aligned tables, line buffering) warm shows what cold shows."""
    server = shared_warm.start(base)
    for args in (
        ("policy", "test", HIGH, "intent_delete.json", "--why"),
        ("verify", PACK),
        ("trace", "verify", "tampered.json", "--public-key", "k_public.key"),
    ):
        cold = _on_tty(shared_warm, args, base, warm=False)
        warm = _on_tty(shared_warm, args, base, warm=True)
        assert warm == cold
        assert cold[1]
    after = shared_warm.current()
    assert after is not None and after["served"] == server["served"] + 3


def test_daemon_that_cannot_reproduce_the_client_marks_the_key_off(tmp_path: Path) -> None:
    """A daemon whose own key differs from the one it was started for stops for good."""
    from gait.cli import warm as client

    folder = Warm()
    try:
        code = "import sys\nfrom gait.cli.warmd import main\nmain(sys.argv[1], sys.argv[2])\n"
        proc = subprocess.run(
            [sys.executable, "-c", code, str(folder.dir), "0123456789abcdef"],
            env=folder.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        names = sorted(p.name for p in folder.dir.iterdir())
        assert names == ["0123456789abcdef.lock", "0123456789abcdef.off"]
        assert client.spawn(str(folder.dir), "0123456789abcdef") is False  # never again
    finally:
        folder.stop()


_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12
)
_NAME = st.binary(max_size=10).filter(lambda b: b"\x00" not in b and b"=" not in b and b != b"")
_VALUE = st.binary(max_size=10).filter(lambda b: b"\x00" not in b)


@settings(max_examples=200, deadline=None)
@given(
    sys_argv=st.lists(_TEXT, min_size=1, max_size=4),
    args=st.lists(_TEXT, max_size=6),
    umask=st.integers(0, 0o777),
    stdio=st.lists(
        st.tuples(st.sampled_from(["utf-8", "ascii"]), _TEXT, st.booleans(), st.booleans()),
        min_size=3,
        max_size=3,
    ),
    environ=st.dictionaries(_NAME, _VALUE, max_size=6),
)
def test_run_request_round_trip(
    sys_argv: list[str],
    args: list[str],
    umask: int,
    stdio: list[tuple[str, str, bool, bool]],
    environ: dict[bytes, bytes],
) -> None:
    """What the client encodes (empty strings included) is what the child reads back."""
    from gait.cli import warm as client
    from gait.cli import warmd

    req = warmd._Request(client.encode_run(sys_argv, args, umask, stdio, environ))
    assert req.sys_argv == sys_argv and req.args == args and req.umask == umask
    expected = [
        (enc.encode(), err.encode(), b"1" if lb else b"0", b"1" if wt else b"0")
        for enc, err, lb, wt in stdio
    ]
    assert req.stdio == expected
    assert req.environ == environ


def test_key_depends_on_group_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client with other groups (sg, a service with fewer groups) gets its own server:
    a child never runs with file access the cold process would not have."""
    from gait.cli import warm as client

    before = client.warm_key()
    assert client.warm_key() == before  # deterministic for one set of credentials
    groups = os.getgroups()
    monkeypatch.setattr(os, "getgroups", lambda: [*groups, 4242])
    assert client.warm_key() != before
    monkeypatch.undo()
    monkeypatch.setattr(os, "getegid", lambda: 4242)
    assert client.warm_key() != before


def test_key_depends_on_capabilities_and_seccomp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A client that dropped capabilities (or runs under seccomp) gets its own server."""
    from gait.cli import warm as client

    lines = client.privilege_lines()
    assert any(line.startswith(b"CapEff:") for line in lines)
    assert any(line.startswith(b"NoNewPrivs:") for line in lines)
    before = client.warm_key()
    fewer = tmp_path / "status"
    fewer.write_bytes(
        b"Name:\tgait\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nVmRSS:\t1 kB\n"
    )
    assert client.privilege_lines(str(fewer)) == [
        b"CapEff:\t0000000000000000",
        b"NoNewPrivs:\t1",
        b"Seccomp:\t2",
    ]
    real = client.privilege_lines
    monkeypatch.setattr(client, "privilege_lines", lambda: real(str(fewer)))
    assert client.warm_key() != before


def test_policy_and_intent_edits_are_seen_by_the_next_warm_call(
    base: Path, shared_warm: Warm, tmp_path: Path
) -> None:
    """Each child reads the policy and the intent afresh: nothing of an earlier call (or of
    the server) answers for an edited file."""
    server = shared_warm.start(base)
    work = tmp_path / "edit"
    shutil.copytree(base, work)
    args = ("policy", "test", "p.yaml", "i.json", "--json")
    seen = []
    steps = ((LOW, "intent_delete.json"), (HIGH, "intent_delete.json"), (HIGH, "intent_read.json"))
    for policy, intent in steps:
        shutil.copy(base / policy, work / "p.yaml")
        shutil.copy(base / intent, work / "i.json")
        warm = shared_warm.run(*args, cwd=work)
        cold = shared_warm.run(*args, cwd=work, warm=False)
        assert _outcome(warm) == _outcome(cold), (policy, intent)
        seen.append(warm.returncode)
    assert seen == [4, 3, 0]  # each edit changed the verdict, warm as cold
    after = shared_warm.current()
    assert after is not None and after["served"] == server["served"] + len(steps)
