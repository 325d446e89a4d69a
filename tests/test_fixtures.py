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


def test_fixtures_scanned_together_stay_apart() -> None:
    """All fixture trees in one scan, as environments side by side: each still yields exactly
    its own findings. Trees that depend on their own config file or forced topology are left
    out, since those apply only when the tree is the scan root."""
    combined = scan_tree(FIXTURES)
    own_config = {d.name for d in _fixture_dirs()
                  if (d / ".bitriver-lint.yaml").exists() or "topology" in load_expected(d)}
    expected = {f"{rule} {d.name}/{where}" for d in _fixture_dirs() if d.name not in own_config
                for rule, where in (f.split(" ", 1) for f in load_expected(d)["findings"])}  # type: ignore[attr-defined]
    got = {f"{f.rule_id} {f.location}" for f in combined.active if f.location.path.split("/")[0] not in own_config}
    assert sorted(got - expected) == [] and sorted(expected - got) == []
