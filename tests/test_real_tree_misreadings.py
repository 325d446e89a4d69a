"""What real trees have that the loaders misread: HAProxy conditional blocks, HTTP/3 listeners,
redirects that spare the ACME challenge, units without Restart=, files not read for a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED, scan_tree

from bitriver_lint.discovery import sniff
from bitriver_lint.loaders.haproxy import _condition, _redirects_everything_but_acme, parse_sections
from bitriver_lint.workspace import Workspace

# -- HAProxy conditional blocks ------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "value"), [
    ("version_atleast(2.4)", True),
    ("!version_atleast(2.4)", False),
    ("version_before(2.0)", False),
    ("version_before(4.0)", True),
    ("version_atleast(3.0)", True),
    ("version_atleast(3.1-dev8)", None),  # a 3.x, but which one
    ("feature(QUIC)", None),
    ("defined(SET_HERE)", True),
    ("defined(NOT_SET_HERE)", None),
    ("streq(a,b) && feature(QUIC)", False),
    ("streq(a,a) || feature(QUIC)", True),
    ("(version_atleast(2.0) && !defined(NOT_SET_HERE))", None),
    ("0", False),
    ("1", True),
])
def test_conditions_evaluate_what_is_knowable(condition: str, value: bool | None) -> None:
    assert _condition(condition, {"SET_HERE": "1"}) is value


def _frontends(text: str) -> list[str]:
    sections, diagnostics = parse_sections(text, "haproxy.cfg", {"SET_HERE": "1"})
    assert [d.message for d in diagnostics] == []
    return [s.name for s in sections if s.kind == "frontend"]


def test_a_dead_branch_is_skipped_and_an_unknown_one_read_with_its_else() -> None:
    text = (".if version_before(2.0)\nfrontend dead\n.elif feature(QUIC)\nfrontend quic\n.else\nfrontend plain\n"
            ".endif\n.notice 'hello'\n.if defined(SET_HERE)\nfrontend set\n.else\nfrontend unset\n.endif\n")
    assert _frontends(text) == ["quic", "plain", "set"]


def test_nested_blocks_inside_a_dead_branch_stay_dead() -> None:
    text = ".if 0\n.if 1\nfrontend a\n.else\nfrontend b\n.endif\n.else\nfrontend c\n.endif\n"
    assert _frontends(text) == ["c"]


@pytest.mark.parametrize(("text", "message"), [
    (".endif\n", ".endif without an opening .if"),
    (".if 1\nglobal\n", ".if without a matching .endif"),
    (".if 1\n.else\n.else\n.endif\n", "a second .else in one .if block"),
    (".frobnicate\n", "not an HAProxy directive: '.frobnicate'"),
])
def test_broken_conditional_blocks_are_parse_errors(text: str, message: str) -> None:
    _, diagnostics = parse_sections(text, "haproxy.cfg")
    assert [d.message for d in diagnostics] == [message]


def test_a_cfg_starting_with_if_is_haproxy(tmp_path: Path) -> None:
    (tmp_path / "traces.cfg").write_text(".if version_atleast(3.1)\ntraces\n    trace h1 start now\n.endif\n")
    assert sniff("traces.cfg", Workspace(tmp_path)) == "haproxy"


def test_corpus_haproxy_files_have_no_parse_errors_for_conditionals() -> None:
    corpus = SHARED / "corpus" / "haproxy"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is absent")
    result = scan_tree(corpus)
    assert [f"{f.location} {f.message}" for f in result.findings if f.rule_id == "BRL001"] == []


# -- BRL204: a redirect that spares the ACME challenge is still a redirect -----------------------

_ACLS = {"acme": "/.well-known/acme-challenge/", "is_api": "/api"}


@pytest.mark.parametrize(("line", "redirects"), [
    ("http-request redirect scheme https", True),
    ("http-request redirect scheme https unless { ssl_fc }", True),
    ("http-request redirect scheme https if !{ ssl_fc }", True),
    ("http-request redirect scheme https if !{ ssl_fc } !acme", True),
    ("http-request redirect scheme https if ! { ssl_fc } ! acme", True),
    ("redirect scheme https code 301 if !acme", True),
    ("http-request redirect scheme https unless { ssl_fc } || acme", True),
    ("http-request redirect scheme https unless acme or { ssl_fc }", True),
    ("http-request redirect scheme https if !{ path_beg /.well-known/acme-challenge/ }", True),
    ("http-request redirect scheme https if is_api", False),  # only /api is redirected
    ("http-request redirect scheme https if acme", False),  # only the challenge is
    ("http-request redirect scheme https unless is_api", False),
    ("http-request redirect scheme https if !{ ssl_fc } || !acme", True),
    ("http-request redirect scheme https if is_api || !acme", True),
    ("http-request redirect scheme https if is_api || acme", False),
])
def test_https_redirects_that_spare_acme(line: str, redirects: bool) -> None:
    assert _redirects_everything_but_acme(line.split(), _ACLS) is redirects
