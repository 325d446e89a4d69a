"""Small helpers every part of the Terraform builder uses: addresses and located values."""

from __future__ import annotations

from typing import Any

from bitriver_lint.loaders.terraform import Block, TerraformModule
from bitriver_lint.model import Located


def located_value(
    module: TerraformModule, block: Block, name: str, extra: dict[str, Any] | None = None
) -> Located[Any] | None:
    attribute = block.attributes.get(name)
    if attribute is None:
        return None
    return Located(module.value(attribute, extra), attribute.value_location)


def resource_ref(block: Block) -> str:
    return ".".join(block.labels[:2])


def node_id(module: TerraformModule, address: str) -> str:
    """A graph id for a resource address (module prefix included): unique across root modules,
    since environments kept side by side (envs/prod, envs/staging) reuse the same addresses."""
    return f"tf:{module.root_directory}:{address}"
