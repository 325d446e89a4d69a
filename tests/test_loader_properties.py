"""Property tests: a scanned tree is hostile, and loaders never raise on it.

Every loader is fed random text and fixture files of its own format mangled the way a bad
merge or a careless edit mangles them (flipped bytes, lost and doubled lines, stray braces,
quotes and ``${``, truncation). Whatever comes in, the loader returns documents, bad input is
a diagnostic, and every position it reports names a file of the tree and a line and column
inside that file. A file that is not text (bad UTF-8, NUL bytes) must be reported, not
dropped.

How many examples run comes from the hypothesis profile (``ci`` by default, ``long`` with
``--hypothesis-profile=long``): see conftest.py.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bitriver_lint.config import Config
from bitriver_lint.loaders import (
    caddy,
    compose,
    envoy,
    haproxy,
    iptables,
    nftables,
    nginx,
    pem,
    systemd,
    terraform,
    tfplan,
    ufw,
)
from bitriver_lint.loaders.envfile import parse_env
from bitriver_lint.loaders.yamlpos import YamlError, load_documents, plain
from bitriver_lint.model import Diagnostic, Location
from bitriver_lint.workspace import FileProblem, Workspace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Loader = Callable[[list[str], Workspace], list[Any]]

# Written into the tree beside a mangled env file, so both readers of env files read it.
ENV_READERS = {
    "docker-compose.yml": "services:\n  app:\n    image: app:${TAG}\n    env_file: .env\n"
                          "    ports: [\"${BIND:-127.0.0.1}:8080:8080\"]\n",
    "app.service": "[Service]\nEnvironmentFile=/etc/app/.env\nExecStart=/usr/bin/app\n",
}

# Nothing in fixtures/ is Caddy's JSON config; this one has what the loader reads.
CADDY_JSON = """{
  "apps": {
    "http": {
      "servers": {
        "edge": {
          "listen": [":443", ":80"],
          "tls_connection_policies": [{}],
          "routes": [
            {"match": [{"path": ["/api/*"]}],
             "handle": [{"handler": "reverse_proxy",
                         "health_checks": {"active": {"uri": "/healthz"}},
                         "upstreams": [{"dial": "10.0.1.10:8080"}, {"dial": "10.0.1.11:8080"}]}]},
            {"handle": [{"handler": "subroute",
                         "routes": [{"handle": [{"handler": "reverse_proxy",
                                                 "upstreams": [{"dial": "web:3000"}]}]}]}]}
          ]
        }
      }
    }
  }
}
"""

# Inserted anywhere into any format: what breaks a parser's idea of nesting and quoting.
INSERTS = ("{", "}", "[", "]", '"', "'", "`", "${", "${A:-", "${A:-${", "}}", "$$", "\\", "\\\n", "\n", "\r",
           "\t", ":", ";", "#", "=", "- ", "  ", "%i", "{$X}", "{$X:y}", "<<: *a", "&a ", "*a", "\x00", "\xff",
           "\u2028", "\x0c", "\ufeff", "é", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ",
           "!!seq ", "!!set ", "!Ref ", ".inf", "-.nan", "99999999999999999999", "-1", "0x", "1e400", "²", "٣", ":²",
           "9" * 4400)


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # where random text is written
    seeds: tuple[str, ...]  # fixture files, relative to fixtures/, that mangled inputs start from
    owns: Callable[[str], bool]  # which files of the tree the loader is given
    load: Loader
    tokens: tuple[str, ...]  # words of the format, for random text that gets past the first line
    companions: dict[str, str] = dataclasses.field(default_factory=dict)  # written with random text


def _name(rel: str) -> str:
    return PurePosixPath(rel).name.lower()


def _is_unit(rel: str) -> bool:
    parent = PurePosixPath(rel).parent.name
    return _name(rel).endswith(systemd.UNIT_SUFFIXES) or (rel.endswith(".conf") and parent.endswith(".d"))


def _seeds(*patterns: str) -> tuple[str, ...]:
    found = {p.relative_to(FIXTURES).as_posix() for pattern in patterns for p in FIXTURES.glob(pattern)}
    return tuple(sorted(f for f in found if (FIXTURES / f).is_file()))


def _config_loader(load: Callable[[list[str], Workspace, Config], list[Any]]) -> Loader:
    return lambda rels, ws: load(rels, ws, Config())


def _env_readers(rels: list[str], ws: Workspace) -> list[Any]:
    del rels
    config = Config()
    return [*compose.load(["docker-compose.yml"], ws, config), *systemd.load(["app.service"], ws, config)]


CASES = [
    Case("compose", "docker-compose.yml", _seeds("*/docker-compose*.yml", "*/compose.yaml"),
         lambda rel: compose.is_compose_name(_name(rel)), _config_loader(compose.load),
         ("services:", "\n  api:", "\n    image: ", "ports:", "\n      - ", '"8080:80"', "extends:", "file: ",
          "service: ", "env_file:", "environment:", "depends_on:", "healthcheck:", "test:", "deploy:", "volumes:",
          "secrets:", "profiles:", "${TAG}", "${X:?no}", "x-a: &a", "<<: *a", "[", "]", "{", "}"),
         {".env": "TAG=1\nBIND=0.0.0.0\n"}),
    Case("envfile", ".env", _seeds("**/.env", "**/*.env"), lambda rel: False, _env_readers,
         ("A=", "export ", "B='", 'C="', "\\n", "${A}", "${A:-x}", "$$", "#", " #", "\n", "=", "KEY"),
         dict(ENV_READERS)),
    Case("systemd", "units/app.service", _seeds("**/*.service", "**/*.socket", "**/*.service.d/*.conf"),
         _is_unit, _config_loader(systemd.load),
         ("[Unit]", "[Service]", "[Socket]", "\nExecStart=", "Environment=", "EnvironmentFile=", "-/etc/x.env",
          "Restart=", "ListenStream=", "%i", "%n", "%", "\\\n", "\n", "=", ";", "#"),
         {"units/app.service.d/override.conf": "[Service]\nRestart=always\n"}),
    Case("nginx", "nginx.conf", _seeds("**/nginx.conf"), lambda rel: _name(rel) == "nginx.conf",
         _config_loader(nginx.load),
         ("http", "stream", "rtmp", "server", "upstream", "location", "listen", "443 ssl;", "proxy_pass",
          "http://app:8080;", "include", "nginx.conf;", "*.conf;", "/etc/passwd;", "allow", "deny all;",
          "return 301 https://$host;", "if ($scheme", "{", "}", ";", '"', "'", "#", "${PORT}")),
    Case("haproxy", "haproxy.cfg", _seeds("**/haproxy.cfg"), lambda rel: _name(rel) == "haproxy.cfg",
         _config_loader(haproxy.load),
         ("frontend fe", "backend be", "listen ls", "defaults", "\n    ", "bind :443 ssl crt x", "bind",
          "acl api path_beg /api", "use_backend be if api", "default_backend be", "server a 10.0.0.1:80 check",
          "option httpchk GET /", "http-check send meth", "uri", "http-request deny unless", "redirect scheme https",
          "{", "}", '"${PORT}"', '"${X-8080}"', "#", "'", "\\")),
    Case("caddy", "Caddyfile", _seeds("**/Caddyfile"), lambda rel: _name(rel) == "caddyfile",
         _config_loader(caddy.load),
         ("live.example.com", ":8080", "http://", "https://", "(snip)", "import snip", "handle", "handle_path",
          "route", "/api/*", "@api path /api/*", "reverse_proxy", "to", "health_uri", "lb_policy cookie", "redir",
          "{$DOMAIN}", "{$PORT:443}", "{", "}", '"', "`", "#", " #", "\n\t")),
    Case("caddy-json", "caddy.json", ("caddy.json",), lambda rel: _name(rel) == "caddy.json",
         _config_loader(caddy.load),
         ('"apps"', '"http"', '"servers"', '"listen"', '"routes"', '"handle"', '"handler"', '"subroute"',
          '"reverse_proxy"', '"upstreams"', '"dial"', '"match"', '"path"', "{", "}", "[", "]", ":", ",")),
    Case("envoy", "envoy.yaml", _seeds("**/envoy.yaml"), lambda rel: _name(rel) == "envoy.yaml",
         _config_loader(envoy.load),
         ("static_resources:", "listeners:", "clusters:", "\n  - ", "name: ", "address:", "socket_address:",
          "port_value: ", "filter_chains:", "filters:", "typed_config:", "transport_socket:", "route_config:",
          "virtual_hosts:", "routes:", "match:", "prefix: /", "cluster: ", "load_assignment:", "endpoints:",
          "lb_endpoints:", "health_checks:", "http_health_check:", "[", "]", "{", "}")),
    Case("pem", "live.key", _seeds("**/*.key", "**/*.pem"), lambda rel: _name(rel).endswith((".key", ".pem")),
         _config_loader(pem.load),
         ("-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----", "-----END PRIVATE KEY-----", "MII",
          "\n")),
    Case("terraform", "main.tf", _seeds("**/*.tf", "**/*.tfvars"),
         lambda rel: rel.endswith((".tf", ".tf.json")), _config_loader(terraform.load),
         ('resource "aws_instance" "a"', 'variable "v"', "locals", 'module "m"', 'source = "./m"', "default",
          "count", "for_each", "dynamic", "content", "each.value", "var.v", "local.x", "${", "%{", "}", "{", "[",
          "]", "(", ")", "=", "?", ":", '"', "<<EOT\n", "\nEOT\n", "file(", "templatefile(", "cidrsubnet(", "#"),
         {"terraform.tfvars": 'v = "x"\n'}),
    Case("terraform-json", "main.tf.json", _seeds("**/*.tf.json", "**/*.tfvars.json"),
         lambda rel: rel.endswith((".tf", ".tf.json")), _config_loader(terraform.load),
         ('"resource"', '"variable"', '"locals"', '"module"', '"aws_instance"', '"default"', '"${var.v}"',
          '"${', '"//"', "{", "}", "[", "]", ":", ",", '"')),
    Case("tfplan", "plan.json", _seeds("**/plan.json"), lambda rel: _name(rel) == "plan.json",
         _config_loader(tfplan.load),
         ('"planned_values"', '"root_module"', '"resources"', '"child_modules"', '"configuration"', '"address"',
          '"mode"', '"managed"', '"values"', '"expressions"', '"references"', "{", "}", "[", "]", ":", ",", '"')),
    Case("ufw", "deploy/firewall.sh", _seeds("*/deploy/firewall.sh", "*/ingest-b.yaml", "*/etc/ufw/user.rules",
                                             "*/roles/*/tasks/*.yml"),
         lambda rel: rel.endswith((".sh", ".yaml", ".yml", "user.rules")), _config_loader(ufw.load),
         ("ufw ", "sudo ufw ", "allow ", "deny ", "limit ", "reject ", "default deny incoming", "--force enable",
          "insert 1 ", "in on eth0 ", "proto tcp ", "from 10.0.0.0/8 ", "to any port ", "22/tcp", "80,443/tcp",
          "6000:6007/tcp", "app OpenSSH", "'Nginx Full'", "$OFFICE", "OFFICE=1.2.3.4", "&&", ";", "\n", "- [ufw, ",
          "community.general.ufw:", "rule: allow", "port: '22'", "### tuple ### allow tcp 22 0.0.0.0/0 any "
          "0.0.0.0/0 in")),
    Case("nftables", "etc/nftables.conf", _seeds("*/etc/nftables.conf", "*/etc/nftables.d/*.nft"),
         lambda rel: _name(rel) == "nftables.conf" or rel.endswith(".nft"), _config_loader(nftables.load),
         ("table inet filter", "table ip f", "chain input", "chain forward", "set s", "{", "}", ";",
          "type filter hook input priority 0;", "hook forward", "hook prerouting priority -150;", "policy drop;",
          "policy accept;", "tcp dport", "udp dport", "{ 80, 443 }", "1000-2000", "ip saddr", "!= ", "@s", "$D",
          "define D = 10.0.0.0/8", "ct state established,related", "iif lo", "accept", "drop", "return", "jump x",
          "elements = { 10.0.0.0/8 }", 'include "x.nft"', 'include "/etc/*.nft"', "add rule inet filter input ")),
    Case("iptables", "etc/iptables/rules.v4", _seeds("*/etc/iptables/rules.v4", "*/etc/iptables/rules.v6"),
         lambda rel: _name(rel) in ("rules.v4", "rules.v6"), _config_loader(iptables.load),
         ("*filter", "*raw", "COMMIT", ":INPUT DROP [0:0]", ":DOCKER-USER - [0:0]", ":X - [0:0]", "-A INPUT ",
          "-A DOCKER-USER ", "-I INPUT 1 ", "-p tcp ", "-s 10.0.0.0/8 ", "! ", "-i lo ", "-i eth0 ", "--dport 22 ",
          "-m multiport --dports 80,443 ", "-m conntrack --ctstate NEW ", "-m set --match-set s src ", "-j ACCEPT",
          "-j DROP", "-j RETURN", "-j X", "-g X", "\n")),
]
_BY_NAME = {case.name: case for case in CASES}


def _seed_bytes(seed: str) -> bytes:
    if seed == "caddy.json":
        return CADDY_JSON.encode()
    return (FIXTURES / seed).read_bytes()


# -- what a tree looks like -----------------------------------------------------------------


@dataclass
class Tree:
    root: Path
    files: dict[str, bytes]  # everything written, root-relative
    mangled: str  # the file the example is about


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _fixture_tree(case: Case, seed: str, data: bytes) -> tuple[dict[str, bytes], str]:
    """The seed's fixture folder (its files of this format and what they read) with ``data``
    in place of the seed; for env files, the seed's text as ``.env`` beside its readers."""
    if case.name == "envfile":
        return {".env": data, **{k: v.encode() for k, v in case.companions.items()}}, ".env"
    if seed == "caddy.json":
        return {"caddy.json": data}, "caddy.json"
    top, _, rest = seed.partition("/")
    files: dict[str, bytes] = {}
    for path in sorted((FIXTURES / top).rglob("*")):
        rel = path.relative_to(FIXTURES / top).as_posix()
        if path.is_file() and path.name not in ("expected.yaml", ".bitriver-lint.yaml", ".gitignore"):
            files[rel] = path.read_bytes()
    files[rest] = data
    return files, rest


