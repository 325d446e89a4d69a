"""Terraform (AWS) modules and plans into the graph: the compute and data parts.

Instances, autoscaling groups and ECS services become hosts behind their firewall layers
(``terraform_network``); config ``hosts`` says which compose project or unit directory runs on
which of them. RDS/Aurora and ElastiCache become the postgres and redis components with their
HA and backup settings. Literal secrets in resources, variable defaults and tfvars feed the
secret check. Load balancers, CloudFront and S3 are in ``terraform_edge``.
"""

from __future__ import annotations

import json
from typing import Any

from bitriver_lint.builders import terraform_userdata as userdata
from bitriver_lint.builders.common import WATCHED_ENV, BuildContext, add_declared_listeners
from bitriver_lint.builders.terraform_common import located_value, node_id, resource_ref
from bitriver_lint.builders.terraform_edge import add_buckets, add_distribution, load_balancers, place_load_balancers
from bitriver_lint.builders.terraform_network import SgRule, Subnet, add_firewall, security_group_rules, subnets_of
from bitriver_lint.graph import Component, Edge, Host, Listener, Network, Role
from bitriver_lint.loaders.terraform import SECRET_NAME, Attribute, Block, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.roles import DEFAULT_PORTS, role_from_image, role_from_name
from bitriver_lint.vocabulary import HostKind, Runtime

_TAG_KEYS = ("Role", "role", "bitriver:role", "bitriver_role")




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
    root_regions: dict[str, str | None] = {}
    for module in modules:
        _secrets(module, ctx)
        region = None
        for provider in module.of_type("provider"):
            value = module.value(provider.attributes.get("region"))
            region = value if isinstance(value, str) else region
        root = module.root_directory
        if module.prefix:
            region = region or root_regions.get(root)  # providers live in the root; modules inherit them
        else:
            root_regions[root] = region
        sg_rules = security_group_rules(module, ctx)
        for vpc in module.resources("aws_vpc"):
            cidr = module.value(vpc.attributes.get("cidr_block"))
            ctx.graph.add(Network(id=node_id(module, module.prefix + resource_ref(vpc)), name=resource_ref(vpc),
                                  net_kind="vpc", location=vpc.location, cidr=cidr if isinstance(cidr, str) else None))
        subnets = subnets_of(module, ctx)
        for block in module.resources("aws_instance"):
            for address, extra in module.instance_scopes(block):
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
            add_distribution(ctx, module, block)
        add_buckets(ctx, module)
        _anchor(ctx, module, region)


def _anchor(ctx: BuildContext, module: TerraformModule, region: str | None) -> None:
    """Tie what one root module creates to its region, so it reads as one deployment even where
    nothing else joins its parts (an RDS instance shares no edge with the API hosts)."""
    graph = ctx.graph
    prefix = node_id(module, module.prefix)
    anchor = node_id(module, f"region:{region or 'unknown'}")
    created = [n for n in graph.g.nodes if str(n).startswith(prefix) and n != anchor
               and isinstance(graph.node(n), (Host, Component))]
    if not created:
        return
    if anchor not in graph.g:
        # Placed in the root module, also for what a module called from there creates.
        where = module.called_at or graph.node(created[0]).location
        graph.add(Network(id=anchor, name=region or "region not set", net_kind="region", location=where))
    for node in created:
        graph.link(node, anchor, Edge(kind="located_in", location=graph.node(node).location))
        graph.homes[node] = module.root_directory


def _instance(ctx: BuildContext, module: TerraformModule, block: Block, address: str, extra: dict[str, Any],
              sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    graph = ctx.graph
    address = module.prefix + address

    def get(name: str) -> Located[Any] | None:
        return located_value(module, block, name, extra)

    subnet_ref = get("subnet_id")
    subnet = subnets.get(str(subnet_ref.value)) if subnet_ref else None
    az = get("availability_zone")
    public_ip = get("associate_public_ip_address")
    public = public_ip.value if public_ip and isinstance(public_ip.value, bool) else (
        subnet.node.public if subnet else None)
    public_where = public_ip.location if public_ip else (subnet.public_location if subnet else block.location)
    instance_type = get("instance_type")
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.EC2_INSTANCE, location=block.location,
                resource=address, instance_type=instance_type, public=public, public_location=public_where,
                region=region, az=az.value if az and isinstance(az.value, str) else (subnet.az if subnet else None))
    graph.add(host)
    if subnet is not None:
        graph.link(host.id, subnet.node.id, Edge(kind="located_in", location=subnet_ref.location if subnet_ref else
                                                 block.location))
    groups = get("vpc_security_group_ids") or get("security_groups") or Located([], block.location)
    add_firewall(ctx, host, groups.value, sg_rules, public, public_where, groups.location)
    if _bind_trees(ctx, host, (address, resource_ref(block)), block.location):
        return  # what runs there is described by the compose/systemd files bound to it
    tags = get("tags")
    role = _role(ctx, address, tags.value if tags else None)
    if role is None:
        return
    env = _environment(ctx, module, block.attributes.get("user_data"), extra, resource_ref(block), block)
    component = Component(id=node_id(module, address) + "#component", name=address, role=role,
                          role_reason="tags or name", origin="terraform", location=block.location, env=env)
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
            directory = other.directory or ""
            if other.id != host.id and any(directory == p or directory.startswith(p + "/") for p in prefixes):
                ctx.graph.runs_on(other.id, host.id, where)
    return bool(bound)


