"""The warm start server of the hot one-shot commands (docs/performance.md, "Warm start").

Started in the background by :mod:`gait.cli.warm` (never by hand): one process
per user and interpreter setup (the key), listening on ``<dir>/<key>.sock``.
It imports what the hot commands use once, then for each request forks a child
that takes over the client's stdio, working directory, environment and umask
and runs ``gait.cli.main._run`` exactly as a fresh ``gait`` process would.

Requests (framed as in :func:`gait.cli.warm.request`): ``R`` run a command
(with the client's fds 0-2 and its cwd as SCM_RIGHTS), ``P`` status, ``Q`` quit.
Replies are lines: ``S<pid>`` (child started; it waits for the client's ``G``),
``X<code>`` (the child's exit status; negative: the signal a cold process would
have died of), ``R`` (this daemon's modules changed on disk: it has exited, run
in-process), ``P<pid> <started> <served> <children's CPU µs>``, ``Q<pid>``.
"""

from __future__ import annotations

import os
import sys

from gait.cli import warm

# Modules the hot commands load at run time, imported before the first fork so a
# child imports nothing (tests/cli/test_warm.py checks this for every hot command).
PRELOAD = (
    "gait.cli.main",
    "gait.cli.fast",
    "gait.cli.common",
    "gait.cli.term",
    "gait.cli.gate_eval",
    "gait.cli.policytest",
    "gait.cli.trace_verify",
    "gait.cli.verify_runpack",
    "gait.engine.evaluate",
    "gait.gate.approvals",
    "gait.gate.config",
    "gait.intent.digest",
    "gait.intent.infer",
    "gait.intent.normalize",
    "gait.policy._dsl_tables",
    "gait.policy._yaml_lite",
    "gait.policy.digest",
    "gait.policy.normalize",
    "gait.engine.explain",
    "gait.gate.service",
    "gait.gate.pipeline",
    "gait.gate.broker",
    "gait.gate.tokens",
    "gait.intent.decode",
    "gait.intent.prepare",
    "gait.intent.refs_check",
    "gait.policy.compiler",
    "gait.policy.dsl",
    "gait.policy.fmt",
    "gait.policy.source",
    "gait.runpack.reader",
    "gait.runpack.verify",
    "gait.runpack.zipread",
    "gait.runpack.zipwrite",
    "gait.signing",
    "gait.signing.devkey",
    "gait.signing.keys",
    "gait.signing.signature",
    "gait.state.filestore",
    "gait.trace.record",
    "gait.trace.store",
    "cryptography.exceptions",
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    "atexit",
    "base64",
    "binascii",
    "datetime",
    "decimal",
    "fcntl",
    "fnmatch",
    "hashlib",
    "ipaddress",
    "json",
    "pathlib",
    "platform",
    "resource",  # os.wait4 loads it (the daemon reaping its children)
    "urllib.parse",
    "uuid",
    "yaml",  # a policy the built-in reader cannot take (and its error messages)
    "zlib",
)

REQUEST_TIMEOUT = 2.0  # seconds a client has to send its whole request
MAX_REQUEST = 4 << 20


# One-time set-up the hot commands would otherwise repeat in every child: zero-argument
# functions (module, name) that build constant tables or initialise a library, with
# nothing read from the environment, the working directory, the clock or user files.
# Run before the first fork; tools/bench/bench_work.py runs them too. Missing names
# are skipped.
WARM_CALLS = (
    ("gait.policy.dsl", "_canonical_token"),  # memoized: the DSL's token pattern
    ("gait.policy.dsl", "_fast_tables"),  # memoized: parser tables, canonical callbacks
    ("gait.cli.warmd", "trace_fields"),
    ("gait.signing.keys", "prime_backend"),  # OpenSSL's first Ed25519 derive/sign/verify
    ("gait.cli.warmd", "public_key_first_use"),
)


