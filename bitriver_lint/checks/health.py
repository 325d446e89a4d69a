"""Health checks: every service probed, and probed where the guide says."""

from __future__ import annotations

from pydantic import Field

from bitriver_lint.checks.base import Check, CheckContext, Params, pending
from bitriver_lint.graph import Role

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
        if not component.attrs.get("healthcheck_supported"):
            continue
        check = component.healthcheck
        expected = params.probes.get(component.role)
        wanted = f" (expected {' or '.join(expected)})" if expected else ""
        if check is None:
            ctx.report(f"{component.name} has no health check{wanted}", component.location)
            continue
        if check.disabled:
            ctx.report(f"{component.name} disables its health check{wanted}", check.location)
            continue
        if not expected:
            continue
        if check.path is None:
            ctx.report(
                f"{component.name}'s health check does not request an HTTP path{wanted}: {check.command[:80]!r}",
                check.location,
            )
        elif check.path.rstrip("/") not in {p.rstrip("/") for p in expected}:
            ctx.report(f"{component.name}'s health check probes {check.path}{wanted}", check.location)
        elif component.role is Role.VIEWER and check.method != "GET":
            ctx.report(f"{component.name}'s health check uses {check.method}; the guide probes GET /", check.location)


SERVICE_CHECKS = Check("health.service_checks", _service_checks, ServiceChecksParams, "Services carry health checks")
LB_CHECKS = pending("health.lb_checks", "LB pools are health-checked")
