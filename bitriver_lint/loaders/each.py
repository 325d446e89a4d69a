"""The loop every one-file-one-document loader shares: a file that cannot be read is still a
document, carrying its BRL001, so a scan reports it and goes on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from bitriver_lint.model import Diagnostic
from bitriver_lint.workspace import FileProblem, Workspace


class _Document(Protocol):
    @property
    def diagnostics(self) -> list[Diagnostic]: ...


D = TypeVar("D", bound=_Document)


def read_each(files: list[str], ws: Workspace, new: Callable[[str], D], fill: Callable[[D, str], None]) -> list[D]:
    """``new(path)`` for every file, filled by ``fill(doc, text)`` where the file can be read."""
    out: list[D] = []
    for rel in files:
        doc = new(rel)
        out.append(doc)
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            doc.diagnostics.append(exc.diagnostic(rel))
            continue
        fill(doc, text)
    return out
