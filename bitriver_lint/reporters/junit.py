"""JUnit XML: one test case per rule and file, failing where findings are, for CI dashboards."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree as ET

from bitriver_lint.engine import ScanResult


def render(result: ScanResult, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    del color, show_suppressed
    active = result.active
    suite = ET.Element(
        "testsuite", name="bitriver-lint", tests=str(max(len(active), 1)), failures=str(len(active)), errors="0"
    )
    if not active:
        ET.SubElement(suite, "testcase", classname="bitriver-lint", name="deployment")
    for f in active:
        case = ET.SubElement(suite, "testcase", classname=f.location.path, name=f"{f.rule_id} {f.location}")
        failure = ET.SubElement(case, "failure", message=f.message, type=f.severity.label)
        failure.text = "\n".join([f"{f.location}: {f.message}", *(f"  {r.location}: {r.message}" for r in f.related)])
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")
