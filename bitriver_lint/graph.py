"""The service graph: every loader's facts joined into one ``networkx.MultiDiGraph``.

This module is the contract between builders (which write the graph) and checks (which read
it). Every payload is a pydantic model with ``extra="forbid"``: no free-form bags, and the
fixed words (roles, runtimes, layers, host kinds) are enums from ``vocabulary``.

Nodes (payload model in brackets):
- ``component`` [Component]: a running role instance (compose service, systemd unit, EC2
  instance role, ALB, CloudFront distribution, bucket...). Load balancers, CDNs and buckets
  are components with the roles ``lb``, ``cdn`` and ``bucket``.
- ``listener`` [Listener]: a port a component listens on, with whether it speaks TLS and, for a
  proxy's, the config line that decides it; with what it serves (``purpose``) when the
  software's own config says (SRS's srs.conf).
- ``host`` [Host]: where components run (compose project, systemd host, EC2 instance, ASG).
- ``network`` [Network]: VPC, subnet, AZ or region.
- ``pool`` [Pool]: a load balancer's backend pool (HAProxy backend, nginx upstream, ALB target
  group) with its health probe, stickiness and WebSocket settings.

Edges (payload model in brackets), all carrying the location that proves them:
- ``runs_on`` component → host, host → host [Edge]
- ``listens`` component → listener [Edge]
- ``publishes`` host → listener [Publish]: a host port forwarded to the listener
- ``allows`` host|listener|pool → itself with a CIDR set [Allow]: a firewall layer's rule; on a
  pool, a filter the load balancer applies to the requests it routes there (Cloud Armor)
- ``routes`` listener → listener [Route]: an LB/proxy path (a prefix, an exact path or a
  pattern) forwarded to a backend, with what decides which route serves a path (its table,
  its order there, the software's way of choosing), any condition besides the path, and the
  pool it goes through
- ``health_checks`` component → listener [HealthProbe]
- ``connects_to`` component → listener [Connect]: a URL in the environment
- ``depends_on`` component → component [Dependency]
- ``located_in`` host|component → network [Edge]
- ``has_pool`` component → pool [Edge]: the load balancer that owns the pool
- ``member_of`` listener → pool [Edge]: a backend server of the pool

Builders add nodes and edges only through ``ServiceGraph``'s typed methods; checks read them
through its query methods, so neither touches raw networkx attributes.
"""

from __future__ import annotations

import bisect
import functools
import posixpath
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any, Literal, TypeVar

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.vocabulary import HostKind, Layer, ListenerPurpose, RouteMatch, RouteSelection, Runtime
from bitriver_lint.vocabulary import Role as Role  # re-exported: graph.Role predates vocabulary

_T = TypeVar("_T")


