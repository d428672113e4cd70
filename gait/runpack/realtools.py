"""The built-in tools real replay may run (runpack.md §6.5, unsafe, opt-in).

Only three kinds exist, each as narrow as it can be:

* ``echo`` / ``tool.echo``: returns ``args.message`` (default ``echo``).
* ``file.write`` / ``fs.write`` / ``write_file``: writes ``args.content`` to
  ``args.path``, which must resolve inside the working directory (no
  absolute path elsewhere, no ``..`` escape, no symlink leading out);
  written atomically, mode 0600.
* ``shell.exec`` / ``exec`` / ``command.run``: runs ``args.argv`` (a list of
  strings) or ``args.command`` split like a shell would split it, but never
  through a shell: no pipes, globbing, expansion or redirection. It runs in
  the working directory with a timeout; output is capped.

The result digest is the SHA-256 of the tool's output text (echo message,
written content, command output), as the reference computes it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gait.canonical import sha256_hex

__all__ = ["BUILTINS", "EXEC_TIMEOUT_SECONDS", "MAX_OUTPUT_BYTES", "ToolRun", "builtin", "run_tool"]

BUILTINS = {
    "echo": "echo",
    "tool.echo": "echo",
    "file.write": "file.write",
    "fs.write": "file.write",
    "write_file": "file.write",
    "shell.exec": "shell.exec",
    "exec": "shell.exec",
    "command.run": "shell.exec",
}
EXEC_TIMEOUT_SECONDS = 5.0
MAX_OUTPUT_BYTES = 64 * 1024


class ToolError(Exception):
    """The tool ran (or was attempted) and failed; reported as an ``error`` step."""


@dataclass(frozen=True)
class ToolRun:
    status: str  # "ok" | "error"
    result_digest: str
    error: str = ""


def builtin(tool_name: str) -> str:
    """The built-in a tool name stands for, or ``""``."""
    return BUILTINS.get(tool_name.strip().lower(), "")


def _text_arg(args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    return value if isinstance(value, str) else ""


def _confined(path: str, workdir: str) -> str:
    root = os.path.realpath(workdir)
    target = path if os.path.isabs(path) else os.path.join(root, path)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(target)))
    full = os.path.join(parent, os.path.basename(target))
    if os.path.commonpath([root, parent]) != root or os.path.basename(target) in ("", ".", ".."):
        raise ToolError(f"file.write path escapes the working directory: {path}")
    if os.path.islink(full):
        raise ToolError(f"file.write refuses to write through a symlink: {path}")
    return full


def _write(args: Mapping[str, Any], workdir: str) -> str:
    from gait.fsutil import atomic_write

    path = _text_arg(args, "path").strip()
    if not path:
        raise ToolError("file.write requires args.path")
    content = _text_arg(args, "content")
    full = _confined(path, workdir)
    parent = os.path.dirname(full)
    os.makedirs(parent, mode=0o750, exist_ok=True)
    # makedirs may have followed a symlinked component created meanwhile: check again.
    _confined(os.path.relpath(full, os.path.realpath(workdir)), workdir)
    try:
        atomic_write(full, content.encode("utf-8"), 0o600)
    except OSError as err:
        raise ToolError(f"file.write: {err.strerror or err}") from err
    return content


def _argv(args: Mapping[str, Any]) -> list[str]:
    argv = args.get("argv")
    if argv is not None:
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ToolError("shell.exec args.argv must be a non-empty list of strings")
        return list(argv)
    command = _text_arg(args, "command").strip()
    if not command:
        raise ToolError("shell.exec requires args.argv or args.command")
    try:
        parts = shlex.split(command)
    except ValueError as err:
        raise ToolError(f"shell.exec command: {err}") from err
    if not parts:
        raise ToolError("shell.exec requires args.argv or args.command")
    return parts


def _exec(args: Mapping[str, Any], workdir: str) -> tuple[str, str]:
    argv = _argv(args)
    try:
        proc = subprocess.run(
            argv,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=EXEC_TIMEOUT_SECONDS,
            shell=False,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolError(f"shell.exec timed out after {EXEC_TIMEOUT_SECONDS:g}s") from err
    except OSError as err:
        raise ToolError(f"shell.exec {argv[0]}: {err.strerror or err}") from err
    output = proc.stdout[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
    return output, ("ok" if proc.returncode == 0 else "error")


def run_tool(tool_name: str, args: Mapping[str, Any] | None, workdir: str) -> ToolRun:
    """Run one built-in; failures become an ``error`` run (digest of the error text)."""
    kind = builtin(tool_name)
    plain = args or {}
    try:
        if kind == "echo":
            message = _text_arg(plain, "message").strip() or "echo"
            return ToolRun("ok", sha256_hex(message.encode("utf-8")))
        if kind == "file.write":
            return ToolRun("ok", sha256_hex(_write(plain, workdir).encode("utf-8")))
        if kind == "shell.exec":
            output, status = _exec(plain, workdir)
            return ToolRun(status, sha256_hex(output.encode("utf-8")))
        raise ToolError(f"unsupported real tool: {tool_name}")
    except ToolError as err:
        text = str(err)
        return ToolRun("error", sha256_hex(text.encode("utf-8")), text)
