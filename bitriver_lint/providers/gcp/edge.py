"""Google Cloud's edge: the external Application Load Balancer chain and Cloud CDN.

The chain is written as separate resources: a forwarding rule (the address and port) targets an
HTTPS or HTTP proxy, whose URL map sends paths to backend services (instance groups, or a
serverless NEG in front of Cloud Run) and backend buckets; a backend service names its health
check. Each load balancer (the forwarding rules sharing an address, else a URL map) becomes the
document HAProxy and the ALB become, so the same route, health and TLS rules apply.

Cloud CDN is not a separate service: it is switched on per backend (``enable_cdn``), and the
load balancer's front end then is the CDN's edge. Such a load balancer is the CDN component,
with the CDN-enabled backends as its origins and the URL map's paths to them as behaviours;
signed URLs are a backend's signed URL keys (or ``cdn_policy.signed_url_cache_max_age_sec``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import balancer_id, component_id, node_id
from bitriver_lint.graph import Allow, CdnBehaviour, CdnOrigin, Host, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, HealthSpec, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.providers.gcp import armor
from bitriver_lint.providers.gcp.common import referenced, referenced_all
from bitriver_lint.providers.gcp.compute import named_ports
from bitriver_lint.vocabulary import Layer

_RULES = ("google_compute_global_forwarding_rule", "google_compute_forwarding_rule")
_HTTPS_PROXIES = ("google_compute_target_https_proxy", "google_compute_region_target_https_proxy")
_HTTP_PROXIES = ("google_compute_target_http_proxy", "google_compute_region_target_http_proxy")
_MAPS = ("google_compute_url_map", "google_compute_region_url_map")
_SERVICES = ("google_compute_backend_service", "google_compute_region_backend_service")
_BUCKETS = ("google_compute_backend_bucket",)
_CHECKS = ("google_compute_health_check", "google_compute_region_health_check")
_LEGACY_CHECKS = ("google_compute_http_health_check", "google_compute_https_health_check")
_MANAGERS = ("google_compute_instance_group_manager", "google_compute_region_instance_group_manager")
_NEGS = ("google_compute_region_network_endpoint_group",)
_RUN = ("google_cloud_run_v2_service", "google_cloud_run_service")
_STICKY = {"GENERATED_COOKIE", "HTTP_COOKIE", "CLIENT_IP", "CLIENT_IP_PROTO", "CLIENT_IP_PORT_PROTO",
           "HEADER_FIELD", "STRONG_COOKIE_AFFINITY", "CLIENT_IP_NO_DESTINATION"}


@dataclass
class _Balancer:
    name: str
    rules: list[tuple[ResourceInstance, ResourceInstance | None, bool]] = field(default_factory=list)
    url_map: ResourceInstance | None = None


def _port(rule: ResourceInstance) -> tuple[int | None, Any]:
    """The forwarding rule's port: ``port_range = "443"`` or ``"443-443"``; ``ports`` on a regional rule."""
    written = rule.get("port_range") or rule.get("ports")
    value = written.value if written else None
    if isinstance(value, list) and value:
        value = value[0]
    text = str(value).split("-")[0].strip() if isinstance(value, (str, int)) else ""
    return (int(text) if text.isdigit() else None), (written.location if written else rule.location)


def _balancers(module: TerraformModule) -> list[_Balancer]:
    """Forwarding rules grouped into load balancers: by the address they share, else by the URL
    map their proxy uses (the HTTPS rule and the HTTP rule that redirects beside it)."""
    grouped: dict[str, _Balancer] = {}
    for rule in module.of_type(*_RULES):
        proxy = referenced(module, rule.arg("target"), *_HTTPS_PROXIES, *_HTTP_PROXIES)
        if proxy is None:
            continue
        url_map = referenced(module, proxy.arg("url_map"), *_MAPS)
        address = rule.arg("ip_address")
        shared = referenced(module, address, "google_compute_global_address", "google_compute_address")
        key = shared.full_label if shared else (address if isinstance(address, str) else
                                                 (url_map.full_label if url_map else rule.full_label))
        balancer = grouped.setdefault(key, _Balancer(key))
        balancer.rules.append((rule, url_map, proxy.type in _HTTPS_PROXIES))
        serves = url_map is not None and not url_map.nested("default_url_redirect")
        if url_map is not None and (balancer.url_map is None or serves):
            balancer.url_map = url_map
            balancer.name = url_map.full_label
    return list(grouped.values())


