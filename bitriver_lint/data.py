"""Where the files shipped with the tool live, found without importing the modules that read
them (the scan memo stamps them before deciding whether anything needs to run)."""

from __future__ import annotations

from pathlib import Path


def builtin_rules_dir() -> Path:
    """``rules/`` as shipped: inside the wheel, or at the top of a source checkout."""
    packaged = Path(__file__).resolve().parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"
