"""Real unit files from public repositories: each loads or is a BRL001 with a position."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.engine import scan


def test_every_unit_in_the_corpus_loads_without_internal_error(shared: Path) -> None:
    folder = shared / "corpus" / "systemd"
    result = scan([folder], Config(), root=folder)
    units = result.files.get("systemd", [])
    assert len(units) >= 40
    assert result.errors == ()
    assert [f for f in result.findings if "internal error" in f.message] == []
    for finding in result.findings:
        if finding.rule_id == "BRL001":
            assert finding.location.path in units and finding.location.line >= 1
    services = {c.location.path for c in result.graph.components() if c.origin == "systemd"}
    assert len(services) >= 30
