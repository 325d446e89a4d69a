"""The one-way flow is enforced: the import contracts in ``.importlinter`` hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _lint_imports() -> str | None:
    beside_python = Path(sys.executable).with_name("lint-imports")
    return str(beside_python) if beside_python.is_file() else shutil.which("lint-imports")


def test_import_contracts_hold() -> None:
    exe = _lint_imports()
    if exe is None:
        pytest.skip("lint-imports is not installed (it comes with the test extra: pip install -e '.[test]')")
    proc = subprocess.run([exe, "--config", str(REPO / ".importlinter"), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_validating_a_config_does_not_load_the_graph() -> None:
    """``networks.cdn: cloudflare`` is checked against the shipped range sets without networkx."""
    code = (
        "import sys\n"
        "from bitriver_lint.config import Config\n"
        "Config.model_validate({'topology': 'cdn', 'networks': {'cdn': 'cloudflare'}, 'roles': {'x': 'api'}})\n"
        "print([m for m in ('networkx', 'bitriver_lint.graph') if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == "[]"


def test_config_and_exposure_agree_on_the_shipped_range_sets() -> None:
    from bitriver_lint import config, exposure

    assert config.shipped_range_names() == exposure.shipped_range_names()