# -- inputs ---------------------------------------------------------------------------------


def random_text(tokens: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    piece = st.one_of(st.sampled_from(tokens), st.sampled_from(INSERTS), st.text(max_size=6))
    text = st.lists(piece, max_size=50).map("".join).map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(text, text, text, st.binary(max_size=120))


@st.composite
def mangled(draw: st.DrawFn, data: bytes, tokens: tuple[str, ...]) -> bytes:
    """``data`` after one to four edits of the kinds that break real files."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "duplicate", "insert", "insert", "truncate", "swap"]))
        lines = data.splitlines(keepends=True)
        if kind == "flip" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
        elif kind in ("cut", "duplicate", "swap") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "cut":
                del lines[i]
            elif kind == "duplicate":
                lines.insert(i, lines[i])
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            data = b"".join(lines)
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            token = draw(st.sampled_from(INSERTS + tokens)).encode("utf-8", "surrogatepass")
            data = data[:at] + token + data[at:]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
    return data


# -- what must hold -------------------------------------------------------------------------


def reachable(value: Any, limit: int = 200_000) -> Iterator[Any]:
    """Every Location and Diagnostic inside ``value``: dataclass fields, containers and the
    positions LDict/LList carry; at most ``limit`` objects are looked at."""
    seen: set[int] = set()
    stack = [value]
    steps = 0
    while stack and steps < limit:
        item = stack.pop()
        steps += 1
        if isinstance(item, (Location, Diagnostic)):
            yield item
            if isinstance(item, Diagnostic):
                stack.append(item.location)
            continue
        if item is None or isinstance(item, (str, bytes, int, float)) or callable(item) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, tuple) and len(item) == 4 and isinstance(item[0], str) and isinstance(item[1], int):
            continue  # a Terraform syntax node: positions as plain numbers, no Location inside
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        if dataclasses.is_dataclass(item):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())  # LDict.loc, key_locs, value_locs; LList.item_locs


def line_count(data: bytes) -> int:
    """The most lines any reader could see in ``data`` (``\\n`` only, or every break
    ``str.splitlines`` knows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return max(data.count(b"\n") + 1, len(data.splitlines()))
    return max(text.count("\n") + 1, len(text.splitlines()))


def check_position(tree: Tree, location: Location, lines: dict[str, int]) -> None:
    path = location.path
    assert isinstance(path, str) and path, f"{location!r}: no file"
    parts = PurePosixPath(path).parts
    assert not path.startswith("/") and ".." not in parts, f"{location!r}: not a path inside the tree"
    if path not in lines:
        assert (tree.root / path).is_file(), f"{location!r}: not a file of the tree"
        lines[path] = line_count((tree.root / path).read_bytes())
    assert isinstance(location.line, int) and 1 <= location.line <= lines[path] + 1, (
        f"{location!r}: line outside the file's {lines[path]} lines")
    assert isinstance(location.column, int) and location.column >= 1, f"{location!r}: column before the line"


def check_documents(tree: Tree, docs: Any) -> None:
    lines: dict[str, int] = {}
    diagnostics: list[Diagnostic] = []
    for found in reachable(docs):
        if isinstance(found, Diagnostic):
            assert found.rule_id.startswith("BRL") and isinstance(found.message, str) and found.message, found
            diagnostics.append(found)
        else:
            check_position(tree, found, lines)
    try:
        Workspace(tree.root).read_text(tree.mangled)
    except FileProblem as problem:
        assert any(d.location.path == tree.mangled for d in diagnostics), (
            f"{tree.mangled} cannot be read ({problem.message}) and nothing says so")


def run(case: Case, files: dict[str, bytes], mangled_rel: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, files)
        tree = Tree(root, files, mangled_rel)
        rels = sorted(rel for rel in files if case.owns(rel))
        docs = case.load(rels, Workspace(root))
        assert isinstance(docs, list)
        check_documents(tree, docs)


# -- the properties -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [case.name for case in CASES])
@given(data=st.data())
def test_random_text_never_raises_and_positions_stay_in_the_file(name: str, data: st.DataObject) -> None:
    case = _BY_NAME[name]
    content = data.draw(random_text(case.tokens), label="content")
    files = {case.target: content, **{k: v.encode() for k, v in case.companions.items()}}
    run(case, files, case.target)


@pytest.mark.parametrize("name", [case.name for case in CASES])
@given(data=st.data())
def test_mangled_fixtures_never_raise_and_positions_stay_in_the_file(name: str, data: st.DataObject) -> None:
    case = _BY_NAME[name]
    assert case.seeds, f"no fixture of the {name} format to start from"
    seed = data.draw(st.sampled_from(case.seeds), label="seed")
    content = data.draw(mangled(_seed_bytes(seed), case.tokens), label="content")
    files, rel = _fixture_tree(case, seed, content)
    run(case, files, rel)


# -- documents of the right shape with the wrong contents ----------------------------------
# Random text seldom gets past a YAML or JSON parser into what a loader makes of the data; these
# build real documents from each format's own keys, with any value at any depth.

_SCALAR_WORDS = ("", "0", "-1", "80", "443", "65536", "8080:80", "127.0.0.1:80:80", "[::1]:53:53/udp", "1-70000",
                 "80/udp", "${X}", "${X:-1}", "${X:?}", "${", "$$", "a=b", "=", "CMD", "CMD-SHELL", "NONE", "./x",
                 "../x", "/etc/passwd", ".", "/", ".env", "api", "db", "0.0.0.0", "::", "0.0.0.0/0", "/api", "https",
                 "tcp", "unix:/x", "%i")


def _tree(keys: tuple[str, ...], words: tuple[str, ...]) -> st.SearchStrategy[Any]:
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                       st.sampled_from(_SCALAR_WORDS + words), st.text(max_size=6))
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys), st.text(max_size=4), st.integers(-2, 2))
    return st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=6), max_leaves=30)


