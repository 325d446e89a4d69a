"""Where a CDN's origin is, in the names the join knows: what a DNS record, a backend's address
or a distribution's origin points at, written as an address or as a reference to a resource of
the tree (``aws_lb.api.dns_name``, ``aws_eip.srs.public_ip``, ``module.edge.lb_dns_name``).

References are followed within the root module of the CDN: roots that call one module
(envs/prod beside envs/staging) name their resources alike, so a name is never looked up across
the tree. A reference that leads to nothing the tree builds (a registry module's output, a data
source, a variable without a value) is said to be unfollowed, with why, for a BRL002 note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import balancer_id, component_id, node_id
from bitriver_lint.graph import Component, Role
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.model import Diagnostic, Location, Unknown
from bitriver_lint.providers.gcp.edge import balancer_at
from bitriver_lint.vocabulary import HostKind

# A resource reference at the start of an expression: aws_eip.api, aws_eip.api["a"], aws_lb.x[0],
# behind its module path (module.edge.aws_lb.api) when a module output handed it out.
_REFERENCE = re.compile(r'(module\.[A-Za-z_][A-Za-z0-9_-]*\.)*'
                        r'[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*(\[("[^"]*"|\d+)\])?')
_MODULE_PATH = re.compile(r"((?:module\.[A-Za-z_][A-Za-z0-9_-]*\.)*)(.*)")
_LOAD_BALANCERS = ("aws_lb", "aws_alb")


@dataclass(frozen=True)
class Target:
    """An origin as the join knows it: the name it goes by (``host``), the graph node it is when
    that is known in this root (``node``), or why a reference leads to nothing the tree builds."""

    host: str | None = None
    node: str | None = None
    unfollowed: str | None = None


def _reference(content: Unknown) -> str:
    """The resource reference an unknown value rests on: its first name, else the one its text
    starts with (the evaluator leaves aws_eip.api["a"].public_ip whole)."""
    if content.names:
        return content.names[0]
    written = _REFERENCE.match(content.raw)
    return written.group(0) if written else ""


def _member(module: TerraformModule, reference: str) -> tuple[TerraformModule | None, str]:
    """The module instance of ``module``'s root that a reference's module path names, and the
    reference within it: ``module.edge.aws_lb.api`` -> (module.edge, ``aws_lb.api``). Paths are
    the full ones a module output gives its caller; a plain reference is ``module``'s own."""
    found = _MODULE_PATH.fullmatch(reference)
    prefix, local = (found.group(1), found.group(2)) if found else ("", reference)
    if not prefix:
        return module, local
    for member in module.family or [module]:
        if member.prefix in (prefix, module.prefix + prefix):
            return member, local
    return None, local


def origin_host(module: TerraformModule, content: Any) -> str | None:
    """The name the join knows a record's target by: an address as written, or the resource a
    reference names (``aws_eip.api.public_ip`` is the instance the Elastic IP is attached to,
    ``aws_lb.origin.dns_name`` the load balancer), with its module path. None: a tunnel's name,
    or nothing readable."""
    if isinstance(content, str):
        return None if content.endswith(".cfargotunnel.com") else content.strip().rstrip(".") or None
    if not isinstance(content, Unknown):
        return None
    ref = _reference(content)
    member, local = _member(module, ref)
    if not local or member is None:
        return None
    kind = local.split(".")[0]
    if kind.startswith("cloudflare_") or ".cfargotunnel.com" in content.raw:
        return None
    if kind == "aws_eip":
        instance = _eip_instance(member, local)
        return instance.full_address if instance is not None else None
    instances = [i for i in member.of_resource(local.split("[")[0]) if i.named_by(local)]
    if kind in _LOAD_BALANCERS:
        return instances[0].full_label if instances else member.prefix + local
    if instances:
        return instances[0].full_address
    return None


def _eip_instance(module: TerraformModule, eip_ref: str) -> ResourceInstance | None:
    """The instance an Elastic IP is attached to: by its own ``instance``, or by an
    ``aws_eip_association`` of the same module (``allocation_id = aws_eip.srs.id``)."""
    eip = module.find("aws_eip", eip_ref)
    if eip is None:
        return None
    target = eip.arg("instance")
    if not isinstance(target, str):
        association = next((a for a in module.of_type("aws_eip_association")
                            if eip.named_by(a.arg("allocation_id"))), None)
        target = association.arg("instance_id") if association is not None else None
    return module.find("aws_instance", target) if isinstance(target, str) else None


def unfollowed(module: TerraformModule, content: Any) -> str | None:
    """Why a reference names nothing the tree builds, as the rest of a sentence starting with
    it: a registry module's output, a data source, a variable or local without a value, a
    resource no file defines. None: an address as written, or a reference that is followed."""
    if not isinstance(content, Unknown) or ".cfargotunnel.com" in content.raw:
        return None
    ref = _reference(content)
    what = content.raw or ref
    if not ref:
        return f"{what} cannot be worked out from these files" if what else None
    head = ref.split(".")[0]
    if head == "data":
        return f"{what} is read from the data source {ref}, which names something these files do not create"
    if head in ("var", "local", "each", "count"):
        return f"{what} {content.why}"
    member, local = _member(module, ref)
    if member is None:
        called = ref.split(".")[1]
        return f"{what} is an output of module {called}, whose files are not in this tree"
    if "." not in local:  # an output the module does not have
        return f"{what} {content.why}"
    if local.split(".")[0].startswith("cloudflare_"):
        return None
    if not member.of_resource(local.split("[")[0]):
        return f"{what} {content.why}"
    if local.startswith("aws_eip.") and _eip_instance(member, local) is None:
        return f"{what} is an Elastic IP attached to no instance these files create"
    return None


