"""The file system as one scan saw it: what it read, listed and looked for (see ``memo``).

Every place that reads the file system for a scan reports here (``note_read``, ``note_listing``,
``note_probe``); outside ``recording`` these cost one test. This module imports nothing of the
project, so loaders, the config and the read gate can report without pulling anything in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import stat
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any


@dataclasses.dataclass
class Journal:
    """What one scan observed of the file system (absolute paths, as the scan used them)."""

    # path -> (SHA-256 of the bytes read, how many): a replay reads no more than one byte past them.
    reads: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    listings: dict[str, tuple[tuple[str, str], ...]] = dataclasses.field(default_factory=dict)
    probes: dict[str, str] = dataclasses.field(default_factory=dict)  # path -> what is there
    trees: dict[str, tuple[tuple[str, str], ...]] = dataclasses.field(default_factory=dict)  # walked whole
    skip: frozenset[str] = frozenset()  # directory names the tree listings do not enter
    # What the audit hook saw opened and listed, and what of it no read site reported.
    opened: set[str] = dataclasses.field(default_factory=set)
    listed: set[str] = dataclasses.field(default_factory=set)
    unaccounted: set[str] = dataclasses.field(default_factory=set)


_journal: Journal | None = None


def note_read(path: str | Path, data: bytes) -> None:
    """A scan read ``data`` from ``path``: the memo is valid while the file holds these bytes."""
    if _journal is not None:
        _journal.reads[os.path.abspath(path)] = (hashlib.sha256(data).hexdigest(), len(data))


def note_listing(path: str | Path) -> None:
    """A scan listed the directory ``path``."""
    if _journal is not None:
        where = os.path.abspath(path)
        _journal.listings[where] = listing(where)


def note_probe(path: str | Path, *, size: bool = False) -> None:
    """A scan looked whether something is at ``path`` (and what: file, directory, link), and
    with ``size`` how big a file is (an empty unit file is an alias)."""
    if _journal is not None:
        where = os.path.abspath(path)
        _journal.probes[where] = _sized(where) if size else what(where)


def _sized(path: str) -> str:
    try:
        return f"size:{os.stat(path).st_size}:{what(path)}"
    except OSError:
        return f"size:?:{what(path)}"


def what(path: str) -> str:
    """What is at ``path``: its kind, and a link's target (a link re-pointed is a change)."""
    try:
        info = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        # Where the link ends up, through every link on the way: the read gate's inside/outside
        # decision is made on that.
        return f"link:{target}:{os.path.realpath(path)}:{_what_followed(path)}"
    return _kind(info.st_mode)


def _what_followed(path: str) -> str:
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return "missing"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def listing(directory: str) -> tuple[tuple[str, str], ...]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return (("", "unlistable"),)
    return tuple((name, what(os.path.join(directory, name))) for name in names)


def walk(top: str, skip: Collection[str]) -> tuple[tuple[str, str], ...]:
    """Every entry below ``top`` (relative path, what it is), entering every directory whose
    name is not in ``skip`` and not following links to directories, as discovery walks; the
    first entry is where ``top`` itself resolves."""
    out: list[tuple[str, str]] = [("", f"root@{os.path.realpath(top)}")]
    stack = [""]
    while stack:
        rel = stack.pop()
        directory = os.path.join(top, rel) if rel else top
        for name, what in listing(directory):
            child = f"{rel}/{name}" if rel else name
            out.append((child, what))
            if what == "dir" and name not in skip:
                stack.append(child)
    out.sort()
    return tuple(out)


class NotRegular(OSError):
    """What was opened is not a regular file (a FIFO, a device, a directory put there since)."""


