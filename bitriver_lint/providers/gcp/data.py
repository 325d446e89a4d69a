"""Google Cloud data: Cloud SQL for PostgreSQL, Memorystore for Redis and Cloud Storage buckets.

Cloud SQL becomes the postgres component on a managed host in its zone, with the settings the
HA and backup rules read (``availability_type``, ``master_instance_name``, backups). Its public
IP (``ipv4_enabled``, on by default) admits the ``authorized_networks`` only, beside the VPC
through a private IP: that is its firewall layer. Memorystore becomes the redis component with
its ``tier``; buckets the segment stores a Cloud CDN backend bucket reads.
"""

from __future__ import annotations

from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import component_id, node_id
from bitriver_lint.graph import Allow, Component, Host, Listener, Role, UnknownRule
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.providers.gcp.common import referenced
from bitriver_lint.vocabulary import HostKind, Layer, Runtime

SQL = "google_sql_database_instance"


def _master(module: TerraformModule, database: ResourceInstance) -> ResourceInstance | None:
    return referenced(module, database.arg("master_instance_name"), SQL)


def add_cloud_sql(ctx: BuildContext, module: TerraformModule, database: ResourceInstance) -> None:
    """A Cloud SQL instance running PostgreSQL (a read replica runs its master's version)."""
    version = database.arg("database_version")
    master = _master(module, database)
    if version is None and master is not None:
        version = master.arg("database_version")
    if not isinstance(version, str) or not version.upper().startswith("POSTGRES"):
        return
    graph = ctx.graph
    ref = database.full_label
    settings_block = database.first("settings")
    preference = settings_block.first("location_preference") if settings_block else None
    zone = preference.arg("zone") if preference else None
    ip = settings_block.first("ip_configuration") if settings_block else None
    backup = settings_block.first("backup_configuration") if settings_block else None
    ipv4 = ip.get("ipv4_enabled") if ip else None
    # Cloud SQL gives an instance a public IP unless told not to.
    public: bool | None = ipv4.value if ipv4 is not None and isinstance(ipv4.value, bool) else (
        None if ipv4 is not None else True)
    public_where = ipv4.location if ipv4 is not None else (ip.location if ip else database.location)
    region = database.arg("region")
    host = Host(id=node_id(module, ref), name=ref, host_kind=HostKind.MANAGED_DATABASE, location=database.location,
                managed=True, resource=ref, region=region if isinstance(region, str) else database.region,
                az=zone if isinstance(zone, str) else None,
                instance_type=settings_block.get("tier") if settings_block else None,
                public=public, public_location=public_where)
    graph.add(host)
    _authorized(ctx, host, database, ip, public, public_where)
    settings: dict[str, Located[Any] | None] = {
        "availability_type": settings_block.get("availability_type") if settings_block else None,
        "master_instance_name": database.get("master_instance_name"),
        "backup_configuration.enabled": backup.get("enabled") if backup else None,
        "deletion_protection": database.get("deletion_protection"),
    }
    component = Component(id=component_id(module, ref), name=ref, role=Role.POSTGRES,
                          role_reason=f"database_version {version}", origin="terraform",
                          location=database.location, runtime=Runtime.MANAGED, settings=settings,
                          resource_type=database.type)
    graph.add(component)
    graph.runs_on(component.id, host.id, database.location)
    graph.add_listener(Listener(id=f"{component.id}#5432/tcp", component=component.id, port=5432,
                                location=database.location, reason="PostgreSQL port", host_bound=True))


def _authorized(ctx: BuildContext, host: Host, database: ResourceInstance, ip: Any, public: bool | None,
                public_where: Any) -> None:
    """The public IP's allow-list (``authorized_networks``) and the VPC's private path."""
    graph = ctx.graph
    host.described_layers.update({Layer.SECURITY_GROUP, Layer.PUBLIC_ADDRESS})
    graph.link(host.id, host.id, Allow(location=ip.location if ip else database.location,
                                       layer=Layer.SECURITY_GROUP, cidrs=[str(n) for n in PRIVATE.networks],
                                       port_from=5432, port_to=5432, protocol="tcp",
                                       description="private IP / Cloud SQL connectors"))
    for network in ip.nested("authorized_networks") if ip else []:
        value = network.get("value")
        if value is None:
            continue
        if isinstance(value.value, Unknown):
            host.unknown_rules.append(UnknownRule(port_from=5432, port_to=5432, protocol="tcp",
                                                  sources=value))
            continue
        graph.link(host.id, host.id, Allow(location=value.location, layer=Layer.SECURITY_GROUP,
                                           cidrs=[str(value.value)], port_from=5432, port_to=5432,
                                           protocol="tcp", description=f"authorized network {network.arg('name')}"))
    if public is None:
        return
    graph.link(host.id, host.id, Allow(location=public_where, layer=Layer.PUBLIC_ADDRESS,
                                       cidrs=["0.0.0.0/0", "::/0"] if public else [str(n) for n in PRIVATE.networks],
                                       port_from=0, port_to=65535, protocol="all",
                                       description="public IP (ipv4_enabled)" if public else "no public IP"))


def add_memorystore(ctx: BuildContext, module: TerraformModule, cache: ResourceInstance) -> None:
    """Memorystore for Redis: the redis component with its tier (BASIC: one node, no failover)."""
    ref = cache.full_label
    settings = {name: cache.get(name) for name in ("tier", "replica_count", "read_replicas_mode", "location_id")}
    component = Component(id=component_id(module, ref), name=ref, role=Role.REDIS,
                          role_reason="Memorystore", origin="terraform", location=cache.location,
                          runtime=Runtime.MANAGED, settings=settings, resource_type=cache.type)
    ctx.graph.add(component)


def add_buckets(ctx: BuildContext, module: TerraformModule) -> None:
    """Cloud Storage buckets, readable by anyone when an IAM grant names ``allUsers``."""
    grants = module.of_type("google_storage_bucket_iam_member", "google_storage_bucket_iam_binding",
                            "google_storage_bucket_access_control", "google_storage_default_object_access_control")
    for bucket in module.of_type("google_storage_bucket"):
        open_flags: list[Located[bool]] = []
        for grant in grants:
            if referenced(module, grant.arg("bucket"), "google_storage_bucket") is not bucket:
                continue
            for key in ("member", "members", "entity"):
                found = grant.get(key)
                members = found.value if found is not None and isinstance(found.value, list) else (
                    [found.value] if found is not None else [])
                if found is not None and any(str(m) in ("allUsers", "allAuthenticatedUsers") for m in members):
                    open_flags.append(Located(True, found.location))
        status = None
        for versioning in bucket.nested("versioning"):
            enabled = versioning.get("enabled")
            if enabled is not None:
                value = enabled.value
                status = Located(value if isinstance(value, Unknown) else ("Enabled" if value is True else
                                                                           "Disabled"), enabled.location)
        component = Component(id=node_id(module, bucket.label), name=bucket.label, role=Role.BUCKET,
                              role_reason=bucket.type, origin="terraform", location=bucket.location,
                              runtime=Runtime.MANAGED, public_flags=open_flags, versioning=status,
                              resource_type=bucket.type)
        ctx.graph.add(component)
