"""The engine's own rules (BRL001-BRL003) take their severity from the catalog like any rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_tree

from bitriver_lint import engine
from bitriver_lint.model import Severity


def test_meta_rule_severity_comes_from_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        'services:\n  srs:\n    image: ossrs/srs:5\n    ports:\n      - "1985:${SRS_API_PORT}"\n'
        "    # bitriver-lint: ignore[BRL102]\n")
    real = engine.load_rules

    def load_rules(config: object) -> dict[str, object]:
        rules = real(config)  # type: ignore[arg-type]
        for rule_id, severity in (("BRL002", "warning"), ("BRL003", "error")):
            rules[rule_id] = rules[rule_id].model_copy(update={"severity": severity})
        return rules  # type: ignore[return-value]

    monkeypatch.setattr(engine, "load_rules", load_rules)
    result = scan_tree(tmp_path, select=["BRL002", "BRL003"])
    by_rule = {f.rule_id: f.severity for f in result.active}
    assert by_rule == {"BRL002": Severity.WARNING, "BRL003": Severity.ERROR}
