"""Baselines: accept today's findings so CI fails only on new ones.

An entry names a finding by what it is about, not by where it was written: the rule, the file
(relative to the repository's top level, so the baseline works from any directory) and the
entity the check names (``Finding.entity``: a component, one of its listeners, a pool). Adding a
comment to the line, moving a service down the file or re-quoting a port leaves it matched. A
finding whose check names no entity is identified by its message, which is built from parsed
values, never from the line's text. Entries count: two findings of one rule about one entity in
one file need two entries.

Version-1 files (entries keyed by a fingerprint of the line's text) are still read, so upgrading
the tool does not fail every pipeline at once; their entries match as before, and the report
suggests ``--update-baseline``, which always writes version 2.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bitriver_lint import journal
from bitriver_lint.errors import ConfigError
from bitriver_lint.model import Finding
from bitriver_lint.output import write_file
from bitriver_lint.report import BaselineEntry, BaselineSummary

__all__ = ["Baseline", "BaselineEntry", "BaselineSummary", "apply", "entry_for", "read", "repository_path", "write"]

VERSION = 2
_Key = tuple[str, str, str]


@dataclass(frozen=True)
class Baseline:
    path: Path
    version: int
    entries: tuple[BaselineEntry, ...]
    fingerprints: tuple[str, ...] = ()  # version 1: one per entry, in the same order


def repository_path(root: Path, repository: Path, path: str) -> str:
    """``path`` (relative to the scan root) relative to the repository's top level, POSIX style."""
    relative = os.path.relpath(os.path.normpath(root / path), repository)
    return Path(relative).as_posix()


def entry_for(finding: Finding, path: str) -> BaselineEntry:
    return BaselineEntry(finding.rule_id, path, finding.entity, finding.message)


def _key(entry: BaselineEntry) -> _Key:
    return (entry.rule_id, entry.path, entry.entity or entry.message)


def write(path: Path, entries: Iterable[BaselineEntry]) -> None:
    """Replace ``path`` all at once (see ``output.write_file``); ``OutputError`` if it cannot be.
    Entries are sorted, so the file changes only where the findings do."""
    rows = [{"rule_id": e.rule_id, "path": e.path, "entity": e.entity, "message": e.message}
            for e in sorted(entries)]

    def dump(stream: TextIO) -> None:
        json.dump({"version": VERSION, "findings": rows}, stream, indent=2)
        stream.write("\n")

    write_file(path, dump, option="--baseline")


def read(path: Path) -> Baseline:
    try:
        # A device (/dev/full, /dev/zero) would be read for ever: only a regular file is a baseline.
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"--baseline: {path} is not a regular file")
        raw = path.read_bytes()
        journal.note_read(path, raw)
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"--baseline: {path} does not exist (create it with --update-baseline)") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--baseline: {path} is not a bitriver-lint baseline: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ConfigError(f"--baseline: {path} is not a bitriver-lint baseline: no `findings` list")
    version = data.get("version")
    if version not in (1, VERSION):
        raise ConfigError(f"--baseline: {path} has version {version!r}; this bitriver-lint reads versions 1 and "
                          f"{VERSION} (a newer release wrote it?)")
    fields = ("rule_id", "path", "fingerprint") if version == 1 else ("rule_id", "path", "entity", "message")
    entries: list[BaselineEntry] = []
    fingerprints: list[str] = []
    for i, row in enumerate(data["findings"]):
        if not isinstance(row, dict) or not all(isinstance(row.get(f), str) for f in fields):
            raise ConfigError(f"--baseline: {path}: findings[{i}] needs the string fields {', '.join(fields)}")
        if version == 1:
            fingerprints.append(row["fingerprint"])
            entries.append(BaselineEntry(row["rule_id"], row["path"], "",
                                         f"version-1 entry {row['fingerprint']}"))
        else:
            entries.append(BaselineEntry(*(row[f] for f in fields)))
    return Baseline(path, version, tuple(entries), tuple(fingerprints))


def apply(
    findings: list[Finding],
    baseline: Baseline,
    path_of: Callable[[Finding], str],
    in_scope: Callable[[BaselineEntry], bool],
    *,
    hide: bool = True,
) -> tuple[list[Finding], BaselineSummary]:
    """Leave out (when ``hide``) the active findings the baseline accepts; say how many, and
    which entries matched nothing although the scan looked where they point (stale)."""
    outside = [e for e in baseline.entries if not in_scope(e)]
    if baseline.version == 1:
        ours = [(e, fp) for e, fp in zip(baseline.entries, baseline.fingerprints, strict=True) if in_scope(e)]
        available = Counter(fp for _, fp in ours)
        match_of: Callable[[Finding], str] = lambda f: f.fingerprint  # noqa: E731
        keyed = ours
    else:
        keyed = [(e, "\x00".join(_key(e))) for e in baseline.entries if in_scope(e)]
        available = Counter(k for _, k in keyed)
        match_of = lambda f: "\x00".join(_key(entry_for(f, path_of(f))))  # noqa: E731
    used: Counter[str] = Counter()
    kept: list[Finding] = []
    for finding in findings:
        key = match_of(finding) if finding.suppression is None else None
        if key is not None and used[key] < available[key]:
            used[key] += 1
            if hide:
                continue
        kept.append(finding)
    hidden = sum(used.values())
    stale: list[BaselineEntry] = []
    for entry, key in keyed:
        if used[key] > 0:
            used[key] -= 1
        else:
            stale.append(entry)
    summary = BaselineSummary(str(baseline.path), hidden, tuple(sorted(stale)), tuple(sorted(outside)),
                              baseline.version)
    return kept, summary
