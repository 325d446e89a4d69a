"""Find the deployment files under the given paths and tell which format each one is.

Which format a file is, the format registry (``formats.REGISTRY``) says: by name where it can
(``docker-compose.yml``, ``*.service``, ``*.tf``, ``Caddyfile``), otherwise after a quick look
at the content (a ``*.yml`` is compose only if it has a top-level ``services:``; a ``*.conf``
can be nginx, HAProxy or a systemd drop-in). This module only walks the tree and asks.

Nothing that looks like ours is dropped without a word: templates and samples of our files,
git-ignored ones, an Envoy bootstrap with nothing static, an nginx fragment of ``location``
blocks that no file includes: each goes to ``skipped`` with the reason it is not read.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from bitriver_lint import formats as registry
from bitriver_lint import journal
from bitriver_lint.formats import Claim, FileName, Format
from bitriver_lint.workspace import FileProblem, Workspace

if TYPE_CHECKING:
    import pathspec

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
    return classify(rel, ws, formats)[0]


def classify(rel: str, ws: Workspace, formats: Sequence[Format] | None = None) -> tuple[str | None, str | None]:
    """The format of one file; or, for a file that looks like ours but is not read (a template,
    a sample, an Envoy bootstrap with nothing static), None and the reason."""
    formats = registry.REGISTRY if formats is None else formats
    heads: list[str | None] = []

    def head() -> str | None:
        if not heads:
            heads.append(_head(rel, ws))
        return heads[0]

    file = FileName.of(rel)
    fmt, reason = _claim(file, head, formats)
    if fmt is None and reason is None:
        template = registry.template_of(file)
        if template is not None:
            stands_for, _ = _claim(template[0], head, formats)
            if stands_for is not None:
                reason = template[1].format(format=stands_for)
    return fmt, reason


def _claim(file: FileName, head: Callable[[], str | None],
           formats: Sequence[Format]) -> tuple[str | None, str | None]:
    for fmt in formats:
        claim = fmt.by_name(file)
        if claim is Claim.YES:
            return fmt.name, None
        if claim is Claim.LOOK:
            text = head()
            return (fmt.name if text is not None and fmt.by_content(file, text) is Claim.YES else None), None
    readers = [fmt for fmt in formats if fmt.looks_inside(file)]
    if not readers:
        return None, None
    text = head()
    if text is None:
        # Unreadable: only claim it when the name is unambiguous enough to be ours.
        return None, None
    for fmt in readers:
        claim = fmt.by_content(file, text)
        if claim is Claim.YES:
            return fmt.name, None
        if claim is Claim.NO:
            return None, None
    for fmt in readers:
        not_read: Callable[[FileName, str], str | None] | None = getattr(fmt, "not_read", None)
        reason = not_read(file, text) if not_read is not None else None
        if reason is not None:
            return None, reason
    return None, None


def _named(rel: str, formats: Sequence[Format] | None = None) -> str | None:
    """The format that claims a file by its name alone (nothing read)."""
    file = FileName.of(rel)
    for fmt in registry.REGISTRY if formats is None else formats:
        if fmt.by_name(file) is Claim.YES:
            return fmt.name
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


def gitignore_spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    # pathspec costs a tenth of a one-file scan to import: only trees with patterns pay for it.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


class GitIgnores:
    """The tree's .gitignore files, each applying below its own directory as in git (a file is
    ignored when any of them matches it; git-ignored files are not committed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        # A directory -> the .gitignore files that apply in it: (depth of their directory, spec).
        self._applying: dict[tuple[str, ...], list[tuple[int, pathspec.GitIgnoreSpec]]] = {}

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            path = self.root / directory / ".gitignore"
            journal.note_probe(path)
            try:
                data = path.read_bytes() if path.is_file() else None
            except OSError:
                data = None
            if data is not None:
                journal.note_read(path, data)
            lines = data.decode("utf-8", errors="replace").splitlines() if data is not None else None
            self._specs[directory] = gitignore_spec(lines) if lines else None
        return self._specs[directory]

    def match_file(self, rel: str) -> bool:
        parts = _parts(rel)
        folder = parts[:-1]
        applying = self._applying.get(folder)
        if applying is None:
            applying = self._applying[folder] = [
                (depth, spec) for depth in range(len(parts))
                if (spec := self._spec("/".join(parts[:depth]))) is not None]
        return any(spec.match_file("/".join(parts[depth:])) for depth, spec in applying)


def _parts(rel: str) -> tuple[str, ...]:
    """``PurePosixPath(rel).parts``; a plain relative a/b/c path is split as a string, which is
    a tenth of the cost (discovery asks for every file)."""
    parts = rel.split("/")
    if parts[0] and "" not in parts and "." not in parts:
        return tuple(parts)
    return PurePosixPath(rel).parts


def discover(paths: Iterable[Path], ws: Workspace, exclude: list[str], prune: Iterable[Path] = ()) -> Discovery:
    """Walk ``paths`` (files or directories) below ``ws.root``, not entering the directories
    of ``prune`` (resolved; another config governs them)."""
    pruned = {os.fspath(p) for p in prune}  # resolved, so the same strings os.walk gives
    found = Discovery()
    excluded = gitignore_spec(exclude) if exclude else None
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
                named = _named(rel)
                if named is not None:
                    found.skipped.append((rel, f"git-ignored: a {named} file that is not committed, so not read"))
                return
        fmt, reason = classify(rel, ws)
        if fmt is None and reason is None and not explicit and not might_be_ours(rel):
            return
        refused = ws.refusal(rel)  # once per file: the gate resolves links and stats the target
        if fmt is None and reason is not None and refused is None:
            found.skipped.append((rel, reason))
            return
        if fmt is None and not explicit and not might_be_ours(rel):
            return
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
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and os.path.join(dirpath, d) not in pruned)
            folder = ws.folder_rel(dirpath)  # what ws.rel gives each file, worked out once
            for filename in sorted(filenames):
                if folder is None:
                    consider(ws.rel(os.path.join(dirpath, filename)), explicit=False)
                else:
                    consider(f"{folder}/{filename}" if folder else filename, explicit=False)
    _drop_lone_nginx_fragments(found, ws)
    for rels in found.by_format.values():
        rels.sort()
    found.skipped.sort()
    return found


def _may_include(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Whether an include of ``pattern`` (often absolute: /etc/nginx/snippets/*.conf) may name the
    file at ``parts``: their trailing components match as far as both go."""
    return all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(reversed(parts), reversed(pattern), strict=False))


def _drop_lone_nginx_fragments(found: Discovery, ws: Workspace) -> None:
    """An nginx file of ``location`` blocks only is a piece of a ``server`` block: read where an
    include pulls it in, and nothing on its own. One that no nginx file of the tree includes
    (by its name, or a wildcard that matches it) is listed as skipped."""
    files = found.by_format.get("nginx", [])
    heads = {rel: _head(rel, ws) or "" for rel in files}
    fragments = [rel for rel in files if registry.nginx_fragment(heads[rel])]
    if not fragments:
        return
    patterns = {tuple(p for p in PurePosixPath(m.group(1).strip("\"'")).parts if p not in ("/", "."))
                for text in heads.values() for m in registry.NGINX_INCLUDE.finditer(text)}
    for rel in fragments:
        if any(_may_include(pattern, PurePosixPath(rel).parts) for pattern in patterns if pattern):
            continue
        files.remove(rel)
        found.skipped.append((rel, "an nginx fragment (location blocks only, for a server block) that no file "
                                   "of the tree includes: not valid on its own, so not read"))
    if not files:
        del found.by_format["nginx"]
