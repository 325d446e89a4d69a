"""Google Cloud compute: Compute Engine instances, managed instance groups and Cloud Run.

Instances and managed instance groups become hosts behind the VPC firewall rules that target
their network tags (``network``), in the zone and region they run in, with the role their
labels or names give and the BitRiver settings their startup script assigns (read as EC2 user
data is). A Cloud Run service becomes a container-service host whose containers are
components; its ``ingress`` decides who reaches its own URL, as a public address does a VM's,
and its invoker grants (``invoker``) whether anonymous callers get past its IAM check at all.
"""

from __future__ import annotations

from typing import Any, Literal

from bitriver_lint.builders import hostfw
from bitriver_lint.builders import terraform_userdata as userdata
from bitriver_lint.builders.common import BuildContext, add_declared_listeners
from bitriver_lint.builders.terraform_common import bind_trees, component_id, node_id
from bitriver_lint.graph import Allow, Component, Host, Mount, Publish, Role, UnknownRule
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.providers.gcp.common import network_key, referenced, region_of_zone, role_of
from bitriver_lint.providers.gcp.invoker import add_invoker
from bitriver_lint.providers.gcp.network import FwEntry, add_firewall
from bitriver_lint.roles import role_from_image
from bitriver_lint.vocabulary import HostKind, Layer, Runtime

_TEMPLATES = ("google_compute_instance_template", "google_compute_region_instance_template")
_MANAGERS = ("google_compute_instance_group_manager", "google_compute_region_instance_group_manager")


def _startup_script(body: Body) -> Located[Any] | None:
    """The startup script: ``metadata_startup_script``, or the ``startup-script`` (or cloud-init
    ``user-data``) metadata key."""
    script = body.get("metadata_startup_script")
    if script is not None:
        return script
    metadata = body.get("metadata")
    if metadata is not None and isinstance(metadata.value, dict):
        for key in ("startup-script", "user-data"):
            if key in metadata.value:
                return Located(metadata.value[key], metadata.location)
    if metadata is not None and isinstance(metadata.value, Unknown):
        return metadata
    return None


def _interfaces(module: TerraformModule, body: Body) -> tuple[bool, Location, list[Any], list[str]]:
    """(public, what says so, networks, addresses) of a VM's network interfaces: an
    ``access_config`` block gives it an external IP. A subnetwork stands for its network, which
    is what firewall rules name."""
    public = False
    where = body.location
    networks: list[Any] = []
    addresses: list[str] = []
    for interface in body.nested("network_interface"):
        subnet = referenced(module, interface.arg("subnetwork"), "google_compute_subnetwork")
        network = interface.arg("network") or (subnet.arg("network") if subnet else None)
        # Unknown (a data source, a shared VPC) or unnamed: any rule's network may be it.
        networks.append(network_key(module, network))
        ip = interface.arg("network_ip")
        if isinstance(ip, str):
            addresses.append(ip)
        for access in interface.nested("access_config"):
            public, where = True, access.location
            nat = access.arg("nat_ip")
            if isinstance(nat, str):
                addresses.append(nat)
        if not public:
            where = interface.location
    return public, where, networks, addresses


def _accounts(body: Body) -> list[Any]:
    return [s.arg("email") for s in body.nested("service_account")]


def add_instance(ctx: BuildContext, module: TerraformModule, instance: ResourceInstance,
                 firewall: list[FwEntry]) -> None:
    """A Compute Engine VM: a host, and the component its labels or name say runs there."""
    graph = ctx.graph
    address = instance.full_address
    zone = instance.arg("zone")
    public, public_where, networks, addresses = _interfaces(module, instance)
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.INSTANCE,
                location=instance.location, resource=address, instance_type=instance.get("machine_type"),
                public=public, public_location=public_where,
                region=region_of_zone(zone) or instance.region, az=zone if isinstance(zone, str) else None,
                addresses=addresses)
    graph.add(host)
    add_firewall(ctx, host, firewall, instance.arg("tags"), _accounts(instance), networks, public, public_where)
    hostfw.from_user_data(ctx, host, _startup_script(instance))
    if bind_trees(ctx, module, host, (address, instance.ref), instance.location):
        return
    role = role_of(ctx, address, instance.arg("labels"), instance.arg("name"))
    if role is None:
        return
    env = userdata.settings(ctx, _startup_script(instance), instance.ref, instance.location)
    component = Component(id=component_id(module, address), name=address, role=role, role_reason="labels or name",
                          origin="terraform", location=instance.location, env=env, aliases=list(addresses),
                          resource_type=instance.type)
    graph.add(component)
    graph.runs_on(component.id, host.id, instance.location)
    add_declared_listeners(graph, component, host_bound=True)


