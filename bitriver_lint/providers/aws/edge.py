"""AWS's edge: ALBs as load-balancer documents, CloudFront distributions and S3 buckets."""

from __future__ import annotations

import re
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id, root_prefix
from bitriver_lint.graph import Allow, CdnBehaviour, CdnOrigin, Component, Host, Listener, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.providers.aws.network import SgRules, add_firewall, tf_port
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.providers.origins import bind_pulled_port, note_unfollowed, origin_target, port_of
from bitriver_lint.vocabulary import Layer, Runtime


def _text(value: Any) -> str:
    """An evaluated id as text: an unknown one by what it was written as."""
    return value.raw if isinstance(value, Unknown) else str(value)


def add_distribution(ctx: BuildContext, module: TerraformModule, distribution: ResourceInstance) -> None:
    """A CloudFront distribution: a CDN that terminates TLS, with its origins and behaviours."""
    ref = distribution.full_label
    origins: list[CdnOrigin] = []
    for origin in distribution.nested("origin"):
        custom = origin.first("custom_origin_config")
        s3 = origin.first("s3_origin_config")
        domain = origin.arg("domain_name")
        # A computed attribute (bucket_regional_domain_name) is unknown before apply, but its
        # expression still names the bucket.
        domain_text = domain.raw if isinstance(domain, Unknown) else str(domain)
        bucket = ".".join(domain_text.split(".")[:2]) if domain_text.startswith("aws_s3_bucket.") else None
        origins.append(CdnOrigin(
            id=_text(origin.arg("origin_id")),
            location=origin.location,
            custom=custom is not None,
            protocol_policy=custom.get("origin_protocol_policy") if custom else None,
            s3=s3 is not None or ".s3." in domain_text or domain_text.startswith("aws_s3_bucket."),
            bucket=bucket,
            bucket_id=node_id(module, bucket) if bucket else None,  # as add_buckets names it
            access_control="origin_access_control_id" in origin.attributes
            or (s3 is not None and "origin_access_identity" in s3.attributes),
        ))
    behaviours: list[CdnBehaviour] = []
    for behaviour in distribution.nested("default_cache_behavior", "ordered_cache_behavior"):
        path = behaviour.arg("path_pattern") if behaviour.type != "default_cache_behavior" else "*"
        behaviours.append(CdnBehaviour(
            path=path if isinstance(path, str) else None,
            origin=_text(behaviour.arg("target_origin_id")),
            signed=any(k in behaviour.attributes for k in ("trusted_key_groups", "trusted_signers")),
            location=behaviour.location,
        ))
    component = Component(id=node_id(module, ref), name=ref, role=Role.CDN, role_reason=distribution.type,
                          origin="terraform", location=distribution.location, resource_type=distribution.type,
                          origins=origins, behaviours=behaviours, ports_known=True, runtime=Runtime.MANAGED,
                          cached_paths=[b.path for b in behaviours if b.path])
    ctx.graph.add(component)
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443, tls=True,
                                    location=distribution.location, reason="CloudFront serves HTTPS"))


def distribution_documents(ctx: BuildContext, module: TerraformModule) -> list[LoadBalancer]:
    """Each CloudFront distribution's custom origins that name a resource of its root (an ALB,
    an instance, an Elastic IP, through a module output too) as a load-balancer document the
    distribution runs, so the CDN routes to them; an origin named by what the tree cannot
    follow is a BRL002 note instead. Bucket origins are judged from the distribution itself."""
    out: list[LoadBalancer] = []
    for distribution in module.of_type("aws_cloudfront_distribution"):
        doc = _distribution_document(ctx, module, distribution)
        if doc.backends:
            out.append(LoadBalancer(doc, runner=node_id(module, distribution.full_label)))
    return out


