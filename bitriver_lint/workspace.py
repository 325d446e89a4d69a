"""The files of one scan: the one gate every read goes through, and a cache of decoded text.

A scanned tree comes from someone's pull request, so a path named inside it (``env_file``,
``extends``, ``include``, ``file()``, a symlink) is hostile until proven otherwise. Only
regular files inside the *containment root* are ever opened: the git work tree that holds the
scan path, or the scan path itself outside git. Symlinks are resolved before that test, so a
link that stays inside the tree keeps working and one that leaves it is refused. FIFOs,
sockets and devices are never opened (``open()`` on a FIFO blocks forever), and reads stop at
the size cap plus one byte whatever ``stat`` says (``/dev/zero`` reports size 0).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitriver_lint import journal
from bitriver_lint.model import LocatedError

if TYPE_CHECKING:
    from bitriver_lint.cache import Cache

MAX_FILE_BYTES = 5 * 1024 * 1024


class FileProblem(LocatedError):
    """A file that cannot be read as text; becomes BRL001 at ``line``:``column``."""


class Refused(FileProblem):
    """The gate would not open the file. ``kind`` is ``outside`` (the tree), ``missing``,
    ``directory`` or ``special`` (FIFO, socket, device). The message names the reason only,
    never anything of the target."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def containment_root(path: Path) -> Path:
    """The git work tree holding ``path`` (a ``.git`` directory or file at or above it), else
    ``path`` itself (its directory, for a file)."""
    start = Path(os.path.realpath(path))
    if not start.is_dir():
        start = start.parent
    for directory in (start, *start.parents):
        journal.note_probe(directory / ".git")
        if (directory / ".git").exists():
            return directory
    return start


