"""Facts every builder derives the same way, whatever format the component came from."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from bitriver_lint.config import Config
from bitriver_lint.graph import Component, Connect, Dangling, HealthCheck, Host, Listener, Role, ServiceGraph
from bitriver_lint.loaders import srs as srs_config
from bitriver_lint.loaders.envfile import EnvFile
from bitriver_lint.loaders.proxy import Bind, Frontend, ProxyConfig
from bitriver_lint.model import Located, Location, Unknown, port_number
from bitriver_lint.roles import DEFAULT_PORTS, SCHEME_PORTS
from bitriver_lint.vocabulary import BITRIVER_LIVE_TLS_CERT as TLS_CERT
from bitriver_lint.vocabulary import BITRIVER_LIVE_TLS_KEY as TLS_KEY
from bitriver_lint.vocabulary import WATCHED_SETTINGS, ListenerPurpose
from bitriver_lint.workspace import Workspace

WATCHED_ENV = WATCHED_SETTINGS  # the setting names the builders read (see vocabulary)

_URL_IN_TEXT = re.compile(r"\bhttps?://[^\s'\"\\]+")
_BRACED_VAR = re.compile(r"\$\{[^{}]*\}")
_PLAIN_VAR = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_UNRESOLVED = "unresolved-value"
_ADDR_FLAGS = ("--addr", "-addr", "--listen", "-listen", "--http-addr")


@dataclass
class ProxyPlacement:
    """A proxy/LB config and the component that runs it, as the build placed it."""

    doc: ProxyConfig
    runner: Component
    # The runner's environment sets placeholders of the config: its listeners wait for the join
    # stage, which renders the config with that environment first.
    awaiting_environment: bool = False


@dataclass
class ServedBind:
    """One bind of a proxy config on a listener, with the block (nginx server, Caddy site) that
    answers there: several blocks of one or more configs may share a port, told apart by Host."""

    kind: str  # the config's software
    frontend: Frontend
    bind: Bind
    acl_linked: bool = False  # its ``lb acl`` allow edge is in the graph


@dataclass
class BuildContext:
    graph: ServiceGraph
    config: Config
    workspace: Workspace
    # Proxy/LB configs by document key, as builders/proxy.py placed them, and the keys whose
    # backends the join stage routes, in the order builders queued them.
    placements: dict[str, ProxyPlacement] = field(default_factory=dict)
    routing: list[str] = field(default_factory=list)
    # Proxy configs of the tree that their runner never reads as written (a conf.d file the
    # nginx image's entrypoint overwrites with a rendered template): not placed, not routed.
    unrun: set[str] = field(default_factory=set)
    # Every proxy bind on each listener (by id), from every config its component runs: a fact
    # that makes a port safer (a redirect to HTTPS, an ACL) must hold for all of them.
    served: dict[str, list[ServedBind]] = field(default_factory=dict)
    # Files an instance's user data was read from (builders.hostfw): their firewall rules belong
    # to that instance, so the file is not placed on the tree's machine a second time.
    user_data_files: set[str] = field(default_factory=set)
    # Files of the tree a compose service's Dockerfile copies into its image (root-relative
    # path -> the services): a proxy config baked in is run by that service, as a mounted one is.
    image_files: dict[str, list[Component]] = field(default_factory=dict)
    # The services of each directory's base compose file (directory -> name or network alias ->
    # component), which an add-on file beside it reaches by name as if its own: compose runs it
    # merged onto the base ("-f docker-compose.yml -f jibri.yml"). Written by builders.compose.
    compose_bases: dict[str, dict[str, Component]] = field(default_factory=dict)
    # Config ``hosts:`` bindings whose resource several Terraform roots create, or that name
    # their root: binding name -> the roots it binds in -> the root-relative paths it puts there
    # (terraform_common.place_bindings). A binding not here binds wherever its resource is.
    bound_roots: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # hostfw.machines_for's index, with the counts of graph.host_changes it was built at.
    machines: tuple[tuple[int, ...], dict[str, list[Host]] | None] = ((), None)

    def config_path(self, path: str) -> str:
        """A path written in the config, as a root-relative path (configs say paths relative
        to themselves, findings are relative to the scan root)."""
        if self.config.source is None:
            return path.strip("/")
        base = self.workspace.rel(self.config.source.parent)
        joined = posixpath.normpath(posixpath.join("" if base == "." else base, path))
        return "" if joined == "." else joined


def _addr_port(text: str) -> tuple[str | None, int | None]:
    """``":8080"`` -> (None, 8080); ``"127.0.0.1:8443"`` -> ("127.0.0.1", 8443)."""
    host, sep, port = text.rpartition(":")
    number = port_number(port) if sep else None
    if number is None:
        return None, None
    return (host.strip("[]") or None), number


class Declared(NamedTuple):
    """A port a process listens on: its TLS and bind address when known, why we believe it,
    where that is written, and what it serves when the software's config says."""

    port: int
    tls: bool | None
    bind: str | None
    reason: str
    location: Location
    purpose: ListenerPurpose | None = None


