"""Terraform's edge: ALBs as load-balancer documents, CloudFront distributions and S3 buckets."""

from __future__ import annotations

from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import located_value, node_id, resource_ref
from bitriver_lint.builders.terraform_network import SgRule, add_firewall
from bitriver_lint.graph import Allow, CdnBehaviour, CdnOrigin, Component, Listener, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform import Block, TerraformModule
from bitriver_lint.model import Located, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.vocabulary import Layer, Runtime


def _text(value: Any) -> str:
    """An evaluated id as text: an unknown one by what it was written as."""
    return value.raw if isinstance(value, Unknown) else str(value)


def add_distribution(ctx: BuildContext, module: TerraformModule, block: Block) -> None:
    """A CloudFront distribution: a CDN that terminates TLS, with its origins and behaviours."""
    ref = module.prefix + resource_ref(block)
    origins: list[CdnOrigin] = []
    for origin in module.nested(block, "origin"):
        custom = next(iter(module.nested(origin, "custom_origin_config")), None)
        s3 = next(iter(module.nested(origin, "s3_origin_config")), None)
        domain = module.value(origin.attributes.get("domain_name"))
        # A computed attribute (bucket_regional_domain_name) is unknown before apply, but its
        # expression still names the bucket.
        domain_text = domain.raw if isinstance(domain, Unknown) else str(domain)
        origins.append(CdnOrigin(
            id=_text(module.value(origin.attributes.get("origin_id"))),
            location=origin.location,
            custom=custom is not None,
            protocol_policy=located_value(module, custom, "origin_protocol_policy") if custom else None,
            s3=s3 is not None or ".s3." in domain_text or domain_text.startswith("aws_s3_bucket."),
            bucket=".".join(domain_text.split(".")[:2]) if domain_text.startswith("aws_s3_bucket.") else None,
            access_control=origin.attributes.get("origin_access_control_id") is not None
            or (s3 is not None and s3.attributes.get("origin_access_identity") is not None),
        ))
    behaviours: list[CdnBehaviour] = []
    for behaviour in module.nested(block, "default_cache_behavior", "ordered_cache_behavior"):
        path = module.value(behaviour.attributes.get("path_pattern")) if behaviour.type != "default_cache_behavior" \
            else "*"
        behaviours.append(CdnBehaviour(
            path=path if isinstance(path, str) else None,
            origin=_text(module.value(behaviour.attributes.get("target_origin_id"))),
            signed=any(k in behaviour.attributes for k in ("trusted_key_groups", "trusted_signers")),
            location=behaviour.location,
        ))
    component = Component(id=node_id(module, ref), name=ref, role=Role.CDN, role_reason="aws_cloudfront_distribution",
                          origin="terraform", location=block.location,
                          origins=origins, behaviours=behaviours, ports_known=True, runtime=Runtime.MANAGED,
                          cached_paths=[b.path for b in behaviours if b.path])
    ctx.graph.add(component)
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443, tls=True,
                                    location=block.location, reason="CloudFront serves HTTPS"))


def add_buckets(ctx: BuildContext, module: TerraformModule) -> None:
    """S3 buckets and their public-access blocks, for segment-access checks."""
    for bucket in module.resources("aws_s3_bucket"):
        ref = resource_ref(bucket)  # matched against references inside the module
        guards = [b for b in module.resources("aws_s3_bucket_public_access_block")
                  if module.value(b.attributes.get("bucket")) == ref]
        open_flags = [
            Located(True, b.attributes[name].value_location)
            for b in guards for name in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                         "restrict_public_buckets")
            if name in b.attributes and module.value(b.attributes[name]) is False
        ]
        versioning = [b for b in module.resources("aws_s3_bucket_versioning")
                      if module.value(b.attributes.get("bucket")) == ref]
        status = None
        for entry in versioning:
            for config in module.nested(entry, "versioning_configuration"):
                status = located_value(module, config, "status")
        component = Component(id=node_id(module, ref), name=ref, role=Role.BUCKET, role_reason="aws_s3_bucket",
                              origin="terraform", location=bucket.location,
                              runtime=Runtime.MANAGED, public_flags=open_flags, versioning=status)
        ctx.graph.add(component)