@dataclass
class Workspace:
    """The scan root plus a cache of decoded files. Paths given to it are root-relative."""

    root: Path
    # A pathspec of the root .gitignore (set by discovery): ignored files are not committed.
    ignore_spec: Any = None
    jobs: int = 1  # how many processes may parse files at once (``--jobs``)
    # Directories whose files may be read (resolved); by default the root's containment root.
    boundary: tuple[Path, ...] = ()
    # Files read together to make one document (a compose project with its extends bases and
    # .env, a Terraform root with its modules and tfvars): a change to any of them may move a
    # finding located in any other (``--changed``).
    groups: set[frozenset[str]] = field(default_factory=set)
    # Parses kept between runs (``--no-cache``: None); loaders go through ``cache.memo``.
    cache: Cache | None = None
    _cache: dict[str, str] = field(default_factory=dict)
    _lines: dict[str, list[str]] = field(default_factory=dict)
    _recorders: list[set[str]] = field(default_factory=list)
    # The gate resolves each directory once and judges each file once per scan (a scan reads a
    # tree that does not change under it; the read itself still refuses links and non-files):
    # a directory as named -> its real path, and a file -> its real path or why it is refused.
    _real_dirs: dict[str, str] = field(default_factory=dict)
    _verdicts: dict[str, str | tuple[str, str]] = field(default_factory=dict)
    _bounds: tuple[tuple[str, str], ...] = ()  # each boundary, and it with a trailing "/"
    _bounds_of: tuple[Path, ...] | None = None  # the boundary ``_bounds`` was made from

    def __post_init__(self) -> None:
        if not self.boundary:
            self.boundary = (containment_root(self.root),)

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def rel(self, path: str | Path) -> str:
        """``path`` relative to the root; a symlink keeps its own name (it is not followed)."""
        absolute = os.path.abspath(path)
        head, name = os.path.split(absolute)
        real = _join(self._real_dir(head), name)
        root = self._real_dir(os.fspath(self.root))
        if real == root:
            return "."
        prefix = root if root.endswith("/") else root + "/"
        if real.startswith(prefix):
            return real[len(prefix):]
        return Path(absolute).as_posix()

    def folder_rel(self, directory: str | Path) -> str | None:
        """``directory`` resolved, relative to the root ("" for the root itself), or None when it
        lies outside: ``rel(directory/name)`` is then this joined with ``name``."""
        real = self._real_dir(os.path.abspath(directory))
        root = self._real_dir(os.fspath(self.root))
        if real == root:
            return ""
        prefix = root if root.endswith("/") else root + "/"
        return real[len(prefix):] if real.startswith(prefix) else None

    def _real_dir(self, directory: str) -> str:
        """``os.path.realpath(directory)``, worked out once per scan for each directory."""
        real = self._real_dirs.get(directory)
        if real is None:
            real = self._real_dirs[directory] = os.path.realpath(directory)
        return real

    def is_ignored(self, rel: str) -> bool:
        return self.ignore_spec is not None and bool(self.ignore_spec.match_file(rel))

    def inside(self, real: str | Path) -> bool:
        """Whether a resolved path lies within the containment root."""
        return self._inside(str(Path(real)))

    def _inside(self, real: str) -> bool:
        # ``real`` is absolute and normalised (what realpath gives): a string test is exact.
        if self._bounds_of is not self.boundary:
            bounds = [str(Path(b)) for b in self.boundary]
            self._bounds = tuple((b, b.rstrip("/") + "/") for b in bounds)
            self._bounds_of = self.boundary
            self._verdicts.clear()
        return any(real == bound or real.startswith(below) for bound, below in self._bounds)

    def admit(self, rel: str) -> Path:
        """The real path behind ``rel`` when the gate lets it be read; raises Refused otherwise."""
        return Path(self._admit(rel))

    def _admit(self, rel: str) -> str:
        verdict = self._verdict(rel)
        if isinstance(verdict, str):
            return verdict
        message, kind = verdict
        raise Refused(message, kind)

    def _verdict(self, rel: str) -> str | tuple[str, str]:
        """The real path behind ``rel``, or why the gate refuses it: (message, kind)."""
        verdict = self._verdicts.get(rel)
        if verdict is None:
            journal.note_probe(os.path.join(self.root, rel))  # the scan memo keeps one look per path
            verdict = self._verdicts[rel] = self._judge(rel)
        return verdict

    def _judge(self, rel: str) -> str | tuple[str, str]:
        full = os.path.join(self.root, rel)
        head, name = os.path.split(full)
        info: os.stat_result | None = None
        if name in ("", ".", ".."):
            real = os.path.realpath(full)
        else:
            # realpath(head/name) is realpath(head)/name unless name is itself a link: one
            # lstat tells, and its answer is the file's mode when it is not a link.
            real = _join(self._real_dir(head), name)
            try:
                info = os.lstat(real)
            except OSError:
                info = None
            if info is not None and stat.S_ISLNK(info.st_mode):
                real, info = os.path.realpath(real), None
        if not self._inside(real):
            link = " (through a symlink)" if self._inside(os.path.abspath(full)) else ""
            return f"{rel} is outside the scanned tree{link}; not read", "outside"
        try:
            mode = (info or os.stat(real)).st_mode
        except OSError:
            return f"{rel} does not exist", "missing"
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                return f"{rel} is a directory", "directory"
            return f"{rel} is not a regular file (a FIFO, socket or device); not opened", "special"
        return real

    def refusal(self, rel: str) -> Refused | None:
        """Why ``rel`` cannot be read, or None when it can."""
        for recorder in self._recorders:
            recorder.add(rel)  # looked for: adding it would change what was read
        verdict = self._verdict(rel)
        return None if isinstance(verdict, str) else Refused(*verdict)

    def exists(self, rel: str) -> bool:
        """A regular file the gate admits."""
        return self.refusal(rel) is None

    def listdir(self, rel_dir: str) -> list[str]:
        """Names in a directory of the tree (sorted); empty when it is outside or not a directory."""
        real = Path(self._real_dir(os.path.join(self.root, rel_dir)))
        journal.note_probe(self.abspath(rel_dir) if rel_dir else self.root)
        journal.note_listing(real)
        if not self._inside(str(real)) or not real.is_dir():
            return []
        try:
            return sorted(os.listdir(real))
        except OSError:
            return []

    @contextmanager
    def recording(self) -> Iterator[set[str]]:
        """The files read, or looked for, inside the block (cached or not)."""
        read: set[str] = set()
        self._recorders.append(read)
        try:
            yield read
        finally:
            self._recorders.remove(read)

    def group(self, files: Iterable[str]) -> None:
        """Record that ``files`` were read together to build one document."""
        members = frozenset(files)
        if len(members) > 1:
            self.groups.add(members)

    def read_text(self, rel: str) -> str:
        """Decoded text of a file; raises FileProblem for gate, size or encoding problems."""
        for recorder in self._recorders:
            recorder.add(rel)
        if rel in self._cache:
            return self._cache[rel]
        real = self._admit(rel)
        data = self._read_bytes(real)
        journal.note_read(real, data)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise FileProblem(
                f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, column
            ) from exc
        if "\x00" in text:
            offset = text.index("\x00")
            line = text.count("\n", 0, offset) + 1
            raise FileProblem("binary file (NUL byte)", line, offset - text.rfind("\n", 0, offset))
        self._cache[rel] = text
        return text

    @staticmethod
    def _read_bytes(real: str | Path) -> bytes:
        try:
            data = journal.read_regular(real, MAX_FILE_BYTES + 1)
        except journal.NotRegular:
            raise Refused("not a regular file; not read", "special") from None
        except OSError as exc:
            raise FileProblem(f"cannot read file: {exc.strerror or exc}") from exc
        if len(data) > MAX_FILE_BYTES:
            raise FileProblem(f"file is over the {MAX_FILE_BYTES}-byte limit")
        return data

    def cached(self) -> list[str]:
        """Every file read so far: the ones a scan looked at, for suppression comments."""
        return list(self._cache)

    def line_text(self, rel: str, line: int) -> str:
        lines = self._lines.get(rel)
        if lines is None:
            try:
                lines = self._lines[rel] = self.read_text(rel).splitlines()
            except FileProblem:
                return ""
        return lines[line - 1] if 0 < line <= len(lines) else ""


def _join(directory: str, name: str) -> str:
    """``directory/name`` as Path would join them (the root directory has its own slash)."""
    if not name:
        return directory
    return directory + name if directory.endswith("/") else directory + "/" + name