def _objects(keys: tuple[str, ...], words: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), _tree(keys, words), max_size=8)


_COMPOSE_KEYS = ("image", "build", "ports", "expose", "environment", "env_file", "healthcheck", "restart", "deploy",
                 "volumes", "tmpfs", "secrets", "depends_on", "network_mode", "entrypoint", "command", "networks",
                 "hostname", "container_name", "links", "profiles", "extends", "target", "published", "host_ip",
                 "protocol", "path", "service", "file", "test", "disable", "replicas", "restart_policy", "condition",
                 "resources", "limits", "cpus", "memory", "source", "type", "read_only", "aliases", "required")
_ENVOY_KEYS = ("name", "address", "socket_address", "port_value", "filter_chains", "filters", "typed_config", "@type",
               "transport_socket", "route_config", "virtual_hosts", "routes", "match", "prefix", "path", "route",
               "cluster", "redirect", "https_redirect", "require_tls", "load_assignment", "endpoints", "lb_endpoints",
               "endpoint", "health_checks", "http_health_check", "method", "lb_policy")
_ENVOY_WORDS = ("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "envoy.filters.network.http_connection_manager", "envoy.filters.network.tcp_proxy", "ALL",
                "EXTERNAL_ONLY", "RING_HASH", "MAGLEV")
