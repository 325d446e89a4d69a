"""AWS compute and data: EC2 instances, autoscaling groups, ECS services, RDS/Aurora and
ElastiCache.

Instances, autoscaling groups and ECS services become hosts behind their firewall layers
(``network``); config ``hosts`` says which compose project or unit directory runs on which of
them. RDS/Aurora and ElastiCache become the postgres and redis components with their HA and
backup settings.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from bitriver_lint.builders import hostfw
from bitriver_lint.builders import terraform_userdata as userdata
from bitriver_lint.builders.common import BuildContext, add_declared_listeners
from bitriver_lint.builders.terraform_common import bind_trees, component_id, node_id
from bitriver_lint.graph import Component, Edge, Host, Listener, Role
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule, region_of_zone
from bitriver_lint.model import Located
from bitriver_lint.providers.aws.network import SgRules, Subnet, add_firewall
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


def add_instance(ctx: BuildContext, module: TerraformModule, instance: ResourceInstance, sg_rules: SgRules,
                 subnets: dict[str, Subnet]) -> None:
    """An EC2 instance: a host, and the component its tags or name say runs there."""
    graph = ctx.graph
    address = instance.full_address
    subnet_ref = instance.get("subnet_id")
    subnet = subnets.get(str(subnet_ref.value)) if subnet_ref else None
    az = instance.get("availability_zone")
    public_ip = instance.get("associate_public_ip_address")
    public = public_ip.value if public_ip and isinstance(public_ip.value, bool) else (
        subnet.node.public if subnet else None)
    public_where = public_ip.location if public_ip else (subnet.public_location if subnet else instance.location)
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.INSTANCE,
                location=instance.location, resource=address, instance_type=instance.get("instance_type"),
                public=public, public_location=public_where,
                region=instance.region or region_of_zone(subnet.az if subnet else None),
                az=az.value if az and isinstance(az.value, str) else (subnet.az if subnet else None),
                addresses=addresses_of(module, instance))
    graph.add(host)
    if subnet is not None:
        graph.link(host.id, subnet.node.id, Edge(kind="located_in", location=subnet_ref.location if subnet_ref else
                                                 instance.location))
    groups = instance.get("vpc_security_group_ids") or instance.get("security_groups") or Located([], instance.location)
    add_firewall(ctx, host, groups.value, sg_rules, public, public_where, groups.location)
    hostfw.from_user_data(ctx, host, instance.get("user_data"))
    if bind_trees(ctx, module, host, (address, instance.ref), instance.location):
        return  # what runs there is described by the compose/systemd files bound to it
    role = _role(ctx, address, instance.arg("tags"))
    if role is None:
        return
    env = userdata.settings(ctx, instance.get("user_data"), instance.ref, instance.location)
    # Its addresses are names the join's address index knows it by (an HAProxy server 10.0.1.10:8080).
    component = Component(id=component_id(module, address), name=address, role=role,
                          role_reason="tags or name", origin="terraform", location=instance.location, env=env,
                          aliases=list(host.addresses),
                          # a count the files leave unknown: this instance stands for however many
                          replicas=instance.unknown_expansion())
    graph.add(component)
    graph.runs_on(component.id, host.id, instance.location)
    add_declared_listeners(graph, component, host_bound=True)


def _ips(*values: Any) -> list[str]:
    """The IP literals among these values (a string, or lists of them); others are left out."""
    found: list[str] = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    found.append(str(ipaddress.ip_address(item.strip())))
                except ValueError:
                    continue
    return found


def addresses_of(module: TerraformModule, instance: ResourceInstance) -> list[str]:
    """The addresses the files give an EC2 instance: its ``private_ip`` and secondary ones, those
    of the network interfaces attached to it (in its ``network_interface`` blocks, by an
    interface's ``attachment`` or an ``aws_network_interface_attachment``) and of the Elastic IPs
    associated with it or with those interfaces (``address``, ``associate_with_private_ip``,
    ``aws_eip_association.public_ip``)."""
    found = _ips(instance.arg("private_ip"), instance.arg("secondary_private_ips"), instance.arg("ipv6_addresses"))
    interfaces = [n.arg("network_interface_id") for n in instance.nested("network_interface")]
    interfaces += [a.arg("network_interface_id") for a in module.of_type("aws_network_interface_attachment")
                   if instance.named_by(a.arg("instance_id"))]
    attached = [eni for eni in module.of_type("aws_network_interface")
                if any(eni.named_by(ref) for ref in interfaces)
                or any(instance.named_by(a.arg("instance")) for a in eni.nested("attachment"))]
    for eni in attached:
        found += _ips(eni.arg("private_ip"), eni.arg("private_ips"), eni.arg("ipv6_addresses"))
    eips = [eip for eip in module.of_type("aws_eip")
            if instance.named_by(eip.arg("instance")) or any(eni.named_by(eip.arg("network_interface"))
                                                             for eni in attached)]
    for eip in eips:
        found += _ips(eip.arg("address"), eip.arg("associate_with_private_ip"))
    for association in module.of_type("aws_eip_association"):
        if instance.named_by(association.arg("instance_id")) or any(
                eni.named_by(association.arg("network_interface_id")) for eni in attached):
            allocated = module.find("aws_eip", association.arg("allocation_id"))
            found += _ips(association.arg("public_ip"), association.arg("private_ip_address"),
                          allocated.arg("address") if allocated is not None else None)
    return list(dict.fromkeys(found))


def add_autoscaling_group(ctx: BuildContext, module: TerraformModule, group: ResourceInstance, sg_rules: SgRules,
                          subnets: dict[str, Subnet]) -> None:
    """An ASG with its launch template: one host standing for min_size identical instances."""
    graph = ctx.graph
    address = group.full_label
    spec = group.first("launch_template")
    template = module.find("aws_launch_template", spec.arg("id")) if spec else None
    instance_type = template.get("instance_type") if template else None
    sgs: Any = template.arg("vpc_security_group_ids") if template else None
    public: bool | None = None
    public_where = group.location
    for interface in template.nested("network_interfaces") if template else []:
        flag = interface.get("associate_public_ip_address")
        if flag is not None and isinstance(flag.value, bool):
            public, public_where = flag.value, flag.location
        sgs = sgs or interface.arg("security_groups")
    zones = group.arg("vpc_zone_identifier")
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    if public is None and first is not None:
        public, public_where = first.node.public, first.public_location
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.INSTANCE_GROUP,
                location=group.location, resource=address, instance_type=instance_type, public=public,
                public_location=public_where, region=group.region or region_of_zone(first.az if first else None),
                az=first.az if first else None)
    graph.add(host)
    add_firewall(ctx, host, sgs, sg_rules, public, public_where)
    hostfw.from_user_data(ctx, host, template.get("user_data") if template else None)
    if bind_trees(ctx, module, host, (address, group.ref), group.location):
        return
    tags: dict[str, Any] = {}
    for tag in group.nested("tag"):
        key = tag.arg("key")
        if isinstance(key, str):
            tags[key] = tag.arg("value")
    for spec_block in template.nested("tag_specifications") if template else []:
        found = spec_block.arg("tags")
        if isinstance(found, dict):
            tags.update(found)
    role = _role(ctx, address, tags)
    if role is None:
        return
    groups = group.arg("target_group_arns")
    env = userdata.settings(ctx, template.get("user_data") if template else None, address, group.location)
    component = Component(id=component_id(module, address), name=address, role=role,
                          role_reason="tags or name", origin="terraform", location=group.location,
                          replicas=group.get("min_size"), env=env,
                          target_groups=groups if isinstance(groups, list) else [])
    graph.add(component)
    graph.runs_on(component.id, host.id, group.location)
    add_declared_listeners(graph, component, host_bound=True)


def add_ecs_service(ctx: BuildContext, module: TerraformModule, service: ResourceInstance, sg_rules: SgRules,
                    subnets: dict[str, Subnet]) -> None:
    """An ECS service: its task's containers as components on one host (the service's ENIs)."""
    graph = ctx.graph
    address = service.full_label
    task = module.find("aws_ecs_task_definition", service.arg("task_definition"))
    if task is None:
        return
    definitions = task.get("container_definitions")
    containers = definitions.value if definitions else None
    if isinstance(containers, str):
        try:
            containers = json.loads(containers)  # jsonencode()d, or a JSON heredoc: AWS's own format
        except ValueError:
            containers = None
    if not isinstance(containers, list) or definitions is None:
        return
    network = service.first("network_configuration")
    public_flag = network.get("assign_public_ip") if network else None
    public = public_flag.value if public_flag and isinstance(public_flag.value, bool) else None
    zones = network.arg("subnets") if network else None
    first = subnets.get(str(zones[0])) if isinstance(zones, list) and zones else None
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.CONTAINER_SERVICE,
                location=service.location, resource=address, public=public, region=service.region,
                az=first.az if first else None,
                public_location=public_flag.location if public_flag else service.location)
    graph.add(host)
    add_firewall(ctx, host, network.arg("security_groups") if network else None, sg_rules,
                 public, public_flag.location if public_flag else service.location)
    count = service.get("desired_count")
    groups = [lb.arg("target_group_arn") for lb in service.nested("load_balancer")]
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
        graph.runs_on(component.id, host.id, service.location)
        if role in DEFAULT_PORTS:
            add_declared_listeners(graph, component, host_bound=True)
        for mapping in container.get("portMappings") or []:
            port = mapping.get("containerPort") if isinstance(mapping, dict) else None
            if isinstance(port, int):
                graph.listener_for(component, port, definitions.location, declared=True, host_bound=True,
                                   reason="ECS portMappings")


_DATABASE_SETTINGS = ("multi_az", "backup_retention_period", "skip_final_snapshot", "publicly_accessible",
                      "availability_zone", "replicate_source_db", "instance_class")


def _replica_source(module: TerraformModule, reference: Any) -> ResourceInstance | None:
    """The database a ``replicate_source_db`` names: by reference, identifier or ARN."""
    if not isinstance(reference, str):
        return None
    found = module.find("aws_db_instance", reference)
    if found is not None:
        return found
    name = reference.rsplit(":db:", 1)[-1]
    return next((d for d in module.of_type("aws_db_instance") if d.arg("identifier") == name), None)


def add_database(ctx: BuildContext, module: TerraformModule, database: ResourceInstance, sg_rules: SgRules) -> None:
    """RDS or Aurora PostgreSQL: the postgres component on a managed host."""
    engine = database.arg("engine")
    source = _replica_source(module, database.arg("replicate_source_db"))
    if engine is None and source is not None:
        engine = source.arg("engine")  # a read replica runs its source's engine, and need not say so
    if not isinstance(engine, str) or "postgres" not in engine:
        return
    graph = ctx.graph
    ref = database.full_label
    settings = {name: database.get(name) for name in _DATABASE_SETTINGS}
    public = settings["publicly_accessible"]
    zone = settings["availability_zone"]
    host = Host(id=node_id(module, ref), name=ref, host_kind=HostKind.MANAGED_DATABASE, location=database.location,
                managed=True, resource=ref, region=database.region,
                az=zone.value if zone and isinstance(zone.value, str) else None,
                public=public.value is True if public else False,
                public_location=public.location if public else database.location)
    graph.add(host)
    add_firewall(ctx, host, database.arg("vpc_security_group_ids"), sg_rules,
                 public.value is True if public else False, public.location if public else database.location)
    component = Component(id=component_id(module, ref), name=ref, role=Role.POSTGRES,
                          role_reason=f"engine {engine}", origin="terraform", location=database.location,
                          runtime=Runtime.MANAGED, settings=settings, resource_type=database.type)
    if database.type == "aws_rds_cluster":
        # Aurora: availability comes from the cluster's instances, one writer plus readers.
        names = (database.ref, database.arg("cluster_identifier"))
        members = [m for m in module.of_type("aws_rds_cluster_instance") if m.arg("cluster_identifier") in names]
        # A member whose count is not known (``terraform.workspace == "prod" ? 2 : 1``) leaves
        # the cluster's size unknown: the rule notes it rather than counting one.
        unknown = next((e for m in members if (e := m.unknown_expansion()) is not None), None)
        component.cluster_instances = unknown if unknown is not None else Located(
            len(members), members[0].location if members else database.location)
    graph.add(component)
    graph.runs_on(component.id, host.id, database.location)
    graph.add_listener(Listener(id=f"{component.id}#5432/tcp", component=component.id, port=5432,
                                location=database.location, reason="PostgreSQL port", host_bound=True))


def add_redis(ctx: BuildContext, module: TerraformModule, cache: ResourceInstance) -> None:
    """ElastiCache for Redis (or Valkey): the redis component with its replication settings."""
    engine = cache.arg("engine")
    if engine not in (None, "redis", "valkey"):
        return
    ref = cache.full_label
    settings = {name: cache.get(name) for name in (
        "num_cache_nodes", "num_cache_clusters", "automatic_failover_enabled", "replicas_per_node_group")}
    component = Component(id=component_id(module, ref), name=ref, role=Role.REDIS, role_reason="ElastiCache",
                          origin="terraform", location=cache.location,
                          runtime=Runtime.MANAGED, settings=settings, resource_type=cache.type)
    ctx.graph.add(component)
