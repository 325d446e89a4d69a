"""Every fixture tree yields exactly the findings written in its ``expected.yaml``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, scan_tree


def _fixture_dirs() -> list[Path]:
    return sorted(p.parent for p in FIXTURES.glob("*/expected.yaml"))


def load_expected(directory: Path) -> dict[str, object]:
    data = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8")) or {}
    data.setdefault("findings", [])
    data.setdefault("suppressed", [])
    return data


@pytest.mark.parametrize("directory", _fixture_dirs(), ids=lambda p: p.name)
def test_fixture_findings_match_expected(directory: Path) -> None:
    expected = load_expected(directory)
    result = scan_tree(directory, topology=expected.get("topology"))  # type: ignore[arg-type]
    active = [f"{f.rule_id} {f.location}" for f in result.active]
    suppressed = [f"{f.rule_id} {f.location}" for f in result.findings if f.suppression]
    assert active == expected["findings"], "\n".join(f"{f.rule_id} {f.location} {f.message}" for f in result.active)
    assert suppressed == expected["suppressed"]
    if "detected_topology" in expected:
        assert result.topology == expected["detected_topology"]


def test_there_are_fixtures() -> None:
    assert len(_fixture_dirs()) >= 10