_CADDY_KEYS = ("listen", "routes", "match", "path", "handle", "handler", "routes", "upstreams", "dial",
               "health_checks", "active", "uri", "tls_connection_policies")
_CADDY_WORDS = ("reverse_proxy", "subroute", ":443", ":80", "10.0.0.1:8080", "/api/*")
_PLAN_KEYS = ("resources", "child_modules", "address", "mode", "type", "name", "values", "expressions", "references",
              "ingress", "cidr_blocks", "from_port", "to_port", "security_groups", "tags")
_PLAN_WORDS = ("managed", "data", "aws_security_group.api", "aws_security_group.api.id", "aws_instance.a[0]",
               "aws_security_group", "aws_lb_listener")
_TF_KEYS = ("aws_instance", "aws_security_group", "aws_lb", "api", "default", "source", "count", "for_each",
            "ingress", "tags", "dynamic", "content", "sensitive", "value", "type", "//", "user_data", "port",
            "cidr_blocks", "depends_on")
_TF_WORDS = ("${var.x}", "${local.y}", "./m", "../m", "${count.index}", '${file("x")}', "${each.value}",
             "%{ if var.x }a%{ endif }", "${var.x[0]}", "${module.m.out}", "${aws_instance.api.id}", "${1 + }")
_TF_TOP = ("resource", "data", "variable", "output", "module", "provider", "locals", "terraform", "//")


