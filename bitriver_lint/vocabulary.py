"""The fixed words of a BitRiver deployment, in one place.

Every stage of the flow (config, loaders, builders, checks, the report and its reporters, the
CLI) shares these names. This module imports only the standard library, so any of them can use
the words without pulling in the graph (networkx), pydantic or YAML; an import-linter contract
(``.importlinter``) keeps it that way.

- ``Role``: what a component is in the scaling guide's terms.
- ``Topology``: the guide's three layouts, and the words around them (``AUTO`` to detect the
  layout, ``MIXED`` for a report whose environments differ, ``ALL`` for a rule that applies to
  every layout). ``TopologyName``/``TopologyChoice``/``RuleTopology`` are the same words as
  ``Literal`` types, for the pydantic models (config, rule files) that validate user input and
  name the allowed values in their errors.
- ``RouteMatch``: how a route's path matches (prefix, exact, pattern).
- ``RouteSelection``: how a proxy picks the route that serves a path among those that match.
- ``ListenerPurpose``: what a listener serves, when the software's own config says.
- The BitRiver settings (environment variables) the builders and checks read.
"""

from __future__ import annotations

import enum
from typing import Final, Literal, get_args


class Role(enum.StrEnum):
    """What a component is in the scaling guide's terms."""

    API = "api"
    VIEWER = "viewer"
    POSTGRES = "postgres"
    REDIS = "redis"
    SRS = "srs"
    OME = "ome"
    TRANSCODER = "transcoder"
    PROXY = "proxy"
    LB = "lb"
    CDN = "cdn"
    BUCKET = "bucket"
    OTHER = "other"


# How a load balancer's route matches a request path: a prefix of it, the whole of it (Envoy
# ``path``, nginx ``location =``, Caddy ``path /api``), or a pattern (a regex, a glob, a URI
# template) whose paths no rule can list. Loaders write it, the graph carries it, checks read it.
RouteMatch = Literal["prefix", "exact", "pattern"]

# Which of the routes that match a path serves it. "first": the first as written (Envoy's routes
# of a virtual host, HAProxy's use_backend lines before its default_backend, Caddy's JSON
# routes); "nginx": an exact location, else the longest prefix if it is "^~", else the first
# regular expression that matches, else the longest prefix; "specific": the most specific
# prefix (the formats whose order is not read: a Caddyfile, whose adapter sorts by path, and
# the cloud balancers).
RouteSelection = Literal["specific", "first", "nginx"]

# What a listener serves, when the software's own config says so (``srs.conf``, SRS's
# environment): a rule about the SRS API checks the port the API is on, wherever it was moved,
# and not a port the config leaves to nothing. "rtmp" is ingest; "srs-api" SRS's HTTP API (and
# its HTTPS); "srs-http" its HTTP server (HLS, HTTP-FLV); "webrtc" and "srt" its UDP servers.
ListenerPurpose = Literal["rtmp", "srs-api", "srs-http", "webrtc", "srt"]


# -- topologies --------------------------------------------------------------------------------

TopologyName = Literal["single-node", "origin-edge", "cdn"]
TopologyChoice = Literal["auto", TopologyName]  # config ``topology:`` and ``--topology``
RuleTopology = Literal["all", TopologyName]  # a rule file's ``topologies:``


class Topology(enum.StrEnum):
    """The scaling guide's three layouts (the values of ``TopologyName``)."""

    SINGLE_NODE = "single-node"
    ORIGIN_EDGE = "origin-edge"
    CDN = "cdn"


AUTO: Final = "auto"  # detect the layout from the files
MIXED: Final = "mixed"  # a report whose environments follow different layouts
ALL: Final = "all"  # a rule that applies whatever the layout

TOPOLOGIES: Final[tuple[str, ...]] = get_args(TopologyName)
TOPOLOGY_CHOICES: Final[tuple[str, ...]] = get_args(TopologyChoice)

if tuple(Topology) != TOPOLOGIES or (AUTO, *TOPOLOGIES) != TOPOLOGY_CHOICES:  # pragma: no cover
    raise ImportError("vocabulary: Topology and TopologyName must list the same layouts")


# -- BitRiver settings (environment variables of the BitRiver services) ------------------------

