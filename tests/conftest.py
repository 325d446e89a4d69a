from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.config import find_config, load_config
from bitriver_lint.engine import ScanResult, scan

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"


def scan_tree(root: Path, *, topology: str | None = None, **kwargs: object) -> ScanResult:
    config = load_config(find_config(root))
    return scan([root], config, root=root, topology=topology, **kwargs)  # type: ignore[arg-type]


def brief(result: ScanResult) -> list[str]:
    """Findings as ``RULE path:line:column`` in report order (active ones only)."""
    return [f"{f.rule_id} {f.location}" for f in result.active]


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared folder ships beside the repository in CI")
    return SHARED