def trace_fields() -> None:
    """The trace record's projection rules (memoized by gait.trace.schema)."""
    from gait.trace.schema import TraceRecord, fields_of

    fields_of(TraceRecord)


def public_key_first_use() -> None:
    """OpenSSL's first import of a raw Ed25519 public key (what trace verify does)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    public = Ed25519PublicKey.from_public_bytes(key.public_key().public_bytes_raw())
    public.verify(key.sign(b"gait"), b"gait")


class _Daemon:
    def __init__(self, folder: str, key: str, idle: float) -> None:
        self.folder = folder
        self.key = key
        self.idle = idle
        self.path = os.path.join(folder, key + ".sock")
        self.lock_fd = -1
        self.listener: object = None
        self.inode = 0
        self.started = 0
        self.served = 0
        self.children_cpu_us = 0  # user + system time of the children reaped so far
        self.signature: list[tuple[str, tuple[int, int, int]]] = []
        self.preloaded: frozenset[str] = frozenset()

    # -- start and stop ------------------------------------------------------

    def lock(self) -> bool:
        import fcntl

        lock_path = os.path.join(self.folder, self.key + ".lock")
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            self.lock_fd = os.open(lock_path, flags, 0o600)
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # another daemon owns this key
        return True

    def listen(self) -> None:
        import socket

        try:
            os.unlink(self.path)  # a dead daemon's socket: we hold the key's lock
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        os.chmod(self.path, 0o600)
        listener.listen(128)
        self.inode = os.stat(self.path).st_ino
        self.listener = listener

    def close(self) -> None:
        """Remove our socket (only if it is still ours) and stop listening."""
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass
        if self.listener is not None:
            self.listener.close()  # type: ignore[attr-defined]  # queued clients see a reset
            self.listener = None
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    # -- what the children inherit ------------------------------------------

    def preload(self) -> None:
        import importlib

        from gait.canonical import use_builtin_sha256
        from gait.cli.fast import load_msgspec_without_typing_extensions

        load_msgspec_without_typing_extensions()  # as the cold path loads it
        use_builtin_sha256()
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # an optional part missing: the child imports (and reports) it itself
        for module, name in WARM_CALLS:
            step = getattr(sys.modules.get(module), name, None)
            if step is None:
                try:
                    step = getattr(importlib.import_module(module), name, None)
                except ImportError:
                    continue
            try:
                if step is not None:
                    step()
            except Exception:
                pass  # the child does it (and reports any error) itself
        self.preloaded = frozenset(sys.modules)
        self.signature = self.module_files()

    def module_files(self) -> list[tuple[str, tuple[int, int, int]]]:
        out = []
        paths = [sys.executable]
        paths += [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        for path in sorted(set(paths)):
            if not path:
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((path, (st.st_mtime_ns, st.st_size, st.st_ino)))
        return out

    def stale(self) -> bool:
        for path, seen in self.signature:
            try:
                st = os.stat(path)
            except OSError:
                return True
            if (st.st_mtime_ns, st.st_size, st.st_ino) != seen:
                return True
        return False

    # -- serving ------------------------------------------------------------

    def serve(self) -> None:
        import gc
        import signal
        import time

        gc.collect()
        gc.freeze()  # a child's collections skip all of this: fewer pages written and copied
        self.started = int(time.time())
        signal.signal(signal.SIGCHLD, self.reap)
        listener = self.listener
        while True:
            listener.settimeout(self.idle)  # type: ignore[attr-defined]
            try:
                conn, _ = listener.accept()  # type: ignore[attr-defined]
            except TimeoutError:
                return
            except InterruptedError:
                continue
            try:
                if not self.handle(conn):
                    return
            finally:
                conn.close()

    def reap(self, _signum: int, _frame: object) -> None:
        """Collect ended children (no zombies) and add up their CPU time for ``P``."""
        while True:
            try:
                pid, _status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children_cpu_us += int((usage.ru_utime + usage.ru_stime) * 1e6)

    def handle(self, conn: object) -> bool:
        """One request; False when the daemon must exit."""
        try:
            if warm.peer_uid(conn) != os.getuid():
                return True  # never serve another user
            conn.settimeout(REQUEST_TIMEOUT)  # type: ignore[attr-defined]
            kind, body, fds = _receive(conn)
        except (OSError, ValueError):
            return True
        try:
            if kind == b"P":
                self.reap(0, None)
                reply = f"P{os.getpid()} {self.started} {self.served} {self.children_cpu_us}\n"
                conn.sendall(reply.encode())  # type: ignore[attr-defined]
                return True
            if kind == b"Q":
                self.close()
                conn.sendall(f"Q{os.getpid()}\n".encode())  # type: ignore[attr-defined]
                return False
            if kind != b"R" or len(fds) != 4:
                return True
            if self.stale():
                self.close()  # first: the client starts a fresh daemon for this key
                conn.sendall(b"R\n")  # type: ignore[attr-defined]
                return False
            pid = os.fork()
            if pid == 0:
                try:
                    _child(self, conn, body, fds)
                finally:
                    os._exit(1)
            self.served += 1
            return True
        except OSError:  # a timeout included
            return True
        finally:
            for fd in fds:
                os.close(fd)


def _receive(conn: object) -> tuple[bytes, bytes, list[int]]:
    import socket

    head, ancdata, _flags, _addr = conn.recvmsg(  # type: ignore[attr-defined]
        65536, socket.CMSG_SPACE(4 * 4), socket.MSG_CMSG_CLOEXEC
    )
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds += [int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, usable, 4)]
    try:
        if not head.startswith(warm.PROTOCOL) or b"\x00" not in head:
            raise ValueError("not a gait warm request")
        prefix, _, data = head.partition(b"\x00")
        kind, size = prefix[3:4], int(prefix[4:])
        if size > MAX_REQUEST:
            raise ValueError("request too large")
        chunks = [data]
        have = len(data)
        while have < size:
            chunk = conn.recv(min(size - have, 1 << 16))  # type: ignore[attr-defined]
            if not chunk:
                raise ValueError("short request")
            chunks.append(chunk)
            have += len(chunk)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return kind, b"".join(chunks), fds


class _Request:
    def __init__(self, body: bytes) -> None:
        # sys.argv count, sys.argv, args count, args, umask, then per stream (stdin,
        # stdout, stderr) encoding, errors, line_buffering, write_through; then KEY=VALUE.
        fields = body.split(b"\x00")
        n = int(fields[0])
        self.sys_argv = [os.fsdecode(a) for a in fields[1 : 1 + n]]
        at = 1 + n
        m = int(fields[at])
        self.args = [os.fsdecode(a) for a in fields[at + 1 : at + 1 + m]]
        at += 1 + m
        self.umask = int(fields[at])
        self.stdio = [tuple(fields[at + 1 + 4 * i : at + 5 + 4 * i]) for i in range(3)]
        self.environ: dict[bytes, bytes] = {}
        for item in fields[at + 13 :]:
            name, eq, value = item.partition(b"=")
            if eq:
                self.environ[name] = value


def _child(daemon: _Daemon, conn: object, body: bytes, fds: list[int]) -> None:
    """In the forked child: become the client's process, run the command, report its code."""
    import signal
    import time

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # subprocesses (the credential broker) wait
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if daemon.listener is not None:
        daemon.listener.close()  # type: ignore[attr-defined]
    if daemon.lock_fd >= 0:
        os.close(daemon.lock_fd)  # the daemon's lock is its own (flock: closing a copy keeps it)
    try:
        req = _Request(body)
    except (ValueError, IndexError):
        return
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    fds.clear()
    environb = os.environb
    environb.clear()
    environb.update(req.environ)
    os.umask(req.umask)
    time.tzset()
    _stdio(req.stdio)
    sys.argv = req.sys_argv
    conn.sendall(f"S{os.getpid()}\n".encode())  # type: ignore[attr-defined]
    conn.settimeout(None)  # type: ignore[attr-defined]
    if conn.recv(1) != b"G":  # type: ignore[attr-defined]
        os._exit(0)  # the client gave up and runs the command itself
    code = _run(req.args)
    report = os.environ.get("GAIT_WARM_TEST_MODULES", "")
    if report:  # tests: which modules this run had to import itself
        with open(report, "a", encoding="utf-8") as out:
            new = sorted(set(sys.modules) - daemon.preloaded)
            out.write(" ".join(req.args) + "\t" + ",".join(new) + "\n")
    try:
        conn.sendall(f"X{code}\n".encode())  # type: ignore[attr-defined]
    except OSError:
        pass
    os._exit(code if code >= 0 else 1)


