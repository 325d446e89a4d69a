"""Scanned trees are hostile: text from them must not hijack the reports that CI logs, pull-request
comments and dashboards show. Each test scans a tree whose service and directory names carry
terminal escapes, workflow commands, HTML and Markdown, through the real command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES

from bitriver_lint.reporters import _safe

# A service name: terminal escapes (CSI, OSC with BEL), C0 and C1 controls, a newline and a
# carriage return each followed by a workflow command, the legacy command form, HTML, Markdown,
# Rich markup, an emoji code and a right-to-left override.
NAME = (
    "db\x1b[2J\x1b]0;pwned\x07\x01\x7f\x85\x9b31m\n::error file=pwned.yml,line=1::INJECTED-NL"
    "\r::warning::INJECTED-CR <img src=x onerror=alert(1)> | `tick` *bold* _em_ [link](http://x) "
    "$math$ ~~s~~ & :warning: ##[error]LEGACY [bold]markup[/] \u202eevil\u2028sep"
)
# A directory at the top of the tree: its path begins report lines.
DIRECTORY = "::error file=d.yml::DIR\x1b[31m\n::notice::DIR-NL <b onclick=x>|`d`*"

# What a runner, a terminal or XML must never receive from the files.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
SGR = re.compile("\x1b\\[[0-9;]*m")  # the colours we add ourselves with --color
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _compose(service: str) -> str:
    # JSON strings are YAML double-quoted scalars: the escapes (\u001b, \n, ...) reach the name.
    return f"services:\n  {json.dumps(service)}:\n    image: postgres:16\n    ports:\n      - \"5432:5432\"\n"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text(_compose(NAME), encoding="utf-8")
    (tmp_path / DIRECTORY).mkdir()
    (tmp_path / DIRECTORY / "docker-compose.yml").write_text(_compose("cache"), encoding="utf-8")
    return tmp_path


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitriver_lint", ".", *args],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", check=False,
    )


def report(cwd: Path, fmt: str, *extra: str) -> str:
    proc = run(cwd, "--format", fmt, *extra)
    assert proc.returncode == 1, proc.stderr  # findings, not a crash
    assert "Traceback" not in proc.stderr
    return proc.stdout


def _assert_no_commands(text: str) -> None:
    """No line a GitHub runner would execute: ``::`` first on a line (after blanks), or the
    legacy ``##[`` anywhere."""
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "##[" not in text


def test_the_hostile_strings_reach_the_report_exactly(hostile: Path) -> None:
    """JSON and SARIF keep the original text (JSON escaping is enough there): this is also what
    proves the other formats below had something to neutralise."""
    findings = json.loads(report(hostile, "json"))["findings"]
    assert sum(NAME in f["message"] for f in findings) >= 3
    assert any(f["location"]["path"] == f"{DIRECTORY}/docker-compose.yml" for f in findings)
    results = json.loads(report(hostile, "sarif"))["runs"][0]["results"]
    assert sum(NAME in r["message"]["text"] for r in results) >= 3
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert f"{DIRECTORY}/docker-compose.yml" in uris


def test_text_report_escapes_controls_markup_emoji_and_commands(hostile: Path) -> None:
    out = report(hostile, "text", "--no-color")
    assert not CONTROL.search(out), repr(CONTROL.search(out))
    assert "\x1b" not in out
    _assert_no_commands(out)
    # The text is there, shown escaped, verbatim otherwise: no markup, no emoji.
    assert "db\\x1b[2J\\x1b]0;pwned\\x07\\x01\\x7f\\x85\\x9b31m\\n::error file=pwned.yml" in out
    assert "\\r::warning::INJECTED-CR <img src=x onerror=alert(1)> | `tick`" in out
    assert ":warning:" in out and "\u26a0" not in out
    assert "[bold]markup[/]" in out
    assert "\\u202eevil\\u2028sep" in out
    assert "\\x3a:error file=d.yml::DIR\\x1b[31m\\n::notice::DIR-NL" in out  # the path heading
    assert out.count("INJECTED-NL") >= 3


def test_text_report_in_colour_adds_only_its_own_colours(hostile: Path) -> None:
    out = report(hostile, "text", "--color")
    assert "INJECTED-NL" in out
    plain = SGR.sub("", out)
    assert "\x1b" not in plain and not CONTROL.search(plain)
    _assert_no_commands(plain)
    _assert_no_commands(out)


