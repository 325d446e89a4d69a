"""Private keys kept in the tree (``*.key``, ``*.pem``): only where each key block starts.

A TLS key committed beside the proxy config that uses it is a secret in the repository, as a
password in an env file is. Nothing else of a PEM file is read; certificates are public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bitriver_lint.config import Config
from bitriver_lint.model import Diagnostic, Location
from bitriver_lint.workspace import FileProblem, Workspace

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")


@dataclass
class KeyFile:
    path: str
    keys: list[Location] = field(default_factory=list)  # where each private key block begins
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load(files: list[str], ws: Workspace, config: Config) -> list[KeyFile]:
    del config
    out: list[KeyFile] = []
    for rel in files:
        doc = KeyFile(rel)
        out.append(doc)
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            doc.diagnostics.append(exc.diagnostic(rel))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = PRIVATE_KEY.search(line)
            if match:
                doc.keys.append(Location(rel, number, match.start() + 1))
    return out
