"""AWS Global Accelerator: a global layer-4 load balancer in front of regional endpoints.

An accelerator's listeners (protocol, port ranges) forward TCP/UDP to endpoint groups, one per
region, whose endpoints are ALBs, NLBs, EC2 instances or Elastic IPs. It becomes the
load-balancer document the ALB and HAProxy become, with ``tcp`` routes (it does not look into
HTTP), so exposure follows traffic through it and the health rule judges its endpoint groups.

Health: for EC2 and Elastic IP endpoints the endpoint group's own check applies
(``health_check_protocol``, TCP by default, with ``health_check_path`` for HTTP/HTTPS). For ALB
and NLB endpoints Global Accelerator uses the load balancer's target-group checks instead, which
the ALB's own pools are judged by; such a pool carries no health of its own here.
"""

from __future__ import annotations

from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Allow, Host
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.model import Unknown
from bitriver_lint.providers.aws.network import tf_port
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.vocabulary import Layer

_LBS = ("aws_lb", "aws_alb")
# Ports of a listener's range made into binds; a wider range is kept to its first ports (the
# rules judge 80/443/8080-style ports, and a 1-65535 range must not make 65535 listeners).
_MAX_PORTS = 16


def _ports(listener: ResourceInstance) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for block in listener.nested("port_range"):
        low, high = tf_port(block.arg("from_port")), tf_port(block.arg("to_port"))
        if not isinstance(low, int):
            continue
        top = high if isinstance(high, int) and high >= low else low
        where = block.get("from_port")
        last = min(top, low + _MAX_PORTS - 1)
        out.extend((p, where.location if where else block.location) for p in range(low, last + 1))
    return out


def _health(group: ResourceInstance) -> HealthSpec:
    protocol = str(group.arg("health_check_protocol") or "TCP").upper()
    if protocol not in ("HTTP", "HTTPS"):
        where = group.get("health_check_protocol")
        return HealthSpec(where.location if where else group.location, None)
    path = group.get("health_check_path")
    return HealthSpec(path.location if path else group.key_location("health_check_protocol"),
                      path.value if path is not None and isinstance(path.value, str) else "/", "GET")


def _servers(module: TerraformModule, group: ResourceInstance, port: int) -> tuple[list[Server], bool]:
    """The group's endpoints as servers, and whether any is an EC2 instance (whose health the
    group's own check decides)."""
    overrides = {o.arg("listener_port"): o.arg("endpoint_port") for o in group.nested("port_override")}
    target_port = overrides.get(port, port)
    servers: list[Server] = []
    instances = False
    for endpoint in group.nested("endpoint_configuration"):
        target = endpoint.arg("endpoint_id")
        name = target.raw if isinstance(target, Unknown) else target
        if not isinstance(name, str):
            continue
        lb = next((lb for lb in module.of_type(*_LBS) if lb.named_by(name)), None)
        if lb is not None:
            servers.append(Server(lb.full_label, target_port if isinstance(target_port, int) else None,
                                  endpoint.location, "tcp"))
            continue
        found = module.of_resource(name.split("[")[0])
        if found and found[0].type == "aws_instance":
            instances = True
            addresses = [name] if "[" in name else [i.full_address for i in found]
            servers.extend(Server(a, target_port if isinstance(target_port, int) else None, endpoint.location, "tcp")
                           for a in addresses)
            continue
        servers.append(Server(name, target_port if isinstance(target_port, int) else None, endpoint.location, "tcp"))
    return servers, instances


def load_balancers(module: TerraformModule) -> list[LoadBalancer]:
    out: list[LoadBalancer] = []
    for accelerator in module.of_type("aws_globalaccelerator_accelerator"):
        if accelerator.arg("enabled") is False:
            continue
        doc = ProxyConfig(accelerator.location.path, "terraform", accelerator.location,
                          files=[accelerator.location.path], name=accelerator.full_label, scope=module.root)
        for listener in module.of_type("aws_globalaccelerator_listener"):
            if not accelerator.named_by(listener.arg("accelerator_arn")):
                continue
            if str(listener.arg("protocol") or "TCP").upper() != "TCP":
                continue  # UDP carries none of the HTTP traffic the rules judge
            groups = [g for g in module.of_type("aws_globalaccelerator_endpoint_group")
                      if listener.named_by(g.arg("listener_arn"))]
            for port, where in _ports(listener):
                frontend = Frontend(f"{listener.label}:{port}", listener.location, [Bind("", port, False, where)])
                for group in groups:
                    servers, instances = _servers(module, group, port)
                    name = f"{group.address}:{port}"
                    backend = Backend(name, group.location, servers)
                    if instances:
                        backend.health = _health(group)
                    affinity = listener.get("client_affinity")
                    if affinity is not None and affinity.value == "SOURCE_IP":
                        backend.sticky = affinity.location
                    doc.backends[name] = backend
                    frontend.routes.append(RouteRule(None, name, group.location, scheme="tcp"))
                doc.frontends.append(frontend)
        out.append(LoadBalancer(doc, _placement(accelerator)))
    return out


def _placement(accelerator: ResourceInstance) -> Any:
    def place(host: Host, ctx: BuildContext) -> None:
        """Anycast addresses open to the internet, with no security group of their own."""
        host.described_layers.update({Layer.SECURITY_GROUP, Layer.PUBLIC_ADDRESS})
        for layer, description in ((Layer.SECURITY_GROUP, "no security group"),
                                   (Layer.PUBLIC_ADDRESS, "Global Accelerator anycast addresses")):
            ctx.graph.link(host.id, host.id, Allow(location=accelerator.location, layer=layer,
                                                   cidrs=["0.0.0.0/0", "::/0"], port_from=0, port_to=65535,
                                                   protocol="all", description=description,
                                                   assumed="anyone: a Global Accelerator has no security group"
                                                   if layer is Layer.SECURITY_GROUP else ""))

    return place