def _replicas(module: TerraformModule, manager: ResourceInstance) -> Located[Any] | None:
    """How many VMs the group keeps at least: its autoscaler's ``min_replicas``, else ``target_size``."""
    for scaler in module.of_type("google_compute_autoscaler", "google_compute_region_autoscaler"):
        if referenced(module, scaler.arg("target"), *_MANAGERS) is manager:
            for policy in scaler.nested("autoscaling_policy"):
                found = policy.get("min_replicas")
                if found is not None:
                    return found
    return manager.get("target_size")


def add_instance_group(ctx: BuildContext, module: TerraformModule, manager: ResourceInstance,
                       firewall: list[FwEntry]) -> None:
    """A managed instance group with its template: one host standing for its identical VMs."""
    graph = ctx.graph
    address = manager.full_label
    versions = [v.arg("instance_template") for v in manager.nested("version")]
    versions.append(manager.arg("instance_template"))  # the provider's 3.x form
    template = next((t for v in versions if (t := referenced(module, v, *_TEMPLATES)) is not None), None)
    zone = manager.arg("zone")
    spread = manager.arg("distribution_policy_zones")
    if not isinstance(zone, str) and isinstance(spread, list) and len(spread) == 1:
        zone = spread[0]  # a regional group kept to one zone
    region = manager.arg("region")
    # A regional group spread over zones (``region = var.region`` left to the caller): the zones
    # still say which region it runs in. Its zone stays unset: its VMs are in all of them.
    spread_regions = {region_of_zone(z) for z in spread} if isinstance(spread, list) and spread else set()
    if not isinstance(region, str) and len(spread_regions) == 1 and None not in spread_regions:
        region = spread_regions.pop()
    public, public_where, networks, _ = _interfaces(module, template) if template else (None, manager.location, [], [])
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.INSTANCE_GROUP,
                location=manager.location, resource=address,
                instance_type=template.get("machine_type") if template else None,
                public=public, public_location=public_where,
                region=region_of_zone(zone) or (region if isinstance(region, str) else manager.region),
                az=zone if isinstance(zone, str) else None)
    graph.add(host)
    add_firewall(ctx, host, firewall, template.arg("tags") if template else None,
                 _accounts(template) if template else [], networks, public, public_where)
    hostfw.from_user_data(ctx, host, _startup_script(template) if template else None)
    if bind_trees(ctx, module, host, (address, manager.ref), manager.location):
        return
    labels = template.arg("labels") if template else None
    role = role_of(ctx, address, labels, manager.arg("base_instance_name")) or role_of(
        ctx, address, None, manager.arg("name"))
    if role is None:
        return
    env = userdata.settings(ctx, _startup_script(template) if template else None, address, manager.location)
    component = Component(id=component_id(module, address), name=address, role=role, role_reason="labels or name",
                          origin="terraform", location=manager.location, env=env,
                          replicas=_replicas(module, manager), resource_type=manager.type)
    graph.add(component)
    graph.runs_on(component.id, host.id, manager.location)
    add_declared_listeners(graph, component, host_bound=True)


def named_ports(manager: ResourceInstance) -> dict[str, Located[Any]]:
    """The group's ``named_port`` blocks, name -> port (a backend service's ``port_name``)."""
    return {str(p.arg("name")): Located(p.arg("port"), p.location) for p in manager.nested("named_port")}


# Cloud Run's ingress settings, v2 enum and v1 annotation, by whether the internet reaches the
# service's own URL.
_INGRESS_PUBLIC = {"INGRESS_TRAFFIC_ALL": True, "all": True, "INGRESS_TRAFFIC_INTERNAL_ONLY": False,
                   "internal": False, "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": False,
                   "internal-and-cloud-load-balancing": False}
