"""The JUnit report's XML writer writes what ElementTree writes after ``ET.indent``, to the byte:
the report must not change with the writer (CI dashboards diff and parse it)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from bitriver_lint.reporters._xml import Element, sub_element, tostring

_HOSTILE = ["&", "<", ">", '"', "'", "&amp;", "]]>", "\r", "\n", "\t", " ", "  \n ", "é", "\u2028", "x"]
_text = st.one_of(st.text(st.characters(blacklist_categories=("Cs",))),
                  st.lists(st.sampled_from(_HOSTILE)).map("".join))
_names = st.sampled_from(["testsuite", "testcase", "failure", "system-out", "a-b.c"])
# A tree: tag, attributes (in order), text (None, empty, whitespace or anything), children.
_trees = st.recursive(
    st.tuples(_names, st.dictionaries(_names, _text, max_size=3), st.none() | _text, st.just([])),
    lambda inner: st.tuples(_names, st.dictionaries(_names, _text, max_size=3), st.none() | _text,
                            st.lists(inner, max_size=4)),
    max_leaves=20,
)


def _both(tree: Any) -> tuple[ET.Element, Element]:
    tag, attrib, text, children = tree
    theirs, ours = ET.Element(tag, attrib), Element(tag, dict(attrib))
    theirs.text = ours.text = text
    for child in children:
        their_child, our_child = _both(child)
        theirs.append(their_child)
        ours.children.append(our_child)
    return theirs, ours


@settings(max_examples=300)
@given(_trees)
def test_same_text_as_elementtree(tree: Any) -> None:
    theirs, ours = _both(tree)
    ET.indent(theirs)
    assert tostring(ours) == ET.tostring(theirs, encoding="unicode")


def test_report_shape() -> None:
    """The JUnit report's own shape: attributes set after the children, empty and text-only
    elements, a suite without cases."""
    theirs = ET.Element("testsuites", name="bitriver-lint")
    ours = Element("testsuites", {"name": "bitriver-lint"})
    for suites, make in ((theirs, ET.SubElement), (ours, sub_element)):
        suite = make(suites, "testsuite", name='BRL1 "<odd>" & \n\tname')
        case = make(suite, "testcase", classname="bitriver-lint.BRL1", file="a b/c.yml")
        failure = make(case, "failure", message="m", type="error")
        failure.text = "line 1\nline <2> & ]]>"
        make(case, "system-out").text = ""
        suite.set("tests", "1")
        suite.set("name", "renamed")
        make(suites, "testsuite", name="empty")
        suites.set("tests", "1")
    ET.indent(theirs)
    assert tostring(ours) == ET.tostring(theirs, encoding="unicode")
