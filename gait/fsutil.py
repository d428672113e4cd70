"""Small filesystem helpers shared by every artifact writer.

Artifacts (keys, traces, runpacks, regress results) must never be observed
half-written: a reader either sees the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import os

__all__ = ["atomic_write", "go_os_error", "read_regular_file"]

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
    import tempfile  # only writers pay for it; readers import this module too

    target = _writable_target(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
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