def balancer_at(module: TerraformModule, host: str) -> str | None:
    """The graph id of the load balancer of ``module``'s root whose forwarding rule, or the
    address a rule uses, ``host`` is (a full address, as ``origin_host`` names it), once
    ``load_balancers`` has made it; None when it is none of them."""
    for member in module.family or [module]:
        for balancer in _balancers(member):
            for rule, _, _ in balancer.rules:
                shared = referenced(member, rule.arg("ip_address"), "google_compute_global_address",
                                    "google_compute_address")
                if host in (rule.full_address, shared.full_address if shared else None):
                    return balancer_id(member, balancer.rules[0][0].location.path, balancer.name)
    return None


def _health(module: TerraformModule, service: ResourceInstance) -> HealthSpec | None:
    checks = service.arg("health_checks")
    for reference in checks if isinstance(checks, list) else [checks]:
        check = referenced(module, reference, *_CHECKS, *_LEGACY_CHECKS)
        if check is None:
            continue
        if check.type in _LEGACY_CHECKS:
            path = check.get("request_path")
            return HealthSpec(path.location if path else check.location,
                              path.value if path and isinstance(path.value, str) else "/", "GET")
        for kind in ("http_health_check", "https_health_check", "http2_health_check"):
            block = check.first(kind)
            if block is not None:
                path = block.get("request_path")
                return HealthSpec(path.location if path else block.location,
                                  path.value if path and isinstance(path.value, str) else "/", "GET")
        return HealthSpec(check.location, None)  # a TCP/SSL/gRPC check: the port accepts connections
    return None


def _run_probe(service: ResourceInstance) -> HealthSpec | None:
    """A Cloud Run service's HTTP liveness (else startup) probe: a serverless NEG takes no
    health check of its own, so this is what keeps a broken revision out of the pool."""
    template = service.first("template")
    body = template.first("spec") if template and service.type == "google_cloud_run_service" else template
    for container in body.nested("containers") if body else []:
        for kind in ("liveness_probe", "startup_probe"):
            for probe in container.nested(kind):
                for get in probe.nested("http_get"):
                    path = get.get("path")
                    return HealthSpec(path.location if path else get.location,
                                      path.value if path and isinstance(path.value, str) else "/", "GET")
    return None


def _servers(ctx: BuildContext, module: TerraformModule, service: ResourceInstance,
             backend: Backend) -> None:
    """The backend service's groups as servers: a managed instance group's VMs on the named port
    the service uses, a serverless NEG's Cloud Run service on its container port."""
    protocol = str(service.arg("protocol") or "HTTP").upper()
    scheme = "https" if protocol in ("HTTPS", "HTTP2") else "http"
    port_name = service.arg("port_name") or "http"
    for block in service.nested("backend"):
        group = block.arg("group")
        manager = referenced(module, group, *_MANAGERS)
        if manager is not None:
            port = named_ports(manager).get(str(port_name))
            number = port.value if port is not None and isinstance(port.value, int) else None
            backend.servers.append(Server(manager.full_label, number, port.location if port else block.location,
                                          scheme, component=_component(ctx, module, manager.full_label)))
            continue
        unmanaged = referenced(module, group, "google_compute_instance_group")
        if unmanaged is not None:
            # An unmanaged group lists its VMs: each is a server, on the group's named port.
            port = named_ports(unmanaged).get(str(port_name))
            number = port.value if port is not None and isinstance(port.value, int) else None
            for vm in referenced_all(module, unmanaged.arg("instances"), "google_compute_instance"):
                backend.servers.append(Server(vm.full_address, number, port.location if port else block.location,
                                              scheme, component=_component(ctx, module, vm.full_address)))
            continue
        neg = referenced(module, group, *_NEGS)
        runs = [r for n in (neg.nested("cloud_run") if neg else [])
                if (r := referenced(module, n.arg("service"), *_RUN)) is not None]
        for run in runs:
            # The service's containers in this root (``add_cloud_run`` names them under its host).
            own = node_id(module, run.full_label) + "#"
            for component in ctx.graph.components():
                if component.id.startswith(own) and component.resource_type == run.type:
                    for listener in ctx.graph.listeners(component):
                        if ctx.graph.in_edges(listener.id, "publishes"):  # the port requests go to
                            backend.servers.append(Server(component.name, listener.port, block.location, scheme,
                                                          component=component.id))
            backend.health = backend.health or _run_probe(run)


