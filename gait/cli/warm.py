"""Client of the warm start server for the hot one-shot commands (docs/performance.md).

A per-user background process (:mod:`gait.cli.warmd`) keeps the hot commands'
modules imported and forks a fresh child per invocation. This module is the
``gait`` side: it hands the daemon its argv, environment, umask, working
directory and stdio file descriptors over a Unix socket, waits for the child's
exit status and returns it. Anything unusual (no daemon yet, an unsafe socket
folder, a stale daemon) returns ``None`` before the command has run, and the
command runs in this process as it always did.

Only builtin or C modules are imported here (no socket.py, json, typing):
loading them would cost the client the time the warm start saves.
"""

from __future__ import annotations

import os
import sys

# Commands the daemon has warm (gait.cli.fast's HOT table minus ``version``, which
# is as fast in a fresh process). Anything else runs in this process.
HOT_PAIRS = (("gate", "eval"), ("policy", "test"), ("trace", "verify"))
OFF_WORDS = ("0", "off", "false", "no")
MAX_SOCKETS = 8  # do not start a daemon when a folder already holds this many
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux
PROTOCOL = b"GW1"
START_TIMEOUT = 3.0  # seconds to wait for the child's start; then run in this process
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")

_RESTART = -1000  # _converse: the daemon answered R (its modules changed on disk)

# Variables whose effect interpreter_flags() passes as options (-W, -O, -v, -d): set
# as well, the daemon's interpreter would add them up (-O plus PYTHONOPTIMIZE=1 is -OO).
COUNTED_BY_FLAGS = ("PYTHONWARNINGS", "PYTHONOPTIMIZE", "PYTHONVERBOSE", "PYTHONDEBUG")

# The daemon and its children set this: a child's own run must not ask for a worker.
in_worker = False

# Started as ``python -c BOOT DIR KEY PATH...``: the fds a caller left inheritable
# are closed first, and sys.path is the client's before gait is imported.
BOOT = (
    "import os,sys;os.closerange(3,1<<20);sys.path[:]=sys.argv[3:];"
    "from gait.cli.warmd import main;main(sys.argv[1],sys.argv[2])"
)


def enabled(environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("GAIT_WARM", "").strip().lower() not in OFF_WORDS


def eligible(args: list[str]) -> bool:
    """Whether ``args`` name a hot command (plain spelling; help goes to click here)."""
    if len(args) < 2 and args[:1] != ["verify"]:
        return False
    if args[0] == "verify":
        if len(args) > 1 and args[1] in ("chain", "session-chain"):
            return False
    elif (args[0], args[1]) not in HOT_PAIRS:
        return False
    for arg in args:
        if arg in ("--help", "-h", "-help", "--explain", "--"):
            return False
    return True


def socket_dir() -> str:
    """``$GAIT_WARM_DIR``, else ``$XDG_RUNTIME_DIR/gait-warm`` if that is ours, else /tmp."""
    env = os.environ
    path = env.get("GAIT_WARM_DIR", "")
    if path:
        return os.path.abspath(path)
    uid = os.getuid()
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        try:
            st = os.stat(runtime)
        except OSError:
            st = None
        if st is not None and (st.st_mode & 0o170000) == 0o040000 and st.st_uid == uid:
            return os.path.join(runtime, "gait-warm")
    return f"/tmp/gait-warm-{uid}"  # not $TMPDIR: one daemon per user, not per harness run


def dir_is_safe(path: str) -> bool:
    """A real directory (not a symlink), ours, closed to group and others."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    is_dir = (st.st_mode & 0o170000) == 0o040000
    return is_dir and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def make_dir(path: str) -> bool:
    """Create the socket folder (0700) if missing; never change an existing one."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    return dir_is_safe(path)


def _sha256_hex(data: bytes) -> str:
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef]  # 3.12+
    return sha256(data).hexdigest()


def warm_key() -> str:
    """Digest of everything beyond argv/cwd/env/fds that changes what a child does."""
    from gait import __version__

    parts: list[object] = [
        sys.executable,
        sys.version,
        sys.path,
        tuple(sys.flags),
        sys.warnoptions,
        sorted(sys._xoptions.items()),
        sys.getfilesystemencoding(),
        sys.getfilesystemencodeerrors(),
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        __version__,
    ]
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        parts.append((getattr(stream, "encoding", None), getattr(stream, "errors", None)))
    # Credentials beyond the uid (the socket folder is per uid): a client that dropped
    # groups must not be served by a child holding the groups of whoever started the server.
    parts.append((os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())))
    parts.append(privilege_lines())
    for space in ("mnt", "pid"):  # a container sharing /tmp sees other files and pids
        try:
            parts.append(os.readlink(f"/proc/self/ns/{space}"))
        except OSError:
            parts.append(None)
    env = os.environ
    for name in (
        "PYTHONHASHSEED",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONDONTWRITEBYTECODE",
        "LC_ALL",
        "LC_CTYPE",
        "LANG",
    ):
        parts.append(env.get(name))
    text = "\x00".join(repr(p) for p in parts)
    return _sha256_hex(text.encode("utf-8", "surrogateescape"))[:16]