class Payload(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")


class HealthCheck(Payload):
    """A container or unit's own health probe."""

    location: Location
    disabled: bool = False
    command: str = ""
    path: str | None = None  # URL path probed, when the command is an HTTP request
    port: int | None = None
    method: str = "GET"


class RestartPolicy(Payload):
    location: Location
    value: str
    restarts_on_failure: bool


class Mount(Payload):
    """A volume, bind mount, tmpfs or state directory visible inside the component."""

    location: Location
    target: str
    source: str | None = None
    kind: Literal["volume", "bind", "tmpfs", "anonymous", "state", "secret", "other"]
    persistent: bool
    read_only: bool = False
    note: str = ""  # why it is (not) persistent, when the kind alone does not say
    # A source written with a variable nobody sets ("${DATA_DIR}:/var/lib/..."): what backs the
    # target is unknown, so rules note it instead of judging.
    unresolved: Unknown | None = None


class EnvFileRef(Payload):
    """A systemd ``EnvironmentFile=`` line and whether the tree has that file."""

    path: str
    optional: bool
    found: bool
    location: Location


class CdnOrigin(Payload):
    """One origin of a CDN distribution."""

    id: str
    location: Location
    custom: bool  # a custom (HTTP) origin rather than a bucket
    protocol_policy: Located[Any] | None = None  # how the CDN pulls from a custom origin
    s3: bool = False
    bucket: str | None = None  # the bucket resource it reads, when the tree defines it
    # That bucket's node: the one in the CDN's own module and root. Roots calling one module
    # (envs/prod, envs/staging) each have a bucket of that name, with their own settings.
    bucket_id: str | None = None
    access_control: bool = False  # origin access control / identity in front of the bucket
    # What the policy is called where it is written (CloudFront's origin_protocol_policy,
    # Cloudflare's zone ssl mode, Fastly's use_ssl), for the finding's words.
    setting: str = "origin_protocol_policy"
    # Whether the policy means HTTPS, as the provider reads it; None: CloudFront's, judged as
    # "https-only" or not.
    https: bool | None = None
    # Where the CDN is told not to verify the origin's certificate (Cloudflare "full", Fastly
    # ssl_check_cert = false, cloudflared noTLSVerify).
    unverified: Located[Any] | None = None


class CdnBehaviour(Payload):
    """A cache behaviour: which paths go to which origin, and whether URLs must be signed."""

    path: str | None
    origin: Any  # the origin id it targets (an evaluated Terraform value)
    signed: bool
    location: Location
    # What would have signed it, in the provider's words, for an unsigned behaviour's finding.
    missing: str = "no trusted_key_groups on the behaviour"


class Component(Payload):
    kind: Literal["component"] = "component"
    id: str
    name: str
    role: Role
    role_reason: str
    origin: str  # the format that defined it: compose, systemd, terraform, haproxy...
    location: Location
    runtime: Runtime = Runtime.HOST
    image: str | None = None
    env: dict[str, Located[str]] = Field(default_factory=dict)
    env_files: list[Located[str]] = Field(default_factory=list)
    healthcheck: HealthCheck | None = None
    # Whether the format can express a health check (compose can; a systemd unit cannot).
    healthcheck_supported: bool = False
    restart: RestartPolicy | None = None
    mounts: list[Mount] = Field(default_factory=list)
    replicas: Located[int] | None = None
    command: list[str] = Field(default_factory=list)
    # Every port it listens on is known (the guide's table covers its role): a route or probe to
    # another port is then a BRL603 inconsistency rather than a port we did not know of.
    ports_known: bool = False
    aliases: list[str] = Field(default_factory=list)  # other names it answers to on its network
    # ``ports:`` entries whose container side is unknown (``"1985:${PORT}"``): rules note them.
    unknown_ports: list[Located[Any]] = Field(default_factory=list)
    # systemd: the unit file name, settings written inline, and its EnvironmentFile= lines.
    unit: str | None = None
    inline_env: list[Location] = Field(default_factory=list)
    env_file_refs: list[EnvFileRef] = Field(default_factory=list)
    # A proxy/LB: the configs it runs (document keys) and the paths it caches.
    proxy_configs: list[str] = Field(default_factory=list)
    cached_paths: list[str] = Field(default_factory=list)
    # A cloud resource: its type, the arguments the rules read, Aurora's instance count.
    resource_type: str | None = None
    settings: dict[str, Located[Any] | None] = Field(default_factory=dict)
    cluster_instances: Located[int] | None = None
    target_groups: list[Any] = Field(default_factory=list)  # ECS: the target groups it registers in
    # A CDN distribution.
    origins: list[CdnOrigin] = Field(default_factory=list)
    behaviours: list[CdnBehaviour] = Field(default_factory=list)
    # A tunnel (Cloudflare Tunnel): its connector dials out to the edge, so what it routes to
    # needs no inbound port at all.
    tunnel: bool = False
    # Routing the files do not let us read (a Fastly condition on a header, a VCL snippet that
    # sets the backend): which paths reach which origin there is unknown, and said so.
    unknown_routes: list[Located[Any]] = Field(default_factory=list)
    # A bucket: public-access guards switched off, and its versioning status.
    public_flags: list[Located[bool]] = Field(default_factory=list)
    versioning: Located[Any] | None = None
    # A backend a proxy config names that the tree does not describe (an LB config alone in its
    # repository): kept so that its routes and pools are judged, its role inferred from the
    # guide's ports and paths (``role_reason`` says how). It is reached only through the edges
    # that point at it: ``components()`` leaves it out unless asked, and nothing is exposed by it.
    external: bool = False

    def env_value(self, key: str) -> Located[str] | None:
        return self.env.get(key)


class Listener(Payload):
    kind: Literal["listener"] = "listener"
    id: str
    component: str
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    tls: bool | None = None  # None: the files do not say
    # Where the config decides ``tls`` (a proxy's listen or bind line, nginx's "ssl on", a Caddy
    # site address or TLS policy) and how, for a finding's evidence; None: nothing proxy-like says.
    tls_location: Location | None = None
    tls_reason: str = ""
    bind: str | None = None  # address the process binds, when known ("0.0.0.0", "127.0.0.1")
    location: Location
    reason: str = ""  # why we believe it listens (flag, env, default of the guide's table)
    # False when only something pointing at it (a publish, route, probe, URL) says the port
    # exists; on a component whose ports are known that is a BRL603 inconsistency.
    declared: bool = True
    # True when the process binds the host's interfaces itself (systemd, network_mode: host).
    host_bound: bool = False
    # Where a proxy/LB config redirects every request on this listener to HTTPS.
    redirect_https: Location | None = None
    # What the software serves here, by its own config (SRS's srs.conf or environment): rules
    # about one service (the SRS API) find it by this, not by its usual port number.
    purpose: ListenerPurpose | None = None


# Which traffic a host-firewall rule sees (``loaders.hostfw``): ``input`` only the host's own
# processes, ``forward`` only the ports Docker publishes (after its DNAT, so the container
# port), ``any`` every way in (security groups, ACLs, chains before Docker's DNAT).
FirewallPath = Literal["any", "input", "forward"]


class UnknownRule(Payload):
    """A firewall rule whose sources could not be resolved: exposure through it is a BRL002."""

    port_from: int
    port_to: int
    protocol: str
    sources: Located[Any]  # the Unknown, where it was written
    path: FirewallPath = "any"
    layer: Layer = Layer.SECURITY_GROUP


class Block(Payload):
    """A host-firewall rule (or policy) that stops a port: kept so that a finding can say when
    it does not apply (Docker publishing around an INPUT rule)."""

    location: Location
    path: FirewallPath
    port_from: int
    port_to: int
    protocol: Literal["tcp", "udp", "all"]
    description: str


class Host(Payload):
    kind: Literal["host"] = "host"
    id: str
    name: str
    host_kind: HostKind
    location: Location
    # Firewall layers the files describe for this host. A layer named here with no matching
    # ``allows`` edge lets nothing through.
    described_layers: set[Layer] = Field(default_factory=set)
    # A cloud-managed service (ALB, RDS): no operating system, so no host firewall to describe.
    managed: bool = False
    directory: str | None = None  # compose project / systemd directory, root-relative
    resource: str | None = None  # a cloud resource address (aws_instance.api[0])
    instance_type: Located[Any] | None = None
    public: bool | None = None  # gets a public address; None: the files do not say
    public_location: Location | None = None  # what says so
    region: str | None = None
    az: str | None = None
    unknown_rules: list[UnknownRule] = Field(default_factory=list)
    # The IP addresses the files give it (an instance's private_ip, its interfaces', an Elastic
    # IP's): a backend server written as one of them is what runs on this host.
    addresses: list[str] = Field(default_factory=list)
    # The host firewall: which traffic it is described for (``FirewallPath`` values, each with
    # where it is written) and what it stops. A path not named here is not described.
    firewall_paths: dict[str, Location] = Field(default_factory=dict)
    firewall_blocks: list[Block] = Field(default_factory=list)


class PoolHealth(Payload):
    """How a load balancer probes a pool's members."""

    location: Location
    path: str | None = None  # None: a TCP check (the port accepts connections)
    method: str = "GET"


class Pool(Payload):
    kind: Literal["pool"] = "pool"
    id: str
    name: str
    lb: str  # the component id of the load balancer that owns it
    origin: str  # the format it was written in
    location: Location
    health: PoolHealth | None = None
    sticky: Location | None = None  # sticky sessions, where configured
    websocket: Location | None = None  # WebSocket upgrades passed, where configured
    # Filters the load balancer applies to requests for this pool (a Cloud Armor policy on a
    # backend service), as ``allows`` edges on the pool: what the routes through it admit. A
    # layer named here with no matching edge lets nothing through.
    described_layers: set[Layer] = Field(default_factory=set)
    unknown_rules: list[UnknownRule] = Field(default_factory=list)


class Network(Payload):
    kind: Literal["network"] = "network"
    id: str
    name: str
    net_kind: Literal["vpc", "subnet", "az", "region"]
    location: Location
    cidr: str | None = None
    public: bool | None = None


class Edge(Payload):
    kind: str
    location: Location


# ``Publish.host_port`` of a compose "3000" or ``docker run -p 3000``: the engine picks the host
# port when the container starts.
EPHEMERAL = 0


class Publish(Edge):
    kind: Literal["publishes"] = "publishes"
    host_ip: str | Unknown
    host_port: int | Unknown  # EPHEMERAL: a port the engine picks
    protocol: Literal["tcp", "udp"] = "tcp"


class Allow(Edge):
    kind: Literal["allows"] = "allows"
    layer: Layer
    cidrs: list[str]
    port_from: int
    port_to: int
    protocol: Literal["tcp", "udp", "all"] = "tcp"
    description: str = ""
    # Sources not written as CIDRs, in words ("members of aws_security_group.lb"): the proof
    # chain names them instead of the CIDRs they were taken to be.
    assumed: str = ""
    path: FirewallPath = "any"  # which traffic it admits (host firewalls only narrow one path)


class Route(Edge):
    kind: Literal["routes"] = "routes"
    path: str | None = None  # None: everything (default backend)
    match: RouteMatch = "prefix"  # how ``path`` matches; a pattern is kept as written
    scheme: Literal["http", "https", "tcp"] = "http"
    server_location: Location | None = None  # the backend server line the traffic goes to
    # Which route serves a path is decided among the routes of one ``table`` (a frontend, server
    # block or virtual host, by the location that opens it) of the listener: ``selection`` is the
    # software's way to pick among those that match, ``order`` the route's place in the order
    # written (one rule forwarding to several servers is several edges of one order).
    table: str = ""
    order: int = 0
    selection: RouteSelection = "specific"
    conditional: bool = False  # it needs more than its path (a host, a header): it may not apply
    # What it needs, as written (a Caddy named matcher "@ws header Connection *Upgrade*"), and
    # where that is defined; "" when the format names no condition of its own.
    condition: str = ""
    condition_location: Location | None = None
    final: bool = False  # nginx "^~": as the longest matching prefix, no regex is tried
    regex: bool = False  # the pattern is a PCRE regex searched in the path (nginx "~", "~*")
    ignore_case: bool = False  # ... without regard to case ("~*")
    pool: str | None = None  # the pool it goes through, whose filters narrow who it carries


class HealthProbe(Edge):
    kind: Literal["health_checks"] = "health_checks"
    path: str | None = None
    method: str = "GET"


class Connect(Edge):
    kind: Literal["connects_to"] = "connects_to"
    env_key: str
    url: str


class Dependency(Edge):
    kind: Literal["depends_on"] = "depends_on"
    condition: str  # service_started, service_healthy, service_completed_successfully, after, requires
    target_name: str


NodePayload = Component | Listener | Host | Network | Pool


class Dangling(Payload):
    """A reference to a service or host that no file defines (BRL604)."""

    kind: str  # depends_on, connects_to, route, extends, link
    name: str
    location: Location
    source: str  # the component or LB that refers to it


class Setting(Payload):
    """A ``KEY=value`` written in a file (env files, Terraform attributes) for the secret check."""

    key: str
    value: str
    location: Location
    committed: bool = True  # False when the file is git-ignored


class ServiceGraph:
    """A typed façade over a ``networkx.MultiDiGraph``."""

    def __init__(self) -> None:
        self._g: Any = nx.MultiDiGraph()
        # Edges by node and kind, each list in the order networkx's edge views give: checks ask
        # for one kind of a node's edges hundreds of thousands of times on a large tree, and
        # filtering all of them each time was the largest cost of checking. networkx lists a
        # node's edges by neighbour (in the order each was first linked), then as added: the
        # rank of each neighbour is kept, and a list that fell out of that order is sorted again
        # (stably, by rank) when it is next read.
        self._out: dict[str, dict[str, list[tuple[str, str, Any]]]] = {}
        self._in: dict[str, dict[str, list[tuple[str, str, Any]]]] = {}
        self._out_rank: dict[str, dict[str, int]] = {}
        self._in_rank: dict[str, dict[str, int]] = {}
        self._unsorted: set[tuple[bool, str, str]] = set()  # (outgoing, node, kind)
        # listeners(component) and hosts_of(node), by node: asked again for the same node by
        # every rule, and kept until the graph changes.
        self._listeners: dict[str, list[Listener]] = {}
        self._hosts: dict[str, list[Host]] = {}
        # hosts(), kept until a host is added or replaced; ``host_changes`` counts those changes
        # by kind, for builders that index some kinds their own way (hostfw.machines_for).
        self._host_list: list[Host] | None = None
        self.host_changes: dict[HostKind | None, int] = {}
        self._derived: dict[Hashable, Any] = {}  # see derived()
        self.dangling: list[Dangling] = []
        self.settings: list[Setting] = []
        self.uncommitted: set[str] = set()  # git-ignored files whose values were read
        # What the build could not place (a firewall file with no host to belong to): BRL002s.
        self.notes: list[Diagnostic] = []
        self._parts: dict[str, int] | None = None  # node -> deployment, computed on first ask
        self._components: list[Component] | None = None
        # components(*roles, external=...), kept
        self._with_roles: dict[tuple[tuple[Role, ...], bool], list[Component]] = {}
        self._in_environment: dict[str, list[Component]] | None = None  # environment -> components
        # name or alias -> directory prefix (path parts) -> the component with the smallest id
        # defined at or below it: find_component's answer in one lookup per directory level.
        self._names: dict[str, dict[tuple[str, ...], Component]] | None = None
        self._target_groups: dict[Any, list[Component]] | None = None  # target group -> members
        self._envs: dict[int, str] | None = None  # deployment -> environment directory
        # Where a node's deployment lives, where its location does not say: a resource defined
        # in a shared local module lives in the root module that calls it.
        self.homes: dict[str, str] = {}
        # Directories of Terraform root modules planned on their own (provider, terraform or
        # backend blocks, tfvars): each is an environment of its own unless a join ties them.
        self.environment_roots: set[str] = set()
        # A container's own name-to-address table (compose ``extra_hosts``), by component id:
        # the join resolves a name there before anything else.
        self.extra_hosts: dict[str, dict[str, str]] = {}

    @property
    def g(self) -> Any:
        """The ``networkx.MultiDiGraph`` underneath (graph views and merges read it whole)."""
        return self._g

    @g.setter
    def g(self, graph: Any) -> None:
        # A graph put in place whole (parts' graphs merged) brings edges the indexes never saw.
        self._g = graph
        self._out, self._in, self._out_rank, self._in_rank = {}, {}, {}, {}
        self._unsorted = set()
        # Each side from its own adjacency, whose order is the one to keep.
        for outgoing, adjacency in ((True, graph._succ), (False, graph._pred)):
            for node, neighbours in adjacency.items():
                for other, keyed in neighbours.items():
                    for data in keyed.values():
                        source, target = (node, other) if outgoing else (other, node)
                        self._index_side(outgoing, source, target, data.get("payload"))
        self._host_list = None
        self.host_changes[None] = self.host_changes.get(None, 0) + 1  # every kind may have changed
        self._changed()

    # -- building -------------------------------------------------------------------------

    def _changed(self) -> None:
        """Forget what was worked out from the graph as it was."""
        self._parts = self._envs = None
        self._in_environment = None
        if self._listeners:
            self._listeners = {}
        if self._hosts:
            self._hosts = {}
        if self._derived:
            self._derived = {}

    def add(self, node: NodePayload) -> str:
        old = self.g.nodes.get(node.id, {}).get("payload")
        # The same component added again was changed in place (a role, a name): where it sits in
        # the indexes is not known any more, so they are rebuilt; a new one replacing it is moved.
        if isinstance(node, Component) and (old is None or (isinstance(old, Component) and old is not node
                                                            and self._unindex(old))):
            self._index(node)
        elif isinstance(node, Component) or isinstance(old, Component):
            # Only components change the component indexes: adding a listener or a pool keeps them.
            self._components = None
            self._with_roles = {}
            self._names = None
            self._target_groups = None
        for host in (node, old):
            if isinstance(host, Host):
                self._host_list = None
                self.host_changes[host.host_kind] = self.host_changes.get(host.host_kind, 0) + 1
        self.g.add_node(node.id, payload=node)
        self._changed()
        return node.id

    def _index(self, component: Component) -> None:
        """A new component into the indexes already built, where rebuilding them would sort
        every component again: builders that add one and then ask (a load balancer per
        Terraform module) would otherwise cost the square of the tree's size."""
        if self._components is not None:
            bisect.insort(self._components, component, key=_order)
        for (roles, external), found in self._with_roles.items():
            if (not roles or component.role in roles) and (external or not component.external):
                bisect.insort(found, component, key=_order)
        if component.external:
            return
        if self._names is not None:
            self._name(component)
        if self._target_groups is not None:
            for group in _hashable(component.target_groups):
                bisect.insort(self._target_groups.setdefault(group, []), component, key=_id)

    def _unindex(self, component: Component) -> bool:
        """A replaced component out of the indexes; false where it is not where its order
        puts it (its location changed since), and they must be rebuilt."""
        lists = [(True, found) for found in [self._components] if found is not None]
        lists += [((not roles or component.role in roles) and (external or not component.external), found)
                  for (roles, external), found in self._with_roles.items()]
        places: list[tuple[list[Component], int]] = []
        for expected, found in lists:
            i = bisect.bisect_left(found, _order(component), key=_order)
            while i < len(found) and found[i] is not component and _order(found[i]) == _order(component):
                i += 1
            if i < len(found) and found[i] is component:
                places.append((found, i))
            elif expected:
                return False
        for found, i in places:
            del found[i]
        self._names = None  # which component is nearest is not undone one at a time
        if self._target_groups is not None:
            for group in _hashable(component.target_groups):
                self._target_groups[group] = [c for c in self._target_groups.get(group, []) if c is not component]
        return True

    def link(self, source: str, target: str, edge: Edge) -> None:
        self.g.add_edge(source, target, key=None, payload=edge)
        self._index_edge(source, target, edge)
        self._changed()

    def _index_edge(self, source: str, target: str, edge: Any) -> None:
        self._index_side(True, source, target, edge)
        self._index_side(False, source, target, edge)

    def _index_side(self, outgoing: bool, source: str, target: str, edge: Any) -> None:
        node, other = (source, target) if outgoing else (target, source)
        rank = (self._out_rank if outgoing else self._in_rank).setdefault(node, {})
        rank.setdefault(other, len(rank))
        found = (self._out if outgoing else self._in).setdefault(node, {}).setdefault(edge.kind, [])
        if found and rank[found[-1][1 if outgoing else 0]] > rank[other]:
            self._unsorted.add((outgoing, node, edge.kind))
        found.append((source, target, edge))

    def runs_on(self, component: str, host: str, location: Location) -> None:
        self.link(component, host, Edge(kind="runs_on", location=location))

    def add_listener(self, listener: Listener) -> str:
        self.add(listener)
        self.link(listener.component, listener.id, Edge(kind="listens", location=listener.location))
        return listener.id

    def add_setting(self, key: str, value: str, location: Location, committed: bool = True) -> None:
        self.settings.append(Setting(key=key, value=value, location=location, committed=committed))

    def listener_for(
        self,
        component: Component,
        port: int,
        location: Location,
        protocol: str = "tcp",
        *,
        declared: bool = False,
        host_bound: bool = False,
        reason: str = "referenced",
    ) -> Listener:
        """The component's listener on ``port``; created (undeclared unless said otherwise) if
        none is known yet."""
        for listener in self.listeners(component):
            if listener.port == port and listener.protocol == protocol:
                return listener
        listener = Listener(
            id=f"{component.id}#{port}/{protocol}",
            component=component.id,
            port=port,
            protocol="udp" if protocol == "udp" else "tcp",
            location=location,
            reason=reason,
            declared=declared,
            host_bound=host_bound,
        )
        self.add_listener(listener)
        return listener

    # -- reading --------------------------------------------------------------------------

    def derived(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """What ``compute`` works out from the graph, kept under ``key`` until a node or edge is
        added: several rules ask the same question of the finished graph (the ways into a
        listener, a load balancer's routes). Callers must not change what they get."""
        try:
            found: _T = self._derived[key]
        except KeyError:
            found = self._derived[key] = compute()
        return found

    def __contains__(self, node_id: str) -> bool:
        return bool(self.g.has_node(node_id))

    def node(self, node_id: str) -> NodePayload:
        payload: NodePayload = self._g._node[node_id]["payload"]  # as g.nodes[...], without a view per call
        return payload

    def _of(self, cls: type[Any]) -> Iterator[Any]:
        for _, data in self.g.nodes(data="payload"):
            if isinstance(data, cls):
                yield data

    def components(self, *roles: Role, environment: str | None = None, external: bool = False) -> list[Component]:
        """Components (of these roles, if any are given; in this environment, if one is given,
        see ``environment_of``), ordered by where they are defined; external targets (see
        ``Component.external``) only when ``external`` is true. Each answer is kept until a
        component is added (an environment's until anything is), so that asking once per
        component does not cost a scan of them all each time."""
        if self._components is None:  # checks ask this many times over; the graph is done by then
            self._components = sorted(self._of(Component), key=_order)
        if environment is not None:
            if self._in_environment is None:
                self._in_environment = {}
                for component in self._components:
                    self._in_environment.setdefault(self.environment_of(component.id), []).append(component)
            return [c for c in self._in_environment.get(environment, [])
                    if (not roles or c.role in roles) and (external or not c.external)]
        key = (roles, external)
        if key not in self._with_roles:
            self._with_roles[key] = [c for c in self._components
                                     if (not roles or c.role in roles) and (external or not c.external)]
        return list(self._with_roles[key])

    def hosts(self) -> list[Host]:
        # Asked once per proxy config and firewall file while building: sorting every host each
        # time made a 1,000-site tree quadratic.
        if self._host_list is None:
            self._host_list = sorted(self._of(Host), key=lambda h: (h.location, h.id))
        return list(self._host_list)

    def networks(self) -> list[Network]:
        return sorted(self._of(Network), key=lambda n: (n.location, n.id))

    def listeners(self, component: Component | None = None) -> list[Listener]:
        if component is not None:
            known = self._listeners.get(component.id)
            if known is None:
                found = [self.node(t) for _, t, _ in self.out_edges(component.id, "listens")]
                known = self._listeners[component.id] = sorted(
                    (li for li in found if isinstance(li, Listener)), key=lambda li: (li.port, li.protocol, li.id))
            return list(known)
        listeners = [li for li in self._of(Listener) if isinstance(li, Listener)]
        return sorted(listeners, key=lambda li: (li.port, li.protocol, li.id))

    def out_edges(self, node_id: str, kind: str | None = None) -> list[tuple[str, str, Any]]:
        if kind is not None:
            return self._edges_of(True, node_id, kind)
        # All kinds at once is rare: networkx's adjacency dicts, read directly rather than
        # through a view object per call.
        edges = []
        for t, keyed in self.g._succ.get(node_id, {}).items():
            for data in keyed.values():
                payload: Any = data.get("payload")
                if kind is None or payload.kind == kind:
                    edges.append((node_id, t, payload))
        return edges

    def in_edges(self, node_id: str, kind: str | None = None) -> list[tuple[str, str, Any]]:
        if kind is not None:
            return self._edges_of(False, node_id, kind)
        edges = []
        for s, keyed in self.g._pred.get(node_id, {}).items():
            for data in keyed.values():
                payload: Any = data.get("payload")
                if kind is None or payload.kind == kind:
                    edges.append((s, node_id, payload))
        return edges

    def _edges_of(self, outgoing: bool, node_id: str, kind: str) -> list[tuple[str, str, Any]]:
        found = (self._out if outgoing else self._in).get(node_id, {}).get(kind)
        if not found:
            return []
        if self._unsorted and (outgoing, node_id, kind) in self._unsorted:
            rank = (self._out_rank if outgoing else self._in_rank)[node_id]
            found.sort(key=lambda e: rank[e[1] if outgoing else e[0]])
            self._unsorted.discard((outgoing, node_id, kind))
        return list(found)  # the caller's own: the index stays as it is

    def edges(self, kind: str) -> list[tuple[str, str, Any]]:
        return [(s, t, p) for s, t, p in self.g.edges(data="payload") if p.kind == kind]

    def component_of(self, listener: Listener) -> Component:
        node = self.node(listener.component)
        assert isinstance(node, Component)
        return node

    def deployment_of(self, node_id: str) -> int:
        """Which deployment a node belongs to: the nodes joined by any edge."""
        if self._parts is None:
            self._parts = {node: i for i, part in enumerate(nx.weakly_connected_components(self.g))
                           for node in part}
            self._envs = None
        return self._parts[node_id]

    def environment_of(self, node_id: str) -> str:
        """The environment a node belongs to, named by its directory. Deployments in disjoint
        directories (envs/prod, envs/staging) are environments of their own; one inside
        another's directory is a part of it that nothing joins yet (a viewer pool the edge
        does not route to), so rules that compare parts of a deployment compare within one
        environment."""
        deployment = self.deployment_of(node_id)
        if self._envs is None:
            self._envs = self._environments()
        return self._envs.get(deployment, ".")

    def _environments(self) -> dict[int, str]:
        written: dict[int, list[str]] = {}
        homes: dict[int, list[str]] = {}
        for node_id, payload in self.g.nodes(data="payload"):
            deployment = self.deployment_of(node_id)
            location = getattr(payload, "location", None)
            if node_id in self.homes:
                homes.setdefault(deployment, []).append(self.homes[node_id])
            elif isinstance(location, Location):
                written.setdefault(deployment, []).append(posixpath.dirname(location.path))
        where = {**written, **homes}  # where a builder said, rather than where things are written
        tops: set[tuple[str, ...]] = set()
        out: dict[int, str] = {}
        common = {d: PurePosixPath(posixpath.commonpath(dirs)).parts for d, dirs in where.items()}
        for deployment, directory in sorted(common.items(), key=lambda item: (len(item[1]), item[0])):
            # No top lies inside another (a directory under one is not a top), so at most one is
            # a prefix of this directory: look its prefixes up rather than compare every top.
            top = next((directory[:depth] for depth in range(len(directory) + 1) if directory[:depth] in tops), None)
            if top is None:
                tops.add(directory)
                top = directory
            out[deployment] = "/".join(top) or "."
        # Directories are separate environments only when at least two of them run an API, or
        # are Terraform roots planned on their own (envs/prod beside envs/staging): Terraform
        # in one directory for the instances a compose project in another runs on is one
        # environment.
        with_api = {out[self.deployment_of(c.id)] for c in self.components(Role.API)
                     if self.deployment_of(c.id) in out}
        roots = {top for top in out.values() if top in self.environment_roots}
        if len(with_api) < 2 and len(roots) < 2:
            return {deployment: "." for deployment in out}
        return out

    def hosts_of(self, node_id: str) -> list[Host]:
        """The hosts a component (or host) runs on, nearest first, following ``runs_on``."""
        known = self._hosts.get(node_id)
        if known is None:
            known = self._hosts[node_id] = self._hosts_of(node_id)
        return list(known)

    def _hosts_of(self, node_id: str) -> list[Host]:
        chain: list[Host] = []
        seen = {node_id}
        frontier = [node_id]
        while frontier:
            current = frontier.pop(0)
            for _, target, _ in self.out_edges(current, "runs_on"):
                if target in seen:
                    continue
                seen.add(target)
                host = self.node(target)
                if isinstance(host, Host):
                    chain.append(host)
                frontier.append(target)
        return chain

    def add_pool(self, pool: Pool) -> str:
        self.add(pool)
        self.link(pool.lb, pool.id, Edge(kind="has_pool", location=pool.location))
        return pool.id

    def add_member(self, pool: Pool, listener_id: str, location: Location) -> None:
        self.link(listener_id, pool.id, Edge(kind="member_of", location=location))

    def pools(self, lb: Component) -> list[Pool]:
        """The load balancer's pools, in the order its config defines them."""
        found = [self.node(t) for _, t, _ in self.out_edges(lb.id, "has_pool")]
        return [p for p in found if isinstance(p, Pool)]

    def members(self, pool: Pool) -> list[str]:
        """The listener ids a pool sends traffic to, once each, in order."""
        return list(dict.fromkeys(s for s, _, _ in self.in_edges(pool.id, "member_of")))

    def components_behind(self, listener_ids: list[str]) -> list[Component]:
        """The components that own these listeners (a pool's members), in order, once each."""
        found: dict[str, Component] = {}
        for listener_id in listener_ids:
            listener = self.node(listener_id)
            if isinstance(listener, Listener):
                component = self.component_of(listener)
                found.setdefault(component.id, component)
        return list(found.values())

    def find_component(self, name: str, near: str | None = None) -> Component | None:
        """The component a name refers to. Where several share it (two compose projects each
        with an ``api``), the one defined closest to ``near``, the referring file, wins: the one
        whose directory shares the most leading directories with it, then the smallest id."""
        if self._names is None:  # one index for every lookup, instead of a scan per backend server
            self._names = {}
            for component in self._of(Component):
                if not component.external:  # an external one is named by a config, defined by nothing in the tree
                    self._name(component)
        by_prefix = self._names.get(name)
        if not by_prefix:
            return None
        here = _directory_parts(near or "")
        for depth in range(len(here), -1, -1):  # the deepest directory of ``near`` anything is defined in
            found = by_prefix.get(here[:depth])
            if found is not None:
                return found
        return None

    def _name(self, component: Component) -> None:
        assert self._names is not None
        parts = _directory_parts(component.location.path)
        for known in dict.fromkeys((component.name, *component.aliases)):
            best = self._names.setdefault(known, {})
            for depth in range(len(parts) + 1):
                prefix = parts[:depth]
                if prefix not in best or component.id < best[prefix].id:
                    best[prefix] = component

    def in_target_groups(self, names: set[Any], within: str = "") -> list[Component]:
        """The (non-external) components registered in any of these target groups (auto
        scaling groups, ECS services) whose id starts with ``within``, in ``components()``
        order. Each group's members are kept sorted by id, so the members under one prefix (one
        Terraform root's, when a thousand roots call the module that names the group) are a
        range found by bisection, not a scan of every root's members."""
        if self._target_groups is None:
            self._target_groups = {}
            for component in self.components():
                for group in _hashable(component.target_groups):
                    self._target_groups.setdefault(group, []).append(component)
            for members in self._target_groups.values():
                members.sort(key=_id)
        found: dict[str, Component] = {}
        for name in _hashable(names):
            members = self._target_groups.get(name, [])
            for i in range(bisect.bisect_left(members, within, key=_id), len(members)):
                if not members[i].id.startswith(within):
                    break
                found[members[i].id] = members[i]
        return sorted(found.values(), key=_order)


def _id(component: Component) -> str:
    return component.id


def _order(component: Component) -> tuple[Location, str]:
    """How ``components()`` orders: where they are defined."""
    return component.location, component.id


def _hashable(values: Iterable[Any]) -> list[Any]:
    """The values an index can hold: a Terraform value may be a list or a map."""
    out = []
    for value in values:
        try:
            hash(value)
        except TypeError:
            continue
        out.append(value)
    return out


@functools.lru_cache(maxsize=65536)  # asked once per component and per backend server, for few directories
def _directory_parts(path: str) -> tuple[str, ...]:
    """The directories of a root-relative file path, as ``posixpath.commonpath`` compares them."""
    return PurePosixPath(posixpath.dirname(path)).parts