def _environment(ctx: BuildContext, module: TerraformModule, user_data: Attribute | None, extra: dict[str, Any],
                 name: str, block: Block) -> dict[str, Located[Any]]:
    """The settings the user data assigns; where it cannot be read or assigns none, the settings
    the rules read are Unknowns, so they note instead of guess."""
    found = userdata.environment(module, user_data, extra, ctx.workspace)
    if found is not None:
        return found
    if user_data is None:
        why = "is not in the files (no user data: perhaps baked into the image)"
    elif isinstance(module.value(user_data, extra), str):
        why = "is not set in its user data (it may fetch its settings from elsewhere)"
    else:
        why = "comes from user data that cannot be read"
    unread = Unknown((f"the environment of {name}",), name, why=why)
    where = user_data.value_location if user_data is not None else block.location
    return {key: Located(unread, where) for key in WATCHED_ENV}


def _autoscaling_group(ctx: BuildContext, module: TerraformModule, block: Block,
                       sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    """An ASG with its launch template: one host standing for min_size identical instances."""
    graph = ctx.graph
    address = module.prefix + resource_ref(block)
    spec = next(iter(module.nested(block, "launch_template")), None)
    template_ref = module.value(spec.attributes.get("id")) if spec else None
    template = next((b for b in module.resources("aws_launch_template") if resource_ref(b) == template_ref), None)
    instance_type = located_value(module, template, "instance_type") if template else None
    sgs: Any = module.value(template.attributes.get("vpc_security_group_ids")) if template else None
    public: bool | None = None
    public_where = block.location
    for interface in module.nested(template, "network_interfaces") if template else []:
        flag = located_value(module, interface, "associate_public_ip_address")
        if flag is not None and isinstance(flag.value, bool):
            public, public_where = flag.value, flag.location
        sgs = sgs or module.value(interface.attributes.get("security_groups"))
    zones = module.value(block.attributes.get("vpc_zone_identifier"))
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    if public is None and first is not None:
        public, public_where = first.node.public, first.public_location
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.AUTOSCALING_GROUP,
                location=block.location, resource=address, instance_type=instance_type, public=public,
                public_location=public_where, region=region, az=first.az if first else None)
    graph.add(host)
    add_firewall(ctx, host, sgs, sg_rules, public, public_where)
    if _bind_trees(ctx, host, (address, resource_ref(block)), block.location):
        return
    tags: dict[str, Any] = {}
    for tag in module.nested(block, "tag"):
        key, value = module.value(tag.attributes.get("key")), module.value(tag.attributes.get("value"))
        if isinstance(key, str):
            tags[key] = value
    for spec_block in module.nested(template, "tag_specifications") if template else []:
        found = module.value(spec_block.attributes.get("tags"))
        if isinstance(found, dict):
            tags.update(found)
    role = _role(ctx, address, tags)
    if role is None:
        return
    size = located_value(module, block, "min_size")
    groups = module.value(block.attributes.get("target_group_arns"))
    user_data = template.attributes.get("user_data") if template else None
    env = _environment(ctx, module, user_data, {}, address, block)
    component = Component(id=node_id(module, address) + "#component", name=address, role=role,
                          role_reason="tags or name", origin="terraform", location=block.location, replicas=size,
                          env=env, target_groups=groups if isinstance(groups, list) else [])
    graph.add(component)
    graph.runs_on(component.id, host.id, block.location)
    add_declared_listeners(graph, component, host_bound=True)


