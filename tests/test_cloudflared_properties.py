"""Hostile input for the cloudflared config reader, in the style of test_loader_properties.py:
random text, mangled fixtures and YAML of any shape built from cloudflared's own keys never
make the loader raise, and every position it reports is inside the file."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st
from test_loader_properties import (
    Case,
    _config_loader,
    _fixture_tree,
    _seeds,
    _tree,
    mangled,
    random_text,
    run,
)

from bitriver_lint.loaders import cloudflared

_KEYS = ("tunnel", "credentials-file", "ingress", "hostname", "path", "service", "originRequest", "noTLSVerify",
         "url", "warp-routing", "connectTimeout", "httpHostHeader")
_WORDS = ("http://localhost:8080", "https://caddy:443", "http_status:404", "http_status:x", "hello_world",
          "bastion", "unix:/run/x.sock", "tcp://db:5432", "http://api:8080/v1", "http://[::1", "http://a:99999",
          "^/api/", "^/hls/.*\\.m3u8$", "(", "*", "*.example.com", "a.*.example.com", "example.com:443", "*")
CASE = Case("cloudflared", "cloudflared/config.yml", _seeds("*/cloudflared/config.yml"),
            lambda rel: rel.endswith("config.yml"), _config_loader(cloudflared.load),
            ("tunnel: t\n", "ingress:\n", "  - hostname: ", "    path: ", "    service: ", "originRequest:\n",
             "  noTLSVerify: true\n", "url: ", *_WORDS))


@given(data=st.data())
def test_random_text_never_raises_and_positions_stay_in_the_file(data: st.DataObject) -> None:
    run(CASE, {CASE.target: data.draw(random_text(CASE.tokens), label="content")}, CASE.target)


@given(data=st.data())
def test_mangled_fixtures_never_raise_and_positions_stay_in_the_file(data: st.DataObject) -> None:
    assert CASE.seeds, "no cloudflared fixture to start from"
    seed = data.draw(st.sampled_from(CASE.seeds), label="seed")
    content = data.draw(mangled(_seed(seed), CASE.tokens), label="mangled")
    files, rel = _fixture_tree(CASE, seed, content)
    run(CASE, files, rel)


def _seed(seed: str) -> bytes:
    from test_loader_properties import FIXTURES

    return (FIXTURES / seed).read_bytes()


@given(data=st.data())
def test_documents_of_any_shape_never_raise_and_positions_stay_in_the_file(data: st.DataObject) -> None:
    rules = st.lists(st.dictionaries(st.sampled_from(_KEYS), _tree(_KEYS, _WORDS), max_size=5), max_size=4)
    document = data.draw(st.fixed_dictionaries({"tunnel": _tree(_KEYS, _WORDS)},
                                               optional={"ingress": rules | _tree(_KEYS, _WORDS),
                                                         "originRequest": _tree(_KEYS, _WORDS),
                                                         "url": _tree(_KEYS, _WORDS)}), label="document")
    content = yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()
    run(CASE, {CASE.target: content}, CASE.target)