def _documents(name: str) -> st.SearchStrategy[Any]:
    if name == "compose":
        services = st.dictionaries(st.sampled_from(["api", "db", "web"]), _objects(_COMPOSE_KEYS, ()), max_size=3)
        return st.fixed_dictionaries({"services": services}, optional={"name": _tree(_COMPOSE_KEYS, ()),
                                                                       "x-common": _tree(_COMPOSE_KEYS, ())})
    if name == "envoy":
        objects = st.lists(_objects(_ENVOY_KEYS, _ENVOY_WORDS), max_size=3)
        return st.fixed_dictionaries({"static_resources": st.fixed_dictionaries(
            {}, optional={"listeners": objects, "clusters": objects})})
    if name == "caddy-json":
        servers = st.dictionaries(st.sampled_from(["edge", "srv0"]), _objects(_CADDY_KEYS, _CADDY_WORDS), max_size=2)
        return st.fixed_dictionaries({"apps": st.fixed_dictionaries({"http": st.fixed_dictionaries(
            {"servers": servers})})})
    if name == "tfplan":
        module = _objects(_PLAN_KEYS, _PLAN_WORDS)
        return st.fixed_dictionaries({}, optional={
            "planned_values": st.fixed_dictionaries({"root_module": module}),
            "configuration": st.fixed_dictionaries({"root_module": module})})
    assert name == "terraform-json"
    return st.dictionaries(st.sampled_from(_TF_TOP), _tree(_TF_KEYS, _TF_WORDS), max_size=5)