def _stdio(setups: list[tuple[bytes, ...]]) -> None:
    """sys.stdin/stdout/stderr over fds 0-2, built as the client's interpreter built its own."""
    import io

    made = []
    for fd, (encoding, errors, line_buffering, write_through) in enumerate(setups):
        mode = "r" if fd == 0 else "w"
        buffered = open(fd, mode + "b", -1, closefd=False)  # sys.std* own it
        buffered.raw.name = ("<stdin>", "<stdout>", "<stderr>")[fd]
        stream = io.TextIOWrapper(
            buffered,
            encoding=encoding.decode() or None,
            errors=errors.decode() or None,
            newline="\n",  # as CPython on POSIX: no newline translation
            line_buffering=line_buffering == b"1",
            write_through=write_through == b"1",
        )
        stream.mode = mode  # type: ignore[misc]
        made.append(stream)
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]


def _run(args: list[str]) -> int:
    """``gait ARGS`` as ``gait.cli.main`` runs it, ending as the interpreter would end."""
    import signal

    from gait.cli.main import _run as run

    try:
        code = run(args)
    except SystemExit as stop:
        code = _exit_code(stop)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
        code = -signal.SIGINT  # a cold interpreter re-raises SIGINT on itself
    except BaseException:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
        code = 1
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()  # type: ignore[attr-defined]
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception as err:  # as Py_FinalizeEx: report, exit 120
            if stream is sys.stdout:
                _unraisable(err, stream)
            code = 120
    return code


