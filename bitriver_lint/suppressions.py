"""Suppressions: inline, in any format's comment syntax, and in the config for formats that
have no comments (Envoy/Caddy JSON, Terraform plan JSON, ``.tf.json``).

    # bitriver-lint: ignore[BRL102] reason: operators reach it over the VPN
    # bitriver-lint: ignore[BRL102] until: 2026-06-30 reason: the VPN lands in June

An inline suppression covers findings on its own line or, when it stands alone on a line, the
line below. It needs a reason; ``until:`` (an ISO date, before or after the reason) ends it:
after that day (UTC) the finding is reported again. One with no reason, an unknown rule, a bad
or past date, or nothing to suppress is itself a BRL003 finding, and suppresses nothing.

A config entry (``suppress:`` in ``.bitriver-lint.yaml``, see ``config.SuppressEntry``) covers
the findings of one rule in the files its ``path`` glob matches, optionally only those about one
``entity``; it is judged the same way and its BRL003 points at the entry in the config.
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bitriver_lint.model import Finding, Location, Severity, Suppression

_MARK = re.compile(r"(?P<lead>#|//|;|/\*)\s*bitriver-lint:\s*ignore\[(?P<ids>[^\]]*)\](?P<tail>[^\n]*)", re.IGNORECASE)
# ``reason:`` and ``until:`` in either order; a reason runs to the next field or the line's end.
_FIELD = re.compile(r"\b(?P<name>reason|until):", re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def today_utc() -> datetime.date:
    """The day expiry dates are compared with; the engine takes another for tests."""
    return datetime.datetime.now(datetime.UTC).date()


@dataclass
class Directive:
    location: Location
    ids: list[str]
    reason: str
    standalone: bool
    until: datetime.date | None = None
    bad_until: str | None = None  # the text of an ``until:`` that is not an ISO date
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> bool:
        loc = finding.location
        if loc.path != self.location.path or finding.rule_id not in self.ids:
            return False
        return loc.line == self.location.line or (self.standalone and loc.line == self.location.line + 1)


def parse_date(text: str) -> datetime.date | None:
    """``YYYY-MM-DD`` and nothing else (``fromisoformat`` would also take ``20260630``)."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse(path: str, text: str) -> list[Directive]:
    found: list[Directive] = []
    # JSON has no comments: a mark there sits inside a string (a rule's help in a SARIF or JSON
    # report left in the tree, a policy document) and is no suppression; use the config's.
    if "bitriver-lint" not in text or path.lower().endswith(".json"):
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARK.search(line)
        if match is None:
            continue
        ids = [part.strip().upper() for part in match.group("ids").split(",") if part.strip()]
        tail = match.group("tail").strip()
        if match.group("lead") == "/*":
            tail = tail.split("*/", 1)[0]
        fields: dict[str, str] = {}
        marks = list(_FIELD.finditer(tail))
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(tail)
            fields.setdefault(mark.group("name").lower(), tail[mark.end():end].strip())
        standalone = not line[: match.start()].strip()
        directive = Directive(Location(path, number, match.start() + 1), ids, fields.get("reason", ""), standalone)
        if "until" in fields:
            directive.until = parse_date(fields["until"])
            if directive.until is None:
                directive.bad_until = fields["until"]
        found.append(directive)
    return found


def _problem(directive: Directive, known_ids: set[str], today: datetime.date) -> str | None:
    """Why the directive suppresses nothing, or None when it is valid."""
    unknown = [i for i in directive.ids if i not in known_ids]
    if not directive.ids:
        return "names no rule: write ignore[BRL123]"
    if unknown:
        return f"names unknown rule {', '.join(unknown)}"
    if not directive.reason:
        return "has no reason: add `reason: why this is safe`"
    if directive.bad_until is not None:
        return f"has until: {directive.bad_until!r}, which is not a date: write until: YYYY-MM-DD"
    if directive.until is not None and today > directive.until:
        return (f"expired on {directive.until.isoformat()}: its {', '.join(directive.ids)} finding is reported "
                "again; fix it, or renew the date with a reason")
    return None