_STRUCTURED = ("compose", "envoy", "caddy-json", "tfplan", "terraform-json")


@pytest.mark.parametrize("name", _STRUCTURED)
@given(data=st.data())
def test_documents_of_any_shape_never_raise_and_positions_stay_in_the_file(name: str, data: st.DataObject) -> None:
    case = _BY_NAME[name]
    document = data.draw(_documents(name), label="document")
    if name in ("compose", "envoy"):
        content = yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()
    else:
        content = json.dumps(document, ensure_ascii=False).encode()
    if data.draw(st.booleans(), label="mangle"):
        content = data.draw(mangled(content, case.tokens), label="mangled")
    files = {case.target: content, **{k: v.encode() for k, v in case.companions.items()}}
    run(case, files, case.target)


def _text_inputs(tokens: tuple[str, ...], seeds: tuple[str, ...]) -> st.SearchStrategy[str]:
    def decoded(data: bytes) -> str:
        return data.decode("utf-8", "replace")

    fixtures = st.sampled_from(seeds).flatmap(lambda seed: mangled(_seed_bytes(seed), tokens))
    return st.one_of(random_text(tokens), fixtures).map(decoded)


@given(text=_text_inputs(_BY_NAME["envfile"].tokens, _BY_NAME["envfile"].seeds), interpolation=st.booleans())
def test_parse_env_never_raises_and_positions_stay_in_the_text(text: str, interpolation: bool) -> None:
    env = parse_env(text, "x.env", variables={"A": "1"}, interpolation=interpolation)
    count = max(text.count("\n") + 1, len(text.splitlines()))
    for found in reachable(env):
        location = found.location if isinstance(found, Diagnostic) else found
        assert location.path == "x.env"
        assert 1 <= location.line <= count + 1 and location.column >= 1, location


