"""Terraform modules into the graph.

So far only what does not depend on AWS resource mapping: literal secrets written in resources,
variable defaults and tfvars (BRL602). Hosts, security groups, load balancers and managed
databases are the next step (see the Terraform issue).
"""

from __future__ import annotations

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.loaders.terraform import SECRET_NAME, Attribute, Block, TerraformModule


def _secret_literals(blocks: list[Block]) -> list[Attribute]:
    found: list[Attribute] = []
    for block in blocks:
        for name, attribute in block.attributes.items():
            if attribute.literal and SECRET_NAME.search(name):
                found.append(attribute)
        found.extend(_secret_literals(block.blocks))
    return found


def nodes(modules: list[TerraformModule], ctx: BuildContext) -> None:
    for module in modules:
        for attribute in _secret_literals(module.of_type("resource") + module.of_type("provider")):
            value = module.value(attribute)
            if isinstance(value, str) and value:
                ctx.graph.add_setting(attribute.name, value, attribute.value_location)
        for variable in module.of_type("variable"):
            name = variable.labels[0] if variable.labels else ""
            default = variable.attributes.get("default")
            if default is None or not default.literal or not SECRET_NAME.search(name) or name in module.sensitive:
                continue
            value = module.value(default)
            if isinstance(value, str) and value:
                ctx.graph.add_setting(name, value, default.value_location)
        for path, attribute in module.tfvars:
            value = module.value(attribute)
            if attribute.literal and SECRET_NAME.search(attribute.name) and isinstance(value, str) and value:
                committed = not ctx.workspace.is_ignored(path)
                if not committed:
                    ctx.graph.uncommitted.add(path)
                ctx.graph.add_setting(attribute.name, value, attribute.value_location, committed)


def edges(modules: list[TerraformModule], ctx: BuildContext) -> None:
    del modules, ctx