def declared_listeners(
    role: Role, env: dict[str, Located[str]], command: list[str], where: Location
) -> list[Declared]:
    """The ports the process listens on, per the guide's defaults refined by its flags and
    environment."""
    if role is Role.API:
        bind: str | None = None
        port = 8080
        reason = "default port of the Go API (guide service table)"
        loc = where
        addr = env.get("BITRIVER_LIVE_ADDR")
        flag = _flag_value(command, _ADDR_FLAGS)
        if flag is not None:
            bind, parsed = _addr_port(flag)
            port, reason = parsed or port, f"--addr {flag}"
        elif addr is not None and isinstance(addr.value, str):
            bind, parsed = _addr_port(addr.value)
            port, reason, loc = parsed or port, f"BITRIVER_LIVE_ADDR={addr.value}", addr.location
        tls = api_tls(env)
        return [Declared(port, tls, bind, reason, loc)]
    if role is Role.VIEWER:
        # Next.js' standalone server.js binds HOSTNAME:PORT.
        hostname = env.get("HOSTNAME")
        bind = hostname.value if hostname is not None and isinstance(hostname.value, str) else None
        port_env = env.get("PORT")
        number = port_number(port_env.value) if port_env is not None and isinstance(port_env.value, str) else None
        if port_env is not None and number is not None:
            return [Declared(number, False, bind, f"PORT={port_env.value}", port_env.location)]
        return [Declared(3000, False, bind, "default port of the viewer (guide service table)", where)]
    if role is Role.SRS:
        # SRS 5 reads any config key from SRS_<KEY> variables; listen entries are [ip:]port.
        # Without a config of the tree (builders.srs replaces these when one is joined), the
        # image's own runs RTMP and the API.
        found = srs_config.listening(None, env, where)
        return [Declared(p.port, p.tls, p.bind, p.reason, p.location or where, p.purpose) for p in found.ports]
    if role is Role.REDIS:
        flag = _flag_value(command, ("--port",))
        bind_flag = _flag_value(command, ("--bind",))
        number = port_number(flag) if flag else None
        if number is not None or bind_flag:
            port = number or 6379
            flags = " ".join(w for w in command[1:] if w.startswith("--"))[:60]
            return [Declared(port, False, bind_flag, flags, where)]
    if role is Role.POSTGRES:
        flag = _flag_value(command, ("-p",))
        listen = _flag_value(command, ("-h",))
        conf = _flag_value(command, ("-c",))
        if conf and conf.startswith("listen_addresses="):
            listen = conf.split("=", 1)[1].strip("'\"")
        bind_pg = "0.0.0.0" if listen in ("*", "0.0.0.0") else (listen.split(",")[0] if listen else None)
        pgport = env.get("PGPORT")
        number = port_number(flag) if flag else None
        if number is not None:
            return [Declared(number, False, bind_pg, f"-p {flag}", where)]
        number = port_number(pgport.value) if pgport is not None and isinstance(pgport.value, str) else None
        if pgport is not None and number is not None:
            return [Declared(number, False, bind_pg, f"PGPORT={pgport.value}", pgport.location)]
        if bind_pg:
            return [Declared(5432, False, bind_pg, f"listen address {listen}", where)]
    ports = DEFAULT_PORTS.get(role, ())
    flag = _flag_value(command, _ADDR_FLAGS)
    if flag is not None and len(ports) == 1:
        bind, parsed = _addr_port(flag if ":" in flag else ":" + flag)
        return [Declared(parsed or ports[0], None, bind, f"--listen/--addr {flag}", where)]
    return [Declared(p, None, None, f"default port of {role.value} (guide service table)", where) for p in ports]


def api_tls(env: dict[str, Located[str]]) -> bool | None:
    """True when the API terminates TLS itself; None when it depends on unset values."""
    cert, key = env.get(TLS_CERT), env.get(TLS_KEY)
    values = [v for v in (cert, key) if v is not None]
    if any(isinstance(v.value, Unknown) for v in values):
        return None
    return bool(cert and key and cert.value and key.value)


