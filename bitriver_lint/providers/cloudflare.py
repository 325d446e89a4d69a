"""Cloudflare: what ``cloudflare_*`` resources mean for the graph (provider v4 and v5 names).

A zone whose DNS records are proxied is a CDN: one component per zone, serving HTTPS on 443,
whose origins are what the proxied records point at (joined like a load balancer's backend
servers: an Elastic IP's instance, an ALB by its DNS name, an address). How Cloudflare pulls
from them is the zone's SSL mode (v4 ``cloudflare_zone_settings_override`` ``settings.ssl``,
v5 ``cloudflare_zone_setting`` with ``setting_id = "ssl"``): ``strict`` is verified HTTPS,
``full`` unverified HTTPS, ``flexible`` and ``off`` plain HTTP. Authenticated origin pulls
(mTLS to the origin) or a token-authentication rule (``is_timed_hmac_valid_v0``) sign segment
requests. Load balancers (default and fallback pools with their monitors, rules that test a
path prefix) route through the same document; a rule that picks pools otherwise is an explicit
unknown. A tunnel (``cloudflare_tunnel`` / ``cloudflare_zero_trust_tunnel_cloudflared``) is a
CDN of its own whose ingress rules are its routes, ``localhost`` being the instances whose user
data starts its connector; what it reaches needs no inbound port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id
from bitriver_lint.graph import CdnBehaviour, CdnOrigin, Component, Listener, Role
from bitriver_lint.loaders.cloudflared import add_ingress
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.providers.origins import (
    balancer_node,
    bind_pulled_port,
    note_unfollowed,
    origin_host,
    origin_target,
    port_of,
)
from bitriver_lint.vocabulary import Runtime

RECORDS = ("cloudflare_record", "cloudflare_dns_record")
ZONE_SETTINGS_V4 = "cloudflare_zone_settings_override"
ZONE_SETTING_V5 = "cloudflare_zone_setting"
ORIGIN_PULLS = ("cloudflare_authenticated_origin_pulls", "cloudflare_authenticated_origin_pulls_settings")
TUNNELS = ("cloudflare_tunnel", "cloudflare_zero_trust_tunnel_cloudflared")
TUNNEL_CONFIGS = ("cloudflare_tunnel_config", "cloudflare_zero_trust_tunnel_cloudflared_config")
LOAD_BALANCER = "cloudflare_load_balancer"
POOL = "cloudflare_load_balancer_pool"
MONITOR = "cloudflare_load_balancer_monitor"
RULESETS = ("cloudflare_ruleset", "cloudflare_filter")

# "origin_pull" is Strict (SSL-Only Origin Pull): verified HTTPS whatever the visitor used.
_HTTPS_MODES = {"strict": True, "origin_pull": True, "full": True, "flexible": False, "off": False}
# A rule expression that validates a signed URL token (Cloudflare's token authentication).
_TOKEN_AUTH = "is_timed_hmac_valid_v0"
# A path literal in a rule expression: starts_with(http.request.uri.path, "/hls/"), ... contains "/hls/".
_RULE_PATH = re.compile(r'http\.request\.uri\.path\b[^"]{0,40}"(/[^"]*)"')
# Cloudflare caches by file extension by default (js, css, fonts, images): the viewer's hashed
# bundle under /_next/static/ is cached at the edge without a rule.
DEFAULT_CACHED = ["/_next/static/"]
_SEGMENT_HOSTS = ("hls", "dash", "segments", "segment")
_UNSIGNED = ("no authenticated origin pulls (mTLS) on the zone and no token-authentication rule "
             f"({_TOKEN_AUTH})")


def _text(value: Any) -> str:
    return value.raw if isinstance(value, Unknown) else str(value)


def zone_key(resource: Body) -> str:
    """Which zone a resource belongs to, as written (``cloudflare_zone.live``, a variable)."""
    zone = resource.arg("zone_id")
    text = _text(zone) if zone is not None else ""
    return text.removesuffix(".id")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _body_strings(body: Body) -> Iterator[tuple[str, Location]]:
    """Every string value in a resource, nested blocks included, with where it is written."""
    for located in body.attributes.values():
        for text in _strings(located.value):
            yield text, located.location
    for block in body.blocks:
        yield from _body_strings(block)


class Zone:
    """What the files say of one zone: its SSL mode, origin pulls and signing rules."""

    def __init__(self, key: str, location: Location) -> None:
        self.key = key
        self.keys = {key}  # every name the files give it
        self.location = location
        self.served = False  # a record proxied to an origin, or a load balancer: Cloudflare fronts something
        self.ssl: Located[Any] | None = None
        self.signed = False
        self.segment_paths: list[tuple[str, Location]] = []

    @property
    def https(self) -> bool | None:
        if self.ssl is None or not isinstance(self.ssl.value, str):
            return None
        return _HTTPS_MODES.get(self.ssl.value.lower())


def _zones(module: TerraformModule) -> dict[str, Zone]:
    """Every zone the module's proxied records, load balancers and settings name."""
    zones: dict[str, Zone] = {}

    def zone(resource: ResourceInstance) -> Zone:
        key = zone_key(resource)
        return zones.setdefault(key, Zone(key, resource.location))

    for record in module.of_type(*RECORDS):
        if record.arg("proxied") is True:
            zone(record).served |= not _through_tunnel(module, record)
    for balancer in module.of_type(LOAD_BALANCER):
        zone(balancer).served = True
    for override in module.of_type(ZONE_SETTINGS_V4):
        for settings in override.nested("settings"):
            ssl = settings.get("ssl")
            if ssl is not None:
                zone(override).ssl = ssl
            if settings.arg("tls_client_auth") == "on":
                zone(override).signed = True
    for setting in module.of_type(ZONE_SETTING_V5):
        if setting.arg("setting_id") == "ssl":
            value = setting.get("value")
            if value is not None:
                zone(setting).ssl = value
        elif setting.arg("setting_id") == "tls_client_auth" and setting.arg("value") == "on":
            zone(setting).signed = True
    for pulls in module.of_type(*ORIGIN_PULLS):
        enabled = pulls.arg("enabled")
        per_host = [c for c in pulls.nested("config") if c.arg("enabled") is not False]
        if enabled is True or per_host:
            zone(pulls).signed = True
    for ruleset in module.of_type(*RULESETS):
        key = zone_key(ruleset)
        for text, where in _body_strings(ruleset):
            target = zones.get(key) if key else None
            targets = [target] if target is not None else list(zones.values())
            for found in targets:
                if _TOKEN_AUTH in text:
                    found.signed = True
                found.segment_paths.extend((m.group(1), where) for m in _RULE_PATH.finditer(text))
    # A zone's settings written against another name for it (a variable in one place, the
    # zone resource in another): one zone in the module is that zone.
    if len(zones) > 1:
        named = [z for z in zones.values() if z.key.startswith("cloudflare_zone.")]
        others = [z for z in zones.values() if not z.key.startswith("cloudflare_zone.")]
        if len(named) == 1 and others:
            for other in others:
                _merge(named[0], other)
                del zones[other.key]
    return zones