def bind_pulled_port(ctx: BuildContext, cdn: str, target: Target, port: int | None, where: Location) -> None:
    """A proxy on an EC2 instance that a CDN pulls from on ``port`` listens there on the machine
    (the CDN reaches it over the internet), so the exposure rules judge who else may: its
    security groups against the CDN's ranges (BRL106). Other components keep their own
    listeners (a compose tree bound to the instance publishes what it publishes)."""
    if port is None or target.node is None or target.node not in ctx.graph:
        return
    component = ctx.graph.node(target.node)
    if not isinstance(component, Component) or component.role is not Role.PROXY or component.origin != "terraform":
        return
    if any(h.host_kind is HostKind.INSTANCE for h in ctx.graph.hosts_of(component.id)):
        ctx.graph.listener_for(component, port, where, declared=True, host_bound=True,
                               reason=f"{cdn} pulls its origin on it")


def note_unfollowed(ctx: BuildContext, cdn: str, origin: str, reason: str, where: Location) -> None:
    """A BRL002 note at an origin whose reference the join could not follow: no route is
    guessed, so the rules about origins (exposure, TLS to the origin, health checks) do not
    see the path from the CDN to it."""
    ctx.graph.notes.append(Diagnostic(
        "BRL002", f"which node {cdn} pulls origin {origin} from is unknown: {reason}, so the rules about "
        "its origins (exposure, TLS, health checks) do not see the path to it", where))


def balancer_node(module: TerraformModule, host: str) -> str | None:
    """The graph id of the load balancer of ``module``'s root that ``host`` (from
    ``origin_host``) names: an ALB, a Google forwarding rule or its address. Roots that call
    one module name theirs alike, so the join must not look it up by name; None when ``host``
    is no load balancer of this root."""
    for member in module.family or [module]:
        for lb in member.of_type(*_LOAD_BALANCERS):
            if lb.full_label == host:  # as ``aws.edge.load_balancers`` names its document
                return balancer_id(member, lb.location.path, lb.full_label)
    return balancer_at(module, host) if "google_compute_" in host else None


def origin_target(ctx: BuildContext, module: TerraformModule, value: Any) -> Target:
    """What a record's content, a backend's address or a distribution's origin domain points at:
    the name the join knows it by (a proxy site of that name, the component a referenced
    instance runs, the address as written) and the node it is in this root when that is known.
    An instance nothing of ours runs on is no origin to judge (and no dangling name either)."""
    host = origin_host(module, value)
    host = site(ctx, host) or host
    if host is None:
        return Target(unfollowed=unfollowed(module, value))
    # Load balancers are built after this: theirs is the id they will have, in this root.
    balancer = balancer_node(module, host)
    if balancer is not None:
        return Target(host, balancer)
    instance = next((i for m in module.family or [module] for i in m.of_type("aws_instance")
                     if i.full_address == host), None)
    if instance is None:
        return Target(host)
    # This root's instance: roots calling one module name theirs alike.
    own = component_id(module, host)
    if own in ctx.graph:
        return Target(host, own)
    bound = _on_instance(ctx, node_id(module, host))
    return Target(bound.name, bound.id) if bound is not None else Target()


# What fronts an instance, first: a record or pool points at its web entry.
_ENTRY_ROLES = (Role.PROXY, Role.LB, Role.API, Role.VIEWER)


def _on_instance(ctx: BuildContext, host_id: str) -> Component | None:
    """The component a compose or systemd tree bound to this instance (config ``hosts:``)
    runs that a record most likely points at: its proxy, else its API or viewer."""
    running = [c for c in ctx.graph.components() if any(h.id == host_id for h in ctx.graph.hosts_of(c.id))]
    for role in _ENTRY_ROLES:
        for component in running:
            if component.role is role:
                return component
    return None


def site(ctx: BuildContext, host: str | None) -> str | None:
    """The proxy that serves ``host`` as a site of its config (a Caddy site address, an nginx
    server_name), by the name the join knows it by; None when no config of the tree names that
    host."""
    if host is None or "." not in host:
        return None
    wanted = host.lower()
    for placement in ctx.placements.values():
        for frontend in placement.doc.frontends:
            if wanted in frontend.hostnames:
                return placement.runner.name
            for word in re.split(r"[\s,]+", frontend.name):
                name = word.split("://", 1)[-1].rsplit(":", 1)[0].lower()
                if name == wanted:
                    return placement.runner.name
    return None


def port_of(value: Any) -> int | None:
    """A port number as written (an int from 1 to 65535), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None
