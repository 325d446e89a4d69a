"""Machine-readable findings, stable keys, one document per scan, following
``docs/report-schema.json`` (``schema_version`` changes when a key changes meaning or goes)."""

from __future__ import annotations

from typing import Any, TextIO

from bitriver_lint import __version__
from bitriver_lint.model import Finding, Location
from bitriver_lint.report import Report
from bitriver_lint.reporters._jsontext import dumps

SCHEMA_VERSION = 1


def _loc(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line, "column": location.column}


def finding_dict(result: Report, finding: Finding) -> dict[str, Any]:
    rule = result.rules.get(finding.rule_id)
    return {
        "rule_id": finding.rule_id,
        "rule_name": rule.name if rule else None,
        "severity": finding.severity.label,
        "message": finding.message,
        "location": _loc(finding.location),
        "related": [{"location": _loc(r.location), "message": r.message} for r in finding.related],
        "suppressed": (
            {"reason": finding.suppression.reason, "location": _loc(finding.suppression.location)}
            if finding.suppression
            else None
        ),
        "fingerprint": finding.fingerprint,
        "entity": finding.entity,
    }


def baseline_dict(result: Report) -> dict[str, Any] | None:
    """What the baseline hid and which of its entries are stale; None without a baseline."""
    baseline = result.baseline
    if baseline is None:
        return None
    return {
        "path": baseline.path,
        "version": baseline.version,
        "hidden": baseline.hidden,
        "stale": [{"rule_id": e.rule_id, "path": e.path, "entity": e.entity, "message": e.message}
                  for e in baseline.stale],
    }


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = True) -> None:
    del color, show_suppressed
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "bitriver-lint", "version": __version__},
        "topology": {"name": result.topology, "reason": result.topology_reason},
        "environments": [{"directory": e.directory, "topology": e.topology, "reason": e.reason}
                         for e in result.environments],
        "files": {name: list(paths) for name, paths in result.files.items()},
        "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
        "errors": list(result.errors),
        "findings": [finding_dict(result, f) for f in result.findings],
        "summary": {
            sev: sum(1 for f in result.active if f.severity.label == sev) for sev in ("error", "warning", "note")
        },
        "baseline": baseline_dict(result),
    }
    stream.write(dumps(document))
    stream.write("\n")