def _flag_value(command: list[str], names: tuple[str, ...]) -> str | None:
    for i, word in enumerate(command):
        for name in names:
            if word == name and i + 1 < len(command):
                return command[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def parse_healthcheck(command: str | Unknown, location: Location, disabled: bool = False) -> HealthCheck:
    """A probe command -> the HTTP path and port it requests, when it requests one."""
    if isinstance(command, Unknown):
        return HealthCheck(location=location, command=command.raw)
    check = HealthCheck(location=location, command=command, disabled=disabled)
    match = _URL_IN_TEXT.search(command)
    if match:
        url = urlsplit(match.group(0))
        try:
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            port = None
        method = "HEAD" if re.search(r"(^|\s)(-I|--head|--spider)\b", command) else "GET"
        return check.model_copy(update={"path": url.path or "/", "port": port, "method": method})
    return check


def add_declared_listeners(
    graph: ServiceGraph, component: Component, *, host_bound: bool, where: Location | None = None
) -> None:
    """``where`` is the line that makes default ports matter (e.g. ``network_mode: host``)."""
    for port, tls, bind, reason, loc, purpose in declared_listeners(
        component.role, component.env, component.command, where or component.location
    ):
        graph.add_listener(
            Listener(
                id=f"{component.id}#{port}/tcp",
                component=component.id,
                port=port,
                tls=tls,
                bind=bind,
                location=loc,
                reason=reason,
                host_bound=host_bound,
                purpose=purpose,
            )
        )


def container_path(component: Component, path: str) -> str | None:
    """Where a tree file is inside a compose service's container, by its bind mounts."""
    base = posixpath.dirname(component.location.path)
    best: tuple[int, str] | None = None
    for mount in component.mounts:
        if mount.kind != "bind" or not mount.source or not mount.target.startswith("/"):
            continue
        source = posixpath.normpath(posixpath.join(base, mount.source))
        if path == source or path.startswith(source + "/"):
            here = posixpath.normpath(mount.target + path[len(source):])
            if best is None or len(source) > best[0]:
                best = (len(source), here)
    return best[1] if best is not None else None


def add_env_settings(ctx: BuildContext, env_files: list[EnvFile]) -> None:
    """Every KEY=value of the env files read, for the secret check; git-ignored files are
    recorded as uncommitted so their values are not reported."""
    for env in env_files:
        committed = not ctx.workspace.is_ignored(env.path)
        if not committed:
            ctx.graph.uncommitted.add(env.path)
        for entry in env.entries:
            if isinstance(entry.value, str):
                ctx.graph.add_setting(entry.key, entry.value, entry.value_location, committed)


@dataclass(frozen=True)
class UrlTarget:
    host: str
    port: int
    scheme: str


def url_target(value: Located[str]) -> UrlTarget | None:
    """The host and port a connection-string value points at, even when only its secret part
    is unknown (``postgres://u:${PASS}@db:5432``)."""
    text = value.value.raw if isinstance(value.value, Unknown) else value.value
    if "://" not in text:
        return None
    # Stand-ins for unresolved parts, so "${PASS:?msg}" cannot look like a query string.
    previous = None
    while previous != text:
        previous, text = text, _BRACED_VAR.sub(_UNRESOLVED, text)
    text = _PLAIN_VAR.sub(_UNRESOLVED, text)
    try:
        url = urlsplit(text.strip())
        host = url.hostname
        port = url.port
    except ValueError:
        return None
    if not host or url.scheme not in SCHEME_PORTS:
        return None
    if _UNRESOLVED.lower() in url.netloc.rsplit("@", 1)[-1].lower():
        return None  # the host or port itself is unknown
    return UrlTarget(host, port or SCHEME_PORTS[url.scheme], url.scheme)


def is_local_name(host: str) -> bool:
    """A single-label name such as a compose service: it must be defined in the tree."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", host):
        return False
    return host not in ("localhost",)


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def resolves_by_name(graph: ServiceGraph, source: Component, peer: Component) -> bool:
    """Whether ``source`` can reach ``peer`` by its name: a container resolves service names
    on its own compose project's network only, never another project's (envs/staging's
    "viewer" is not envs/prod's)."""
    if source.origin != "compose" or peer.origin != "compose":
        return True
    return graph.hosts_of(source.id)[:1] == graph.hosts_of(peer.id)[:1]


def connect_env_urls(
    ctx: BuildContext,
    component: Component,
    resolve: dict[str, Component],
    local: dict[str, Component] | None = None,
    inactive: Collection[str] = (),
) -> None:
    """``connects_to`` edges from URL-shaped environment values; unknown local names dangle.
    ``local`` maps ``127.0.0.1:PORT`` to the component on the same host listening there;
    ``inactive`` names services the tree defines but does not run (compose profiles not
    enabled): a URL naming one is neither joined nor dangling."""
    graph = ctx.graph
    for key, value in sorted(component.env.items()):
        target = url_target(value)
        if target is None:
            continue
        if target.host in _LOOPBACK_NAMES:
            peer = (local or {}).get(f"127.0.0.1:{target.port}")
            if peer is None or peer.id == component.id:
                continue  # a loopback port we cannot attribute: not a dangling name
        else:
            peer = resolve.get(target.host) or graph.find_component(target.host, near=value.location.path)
            if peer is not None and not resolves_by_name(graph, component, peer):
                peer = None
        if peer is None:
            if is_local_name(target.host) and target.host not in inactive:
                graph.dangling.append(
                    Dangling(kind="connects_to", name=target.host, location=value.location, source=component.id)
                )
            continue
        listener = graph.listener_for(peer, target.port, value.location)
        url = value.value.raw if isinstance(value.value, Unknown) else value.value
        graph.link(
            component.id,
            listener.id,
            Connect(location=value.location, env_key=key, url=shlex.quote(url) if " " in url else url),
        )