V1_INGRESS = "run.googleapis.com/ingress"
V1_MIN_SCALE = "autoscaling.knative.dev/minScale"


def _annotation(ctx: BuildContext, body: Body | None, key: str) -> Located[Any] | None:
    """A v1 annotation's value, placed on the line that writes it when the file shows it."""
    metadata = body.first("metadata") if body else None
    annotations = metadata.get("annotations") if metadata else None
    if annotations is None:
        return None
    if isinstance(annotations.value, Unknown):
        return annotations
    if not isinstance(annotations.value, dict) or key not in annotations.value:
        return None
    start = annotations.location
    for number in range(start.line, start.line + 40):
        text = ctx.workspace.line_text(start.path, number)
        if key in text:
            return Located(annotations.value[key], Location(start.path, number, text.index(key) + 1))
    return Located(annotations.value[key], start)


def _containers(service: ResourceInstance) -> tuple[Body | None, list[Body]]:
    """(the revision template, its containers) of a v2 or a v1 service."""
    template = service.first("template")
    if service.type == "google_cloud_run_service":
        spec = template.first("spec") if template else None
        return template, spec.nested("containers") if spec else []
    return template, template.nested("containers") if template else []


MountKind = Literal["volume", "bind", "tmpfs", "anonymous", "state", "secret", "other"]

# What backs a Cloud Run volume: (mount kind, persistent, why) by the volume's block type.
_VOLUMES: dict[str, tuple[MountKind, bool, str]] = {
    "gcs": ("volume", True, "a Cloud Storage bucket"),
    "nfs": ("volume", True, "an NFS share"),
    "empty_dir": ("tmpfs", False, "an in-memory empty_dir volume, lost with the instance"),
    "secret": ("secret", False, "a Secret Manager volume"),
    "cloud_sql_instance": ("other", False, "the Cloud SQL connector's sockets"),
}


def _mounts(template: Body | None, container: Body) -> list[Mount]:
    """The container's ``volume_mounts`` (v2; ``volume_mounts`` of v1 too), each backed by the
    template volume of its name."""
    spec = template.first("spec") if template and template.first("spec") else template
    volumes = {v.arg("name"): v for v in (spec.nested("volumes") if spec else [])}
    out: list[Mount] = []
    for mount in container.nested("volume_mounts"):
        target = mount.arg("mount_path")
        if not isinstance(target, str):
            continue
        volume = volumes.get(mount.arg("name"))
        backing = next((b.type for b in volume.blocks if b.type in _VOLUMES), None) if volume else None
        kind, persistent, why = _VOLUMES.get(backing or "", ("other", False, "a volume the files do not define"))
        out.append(Mount(location=mount.location, target=target, source=str(mount.arg("name")),
                         kind=kind, persistent=persistent, note=why))
    return out


def _min_instances(ctx: BuildContext, service: ResourceInstance, template: Body | None) -> Located[Any] | None:
    if service.type == "google_cloud_run_service":
        found = _annotation(ctx, template, V1_MIN_SCALE)
        if found is not None and isinstance(found.value, str) and found.value.strip().isdigit():
            return Located(int(found.value), found.location)
        return found
    for body in (template, service):
        scaling = body.first("scaling") if body else None
        count = scaling.get("min_instance_count") if scaling else None
        if count is not None:
            return count
    return None


