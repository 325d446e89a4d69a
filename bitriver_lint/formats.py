"""The formats bitriver-lint reads, in one registry: how a file of each is recognised, which
loader reads it and which builder puts it in the graph.

Adding a format touches three places: its loader module (``load(files, workspace, config)``
returning documents that carry their ``diagnostics``), its builder module (``nodes(docs, ctx)``
then ``edges(docs, ctx)``), and one entry of ``REGISTRY`` below, which carries its sniffing.

Discovery asks the entries in registry order, twice. First by name: the first entry that
claims the name wins (``Claim.YES``), or takes the file for itself pending a look inside
(``Claim.LOOK``: a ``*.key`` is a private key or nothing). Then, for a name no entry claimed,
by content (the first 64 KiB), asking only the entries that look inside such names: the first
``YES`` wins and a ``NO`` ends the search (SRS's nginx-like ``srs.conf`` is SRS's, never nginx's).

A file that looks like one of ours but is not read says why, so that nothing is dropped
without a word: an entry's ``not_read`` gives the reason for a file its content test turned
down (an Envoy bootstrap with only ``dynamic_resources``), and ``template_of`` recognises
templates and samples of our files (``unit.service.in``, ``haproxy.cfg.j2``,
``docker-compose.yml.dist``). Discovery lists them in the report's ``skipped``.

Loader and builder modules are named as strings and imported only when a scan finds a file of
that format, so the CLI starts fast and python-hcl2 or crossplane load only when needed.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bitriver_lint.builders.common import BuildContext
    from bitriver_lint.config import Config
    from bitriver_lint.model import Diagnostic
    from bitriver_lint.workspace import Workspace


class Claim(enum.Enum):
    YES = "yes"  # the file is this format's
    LOOK = "look"  # (by name) this format's or nobody's, as its content test decides
    NO = "no"  # (by content) nobody's: stop asking
    PASS = "pass"  # not this format's: ask the next one


@dataclass(frozen=True)
class FileName:
    """What sniffing looks at of a path, worked out once per file."""

    rel: str
    name: str
    lower: str  # the name in lower case
    parent: str  # the name of its directory

    @classmethod
    def of(cls, rel: str) -> FileName:
        parts = rel.split("/")
        if "." in parts or "" in parts[1:]:  # not a plain a/b/c path: let pathlib normalise it
            path = PurePosixPath(rel)
            return cls(rel, path.name, path.name.lower(), path.parent.name)
        # Discovery names thousands of files: plain string splitting is a tenth of pathlib's cost.
        name = parts[-1]
        return cls(rel, name, name.lower(), parts[-2] if len(parts) > 1 else "")

    def endswith(self, *suffixes: str) -> bool:
        """Whether the lower-cased name ends with one of ``suffixes`` (given in lower case)."""
        return self.lower.endswith(suffixes)


class Document(Protocol):
    """What the engine needs of every loaded document."""

    diagnostics: list[Diagnostic]


class Format(Protocol):
    """One file format: its sniffing, its load stage and its build stage."""

    @property
    def name(self) -> str: ...

    @property
    def stage(self) -> int:
        """Builders run in this order: proxies (stage 1) join the components others defined."""
        ...

    def by_name(self, file: FileName) -> Claim: ...

    def looks_inside(self, file: FileName) -> bool:
        """Whether ``by_content`` wants to see a file of this name no one claimed by name."""
        ...

    def by_content(self, file: FileName, head: str) -> Claim: ...

    def load(self, files: list[str], ws: Workspace, config: Config) -> Sequence[Document]: ...

    def nodes(self, docs: list[Any], ctx: BuildContext) -> None: ...

    def edges(self, docs: list[Any], ctx: BuildContext) -> None: ...


def _no_name(file: FileName) -> Claim:
    return Claim.PASS


def _no_content(file: FileName, head: str) -> Claim:
    return Claim.PASS


def _no_reason(file: FileName, head: str) -> str | None:
    return None


@dataclass(frozen=True)
class FileFormat:
    """A registry entry: a ``Format`` whose loader and builder are imported on first use."""

    name: str
    loader: str  # module with load(files, workspace, config) -> documents
    builder: str  # module with nodes(docs, ctx) and edges(docs, ctx)
    names: Callable[[FileName], Claim] = _no_name
    content: Callable[[FileName, str], Claim] = _no_content
    reads: tuple[str, ...] = ()  # name endings (lower case) whose content ``content`` judges
    # Directories (by name) whose files without an extension ``content`` judges too: Debian's
    # nginx keeps sites as sites-available/example.org, and stacks ship nginx/peertube.
    reads_in: tuple[str, ...] = ()
    stage: int = 0
    # Why a file whose content this format turned down is still worth a "skipped" line (it is
    # this format's, with nothing we can read); None: it is not this format's at all.
    skip: Callable[[FileName, str], str | None] = _no_reason

    def not_read(self, file: FileName, head: str) -> str | None:
        return self.skip(file, head) if self.looks_inside(file) else None

    def by_name(self, file: FileName) -> Claim:
        return self.names(file)

    def looks_inside(self, file: FileName) -> bool:
        return (bool(self.reads) and file.endswith(*self.reads)) or (
            file.parent in self.reads_in and "." not in file.name)

    def by_content(self, file: FileName, head: str) -> Claim:
        return self.content(file, head)

    def load(self, files: list[str], ws: Workspace, config: Config) -> Sequence[Document]:
        docs: Sequence[Document] = importlib.import_module(self.loader).load(files, ws, config)
        return docs

    def nodes(self, docs: list[Any], ctx: BuildContext) -> None:
        importlib.import_module(self.builder).nodes(docs, ctx)

    def edges(self, docs: list[Any], ctx: BuildContext) -> None:
        importlib.import_module(self.builder).edges(docs, ctx)


# -- sniffing, one pair of tests per format ---------------------------------------------------

def _pem_name(file: FileName) -> Claim:
    return Claim.LOOK if file.endswith(".key", ".pem") else Claim.PASS


def _pem_content(file: FileName, head: str) -> Claim:
    # Only a private key is ours (a secret in the tree); certificates are public.
    return Claim.YES if "PRIVATE KEY-----" in head else Claim.NO


_COMPOSE_NAME = re.compile(r"(docker-)?compose([.-][\w.-]*)?\.ya?ml", re.IGNORECASE)
# A top-level services: mapping (inline, or an indented key below). GitLab CI also has a
# top-level services:, but it is a list of images, and .gitlab-ci.yml is not a compose file.
_TOP_SERVICES = re.compile(r"^services\s*:[ \t]*(\{|(#.*)?\n(([ \t]*(#.*)?)?\n)*[ \t]+[^\s#-])", re.MULTILINE)
# Keys only compose services have: an image as a plain string, build, extends, or a compose
# setting such as restart or depends_on (override files often carry nothing else). A Helm
# values file may have a services: mapping too, but its image is a mapping (repository:, tag:).
_SERVICE_SOURCE = re.compile(r"(^[ \t]+|[{,][ \t]*)(image:[ \t]*[^\s#{]|(build|extends|env_file|depends_on|restart"
                             r"|healthcheck|container_name|network_mode|profiles):)", re.MULTILINE)


def _compose_name(file: FileName) -> Claim:
    return Claim.YES if _COMPOSE_NAME.fullmatch(file.name) else Claim.PASS


def _compose_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _TOP_SERVICES.search(head) and _SERVICE_SOURCE.search(head) else Claim.PASS


SYSTEMD_SUFFIXES = (".service", ".socket", ".timer", ".target", ".mount", ".path")
_SYSTEMD = re.compile(r"^\[(Unit|Service|Socket|Timer|Install)\]\s*$", re.MULTILINE)


def _systemd_name(file: FileName) -> Claim:
    if file.endswith(*SYSTEMD_SUFFIXES):
        return Claim.YES
    if file.endswith(".conf") and file.parent.endswith((".service.d", ".socket.d", ".timer.d")):
        return Claim.YES  # a drop-in
    return Claim.PASS


def _systemd_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _SYSTEMD.search(head) else Claim.PASS


def _terraform_name(file: FileName) -> Claim:
    return Claim.YES if file.endswith(".tf", ".tf.json") else Claim.PASS


_TFPLAN = re.compile(r'"format_version"\s*:.*"(planned_values|resource_changes)"', re.DOTALL)


def _tfplan_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _TFPLAN.search(head) else Claim.PASS


_ENVOY = re.compile(r"^(static_resources|dynamic_resources|admin)\s*:", re.MULTILINE)
_ENVOY_JSON = re.compile(r'"static_resources"\s*:')


_ENVOY_DYNAMIC = re.compile(r"^dynamic_resources\s*:|\"dynamic_resources\"\s*:", re.MULTILINE)
_ENVOY_XDS = re.compile(r"\b(lds_config|cds_config|ads_config)\b")
_ENVOY_LISTENERS = re.compile(r"^\s*(-\s+)?\"?listeners\"?\s*:", re.MULTILINE)


def _envoy_content(file: FileName, head: str) -> Claim:
    if _ENVOY_DYNAMIC.search(head) and _ENVOY_XDS.search(head) and not _ENVOY_LISTENERS.search(head):
        return Claim.PASS  # listeners from a control plane: see _envoy_skip
    if file.endswith(".json"):
        return Claim.YES if _ENVOY_JSON.search(head) else Claim.PASS
    return Claim.YES if _ENVOY.search(head) and ("listeners" in head or "clusters" in head) else Claim.PASS


def _envoy_skip(file: FileName, head: str) -> str | None:
    if _ENVOY_DYNAMIC.search(head) and _ENVOY_XDS.search(head) and not _ENVOY_LISTENERS.search(head):
        return ("an Envoy bootstrap with no static listeners (dynamic_resources: xDS): its listeners come "
                "from a control plane, so there is nothing static to read")
    return None


_CADDY_JSON = re.compile(r'"apps"\s*:\s*\{[^{}]*"http"')


def _caddy_name(file: FileName) -> Claim:
    if file.lower.startswith("caddyfile") or file.endswith("caddyfile", ".caddy"):
        return Claim.YES
    return Claim.PASS


def _caddy_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _CADDY_JSON.search(head) else Claim.PASS


# (a location may have a modifier: "location ^~ /x/ {"; a file of locations only is a fragment,
# see nginx_fragment below)
_NGINX = re.compile(r"^\s*(http|server|upstream|stream|events|location\s+[^\s{;]+(\s+[^\s{;]+)?|rtmp)\s*\{",
                    re.MULTILINE)
# SRS's own config (srs.conf) looks like nginx's but is not: SRS's entry reads it.
_SRS = re.compile(r"^\s*(vhost\s+\S+|http_api|http_server|rtc_server|srt_server)\s*\{", re.MULTILINE)


def _srs_name(file: FileName) -> Claim:
    # SRS's own layout (conf/srs.conf, conf/docker.conf in its tree; /etc/srs/srs.conf as
    # packaged): SRS's even when it cannot be read, so that the reason is a BRL001. Elsewhere
    # the content decides (see _srs_content).
    if file.parent in ("conf", "srs") and file.lower in ("srs.conf", "docker.conf"):
        return Claim.YES
    return Claim.PASS


def _srs_content(file: FileName, head: str) -> Claim:
    # A file named srs.conf is SRS's unless it has nginx's blocks: conf.d/srs.conf is often the
    # nginx site in front of SRS.
    if _SRS.search(head) or (file.lower == "srs.conf" and not _NGINX.search(head)):
        return Claim.YES
    return Claim.PASS
# HOCON and INI-like service configs (a recorder's "api { http { port = 2222 } }") may have an
# "http {" block too, but nginx never starts a statement with "name =": only "location = /x"
# and "if ($a = b)" put an "=" after their first word.
_ASSIGNMENT = re.compile(r"(?!(?:location|if)\b)[A-Za-z][\w.-]*[ \t]*=")


def _assigns(head: str) -> bool:
    """Whether a statement of the file is "name = value". Only a line that starts a statement
    counts: nginx continues a long directive on lines such as "max_size=4g inactive=2m" (a
    proxy_cache_path of an HLS edge), which are arguments, not assignments."""
    starts = True
    for raw in head.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if starts and _ASSIGNMENT.match(line):
            return True
        starts = line.endswith((";", "{", "}"))
    return False


def _nginx_name(file: FileName) -> Claim:
    if file.lower == "nginx.conf":
        return Claim.YES
    # The official nginx image renders /etc/nginx/templates/*.template with envsubst.
    return Claim.LOOK if file.endswith(".template") else Claim.PASS


def _nginx_content(file: FileName, head: str) -> Claim:
    if file.endswith(".template"):
        return Claim.YES if _NGINX.search(head) else Claim.NO
    if _SRS.search(head):
        return Claim.NO
    if _assigns(head):
        return Claim.PASS
    if file.endswith(".cfg") or "haproxy" in file.lower:
        return Claim.PASS  # named for HAProxy: its if anyone's
    return Claim.YES if _NGINX.search(head) else Claim.PASS


# A section header: "listen stats" or "listen stats :8404", never "listen 1935;" (nginx, SRS).
_HAPROXY = re.compile(r"^\s*(frontend|backend|listen|defaults)(\s+[^\s;{]+){0,2}\s*$", re.MULTILINE)


def _haproxy_name(file: FileName) -> Claim:
    return Claim.YES if file.lower == "haproxy.cfg" else Claim.PASS


# HAProxy's conditional blocks and messages (".if feature(QUIC)", ".notice 'text'"): no other
# format we read has lines like these, and a file may start with one (a "traces" section in
# an ".if version_atleast(...)" block has no frontend to recognise it by).
_HAPROXY_DIRECTIVE = re.compile(r"^[ \t]*\.(if|elif|else|endif|notice|warning|alert|diag)\b", re.MULTILINE)


def _haproxy_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _HAPROXY.search(head) or _HAPROXY_DIRECTIVE.search(head) else Claim.PASS


# Host firewalls. UFW commands live in shell scripts, cloud-init and Ansible YAML: a ufw command
# at the start of a line (after "- ", "sudo", a quote or cloud-init's "[") or an Ansible ufw task.
_UFW = re.compile(r"^[ \t]*(?:-[ \t]+)?['\"\[]?[ \t]*(?:sudo[ \t]+)?(?:/usr/s?bin/)?ufw['\"]?[ \t]*[, \t][ \t]*['\"]?"
                  r"(?:--force[ \t]+)?(?:allow|deny|reject|limit|default|enable|insert|prepend|rule)\b"
                  r"|^[ \t]*(?:-[ \t]+)?(?:community\.general\.)?ufw[ \t]*:[ \t]*$", re.MULTILINE)


def _ufw_name(file: FileName) -> Claim:
    return Claim.YES if file.lower in ("user.rules", "user6.rules") else Claim.PASS


def _ufw_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _UFW.search(head) else Claim.PASS


_NFT = re.compile(r"^[ \t]*(table[ \t]+(ip|ip6|inet|netdev)[ \t]+\S+[ \t]*\{|add[ \t]+(table|chain|rule)[ \t])"
                  r"|^#!\S*/nft\b", re.MULTILINE)


def _nft_name(file: FileName) -> Claim:
    return Claim.YES if file.lower == "nftables.conf" or file.endswith(".nft") else Claim.PASS


def _nft_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _NFT.search(head) else Claim.PASS


_IPTABLES = re.compile(r"^\*(filter|raw|mangle)[ \t]*$", re.MULTILINE)
_IPTABLES_RULE = re.compile(r"^(:[\w-]+[ \t]+(ACCEPT|DROP|-)[ \t]|-A[ \t]+\S+)", re.MULTILINE)


def _iptables_name(file: FileName) -> Claim:
    if file.lower in ("rules.v4", "rules.v6", "iptables.rules", "ip6tables.rules"):
        return Claim.LOOK
    return Claim.PASS


def _iptables_content(file: FileName, head: str) -> Claim:
    found = bool(_IPTABLES.search(head)) and bool(_IPTABLES_RULE.search(head))
    if found:
        return Claim.YES
    return Claim.NO if file.lower in ("rules.v4", "rules.v6", "iptables.rules", "ip6tables.rules") else Claim.PASS


_CLOUDFLARED_TUNNEL = re.compile(r"^tunnel\s*:", re.MULTILINE)
_CLOUDFLARED_INGRESS = re.compile(r"^ingress\s*:", re.MULTILINE)


def _cloudflared_name(file: FileName) -> Claim:
    # cloudflared looks for config.yml in ~/.cloudflared and /etc/cloudflared.
    if file.lower in ("config.yml", "config.yaml") and file.parent.lower() in ("cloudflared", ".cloudflared"):
        return Claim.YES
    return Claim.PASS


def _cloudflared_content(file: FileName, head: str) -> Claim:
    return Claim.YES if _CLOUDFLARED_TUNNEL.search(head) and _CLOUDFLARED_INGRESS.search(head) else Claim.PASS


_LOADERS = "bitriver_lint.loaders."
_BUILDERS = "bitriver_lint.builders."
_CONF = (".conf", ".cfg")

# Registry order is the order of both sniffing passes (see the module docstring).
REGISTRY: tuple[Format, ...] = (
    FileFormat("pem", _LOADERS + "pem", _BUILDERS + "pem", _pem_name, _pem_content),
    FileFormat("compose", _LOADERS + "compose", _BUILDERS + "compose", _compose_name, _compose_content,
               (".yml", ".yaml")),
    FileFormat("systemd", _LOADERS + "systemd", _BUILDERS + "systemd", _systemd_name, _systemd_content, _CONF),
    FileFormat("terraform", _LOADERS + "terraform", _BUILDERS + "terraform", _terraform_name),
    FileFormat("tfplan", _LOADERS + "tfplan", _BUILDERS + "terraform", content=_tfplan_content, reads=(".json",)),
    FileFormat("envoy", _LOADERS + "envoy", _BUILDERS + "proxy", content=_envoy_content,
               reads=(".yml", ".yaml", ".json"), stage=1, skip=_envoy_skip),
    FileFormat("caddy", _LOADERS + "caddy", _BUILDERS + "proxy", _caddy_name, _caddy_content, (".json",), stage=1),
    # SRS's nginx-like config: asked before nginx, whose content test would turn it down.
    FileFormat("srs", _LOADERS + "srs", _BUILDERS + "srs", _srs_name, _srs_content, (".conf",), stage=1),
    FileFormat("nginx", _LOADERS + "nginx", _BUILDERS + "proxy", _nginx_name, _nginx_content, _CONF, stage=1,
               reads_in=("sites-available", "sites-enabled", "nginx")),
    FileFormat("haproxy", _LOADERS + "haproxy", _BUILDERS + "proxy", _haproxy_name, _haproxy_content, _CONF,
               stage=1),
    FileFormat("cloudflared", _LOADERS + "cloudflared", _BUILDERS + "cloudflared", _cloudflared_name,
               _cloudflared_content, (".yml", ".yaml"), stage=1),
    # Host firewalls narrow the hosts the formats above build, so they are built after them.
    FileFormat("ufw", _LOADERS + "ufw", _BUILDERS + "hostfw", _ufw_name, _ufw_content,
               (".sh", ".bash", ".yml", ".yaml", "user-data", "user_data", ".cfg"), stage=2),
    FileFormat("nftables", _LOADERS + "nftables", _BUILDERS + "hostfw", _nft_name, _nft_content, (".conf",), stage=2),
    FileFormat("iptables", _LOADERS + "iptables", _BUILDERS + "hostfw", _iptables_name, _iptables_content,
               (".rules", ".v4", ".v6", ".conf", ".save"), stage=2),
)

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in REGISTRY}  # the registry by name


# -- templates and samples: our files, not as they are deployed -----------------------------------

# Rendered before use (Jinja, Go templates, autoconf/meson "@VAR@" files) or kept as a sample to
# copy: the file with the suffix removed is ours, this one is not read. nginx's ``*.template``
# is not here: the official image renders it with envsubst, and the nginx entry reads it so.
_TEMPLATES = {".j2": "a Jinja template", ".jinja": "a Jinja template", ".jinja2": "a Jinja template",
              ".tmpl": "a template", ".tpl": "a template", ".in": "a build-time template"}
_SAMPLES = (".dist", ".example", ".sample")


def template_of(file: FileName) -> tuple[FileName, str] | None:
    """For a template or sample of a file: the name it stands for, and the reason it is not
    read, with ``{format}`` for the format that name is."""
    for suffix, what in _TEMPLATES.items():
        if file.endswith(suffix) and len(file.name) > len(suffix):
            return (FileName.of(file.rel[:-len(suffix)]),
                    f"{what} ({suffix}) of a {{format}} file: rendered before use, so not read as it stands")
    for suffix in _SAMPLES:
        if file.endswith(suffix) and len(file.name) > len(suffix):
            return (FileName.of(file.rel[:-len(suffix)]),
                    f"a sample ({suffix}) of a {{format}} file: not the deployed file, so not read")
    return None


# -- nginx fragments ------------------------------------------------------------------------------

_NGINX_CONTAINER = re.compile(r"^\s*(http|server|stream|upstream|events|mail|rtmp|map\s+\S+\s+\S+)\s*\{", re.MULTILINE)
_NGINX_LOCATION = re.compile(r"^\s*location\s+[^{;]+\{", re.MULTILINE)
NGINX_INCLUDE = re.compile(r"^\s*include\s+([^;#\s]+)\s*;", re.MULTILINE)


def nginx_fragment(head: str) -> bool:
    """Whether an nginx file holds only ``location`` blocks (and directives): a piece of some
    ``server`` block, which nginx would refuse on its own ("location" is not allowed here)."""
    return bool(_NGINX_LOCATION.search(head)) and not _NGINX_CONTAINER.search(head)
