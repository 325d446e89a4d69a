"""The scan memo: a scan whose every input is unchanged answers from the cache, without loading,
building or checking anything (ruff skips unchanged files the same way).

What a scan reports is a function of three things:

1. the tool: its code, its rule files and data, the Python and the packages it runs on
   (``tool_stamp``: the content of every source and rule file, the interpreter, and the
   modification time of every ``sys.path`` directory, which installing or removing a package
   changes);
2. the command: the scan paths, the options that shape the report, the working directory (paths
   are printed relative to it) and today's date (``until:`` expiries);
3. what the scan observed of the file system: the files it read, byte for byte (the scanned
   tree, configs, ``.gitignore`` files, the baseline, custom rules), the directories it listed,
   and the paths it looked for outside the scanned directories (a ``.git`` or a config above
   them, a Terraform module or ``env_file`` beside them).

A scan run with ``recording`` keeps (3) in a ``Journal``; every place that reads the file system
for a scan reports to it (``note_read``, ``note_listing``, ``note_probe``), and the scanned
directories are listed whole, before the scan starts (a file added meanwhile is a difference
next time). ``store`` keeps the journal and the report in the cache under a key made of (1) and
(2). ``lookup`` replays the journal: every directory listed again, every file read again and
hashed, every path looked at again; one difference and the scan runs as usual. A hit imports
neither the graph nor pydantic nor a parser.

Two guards keep a memo from ever standing for a scan it did not see. While recording, an audit
hook (PEP 578) watches every file opened and directory listed: one the journal does not account
for (a read site that does not report, as a new loader might have) means the result is not
stored, so a forgotten hook costs speed, never a hidden finding. And a scan that met an internal
error is not stored either: the next run tries again.

The memo lives in the cache directory (``cache.py``), never inside a scanned tree, with the same
checked, atomic entries; ``--no-cache`` bypasses it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bitriver_lint.cache import Cache
from bitriver_lint.data import builtin_rules_dir
from bitriver_lint.discovery import SKIP_DIRS
from bitriver_lint.journal import Journal
from bitriver_lint.journal import recording as _recording
from bitriver_lint.journal import still as journal_still
from bitriver_lint.report import Report

MEMO_VERSION = 2


def _rules_dir() -> Path:
    return builtin_rules_dir().resolve()


@contextlib.contextmanager
def recording(cache: Cache | None, targets: Iterable[Path]) -> Iterator[Journal | None]:
    """Record what the scan inside the block observes, when there is a cache to keep it in."""
    if cache is None:
        yield None
        return
    own = [Path(__file__).resolve().parent, _rules_dir(), cache.directory]
    with _recording(targets, SKIP_DIRS, own) as journal:
        yield journal


def tool_stamp() -> str:
    """Everything of the tool a report depends on (see the module docstring)."""
    digest = hashlib.sha256(f"{MEMO_VERSION}\0{sys.version}\0{sys.executable}\0".encode())
    package = Path(__file__).resolve().parent
    for top, pattern in ((package, "*.py"), (_rules_dir(), "*")):
        for path in sorted(top.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"\0{path.relative_to(top)}\0".encode())
                digest.update(path.read_bytes())
    for entry in sys.path:
        if "site-packages" in entry or "dist-packages" in entry:  # not the working directory
            with contextlib.suppress(OSError):
                digest.update(f"\0{entry}:{os.stat(entry).st_mtime_ns}".encode())
    return digest.hexdigest()


def key(cache: Cache, targets: Iterable[Path], options: Mapping[str, Any], today: str) -> bytes:
    """The memo's key: the tool, the command (``options``: everything that shapes the report),
    where it runs and the date."""
    command = repr((tool_stamp(), os.getcwd(), today, sorted(os.path.abspath(t) for t in targets),
                    sorted((name, repr(value)) for name, value in options.items())))
    return cache.key("scan-memo", "", command)


def lookup(cache: Cache, memo_key: bytes, *, need_summary: bool) -> tuple[Report | None, str]:
    """The report a scan with the same key made, if the file system still shows what it saw;
    with what happened, for ``--debug``."""
    found, value = cache.get(memo_key)
    if not found or not isinstance(value, tuple) or len(value) != 3 or value[0] != MEMO_VERSION:
        return None, "no scan of this tree with these options and this tool"
    _, journal, state = value
    if not isinstance(journal, Journal) or not isinstance(state, dict):
        return None, "an unreadable entry"
    if not journal_still(journal):
        return None, "a file or directory changed since"
    if need_summary and state.get("graph_summary") is None:
        return None, "no graph picture kept for the Markdown report"
    return _thaw(state), "unchanged tree: the report of the last scan"


def store(cache: Cache, memo_key: bytes, journal: Journal | None, report: Report) -> str:
    """Keep ``report`` for the next run with this key, unless it must not be kept (see the module
    docstring); what happened, for ``--debug``."""
    if journal is None:
        return "not kept (no journal)"
    if report.errors:
        return "not kept: the scan met an internal error"
    if journal.unaccounted:
        return (f"not kept: {len(journal.unaccounted)} path(s) read outside the journal, e.g. "
                f"{sorted(journal.unaccounted)[0]}")
    journal = dataclasses.replace(journal, opened=set(), listed=set(), unaccounted=set())
    cache.put(memo_key, (MEMO_VERSION, journal, _freeze(report)))
    return "kept for the next run"


def _freeze(report: Report) -> dict[str, Any]:
    """The report as plain data: read-only mappings do not pickle, and the graph stays out (a
    hit must not import it; ``graph_summary`` keeps what the Markdown picture needs)."""
    state = {f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.name != "graph"}
    for name, value in state.items():
        if isinstance(value, MappingProxyType):
            state[name] = dict(value)
    return state


def _thaw(state: dict[str, Any]) -> Report:
    values: dict[str, Any] = {name: MappingProxyType(value) if isinstance(value, dict) else value
                              for name, value in state.items()}
    return Report(**values)
