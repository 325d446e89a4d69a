"""JUnit XML for CI dashboards: one test case per rule and file checked.

A *file checked* by a rule is one the scan read and the rule ran on (``Report.checked``: the
rule was selected and applies to the topology of the file's environment; BRL001-BRL003 cover
every file read), plus any file where the rule reported something. Passing cases are included,
so a dashboard sees a rule start failing on a file and stop again. A case is named
``BRL102 deploy/compose.yml``, without a line number, so it keeps its identity across edits.

It fails when an active finding of that rule in that file is at least as severe as
``--severity-threshold`` (the same test that sets exit 1). Findings below the threshold, and
suppressed ones, leave the case passing and are listed in its ``system-out``.

The shape follows the JUnit schema CI tools read (Jenkins' ``junit-10.xsd``, GitLab, Azure):
``testsuites`` > one ``testsuite`` per rule > ``testcase`` with at most one ``failure``.

A scan with a baseline adds one suite named ``bitriver-lint baseline`` with no test cases (its
counts stay those of the rules): ``properties`` ``baseline.path``, ``baseline.hidden`` and
``baseline.stale`` for a dashboard to chart, and a ``system-out`` with the summary line and one
line per stale entry. The schema allows ``properties`` and ``system-out`` only on a suite, and a
baseline is no test that passes or fails.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from bitriver_lint.model import Finding, Location
from bitriver_lint.report import BaselineSummary, Report
from bitriver_lint.reporters._baseline import describe, effect
from bitriver_lint.reporters._safe import printable
from bitriver_lint.reporters._xml import Element, sub_element, tostring


def _where(location: Location) -> str:
    return f"{printable(location.path)}:{location.line}:{location.column}"


def _describe(finding: Finding) -> list[str]:
    line = f"{_where(finding.location)}: {finding.severity.label}: {printable(finding.message)}"
    if finding.suppression:
        line += f" (suppressed: {printable(finding.suppression.reason)})"
    return [line, *(f"  {_where(r.location)}: {printable(r.message)}" for r in finding.related)]


def _baseline_suite(suites: Element, baseline: BaselineSummary) -> None:
    suite = sub_element(suites, "testsuite", name="bitriver-lint baseline", tests="0", failures="0", errors="0",
                        skipped="0")
    properties = sub_element(suite, "properties")
    for name, value in (("baseline.path", printable(baseline.path)), ("baseline.hidden", str(baseline.hidden)),
                        ("baseline.stale", str(len(baseline.stale)))):
        sub_element(properties, "property", name=name, value=value)
    lines = [f"baseline {printable(baseline.path)} {effect(baseline)}",
             *(f"  stale: {printable(describe(entry))}" for entry in baseline.stale)]
    sub_element(suite, "system-out").text = "\n".join(lines)


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    """Text from the scanned files goes through ``printable``: XML 1.0 cannot carry most control
    characters at all (not even as references), and a newline in a message would forge a line."""
    del color, show_suppressed
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_case[finding.rule_id, finding.location.path].append(finding)
    files: dict[str, set[str]] = defaultdict(set)
    for rule_id, paths in result.checked.items():
        files[rule_id].update(paths)
    for rule_id, path in by_case:
        files[rule_id].add(path)

    # Each file is a case of every rule: its name is made safe once, not once per case.
    safe_paths = {path: printable(path) for paths in files.values() for path in paths}
    suites = Element("testsuites", {"name": "bitriver-lint"})
    total = failed = 0
    for rule_id in sorted(files):
        rule = result.rules.get(rule_id)
        suite = sub_element(suites, "testsuite", name=printable(f"{rule_id} {rule.name}" if rule else rule_id))
        failures = 0
        safe_rule = printable(rule_id)
        for path in sorted(files[rule_id]):
            found = by_case.get((rule_id, path), [])
            safe_path = safe_paths[path]
            case = sub_element(suite, "testcase", classname=f"bitriver-lint.{safe_rule}",
                               name=f"{safe_rule} {safe_path}", file=safe_path)
            failing = [f for f in found if f.suppression is None and f.severity >= result.threshold]
            if failing:
                failures += 1
                worst = max(f.severity for f in failing)
                first = printable(failing[0].message)
                more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
                failure = sub_element(case, "failure", message=f"{first}{more}", type=worst.label)
                failure.text = "\n".join(line for f in failing for line in _describe(f))
            passing = [f for f in found if f not in failing]
            if passing:
                sub_element(case, "system-out").text = "\n".join(line for f in passing for line in _describe(f))
        cases = len(files[rule_id])
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total += cases
        failed += failures
    if result.baseline is not None:
        _baseline_suite(suites, result.baseline)
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    suites.set("errors", "0")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(tostring(suites))
    stream.write("\n")
