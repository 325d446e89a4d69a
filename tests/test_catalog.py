"""The rule catalog: complete, consistent with the spec, documented, and bound to checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, REPO

from bitriver_lint.checks import CHECKS, META_CHECK, get_check
from bitriver_lint.config import Config, load_config
from bitriver_lint.engine import load_rules
from bitriver_lint.ruledocs import SECTIONS, expected_pages
from bitriver_lint.rules import builtin_rules

RULES = list(builtin_rules())


def _spec_rows(shared: Path) -> dict[str, tuple[str, str, str]]:
    text = (shared / "spec" / "rules.md").read_text()
    rows: dict[str, tuple[str, str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"BRL\d{3}", cells[0]):
            topologies = cells[3] if len(cells) > 4 else "all"
            rows[cells[0]] = (cells[1], cells[2], topologies)
    return rows


def test_catalog_matches_the_spec(shared: Path) -> None:
    spec = _spec_rows(shared)
    assert sorted(spec) == [r.id for r in RULES]
    for rule in RULES:
        name, severity, topologies = spec[rule.id]
        assert rule.name == name
        assert severity.startswith(rule.severity)
        assert ", ".join(rule.topologies) == topologies


def test_every_rule_binds_to_a_registered_check_with_valid_parameters() -> None:
    for rule in RULES:
        if rule.check == META_CHECK:
            continue
        assert rule.check in CHECKS, rule.id
        get_check(rule.check).params.model_validate(rule.parameters)
    load_rules(Config())  # the engine's own validation agrees


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_complete_docs(rule: object) -> None:
    page = expected_pages()[f"{rule.id}.md"]  # type: ignore[attr-defined]
    for section in SECTIONS:
        body = page.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0].strip()
        assert len(body) > 40, f"{rule.id}: section {section!r} is too thin"  # type: ignore[attr-defined]
    assert "```" in page.split("## Example", 1)[1].split("## How to fix", 1)[0]
    assert "```" in page.split("## How to fix", 1)[1]


def test_docs_pages_are_generated_from_the_catalog() -> None:
    docs = REPO / "docs" / "rules"
    expected = expected_pages()
    stale = [n for n, text in expected.items() if not (docs / n).is_file() or (docs / n).read_text() != text]
    extra = [p.name for p in docs.glob("*.md") if p.name not in expected]
    assert (stale, extra) == ([], []), "run: python -m bitriver_lint.ruledocs docs/rules"


def _fixture_expectations() -> list[tuple[str, str | None, set[str]]]:
    out = []
    for path in sorted(FIXTURES.glob("*/expected.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        ids = {line.split()[0] for line in data.get("findings", []) + data.get("suppressed", [])}
        out.append((path.parent.name, data.get("topology") or data.get("detected_topology"), ids))
    return out


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_a_failing_and_a_passing_fixture(rule: object) -> None:
    fixtures = _fixture_expectations()
    rid = rule.id  # type: ignore[attr-defined]
    failing = [name for name, _, ids in fixtures if rid in ids]
    applies = rule.applies_to  # type: ignore[attr-defined]
    passing = [name for name, topo, ids in fixtures if rid not in ids and applies(topo or "single-node")]
    assert failing, f"no fixture violates {rid}"
    assert passing, f"no fixture in a topology where {rid} applies passes it"


def test_custom_rules_are_validated_and_the_catalog_alone_needs_no_graph(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bitriver_lint.catalog import load_catalog
    from bitriver_lint.errors import ConfigError

    policy = tmp_path / "policy"
    policy.mkdir()
    builtin = (REPO / "rules" / "BRL103.yaml").read_text(encoding="utf-8")
    (policy / "ACME103.yaml").write_text(builtin.replace("id: BRL103", "id: ACME103")
                                         .replace("name: datastore-not-public", "name: acme-datastore")
                                         .replace("  - role: redis", "  - rolle: redis"))
    config_file = tmp_path / ".bitriver-lint.yaml"
    config_file.write_text("rules:\n  paths: [policy]\n")
    with pytest.raises(ConfigError, match=r"ACME103.yaml: parameters.targets.1.role: Field required"):
        load_catalog(load_config(config_file))
    code = ("import sys\nfrom bitriver_lint.config import Config\nfrom bitriver_lint.catalog import load_catalog\n"
            "load_catalog(Config())\nprint([m for m in ('networkx', 'bitriver_lint.graph') if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == "[]"