_YAML_SEEDS = _seeds("*/docker-compose.yml", "**/envoy.yaml", "*/expected.yaml", "**/common.yml", "**/plan.json")
_YAML_TOKENS = ("key: ", "\n- ", "\n  ", "&a ", "*a", "<<: *a", "<<: [*a, *b]", "!!binary ", "!Ref ", "!!int ",
                "!!float ", "!!timestamp ", "? ", "---\n", "...\n", "|\n", ">-\n", "{", "}", "[", "]", ",", "'", '"',
                "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "@", "\t")


@given(text=_text_inputs(_YAML_TOKENS, _YAML_SEEDS))
def test_yamlpos_raises_only_yaml_error_and_positions_stay_in_the_text(text: str) -> None:
    count = max(text.count("\n") + 1, len(text.splitlines()))
    try:
        documents = load_documents(text, "f.yml")
    except YamlError as exc:
        assert exc.message and 1 <= exc.line <= count + 1 and exc.column >= 1, (exc.message, exc.line, exc.column)
        return
    plain(documents)
    for location in reachable(documents):
        assert isinstance(location, Location) and location.path == "f.yml"
        assert 1 <= location.line <= count + 1 and location.column >= 1, location



# -- what the properties found, kept as plain examples ----------------------------------------


def _load_one(case: str, name: str, text: str | bytes) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode() if isinstance(text, str) else text)
        docs = _BY_NAME[case].load([name], Workspace(root))
        check_documents(Tree(root, {}, name), docs)
        return docs


