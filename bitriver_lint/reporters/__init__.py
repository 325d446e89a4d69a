"""Reporters format findings; they never re-derive facts from files or the graph.

Each module has ``render(result, stream, *, color) -> None``. Imported lazily by name.
"""

from __future__ import annotations

import importlib
from typing import Any

REPORTERS: dict[str, str] = {
    "text": "bitriver_lint.reporters.text",
    "json": "bitriver_lint.reporters.json",
    "sarif": "bitriver_lint.reporters.sarif",
    "junit": "bitriver_lint.reporters.junit",
    "github": "bitriver_lint.reporters.github",
    "markdown": "bitriver_lint.reporters.markdown",
}


def get_reporter(name: str) -> Any:
    return importlib.import_module(REPORTERS[name])