def add_cloud_run(ctx: BuildContext, module: TerraformModule, service: ResourceInstance) -> None:
    """A Cloud Run service: its containers as components on one managed container host, reached
    on the ingress container's port from whoever its ``ingress`` lets in."""
    graph = ctx.graph
    address = service.full_label
    template, containers = _containers(service)
    region = service.arg("location")
    host = Host(id=node_id(module, address), name=address, host_kind=HostKind.CONTAINER_SERVICE,
                location=service.location, resource=address, managed=True,
                region=region if isinstance(region, str) else service.region)
    graph.add(host)
    ingress_at = _ingress(ctx, service, host)
    add_invoker(ctx, module, service, host)
    replicas = _min_instances(ctx, service, template)
    name = service.arg("name")
    for index, container in enumerate(containers):
        image = container.arg("image")
        image_text = image.raw if isinstance(image, Unknown) else str(image or "")
        env: dict[str, Located[Any]] = {}
        for entry in container.nested("env"):
            key = entry.arg("name")
            if isinstance(key, str) and "value" in entry.attributes:
                value = entry.get("value")
                assert value is not None
                env[key] = value if isinstance(value.value, (str, Unknown)) else Located(str(value.value),
                                                                                         value.location)
        role = role_from_image(image_text) or role_of(ctx, address, service.arg("labels"), name) or Role.OTHER
        label = container.arg("name")
        component = Component(id=f"{host.id}#{label if isinstance(label, str) else index}",
                              name=address if len(containers) == 1 else f"{address}/{label or index}",
                              role=role, role_reason=f"image {image_text}", origin="terraform",
                              location=container.location, image=image_text, env=env, replicas=replicas,
                              runtime=Runtime.CONTAINER, resource_type=service.type,
                              aliases=[name] if isinstance(name, str) else [])
        component.mounts = _mounts(template, container)
        graph.add(component)
        graph.runs_on(component.id, host.id, service.location)
        # Only the ingress container's port is served; any other port the role defaults to is
        # reached from inside the instance alone.
        add_declared_listeners(graph, component, host_bound=False)
        ports = container.first("ports")
        if ports is None and len(containers) > 1:
            continue  # a sidecar: Cloud Run routes requests to the one container with ports
        port = ports.get("container_port") if ports else None
        number = port.value if port is not None and isinstance(port.value, int) else 8080
        where = port.location if port is not None else container.location
        listener = graph.listener_for(component, number, where, declared=True,
                                      reason="Cloud Run container port" if port else "Cloud Run's default PORT 8080")
        listener.declared = True
        # The service's URL serves HTTPS on 443 and hands requests to this port: a publish, as
        # compose's "443:8080" is, that the ingress layer then narrows.
        graph.link(host.id, listener.id, Publish(location=ingress_at, host_ip="", host_port=443))


def _ingress(ctx: BuildContext, service: ResourceInstance, host: Host) -> Location:
    """Who reaches the service's own run.app URL: the internet, or only the VPC and Google's
    load balancers. It has no VPC firewall, so ingress is its only filter. Returns where the
    setting is written (the service when it is not)."""
    graph = ctx.graph
    if service.type == "google_cloud_run_service":
        setting = _annotation(ctx, service, V1_INGRESS)
        shown = f"annotation {V1_INGRESS}"
    else:
        setting = service.get("ingress")
        shown = "ingress"
    where = setting.location if setting is not None else service.location
    value = setting.value if setting is not None else "INGRESS_TRAFFIC_ALL" if shown == "ingress" else "all"
    host.described_layers.update({Layer.SECURITY_GROUP, Layer.PUBLIC_ADDRESS})
    graph.link(host.id, host.id, Allow(location=where, layer=Layer.SECURITY_GROUP, cidrs=["0.0.0.0/0", "::/0"],
                                       port_from=0, port_to=65535, protocol="all", description="no VPC firewall",
                                       assumed="anyone: a Cloud Run service has no VPC firewall, only ingress"))
    public = _INGRESS_PUBLIC.get(value) if isinstance(value, str) else None
    if public is None:
        unknown = value if isinstance(value, Unknown) else Unknown((str(value),), str(value),
                                                                    why="is not an ingress setting Cloud Run knows")
        host.unknown_rules.append(UnknownRule(port_from=0, port_to=65535, protocol="all",
                                              sources=Located(unknown, where)))
        return where
    # Not ``host.public``: that is a VM on a public subnet (BRL403); a Cloud Run URL is judged
    # by exposure, through this layer.
    written = f"{shown} = {value}" if setting is not None else f"{shown} not set (defaults to {value})"
    graph.link(host.id, host.id, Allow(
        location=where, layer=Layer.PUBLIC_ADDRESS,
        cidrs=["0.0.0.0/0", "::/0"] if public else [str(n) for n in PRIVATE.networks],
        port_from=0, port_to=65535, protocol="all",
        description=f"Cloud Run {written}: " + ("its run.app URL is public" if public else
                                                 "only the VPC and Google's load balancers reach it")))
    return where