def read_regular(path: str | Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file at ``path``, opened without following a final
    link and without blocking (a FIFO swapped in since the path was judged would hang a plain
    open); ``fstat`` then checks what was really opened. Raises ``NotRegular``, or ``OSError``
    for a file that cannot be opened or read. The one way a scan's file is read: the read gate
    (``Workspace``) and the memo's replay both come here."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(f"{path} is not a regular file")
        chunks: list[bytes] = []
        total = 0
        while total < limit:
            chunk = os.read(fd, min(1 << 20, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _unchanged(path: str, digest: str, size: int) -> bool:
    """Whether the file still holds the ``size`` bytes of ``digest``: one byte more is read, so a
    file that grew differs without being read whole."""
    try:
        data = read_regular(path, size + 1)
    except OSError:
        return False
    return len(data) == size and hashlib.sha256(data).hexdigest() == digest


def still(journal: Journal) -> bool:
    """Whether the file system still shows what the journal saw."""
    for top, entries in journal.trees.items():
        if walk(top, journal.skip) != entries:
            return False
    for path, seen in journal.probes.items():
        if (_sized(path) if seen.startswith("size:") else what(path)) != seen:
            return False
    for directory, entries in journal.listings.items():
        if listing(directory) != entries:
            return False
    return all(_unchanged(path, digest, size) for path, (digest, size) in journal.reads.items())


class _Tops:
    """Directories to test many paths against: one C-level ``startswith`` per path."""

    def __init__(self, tops: Iterable[str]) -> None:
        self.exact = frozenset(tops)
        self.prefixes = tuple(top.rstrip("/") + "/" for top in self.exact)

    def holds(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.prefixes)


# The audit hook: installed once per process (hooks cannot be removed), it does nothing unless
# a journal records.
_hooked = False
_own = _Tops(())  # directories of the tool's own files (see ``recording``)
_path_entries: frozenset[str] = frozenset()  # sys.path: the import system lists these itself


def _audit(event: str, args: tuple[Any, ...]) -> None:
    journal = _journal
    if journal is None:
        return
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if not isinstance(path, str | bytes | os.PathLike):
            return  # a file descriptor: opened before, by path
        if isinstance(mode, str):
            writing = any(c in mode for c in "wax+")
        else:
            writing = isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if not writing:  # reports, cache entries: outputs, not inputs
            journal.opened.add(os.path.abspath(os.fsdecode(path)))
    elif event in ("os.listdir", "os.scandir"):
        path = args[0] if args else "."
        if isinstance(path, str | bytes | os.PathLike):
            journal.listed.add(os.path.abspath(os.fsdecode(path) or "."))


def _under(path: str, tops: Iterable[str]) -> bool:
    return any(path == top or path.startswith(top.rstrip("/") + "/") for top in tops)


def _walked(path: str, journal: Journal) -> bool:
    """Whether the whole-tree listings cover the directory ``path``."""
    for top in journal.trees:
        if _under(path, (top,)):
            return not any(part in journal.skip for part in Path(os.path.relpath(path, top)).parts)
    return False


def _accounted(path: str, explicit: Mapping[str, object], journal: Journal | None) -> bool:
    def covered(candidate: str) -> bool:
        return candidate in explicit or _own.holds(candidate) or (
            journal is not None and _walked(candidate, journal))

    if covered(path):
        return True
    real = os.path.realpath(path)  # only when the path as opened is not accounted: a syscall per part
    return real != path and covered(real)


@contextlib.contextmanager
def recording(trees: Iterable[Path], skip: Collection[str], own: Iterable[Path]) -> Iterator[Journal]:
    """A journal of what the scan inside the block observes. ``trees``: the scan paths, listed
    whole (not entering ``skip``) before the scan starts. ``own``: directories of the tool's own
    files (its package, rule files, cache), which the tool's stamp covers; with the
    interpreter's and installed packages' directories they are not the scan's inputs."""
    global _journal, _hooked, _own, _path_entries
    journal = Journal(skip=frozenset(skip))
    for tree in trees:
        top = os.path.abspath(tree)
        if os.path.isdir(top):
            journal.trees[top] = walk(top, journal.skip)
        else:
            journal.probes[top] = what(top)
    tops = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/dev", "/proc", "/sys", *map(str, own)}
    tops.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p or p.endswith(".zip"))
    _own = _Tops({os.path.abspath(p) for p in tops} | {os.path.realpath(p) for p in tops})
    _path_entries = frozenset(os.path.abspath(p or ".") for p in sys.path)
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    _journal = journal
    try:
        yield journal
    finally:
        _journal = None
        # A file opened must have been hashed; a directory listed, listed again next time.
        journal.unaccounted = {p for p in journal.opened if not _accounted(p, journal.reads, None)}
        journal.unaccounted |= {p for p in journal.listed - _path_entries
                                if not _accounted(p, journal.listings, journal)}
        journal.opened, journal.listed = set(), set()
        # The tool's own files (its rules, say) are the tool stamp's business, not the replay's.
        for seen in (journal.reads, journal.listings, journal.probes):
            for path in [p for p in seen if _own.holds(p)]:
                del seen[path]