def _merge(into: Zone, other: Zone) -> None:
    into.keys |= other.keys
    into.served = into.served or other.served
    into.ssl = into.ssl or other.ssl
    into.signed = into.signed or other.signed
    into.segment_paths.extend(other.segment_paths)


def _belongs(zone: Zone, resource: ResourceInstance) -> bool:
    return zone_key(resource) in zone.keys


def _names_tunnel(tunnel: ResourceInstance, value: Any) -> bool:
    """Whether a record's content or a pool origin's address is this tunnel's host name
    (``<tunnel id>.cfargotunnel.com``, however the id is written)."""
    names = value.names if isinstance(value, Unknown) else ()
    return any(tunnel.named_by(n) for n in names) or tunnel.ref in _text(value)


def _through_tunnel(module: TerraformModule, record: ResourceInstance) -> bool:
    """Whether a record points at a tunnel (of this module, or one created elsewhere by its id):
    the tunnel carries that traffic, and it has no origin of its own to join."""
    content = record.arg("content", record.arg("value"))
    return (any(_names_tunnel(t, content) for t in module.of_type(*TUNNELS))
            or _text(content).endswith(".cfargotunnel.com"))


class Cloudflare:
    name = "cloudflare"

    def handles(self, resource_type: str) -> bool:
        return resource_type.startswith("cloudflare_")

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        del resources
        zones = _zones(module)
        for zone in zones.values():
            if zone.served:
                _add_zone(ctx, module, zone)
        _note_unknown_proxied(ctx, module)
        for tunnel in module.of_type(*TUNNELS):
            _add_tunnel(ctx, module, tunnel, zones)
            _note_remote_ingress(ctx, module, tunnel)

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        del resources
        zones = _zones(module)
        out: list[LoadBalancer] = []
        for zone in (z for z in zones.values() if z.served):
            out.append(LoadBalancer(_zone_document(ctx, module, zone), runner=_zone_id(module, zone)))
        for tunnel in module.of_type(*TUNNELS):
            doc = _tunnel_document(ctx, module, tunnel)
            if doc is not None:
                out.append(LoadBalancer(doc, runner=node_id(module, tunnel.full_label)))
        return out


