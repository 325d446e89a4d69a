"""Placement checks: where components run (zones, subnets), how many and how big.

They read hosts' facts as the Terraform builder records them (``az``, ``region``, ``public``,
``instance_type``) and the instance-type table shipped in ``rules/data/instance-types.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, NoParams, Params
from bitriver_lint.graph import Component, Host, Role
from bitriver_lint.model import Located, Location, Related, Unknown
from bitriver_lint.rules import builtin_rules_dir, load_data_file
from bitriver_lint.vocabulary import Runtime


def _host(ctx: CheckContext, component: Component) -> Host | None:
    """The machine a component runs on (the outermost host: an instance over a compose project)."""
    hosts = ctx.graph.hosts_of(component.id)
    return hosts[-1] if hosts else None


def _api_db_colocation(ctx: CheckContext, params: NoParams) -> None:
    graph = ctx.graph
    for db in graph.components(Role.POSTGRES):
        db_host = _host(ctx, db)
        db_az = db_host.az if db_host else None
        if not isinstance(db_az, str):
            continue
        zones_seen: set[str] = set()
        for api in graph.components(Role.API):
            if graph.environment_of(api.id) != graph.environment_of(db.id):
                continue  # another environment's API (envs/staging beside envs/prod)
            api_host = _host(ctx, api)
            api_az = api_host.az if api_host else None
            if isinstance(api_az, str) and api_az != db_az and api_az not in zones_seen:
                zones_seen.add(api_az)
                ctx.report(f"{api.name} runs in {api_az} but its database {db.name} is in {db_az}: every query "
                           "crosses availability zones", db.location,
                           [Related(api.location, f"{api.name} in {api_az}")], entity=db.name)


API_DB_COLOCATION = Check("placement.api_db_colocation", _api_db_colocation, NoParams, "API next to PostgreSQL")


class LocalStateParams(Params):
    roles: list[Role] = Field(default_factory=list)


def _local_state(ctx: CheckContext, params: LocalStateParams) -> None:
    graph = ctx.graph
    # Environments whose API runs on a host of its own (an appliance), not on managed services.
    appliances = {graph.environment_of(c.id) for c in graph.components(Role.API) if graph.hosts_of(c.id)}
    for component in graph.components(*params.roles):
        if component.runtime is Runtime.MANAGED and graph.environment_of(component.id) in appliances:
            ctx.report(f"{component.name} is a managed, remote {component.role.value} while the rest of the "
                       "appliance runs on one host", component.location, entity=component.name)


LOCAL_STATE = Check("placement.local_state", _local_state, LocalStateParams, "Single node keeps its state local")


class TrustedSubnetParams(Params):
    roles: list[Role] = Field(default_factory=list)
    except_ports: list[int] = Field(default_factory=list)


def _trusted_subnet(ctx: CheckContext, params: TrustedSubnetParams) -> None:
    graph = ctx.graph
    reported: set[Location] = set()
    for component in graph.components(*params.roles):
        host = _host(ctx, component)
        if host is None or host.public is not True:
            continue
        where = host.public_location or host.location
        if where in reported:
            continue  # copies of one resource, or hosts on one public subnet: one finding
        if component.role is Role.SRS and 1935 in params.except_ports:
            continue  # the ingest host is public for RTMP by design; BRL101/BRL102 guard its ports
        reported.add(where)
        ctx.report(f"{component.name} ({component.role.value}) gets a public address; origins belong on the "
                   "trusted subnet", where, entity=component.name)


TRUSTED_SUBNET = Check("placement.trusted_subnet", _trusted_subnet, TrustedSubnetParams, "Origins on a trusted subnet")


class RedundancyParams(Params):
    min_per_region: int = 2


def _copies(ctx: CheckContext, component: Component) -> int:
    """How many instances of a component run: compose replicas times the machines the config
    binds its directory to."""
    value = component.replicas.value if component.replicas else None
    # Terraform converts a size written as a string (min_size = "2") to the number it stands for.
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    replicas = value if isinstance(value, int) and not isinstance(value, bool) else 1
    machines = 0
    for binding in ctx.config.hosts.values():
        if binding.resource:
            continue  # a Terraform instance: counted as its own component or host
        prefixes = [p.strip("/") for p in binding.paths]
        path = component.location.path
        if any(p and (f"/{p}/" in f"/{path}" or path.startswith(p + "/")) for p in prefixes):
            machines += 1
    return replicas * max(machines, 1)


def _api_redundancy(ctx: CheckContext, params: RedundancyParams) -> None:
    by_region: dict[tuple[str, str], list[Component]] = {}
    for api in ctx.graph.components(Role.API):
        host = _host(ctx, api)
        region = host.region if host else None
        by_region.setdefault((ctx.graph.environment_of(api.id), str(region or "the deployment")), []).append(api)
    for (_, region), apis in by_region.items():
        # An API whose number of copies is not known (``min_size = var.min``, a ``count`` from a
        # variable with no value) may be all the region needs: a note, not a guess of one.
        unknown = [api.replicas for api in apis if api.replicas is not None and not api.replicas.known]
        count = sum(_copies(ctx, api) for api in apis if api.replicas is None or api.replicas.known)
        if unknown and count < params.min_per_region:
            for replicas in unknown:
                ctx.need(replicas, f"how many API instances run in {region}")
        elif count < params.min_per_region:
            first = apis[0]
            ctx.report(f"only {count} API instance(s) in {region}; the guide keeps at least "
                       f"{params.min_per_region} per region",
                       first.replicas.location if first.replicas else first.location, entity=f"API in {region}")


API_REDUNDANCY = Check("placement.api_redundancy", _api_redundancy, RedundancyParams, "Two API instances per region")


@cache
def _instance_table() -> dict[str, dict[str, Any]]:
    data = load_data_file(Path(builtin_rules_dir()) / "data" / "instance-types.yaml")
    return {**data.get("ec2", {}), **data.get("rds", {})}


# (vCPUs, GiB) the guide asks for, per role and topology ("*" = any topology).
_SIZES: dict[tuple[Role, str], tuple[int, int]] = {
    (Role.VIEWER, "*"): (2, 4),
    (Role.API, "cdn"): (4, 8),
    (Role.API, "*"): (4, 0),
    (Role.SRS, "*"): (4, 0),
    (Role.TRANSCODER, "*"): (4, 0),
}


def _sizing(ctx: CheckContext, params: NoParams) -> None:
    table = _instance_table()
    seen: set[Location] = set()
    for component in ctx.graph.components():
        host = _host(ctx, component)
        declared = host.instance_type if host else None
        if host is None or not isinstance(declared, Located) or declared.location in seen:
            continue  # count/for_each copies share one instance_type line: one finding
        instance_type = ctx.need(declared, "the host's size")
        spec = table.get(str(instance_type)) if instance_type else None
        if spec is None:
            continue
        if ctx.topology == "single-node":
            need = (8, 16)
        else:
            need = _SIZES.get((component.role, ctx.topology)) or _SIZES.get((component.role, "*")) or (0, 0)
        if spec["vcpu"] < need[0] or spec["memory"] < need[1]:
            seen.add(declared.location)
            memory = f"/{need[1]} GiB" if need[1] else ""
            purpose = ("the single-node appliance" if ctx.topology == "single-node"
                       else f"the {component.role.value} role")
            ctx.report(f"{host.name} ({instance_type}: {spec['vcpu']} vCPU, {spec['memory']} GiB) is smaller than "
                       f"the guide's {need[0]} vCPU{memory} for {purpose}", declared.location, entity=host.name)


SIZING = Check("placement.sizing", _sizing, NoParams, "Hosts sized as the guide says")


def _gpu_transcoding(ctx: CheckContext, params: NoParams) -> None:
    table = _instance_table()
    for component in ctx.graph.components(Role.TRANSCODER):
        host = _host(ctx, component)
        declared = host.instance_type if host else None
        if not isinstance(declared, Located) or isinstance(declared.value, Unknown):
            continue
        spec = table.get(str(declared.value))
        if spec is not None and not spec.get("gpu"):
            ctx.report(f"transcoder {component.name} runs on {declared.value}, which has no GPU", declared.location,
                       entity=component.name)


GPU_TRANSCODING = Check("placement.gpu_transcoding", _gpu_transcoding, NoParams, "GPU-backed transcoders")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (API_DB_COLOCATION, LOCAL_STATE, TRUSTED_SUBNET, API_REDUNDANCY, SIZING, GPU_TRANSCODING)
