"""systemd itself accepts the clean unit fixtures (`systemd-analyze verify`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES

CLEAN = [FIXTURES / "single-node-systemd" / "systemd"]

# verify also checks that ExecStart binaries and referenced units exist on *this* machine,
# which a deployment repository cannot satisfy; those complaints are not syntax problems.
_ENVIRONMENTAL = (
    "is not executable",
    "No such file or directory",
    "not found",
    "Failed to prepare filename",
    "Unit ",
    "Failed to create",
    "Cannot add dependency job",
    "is not a directory",
    "Command /",
)


@pytest.mark.parametrize("directory", CLEAN, ids=lambda p: p.parent.name)
def test_clean_units_pass_systemd_analyze_verify(directory: Path, tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs it)")
    units = sorted(directory.glob("*.service"))
    assert units
    for unit in units:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text())
        proc = subprocess.run([tool, "verify", "--man=no", str(copy)], capture_output=True, text=True, check=False)
        problems = [
            line for line in proc.stderr.splitlines()
            if line.strip() and not any(marker in line for marker in _ENVIRONMENTAL)
        ]
        assert problems == [], f"{unit.name}: {proc.stderr}"


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The filter above must not hide real syntax errors."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs it)")
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nRestart=sometimes\nExecStart=/bin/true\n")
    proc = subprocess.run([tool, "verify", "--man=no", str(broken)], capture_output=True, text=True, check=False)
    problems = [line for line in proc.stderr.splitlines()
                if line.strip() and not any(marker in line for marker in _ENVIRONMENTAL)]
    assert problems, proc.stderr
