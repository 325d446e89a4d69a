from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.config import find_config, load_config
from bitriver_lint.engine import ScanResult, scan

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"


# An API and a viewer on two hosts bound by address, for trees that put a proxy in front of
# both (route and TLS tests).
SPLIT_CONFIG = """hosts:
  api-1: {address: 10.0.1.10, paths: [origin]}
  viewer-1: {address: 10.0.2.10, paths: [viewers]}
"""

SPLIT_ORIGIN = """services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
    restart: unless-stopped
    ports: ["10.0.1.10:8080:8080"]
    environment:
      BITRIVER_VIEWER_ORIGIN: "https://live.example.com/viewer"
"""

SPLIT_VIEWERS = """services:
  viewer:
    image: ghcr.io/bitriver/bitriver-viewer:1.4.2
    restart: unless-stopped
    ports: ["10.0.2.10:3000:3000"]
"""


def scan_tree(root: Path, *, topology: str | None = None, **kwargs: object) -> ScanResult:
    config = load_config(find_config(root))
    return scan([root], config, root=root, topology=topology, **kwargs)  # type: ignore[arg-type]


def brief(result: ScanResult) -> list[str]:
    """Findings as ``RULE path:line:column`` in report order (active ones only)."""
    return [f"{f.rule_id} {f.location}" for f in result.active]


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI runs keep their cache in a directory of each test, never the user's: a test that
    patches the tool in-process (an internal error, a date) must not be answered by the scan
    memo of another test's run of the same tree."""
    monkeypatch.setenv("BITRIVER_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared folder ships beside the repository in CI")
    return SHARED


# -- hypothesis profiles (tests/test_loader_properties.py) -------------------------------------
# "ci" (the default): few examples, a fixed seed, no example database, so CI is deterministic.
# "long": many examples, for a local hunt: pytest --hypothesis-profile=long (or
# BITRIVER_HYPOTHESIS_PROFILE=long); a failure prints its example and the blob to replay it.
def _hypothesis_profiles() -> None:
    import os

    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # pragma: no cover - hypothesis comes with the test extra
        return
    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                              suppress_health_check=quiet)
    settings.register_profile("long", max_examples=2000, deadline=None, database=None, print_blob=True,
                              suppress_health_check=quiet)
    settings.load_profile(os.environ.get("BITRIVER_HYPOTHESIS_PROFILE") or "ci")


_hypothesis_profiles()