def _component(ctx: BuildContext, module: TerraformModule, address: str) -> str | None:
    """The node of what runs on a group or VM of this root (``compute`` names it), when its labels
    or name gave it a role: roots calling one module name their groups alike, so the join must
    not look it up by name."""
    found = component_id(module, address)
    return found if found in ctx.graph else None


def _signed(module: TerraformModule, backend: ResourceInstance) -> bool:
    keys = module.of_type("google_compute_backend_bucket_signed_url_key",
                          "google_compute_backend_service_signed_url_key")
    if any(referenced(module, k.arg("backend_bucket") or k.arg("backend_service"), backend.type) is backend
           for k in keys):
        return True
    return any("signed_url_cache_max_age_sec" in p.attributes for p in backend.nested("cdn_policy"))


@dataclass
class _Cdn:
    origins: list[CdnOrigin] = field(default_factory=list)
    behaviours: list[CdnBehaviour] = field(default_factory=list)


def _origin(module: TerraformModule, backend: ResourceInstance) -> CdnOrigin:
    signed = _signed(module, backend)
    if backend.type in _BUCKETS:
        bucket = referenced(module, backend.arg("bucket_name"), "google_storage_bucket")
        # With a signed URL key, Cloud CDN fetches with its own service account: the bucket
        # itself can stay private.
        return CdnOrigin(id=backend.address, location=backend.location, custom=False, s3=True,
                         bucket=bucket.label if bucket else None, access_control=signed,
                         bucket_id=node_id(module, bucket.label) if bucket else None)
    protocol = backend.get("protocol") or Located("HTTP", backend.location)
    vms = any(referenced(module, b.arg("group"), *_MANAGERS, "google_compute_instance_group") is not None
              for b in backend.nested("backend"))
    return CdnOrigin(id=backend.address, location=backend.location, custom=vms, protocol_policy=protocol)


def _routes(module: TerraformModule, url_map: ResourceInstance, frontend: Frontend,
            backends: dict[str, Backend], cdn: _Cdn, ctx: BuildContext) -> None:
    """The URL map's paths (each path matcher's rules, then its default, then the map's) as routes."""
    def target(reference: Any, where: Body, path: str | None) -> None:
        backend = referenced(module, reference, *_SERVICES, *_BUCKETS)
        if backend is None:
            if reference is not None:
                name = reference.raw if isinstance(reference, Unknown) else str(reference)
                frontend.routes.append(RouteRule(path, name, where.location))
            return
        key = backend.address
        if key not in backends:
            found = Backend(key, backend.location)
            if backend.type in _SERVICES:
                found.health = _health(module, backend)
                armor.guard(module, backend, found)
                found.websocket = backend.location  # Google's HTTP(S) load balancers pass WebSockets
                affinity = backend.get("session_affinity")
                if affinity is not None and affinity.value in _STICKY:
                    found.sticky = affinity.location
                _servers(ctx, module, backend, found)
            backends[key] = found
            if backend.arg("enable_cdn") is True:
                cdn.origins.append(_origin(module, backend))
        frontend.routes.append(RouteRule(path, key, where.location))
        # The same path to the same CDN backend again (a path matcher's default and the map's):
        # one behaviour, judged where it is first written.
        if backend.arg("enable_cdn") is True and not any(
                b.path == (path or "*") and b.origin == key for b in cdn.behaviours):
            cdn.behaviours.append(CdnBehaviour(path=path or "*", origin=key, signed=_signed(module, backend),
                                               location=where.location))

    for matcher in url_map.nested("path_matcher"):
        for rule in matcher.nested("path_rule"):
            paths = rule.arg("paths")
            for path in paths if isinstance(paths, list) else [None]:
                target(rule.arg("service"), rule, str(path) if isinstance(path, str) else None)
        if "default_service" in matcher.attributes:
            target(matcher.arg("default_service"), matcher, None)
    if "default_service" in url_map.attributes:
        target(url_map.arg("default_service"), url_map, None)