def _distribution_document(ctx: BuildContext, module: TerraformModule, distribution: ResourceInstance) -> ProxyConfig:
    where = distribution.location
    doc = ProxyConfig(where.path, "cloudfront", where, files=[where.path], name=distribution.full_label,
                      scope=module.root)
    behaviours = distribution.nested("ordered_cache_behavior", "default_cache_behavior")
    for origin in distribution.nested("origin"):
        origin_id = _text(origin.arg("origin_id"))
        domain = origin.get("domain_name")
        if domain is None or _bucket_origin(origin, domain.value):
            continue
        target = origin_target(ctx, module, domain.value)
        if target.host is None:
            if target.unfollowed is not None:
                note_unfollowed(ctx, distribution.full_label, origin_id, target.unfollowed, domain.location)
            continue
        if target.node is None and target.host == domain.value:
            continue  # an address as written that no file of the tree serves: nothing to join
        port, scheme = _origin_port(origin, [b for b in behaviours if _text(b.arg("target_origin_id")) == origin_id])
        backend = Backend(origin_id, origin.location)
        if port is not None:
            backend.servers.append(Server(target.host, port, domain.location, scheme, component=target.node))
            bind_pulled_port(ctx, distribution.full_label, target, port, domain.location)
        doc.backends[origin_id] = backend
    frontend = Frontend("edge", where, [Bind("", 443, True, where)], selection="first")
    # CloudFront tries the ordered behaviours as written, the default one last.
    for behaviour in behaviours:
        target_id = _text(behaviour.arg("target_origin_id"))
        if target_id not in doc.backends:
            continue
        if behaviour.type == "default_cache_behavior":
            frontend.routes.append(RouteRule(None, target_id, behaviour.location))
            continue
        pattern = behaviour.arg("path_pattern")
        if not isinstance(pattern, str):
            continue  # which paths it takes is unknown: no route is guessed
        prefix = pattern[:-1] if pattern.endswith("*") else None
        if prefix is not None and "*" not in prefix and "?" not in prefix:
            frontend.routes.append(RouteRule("/" + prefix.lstrip("/"), target_id, behaviour.location))
        else:
            frontend.routes.append(RouteRule(pattern, target_id, behaviour.location, match="pattern"))
    doc.frontends.append(frontend)
    return doc


def _bucket_origin(origin: Body, domain: Any) -> bool:
    text = domain.raw if isinstance(domain, Unknown) else str(domain)
    return origin.first("s3_origin_config") is not None or ".s3." in text or text.startswith("aws_s3_bucket.")


def _origin_port(origin: Body, behaviours: list[Body]) -> tuple[int | None, str]:
    """The port and scheme CloudFront pulls a custom origin on: its protocol policy's
    (``match-viewer`` follows the viewer, HTTPS when every behaviour to it redirects or refuses
    plain HTTP)."""
    config = origin.first("custom_origin_config")
    if config is None:
        return None, "http"
    policy = config.arg("origin_protocol_policy")
    viewers_https = bool(behaviours) and all(
        b.arg("viewer_protocol_policy") in ("redirect-to-https", "https-only") for b in behaviours)
    if policy == "https-only" or (policy == "match-viewer" and viewers_https):
        return port_of(tf_port(config.arg("https_port", 443))), "https"
    if policy in ("http-only", "match-viewer"):
        return port_of(tf_port(config.arg("http_port", 80))), "http"
    return None, "http"  # unknown: no port is guessed


def add_buckets(ctx: BuildContext, module: TerraformModule) -> None:
    """S3 buckets and their public-access blocks, for segment-access checks."""
    for bucket in module.of_type("aws_s3_bucket"):
        guards = [g for g in module.of_type("aws_s3_bucket_public_access_block") if bucket.named_by(g.arg("bucket"))]
        open_flags = [
            Located(True, flag.location)
            for g in guards for name in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                         "restrict_public_buckets")
            if (flag := g.get(name)) is not None and flag.value is False
        ]
        status = None
        for entry in module.of_type("aws_s3_bucket_versioning"):
            if bucket.named_by(entry.arg("bucket")):
                for config in entry.nested("versioning_configuration"):
                    status = config.get("status")
        # Named as references inside the module name it (no module path), as before.
        component = Component(id=node_id(module, bucket.label), name=bucket.label, role=Role.BUCKET,
                              role_reason="aws_s3_bucket", origin="terraform", location=bucket.location,
                              runtime=Runtime.MANAGED, public_flags=open_flags, versioning=status)
        ctx.graph.add(component)


