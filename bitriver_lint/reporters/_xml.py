"""The few XML elements the JUnit report needs, written as ``xml.etree.ElementTree`` writes
them after ``ET.indent``: ``ET.tostring(root, encoding="unicode")``, byte for byte.

ElementTree's serializer is pure Python and walks the tree twice (namespaces, then text): on
the 1,000-site tree (100,000 test cases) that was most of the JUnit report's cost. The escaping
below is ElementTree's own (``_escape_cdata``, ``_escape_attrib``); ``tests/test_xml_text.py``
compares the output with ElementTree's on hostile text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_INDENT = "  "


@dataclass(slots=True)
class Element:
    tag: str
    attrib: dict[str, str]
    text: str | None = None
    children: list[Element] = field(default_factory=list)

    def set(self, key: str, value: str) -> None:
        self.attrib[key] = value


def sub_element(parent: Element, tag: str, **attrib: str) -> Element:
    child = Element(tag, attrib)
    parent.children.append(child)
    return child


def _cdata(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    text = _cdata(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    # Within an attribute, line ends and tabs are kept as references, not normalised away.
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def _write(element: Element, newline: str, parts: list[str]) -> None:
    """``newline``: a newline and the indentation of ``element``'s own line."""
    tag = element.tag
    parts.append("<" + tag + "".join([f' {key}="{_attribute(value)}"' for key, value in element.attrib.items()]))
    text = element.text
    if element.children:
        inner = newline + _INDENT
        # ET.indent keeps a parent's own text only when it is more than whitespace.
        parts.append(">" + (_cdata(text) if text and text.strip() else inner))
        for child in element.children:
            _write(child, inner, parts)
            parts.append(inner)
        parts[-1] = newline  # the last child's tail closes the parent at its own indentation
        parts.append("</" + tag + ">")
    elif text:
        parts.append(">" + _cdata(text) + "</" + tag + ">")
    else:
        parts.append(" />")


def tostring(root: Element) -> str:
    """``ET.indent(root); ET.tostring(root, encoding="unicode")`` for the same tree."""
    parts: list[str] = []
    _write(root, "\n", parts)
    return "".join(parts)
