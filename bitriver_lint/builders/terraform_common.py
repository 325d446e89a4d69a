"""Small helpers every part of the Terraform builder uses: addresses, values, copies."""

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
    return f"tf:{module.directory}:{address}"


def expand(module: TerraformModule, block: Block) -> list[tuple[str, dict[str, Any]]]:
    """(address, evaluation scope) per instance that count/for_each expand to."""
    ref = resource_ref(block)
    count = located_value(module, block, "count")
    if count is not None and isinstance(count.value, int):
        return [(f"{ref}[{i}]", {"count": {"index": i}}) for i in range(count.value)]
    for_each = located_value(module, block, "for_each")
    if for_each is not None and isinstance(for_each.value, (dict, list)):
        items = for_each.value.items() if isinstance(for_each.value, dict) else [(k, k) for k in for_each.value]
        return [(f'{ref}["{k}"]', {"each": {"key": k, "value": v}}) for k, v in items]
    return [(ref, {})]
