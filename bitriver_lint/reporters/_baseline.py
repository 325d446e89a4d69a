"""The baseline's effect in words every reporter shares, so that text, Markdown, GitHub
annotations and JUnit say the same thing. Nothing here is escaped: the baseline's path can come
from a config in the scanned tree and stale entries name its files, so each reporter escapes
the pieces its own way."""

from __future__ import annotations

from bitriver_lint.report import BaselineEntry, BaselineSummary


def stale_count(summary: BaselineSummary) -> str:
    """``1 stale entry`` / ``3 stale entries``."""
    count = len(summary.stale)
    return f"{count} stale entr{'y' if count == 1 else 'ies'}"


def effect(summary: BaselineSummary) -> str:
    """``hid 3 finding(s); 1 stale entry``: what a reviewer needs to know at a glance."""
    return f"hid {summary.hidden} finding(s); {stale_count(summary)}"


def describe(entry: BaselineEntry) -> str:
    """One stale entry: rule, file, and the entity (or the message when it names none)."""
    about = entry.entity or entry.message
    return f"{entry.rule_id} {entry.path}" + (f" ({about})" if about else "")