def _target_groups(ctx: BuildContext, module: TerraformModule, prefix: str = "") -> dict[str, Backend]:
    """The module's target groups as backends, named ``prefix`` + their address (a prefix for
    another module's, whose listener rule joins them to this module's listener)."""
    # One backend per target group instance: routes name them as aws_lb_target_group.api["web"].
    backends: dict[str, Backend] = {}
    attachments: dict[Any, list[ResourceInstance]] = {}
    for attachment in module.of_type("aws_lb_target_group_attachment"):
        group_ref = attachment.arg("target_group_arn")
        attachments.setdefault(group_ref if isinstance(group_ref, str) else None, []).append(attachment)
    for group in module.of_type("aws_lb_target_group"):
        ref = group.address
        backend = Backend(prefix + ref, group.location)
        protocol = str(group.arg("protocol") or "HTTP").upper()
        port = tf_port(group.arg("port"))
        for check in group.nested("health_check"):
            if check.arg("enabled") is not False:
                path = check.arg("path")
                where = check.attributes["path"].location if "path" in check.attributes else check.location
                backend.health = HealthSpec(where, path if isinstance(path, str) else "/", "GET")
        if backend.health is None:
            # AWS always health-checks a target group; without a block it probes "/".
            backend.health = HealthSpec(group.location, "/", "GET")
        for sticky in group.nested("stickiness"):
            if sticky.arg("enabled") is not False:
                backend.sticky = sticky.location
        backend.websocket = group.location  # ALBs pass WebSocket upgrades natively
        scheme = "https" if protocol == "HTTPS" else "http"
        for attachment in attachments.get(ref, []):
            target_port = tf_port(attachment.arg("port"))
            target = attachment.arg("target_id")
            if not isinstance(target, str):
                continue
            instances = module.of_resource(_resource_of(target))
            addresses = [target] if "[" in target or not instances else [i.address for i in instances]
            chosen = target_port if isinstance(target_port, int) else port
            for address in addresses:
                backend.servers.append(Server(address, chosen if isinstance(chosen, int) else None,
                                              attachment.location, scheme))
        # Named in this module, or from its caller through a module output (module.edge.aws_lb_target_group.api).
        names = {ref, group.full_address}
        # Another root calling the same module names the same target group: not this one.
        for component in ctx.graph.in_target_groups(names, within=root_prefix(module.root_directory)):
            backend.servers.append(Server(component.name, port if isinstance(port, int) else None,
                                          group.location, scheme, component=component.id))
        backends[prefix + ref] = backend
    return backends


def _caller_prefix(module: TerraformModule) -> str:
    """The module path of the module that calls this one (``module.a.module.b.`` -> ``module.a.``)."""
    return re.sub(r"module\.[^.]+\.$", "", module.prefix)


def _foreign_rules(module: TerraformModule,
                   listener: ResourceInstance) -> list[tuple[TerraformModule, ResourceInstance]]:
    """Listener rules another module of the root writes on this listener, which reaches it as
    a module input (``listener_arn = var.listener_arn``): its value is the listener as the
    caller names it, so it names no listener of the rule's own module."""
    found: list[tuple[TerraformModule, ResourceInstance]] = []
    for other in module.family:
        if other is module:
            continue
        for rule in other.of_type("aws_lb_listener_rule"):
            arn = rule.arg("listener_arn")
            if not isinstance(arn, str) or other.find("aws_lb_listener", arn) is not None:
                continue
            named = _caller_prefix(other) + arn  # the listener's full address, as its caller wrote it
            if named.startswith(listener.module) and listener.named_by(named[len(listener.module):]):
                found.append((other, rule))
    return found