def _note_remote_ingress(ctx: BuildContext, module: TerraformModule, tunnel: ResourceInstance) -> None:
    """A tunnel managed from the dashboard (``config_src = "cloudflare"``) whose ingress no
    tunnel config resource of these files sets: its routes live only in Cloudflare."""
    source = tunnel.get("config_src")
    if source is None or source.value != "cloudflare" or _configs_of(module, tunnel):
        return
    ctx.graph.notes.append(Diagnostic(
        "BRL002", f"what {tunnel.full_label} routes to is unknown: its ingress is managed in the Cloudflare "
        "dashboard (config_src = \"cloudflare\") and no tunnel config resource in these files sets it, so the "
        "CDN rules (routing, origin TLS, health checks) do not judge its origins", source.location))


def _note_unknown_proxied(ctx: BuildContext, module: TerraformModule) -> None:
    """A record whose ``proxied`` is a variable without a value here (a module input, a
    per-environment switch): whether Cloudflare fronts its origin, and so every CDN rule about
    it, cannot be judged. Said once per record, never taken as either answer."""
    for record in module.of_type(*RECORDS):
        proxied = record.get("proxied")
        if proxied is None or not isinstance(proxied.value, Unknown):
            continue
        name = record.full_label
        ctx.graph.notes.append(Diagnostic(
            "BRL002", f"whether {name} is proxied through Cloudflare is unknown: proxied = {proxied.value.describe()} "
            f"{proxied.value.why}, so the CDN rules (origin TLS, health checks, signed segments, origin "
            "exposure) do not judge the origin it points at", proxied.location))


def _zone_id(module: TerraformModule, zone: Zone) -> str:
    return node_id(module, f"cloudflare:{zone.key or 'zone'}")


def _zone_name(module: TerraformModule, zone: Zone) -> str:
    if zone.key.startswith("cloudflare_zone."):
        return module.prefix + zone.key
    return f"cloudflare zone {zone.key}" if zone.key else "cloudflare zone"


