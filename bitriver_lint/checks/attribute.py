"""Attribute checks: restart policies, persistent data, start-up order, HA settings."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, NoParams, Params
from bitriver_lint.graph import Component, Dependency, Role
from bitriver_lint.model import Located, Related
from bitriver_lint.vocabulary import Runtime

# Conditions under which the API really waits for a dependency to be up.
_WAITS = {"service_healthy", "after+requires", "after+wants", "after+bindsto"}


def _restart_policy(ctx: CheckContext, params: NoParams) -> None:
    for component in ctx.graph.components():
        if component.origin not in ("compose", "systemd") or component.role is Role.OTHER:
            continue
        policy = component.restart
        if policy is None:
            ctx.report(f"{component.name} has no restart policy, so it stays down after a crash", component.location,
                       entity=component.name)
        elif not policy.restarts_on_failure:
            # "(restart: no)" quotes a setting; a value with parentheses of its own reads as a clause.
            why = f": {policy.value}" if "(" in policy.value else f" ({policy.value})"
            ctx.report(f"{component.name} is not restarted on failure{why}", policy.location, entity=component.name)


RESTART_POLICY = Check("attribute.restart_policy", _restart_policy, NoParams, "Services restart on failure")


class VolumesParams(Params):
    paths: dict[Role, list[str]] = Field(default_factory=dict)


def _covers(target: str, path: str) -> bool:
    target = target.rstrip("/") or "/"
    return path == target or path.startswith(target if target == "/" else target + "/")


def _persistent_volumes(ctx: CheckContext, params: VolumesParams) -> None:
    for role, paths in params.paths.items():
        for component in ctx.graph.components(role):
            if component.runtime is not Runtime.CONTAINER and not component.mounts:
                continue
            for path in _data_paths(component, paths):
                covering = [m for m in component.mounts if _covers(m.target, path)]
                if not covering:
                    ctx.report(f"{component.name} keeps {path} in the container's writable layer: "
                               "it is lost when the container is recreated", component.location, entity=component.name)
                    continue
                # The most specific mount decides what backs the path.
                mount = max(covering, key=lambda m: len(m.target))
                if mount.unresolved is not None:
                    ctx.note_unknown(mount.unresolved, mount.location, f"what keeps {path}")
                    continue
                if not mount.persistent:
                    how = mount.note or f"a non-persistent {mount.kind} mount"
                    ctx.report(f"{component.name} keeps {path} on {how}", mount.location, entity=component.name)


def _data_paths(component: Component, defaults: list[str]) -> list[str]:
    if component.role is Role.POSTGRES:
        pgdata = component.env.get("PGDATA")
        if pgdata is not None and isinstance(pgdata.value, str) and pgdata.value.startswith("/"):
            return [pgdata.value]
    return defaults


PERSISTENT_VOLUMES = Check("attribute.persistent_volumes", _persistent_volumes, VolumesParams, "State on volumes")


class DependencyParams(Params):
    requires: list[Role] = Field(default_factory=list)
    when_present: list[Role] = Field(default_factory=list)


def _dependency_order(ctx: CheckContext, params: DependencyParams) -> None:
    graph = ctx.graph
    by_home: dict[str, list[Component]] = {}  # host id -> the dependencies that run on it
    for component in graph.components(*params.requires, *params.when_present):
        for host in graph.hosts_of(component.id)[:1]:
            by_home.setdefault(host.id, []).append(component)
    for api in graph.components(Role.API):
        hosts = graph.hosts_of(api.id)
        if not hosts:
            continue
        neighbours = by_home.get(hosts[0].id, [])
        deps: dict[str, Dependency] = {}
        for _, target, edge in graph.out_edges(api.id, "depends_on"):
            assert isinstance(edge, Dependency)
            deps[target] = edge
        for role in [*params.requires, *params.when_present]:
            for peer in (c for c in neighbours if c.role is role):
                edge = deps.get(peer.id)
                if edge is None:
                    ctx.report(f"{api.name} does not wait for {peer.name} ({role.value}) to be healthy before starting",
                               api.location, [Related(peer.location, f"{peer.name} is defined here")], entity=api.name)
                elif edge.condition not in _WAITS:
                    fix = ("add Requires= or Wants= beside After=" if api.origin == "systemd"
                           else "use condition: service_healthy")
                    ctx.report(
                        f"{api.name} starts as soon as {peer.name} has started, not once it is healthy "
                        f"(condition {edge.condition}); {fix}",
                        edge.location,
                        [Related(peer.location, f"{peer.name} is defined here")], entity=api.name,
                    )


DEPENDENCY_ORDER = Check("attribute.dependency_order", _dependency_order, DependencyParams, "API waits for its stores")

def _setting(component: Component, name: str) -> Located[Any] | None:
    return component.settings.get(name)


def _database_ha(ctx: CheckContext, params: NoParams) -> None:
    managed = [c for c in ctx.graph.components(Role.POSTGRES) if c.runtime is Runtime.MANAGED]
    replicas = [c for c in managed if _setting(c, "replicate_source_db") or _setting(c, "master_instance_name")]
    for db in managed:
        cluster = db.cluster_instances
        if cluster is not None:
            size = ctx.need(cluster, "how many instances the Aurora cluster runs")
            if isinstance(size, int) and size < 2:
                ctx.report(f"{db.name} has {size} cluster instance(s): no reader to fail over to or to "
                           "serve reads near the API", cluster.location, entity=db.name)
            continue
        if db in replicas or db.resource_type not in ("aws_db_instance", "google_sql_database_instance"):
            continue
        if db.resource_type == "google_sql_database_instance":
            # Cloud SQL: REGIONAL keeps a standby in a second zone; ZONAL (the default) does not.
            kind = _setting(db, "availability_type")
            written = ctx.need(kind, "whether Cloud SQL is regional") if kind else "ZONAL"
            if kind is not None and written is None:
                continue
            if written != "REGIONAL":
                ctx.report(f"{db.name} is a zonal Cloud SQL instance (availability_type = {written}): a zone "
                           "outage takes the control plane down", kind.location if kind else db.location,
                           entity=db.name)
        else:
            multi_az = _setting(db, "multi_az")
            value = ctx.need(multi_az, "whether PostgreSQL is Multi-AZ") if multi_az else False
            if multi_az is not None and value is None:
                continue
            if value is not True:
                ctx.report(f"{db.name} is a single-AZ database: a zone outage takes the control plane down",
                           multi_az.location if multi_az else db.location, entity=db.name)
        if not any(ctx.graph.environment_of(r.id) == ctx.graph.environment_of(db.id) for r in replicas):
            ctx.report(f"{db.name} has no read replica near the API origins", db.location, entity=db.name)


DATABASE_HA = Check("attribute.database_ha", _database_ha, NoParams, "PostgreSQL is highly available")


def _backups(ctx: CheckContext, params: NoParams) -> None:
    for db in ctx.graph.components(Role.POSTGRES):
        if db.runtime is not Runtime.MANAGED or _setting(db, "replicate_source_db") or _setting(
                db, "master_instance_name"):
            continue
        if db.resource_type == "google_sql_database_instance":
            # Cloud SQL keeps automated backups only when backup_configuration enables them.
            enabled = _setting(db, "backup_configuration.enabled")
            on = ctx.need(enabled, "whether Cloud SQL keeps backups") if enabled else False
            if on is False:
                ctx.report(f"{db.name} keeps no automated backups (backup_configuration.enabled is not true)",
                           enabled.location if enabled else db.location, entity=db.name)
            continue
        retention = _setting(db, "backup_retention_period")
        days = ctx.need(retention, "how long backups are kept") if retention else None
        if retention is not None and days == 0:
            ctx.report(f"{db.name} keeps no automated backups (backup_retention_period = 0)", retention.location,
                       entity=db.name)
        final = _setting(db, "skip_final_snapshot")
        if final is not None and ctx.need(final, "whether a final snapshot is kept") is True:
            ctx.report(f"{db.name} is deleted without a final snapshot (skip_final_snapshot = true)", final.location,
                       entity=db.name)


    segment_buckets = {o.bucket_id for cdn in ctx.graph.components(Role.CDN) for o in cdn.origins if o.bucket_id}
    for bucket in ctx.graph.components(Role.BUCKET):
        if bucket.id not in segment_buckets:
            continue
        status = bucket.versioning
        value = ctx.need(status, "whether the segment bucket is versioned") if status else None
        if status is not None and value is None:
            continue
        if value != "Enabled":
            ctx.report(f"segment bucket {bucket.name} is not versioned: a bad sync or delete is permanent",
                       status.location if status else bucket.location, entity=bucket.name)


BACKUPS = Check("attribute.backups", _backups, NoParams, "Backups are kept")


def _redis_replicated(ctx: CheckContext, params: NoParams) -> None:
    for redis in ctx.graph.components(Role.REDIS):
        if redis.runtime is not Runtime.MANAGED:
            continue
        if redis.resource_type == "google_redis_instance":
            # Memorystore: STANDARD_HA keeps a replica in another zone and fails over; BASIC (the
            # default) is one node.
            tier = _setting(redis, "tier")
            written = ctx.need(tier, "which Memorystore tier runs") if tier else "BASIC"
            if written is not None and written != "STANDARD_HA":
                ctx.report(f"{redis.name} is a {written}-tier Memorystore instance: one Redis node with no replica "
                           "or failover", tier.location if tier else redis.location, entity=redis.name)
            continue
        if redis.resource_type == "aws_elasticache_cluster":
            nodes = _setting(redis, "num_cache_nodes")
            count = ctx.need(nodes, "how many Redis nodes run") if nodes else 1
            if count == 1:
                ctx.report(f"{redis.name} is a single Redis node with no replica or failover",
                           nodes.location if nodes else redis.location, entity=redis.name)
            continue
        failover = _setting(redis, "automatic_failover_enabled")
        enabled = ctx.need(failover, "whether Redis fails over") if failover else False
        if enabled is False:
            ctx.report(f"{redis.name} has no automatic failover", failover.location if failover else redis.location,
                       entity=redis.name)


REDIS_REPLICATED = Check("attribute.redis_replicated", _redis_replicated, NoParams, "Redis is replicated")
_BITRIVER_ROLES = (Role.API, Role.VIEWER, Role.SRS, Role.OME, Role.TRANSCODER)


def _environment_file(ctx: CheckContext, params: NoParams) -> None:
    for component in ctx.graph.components(*_BITRIVER_ROLES):
        if component.origin != "systemd":
            continue
        unit = component.unit or component.name
        inline = component.inline_env
        if inline:
            ctx.report(f"{unit} keeps its settings inline in Environment=; move them to an EnvironmentFile=",
                       inline[0], [Related(loc, "another inline Environment=") for loc in inline[1:3]],
                       entity=component.name)
        for ref in component.env_file_refs:
            if not ref.optional and not ref.found:
                ctx.report(f"{unit} requires EnvironmentFile={ref.path}, which is not in the tree "
                           "(prefix it with '-' if it is optional)", ref.location, entity=component.name)


ENVIRONMENT_FILE = Check("attribute.environment_file", _environment_file, NoParams,
                         "systemd units use EnvironmentFile=")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (
    RESTART_POLICY,
    PERSISTENT_VOLUMES,
    DEPENDENCY_ORDER,
    DATABASE_HA,
    BACKUPS,
    REDIS_REPLICATED,
    ENVIRONMENT_FILE,
)