def test_nginx_file_ending_inside_a_directive_is_brl001_at_the_end() -> None:
    # crossplane gives a bare StopIteration here: no message, no line.
    (doc,) = _load_one("nginx", "nginx.conf", "events {}\nuser nginx\n\n")
    assert [(d.message, str(d.location)) for d in doc.diagnostics] == [
        ('unexpected end of file, expecting ";" or "}"', "nginx.conf:2:11")]


def test_systemd_directory_of_unreadable_units_is_placed_at_a_unit() -> None:
    (tree,) = _load_one("systemd", "units/app.service", b"[Service]\nExecStart=/bin/\xff\n")
    assert str(tree.location) == "units/app.service:1:1"
    assert [str(d.location) for d in tree.diagnostics] == ["units/app.service:2:16"]


@pytest.mark.parametrize("text", ["!!int ''", "!!float ''", "!!bool x", "!!timestamp ''", "!!seq x", "!!set x"])
def test_yaml_scalar_with_an_impossible_tag_is_a_yaml_error_at_the_node(text: str) -> None:
    with pytest.raises(YamlError, match="bad scalar") as info:
        load_documents(f"a:\n  b: {text}\n", "f.yml")
    assert (info.value.line, info.value.column) == (2, 6)


def test_compose_numbers_no_int_can_hold_are_not_ports_or_replicas() -> None:
    (project,) = _load_one("compose", "docker-compose.yml", "services:\n  a:\n    image: x\n"
                           f"    expose: ['{'9' * 5000}', '²', '00080']\n    deploy: {{replicas: .inf}}\n")
    (service,) = project.services
    assert [e.value for e in service.expose] == [80]
    assert service.replicas is not None and not service.replicas.known


@pytest.mark.parametrize(("case", "name", "text"), [
    ("haproxy", "haproxy.cfg", "frontend fe\n    bind :²\n    bind :80\nbackend be\n    server a app:²\n"),
    ("nginx", "nginx.conf", "http { server { listen 99999; listen 8080; location / { proxy_pass http://app:²; } } }\n"),
    ("caddy", "Caddyfile", "example.com:² {\n    reverse_proxy app:²\n}\n"),
    ("caddy-json", "caddy.json", '{"apps": {"http": {"servers": {"a": {"listen": [":²", ":80"], "routes": [{"handle": '
                                 '[{"handler": "reverse_proxy", "upstreams": [{"dial": "app:²"}]}]}]}}}}}'),
    ("caddy-json", "caddy.json", '{"apps": {"http": {"servers": {"a": {"listen": 1, "routes": [{"match": 1}]}}}}}'),
])
def test_proxy_ports_only_from_ascii_digits_and_json_arrays_only(case: str, name: str, text: str) -> None:
    (doc,) = _load_one(case, name, text)
    ports = [b.port for f in doc.frontends for b in f.binds]
    ports += [s.port for b in doc.backends.values() for s in b.servers]
    assert all(p is None or 0 <= p <= 65535 for p in ports)


@pytest.mark.parametrize("plan", [
    {"planned_values": {"root_module": {"resources": True}}},
    {"planned_values": {"root_module": {"child_modules": True}}},
    {"configuration": {"root_module": {"resources": None}}},
])
def test_plan_sections_of_the_wrong_type(plan: dict[str, object]) -> None:
    from bitriver_lint.config import Config
    from bitriver_lint.loaders import tfplan
    from bitriver_lint.workspace import Workspace

    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "plan.json").write_text(json.dumps({"format_version": "1.2", **plan}))
        tfplan.load(["plan.json"], Workspace(Path(directory)), Config())