def _add_zone(ctx: BuildContext, module: TerraformModule, zone: Zone) -> None:
    """The zone as a CDN: an origin per proxied record and load balancer, a behaviour per
    segment host name and rule path."""
    origins: list[CdnOrigin] = []
    behaviours: list[CdnBehaviour] = []
    ssl = zone.ssl or Located(Unknown(("ssl",), "ssl", why="is not set for this zone in these files (Cloudflare "
                                      "picks the mode from the zone's plan and age)"), zone.location)
    if isinstance(ssl.value, str) and zone.https is None:
        ssl = Located(Unknown(("ssl",), ssl.value, why=f"is {ssl.value!r}, not a mode Cloudflare has (off, flexible, "
                              "full, strict, origin_pull)"), ssl.location)
    unverified = ssl if zone.https and isinstance(ssl.value, str) and ssl.value.lower() == "full" else None
    for record in module.of_type(*RECORDS):
        if record.arg("proxied") is not True or not _belongs(zone, record):
            continue
        name = _text(record.arg("name", record.label))
        if _through_tunnel(module, record):
            continue  # the tunnel carries it: see _add_tunnel
        origins.append(CdnOrigin(id=name, location=record.location, custom=True, protocol_policy=ssl, setting="ssl",
                                 https=zone.https, unverified=unverified))
        if name.split(".")[0].lower() in _SEGMENT_HOSTS:
            # A host name kept for segments (hls.live.example.com): everything under it is one.
            behaviours.append(CdnBehaviour(path=f"{name}/*", origin=name, signed=zone.signed,
                                           location=record.location, missing=_UNSIGNED))
    for balancer in module.of_type(LOAD_BALANCER):
        if _belongs(zone, balancer):
            name = _text(balancer.arg("name", balancer.label))
            origins.append(CdnOrigin(id=name, location=balancer.location, custom=True, protocol_policy=ssl,
                                     setting="ssl", https=zone.https, unverified=unverified))
    for path, where in zone.segment_paths:
        behaviours.append(CdnBehaviour(path=path, origin=None, signed=zone.signed, location=where, missing=_UNSIGNED))
    unknown: list[Located[Any]] = []
    for balancer in module.of_type(LOAD_BALANCER):
        for rule in balancer.nested("rules") if _belongs(zone, balancer) else []:
            condition = rule.get("condition")
            if condition is None or not any(o.arg("default_pools") for o in rule.nested("overrides")):
                continue  # a fixed response or an override that picks no pool routes nowhere
            prefix = rule_path(condition.value)
            if prefix is not None:
                behaviours.append(CdnBehaviour(path=prefix, origin=None, signed=zone.signed,
                                               location=condition.location, missing=_UNSIGNED))
            elif not zone.signed:
                unknown.append(Located(Unknown((f"rule {_text(rule.arg('name', 'unnamed'))}",), _text(condition.value),
                                               why="picks pools by something other than a path prefix"),
                                       condition.location))
    component = Component(id=_zone_id(module, zone), name=_zone_name(module, zone), role=Role.CDN,
                          role_reason="proxied Cloudflare DNS records", origin="cloudflare",
                          location=zone.location, origins=origins, behaviours=behaviours, ports_known=True,
                          runtime=Runtime.MANAGED, resource_type="cloudflare_zone", cached_paths=list(DEFAULT_CACHED),
                          settings={"ssl": zone.ssl}, unknown_routes=unknown)
    ctx.graph.add(component)
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443, tls=True,
                                    location=zone.location, reason="Cloudflare serves HTTPS"))