PRIVILEGE_FIELDS = (b"Cap", b"NoNewPrivs", b"Seccomp")


def privilege_lines(path: str = "/proc/self/status") -> list[bytes]:
    """Capability sets, no_new_privs and seccomp mode: a client that gave up some must
    not be served by a child that still holds them."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        data = os.read(fd, 1 << 16)
    except OSError:
        data = b""
    finally:
        os.close(fd)
    return [line for line in data.split(b"\n") if line.startswith(PRIVILEGE_FIELDS)]


def interpreter_flags() -> list[str]:
    """Command-line options that reproduce this interpreter's flags in the daemon."""
    flags = sys.flags
    out: list[str] = []
    if flags.isolated:
        out.append("-I")
    else:
        if flags.ignore_environment:
            out.append("-E")
        if flags.no_user_site:
            out.append("-s")
        if flags.safe_path:
            out.append("-P")
    for name, opt in (
        ("dont_write_bytecode", "-B"),
        ("no_site", "-S"),
        ("debug", "-d"),
        ("quiet", "-q"),
    ):
        if getattr(flags, name):
            out.append(opt)
    if flags.optimize:
        out.append("-" + "O" * flags.optimize)
    if flags.verbose:
        out.append("-" + "v" * flags.verbose)
    if flags.bytes_warning:
        out.append("-" + "b" * flags.bytes_warning)
    for opt in sys.warnoptions:
        out.append("-W" + opt)
    for name, value in sys._xoptions.items():
        out.append("-X" + (name if value is True else f"{name}={value}"))
    return out


def peer_uid(sock: object) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    import _socket

    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # type: ignore[attr-defined]
    return int.from_bytes(raw[4:8], sys.byteorder)  # struct ucred: pid, uid, gid


def spawn(folder: str, key: str) -> bool:
    """Start a daemon for ``key`` in the background; it serves the next invocations."""
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    if sum(name.endswith(".sock") for name in names) >= MAX_SOCKETS:
        return False
    if key + ".off" in names:  # a daemon found it cannot reproduce this interpreter
        return False
    argv = [sys.executable, *interpreter_flags(), "-c", BOOT, folder, key, *sys.path]
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
    ]
    env = os.environ.copy()
    for name in COUNTED_BY_FLAGS:  # the flags above carry them; both would count twice
        env.pop(name, None)
    import _signal

    # Default dispositions and no blocked signals, whatever this process inherited.
    defaults = [getattr(_signal, name) for name in (*FORWARDED_SIGNALS, "SIGCHLD", "SIGPIPE")]
    try:
        os.posix_spawn(
            sys.executable,
            argv,
            env,
            file_actions=actions,
            setsid=True,
            setsigmask=(),
            setsigdef=defaults,
        )
    except OSError:
        return False
    return True


def request(kind: bytes, body: bytes) -> list[bytes]:
    """The framed request: ``GW1<kind><length>\\0`` then the body."""
    return [PROTOCOL + kind + str(len(body)).encode() + b"\x00", body]


def _stdio_ok() -> bool:
    """The process's own stdio on fds 0-2 (not a caller's redirection), all open."""
    streams = (sys.stdin, sys.stdout, sys.stderr)
    originals = (sys.__stdin__, sys.__stdout__, sys.__stderr__)
    for fd, (stream, original) in enumerate(zip(streams, originals, strict=True)):
        if stream is None or stream is not original:
            return False
        try:
            if stream.fileno() != fd:
                return False
            os.fstat(fd)
        except (OSError, ValueError, AttributeError):
            return False
    return True


def _run_body(args: list[str]) -> bytes:
    umask = os.umask(0o022)
    os.umask(umask)
    stdio = [
        (str(s.encoding), str(s.errors), s.line_buffering, s.write_through)
        for s in (sys.stdin, sys.stdout, sys.stderr)
    ]
    return encode_run(sys.argv, args, umask, stdio, os.environb)


def encode_run(
    sys_argv: list[str],
    args: list[str],
    umask: int,
    stdio: list[tuple[str, str, bool, bool]],
    environb: dict[bytes, bytes] | os._Environ[bytes],
) -> bytes:
    """The body of a run request (gait.cli.warmd._Request reads it): NUL-separated fields."""
    fields: list[bytes] = [str(len(sys_argv)).encode()]
    fields += [os.fsencode(a) for a in sys_argv]
    fields.append(str(len(args)).encode())
    fields += [os.fsencode(a) for a in args]
    fields.append(str(umask).encode())
    for encoding, errors, line_buffering, write_through in stdio:  # the child builds its streams
        fields += [encoding.encode(), errors.encode()]
        fields += [b"1" if line_buffering else b"0", b"1" if write_through else b"0"]
    fields += [k + b"=" + v for k, v in environb.items()]
    return b"\x00".join(fields)


