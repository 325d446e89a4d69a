"""Where a CDN's origin is, in the names the join knows: what a DNS record or a backend's
address points at, written as an address or as a reference to a resource of the tree."""

from __future__ import annotations

import re
from typing import Any

from bitriver_lint.builders.terraform_common import balancer_id
from bitriver_lint.loaders.terraform_document import TerraformModule
from bitriver_lint.model import Unknown
from bitriver_lint.providers.gcp.edge import balancer_at

# A resource reference at the start of an expression: aws_eip.api, aws_eip.api["a"], aws_lb.x[0].
_REFERENCE = re.compile(r'[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*(\[("[^"]*"|\d+)\])?')


def origin_host(module: TerraformModule, content: Any) -> str | None:
    """The name the join knows a record's target by: an address as written, or the component a
    reference names (``aws_eip.api.public_ip`` is the instance the Elastic IP is attached to,
    ``aws_lb.origin.dns_name`` the load balancer). None: a tunnel's name, or nothing readable."""
    if isinstance(content, str):
        return None if content.endswith(".cfargotunnel.com") else content.strip().rstrip(".") or None
    if not isinstance(content, Unknown):
        return None
    # A reference the evaluator left whole (aws_eip.api["a"].public_ip) still names its target.
    written = _REFERENCE.match(content.raw)
    ref = content.names[0] if content.names else (written.group(0) if written else "")
    if not ref:
        return None
    kind = ref.split(".")[0]
    if kind.startswith("cloudflare_") or ".cfargotunnel.com" in content.raw:
        return None
    if kind == "aws_eip":
        eip = module.find("aws_eip", ref)
        target = eip.arg("instance") if eip is not None else None
        if isinstance(target, str):
            instance = module.find("aws_instance", target)
            return instance.full_address if instance is not None else target
        return None
    instances = [i for i in module.of_resource(ref.split("[")[0]) if i.named_by(ref)]
    if kind in ("aws_lb", "aws_alb"):
        return instances[0].full_label if instances else module.prefix + ref
    if instances:
        return instances[0].full_address
    return None


def balancer_node(module: TerraformModule, host: str) -> str | None:
    """The graph id of the load balancer of ``module``'s root that ``host`` (from
    ``origin_host``) names: an ALB, a Google forwarding rule or its address. Roots that call
    one module name theirs alike, so the join must not look it up by name; None when ``host``
    is no load balancer of this root."""
    for member in module.family or [module]:
        for lb in member.of_type("aws_lb", "aws_alb"):
            if lb.full_label == host:  # as ``aws.edge.load_balancers`` names its document
                return balancer_id(member, lb.location.path, lb.full_label)
    return balancer_at(module, host) if "google_compute_" in host else None


def port_of(value: Any) -> int | None:
    """A port number as written (an int from 1 to 65535), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None