def _zone_document(ctx: BuildContext, module: TerraformModule, zone: Zone) -> ProxyConfig:
    """The zone's proxied records and load balancers as one load-balancer document."""
    where = zone.location
    doc = ProxyConfig(where.path, "cloudflare", where, files=[where.path], name=_zone_name(module, zone),
                      scope=module.root)
    frontend = Frontend("edge", where, [Bind("", 443, True, where)])
    scheme = "https" if zone.https else "http"
    # Which port Cloudflare pulls follows the SSL mode; with the mode unknown, so is the port
    # (no route is guessed: the BRL002 note on the mode says why).
    port: int | None = None if zone.https is None else (443 if zone.https else 80)
    for record in module.of_type(*RECORDS):
        if record.arg("proxied") is not True or not _belongs(zone, record):
            continue
        if _through_tunnel(module, record):
            continue
        content = record.get("content") or record.get("value")
        target = origin_target(ctx, module, content.value if content is not None else None)
        name = f"record {_text(record.arg('name', record.label))}"
        backend = Backend(name, record.location)
        if target.host is not None:
            backend.servers.append(Server(target.host, port, record.location, scheme, component=target.node))
            if content is not None:
                bind_pulled_port(ctx, doc.name or "the zone", target, port, content.location)
        elif target.unfollowed is not None and content is not None:
            note_unfollowed(ctx, doc.name or "the zone", name, target.unfollowed, content.location)
        doc.backends[name] = backend
        frontend.routes.append(RouteRule(None, name, record.location))
    for balancer in module.of_type(LOAD_BALANCER):
        if not _belongs(zone, balancer):
            continue
        pools = balancer.arg("default_pool_ids", balancer.arg("default_pools"))
        # The fallback pool takes the traffic when every default pool is down: it is routed too.
        fallback = balancer.arg("fallback_pool_id", balancer.arg("fallback_pool"))
        for pool_ref in [*(pools if isinstance(pools, list) else []), fallback]:
            pool = module.find(POOL, pool_ref)
            if pool is None:
                continue
            name = pool.full_label
            if name in doc.backends:
                continue  # a pool named twice (default and fallback) is one backend, one route
            doc.backends[name] = _pool_backend(ctx, module, pool, scheme, port)
            frontend.routes.append(RouteRule(None, name, balancer.location))
        for rule in balancer.nested("rules"):
            condition = rule.get("condition")
            prefix = rule_path(condition.value if condition is not None else None)
            for overrides in rule.nested("overrides"):
                chosen = overrides.arg("default_pools")
                for pool_ref in chosen if isinstance(chosen, list) else []:
                    pool = module.find(POOL, pool_ref)
                    if pool is None or prefix is None or condition is None:
                        continue  # an unreadable condition: _add_zone records it as unknown
                    if pool.full_label not in doc.backends:
                        doc.backends[pool.full_label] = _pool_backend(ctx, module, pool, scheme, port)
                    frontend.routes.append(RouteRule(prefix, pool.full_label, condition.location))
    doc.frontends.append(frontend)
    return doc


# A load-balancer rule condition that tests a path prefix, as Cloudflare's rules language
# writes it: starts_with(http.request.uri.path, "/api"), http.request.uri.path matches "^/api".
_PREFIX_TESTS = (
    re.compile(r'starts_with\(\s*http\.request\.uri\.path\s*,\s*"(/[^"]*)"\s*\)'),
    re.compile(r'http\.request\.uri\.path\s+(?:matches|~)\s+"\^(/[A-Za-z0-9/_\-]*)[^"]*"'),
    re.compile(r'http\.request\.uri\.path\s+(?:eq|==)\s+"(/[^"]*)"'),
)


def rule_path(condition: Any) -> str | None:
    """The path prefix a rule condition tests, when it is one written plainly."""
    if not isinstance(condition, str):
        return None
    for pattern in _PREFIX_TESTS:
        found = pattern.fullmatch(condition.strip())
        if found:
            return found.group(1)
    return None


def _pool_backend(ctx: BuildContext, module: TerraformModule, pool: ResourceInstance, scheme: str,
                  port: int | None) -> Backend:
    backend = Backend(pool.full_label, pool.location)
    monitor = module.find(MONITOR, pool.arg("monitor"))
    monitor_port = port_of(monitor.arg("port")) if monitor is not None else None
    if monitor_port is not None:
        # The monitor's port is where the origins serve (v4 origins have no port of their own).
        port = monitor_port
    if monitor is not None:
        kind = str(monitor.arg("type") or "http").lower()
        if kind in ("http", "https"):
            path = monitor.get("path")
            # The API's default monitor path is "/" when none is written.
            backend.health = HealthSpec(path.location if path else monitor.location,
                                        path.value if path and isinstance(path.value, str) else "/",
                                        str(monitor.arg("method") or "GET"))
        else:
            backend.health = HealthSpec(monitor.location, None)
    for origin in pool.nested("origins"):
        if origin.arg("enabled") is False:
            continue
        address = origin.get("address")
        target = origin_target(ctx, module, address.value if address is not None else None)
        if target.host is not None:
            pulled = port_of(origin.arg("port")) or port
            backend.servers.append(Server(target.host, pulled, origin.location, scheme, component=target.node))
            if address is not None:
                bind_pulled_port(ctx, pool.full_label, target, pulled, address.location)
        elif target.unfollowed is not None and address is not None:
            note_unfollowed(ctx, pool.full_label, _text(origin.arg("name", "origin")), target.unfollowed,
                            address.location)
    return backend


