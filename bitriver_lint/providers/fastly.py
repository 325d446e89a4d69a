"""Fastly: ``fastly_service_vcl`` and ``fastly_service_compute`` services as CDNs.

A service serves HTTPS on 443; each ``backend`` block is an origin (``address``, ``port``,
default 80; one at a loopback address is a placeholder, no origin) that Fastly pulls over TLS
only with ``use_ssl = true`` (default false), verifying the certificate unless
``ssl_check_cert = false``. A backend's ``healthcheck`` names a ``healthcheck`` block
(``path``, ``method``, default HEAD). The backends become a load-balancer document, so the
join resolves their addresses and BRL302 judges their probes.

Which paths go to which backend: a backend with a ``request_condition`` is chosen when the
named ``condition``'s statement matches; a statement that tests a path prefix
(``req.url ~ "^/api/"``, ``req.url.path == "/api"``, ``std.prefixof(req.url.path, "/hls/")``) is
that path, anything else cannot be read statically and the backend gets no route (its pool is
still judged). Backends without a condition take the rest. Segments are signed when VCL
(``snippet``, ``vcl``) checks a token (``digest.hmac_sha256`` or ``digest.secure_is_equal``), or
when Fastly presents a client certificate to the origin (``ssl_client_cert``: mutual TLS).
A Compute service's routing is in its compiled package: only its backends are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id
from bitriver_lint.graph import CdnBehaviour, CdnOrigin, Component, Listener, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.providers.origins import bind_pulled_port, note_unfollowed, origin_target, port_of
from bitriver_lint.vocabulary import Runtime

SERVICES = ("fastly_service_vcl", "fastly_service_compute")
_TOKEN_CHECK = ("digest.hmac_sha256", "digest.secure_is_equal", "digest.hmac_sha1")
_PATH_TESTS = (
    re.compile(r'req\.url(?:\.path)?\s*~\s*"\^(/[^"]*)"'),
    re.compile(r'req\.url(?:\.path)?\s*==\s*"(/[^"]*)"'),
    re.compile(r'std\.prefixof\(\s*req\.url(?:\.path)?\s*,\s*"(/[^"]*)"\s*\)'),
)
_SETS_BACKEND = re.compile(r"\bset\s+req\.backend\s*=")
# Fastly keeps what the origin marks cacheable; Next.js serves its hashed bundle as immutable.
DEFAULT_CACHED = ["/_next/static/"]
_UNSIGNED = ("no token check in the service's VCL (digest.hmac_sha256 / digest.secure_is_equal) and no client "
             "certificate to the origin (ssl_client_cert)")


def condition_path(statement: Any) -> str | None:
    """The path prefix a request condition tests, when it is one written plainly."""
    if not isinstance(statement, str):
        return None
    text = statement.strip()
    for pattern in _PATH_TESTS:
        found = pattern.fullmatch(text)
        if found:
            literal = re.match(r"[A-Za-z0-9/_\-.]*", found.group(1))
            return literal.group(0).rstrip(".") if literal else None
    return None


def _statement_at(condition: Body) -> Location:
    found = condition.get("statement")
    return found.location if found is not None else condition.location


def _text(value: Any) -> str:
    return value.raw if isinstance(value, Unknown) else str(value)


def _vcl_texts(service: ResourceInstance) -> list[str]:
    return [str(b.arg("content")) for b in service.nested("snippet", "dynamicsnippet", "vcl")
            if isinstance(b.arg("content"), str)]


def _signed(service: ResourceInstance) -> bool:
    return any(check in text for text in _vcl_texts(service) for check in _TOKEN_CHECK)


def _placeholder(backend: Body) -> bool:
    """A backend at a loopback address: a placeholder (a Compute service whose package answers
    every request itself still declares one, often "synthetic" at 127.0.0.1). Fastly's edge
    pulls nothing from the tree through it, so it is no origin and no pool."""
    address = backend.arg("address")
    if not isinstance(address, str):
        return False
    host = address.strip().lower()
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


def _flag(body: Body, name: str, default: bool) -> Located[Any]:
    """A boolean argument as written, or its provider default at the block."""
    found = body.get(name)
    if found is None:
        return Located("true" if default else "false", body.location)
    value = found.value
    if isinstance(value, bool):
        return Located("true" if value else "false", found.location)
    return found  # unknown: the check notes it


class Fastly:
    name = "fastly"

    def handles(self, resource_type: str) -> bool:
        return resource_type.startswith("fastly_")

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        del resources
        for service in module.of_type(*SERVICES):
            _add_service(ctx, module, service)

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        del resources
        return [LoadBalancer(_document(ctx, module, s), runner=node_id(module, s.full_label))
                for s in module.of_type(*SERVICES)]


def _conditions(service: ResourceInstance) -> dict[str, Body]:
    return {str(c.arg("name")): c for c in service.nested("condition") if isinstance(c.arg("name"), str)}


def _add_service(ctx: BuildContext, module: TerraformModule, service: ResourceInstance) -> None:
    conditions = _conditions(service)
    token = _signed(service)
    origins: list[CdnOrigin] = []
    behaviours: list[CdnBehaviour] = []
    settings: dict[str, Located[Any] | None] = {}
    unknown: list[Located[Any]] = []
    for backend in service.nested("backend"):
        if _placeholder(backend):
            continue
        name = _text(backend.arg("name", "backend"))  # a dynamic block's may be unknown: its text, not a repr
        use_ssl = _flag(backend, "use_ssl", False)
        check = _flag(backend, "ssl_check_cert", True)
        origins.append(CdnOrigin(
            id=name, location=backend.location, custom=True, protocol_policy=use_ssl, setting="use_ssl",
            https=use_ssl.value == "true" if isinstance(use_ssl.value, str) else None,
            unverified=Located(f"{use_ssl.value}, ssl_check_cert = false", check.location)
            if check.value == "false" else None))
        mutual = backend.get("ssl_client_cert") is not None
        condition = conditions.get(str(backend.arg("request_condition")))
        if condition is not None:
            statement = condition.arg("statement")
            path = condition_path(statement)
            if path is not None:
                behaviours.append(CdnBehaviour(path=path, origin=name, signed=token or mutual,
                                               location=_statement_at(condition), missing=_UNSIGNED))
            elif not (token or mutual):
                unknown.append(Located(Unknown((f"condition {condition.arg('name')}",), _text(statement),
                                               why=f"picks backend {name} by something other than a path prefix"),
                                       _statement_at(condition)))
        shield = backend.get("shield")
        if shield is not None:
            settings[f"shield {name}"] = shield  # which POP shields the origin, shown in the graph
    if not token:
        for snippet in service.nested("snippet", "dynamicsnippet", "vcl"):
            content = snippet.get("content")
            if content is not None and isinstance(content.value, str) and _SETS_BACKEND.search(content.value):
                unknown.append(Located(Unknown((f"VCL {snippet.arg('name')}",), "set req.backend",
                                               why="chooses the backend in code"), content.location))
    component = Component(id=node_id(module, service.full_label), name=service.full_label, role=Role.CDN,
                          role_reason=service.type, origin="fastly", location=service.location,
                          origins=origins, behaviours=behaviours, ports_known=True, runtime=Runtime.MANAGED,
                          resource_type=service.type, settings=settings, cached_paths=list(DEFAULT_CACHED),
                          unknown_routes=unknown)
    ctx.graph.add(component)
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443, tls=True,
                                    location=service.location, reason="Fastly serves HTTPS"))


def _document(ctx: BuildContext, module: TerraformModule, service: ResourceInstance) -> ProxyConfig:
    where = service.location
    doc = ProxyConfig(where.path, "fastly", where, files=[where.path], name=service.full_label, scope=module.root)
    frontend = Frontend("edge", where, [Bind("", 443, True, where)])
    checks = {str(h.arg("name")): h for h in service.nested("healthcheck")}
    conditions = _conditions(service)
    for block in service.nested("backend"):
        if _placeholder(block):
            continue
        name = _text(block.arg("name", "backend"))
        backend = Backend(name, block.location)
        check = checks.get(str(block.arg("healthcheck")))
        if check is not None:
            path = check.get("path")
            method = check.arg("method")
            backend.health = HealthSpec(path.location if path else check.location,
                                        path.value if path is not None and isinstance(path.value, str) else "/",
                                        method if isinstance(method, str) else "HEAD")
        address = block.get("address")
        target = origin_target(ctx, module, address.value if address is not None else None)
        port = port_of(block.arg("port", 80))
        scheme = "https" if block.arg("use_ssl") is True else "http"
        if target.host is not None and port is not None:
            backend.servers.append(Server(target.host, port, block.key_location("address"), scheme,
                                          component=target.node))
            if address is not None:
                bind_pulled_port(ctx, service.full_label, target, port, address.location)
        elif target.unfollowed is not None and address is not None:
            note_unfollowed(ctx, service.full_label, name, target.unfollowed, address.location)
        doc.backends[name] = backend
        condition_name = block.arg("request_condition")
        if condition_name is None or condition_name == "":
            frontend.routes.append(RouteRule(None, name, block.location))
            continue
        condition = conditions.get(str(condition_name))
        prefix = condition_path(condition.arg("statement")) if condition is not None else None
        if prefix is not None and condition is not None:
            frontend.routes.append(RouteRule(prefix, name, _statement_at(condition)))
        # else: which requests the condition picks cannot be read statically; no route.
    doc.frontends.append(frontend)
    return doc


FASTLY = Fastly()
