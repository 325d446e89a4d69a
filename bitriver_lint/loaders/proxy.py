"""The one document shape every load-balancer/proxy loader produces.

HAProxy, nginx, Envoy and Caddy differ in syntax, not in what the guide asks of them: where
TLS ends, which path goes to which pool, how pools are health-checked, who may connect. Each
loader fills a ``ProxyConfig``; one builder (``builders/proxy.py``) puts it in the graph, and the
join stage (``join.py``) completes it: placeholders from the environment of the service that runs
it, backend servers resolved to the components they name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bitriver_lint.loaders.each import read_each
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.vocabulary import Layer, RouteMatch, RouteSelection
from bitriver_lint.workspace import Workspace


@dataclass
class Server:
    host: str
    port: int | None
    location: Location
    scheme: str = "http"  # how the proxy talks to it: http, https, tcp
    # The graph node it is, when the builder that made it knows (an auto scaling group registered
    # in a target group): no name to look up, so no other root's group of that name.
    component: str | None = None


@dataclass
class HealthSpec:
    location: Location
    path: str | None = None  # None: a TCP/connect check
    method: str = "GET"


@dataclass
class BackendGuard:
    """One rule of a filter the load balancer applies before a backend (a Cloud Armor policy):
    the sources it admits, or an Unknown when the filter cannot be read. A filter that admits
    nobody is written as no rule but ``Backend.guarded``."""

    layer: Layer
    location: Location
    cidrs: list[str] | Unknown
    description: str
    shown: str = ""  # the sources as written, when ``cidrs`` is what is left of them


@dataclass
class Backend:
    name: str
    location: Location
    servers: list[Server] = field(default_factory=list)
    health: HealthSpec | None = None
    sticky: Location | None = None  # where sticky sessions are configured
    websocket: Location | None = None  # where WebSocket upgrades / tunnel timeouts are configured
    guarded: set[Layer] = field(default_factory=set)  # the filter layers in front of it
    guards: list[BackendGuard] = field(default_factory=list)


@dataclass
class RouteRule:
    path: str | None  # a path prefix (or as ``match`` says); None: everything else (default route)
    backend: str | None  # a Backend name; None when the rule redirects or answers itself
    location: Location
    redirect_https: bool = False
    cached: bool = False  # the proxy caches responses on this path
    scheme: str | None = None  # set when the route itself says how to talk to the backend
    match: RouteMatch = "prefix"  # "exact": only ``path`` itself; "pattern": a regex or glob as written
    # The route table within the frontend that the rule belongs to (an Envoy virtual host): order
    # counts among the rules of one table.
    table: str = ""
    # The rule needs more than its path to apply (a host, a header, a negated or or-ed ACL), so
    # a path it covers may still pass it by.
    conditional: bool = False
    # The condition as written (a Caddy named matcher's definition) and where, when it is one.
    condition: str = ""
    condition_location: Location | None = None
    final: bool = False  # nginx "^~": as the longest matching prefix, no regex is tried
    # A pattern that is a PCRE regular expression searched in the path (nginx "~"; "~*" also sets
    # ``ignore_case``), which a check may try on a path; other patterns stay as written.
    regex: bool = False
    ignore_case: bool = False


@dataclass
class Bind:
    address: str  # "" or "*" for all interfaces
    port: int
    tls: bool
    location: Location
    # What decided ``tls`` where the format states it (nginx's "listen ... ssl" or "ssl on",
    # Caddy's site address or TLS policies), for a finding's evidence; None: the bind itself.
    tls_location: Location | None = None
    tls_reason: str = ""


@dataclass
class Frontend:
    name: str
    location: Location
    binds: list[Bind] = field(default_factory=list)
    routes: list[RouteRule] = field(default_factory=list)  # in the order the software tries them
    selection: RouteSelection = "specific"  # how it picks among the routes that match a path
    redirect_https: Location | None = None  # every request is redirected to HTTPS
    allow: list[str] | None = None  # source CIDRs admitted by ACLs; None: no ACL layer
    acl_location: Location | None = None
    # The host names it serves (nginx server_name), for a DNS record or CDN origin to join to.
    hostnames: list[str] = field(default_factory=list)
    # Binds whose port is a placeholder nothing set ("listen ${PORT}"), as written: a BRL002
    # note once the config has had its runner's environment, never a guessed port.
    unknown_binds: list[Located[str]] = field(default_factory=list)


@dataclass
class ProxyConfig:
    path: str
    kind: str  # haproxy, nginx, envoy, caddy
    location: Location
    frontends: list[Frontend] = field(default_factory=list)
    backends: dict[str, Backend] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read (includes)
    name: str | None = None  # a name for the LB when it is not a file of its own (a Terraform aws_lb)
    # The Terraform root a module instance belongs to: roots side by side that call one module
    # (envs/prod, envs/staging) each get their own load balancer from its one file.
    scope: str | None = None
    placeholders: set[str] = field(default_factory=set)  # environment names the file uses but nothing set
    # The same config read again, from the text already read, with more environment (added to
    # the variables it was loaded with): set by the loaders of formats with placeholders when
    # some are unset. The join stage calls it with the environment of the service that runs
    # the config; nothing reads the file again.
    render: Callable[[Mapping[str, str]], ProxyConfig] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """Unique per scan: two Terraform roots may both define ``aws_lb.origin``, or call one
        module that does."""
        return config_key(self.path, self.name, self.scope)


def config_key(path: str, name: str | None, scope: str | None) -> str:
    """``ProxyConfig.key`` of a config not made yet: a CDN's record names a load balancer whose
    document a provider builds later."""
    key = f"{path}#{name}" if name else path
    return f"{key}@{scope}" if scope is not None else key


def substitute(text: str, pattern: re.Pattern[str], env: Mapping[str, str]) -> tuple[str, set[str]]:
    """Environment placeholders (``pattern``: group 1 the name, group 2 an optional default)
    replaced from ``env`` or their default; also the names neither gives a value."""
    missing: set[str] = set()

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.add(name)
        return match.group(0)

    return pattern.sub(one, text), missing


Fill = Callable[[ProxyConfig, str, Mapping[str, str]], None]


def rerender(doc: ProxyConfig, text: str, env: Mapping[str, str], fill: Fill) -> None:
    """Let the join stage read ``doc``'s text again with more environment (the service's that
    runs it): ``doc.render(more)`` returns a new document, ``doc`` stays as it is."""

    def again(more: Mapping[str, str]) -> ProxyConfig:
        fresh = ProxyConfig(doc.path, doc.kind, doc.location, files=list(doc.files), name=doc.name)
        fill(fresh, text, {**env, **more})
        return fresh

    doc.render = again


def load_all(files: list[str], ws: Workspace, kind: str, fill: Callable[[ProxyConfig, str], None]) -> list[ProxyConfig]:
    """Run ``fill`` on each readable file; unreadable ones become documents with a BRL001."""
    return read_each(files, ws, lambda rel: ProxyConfig(rel, kind, Location(rel, 1, 1), files=[rel]), fill)


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` through mappings, or None where a level is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
