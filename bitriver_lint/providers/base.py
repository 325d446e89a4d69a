"""The seam between the Terraform builder and one cloud's resource types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Host
from bitriver_lint.loaders.proxy import ProxyConfig
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule


@dataclass
class LoadBalancer:
    """A provider's load balancer as the document the shared load-balancer builder reads (the
    one HAProxy, nginx, Envoy and Caddy configs become), so the same checks apply to it."""

    document: ProxyConfig
    # Puts the host the load-balancer builder made for it behind the provider's own firewall
    # layers (security groups, an internal scheme); None when the provider has none.
    place: Callable[[Host, BuildContext], None] | None = None
    # The id of a component the provider already made that runs this document (a CDN whose
    # origins are its backends); None: the load-balancer builder makes one.
    runner: str | None = None


class Provider(Protocol):
    """What one provider's resource types mean for the graph.

    The Terraform builder hands each provider the resource instances of the types it
    ``handles``, module by module, with the module document for anything else it needs to
    look up (data sources, variables). Values are final: a provider reads them and never
    evaluates or parses anything.
    """

    name: str  # "aws"

    def handles(self, resource_type: str) -> bool:
        """Whether resources of this type are this provider's (``aws_instance``)."""
        ...

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        """Add hosts, components, listeners, networks and firewall layers for these resources
        (runs with every format's nodes, before any edges)."""
        ...

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        """The load balancers these resources describe, built after every format's nodes exist
        (their backends may name the components other providers and formats define)."""
        ...
