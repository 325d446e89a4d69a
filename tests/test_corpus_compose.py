"""Real compose files from public repositories: each loads or is a BRL001 with a position."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.engine import scan


def test_every_compose_file_in_the_corpus_loads_without_internal_error(shared: Path) -> None:
    folder = shared / "corpus" / "compose"
    result = scan([folder], Config(), root=folder)
    compose_files = result.files.get("compose", [])
    assert len(compose_files) > 500
    assert result.errors == ()
    assert [f for f in result.findings if "internal error" in f.message] == []
    for finding in result.findings:
        if finding.rule_id == "BRL001":
            assert finding.location.path in compose_files or finding.location.path.endswith(".env")
            assert finding.location.line >= 1 and finding.location.column >= 1
    # The loader really read them: most real files describe services we put in the graph.
    with_services = {c.location.path for c in result.graph.components()}
    assert len(with_services) > 450
