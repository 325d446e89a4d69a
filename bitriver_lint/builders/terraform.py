"""Terraform (AWS) modules into the graph.

Instances become hosts whose security groups (inline ``ingress``, ``aws_security_group_rule``,
``aws_vpc_security_group_ingress_rule``) and public addressing are firewall layers; config
``hosts`` says which compose project or unit directory runs on which instance. RDS and
ElastiCache become the postgres and redis components with their HA and backup settings.
Literal secrets in resources, variable defaults and tfvars feed the secret check.
Not yet mapped: load balancers, CloudFront, S3, ECS, launch templates and plan JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bitriver_lint.builders.common import WATCHED_ENV, BuildContext, add_declared_listeners
from bitriver_lint.exposure import named_set
from bitriver_lint.graph import Allow, Component, Dangling, Edge, Host, Listener, Network, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform import SECRET_NAME, Attribute, Block, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.roles import DEFAULT_PORTS, role_from_image, role_from_name

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "-1": "all", "all": "all"}
_TAG_KEYS = ("Role", "role", "bitriver:role", "bitriver_role")


@dataclass
class SgRule:
    location: Location
    port_from: int
    port_to: int
    protocol: str
    cidrs: list[str] | Unknown


def _located(
    module: TerraformModule, block: Block, name: str, extra: dict[str, Any] | None = None
) -> Located[Any] | None:
    attribute = block.attributes.get(name)
    if attribute is None:
        return None
    return Located(module.value(attribute, extra), attribute.value_location)


def _ref(block: Block) -> str:
    return ".".join(block.labels[:2])


def _instances(module: TerraformModule, block: Block) -> list[tuple[str, dict[str, Any]]]:
    """(address, evaluation scope) per instance that count/for_each expand to."""
    ref = _ref(block)
    count = _located(module, block, "count")
    if count is not None and isinstance(count.value, int):
        return [(f"{ref}[{i}]", {"count": {"index": i}}) for i in range(count.value)]
    for_each = _located(module, block, "for_each")
    if for_each is not None and isinstance(for_each.value, (dict, list)):
        items = for_each.value.items() if isinstance(for_each.value, dict) else [(k, k) for k in for_each.value]
        return [(f'{ref}["{k}"]', {"each": {"key": k, "value": v}}) for k, v in items]
    return [(ref, {})]


def _sg_members(module: TerraformModule) -> dict[str, list[str]]:
    """Security group -> the subnet CIDRs its members sit in. A member whose subnet CIDR is not
    known makes the group count as the whole private address space."""
    subnet_cidrs = {_ref(s): module.value(s.attributes.get("cidr_block")) for s in module.resources("aws_subnet")}
    private = [str(n) for n in PRIVATE.networks]
    members: dict[str, list[str]] = {}

    def add(groups: Any, subnets: Any) -> None:
        cidrs = [subnet_cidrs.get(str(s)) for s in (subnets if isinstance(subnets, list) else [subnets])]
        known = [c for c in cidrs if isinstance(c, str)]
        for group in groups if isinstance(groups, list) else []:
            key = str(group).split("[")[0]
            members.setdefault(key, []).extend(known if known and len(known) == len(cidrs) else private)

    def value(block: Block, name: str) -> Any:
        return module.value(block.attributes.get(name))

    for block in module.resources("aws_instance"):
        add(value(block, "vpc_security_group_ids"), value(block, "subnet_id"))
    for block in module.resources("aws_lb") + module.resources("aws_alb"):
        add(module.value(block.attributes.get("security_groups")), module.value(block.attributes.get("subnets")))
    for block in module.resources("aws_ecs_service"):
        for network in (b for b in block.blocks if b.type == "network_configuration"):
            add(value(network, "security_groups"), value(network, "subnets"))
    for block in module.resources("aws_autoscaling_group"):
        spec = next((b for b in block.blocks if b.type == "launch_template"), None)
        template_ref = module.value(spec.attributes.get("id")) if spec else None
        template = next((t for t in module.resources("aws_launch_template") if _ref(t) == template_ref), None)
        if template is not None:
            add(module.value(template.attributes.get("vpc_security_group_ids")),
                module.value(block.attributes.get("vpc_zone_identifier")))
    return members


def _sg_rules(module: TerraformModule, ctx: BuildContext) -> dict[str, list[SgRule]]:
    rules: dict[str, list[SgRule]] = {}
    members = _sg_members(module)
    for sg in module.resources("aws_security_group"):
        for ingress in (b for b in sg.blocks if b.type == "ingress"):
            rules.setdefault(_ref(sg), []).append(_rule(module, ctx, ingress, "protocol", "cidr_blocks",
                                                        "ipv6_cidr_blocks", "security_groups", "prefix_list_ids",
                                                        members))
    for rule in module.resources("aws_security_group_rule"):
        kind = _located(module, rule, "type")
        target = _located(module, rule, "security_group_id")
        if kind is None or kind.value != "ingress" or target is None or not isinstance(target.value, str):
            continue
        rules.setdefault(target.value, []).append(_rule(module, ctx, rule, "protocol", "cidr_blocks",
                                                        "ipv6_cidr_blocks", "source_security_group_id",
                                                        "prefix_list_ids", members))
    for rule in module.resources("aws_vpc_security_group_ingress_rule"):
        target = _located(module, rule, "security_group_id")
        if target is None or not isinstance(target.value, str):
            continue
        rules.setdefault(target.value, []).append(_rule(module, ctx, rule, "ip_protocol", "cidr_ipv4", "cidr_ipv6",
                                                        "referenced_security_group_id", "prefix_list_id", members))
    return rules


def _rule(module: TerraformModule, ctx: BuildContext, block: Block, protocol_key: str, v4: str, v6: str,
          sg_key: str, prefix_key: str, members: dict[str, list[str]]) -> SgRule:
    def value(name: str) -> Any:
        return module.value(block.attributes.get(name))

    protocol = _PROTOCOLS.get(str(value(protocol_key)).lower(), "tcp")
    low, high = value("from_port"), value("to_port")
    if protocol == "all" or not isinstance(low, int):
        low, high = 0, 65535
    cidrs: list[str] | Unknown = []
    for key in (v4, v6):
        found = value(key)
        if isinstance(found, Unknown):
            cidrs = found
            break
        if isinstance(found, str):
            found = [found]
        if isinstance(found, list) and isinstance(cidrs, list):
            bad = next((c for c in found if isinstance(c, Unknown)), None)
            if bad is not None:
                cidrs = bad
                break
            cidrs.extend(str(c) for c in found)
    if isinstance(cidrs, list):
        sources = value(sg_key)
        for source in sources if isinstance(sources, list) else ([sources] if sources else []):
            # Another group's members: the subnets they sit in (private space when unknown).
            cidrs.extend(members.get(str(source).split("[")[0]) or [str(n) for n in PRIVATE.networks])
        if value(prefix_key):
            # The managed prefix lists deployments use here are the CDN's origin-facing ranges.
            cidrs.extend(str(n) for n in named_set(ctx.config, "cdn").networks)
    return SgRule(block.location, low, high if isinstance(high, int) else low, protocol, cidrs)


@dataclass
class Subnet:
    node: Network
    az: str | None
    public_location: Location  # map_public_ip_on_launch, or the block when it is not written


def _subnets(module: TerraformModule, ctx: BuildContext) -> dict[str, Subnet]:
    subnets: dict[str, Subnet] = {}
    for subnet in module.resources("aws_subnet"):
        az = module.value(subnet.attributes.get("availability_zone"))
        public = module.value(subnet.attributes.get("map_public_ip_on_launch"))
        cidr = module.value(subnet.attributes.get("cidr_block"))
        node = Network(id=f"tf:{_ref(subnet)}", name=_ref(subnet), net_kind="subnet", location=subnet.location,
                       cidr=cidr if isinstance(cidr, str) else None,
                       public=public if isinstance(public, bool) else None)
        ctx.graph.add(node)
        flag = subnet.attributes.get("map_public_ip_on_launch")
        subnets[_ref(subnet)] = Subnet(node, az if isinstance(az, str) else None,
                                       flag.location if flag else subnet.location)
    return subnets


def _role(ctx: BuildContext, name: str, tags: Any) -> Role | None:
    if name in ctx.config.roles:
        return ctx.config.roles[name]
    if isinstance(tags, dict):
        for key in _TAG_KEYS:
            if isinstance(tags.get(key), str):
                try:
                    return Role(tags[key].lower())
                except ValueError:
                    pass
        if isinstance(tags.get("Name"), str):
            by_name = role_from_name(tags["Name"], ["BITRIVER_"])
            if by_name is not None:
                return by_name
    return role_from_name(name.split(".")[-1].split("[")[0], ["BITRIVER_"])


def nodes(modules: list[TerraformModule], ctx: BuildContext) -> None:
    for module in modules:
        _secrets(module, ctx)
        region = None
        for provider in module.of_type("provider"):
            value = module.value(provider.attributes.get("region"))
            region = value if isinstance(value, str) else region
        sg_rules = _sg_rules(module, ctx)
        for vpc in module.resources("aws_vpc"):
            cidr = module.value(vpc.attributes.get("cidr_block"))
            ctx.graph.add(Network(id=f"tf:{module.prefix}{_ref(vpc)}", name=_ref(vpc), net_kind="vpc",
                                  location=vpc.location, cidr=cidr if isinstance(cidr, str) else None))
        subnets = _subnets(module, ctx)
        for block in module.resources("aws_instance"):
            for address, extra in _instances(module, block):
                _instance(ctx, module, block, address, extra, sg_rules, subnets, region)
        for block in module.resources("aws_ecs_service"):
            _ecs_service(ctx, module, block, sg_rules, subnets, region)
        for block in module.resources("aws_autoscaling_group"):
            _autoscaling_group(ctx, module, block, sg_rules, subnets, region)
        for block in module.resources("aws_db_instance") + module.resources("aws_rds_cluster"):
            _database(ctx, module, block, sg_rules, region)
        for block in (module.resources("aws_elasticache_cluster")
                      + module.resources("aws_elasticache_replication_group")):
            _redis(ctx, module, block, region)
        for block in module.resources("aws_cloudfront_distribution"):
            _distribution(ctx, module, block)
        _buckets(ctx, module)


def _firewall(ctx: BuildContext, host: Host, sgs: Any, sg_rules: dict[str, list[SgRule]], public: bool | None,
              public_where: Location, sgs_where: Location | None = None) -> None:
    graph = ctx.graph
    host.described_layers.add("security group")
    for sg in sgs if isinstance(sgs, list) else []:
        if isinstance(sg, Unknown) and sg.why == "is not defined in this module":
            name = ".".join(sg.raw.split(".")[:2])
            graph.dangling.append(Dangling(kind="terraform", name=name, location=sgs_where or host.location,
                                           source=host.id))
            continue
        # Rules are kept per resource, not per for_each/count copy of a security group.
        for rule in sg_rules.get(str(sg).split("[")[0], []):
            if isinstance(rule.cidrs, Unknown):
                # Exposure through this rule cannot be judged: checks get a BRL002 instead.
                host.attrs.setdefault("unknown_rules", []).append(
                    (rule.port_from, rule.port_to, rule.protocol, Located(rule.cidrs, rule.location)))
                continue
            graph.link(host.id, host.id, Allow(location=rule.location, layer="security group", cidrs=rule.cidrs,
                                               port_from=rule.port_from, port_to=rule.port_to,
                                               protocol=rule.protocol,  # type: ignore[arg-type]
                                               description=str(sg)))
    if public is None:
        return  # the files do not say (a default VPC gives public IPs): the layer is assumed open
    host.described_layers.add("public address")
    reach = ["0.0.0.0/0", "::/0"] if public else [str(n) for n in PRIVATE.networks]
    graph.link(host.id, host.id, Allow(location=public_where, layer="public address", cidrs=reach, port_from=0,
                                       port_to=65535, protocol="all",
                                       description="public IP" if public else "no public IP"))


def _instance(ctx: BuildContext, module: TerraformModule, block: Block, address: str, extra: dict[str, Any],
              sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    graph = ctx.graph
    address = module.prefix + address

    def get(name: str) -> Located[Any] | None:
        return _located(module, block, name, extra)

    subnet_ref = get("subnet_id")
    subnet = subnets.get(str(subnet_ref.value)) if subnet_ref else None
    az = get("availability_zone")
    public_ip = get("associate_public_ip_address")
    public = public_ip.value if public_ip and isinstance(public_ip.value, bool) else (
        subnet.node.public if subnet else None)
    public_where = public_ip.location if public_ip else (subnet.public_location if subnet else block.location)
    instance_type = get("instance_type")
    host = Host(id=f"tf:{address}", name=address, host_kind="ec2-instance", location=block.location,
                attrs={"resource": address, "instance_type": instance_type, "public": public,
                       "public_location": public_where, "region": region,
                       "az": az.value if az and isinstance(az.value, str) else (subnet.az if subnet else None)})
    graph.add(host)
    if subnet is not None:
        graph.link(host.id, subnet.node.id, Edge(kind="located_in", location=subnet_ref.location if subnet_ref else
                                                 block.location))
    groups = get("vpc_security_group_ids") or get("security_groups") or Located([], block.location)
    _firewall(ctx, host, groups.value, sg_rules, public, public_where, groups.location)
    if _bind_trees(ctx, host, (address, _ref(block)), block.location):
        return  # what runs there is described by the compose/systemd files bound to it
    tags = get("tags")
    role = _role(ctx, address, tags.value if tags else None)
    if role is None:
        return
    unread = Unknown((f"the environment of {_ref(block)}",), address, why="comes from user data, which is not read")
    component = Component(id=f"tf:{address}#component", name=address, role=role, role_reason="tags or name",
                          origin="terraform", location=block.location,
                          env={key: Located(unread, block.location) for key in WATCHED_ENV},
                          attrs={"ports_known": False, "instance_type": instance_type, "region": region})
    graph.add(component)
    graph.runs_on(component.id, host.id, block.location)
    add_declared_listeners(graph, component, host_bound=True)


def _bind_trees(ctx: BuildContext, host: Host, refs: tuple[str, ...], where: Location) -> bool:
    """Config ``hosts`` entries that put compose/systemd directories on this machine: their hosts
    run on it (and so sit behind its security groups). True when any binding applied."""
    bound = [b for b in ctx.config.hosts.values() if b.resource in refs and b.paths]
    for binding in bound:
        prefixes = [ctx.config_path(p) for p in binding.paths]
        for other in ctx.graph.hosts():
            directory = str(other.attrs.get("directory", ""))
            if other.id != host.id and any(directory == p or directory.startswith(p + "/") for p in prefixes):
                ctx.graph.runs_on(other.id, host.id, where)
    return bool(bound)


def _autoscaling_group(ctx: BuildContext, module: TerraformModule, block: Block,
                       sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    """An ASG with its launch template: one host standing for min_size identical instances."""
    graph = ctx.graph
    address = module.prefix + _ref(block)
    spec = next((b for b in block.blocks if b.type == "launch_template"), None)
    template_ref = module.value(spec.attributes.get("id")) if spec else None
    template = next((b for b in module.resources("aws_launch_template") if _ref(b) == template_ref), None)
    instance_type = _located(module, template, "instance_type") if template else None
    sgs: Any = module.value(template.attributes.get("vpc_security_group_ids")) if template else None
    public: bool | None = None
    public_where = block.location
    for interface in (b for b in template.blocks if b.type == "network_interfaces") if template else []:
        flag = _located(module, interface, "associate_public_ip_address")
        if flag is not None and isinstance(flag.value, bool):
            public, public_where = flag.value, flag.location
        sgs = sgs or module.value(interface.attributes.get("security_groups"))
    zones = module.value(block.attributes.get("vpc_zone_identifier"))
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    if public is None and first is not None:
        public, public_where = first.node.public, first.public_location
    host = Host(id=f"tf:{address}", name=address, host_kind="autoscaling-group", location=block.location,
                attrs={"resource": address, "instance_type": instance_type, "public": public,
                       "public_location": public_where, "region": region, "az": first.az if first else None})
    graph.add(host)
    _firewall(ctx, host, sgs, sg_rules, public, public_where)
    if _bind_trees(ctx, host, (address, _ref(block)), block.location):
        return
    tags: dict[str, Any] = {}
    for tag in (b for b in block.blocks if b.type == "tag"):
        key, value = module.value(tag.attributes.get("key")), module.value(tag.attributes.get("value"))
        if isinstance(key, str):
            tags[key] = value
    for spec_block in (b for b in template.blocks if b.type == "tag_specifications") if template else []:
        found = module.value(spec_block.attributes.get("tags"))
        if isinstance(found, dict):
            tags.update(found)
    role = _role(ctx, address, tags)
    if role is None:
        return
    size = _located(module, block, "min_size")
    unread = Unknown((f"the environment of {address}",), address, why="comes from user data, which is not read")
    component = Component(id=f"tf:{address}#component", name=address, role=role, role_reason="tags or name",
                          origin="terraform", location=block.location, replicas=size,
                          env={key: Located(unread, block.location) for key in WATCHED_ENV},
                          attrs={"ports_known": False, "instance_type": instance_type, "region": region,
                                 "target_groups": module.value(block.attributes.get("target_group_arns"))})
    graph.add(component)
    graph.runs_on(component.id, host.id, block.location)
    add_declared_listeners(graph, component, host_bound=True)


def _ecs_service(ctx: BuildContext, module: TerraformModule, block: Block,
                 sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    """An ECS service: its task's containers as components on one host (the service's ENIs)."""
    graph = ctx.graph
    address = module.prefix + _ref(block)
    task_ref = module.value(block.attributes.get("task_definition"))
    task = next((b for b in module.resources("aws_ecs_task_definition") if _ref(b) == task_ref), None)
    if task is None:
        return
    definitions = _located(module, task, "container_definitions")
    containers = definitions.value if definitions else None
    if isinstance(containers, str):
        try:
            containers = json.loads(containers)
        except ValueError:
            containers = None
    if not isinstance(containers, list) or definitions is None:
        return
    network = next((b for b in block.blocks if b.type == "network_configuration"), None)
    public_flag = _located(module, network, "assign_public_ip") if network else None
    public = public_flag.value if public_flag and isinstance(public_flag.value, bool) else None
    zones = module.value(network.attributes.get("subnets")) if network else None
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    host = Host(id=f"tf:{address}", name=address, host_kind="ecs-service", location=block.location,
                attrs={"resource": address, "public": public, "region": region, "az": first.az if first else None,
                       "public_location": public_flag.location if public_flag else block.location})
    graph.add(host)
    _firewall(ctx, host, module.value(network.attributes.get("security_groups")) if network else None, sg_rules,
              public, public_flag.location if public_flag else block.location)
    count = _located(module, block, "desired_count")
    groups = [module.value(lb.attributes.get("target_group_arn")) for lb in block.blocks if lb.type == "load_balancer"]
    for container in (c for c in containers if isinstance(c, dict)):
        image = str(container.get("image", ""))
        role = role_from_image(image) or Role.OTHER
        env = {str(e["name"]): Located(str(e.get("value", "")), definitions.location)
               for e in container.get("environment") or [] if isinstance(e, dict) and "name" in e}
        component = Component(id=f"tf:{address}#{container.get('name')}", name=str(container.get("name", address)),
                              role=role, role_reason=f"image {image}", origin="terraform",
                              location=definitions.location, image=image, env=env, replicas=count,
                              attrs={"ports_known": False, "region": region, "target_groups": groups,
                                     "containerized": True})
        graph.add(component)
        graph.runs_on(component.id, host.id, block.location)
        if role in DEFAULT_PORTS:
            add_declared_listeners(graph, component, host_bound=True)
        for mapping in container.get("portMappings") or []:
            port = mapping.get("containerPort") if isinstance(mapping, dict) else None
            if isinstance(port, int):
                graph.listener_for(component, port, definitions.location, declared=True, host_bound=True,
                                   reason="ECS portMappings")


def _database(ctx: BuildContext, module: TerraformModule, block: Block, sg_rules: dict[str, list[SgRule]],
              region: str | None) -> None:
    engine = module.value(block.attributes.get("engine"))
    if not isinstance(engine, str) or "postgres" not in engine:
        return
    graph = ctx.graph
    ref = module.prefix + _ref(block)
    settings = {name: _located(module, block, name) for name in (
        "multi_az", "backup_retention_period", "skip_final_snapshot", "publicly_accessible", "availability_zone",
        "replicate_source_db", "instance_class")}
    public = settings["publicly_accessible"]
    host = Host(id=f"tf:{ref}", name=ref, host_kind="rds", location=block.location,
                attrs={"resource": ref, "region": region,
                       "az": settings["availability_zone"].value if settings["availability_zone"] else None,
                       "public": public.value is True if public else False,
                       "public_location": public.location if public else block.location})
    graph.add(host)
    _firewall(ctx, host, module.value(block.attributes.get("vpc_security_group_ids")), sg_rules,
              public.value is True if public else False, public.location if public else block.location)
    component = Component(id=f"tf:{ref}#component", name=ref, role=Role.POSTGRES, role_reason=f"engine {engine}",
                          origin="terraform", location=block.location,
                          attrs={"managed": True, "ports_known": False, "settings": settings, "region": region,
                                 "resource_type": block.labels[0]})
    if block.labels[0] == "aws_rds_cluster":
        # Aurora: availability comes from the cluster's instances, one writer plus readers.
        members = [m for m in module.resources("aws_rds_cluster_instance")
                   if module.value(m.attributes.get("cluster_identifier")) in (_ref(block), module.value(
                       block.attributes.get("cluster_identifier")))]
        copies = sum(len(_instances(module, m)) for m in members)
        component.attrs["cluster_instances"] = Located(copies, members[0].location if members else block.location)
    graph.add(component)
    graph.runs_on(component.id, host.id, block.location)
    graph.add_listener(Listener(id=f"{component.id}#5432/tcp", component=component.id, port=5432,
                                location=block.location, reason="PostgreSQL port", host_bound=True))


def _redis(ctx: BuildContext, module: TerraformModule, block: Block, region: str | None) -> None:
    engine = module.value(block.attributes.get("engine"))
    if engine not in (None, "redis", "valkey"):
        return
    ref = module.prefix + _ref(block)
    settings = {name: _located(module, block, name) for name in (
        "num_cache_nodes", "num_cache_clusters", "automatic_failover_enabled", "replicas_per_node_group")}
    component = Component(id=f"tf:{ref}#component", name=ref, role=Role.REDIS, role_reason="ElastiCache",
                          origin="terraform", location=block.location,
                          attrs={"managed": True, "ports_known": False, "settings": settings, "region": region,
                                 "resource_type": block.labels[0]})
    ctx.graph.add(component)


_SEGMENT_PATHS = ("m3u8", ".ts", ".m4s", ".mpd", "segment", "hls", "dash", "live")


def _distribution(ctx: BuildContext, module: TerraformModule, block: Block) -> None:
    """A CloudFront distribution: a CDN that terminates TLS, with its origins and behaviours."""
    ref = module.prefix + _ref(block)
    origins: list[dict[str, Any]] = []
    for origin in (b for b in block.blocks if b.type == "origin"):
        custom = next((b for b in origin.blocks if b.type == "custom_origin_config"), None)
        s3 = next((b for b in origin.blocks if b.type == "s3_origin_config"), None)
        domain = module.value(origin.attributes.get("domain_name"))
        # A computed attribute (bucket_regional_domain_name) is unknown before apply, but its
        # expression still names the bucket.
        domain_text = domain.raw if isinstance(domain, Unknown) else str(domain)
        origins.append({
            "id": module.value(origin.attributes.get("origin_id")),
            "location": origin.location,
            "custom": custom is not None,
            "protocol_policy": _located(module, custom, "origin_protocol_policy") if custom else None,
            "s3": s3 is not None or ".s3." in domain_text or domain_text.startswith("aws_s3_bucket."),
            "bucket": ".".join(domain_text.split(".")[:2]) if domain_text.startswith("aws_s3_bucket.") else None,
            "access_control": origin.attributes.get("origin_access_control_id") is not None
            or (s3 is not None and s3.attributes.get("origin_access_identity") is not None),
        })
    behaviours: list[dict[str, Any]] = []
    for behaviour in (b for b in block.blocks if b.type in ("default_cache_behavior", "ordered_cache_behavior")):
        path = module.value(behaviour.attributes.get("path_pattern")) if behaviour.type != "default_cache_behavior" \
            else "*"
        behaviours.append({
            "path": path if isinstance(path, str) else None,
            "origin": module.value(behaviour.attributes.get("target_origin_id")),
            "signed": any(k in behaviour.attributes for k in ("trusted_key_groups", "trusted_signers")),
            "location": behaviour.location,
        })
    component = Component(id=f"tf:{ref}", name=ref, role=Role.CDN, role_reason="aws_cloudfront_distribution",
                          origin="terraform", location=block.location,
                          attrs={"origins": origins, "behaviours": behaviours, "ports_known": True,
                                 "cached_paths": [b["path"] for b in behaviours if b["path"]]})
    ctx.graph.add(component)
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443, tls=True,
                                    location=block.location, reason="CloudFront serves HTTPS"))


def _buckets(ctx: BuildContext, module: TerraformModule) -> None:
    """S3 buckets and their public-access blocks, for segment-access checks."""
    for bucket in module.resources("aws_s3_bucket"):
        ref = _ref(bucket)  # matched against references inside the module
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
            for config in (b for b in entry.blocks if b.type == "versioning_configuration"):
                status = _located(module, config, "status")
        component = Component(id=f"tf:{ref}", name=ref, role=Role.BUCKET, role_reason="aws_s3_bucket",
                              origin="terraform", location=bucket.location,
                              attrs={"public_flags": open_flags, "guarded": bool(guards), "versioning": status})
        ctx.graph.add(component)


def _secret_literals(blocks: list[Block]) -> list[Attribute]:
    found: list[Attribute] = []
    for block in blocks:
        for name, attribute in block.attributes.items():
            if attribute.literal and SECRET_NAME.search(name):
                found.append(attribute)
        found.extend(_secret_literals(block.blocks))
    return found


def _secrets(module: TerraformModule, ctx: BuildContext) -> None:
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


def _load_balancers(module: TerraformModule, ctx: BuildContext, sg_rules: dict[str, list[SgRule]]) -> list[ProxyConfig]:
    """ALBs/NLBs as the proxy documents HAProxy and friends produce, so the same checks apply."""
    docs: list[ProxyConfig] = []
    groups = {_ref(tg): tg for tg in module.resources("aws_lb_target_group")}
    backends: dict[str, Backend] = {}
    for ref, tg in groups.items():
        backend = Backend(ref, tg.location)
        protocol = str(module.value(tg.attributes.get("protocol")) or "HTTP").upper()
        port = module.value(tg.attributes.get("port"))
        for check in (b for b in tg.blocks if b.type == "health_check"):
            enabled = module.value(check.attributes.get("enabled"))
            if enabled is not False:
                path = module.value(check.attributes.get("path"))
                where = check.attributes["path"].value_location if "path" in check.attributes else check.location
                backend.health = HealthSpec(where, path if isinstance(path, str) else "/", "GET")
        if backend.health is None:
            # AWS always health-checks a target group; without a block it probes "/".
            backend.health = HealthSpec(tg.location, "/", "GET")
        for sticky in (b for b in tg.blocks if b.type == "stickiness"):
            if module.value(sticky.attributes.get("enabled")) is not False:
                backend.sticky = sticky.location
        backend.websocket = tg.location  # ALBs pass WebSocket upgrades natively
        for attachment in module.resources("aws_lb_target_group_attachment"):
            if module.value(attachment.attributes.get("target_group_arn")) != ref:
                continue
            target_port = module.value(attachment.attributes.get("port"))
            for _, extra in _instances(module, attachment):
                target = module.value(attachment.attributes.get("target_id"), extra)
                if not isinstance(target, str):
                    continue
                block = next((b for b in module.resources() if _ref(b) == target.split("[")[0]), None)
                addresses = [target] if "[" in target or block is None else [a for a, _ in _instances(module, block)]
                chosen = target_port if isinstance(target_port, int) else port
                for address in addresses:
                    backend.servers.append(Server(address, chosen if isinstance(chosen, int) else None,
                                                  attachment.location, "https" if protocol == "HTTPS" else "http"))
        for component in ctx.graph.components():
            groups_of = component.attrs.get("target_groups")
            if isinstance(groups_of, list) and ref in groups_of:
                backend.servers.append(Server(component.name, port if isinstance(port, int) else None, tg.location,
                                              "https" if protocol == "HTTPS" else "http"))
        backends[ref] = backend
    for lb in module.resources("aws_lb") + module.resources("aws_alb"):
        ref = _ref(lb)
        internal = module.value(lb.attributes.get("internal")) is True
        sgs = module.value(lb.attributes.get("security_groups"))
        doc = ProxyConfig(lb.location.path, "terraform", lb.location, files=[lb.location.path], name=ref)
        doc.backends = dict(backends)
        for listener in module.resources("aws_lb_listener"):
            if module.value(listener.attributes.get("load_balancer_arn")) != ref:
                continue
            port = module.value(listener.attributes.get("port"))
            protocol = str(module.value(listener.attributes.get("protocol")) or "HTTP").upper()
            if not isinstance(port, int):
                continue
            port_where = listener.attributes["port"].value_location
            frontend = Frontend(_ref(listener), listener.location,
                                [Bind("", port, protocol in ("HTTPS", "TLS"), port_where)])
            allowed = [str(n) for n in PRIVATE.networks] if internal else [
                c for sg in (sgs if isinstance(sgs, list) else []) for r in sg_rules.get(str(sg), [])
                if isinstance(r.cidrs, list) and r.port_from <= port <= r.port_to for c in r.cidrs]
            if internal or isinstance(sgs, list):
                frontend.allow, frontend.acl_location = allowed, lb.location
            for action in (b for b in listener.blocks if b.type == "default_action"):
                kind = module.value(action.attributes.get("type"))
                if kind == "redirect" and any(
                        module.value(r.attributes.get("protocol")) == "HTTPS" for r in action.blocks):
                    frontend.redirect_https = action.location
                target = module.value(action.attributes.get("target_group_arn"))
                if kind == "forward" and isinstance(target, str):
                    frontend.routes.append(RouteRule(None, target, action.location))
            for rule in module.resources("aws_lb_listener_rule"):
                if module.value(rule.attributes.get("listener_arn")) != _ref(listener):
                    continue
                paths = [module.value(p.attributes.get("values")) for c in rule.blocks if c.type == "condition"
                         for p in c.blocks if p.type == "path_pattern"]
                targets = [module.value(a.attributes.get("target_group_arn")) for a in rule.blocks
                           if a.type == "action" and module.value(a.attributes.get("type")) == "forward"]
                for values in paths or [[None]]:
                    for path in values if isinstance(values, list) else [None]:
                        for target in targets:
                            if isinstance(target, str):
                                frontend.routes.append(RouteRule(str(path) if path else None, target, rule.location))
            doc.frontends.append(frontend)
        docs.append(doc)
    return docs


def edges(modules: list[TerraformModule], ctx: BuildContext) -> None:
    from bitriver_lint.builders import proxy

    for module in modules:
        docs = _load_balancers(module, ctx, _sg_rules(module, ctx))
        proxy.nodes(docs, ctx)
        proxy.edges(docs, ctx)
