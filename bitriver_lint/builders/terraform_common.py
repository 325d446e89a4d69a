"""What every Terraform provider builds the same way: graph ids and hosts bound to trees."""

from __future__ import annotations

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Host
from bitriver_lint.loaders.proxy import config_key
from bitriver_lint.loaders.terraform_document import TerraformModule
from bitriver_lint.model import Location


def node_id(module: TerraformModule, address: str) -> str:
    """A graph id for a resource address (module prefix included): unique across root modules,
    since environments kept side by side (envs/prod, envs/staging) reuse the same addresses."""
    return f"tf:{module.root_directory}:{address}"


def component_id(module: TerraformModule, address: str) -> str:
    """The graph id of what runs on the machine or service ``node_id`` names (an instance, a
    group, a managed database): providers make it, and joins that must stay in one root find it."""
    return node_id(module, address) + "#component"


def root_prefix(module: TerraformModule) -> str:
    """What the ids ``node_id`` makes in ``module``'s root start with."""
    return f"tf:{module.root_directory}:"


def balancer_id(module: TerraformModule, path: str, name: str) -> str:
    """The graph id of the component the load-balancer builder makes (``{kind}:{key}``) for a
    cloud load balancer of ``module``'s root whose document is written at ``path`` and named
    ``name``: a CDN record that points at it is built before it exists."""
    return "terraform:" + config_key(path, name, module.root)


def bind_trees(ctx: BuildContext, host: Host, refs: tuple[str, ...], where: Location) -> bool:
    """Config ``hosts`` entries that put compose/systemd directories on this machine: their hosts
    run on it (and so sit behind its firewall layers). True when any binding applied."""
    bound = [b for b in ctx.config.hosts.values() if b.resource in refs and b.paths]
    for binding in bound:
        prefixes = [ctx.config_path(p) for p in binding.paths]
        for other in ctx.graph.hosts():
            directory = other.directory or ""
            if other.id != host.id and any(directory == p or directory.startswith(p + "/") for p in prefixes):
                ctx.graph.runs_on(other.id, host.id, where)
    return bool(bound)
