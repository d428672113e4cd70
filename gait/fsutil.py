"""Small filesystem helpers shared by every artifact writer.

Artifacts (keys, traces, runpacks, regress results) must never be observed
half-written: a reader either sees the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys

TYPE_CHECKING = False  # threading only for GroupCommit: one-shot commands never load it
if TYPE_CHECKING:
    import threading

__all__ = ["GroupCommit", "atomic_write", "go_os_error", "path_text", "read_regular_file"]

# errno values meaning "this filesystem cannot hard-link", not "the target exists".
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def atomic_write(
    path: str | os.PathLike[str], data: bytes, mode: int = 0o600, *, overwrite: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically with exactly ``mode`` (umask does not apply).

    The bytes go to a temp file in the same directory, are fsynced, then moved
    into place with ``os.replace``. With ``overwrite=False`` the move is a hard
    link, which fails with :class:`FileExistsError` if ``path`` already exists,
    so two concurrent writers can never clobber each other (used for keys).
    The parent directory must exist. ``OSError`` propagates to the caller.
    """
    target = _writable_target(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = _mkstemp(directory, os.path.basename(target))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, target)
        else:
            _create_exclusive(tmp, target, data, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


_TEMP_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _mkstemp(directory: str, base: str) -> tuple[int, str]:
    """``tempfile.mkstemp`` for ``.<base>.<random>.tmp`` in ``directory`` (mode 0600).

    Local so that a one-shot command that writes one file does not import
    tempfile, which pulls in shutil and the compression modules (~3 ms).
    """
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no usable temporary name", directory)


def _writable_target(target: str) -> str:
    """The regular file to replace: a symlink is written through (never replaced),
    and an existing non-regular file (device, FIFO, socket, folder) is refused."""
    import stat

    from gait.errors import InvalidInput

    if os.path.islink(target):
        target = os.path.realpath(target)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError:
        return target  # the write itself reports it
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InvalidInput(f"refusing to write {target}: {kind}", details={"path": target})
    return target


def path_text(path: str | os.PathLike[str]) -> str:
    """``str(pathlib.Path(path))`` without loading pathlib (about 4 ms of a one-shot command).

    On POSIX, for text paths: empty and ``.`` components are dropped, a leading
    ``//`` (exactly two slashes) is kept, and nothing is left as ``.``. Anything
    else (another OS, bytes, odd path objects) goes through pathlib itself.
    """
    text = os.fspath(path)
    if os.name != "posix" or type(text) is not str:
        from pathlib import Path

        return str(Path(path))
    root = ""
    if text.startswith("/"):
        stripped = text.lstrip("/")
        root = "//" if len(text) - len(stripped) == 2 else "/"
    parts = [p for p in text.split("/") if p and p != "."]
    return root + "/".join(parts) if root or parts else "."


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes.

    A FIFO, device or socket raises ``OSError(EINVAL, "not a regular file")``
    without blocking (``/dev/zero`` would never end, a FIFO would wait forever);
    a file over ``limit`` raises ``OSError(EFBIG, ...)``. The read itself is capped
    too, so a file growing while read cannot exceed it.
    """
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.fspath(path), flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"file is {info.st_size} bytes; the limit is {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise OSError(errno.EFBIG, f"file exceeds the limit of {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _create_exclusive(tmp: str, target: str, data: bytes, mode: int) -> None:
    """Move ``tmp`` to ``target`` only if ``target`` does not exist yet."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno not in _NO_LINK:
            raise
        # No hard links here: fall back to an exclusive create (still never overwrites).
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(target, mode)
    os.unlink(tmp)


def _fsync_dir(directory: str) -> None:
    """Persist the rename itself; not supported everywhere, so best effort."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def go_os_error(path: str, err: OSError) -> str:
    """``open <path>: no such file or directory``: the wording of the reference's errors."""
    text = err.strerror or str(err)
    text = text[:1].lower() + text[1:]
    op = "read" if isinstance(err, IsADirectoryError) else "open"
    return f"{op} {path}: {text}"


# ``linkat(2)`` of an ``O_TMPFILE`` file goes through its /proc/self/fd entry; the
# folder is opened once per process (after a fork /proc/self still names the parent).
_PROC_FD: list[tuple[int, int]] = []


def _proc_fd_dir() -> int:
    pid = os.getpid()
    if _PROC_FD and _PROC_FD[0][0] == pid:
        return _PROC_FD[0][1]
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    if _PROC_FD and _PROC_FD[0][1] >= 0:
        with contextlib.suppress(OSError):
            os.close(_PROC_FD[0][1])  # inherited across fork: it lists the parent's files
    try:
        fd = os.open("/proc/self/fd", flags)
    except OSError:
        fd = -1
    _PROC_FD[:] = [(pid, fd)]
    return fd


def _create_anonymous(target: str, data: bytes, mode: int, sync: bool) -> tuple[int, str]:
    """Create ``target`` if no file has that name yet: ``(fd, folder)``, else ``(-1, "")``.

    Linux ``O_TMPFILE``: the bytes go into a file with no name, which ``linkat``
    then names ``target`` in one step; it fails if ``target`` exists, so nothing
    is ever replaced, and a crash before the link leaves nothing behind (no temp
    name to clean up). Four system calls instead of the temp-file route's nine.
    ``sync`` fsyncs the file before the link and the folder after it (strict).
    Returns ``(-1, "")`` whenever this route does not apply (no ``O_TMPFILE`` or
    /proc, another filesystem's refusal, or ``target`` taken by anything at all,
    even a dangling symlink): the caller then takes the general path, so
    results and errors stay exactly those of that path.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return -1, ""
    proc = _proc_fd_dir()
    if proc < 0:
        return -1, ""
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd = os.open(directory, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError:
        return -1, ""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)  # exactly mode, whatever the umask
        if sync:
            os.fsync(fd)
        os.link(str(fd), target, src_dir_fd=proc)  # linkat(AT_SYMLINK_FOLLOW)
    except BaseException as err:
        os.close(fd)  # an unnamed file disappears with its last descriptor
        if isinstance(err, OSError):
            return -1, ""  # taken, or refused: the general path decides and reports
        raise
    if sync:
        _fsync_dir(directory)
    return fd, directory


class _Batch:
    """Files written since the last flush, and the outcome their writers wait for."""

    __slots__ = ("dirs", "done", "error", "fds")

    def __init__(self) -> None:
        import threading

        self.fds: list[int] = []
        self.dirs: set[str] = set()
        self.done = threading.Event()
        self.error: OSError | None = None


class GroupCommit:
    """Atomic writes made durable in groups by a background flusher.

    ``write`` names a file only once all its bytes are in it (an unnamed
    ``O_TMPFILE`` file linked in place, else a temp file renamed into place), so a
    reader sees the old file or the complete new one (as :func:`atomic_write`),
    but returns without fsync. A background thread makes everything written so
    far durable every ``interval`` seconds with one ``syncfs`` (Linux; elsewhere
    one fsync per file and per folder). A power loss can lose (or leave empty)
    the files of the last window; a process crash loses nothing. ``flush`` and
    ``close`` make everything written so far durable at once.

    ``wait=True`` is plain :func:`atomic_write` (fsync of file and folder before
    returning). Concurrent writers already share the journal commit in the
    kernel (ext4/xfs group commit); a leader/follower layer on top measured
    slower here, so strict writes stay parallel.
    """

    def __init__(
        self, *, wait: bool = True, interval: float = 0.01, max_pending: int = 4096
    ) -> None:
        import threading

        self.wait = wait
        self.interval = interval
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time, in batch order
        self._batch = _Batch()
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not wait:
            self._thread = threading.Thread(
                target=self._flush_loop, name="gait-group-commit", daemon=True
            )
            self._thread.start()

    def write(
        self,
        path: str | os.PathLike[str],
        data: bytes,
        mode: int = 0o600,
        *,
        overwrite: bool = True,
    ) -> None:
        """Write ``data`` to ``path`` atomically; see the class docstring for durability.

        ``overwrite=False`` never replaces an existing ``path`` (:class:`FileExistsError`).
        """
        # A name not taken yet (the usual trace) is created in one step; anything
        # else (replace, write through a symlink, refusals) takes the general path.
        fd, directory = _create_anonymous(os.fspath(path), data, mode, self.wait)
        if fd >= 0:
            self._track(fd, directory)
            return
        if self.wait or self._closed:
            atomic_write(path, data, mode, overwrite=overwrite)
            return
        target = _writable_target(os.fspath(path))
        directory = os.path.dirname(os.path.abspath(target))
        fd, tmp = _mkstemp(directory, os.path.basename(target))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            if overwrite:
                os.replace(tmp, target)
            else:
                self._link(tmp, target, data, mode)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._track(fd, directory)

    def _track(self, fd: int, directory: str) -> None:
        """Hand a written file's open ``fd`` to the next flush (fsync it now if strict/closed)."""
        if self.wait:
            os.close(fd)  # already fsynced, and its folder after the link
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._batch.fds.append(fd)
                self._batch.dirs.add(directory)
            pending = len(self._batch.fds)
        if closed:  # closed meanwhile: nobody will flush it, so sync it here
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(directory)
            return
        if pending >= self.max_pending:  # flushes are falling behind: writers help
            self.flush()

    @staticmethod
    def _link(tmp: str, target: str, data: bytes, mode: int) -> None:
        try:
            os.link(tmp, target)  # FileExistsError if taken
        except FileExistsError:
            raise
        except OSError as err:
            if err.errno not in _NO_LINK:
                raise
            _create_exclusive(tmp, target, data, mode)  # no hard links here: fsyncs itself
            return
        os.unlink(tmp)

    def flush(self) -> None:
        """Make every file written so far durable (raises the batch's sync error)."""
        with self._flush_lock:
            batch = self._flush_locked()
        if batch.error is not None:
            raise batch.error

    def _flush_locked(self) -> _Batch:
        with self._lock:
            batch, self._batch = self._batch, _Batch()
        try:
            if batch.fds and not _syncfs(batch.fds[0]):
                for fd in batch.fds:
                    os.fsync(fd)
                for directory in sorted(batch.dirs):
                    _fsync_dir(directory)
        except OSError as err:
            batch.error = err
        finally:
            for fd in batch.fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            batch.done.set()
        return batch

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except OSError as err:  # nobody waits on a batch write: say it where it is seen
                import sys

                sys.stderr.write(f"gait: background fsync failed: {err}\n")

    def close(self) -> None:
        """Flush what is pending and stop the flusher; later writes are fsynced one by one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._closed = True
        self.flush()

    def pending(self) -> int:
        """Files written but not yet flushed."""
        with self._lock:
            return len(self._batch.fds)


_SYNCFS: list[object] = []


def _syncfs(fd: int) -> bool:
    """``syncfs(2)`` on the filesystem holding ``fd``; False where it is not available.

    One call flushes every file and folder of the batch (Linux reports writeback
    errors from it since 5.8)."""
    if not _SYNCFS:
        func = None
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                func = ctypes.CDLL(None, use_errno=True).syncfs
        _SYNCFS.append(func)
    func = _SYNCFS[0]
    if func is None:
        return False
    if func(fd) != 0:  # type: ignore[operator]
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return True