# -- tunnels ----------------------------------------------------------------------------------

def _configs_of(module: TerraformModule, tunnel: ResourceInstance) -> list[ResourceInstance]:
    return [c for c in module.of_type(*TUNNEL_CONFIGS) if tunnel.named_by(c.arg("tunnel_id"))
            or (isinstance(c.arg("tunnel_id"), Unknown) and tunnel.ref in _text(c.arg("tunnel_id")))]


class Ingress:
    """One ingress rule of a tunnel, in Terraform's v4 (blocks) or v5 (attributes) shape."""

    def __init__(self, hostname: Any, path: Any, service: Located[Any] | None, no_verify: Located[Any] | None,
                 location: Location) -> None:
        self.hostname = hostname if isinstance(hostname, str) else None
        self.path = path if isinstance(path, str) else None
        self.service = service
        self.no_verify = no_verify
        self.location = location


def ingress_rules(config: ResourceInstance) -> list[Ingress]:
    out: list[Ingress] = []
    for block in config.nested("config"):
        default_verify = _no_verify(block)
        for rule in [*block.nested("ingress_rule"), *block.nested("ingress")]:
            out.append(Ingress(rule.arg("hostname"), rule.arg("path"), rule.get("service"),
                               _no_verify(rule) or default_verify, rule.location))
    return out


def _no_verify(body: Body) -> Located[Any] | None:
    for request in body.nested("origin_request"):
        flag = request.get("no_tls_verify")
        if flag is not None and flag.value is True:
            return Located("true", flag.location)
    return None


def _add_tunnel(ctx: BuildContext, module: TerraformModule, tunnel: ResourceInstance, zones: dict[str, Zone]) -> None:
    """A tunnel: a CDN whose connector dials out, with an origin per ingress rule. The edge
    reaches the origin only through the tunnel, which both ends authenticate (the mutual TLS
    the guide asks of segment pulls): its rules are no unsigned segment behaviours."""
    origins: list[CdnOrigin] = []
    for config in _configs_of(module, tunnel):
        for rule in ingress_rules(config):
            service = _service_url(module, rule.service)
            if service is None or not isinstance(service.value, str) or "://" not in service.value:
                continue
            origin_id = f"{rule.hostname or '*'}{rule.path or ''}"
            # The edge reaches the connector through the tunnel; only a certificate the
            # connector is told not to check leaves the last hop open.
            origins.append(CdnOrigin(id=origin_id, location=rule.location, custom=True, protocol_policy=service,
                                     setting="no_tls_verify", https=True,
                                     unverified=rule.no_verify if service.value.startswith("https") else None))
    component = Component(id=node_id(module, tunnel.full_label), name=tunnel.full_label, role=Role.CDN,
                          role_reason=tunnel.type, origin="cloudflare", location=tunnel.location,
                          origins=origins, ports_known=True, runtime=Runtime.MANAGED,
                          resource_type=tunnel.type, tunnel=True, cached_paths=list(DEFAULT_CACHED))
    ctx.graph.add(component)
    # Where a zone of the module fronts origins too, its edge is the one TLS termination point
    # for the tunnel's hostnames as well; the tunnel's listener is only where its routes start.
    fronted = any(z.served for z in zones.values())
    ctx.graph.add_listener(Listener(id=f"{component.id}#443/tcp", component=component.id, port=443,
                                    tls=not fronted, location=tunnel.location,
                                    reason="TLS ends at the zone's edge" if fronted
                                    else "Cloudflare serves the tunnel's hostnames over HTTPS"))


