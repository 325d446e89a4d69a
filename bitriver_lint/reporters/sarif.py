"""SARIF 2.1.0 as GitHub code scanning wants it: rule metadata, related locations for the
proof chain (and a code flow when it has several hops), fingerprints that survive edits,
suppressed results kept visible (or left out), and GitHub's size limits kept.

The partial fingerprint ``bitriverLint/identity/v1`` names what a finding is about, as a
baseline entry does: the rule, the file (relative to the repository root, as the result's
``uri`` is), the entity (or, when the check names none, the message, made from parsed values)
and the occurrence among findings with that same identity. The line's text and number are not
part of it, so a trailing comment, an unquoted port or a service moved down the file keeps the
alert, and scanning from the root or from inside ``deploy/`` gives the same value. (The
``upload-sarif`` action adds its own ``primaryLocationLineHash`` from the line's text when a
result has none: that one is GitHub's, not ours.) ``Finding.fingerprint``, made from the
line's text, stays for version-1 baselines and the JSON report."""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from bitriver_lint import __version__
from bitriver_lint.model import Finding, Location, Severity
from bitriver_lint.report import Report
from bitriver_lint.reporters._jsontext import dumps
from bitriver_lint.reporters.json import baseline_dict

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}

# GitHub code scanning rejects an upload past these (docs: "SARIF support for code scanning",
# upload limits): results per run, the gzipped file, and related locations per result.
MAX_RESULTS = 25_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_RELATED = 1_000


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
    links = ", ".join(f"[{i}]({i})" for i in range(1, min(len(finding.related), MAX_RELATED) + 1))
    return f"{finding.message} (proof: {links})"


def _code_flow(finding: Finding) -> dict[str, Any]:
    """The proof chain as one thread flow, hop by hop, ending at the finding itself: GitHub shows
    it as the path an exposure takes (the related locations alone are an unordered list)."""
    hops = [_location(r.location, r.message) for r in finding.related[:MAX_RELATED]]
    hops.append(_location(finding.location, finding.message))
    return {"threadFlows": [{"locations": [{"location": hop} for hop in hops]}]}


FINGERPRINT_KEY = "bitriverLint/identity/v1"


def identity_fingerprints(findings: Sequence[Finding]) -> dict[int, str]:
    """Each finding's identity fingerprint, by ``id()``. Counted over every finding of the
    report in its (file, line) order, suppressed ones included, so that ``--sarif-suppressed=
    omit`` or the GitHub size limit never renumbers the others."""
    seen: Counter[tuple[str, str, str]] = Counter()
    out: dict[int, str] = {}
    for finding in findings:
        key = (finding.rule_id, finding.location.path, finding.entity or finding.message)
        seen[key] += 1
        text = "\x00".join([*key, str(seen[key])])
        out[id(finding)] = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return out


def _result(finding: Finding, index: dict[str, int], fingerprint: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": _linked(finding)},
        "locations": [_location(finding.location)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    if finding.rule_id in index:
        out["ruleIndex"] = index[finding.rule_id]
    if finding.related:
        out["relatedLocations"] = [
            _location(r.location, r.message, i) for i, r in enumerate(finding.related[:MAX_RELATED], start=1)
        ]
    if len(finding.related) >= 2:
        out["codeFlows"] = [_code_flow(finding)]
    if finding.suppression:
        out["suppressions"] = [
            {"kind": finding.suppression.kind, "justification": finding.suppression.reason,
             "location": _location(finding.suppression.location)}
        ]
    return out


def _within_limits(
    findings: list[Finding], max_results: int, max_gzip_bytes: int, make: Any
) -> tuple[dict[str, Any], str]:
    """The log made by ``make(findings, dropped)`` from as many findings as GitHub accepts (the
    most severe first, file order within a severity), and its text, as measured."""
    order = sorted(range(len(findings)), key=lambda i: -findings[i].severity)
    keep = min(len(findings), max_results)
    while True:
        chosen = sorted(order[:keep])
        log: dict[str, Any] = make([findings[i] for i in chosen], len(findings) - keep)
        text = dumps(log)  # ASCII (json escapes the rest): characters are bytes
        # Compressing costs time on every run: only a log bigger than the limit can exceed it.
        size = len(zlib.compress(text.encode("ascii"), 6)) if len(text) > max_gzip_bytes else len(text)
        if size <= max_gzip_bytes or keep == 0:
            return log, text
        # Compressed size grows about linearly with the results: aim a little under the limit.
        keep = min(keep - 1, int(keep * max_gzip_bytes / size * 0.95))


def _build(result: Report, suppressed: bool, max_results: int, max_gzip_bytes: int) -> tuple[dict[str, Any], str]:
    findings = [f for f in result.findings if suppressed or f.suppression is None]
    return _within_limits(findings, max_results, max(max_gzip_bytes, 0),
                          lambda kept, dropped: _log(result, kept, dropped, len(findings)))


def build(
    result: Report,
    *,
    suppressed: bool = True,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> dict[str, Any]:
    """The SARIF log. ``suppressed=False`` leaves suppressed findings out (``--sarif-suppressed=
    omit``, for setups that open them as alerts) instead of listing them with ``suppressions``."""
    return _build(result, suppressed, max_results, max_gzip_bytes)[0]


def _dropped_notice(dropped: int, total: int) -> dict[str, Any]:
    counts = f"{dropped} of {total} results"
    return {"level": "warning", "message": {"text": (
        f"{counts} were left out to stay within GitHub code scanning's limits ({MAX_RESULTS:,} results, "
        f"{MAX_GZIP_BYTES // (1024 * 1024)} MB gzipped): the most severe were kept; the JSON report lists all")}}


def _log(result: Report, findings: list[Finding], dropped: int, total: int) -> dict[str, Any]:
    rule_ids = sorted(result.rules)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    fingerprints = identity_fingerprints(result.findings)
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
                            *([_dropped_notice(dropped, total)] if dropped else []),
                            *_baseline_notifications(result),
                        ],
                    }
                ],
                "automationDetails": {"id": f"bitriver-lint/{result.category}/"},
                "properties": {
                    "topology": result.topology,
                    "topologyReason": result.topology_reason,
                    "environments": [{"directory": e.directory, "topology": e.topology}
                                     for e in result.environments],
                    **({"baseline": baseline_dict(result)} if result.baseline else {}),
                },
                "results": [_result(f, index, fingerprints[id(f)]) for f in findings],
            }
        ],
    }


def _baseline_notifications(result: Report) -> list[dict[str, Any]]:
    """The baseline's effect, where a code-scanning user reads the run: one note for what it hid,
    one per stale entry (its path is repository-relative, named in the text)."""
    baseline = result.baseline
    if baseline is None:
        return []
    notes: list[dict[str, Any]] = [{"level": "note", "message": {
        "text": f"baseline {baseline.path} hid {baseline.hidden} finding(s); {len(baseline.stale)} stale entries"}}]
    for entry in baseline.stale:
        about = f" about {entry.entity}" if entry.entity else ""
        notes.append({"level": "note", "message": {
            "text": f"stale baseline entry: {entry.rule_id}{about} in {entry.path} matches no finding ({entry.message})"
        }})
    return notes


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = True) -> None:
    """``show_suppressed`` is ``--sarif-suppressed``: keep (the default) or omit."""
    del color
    stream.write(_build(result, show_suppressed, MAX_RESULTS, MAX_GZIP_BYTES)[1])
    stream.write("\n")
