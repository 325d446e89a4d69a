"""SARIF 2.1.0 as GitHub code scanning wants it: rule metadata, related locations for the
proof chain, fingerprints that survive line shifts, and suppressed results kept visible."""

from __future__ import annotations

import json
from typing import Any, TextIO

from bitriver_lint import __version__
from bitriver_lint.model import Finding, Location, Severity
from bitriver_lint.report import Report

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _location(location: Location, message: str | None = None, ident: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": location.line, "startColumn": location.column},
        }
    }
    if ident is not None:
        out["id"] = ident
    if message:
        out["message"] = {"text": message}
    return out


def _rule_descriptor(result: Report, rule_id: str) -> dict[str, Any]:
    rule = result.rules[rule_id]
    properties: dict[str, Any] = {"tags": list(rule.tags), "precision": "high", "topologies": list(rule.topologies)}
    # GitHub files a result with a security-severity as a security alert: only rules that are
    # about security carry one (a missing restart policy or a parse error is not).
    if rule.security_severity is not None and "security" in rule.tags:
        properties["security-severity"] = f"{rule.security_severity:.1f}"
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.description.split())},
        "help": {"text": f"{rule.summary}. See {rule.help_uri}", "markdown": rule.help_markdown},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": rule.severity},
        "properties": properties,
    }


def _linked(finding: Finding) -> str:
    """The message, with a link to each related location: GitHub shows a result's related
    locations only where its message links them (``[text](id)``). The link text is ours, so
    nothing from a scanned file can break out of the link syntax."""
    if not finding.related:
        return finding.message
    links = ", ".join(f"[{i}]({i})" for i in range(1, len(finding.related) + 1))
    return f"{finding.message} (proof: {links})"


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": _linked(finding)},
        "locations": [_location(finding.location)],
        "partialFingerprints": {"bitriverLint/v1": finding.fingerprint},
    }
    if finding.rule_id in index:
        out["ruleIndex"] = index[finding.rule_id]
    if finding.related:
        out["relatedLocations"] = [
            _location(r.location, r.message, i) for i, r in enumerate(finding.related, start=1)
        ]
    if finding.suppression:
        out["suppressions"] = [
            {"kind": "inSource", "justification": finding.suppression.reason,
             "location": _location(finding.suppression.location)}
        ]
    return out


def build(result: Report) -> dict[str, Any]:
    rule_ids = sorted(result.rules)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bitriver-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/bitriver-live/bitriver-lint",
                        "rules": [_rule_descriptor(result, rid) for rid in rule_ids],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": result.root.as_uri() + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": [
                            *({"level": "error", "message": {"text": e}} for e in result.errors),
                            *({"level": "note", "message": {"text": f"skipped: {reason}"},
                               "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}}}]}
                              for path, reason in result.skipped),
                        ],
                    }
                ],
                "automationDetails": {"id": f"bitriver-lint/{result.category}/"},
                "properties": {
                    "topology": result.topology,
                    "topologyReason": result.topology_reason,
                    "environments": [{"directory": e.directory, "topology": e.topology}
                                     for e in result.environments],
                },
                "results": [_result(f, index) for f in result.findings],
            }
        ],
    }


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = True) -> None:
    del color, show_suppressed
    json.dump(build(result), stream, indent=2)
    stream.write("\n")