def _ecs_service(ctx: BuildContext, module: TerraformModule, block: Block,
                 sg_rules: dict[str, list[SgRule]], subnets: dict[str, Subnet], region: str | None) -> None:
    """An ECS service: its task's containers as components on one host (the service's ENIs)."""
    graph = ctx.graph
    address = module.prefix + resource_ref(block)
    task_ref = module.value(block.attributes.get("task_definition"))
    task = next((b for b in module.resources("aws_ecs_task_definition") if resource_ref(b) == task_ref), None)
    if task is None:
        return
    definitions = located_value(module, task, "container_definitions")
    containers = definitions.value if definitions else None
    if isinstance(containers, str):
        try:
            containers = json.loads(containers)
        except ValueError:
            containers = None
    if not isinstance(containers, list) or definitions is None:
        return
    network = next(iter(module.nested(block, "network_configuration")), None)
    public_flag = located_value(module, network, "assign_public_ip") if network else None
    public = public_flag.value if public_flag and isinstance(public_flag.value, bool) else None
    zones = module.value(network.attributes.get("subnets")) if network else None
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.ECS_SERVICE, location=block.location,
                resource=address, public=public, region=region, az=first.az if first else None,
                public_location=public_flag.location if public_flag else block.location)
    graph.add(host)
    add_firewall(ctx, host, module.value(network.attributes.get("security_groups")) if network else None, sg_rules,
              public, public_flag.location if public_flag else block.location)
    count = located_value(module, block, "desired_count")
    groups = [module.value(lb.attributes.get("target_group_arn")) for lb in module.nested(block, "load_balancer")]
    for container in (c for c in containers if isinstance(c, dict)):
        image = str(container.get("image", ""))
        role = role_from_image(image) or Role.OTHER
        env = {str(e["name"]): Located(str(e.get("value", "")), definitions.location)
               for e in container.get("environment") or [] if isinstance(e, dict) and "name" in e}
        component = Component(id=node_id(module, address) + f"#{container.get('name')}",
                              name=str(container.get("name", address)), role=role, role_reason=f"image {image}",
                              origin="terraform", location=definitions.location, image=image, env=env, replicas=count,
                              runtime=Runtime.CONTAINER, target_groups=groups)
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
    ref = module.prefix + resource_ref(block)
    settings = {name: located_value(module, block, name) for name in (
        "multi_az", "backup_retention_period", "skip_final_snapshot", "publicly_accessible", "availability_zone",
        "replicate_source_db", "instance_class")}
    public = settings["publicly_accessible"]
    zone = settings["availability_zone"]
    host = Host(id=node_id(module, ref), name=ref, host_kind=HostKind.RDS, location=block.location, managed=True,
                resource=ref, region=region, az=zone.value if zone and isinstance(zone.value, str) else None,
                public=public.value is True if public else False,
                public_location=public.location if public else block.location)
    graph.add(host)
    add_firewall(ctx, host, module.value(block.attributes.get("vpc_security_group_ids")), sg_rules,
              public.value is True if public else False, public.location if public else block.location)
    component = Component(id=node_id(module, ref) + "#component", name=ref, role=Role.POSTGRES,
                          role_reason=f"engine {engine}", origin="terraform", location=block.location,
                          runtime=Runtime.MANAGED, settings=settings, resource_type=block.labels[0])
    if block.labels[0] == "aws_rds_cluster":
        # Aurora: availability comes from the cluster's instances, one writer plus readers.
        members = [m for m in module.resources("aws_rds_cluster_instance")
                   if module.value(m.attributes.get("cluster_identifier")) in (resource_ref(block), module.value(
                       block.attributes.get("cluster_identifier")))]
        copies = sum(len(module.instance_scopes(m)) for m in members)
        component.cluster_instances = Located(copies, members[0].location if members else block.location)
    graph.add(component)
    graph.runs_on(component.id, host.id, block.location)
    graph.add_listener(Listener(id=f"{component.id}#5432/tcp", component=component.id, port=5432,
                                location=block.location, reason="PostgreSQL port", host_bound=True))


def _redis(ctx: BuildContext, module: TerraformModule, block: Block, region: str | None) -> None:
    engine = module.value(block.attributes.get("engine"))
    if engine not in (None, "redis", "valkey"):
        return
    ref = module.prefix + resource_ref(block)
    settings = {name: located_value(module, block, name) for name in (
        "num_cache_nodes", "num_cache_clusters", "automatic_failover_enabled", "replicas_per_node_group")}
    component = Component(id=node_id(module, ref) + "#component", name=ref, role=Role.REDIS, role_reason="ElastiCache",
                          origin="terraform", location=block.location,
                          runtime=Runtime.MANAGED, settings=settings, resource_type=block.labels[0])
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


def edges(modules: list[TerraformModule], ctx: BuildContext) -> None:
    from bitriver_lint.builders import proxy

    for module in modules:
        balancers = load_balancers(module, ctx)
        docs = [doc for _, doc in balancers]
        proxy.nodes(docs, ctx)
        place_load_balancers(module, ctx, security_group_rules(module, ctx), balancers)
        proxy.edges(docs, ctx)