def test_text_report_environment_lines_start_with_our_text(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "environments-mixed-layouts", tmp_path, dirs_exist_ok=True)
    (tmp_path / "envs").rename(tmp_path / "::error::ENV")
    out = report(tmp_path, "text", "--no-color")
    assert "topology: mixed, one per environment:" in out
    assert "\n  \\x3a:error::ENV/staging: single-node" in out
    _assert_no_commands(out)
    markdown = report(tmp_path, "markdown")
    assert "- `::error::ENV/staging`: **single-node**" in markdown  # mid-line there: harmless


def _cells(row: str) -> list[str]:
    """A Markdown table row split on its unescaped pipes."""
    cells, current, chars = [], "", iter(row.strip())
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            cells.append(current)
            current = ""
        else:
            current += char
    return [*cells, current][1:-1]


def _unescaped(text: str) -> str:
    """``text`` without its backslash escapes, entities and safe code spans."""
    text = re.sub(r"\\.", "", text)
    text = re.sub(r"&(amp|lt|gt);", "", text)
    return re.sub(r"`[\w./:@+,=-]*`", "", text)


# Our own syntax at the start of a finding's line: the rule, linked to its page, and its name.
RULE_LINK = re.compile(
    r"- \*\*\[BRL\d{3}\]\(https://github\.com/bitriver-live/bitriver-lint/blob/main/docs/rules/BRL\d{3}\.md\)\*\* "
    r"[a-z0-9-]+ at "
)


def test_markdown_escapes_html_and_markdown_in_every_finding(hostile: Path) -> None:
    out = report(hostile, "markdown")
    assert not CONTROL.search(out)
    assert "\x1b" not in out
    _assert_no_commands(out)
    text, fence, rest = out.partition("```mermaid\n")
    chart, fence_end, after = rest.partition("\n```\n")
    assert fence and fence_end and after == ""  # one chart, closed, last
    assert "<" not in text and ">" not in text  # no HTML at all, not even our own
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 10  # one per finding: no line added by a newline in a name
    hostile_items = 0
    for item in items:
        ours = RULE_LINK.match(item)
        assert ours, item
        # Once escapes are removed, no Markdown or HTML syntax is left in what came from the files.
        assert not re.search(r"[`*_\[\]~$<>&|]", _unescaped(item[ours.end():])), item
        hostile_items += "INJECTED-NL" in item
    for proof in (line for line in text.splitlines() if line.startswith("  - ")):
        assert not re.search(r"[`*_\[\]~$<>&|]", _unescaped(proof[4:])), proof
    assert hostile_items >= 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "\\| \\`tick\\` \\*bold\\* \\_em\\_ \\[link\\](http://x) \\$math\\$ \\~\\~s\\~\\~ &amp;" in out
    location = "::error file=d.yml::DIR\\\\x1b\\[31m\\\\n::notice::DIR-NL &lt;b onclick=x&gt;\\|\\`d\\`\\*/docker"
    assert location in out
    # The chart: every line ours, every label one quoted string that nothing closes early, and
    # nothing that could end the code fence or open HTML.
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    assert "`" not in chart and "<" not in chart
    ours = re.compile(r'  n\d+\["[^"\[\]]*"\]|  n\d+ -->\|[^|]*\| n\d+|  (linkStyle|classDef|class) .*')
    for line in lines[1:]:
        assert ours.fullmatch(line), line
    assert sum("INJECTED-NL" in line for line in lines) == 1


def test_github_annotations_stay_one_command_each(hostile: Path) -> None:
    out = report(hostile, "github")
    assert not CONTROL.search(out)
    assert "##[" not in out
    *lines, summary = out.splitlines()
    assert len(lines) == 10  # one per finding, none injected
    assert re.fullmatch(r"bitriver-lint: \d+ error\(s\), \d+ warning\(s\), \d+ note\(s\)", summary)
    command = re.compile(r"::(error|warning|notice) file=[^:,]*,line=\d+,col=\d+,title=[^:,]*::")
    for line in lines:
        assert command.match(line), line
        assert line.count("::") >= 2
    data = [command.sub("", line) for line in lines if "INJECTED-NL" in line]
    assert len(data) >= 3
    assert all("%0A::error file=pwned.yml" in d and "%0D::warning::INJECTED-CR" in d for d in data)
    path = "file=%3A%3Aerror file=d.yml%3A%3ADIR\\x1b[31m%0A%3A%3Anotice%3A%3ADIR-NL <b onclick=x>|`d`*/docker"
    assert any(line.startswith(f"::error {path}") for line in lines)


