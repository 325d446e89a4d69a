"""Baselines: accept today's findings so CI fails only on new ones.

The engine reads the baseline before it scans and leaves the known findings out of its report
(``engine.scan(baseline=...)``); ``--update-baseline`` scans without one and writes what it found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bitriver_lint.errors import ConfigError
from bitriver_lint.model import Finding
from bitriver_lint.output import write_file


def write(path: Path, findings: Iterable[Finding]) -> None:
    """Replace ``path`` all at once (see ``output.write_file``); ``OutputError`` if it cannot be."""
    entries = [
        {"rule_id": f.rule_id, "path": f.location.path, "fingerprint": f.fingerprint}
        for f in findings
        if f.suppression is None
    ]

    def dump(stream: TextIO) -> None:
        json.dump({"version": 1, "findings": entries}, stream, indent=2)
        stream.write("\n")

    write_file(path, dump, option="--baseline")


def read(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {entry["fingerprint"] for entry in data["findings"]}
    except FileNotFoundError as exc:
        raise ConfigError(f"--baseline: {path} does not exist (create it with --update-baseline)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--baseline: {path} is not a bitriver-lint baseline: {exc}") from exc


def filter_known(findings: Iterable[Finding], known: set[str]) -> list[Finding]:
    return [f for f in findings if f.fingerprint not in known]
