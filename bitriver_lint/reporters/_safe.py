"""Making text from scanned files safe to print in each report format.

Scanned trees are hostile (pull requests from forks) and reports end up in CI logs, pull-request
comments and job summaries. A service name can carry terminal escape sequences, a newline followed
by a GitHub Actions workflow command (``::error ...``, or the legacy ``##[error]`` anywhere in a
line), HTML, or Markdown. Every reporter that prints such text passes it through one of these
helpers; JSON and SARIF need nothing more than JSON's own escaping.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; Unicode line and paragraph separators and bidirectional
# controls (they can hide or reorder text); lone surrogates (undecodable file names) and the
# two non-characters XML 1.0 forbids.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# The runner's legacy command syntax is recognised anywhere in a line.
_LEGACY_COMMAND = "##["


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, keep: str = "\t") -> str:
    """``text`` on one line, with control and invisible formatting characters shown escaped
    (``\\x1b``, ``\\n``) and the legacy workflow-command prefix broken up. ``keep`` lists control
    characters to leave as they are (a tab by default; a format that escapes newlines its own
    way, like workflow commands, keeps them too)."""
    out = _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m.group()), text)
    return out.replace(_LEGACY_COMMAND, "##\\x5b")


def line_start(text: str) -> str:
    """:func:`printable`, for text that begins an output line: a runner reads a line whose first
    non-blank characters are ``::`` as a workflow command, so such a first colon is escaped."""
    text = printable(text)
    stripped = text.lstrip()
    if stripped.startswith("::"):
        head = len(text) - len(stripped)
        text = f"{text[:head]}\\x3a{text[head + 1:]}"
    return text


_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]|~$]")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CODE_SAFE = re.compile(r"[\w./:@+,=-]*")


def markdown(text: str) -> str:
    """Plain Markdown text (also fit for a table cell): HTML characters as entities, Markdown
    punctuation (emphasis, code, links, tables, strikethrough, math) backslash-escaped."""
    text = _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(), printable(text))
    text = re.sub("[&<>]", lambda m: _HTML[m.group()], text)
    # GitHub links @user/@org/team mentions (and notifies them) whatever the escaping; a
    # zero-width joiner after the @ keeps the text as it reads and stops the ping.
    return text.replace("@", "@\u2060")


def markdown_code(text: str) -> str:
    """A code span when ``text`` is plain (letters, digits and path punctuation), else escaped
    plain text: inside a code span no escape works, so nothing unusual may go there."""
    if text and _CODE_SAFE.fullmatch(text):
        return f"`{text}`"
    return markdown(text)


def workflow_data(text: str) -> str:
    """The message of a GitHub Actions workflow command."""
    text = printable(text, keep="\t\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A property value (``file=``, ``title=``) of a GitHub Actions workflow command."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")