def test_junit_is_well_formed_xml(hostile: Path) -> None:
    out = report(hostile, "junit")
    assert not XML_ILLEGAL.search(out)
    suites = ET.fromstring(out)
    failures = suites.findall("./testsuite/testcase/failure")
    assert len(failures) == 10  # (rule, file) pairs with a finding: BRL103 BRL107 BRL501-BRL503, 2 files
    messages = [f.get("message", "") for f in failures]
    assert sum("\\x1b[2J" in m and "\\n::error file=pwned.yml" in m for m in messages) >= 3
    assert all("\n" not in m for m in messages)  # one line: the text cannot forge a failure line
    for failure in failures:  # each line of the details is ours: a location, then the text
        for line in (failure.text or "").splitlines():
            assert re.match(r"(  )?(docker-compose\.yml|::error file=d\.yml::DIR\\x1b\[31m\\n::notice)", line), line
    hostile_dir = "::error file=d.yml::DIR\\x1b[31m\\n::notice::DIR-NL <b onclick=x>|`d`*/docker-compose.yml"
    assert hostile_dir in {case.get("file") for case in suites.iter("testcase")}
    assert f"BRL103 {hostile_dir}" in {case.get("name") for case in suites.iter("testcase")}


def test_graph_labels_stay_on_one_line(hostile: Path) -> None:
    for fmt in ("mermaid", "dot"):
        proc = subprocess.run([sys.executable, "-m", "bitriver_lint", "graph", ".", "--format", fmt],
                              cwd=hostile, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "INJECTED-NL" in proc.stdout
        assert not CONTROL.search(proc.stdout)
        _assert_no_commands(proc.stdout)
        for line in proc.stdout.splitlines()[1:]:
            assert line.startswith("  ") or line == "}", line


@pytest.mark.parametrize("code", [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0x202E, 0xD800,
                                  0xFFFE])
def test_printable_escapes_every_control_character(code: int) -> None:
    char = chr(code)
    escaped = _safe.printable(f"a{char}b", keep="")
    assert char not in escaped
    assert escaped.startswith("a\\") and escaped.endswith("b")
    assert _safe.printable("a\tb") == "a\tb"  # a tab is harmless, kept by default


def test_markdown_code_span_only_for_plain_text() -> None:
    assert _safe.markdown_code("envs/prod") == "`envs/prod`"
    assert _safe.markdown_code("a`b") == "a\\`b"
    assert _safe.markdown_code("<b>") == "&lt;b&gt;"


def test_line_start_escapes_leading_workflow_command() -> None:
    assert _safe.line_start("  ::error::x") == "  \\x3a:error::x"
    assert _safe.line_start("a::b") == "a::b"


def test_markdown_does_not_mention_people() -> None:
    from bitriver_lint.reporters._safe import markdown

    assert "@octocat" not in markdown("ping @octocat and @org/team")
    assert markdown("ping @octocat").replace("\u2060", "") == "ping @octocat"


def test_github_annotations_most_severe_first_and_markdown_fits_one_comment(tmp_path: Path) -> None:
    from bitriver_lint.reporters import markdown

    services = "".join(f"  db{i}:\n    image: postgres:16\n    ports: ['{5000 + i}:5432']\n" for i in range(1500))
    (tmp_path / "docker-compose.yml").write_text(f"services:\n{services}")
    lines = report(tmp_path, "github").splitlines()
    order = [line.split(" ", 1)[0] for line in lines[:-1]]
    assert order == sorted(order, key=lambda c: {"::error": 0, "::warning": 1, "::notice": 2}[c])
    comment = report(tmp_path, "markdown")
    assert len(comment) < 65_536
    shown = sum(line.startswith("- **") for line in comment.splitlines())
    assert f"… and {7500 - shown} more finding(s): see the full report (" in comment
    assert markdown.COMMENT_BUDGET < 65_536