BITRIVER_PREFIX: Final = "BITRIVER_"  # a name with it carries a BitRiver setting
BITRIVER_LIVE_ADDR: Final = "BITRIVER_LIVE_ADDR"  # the API's listen address
BITRIVER_LIVE_TLS_CERT: Final = "BITRIVER_LIVE_TLS_CERT"  # the API terminates TLS itself
BITRIVER_LIVE_TLS_KEY: Final = "BITRIVER_LIVE_TLS_KEY"
BITRIVER_VIEWER_ORIGIN: Final = "BITRIVER_VIEWER_ORIGIN"  # where the API sends viewers
BITRIVER_LIVE_CHAT_WEBSOCKET: Final = "BITRIVER_LIVE_CHAT_WEBSOCKET"

# Settings the rules read. Where a component's environment cannot be read (a missing env file,
# an instance configured by user data) these become Unknowns, so rules note instead of guess.
WATCHED_SETTINGS: Final = (BITRIVER_LIVE_TLS_CERT, BITRIVER_LIVE_TLS_KEY, BITRIVER_VIEWER_ORIGIN, BITRIVER_LIVE_ADDR)


# -- the graph's fixed words ---------------------------------------------------------------------


class Runtime(enum.StrEnum):
    """How a component runs, which decides how its ports reach a network."""

    CONTAINER = "container"  # a compose service or ECS task: reachable from outside only when published
    HOST = "host"  # a process on a machine (systemd unit, instance, standalone proxy): binds the host
    MANAGED = "managed"  # a cloud service (RDS, ElastiCache, ALB, CloudFront, a bucket): no OS to configure


class Layer(enum.StrEnum):
    """A firewall layer between a source and a listener; each ``allows`` edge belongs to one."""

    HOST_FIREWALL = "host firewall"
    SECURITY_GROUP = "security group"
    LB_ACL = "lb acl"
    UNIT_IP_FILTER = "unit IP filter"  # systemd IPAddressAllow=/IPAddressDeny=
    PUBLIC_ADDRESS = "public address"  # an instance with no public address: only the VPC reaches it
    # A filter a load balancer applies to the requests it sends one backend pool (Cloud Armor on
    # a backend service): it narrows traffic routed there, not the backend's own ports.
    SECURITY_POLICY = "security policy"
    # Who may invoke a serverless service (Cloud Run's roles/run.invoker): every request needs an
    # identity it admits, whichever way it comes, the load balancer's included.
    INVOKER = "invoker IAM"


# What each cloud calls a layer, by resource-type prefix (longest first): a
# Google Cloud user looks for a "VPC firewall", not a security group. The enum value stays the
# graph's and the JSON's word; this is only what findings and the graph's labels show.
_LAYER_NAMES = (
    (Layer.SECURITY_GROUP, "google_sql_database_instance", "Cloud SQL authorized networks"),
    (Layer.SECURITY_GROUP, "google_", "VPC firewall"),
    (Layer.SECURITY_POLICY, "google_", "Cloud Armor"),
    (Layer.INVOKER, "google_cloud_run", "Cloud Run invoker IAM"),
)


def layer_name(layer: Layer, resource: str | None) -> str:
    """The layer in the words of the system a host (``resource``: its cloud resource address)
    belongs to."""
    parts = (resource or "").split("[")[0].split(".")  # module.db.google_sql_database_instance.main
    kind = parts[-2] if len(parts) >= 2 else ""
    for named, prefix, name in _LAYER_NAMES:
        if named == layer and kind.startswith(prefix):
            return name
    return layer.value


class HostKind(enum.StrEnum):
    """What a ``host`` node stands for, in words every provider shares (an EC2 instance and a
    Compute Engine VM are both an ``instance``), so a new cloud adds no host kinds."""

    COMPOSE_PROJECT = "compose-project"
    SYSTEMD = "systemd"
    INSTANCE = "instance"  # a virtual machine (aws_instance)
    INSTANCE_GROUP = "instance-group"  # identical machines scaled together (an autoscaling group)
    CONTAINER_SERVICE = "container-service"  # a managed container scheduler's service (ECS)
    MANAGED_DATABASE = "managed-database"  # a database the cloud runs (RDS)
    LB_HOST = "lb-host"  # the machine a standalone proxy config runs on
