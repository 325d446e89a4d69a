"""Private keys kept in the tree (``*.key``, ``*.pem``): only where each key block starts.

A TLS key committed beside the proxy config that uses it is a secret in the repository, as a
password in an env file is. Nothing else of a PEM file is read; certificates are public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bitriver_lint.config import Config
from bitriver_lint.loaders.each import read_each
from bitriver_lint.model import Diagnostic, Location
from bitriver_lint.workspace import Workspace

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")


@dataclass
class KeyFile:
    path: str
    keys: list[Location] = field(default_factory=list)  # where each private key block begins
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load(files: list[str], ws: Workspace, config: Config) -> list[KeyFile]:
    del config

    def fill(doc: KeyFile, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            match = PRIVATE_KEY.search(line)
            if match:
                doc.keys.append(Location(doc.path, number, match.start() + 1))

    return read_each(files, ws, KeyFile, fill)