class _Reader:
    """Newline-terminated replies from the daemon or its child."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes | None:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(256)  # type: ignore[attr-defined]
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line


def run_warm(args: list[str], as_json: bool) -> int | None:
    """Run ``gait ARGS`` in a warm child; its exit code, or ``None`` to run here instead."""
    if in_worker or not enabled() or not eligible(args) or not _stdio_ok():
        return None
    if not sys.platform.startswith("linux"):  # SO_PEERCRED, /proc namespaces, setsid spawn
        return None
    if sys.argv[1:] != args:  # a library call of main(argv): it keeps running in its process
        return None
    try:
        folder = socket_dir()
        key = warm_key()
    except Exception:  # e.g. an unreadable sys.path entry: this process runs the command
        return None
    path = os.path.join(folder, key + ".sock")
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        return None
    if not dir_is_safe(folder):
        try:
            os.lstat(folder)
        except FileNotFoundError:
            if make_dir(folder):
                spawn(folder, key)
        return None  # an unsafe folder: never ours to fix
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(START_TIMEOUT)
        try:
            sock.connect(path)
        except OSError:
            spawn(folder, key)
            return None
        try:
            if peer_uid(sock) != os.getuid():
                return None  # not our server: never hand it our descriptors
        except OSError:
            return None
        code = _converse(sock, args, as_json)
        if code == _RESTART:  # the daemon's code is stale and it has gone: start a fresh one
            spawn(folder, key)
            return None
        return code
    finally:
        sock.close()


class _Forwarder:
    """Signals that reach this process while a child runs the command go to the child.

    Installed before the request is sent: a signal that arrives before the child
    has started is held, then sent to it, or, if the command runs here after
    all, raised again here once the handlers are back.
    """

    def __init__(self) -> None:
        import _signal

        self.pid = 0
        self.pending: list[int] = []
        self.forwarded: list[int] = []
        self.saved: list[tuple[int, object]] = []
        for name in FORWARDED_SIGNALS:
            signum = getattr(_signal, name)
            old = _signal.getsignal(signum)
            if old is _signal.SIG_IGN:
                continue  # ignored by this process: a cold run would ignore it too
            self.saved.append((signum, old))
            _signal.signal(signum, self.handle)

    def handle(self, signum: int, _frame: object) -> None:
        if not self.pid:
            self.pending.append(signum)
            return
        self.forwarded.append(signum)
        try:
            os.kill(self.pid, signum)
        except OSError:
            pass

    def started(self, pid: int) -> None:
        self.pid = pid
        held, self.pending = self.pending, []
        for signum in held:
            self.handle(signum, None)

    def restore(self) -> None:
        import _signal

        for signum, old in self.saved:
            _signal.signal(signum, old)
        for signum in self.pending:  # the command runs here: it gets them as a cold run would
            _signal.raise_signal(signum)


def _converse(sock: object, args: list[str], as_json: bool) -> int | None:
    forwarder = _Forwarder()
    try:
        code = _exchange(sock, args, as_json, forwarder)
    finally:
        forwarder.restore()
    if code is None or code == _RESTART:
        return code
    if code < 0:  # the child ended as a cold process ends on this signal
        _die_by(-code)
        return 128 - code
    return code


def _exchange(sock: object, args: list[str], as_json: bool, forwarder: _Forwarder) -> int | None:
    import _socket

    try:
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2, cwd))
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)]
        header, body = request(b"R", _run_body(args))
        sock.sendmsg([header], rights)  # type: ignore[attr-defined]
        sock.sendall(body)  # type: ignore[attr-defined]
    except OSError:
        return None
    finally:
        os.close(cwd)
    reader = _Reader(sock)
    try:
        first = reader.line()
    except OSError:
        return None  # timed out or reset before the child started: nothing has run
    if first is None or not first.startswith(b"S") or not first[1:].isdigit():
        return _RESTART if first == b"R" else None
    pid = int(first[1:])
    try:
        sock.sendall(b"G")  # type: ignore[attr-defined]
    except OSError:
        return None  # the child runs only after this go-ahead
    forwarder.started(pid)
    try:
        sock.settimeout(None)  # type: ignore[attr-defined]
        line = reader.line()
    except OSError:
        line = None
    if line is not None and line.startswith(b"X") and line[1:].lstrip(b"-").isdigit():
        return int(line[1:])
    if forwarder.forwarded:  # the child died of the signal we passed on: end the same way
        return -forwarder.forwarded[-1]
    message = f"internal error: warm worker {pid} ended without an exit status"
    if as_json:
        from gait.cli.output import dumps, envelope, write_line

        write_line(dumps(envelope({"ok": False, "error": message}, 1, ["gait", *args])))
    else:
        sys.stderr.write(f"gait: {message}\n")
        sys.stderr.flush()
    return 1


def _die_by(signum: int) -> None:
    import _signal

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    _signal.signal(signum, _signal.SIG_DFL)
    os.kill(os.getpid(), signum)