def _tunnel_document(ctx: BuildContext, module: TerraformModule, tunnel: ResourceInstance) -> ProxyConfig | None:
    configs = _configs_of(module, tunnel)
    if not configs:
        return None
    where = tunnel.location
    doc = ProxyConfig(where.path, "cloudflare", where, files=[where.path], name=tunnel.full_label,
                      scope=module.root)
    frontend = Frontend("tunnel", where, [Bind("", 443, True, where)])
    # Only instances something of ours runs on: localhost on a bare instance stays unattributed.
    connectors = [c for c in _connectors(module, tunnel) if ctx.graph.find_component(c) is not None]
    health = _monitor_through(ctx, module, tunnel)
    for index, rule in enumerate(r for c in configs for r in ingress_rules(c)):
        add_ingress(doc, frontend, _service_url(module, rule.service), rule.path, rule.location, index)
        backend = doc.backends.get(f"ingress {index + 1}")
        if backend is not None:
            for server in backend.servers:
                server.component = balancer_node(module, server.host)
        if backend is not None and health is not None:
            backend.health = health
        if backend is not None and connectors:
            # localhost is the machine the connector runs on: each instance that starts it.
            backend.servers = [Server(host, s.port, s.location, s.scheme) if _local(s.host) else s
                               for s in backend.servers for host in (connectors if _local(s.host) else [s.host])]
    doc.frontends.append(frontend)
    return doc


def _monitor_through(ctx: BuildContext, module: TerraformModule, tunnel: ResourceInstance) -> HealthSpec | None:
    """The check of a load-balancer pool whose origin is this tunnel: its monitor probes the
    services behind the tunnel."""
    for pool in module.of_type(POOL):
        for origin in pool.nested("origins"):
            if _names_tunnel(tunnel, origin.arg("address")):
                return _pool_backend(ctx, module, pool, "https", 443).health
    return None


# A service written around a reference: "https://${aws_lb.origin.dns_name}:8443".
_TEMPLATED_URL = re.compile(r'"?(\w+)://\$\{([^{}]+)\}(:\d+)?/?"?')


def _service_url(module: TerraformModule, service: Located[Any] | None) -> Located[Any] | None:
    """A rule's service as a URL whose host the join knows: one built from a reference names
    what the reference names (the load balancer, the instance)."""
    if service is None or not isinstance(service.value, Unknown):
        return service
    found = _TEMPLATED_URL.fullmatch(service.value.raw.strip())
    if found is None:
        return service
    inner = found.group(2).strip()
    host = origin_host(module, Unknown(tuple(n for n in service.value.names if inner.startswith(n)), inner))
    if host is None:
        return service
    return Located(f"{found.group(1)}://{host}{found.group(3) or ''}", service.location)


def _local(host: str) -> bool:
    return host.lower() == "localhost" or host.startswith("127.") or host in ("::1", "[::1]")


def _connectors(module: TerraformModule, tunnel: ResourceInstance) -> list[str]:
    """The instances whose user data starts this tunnel's connector: with its token, from the
    tunnel (v4 ``tunnel_token``) or from a token data source (v5) that names the tunnel."""
    tokens = {tunnel.ref} | {d.ref for d in module.data if tunnel.named_by(d.arg("tunnel_id"))}
    found: list[str] = []
    for instance in module.of_type("aws_instance"):
        data = instance.arg("user_data")
        names = set(data.names) if isinstance(data, Unknown) else set()
        text = data.raw if isinstance(data, Unknown) else str(data or "")
        if names & tokens or any(t in text for t in tokens):
            found.append(instance.full_address)
    return found


CLOUDFLARE = Cloudflare()
