"""GitHub Actions workflow commands: annotations on the pull request's diff."""

from __future__ import annotations

from typing import TextIO

from bitriver_lint.engine import ScanResult
from bitriver_lint.model import Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render(result: ScanResult, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    del color, show_suppressed
    for f in result.active:
        loc = f.location
        title = _escape(f"{f.rule_id} {result.rules[f.rule_id].name}" if f.rule_id in result.rules else f.rule_id,
                        prop=True)
        stream.write(
            f"::{_COMMAND[f.severity]} file={_escape(loc.path, prop=True)},line={loc.line},col={loc.column},"
            f"title={title}::{_escape(f.message)}\n"
        )
