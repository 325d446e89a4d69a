"""What real trees have that the loaders misread: HAProxy conditional blocks, HTTP/3 listeners,
redirects that spare the ACME challenge, units without Restart=, files not read for a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED, scan_tree

from bitriver_lint.discovery import classify, discover, sniff
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


# -- nothing is skipped without a word ------------------------------------------------------------

def test_files_not_read_are_listed_with_their_reason() -> None:
    result = scan_tree(FIXTURES / "real-tree-files-not-read")
    skipped = dict(result.skipped)
    assert sorted(skipped) == [
        "docker-compose.override.yml", "docker-compose.yml.dist", "edge/haproxy.cfg.j2", "envoy/envoy.yaml",
        "nginx/snippets/acme-challenge.conf", "units/bitriver-live.service.in",
    ]
    assert skipped["docker-compose.override.yml"].startswith("git-ignored")
    assert "sample (.dist) of a compose file" in skipped["docker-compose.yml.dist"]
    assert "template (.j2) of a haproxy file" in skipped["edge/haproxy.cfg.j2"]
    assert "template (.in) of a systemd file" in skipped["units/bitriver-live.service.in"]
    assert "dynamic_resources" in skipped["envoy/envoy.yaml"]
    assert "no file of the tree includes" in skipped["nginx/snippets/acme-challenge.conf"]
    (error,) = [f for f in result.findings if f.rule_id == "BRL001"]
    assert error.message == ("duplicate key 'api': a key may appear only once in a mapping; "
                             "the services of this file were not analysed")


def test_an_included_nginx_fragment_is_read_with_its_server(tmp_path: Path) -> None:
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "acme.conf").write_text("location ^~ /.well-known/acme-challenge/ {\n    root /srv;\n}\n")
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n    server {\n        listen 80;\n        include snippets/*.conf;\n    }\n}\n")
    found = discover([tmp_path], Workspace(tmp_path), [])
    assert found.by_format == {"nginx": ["nginx.conf", "snippets/acme.conf"]}
    assert found.skipped == []


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("nginx.conf.tmpl", "events {}\n", "a template (.tmpl) of a nginx file"),
    ("site.conf.j2", "server {\n    listen 80;\n}\n", "a Jinja template (.j2) of a nginx file"),
    ("compose.yaml.example", "services: {}\n", "a sample (.example) of a compose file"),
    ("Makefile.in", "all:\n", None),  # not a template of ours
    ("notes.txt.sample", "hello\n", None),
])
def test_templates_and_samples_of_our_files(tmp_path: Path, name: str, text: str, reason: str | None) -> None:
    (tmp_path / name).write_text(text)
    fmt, why = classify(name, Workspace(tmp_path))
    assert fmt is None
    assert (why is not None and why.startswith(reason)) if reason else why is None


# -- BRL201: HTTP/3 beside HTTPS is one termination point ----------------------------------------

def test_caddy_http3_on_443_udp_is_not_a_second_termination_point(tmp_path: Path) -> None:
    (tmp_path / "Caddyfile").write_text("live.example.com {\n\treverse_proxy /api/* api:8080\n}\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  caddy:\n    image: caddy:2.8\n    ports:\n      - \"80:80\"\n      - \"443:443\"\n"
        "      - \"443:443/udp\"\n    volumes:\n      - ./Caddyfile:/etc/caddy/Caddyfile:ro\n"
        "  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.2\n")
    result = scan_tree(tmp_path)
    assert [f"{f.location} {f.message}" for f in result.active if f.rule_id == "BRL201"] == []
