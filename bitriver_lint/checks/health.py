"""Health checks: every service probed, and probed where the guide says."""

from __future__ import annotations

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, Params
from bitriver_lint.graph import Role
from bitriver_lint.model import Unknown

_CHECKED_ROLES = (
    Role.API,
    Role.VIEWER,
    Role.POSTGRES,
    Role.REDIS,
    Role.SRS,
    Role.OME,
    Role.TRANSCODER,
    Role.PROXY,
)


class ServiceChecksParams(Params):
    probes: dict[Role, list[str]] = Field(default_factory=dict)


def _service_checks(ctx: CheckContext, params: ServiceChecksParams) -> None:
    for component in ctx.graph.components(*_CHECKED_ROLES):
        if not component.healthcheck_supported:
            continue
        check = component.healthcheck
        expected = params.probes.get(component.role)
        wanted = f" (expected {' or '.join(expected)})" if expected else ""
        if check is None:
            ctx.report(f"{component.name} has no health check{wanted}", component.location, entity=component.name)
            continue
        if check.disabled:
            ctx.report(f"{component.name} disables its health check{wanted}", check.location, entity=component.name)
            continue
        if not expected:
            continue
        if check.path is None:
            ctx.report(
                f"{component.name}'s health check does not request an HTTP path{wanted}: {check.command[:80]!r}",
                check.location, entity=component.name,
            )
        elif check.path.rstrip("/") not in {p.rstrip("/") for p in expected}:
            ctx.report(f"{component.name}'s health check probes {check.path}{wanted}", check.location,
                       entity=component.name)
        elif component.role is Role.VIEWER and check.method != "GET":
            ctx.report(f"{component.name}'s health check uses {check.method}; the guide probes GET /", check.location,
                       entity=component.name)


SERVICE_CHECKS = Check("health.service_checks", _service_checks, ServiceChecksParams, "Services carry health checks")
class Probe(Params):
    path: str
    method: str | None = None


class LbChecksParams(Params):
    probes: dict[Role, Probe] = Field(default_factory=dict)


def _lb_checks(ctx: CheckContext, params: LbChecksParams) -> None:
    graph = ctx.graph
    for lb in graph.components(Role.LB, Role.PROXY, Role.CDN):
        for pool in graph.pools(lb):
            behind = graph.components_behind(graph.members(pool))
            # In the pool's own order, not a set's: a pool mixing roles is judged the same way on
            # every run (a set of enum members iterates in a per-process hash order).
            roles = list(dict.fromkeys(c.role for c in behind))
            expected = next((params.probes[r] for r in roles if r in params.probes), None)
            role = next((r for r in roles if r in params.probes), None)
            if expected is None or role is None:
                continue
            want = f"{expected.method + ' ' if expected.method else ''}{expected.path}"
            external = next((c for c in behind if c.external and c.role is role), None)
            if external is not None:  # the role of a pool the tree does not describe is a guess: say whose
                want += f"; {external.name} is outside this tree, {external.role_reason}"
            health = pool.health
            if health is None and lb.resource_type == "aws_cloudfront_distribution":
                continue  # CloudFront probes no origin (an origin group fails over on errors only)
            if health is None and lb.tunnel:
                # cloudflared probes nothing; a Cloudflare load balancer's monitor may, and is
                # set up where these files do not say.
                ctx.note_unknown(Unknown(("health check",), "health check",
                                         why=f"of {lb.name}'s {role.value} pool is not in these files (a tunnel "
                                             "probes nothing; a Cloudflare load balancer monitor in front of it "
                                             "would)"),
                                 pool.location, f"whether {pool.name} is probed on {want}")
            elif health is None:
                ctx.report(f"{lb.name}'s {role.value} pool {pool.name} has no health check (expected {want})",
                           pool.location, entity=f"{lb.name}/{pool.name}")
            elif health.path is None:
                ctx.report(f"{lb.name}'s {role.value} pool {pool.name} only checks that the port accepts "
                           f"connections (expected {want})", health.location, entity=f"{lb.name}/{pool.name}")
            elif health.path.rstrip("/") != expected.path.rstrip("/"):
                ctx.report(f"{lb.name} health-checks its {role.value} pool {pool.name} on {health.path} "
                           f"(expected {want})", health.location, entity=f"{lb.name}/{pool.name}")
            elif expected.method and health.method.upper() != expected.method.upper():
                ctx.report(f"{lb.name} health-checks its {role.value} pool {pool.name} with {health.method} "
                           f"(expected {want})", health.location, entity=f"{lb.name}/{pool.name}")


LB_CHECKS = Check("health.lb_checks", _lb_checks, LbChecksParams, "LB pools are health-checked")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (SERVICE_CHECKS, LB_CHECKS)
