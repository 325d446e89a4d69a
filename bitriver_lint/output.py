"""Writing reports (``--output``) and baselines so that no failure leaves a broken file behind.

A regular file is written to a temporary file beside it, flushed to disk, then renamed over it:
whenever the process is killed, the path holds either the previous file or the complete new one.
A path that exists and is not a regular file (``/dev/stdout``, ``/dev/full``, a pipe, or a
symbolic link to one of those) is written through directly, as a shell redirection would; a
symbolic link to a regular file is replaced, never followed. Any failure becomes one line
naming the option and the path (exit 2).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from bitriver_lint.reporters._safe import printable


class OutputError(click.ClickException):
    """A file that cannot be written; the CLI prints it as one line and exits 2."""

    def __init__(self, option: str, path: Path, reason: OSError) -> None:
        why = reason.strerror or str(reason) or type(reason).__name__
        super().__init__(f"{option}: cannot write {printable(str(path))}: {why}")


def check_writable(path: Path, *, option: str) -> None:
    """``OutputError`` now, before a scan, for a path ``write_file`` could not write: a missing
    or unwritable directory, a directory in its place. A full disk is only found by writing."""
    try:
        try:
            mode: int | None = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if mode is not None and not stat.S_ISREG(mode):
            if not os.access(path, os.W_OK):  # a device or pipe is written through, as it is
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return
        parent = path.parent
        if not stat.S_ISDIR(os.stat(parent).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
        # A regular file is replaced by a new one beside it: the directory must take new files.
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(parent))
    except OSError as exc:
        raise OutputError(option, path, exc) from exc


def write_file(path: Path, write: Callable[[TextIO], None], *, option: str) -> None:
    """Write ``path`` with ``write(stream)``; ``option`` names the flag in the error message."""
    try:
        try:
            mode: int | None = os.lstat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and stat.S_ISLNK(mode):
            # A link planted in a checkout must not redirect the report onto a file it points
            # at (~/.bashrc): the link itself is replaced. A link to a device (/dev/stdout) is
            # written through, as a shell redirection would.
            try:
                target_mode: int | None = os.stat(path).st_mode
            except OSError:
                target_mode = None
            if target_mode is None or stat.S_ISREG(target_mode):
                mode = None
        if mode is None or stat.S_ISREG(mode):
            _replace(path, write, mode)
        elif stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        else:
            _write_through(path, write)
    except OSError as exc:
        raise OutputError(option, path, exc) from exc


def _replace(path: Path, write: Callable[[TextIO], None], mode: int | None) -> None:
    fd, temporary = _create_beside(path)
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode & 0o777)  # a replaced file keeps its permissions
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, empty file in ``path``'s directory (created with the usual umask-derived mode)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = path.parent / f".{path.name[:100]}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def _write_through(path: Path, write: Callable[[TextIO], None]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        write(stream)
        stream.flush()


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort (not every system can open a directory)."""
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
