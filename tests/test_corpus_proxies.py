"""Real HAProxy, nginx, Envoy and Caddy configs: each loads or is a BRL001 with a position."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.config import Config
from bitriver_lint.engine import scan
from bitriver_lint.formats import FORMATS


@pytest.mark.parametrize("kind", ["haproxy", "nginx", "envoy", "caddy"])
def test_corpus_folder_loads_without_internal_error(shared: Path, kind: str) -> None:
    if kind not in FORMATS:
        pytest.skip(f"no {kind} loader yet")
    folder = shared / "corpus" / kind
    result = scan([folder], Config(), root=folder)
    files = result.files.get(kind, [])
    # Fragments (h5bp snippets, Jinja templates) are rightly not claimed; real configs are.
    assert len(files) >= 10
    assert result.errors == ()
    assert [f for f in result.findings if "internal error" in f.message] == []
    for finding in result.findings:
        if finding.rule_id == "BRL001":
            assert finding.location.line >= 1 and finding.location.column >= 1
