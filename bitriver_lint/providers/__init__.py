"""Cloud and CDN providers: what one provider's Terraform resource types mean for the graph.

``builders.terraform`` does what every provider shares: module instances, literal secrets,
the region anchor, and feeding load balancers to the shared load-balancer builder. What a
provider's resource types mean (an ``aws_instance`` is a host behind its security groups) is
that provider's module here. Adding one (Cloudflare, Fastly, Google Cloud) is a new module
with an object that satisfies ``Provider``, plus its line in ``PROVIDERS``.
"""

from __future__ import annotations

from bitriver_lint.providers.aws import AWS
from bitriver_lint.providers.base import LoadBalancer, Provider
from bitriver_lint.providers.cloudflare import CLOUDFLARE
from bitriver_lint.providers.fastly import FASTLY
from bitriver_lint.providers.gcp import GCP

__all__ = ["PROVIDERS", "LoadBalancer", "Provider", "provider_for"]

# The registry: the first provider that handles a resource type builds it.
PROVIDERS: list[Provider] = [AWS, GCP, CLOUDFLARE, FASTLY]


def provider_for(resource_type: str) -> Provider | None:
    return next((p for p in PROVIDERS if p.handles(resource_type)), None)