def load_balancers(module: TerraformModule, ctx: BuildContext) -> list[tuple[Block, ProxyConfig]]:
    """ALBs/NLBs as the proxy documents HAProxy and friends produce, so the same checks apply;
    each with the ``aws_lb`` block it comes from."""
    docs: list[tuple[Block, ProxyConfig]] = []
    # One backend per target group instance: routes name them as aws_lb_target_group.api["web"].
    groups = {address: tg for block in module.resources("aws_lb_target_group")
              for address, tg in module.instances(block)}
    backends: dict[str, Backend] = {}
    for ref, tg in groups.items():
        backend = Backend(ref, tg.location)
        protocol = str(module.value(tg.attributes.get("protocol")) or "HTTP").upper()
        port = module.value(tg.attributes.get("port"))
        for check in module.nested(tg, "health_check"):
            enabled = module.value(check.attributes.get("enabled"))
            if enabled is not False:
                path = module.value(check.attributes.get("path"))
                where = check.attributes["path"].value_location if "path" in check.attributes else check.location
                backend.health = HealthSpec(where, path if isinstance(path, str) else "/", "GET")
        if backend.health is None:
            # AWS always health-checks a target group; without a block it probes "/".
            backend.health = HealthSpec(tg.location, "/", "GET")
        for sticky in module.nested(tg, "stickiness"):
            if module.value(sticky.attributes.get("enabled")) is not False:
                backend.sticky = sticky.location
        backend.websocket = tg.location  # ALBs pass WebSocket upgrades natively
        for attachment in module.resources("aws_lb_target_group_attachment"):
            if module.value(attachment.attributes.get("target_group_arn")) != ref:
                continue
            target_port = module.value(attachment.attributes.get("port"))
            for _, extra in module.instance_scopes(attachment):
                target = module.value(attachment.attributes.get("target_id"), extra)
                if not isinstance(target, str):
                    continue
                block = next((b for b in module.resources() if resource_ref(b) == _resource_of(target)), None)
                addresses = [target] if "[" in target or block is None else [
                    a for a, _ in module.instance_scopes(block)]
                chosen = target_port if isinstance(target_port, int) else port
                for address in addresses:
                    backend.servers.append(Server(address, chosen if isinstance(chosen, int) else None,
                                                  attachment.location, "https" if protocol == "HTTPS" else "http"))
        for component in ctx.graph.components():
            if ref in component.target_groups:
                backend.servers.append(Server(component.name, port if isinstance(port, int) else None, tg.location,
                                              "https" if protocol == "HTTPS" else "http"))
        backends[ref] = backend
    for lb in module.resources("aws_lb") + module.resources("aws_alb"):
        ref = resource_ref(lb)
        doc = ProxyConfig(lb.location.path, "terraform", lb.location, files=[lb.location.path],
                          name=module.prefix + ref)
        doc.backends = dict(backends)
        listeners = [copy for b in module.resources("aws_lb_listener") for _, copy in module.instances(b)]
        for listener in listeners:
            if _resource_of(module.value(listener.attributes.get("load_balancer_arn"))) != ref:
                continue
            port = module.value(listener.attributes.get("port"))
            protocol = str(module.value(listener.attributes.get("protocol")) or "HTTP").upper()
            if not isinstance(port, int):
                continue
            port_where = listener.attributes["port"].value_location
            frontend = Frontend(resource_ref(listener), listener.location,
                                [Bind("", port, protocol in ("HTTPS", "TLS"), port_where)])
            for action in module.nested(listener, "default_action"):
                kind = module.value(action.attributes.get("type"))
                redirects = module.nested(action, "redirect")
                if kind == "redirect" and any(module.value(r.attributes.get("protocol")) == "HTTPS" for r in redirects):
                    frontend.redirect_https = action.location
                target = module.value(action.attributes.get("target_group_arn"))
                if kind == "forward" and isinstance(target, str):
                    frontend.routes.append(RouteRule(None, target, action.location))
            for rule in (copy for b in module.resources("aws_lb_listener_rule") for _, copy in module.instances(b)):
                if _resource_of(module.value(rule.attributes.get("listener_arn"))) != resource_ref(listener):
                    continue
                paths = [module.value(p.attributes.get("values")) for c in module.nested(rule, "condition")
                         for p in module.nested(c, "path_pattern")]
                targets = [module.value(a.attributes.get("target_group_arn")) for a in module.nested(rule, "action")
                           if module.value(a.attributes.get("type")) == "forward"]
                for values in paths or [[None]]:
                    for path in values if isinstance(values, list) else [None]:
                        for target in targets:
                            if isinstance(target, str):
                                frontend.routes.append(RouteRule(str(path) if path else None, target, rule.location))
            doc.frontends.append(frontend)
        docs.append((lb, doc))
    return docs


def _resource_of(reference: Any) -> Any:
    """``aws_lb.this[0]`` -> ``aws_lb.this``: which resource a reference to one of its instances names."""
    return reference.split("[")[0] if isinstance(reference, str) else reference


def place_load_balancers(module: TerraformModule, ctx: BuildContext, sg_rules: dict[str, list[SgRule]],
                         docs: list[tuple[Block, ProxyConfig]]) -> None:
    """Put each ALB's host (the standalone LB host the proxy builder made) behind its security
    groups, as instances are; an internal ALB is reachable from private addresses only."""
    graph = ctx.graph
    for lb, doc in docs:
        component = next((c for c in graph.components() if doc.key in c.proxy_configs), None)
        hosts = graph.hosts_of(component.id) if component is not None else []
        if not hosts:
            continue
        host = hosts[0]
        host.managed = True
        internal = lb.attributes.get("internal")
        sgs = lb.attributes.get("security_groups")
        if sgs is not None:
            add_firewall(ctx, host, module.value(sgs), sg_rules, None, lb.location, sgs.value_location)
        if internal is not None and module.value(internal) is True:
            host.described_layers.add(Layer.PUBLIC_ADDRESS)
            graph.link(host.id, host.id, Allow(location=internal.location, layer=Layer.PUBLIC_ADDRESS,
                                               cidrs=[str(n) for n in PRIVATE.networks], port_from=0,
                                               port_to=65535, protocol="all", description="internal load balancer"))