def apply(
    findings: list[Finding], directives: list[Directive], known_ids: set[str], today: datetime.date | None = None,
) -> list[Finding]:
    """Mark suppressed findings; return BRL003 findings for bad, expired or unused directives."""
    today = today or today_utc()
    problems: list[Finding] = []
    valid: list[Directive] = []
    for directive in directives:
        problem = _problem(directive, known_ids, today)
        if problem is None:
            valid.append(directive)
        else:
            problems.append(_brl003(f"inline suppression {problem}", directive.location))
    for finding in findings:
        if finding.suppression is not None:
            continue
        for directive in valid:
            if directive.covers(finding):
                finding.suppression = Suppression(directive.location, directive.reason)
                directive.used.add(finding.rule_id)
                break
    for directive in valid:
        unused = [i for i in directive.ids if i not in directive.used]
        if unused:
            problems.append(_brl003(f"inline suppression suppresses nothing: no {', '.join(unused)} finding here",
                                    directive.location))
    return problems


@dataclass(frozen=True)
class ConfigSuppression:
    """A ``suppress:`` entry of the config, resolved for one scan: ``pattern`` is relative to
    ``base`` (the config's directory), ``location`` is the entry in the config file."""

    rule: str
    pattern: str
    base: Path
    reason: str
    location: Location
    entity: str | None = None
    until: datetime.date | None = None

    def covers(self, finding: Finding, root: Path) -> bool:
        if finding.rule_id != self.rule:
            return False
        if self.entity is not None and finding.entity != self.entity and not finding.entity.startswith(
                self.entity + ":"):
            return False  # "api" covers the component and its listeners ("api:1985/tcp")
        try:
            relative = (root / finding.location.path).resolve().relative_to(self.base.resolve())
        except ValueError:
            return False
        return glob_match(relative.as_posix(), self.pattern)


def glob_match(path: str, pattern: str) -> bool:
    """Shell-style matching of a POSIX path: ``*``, ``?`` and ``[...]`` stay inside one directory,
    a ``**`` segment spans any number of them. Segment by segment with ``fnmatchcase`` (which
    does not backtrack catastrophically), so a hostile pattern in a PR's config cannot hang the
    scan."""
    parts = [p for p in PurePosixPath(pattern.strip()).parts if p not in ("/", ".")]
    segments = path.split("/")

    @functools.cache
    def match(i: int, j: int) -> bool:
        if j == len(parts):
            return i == len(segments)
        if parts[j] == "**":
            return match(i, j + 1) or (i < len(segments) and match(i + 1, j))
        return i < len(segments) and fnmatch.fnmatchcase(segments[i], parts[j]) and match(i + 1, j + 1)

    return bool(parts) and match(0, 0)


def apply_config(
    findings: list[Finding], entries: Sequence[ConfigSuppression], root: Path, today: datetime.date | None = None,
) -> list[Finding]:
    """Mark the findings config entries cover; return BRL003 findings for expired or unused ones.
    An expired entry suppresses nothing, so its findings are reported again."""
    today = today or today_utc()
    problems: list[Finding] = []
    for entry in entries:
        what = entry.rule + (f" about {entry.entity}" if entry.entity else "")
        if entry.until is not None and today > entry.until:
            problems.append(_brl003(
                f"config suppression of {what} in {entry.pattern} expired on {entry.until.isoformat()}: its findings "
                "are reported again; fix them, or renew the date with a reason", entry.location))
            continue
        used = False
        for finding in findings:
            if finding.suppression is None and entry.covers(finding, root):
                finding.suppression = Suppression(entry.location, entry.reason, "external")
                used = True
        if not used:
            problems.append(_brl003(f"config suppression suppresses nothing: no {what} finding in {entry.pattern}",
                                    entry.location))
    return problems


def _brl003(message: str, location: Location) -> Finding:
    return Finding("BRL003", Severity.WARNING, message, location)
