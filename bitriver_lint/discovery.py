"""Find the deployment files under the given paths and tell which format each one is.

Which format a file is, the format registry (``formats.REGISTRY``) says: by name where it can
(``docker-compose.yml``, ``*.service``, ``*.tf``, ``Caddyfile``), otherwise after a quick look
at the content (a ``*.yml`` is compose only if it has a top-level ``services:``; a ``*.conf``
can be nginx, HAProxy or a systemd drop-in). This module only walks the tree and asks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pathspec

from bitriver_lint import formats as registry
from bitriver_lint.formats import Claim, FileName, Format
from bitriver_lint.workspace import FileProblem, Workspace

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".terraform", ".venv", "venv", "__pycache__", ".tox"}
SNIFF_BYTES = 64 * 1024


@dataclass
class Discovery:
    """Root-relative paths by format, plus the git-ignored paths seen on the way."""

    by_format: dict[str, list[str]] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)
    # Files seen but never opened, with the reason: FIFOs, devices, links out of the tree.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, fmt: str, rel: str) -> None:
        self.by_format.setdefault(fmt, []).append(rel)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_format.values())


def sniff(rel: str, ws: Workspace, formats: Sequence[Format] | None = None) -> str | None:
    """The format of one file, or None when it is none of ours (``formats``: the registry's)."""
    formats = registry.REGISTRY if formats is None else formats
    file = FileName.of(rel)
    for fmt in formats:
        claim = fmt.by_name(file)
        if claim is Claim.YES:
            return fmt.name
        if claim is Claim.LOOK:
            head = _head(rel, ws)
            return fmt.name if head is not None and fmt.by_content(file, head) is Claim.YES else None
    readers = [fmt for fmt in formats if fmt.looks_inside(file)]
    if not readers:
        return None
    head = _head(rel, ws)
    if head is None:
        # Unreadable: only claim it when the name is unambiguous enough to be ours.
        return None
    for fmt in readers:
        claim = fmt.by_content(file, head)
        if claim is Claim.YES:
            return fmt.name
        if claim is Claim.NO:
            return None
    return None


def might_be_ours(rel: str, formats: Sequence[Format] | None = None) -> bool:
    """Whether a format would claim a file of this name, or look inside it: worth a "skipped"
    line when the file cannot be read."""
    formats = registry.REGISTRY if formats is None else formats
    file = FileName.of(rel)
    return any(fmt.by_name(file) is not Claim.PASS or fmt.looks_inside(file) for fmt in formats)


def _head(rel: str, ws: Workspace) -> str | None:
    try:
        return ws.read_text(rel)[:SNIFF_BYTES]
    except FileProblem:
        return None


class GitIgnores:
    """The tree's .gitignore files, each applying below its own directory as in git (a file is
    ignored when any of them matches it; git-ignored files are not committed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            path = self.root / directory / ".gitignore"
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else None
            except OSError:
                lines = None
            self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[directory]

    def match_file(self, rel: str) -> bool:
        parts = PurePosixPath(rel).parts
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                return True
        return False


def discover(paths: Iterable[Path], ws: Workspace, exclude: list[str]) -> Discovery:
    """Walk ``paths`` (files or directories) below ``ws.root``."""
    found = Discovery()
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
    ignored = GitIgnores(ws.root)
    ws.ignore_spec = ignored
    seen: set[str] = set()

    def consider(rel: str, explicit: bool) -> None:
        if rel in seen:
            return
        seen.add(rel)
        if excluded is not None and excluded.match_file(rel):
            return
        if ignored.match_file(rel):
            found.ignored.add(rel)
            if not explicit:
                return
        fmt = sniff(rel, ws)
        if fmt is None and not explicit and not might_be_ours(rel):
            return
        refused = ws.refusal(rel)
        if refused is not None and PurePosixPath(rel).parent.name.endswith((".wants", ".requires")):
            return  # `systemctl enable` links (to /etc/systemd/...): the unit loader reads their names
        if refused is None or (refused.kind == "outside" and fmt is not None):
            # A link out of the tree whose name says it is ours is kept: its loader reports
            # the refusal as a BRL001 at the link, without opening it.
            if fmt is not None:
                found.add(fmt, rel)
        else:
            found.skipped.append((rel, refused.message))

    for path in paths:
        if not path.is_dir():
            consider(ws.rel(path), explicit=True)
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for filename in sorted(filenames):
                consider(ws.rel(Path(dirpath) / filename), explicit=False)
    for rels in found.by_format.values():
        rels.sort()
    return found