def _exit_code(stop: SystemExit) -> int:
    value = stop.code
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    try:
        sys.stderr.write(f"{value}\n")
        sys.stderr.flush()
    except Exception:
        pass
    return 1


def _unraisable(err: BaseException, stream: object) -> None:
    import types

    hook_args = types.SimpleNamespace(
        exc_type=type(err),
        exc_value=err,
        exc_traceback=err.__traceback__,
        err_msg=None,
        object=stream,
    )
    try:
        sys.unraisablehook(hook_args)  # type: ignore[arg-type]
    except Exception:
        pass


def main(folder: str, key: str) -> None:
    """Entry point (see gait.cli.warm.BOOT); exits quietly on any start-up problem."""
    import signal

    os.chdir("/")  # hold no user directory open
    warm.in_worker = True  # a child's run must not ask a daemon for a worker
    try:
        idle = float(os.environ.get("GAIT_WARM_IDLE", "") or 300)
    except ValueError:
        idle = 300.0
    idle = min(max(idle, 0.1), 86400.0)
    if not warm.dir_is_safe(folder):
        return
    daemon = _Daemon(folder, key, idle)
    if not daemon.lock():
        return
    if warm.warm_key() != key:  # cannot reproduce the client's interpreter: never again
        try:
            fd = os.open(os.path.join(folder, key + ".off"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError:
            pass
        return

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        daemon.listen()
        daemon.preload()
        daemon.serve()
    except (OSError, SystemExit):
        pass
    finally:
        daemon.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m gait.cli.warmd DIR KEY (started by gait itself)")
    main(sys.argv[1], sys.argv[2])