def _rule_routes(rule: ResourceInstance, prefix: str) -> list[RouteRule]:
    """A listener rule's forwards by path, to target groups named ``prefix`` + their address."""
    routes: list[RouteRule] = []
    paths = [p.arg("values") for c in rule.nested("condition") for p in c.nested("path_pattern")]
    targets = [a.arg("target_group_arn") for a in rule.nested("action") if a.arg("type") == "forward"]
    for values in paths or [[None]]:
        for path in values if isinstance(values, list) else [None]:
            for target in targets:
                if isinstance(target, str):
                    routes.append(RouteRule(str(path) if path else None, prefix + target, rule.location))
    return routes


def load_balancers(module: TerraformModule, ctx: BuildContext, sg_rules: SgRules) -> list[LoadBalancer]:
    """ALBs/NLBs as the proxy documents HAProxy and friends produce, so the same checks apply;
    each placed behind its security groups once the load-balancer builder made its host."""
    backends = _target_groups(ctx, module)
    out: list[LoadBalancer] = []
    for lb in module.of_type("aws_lb", "aws_alb"):
        doc = ProxyConfig(lb.location.path, "terraform", lb.location, files=[lb.location.path],
                          name=lb.full_label, scope=module.root)
        doc.backends = dict(backends)
        for listener in module.of_type("aws_lb_listener"):
            if not lb.named_by(listener.arg("load_balancer_arn")):
                continue
            port = tf_port(listener.arg("port"))  # "443" as often as 443
            protocol = str(listener.arg("protocol") or "HTTP").upper()
            if not isinstance(port, int):
                continue
            port_where = listener.attributes["port"].location
            # The protocol line decides TLS (HTTP when none is written): the evidence BRL203 cites.
            said = listener.attributes.get("protocol")
            why = f"protocol = {protocol}" if said is not None else "no protocol is set, so HTTP"
            frontend = Frontend(listener.label, listener.location,
                                [Bind("", port, protocol in ("HTTPS", "TLS"), port_where,
                                      said.location if said is not None else port_where, why)])
            for action in listener.nested("default_action"):
                kind = action.arg("type")
                if kind == "redirect" and any(r.arg("protocol") == "HTTPS" for r in action.nested("redirect")):
                    frontend.redirect_https = action.location
                target = action.arg("target_group_arn")
                if kind == "forward" and isinstance(target, str):
                    frontend.routes.append(RouteRule(None, target, action.location))
            for rule in module.of_type("aws_lb_listener_rule"):
                if listener.named_by(rule.arg("listener_arn")):
                    frontend.routes.extend(_rule_routes(rule, ""))
            # A rule in the module that owns the service (its target group beside it), on the
            # listener its caller passes in: its target groups are that module's.
            for other, rule in _foreign_rules(module, listener):
                for name, backend in _target_groups(ctx, other, other.prefix).items():
                    doc.backends.setdefault(name, backend)
                frontend.routes.extend(_rule_routes(rule, other.prefix))
            doc.frontends.append(frontend)
        out.append(LoadBalancer(doc, _placement(lb, sg_rules)))
    return out


def _resource_of(reference: str) -> str:
    """``aws_lb.this[0]`` -> ``aws_lb.this``: which resource a reference to one of its instances names."""
    return reference.split("[")[0]


def _placement(lb: ResourceInstance, sg_rules: SgRules) -> Any:
    def place(host: Host, ctx: BuildContext) -> None:
        """The ALB's host behind its security groups, as instances are; an internal ALB is
        reachable from private addresses only."""
        groups = lb.get("security_groups")
        if groups is not None:
            add_firewall(ctx, host, groups.value, sg_rules, None, lb.location, groups.location)
        if lb.arg("internal") is True:
            host.described_layers.add(Layer.PUBLIC_ADDRESS)
            ctx.graph.link(host.id, host.id, Allow(location=lb.key_location("internal"), layer=Layer.PUBLIC_ADDRESS,
                                                   cidrs=[str(n) for n in PRIVATE.networks], port_from=0,
                                                   port_to=65535, protocol="all",
                                                   description="internal load balancer"))

    return place
