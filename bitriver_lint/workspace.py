"""The files of one scan: reading them safely and knowing which are git-ignored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 5 * 1024 * 1024


class FileProblem(Exception):
    """A file that cannot be read as text; becomes BRL001 at ``line``:``column``."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class Workspace:
    """The scan root plus a cache of decoded files. Paths given to it are root-relative."""

    root: Path
    # A pathspec of the root .gitignore (set by discovery): ignored files are not committed.
    ignore_spec: Any = None
    jobs: int = 1  # how many processes may parse files at once (``--jobs``)
    _cache: dict[str, str] = field(default_factory=dict)
    _lines: dict[str, list[str]] = field(default_factory=dict)

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def is_ignored(self, rel: str) -> bool:
        return self.ignore_spec is not None and bool(self.ignore_spec.match_file(rel))

    def exists(self, rel: str) -> bool:
        return self.abspath(rel).is_file()

    def read_text(self, rel: str) -> str:
        """Decoded text of a file; raises FileProblem for size or encoding problems."""
        if rel in self._cache:
            return self._cache[rel]
        path = self.abspath(rel)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise FileProblem(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
            data = path.read_bytes()
        except OSError as exc:
            raise FileProblem(f"cannot read file: {exc.strerror or exc}") from exc
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