def load_balancers(module: TerraformModule, ctx: BuildContext) -> list[LoadBalancer]:
    out: list[LoadBalancer] = []
    for balancer in _balancers(module):
        first = balancer.rules[0][0]
        doc = ProxyConfig(first.location.path, "terraform", first.location, files=[first.location.path],
                          name=balancer.name, scope=module.root)
        backends: dict[str, Backend] = {}
        cdn = _Cdn()
        internal = False
        for rule, url_map, tls in balancer.rules:
            port, where = _port(rule)
            if port is None:
                continue
            scheme = rule.arg("load_balancing_scheme")
            internal = internal or (isinstance(scheme, str) and scheme.upper().startswith("INTERNAL"))
            frontend = Frontend(rule.label, rule.location, [Bind("", port, tls, where)])
            if url_map is not None:
                for redirect in url_map.nested("default_url_redirect"):
                    if redirect.arg("https_redirect") is True:
                        frontend.redirect_https = redirect.location
                _routes(module, url_map, frontend, backends, cdn, ctx)
            doc.frontends.append(frontend)
        doc.backends = backends
        out.append(LoadBalancer(doc, _placement(doc, cdn, internal, first)))
    return out


def _placement(doc: ProxyConfig, cdn: _Cdn, internal: bool, first: ResourceInstance) -> Any:
    def place(host: Host, ctx: BuildContext) -> None:
        """A Google front end has no VPC firewall in front of it (Cloud Armor filters per backend
        service, on its pool): the internet reaches an external one, the VPC an internal one.
        With Cloud CDN on a backend, it is the CDN's edge."""
        graph = ctx.graph
        host.described_layers.update({Layer.SECURITY_GROUP, Layer.PUBLIC_ADDRESS})
        graph.link(host.id, host.id, Allow(location=first.location, layer=Layer.SECURITY_GROUP,
                                           cidrs=["0.0.0.0/0", "::/0"], port_from=0, port_to=65535, protocol="all",
                                           description="no VPC firewall",
                                           assumed="anyone: a Google front end has no VPC firewall"))
        graph.link(host.id, host.id, Allow(location=first.key_location("load_balancing_scheme"),
                                           layer=Layer.PUBLIC_ADDRESS,
                                           cidrs=[str(n) for n in PRIVATE.networks] if internal
                                           else ["0.0.0.0/0", "::/0"], port_from=0, port_to=65535, protocol="all",
                                           description="internal load balancer" if internal else "external"))
        if not cdn.origins:
            return
        component = next((c for c in graph.components(Role.LB) if doc.key in c.proxy_configs), None)
        if component is None:
            return
        component.role = Role.CDN
        component.role_reason = "Cloud CDN enabled on a backend (enable_cdn)"
        component.resource_type = "google_compute_url_map"
        component.origins = cdn.origins
        component.behaviours = cdn.behaviours
        component.cached_paths.extend(b.path for b in cdn.behaviours if b.path)
        graph.add(component)  # the role indexes change with it

    return place
