"""Inline suppressions, in any format's comment syntax:

    # bitriver-lint: ignore[BRL102] reason: operators reach it over the VPN

A suppression covers findings on its own line or, when it stands alone on a line, the line
below. It needs a reason; one with no reason, an unknown rule or nothing to suppress is itself
a BRL003 finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bitriver_lint.model import Finding, Location, Severity, Suppression

_MARK = re.compile(
    r"(?P<lead>#|//|;|/\*)\s*bitriver-lint:\s*ignore\[(?P<ids>[^\]]*)\](?:\s*reason:(?P<reason>[^\n]*))?",
    re.IGNORECASE,
)


@dataclass
class Directive:
    location: Location
    ids: list[str]
    reason: str
    standalone: bool
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> bool:
        loc = finding.location
        if loc.path != self.location.path or finding.rule_id not in self.ids:
            return False
        return loc.line == self.location.line or (self.standalone and loc.line == self.location.line + 1)


def parse(path: str, text: str) -> list[Directive]:
    found: list[Directive] = []
    if "bitriver-lint" not in text:
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARK.search(line)
        if match is None:
            continue
        ids = [part.strip().upper() for part in match.group("ids").split(",") if part.strip()]
        reason = (match.group("reason") or "").strip().rstrip("*/").strip()
        standalone = not line[: match.start()].strip()
        found.append(Directive(Location(path, number, match.start() + 1), ids, reason, standalone))
    return found


def apply(findings: list[Finding], directives: list[Directive], known_ids: set[str]) -> list[Finding]:
    """Mark suppressed findings; return BRL003 findings for bad or unused directives."""
    problems: list[Finding] = []
    valid: list[Directive] = []
    for directive in directives:
        unknown = [i for i in directive.ids if i not in known_ids]
        if not directive.ids:
            problems.append(_brl003("names no rule: write ignore[BRL123]", directive.location))
        elif unknown:
            problems.append(_brl003(f"names unknown rule {', '.join(unknown)}", directive.location))
        elif not directive.reason:
            problems.append(_brl003("has no reason: add `reason: why this is safe`", directive.location))
        else:
            valid.append(directive)
    for finding in findings:
        for directive in valid:
            if directive.covers(finding):
                finding.suppression = Suppression(directive.location, directive.reason)
                directive.used.add(finding.rule_id)
                break
    for directive in valid:
        unused = [i for i in directive.ids if i not in directive.used]
        if unused:
            problems.append(_brl003(f"suppresses nothing: no {', '.join(unused)} finding here", directive.location))
    return problems


def _brl003(message: str, location: Location) -> Finding:
    return Finding("BRL003", Severity.WARNING, f"inline suppression {message}", location)
