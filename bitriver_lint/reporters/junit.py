"""JUnit XML: one test case per rule and file, failing where findings are, for CI dashboards."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree as ET

from bitriver_lint.model import Location
from bitriver_lint.report import Report
from bitriver_lint.reporters._safe import printable


def _where(location: Location) -> str:
    return f"{printable(location.path)}:{location.line}:{location.column}"


def render(result: Report, stream: TextIO, *, color: bool = False, show_suppressed: bool = False) -> None:
    """Text from the scanned files goes through ``printable``: XML 1.0 cannot carry most control
    characters at all (not even as references), and a newline in a message would forge a line."""
    del color, show_suppressed
    active = result.active
    suite = ET.Element(
        "testsuite", name="bitriver-lint", tests=str(max(len(active), 1)), failures=str(len(active)), errors="0"
    )
    if not active:
        ET.SubElement(suite, "testcase", classname="bitriver-lint", name="deployment")
    for f in active:
        message = printable(f.message)
        case = ET.SubElement(
            suite, "testcase", classname=printable(f.location.path), name=f"{printable(f.rule_id)} {_where(f.location)}"
        )
        failure = ET.SubElement(case, "failure", message=message, type=f.severity.label)
        related = [f"  {_where(r.location)}: {printable(r.message)}" for r in f.related]
        failure.text = "\n".join([f"{_where(f.location)}: {message}", *related])
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")
