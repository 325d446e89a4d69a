"""Attribute checks: restart policies, persistent data, start-up order, HA settings."""

from __future__ import annotations

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, NoParams, Params, pending
from bitriver_lint.graph import Component, Dependency, Role
from bitriver_lint.model import Location, Related

# Conditions under which the API really waits for a dependency to be up.
_WAITS = {"service_healthy", "after+requires", "after+wants", "after+bindsto"}


def _restart_policy(ctx: CheckContext, params: NoParams) -> None:
    for component in ctx.graph.components():
        if component.origin not in ("compose", "systemd") or component.role is Role.OTHER:
            continue
        policy = component.restart
        if policy is None:
            ctx.report(f"{component.name} has no restart policy, so it stays down after a crash", component.location)
        elif not policy.restarts_on_failure:
            ctx.report(f"{component.name} is not restarted on failure ({policy.value})", policy.location)


RESTART_POLICY = Check("attribute.restart_policy", _restart_policy, NoParams, "Services restart on failure")


class VolumesParams(Params):
    paths: dict[Role, list[str]] = Field(default_factory=dict)


def _covers(target: str, path: str) -> bool:
    target = target.rstrip("/") or "/"
    return path == target or path.startswith(target if target == "/" else target + "/")


def _persistent_volumes(ctx: CheckContext, params: VolumesParams) -> None:
    for role, paths in params.paths.items():
        for component in ctx.graph.components(role):
            if not component.attrs.get("containerized") and not component.mounts:
                continue
            for path in _data_paths(component, paths):
                covering = [m for m in component.mounts if _covers(m.target, path)]
                if not covering:
                    ctx.report(f"{component.name} keeps {path} in the container's writable layer: "
                               "it is lost when the container is recreated", component.location)
                    continue
                # The most specific mount decides what backs the path.
                mount = max(covering, key=lambda m: len(m.target))
                if not mount.persistent:
                    how = mount.note or f"a non-persistent {mount.kind} mount"
                    ctx.report(f"{component.name} keeps {path} on {how}", mount.location)


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
    for api in graph.components(Role.API):
        hosts = graph.hosts_of(api.id)
        if not hosts:
            continue
        home = hosts[0].id
        neighbours = [
            c for c in graph.components(*params.requires, *params.when_present)
            if graph.hosts_of(c.id)[:1] and graph.hosts_of(c.id)[0].id == home
        ]
        deps: dict[str, Dependency] = {}
        for _, target, edge in graph.out_edges(api.id, "depends_on"):
            assert isinstance(edge, Dependency)
            deps[target] = edge
        for role in [*params.requires, *params.when_present]:
            for peer in (c for c in neighbours if c.role is role):
                edge = deps.get(peer.id)
                if edge is None:
                    ctx.report(f"{api.name} does not wait for {peer.name} ({role.value}) to be healthy before starting",
                               api.location, [Related(peer.location, f"{peer.name} is defined here")])
                elif edge.condition not in _WAITS:
                    fix = ("add Requires= or Wants= beside After=" if api.origin == "systemd"
                           else "use condition: service_healthy")
                    ctx.report(
                        f"{api.name} starts as soon as {peer.name} has started, not once it is healthy "
                        f"(condition {edge.condition}); {fix}",
                        edge.location,
                        [Related(peer.location, f"{peer.name} is defined here")],
                    )


DEPENDENCY_ORDER = Check("attribute.dependency_order", _dependency_order, DependencyParams, "API waits for its stores")

DATABASE_HA = pending("attribute.database_ha", "PostgreSQL is highly available")
BACKUPS = pending("attribute.backups", "Backups are kept")
REDIS_REPLICATED = pending("attribute.redis_replicated", "Redis is replicated")
_BITRIVER_ROLES = (Role.API, Role.VIEWER, Role.SRS, Role.OME, Role.TRANSCODER)


def _environment_file(ctx: CheckContext, params: NoParams) -> None:
    for component in ctx.graph.components(*_BITRIVER_ROLES):
        if component.origin != "systemd":
            continue
        unit = component.attrs.get("unit", component.name)
        inline: list[Location] = component.attrs.get("inline_env", [])
        if inline:
            ctx.report(f"{unit} keeps its settings inline in Environment=; move them to an EnvironmentFile=",
                       inline[0], [Related(loc, "another inline Environment=") for loc in inline[1:3]])
        for ref in component.attrs.get("env_file_refs", []):
            if not ref["optional"] and not ref["found"]:
                ctx.report(f"{unit} requires EnvironmentFile={ref['path']}, which is not in the tree "
                           "(prefix it with '-' if it is optional)", ref["location"])


ENVIRONMENT_FILE = Check("attribute.environment_file", _environment_file, NoParams,
                         "systemd units use EnvironmentFile=")
