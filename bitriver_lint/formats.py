"""The formats bitriver-lint reads: which loader parses them and which builder graphs them.

Modules are named as strings and imported only when a scan finds a file of that format, so
the CLI starts fast and python-hcl2 or crossplane load only when needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Format:
    name: str
    loader: str  # "module:function" with signature (files, workspace, config) -> documents
    builder: str  # module with nodes(docs, ctx) and edges(docs, ctx)
    # Builders run in this order: proxies join the components the others defined.
    stage: int = 0

    def load_fn(self) -> Any:
        module, attr = self.loader.split(":")
        return getattr(importlib.import_module(module), attr)

    def builder_module(self) -> Any:
        return importlib.import_module(self.builder)


FORMATS: dict[str, Format] = {
    "compose": Format("compose", "bitriver_lint.loaders.compose:load", "bitriver_lint.builders.compose"),
    "envoy": Format("envoy", "bitriver_lint.loaders.envoy:load", "bitriver_lint.builders.proxy", stage=1),
    "caddy": Format("caddy", "bitriver_lint.loaders.caddy:load", "bitriver_lint.builders.proxy", stage=1),
    "nginx": Format("nginx", "bitriver_lint.loaders.nginx:load", "bitriver_lint.builders.proxy", stage=1),
    "haproxy": Format("haproxy", "bitriver_lint.loaders.haproxy:load", "bitriver_lint.builders.proxy", stage=1),
    "terraform": Format("terraform", "bitriver_lint.loaders.terraform:load", "bitriver_lint.builders.terraform"),
    "tfplan": Format("tfplan", "bitriver_lint.loaders.tfplan:load", "bitriver_lint.builders.terraform"),
    "systemd": Format("systemd", "bitriver_lint.loaders.systemd:load", "bitriver_lint.builders.systemd"),
    "pem": Format("pem", "bitriver_lint.loaders.pem:load", "bitriver_lint.builders.pem"),
}
