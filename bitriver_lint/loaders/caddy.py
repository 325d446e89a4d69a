"""Caddy: the Caddyfile (site blocks, matchers, reverse_proxy) and Caddy's JSON config.

A site address with a host name means automatic HTTPS: Caddy serves 443 with a certificate it
manages and redirects 80 to it; ``http://`` or a bare ``:port`` means plain HTTP.

Environment placeholders (``{$DOMAIN}``, ``{$DOMAIN:default}``) are replaced before the
Caddyfile is read, as Caddy does: from the environment of the service that mounts it (the join
stage reads the text again with it, through ``ProxyConfig.render``), else the default. A site
address still unknown after that is read as a host name, the only kind of address Caddy's
documentation puts there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bitriver_lint.config import Config
from bitriver_lint.loaders.proxy import (
    Backend,
    Bind,
    Frontend,
    HealthSpec,
    ProxyConfig,
    RouteRule,
    Server,
    dig,
    load_all,
    rerender,
)
from bitriver_lint.loaders.proxy import substitute as substitute_placeholders
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document, loc_of
from bitriver_lint.model import Diagnostic, Location, port_number
from bitriver_lint.vocabulary import RouteMatch
from bitriver_lint.workspace import Workspace

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\{\$[^\s{}]*\}\S*|\{|\}|[^\s{}"`]+(?:\{[^\s}]*\})?[^\s{}"`]*')
# handle/route/import deeper than this is no real site's: a safety limit on the recursion.
MAX_NESTING = 64
_PLACEHOLDER = re.compile(r"\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, set[str]]:
    """``{$VAR}``/``{$VAR:default}`` replaced from ``env`` or the default; the names left as
    they are because neither gives a value."""
    return substitute_placeholders(text, _PLACEHOLDER, env)


@dataclass
class Node:
    """One Caddyfile line: its words and the block that follows it, if any."""

    words: list[str]
    location: Location
    children: list[Node] = field(default_factory=list)


def parse_caddyfile(text: str, path: str) -> tuple[list[Node], list[Diagnostic]]:
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    openers: list[Location] = []
    diagnostics: list[Diagnostic] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(line)]
        if not tokens:
            continue
        words: list[str] = []
        start = tokens[0][1] + 1
        current: Node | None = None
        for token, col in tokens:
            if token == "{":
                if current is None:
                    current = Node(words, Location(path, number, start))
                    stack[-1].append(current)
                stack.append(current.children)
                openers.append(Location(path, number, col + 1))
                words, current = [], None
            elif token == "}":
                if words:
                    stack[-1].append(Node(words, Location(path, number, start)))
                    words = []
                if len(stack) == 1:
                    diagnostics.append(Diagnostic("BRL001", "unexpected '}'", Location(path, number, col + 1)))
                    continue
                stack.pop()
                openers.pop()
            else:
                if not words:
                    start = col + 1
                words.append(token.strip('"`'))
        if words:
            stack[-1].append(Node(words, Location(path, number, start)))
    for opener in openers:
        diagnostics.append(Diagnostic("BRL001", "block opened here is never closed", opener))
    return root, diagnostics


def load(files: list[str], ws: Workspace, config: Config) -> list[ProxyConfig]:
    return load_all(files, ws, "caddy", lambda doc, text: fill(doc, text, config.variables))


def fill(doc: ProxyConfig, text: str, env: Mapping[str, str]) -> None:
    """Read one Caddy config into ``doc``; while placeholders are unset, ``doc.render`` reads
    the same text again with more environment."""
    doc.frontends, doc.backends = [], {}
    if doc.path.lower().endswith(".json"):
        _from_json(doc, text)
        return
    source = text
    text, doc.placeholders = substitute(text, env)
    nodes, doc.diagnostics = parse_caddyfile(text, doc.path)
    _Caddyfile(doc, nodes).build()
    if doc.placeholders:
        rerender(doc, source, env, fill)


def _is_hostname(address: str) -> bool:
    if address.startswith("{$"):
        return True  # an environment placeholder nothing resolved: see the module docstring
    host = address.split("://", 1)[-1].rsplit(":", 1)[0] if address.count(":") <= 2 else ""
    if not host or host in ("localhost",) or (host.startswith("*") and "." not in host):
        return False
    return not re.fullmatch(r"[0-9.]+|\[[0-9a-fA-F:]+\]", host)


def _site_binds(address: str, where: Location) -> tuple[list[Bind], bool]:
    """Binds for one site address, and whether port 80 redirects to HTTPS."""
    scheme = address.split("://", 1)[0] if "://" in address else ""
    rest = address.split("://", 1)[-1].split("/", 1)[0]
    port_text = rest.rsplit(":", 1)[1] if ":" in rest and not rest.endswith("]") else ""
    port = port_number(port_text)
    if scheme == "http" or (port is not None and not scheme and port != 443 and not _is_hostname(address)):
        return [Bind("", port or 80, False, where)], False
    if scheme == "https" or port == 443 or _is_hostname(address):
        binds = [Bind("", port or 443, True, where)]
        automatic_redirect = scheme != "https" or port in (None, 443)
        if port in (None, 443):
            binds.append(Bind("", 80, False, where))
        return binds, automatic_redirect
    return [Bind("", port or 80, False, where)], False


class _Caddyfile:
    def __init__(self, doc: ProxyConfig, nodes: list[Node]) -> None:
        self.doc = doc
        self.nodes = _continued(nodes)
        self.snippets = {n.words[0][1:-1]: n.children for n in nodes if n.words and n.words[0].startswith("(")}

    def build(self) -> None:
        for index, node in enumerate(self.nodes):
            if not node.words and index == 0:
                continue  # the global options block
            if node.words and node.words[0].startswith("("):
                continue  # a snippet, used through import
            if not node.words:
                continue
            addresses = [w.rstrip(",") for w in node.words]
            frontend = Frontend(" ".join(addresses), node.location)
            redirect = False
            for address in addresses:
                binds, redirects = _site_binds(address, node.location)
                frontend.binds.extend(binds)
                redirect = redirect or redirects
            # A site without braces runs to the end of the file, as Caddy reads it: every
            # line after its address is one of its directives, never another site's address.
            flat = not node.children
            body = self.nodes[index + 1:] if flat else node.children
            matchers: dict[str, Matched] = {}
            self._directives(frontend, body, None, matchers)
            if redirect:
                # Automatic HTTPS: the 80 listener only redirects; split it off.
                plain = [b for b in frontend.binds if b.port == 80 and not b.tls]
                if plain:
                    frontend.binds = [b for b in frontend.binds if b not in plain]
                    self.doc.frontends.append(Frontend(frontend.name + " (http)", node.location, plain,
                                                       redirect_https=node.location))
            self.doc.frontends.append(frontend)
            if flat:
                break

    def _directives(self, frontend: Frontend, body: list[Node], path: Matched | None, matchers: dict[str, Matched],
                    imports: tuple[str, ...] = (), depth: int = 0) -> None:
        """``imports``: the snippets being expanded (a snippet importing itself stops there)."""
        if depth > MAX_NESTING:
            if body:
                self.doc.diagnostics.append(Diagnostic(
                    "BRL001", f"blocks nested more than {MAX_NESTING} deep; the deeper ones are not read",
                    body[0].location))
            return
        for node in body:
            if not node.words:
                continue
            head, args = node.words[0], node.words[1:]
            if head.startswith("@") and len(args) >= 2 and args[0] == "path":
                matchers[head] = _path_matcher(args[1])
            elif head.startswith("@") and len(args) >= 2 and args[0] == "path_regexp":
                matchers[head] = args[-1], "pattern"  # path_regexp [name] regexp
            elif head == "import" and args and args[0] in self.snippets:
                if args[0] in imports:
                    cycle = " → ".join((*imports[imports.index(args[0]):], args[0]))
                    self.doc.diagnostics.append(Diagnostic("BRL001", f"import cycle: {cycle}", node.location))
                    continue
                self._directives(frontend, self.snippets[args[0]], path, matchers, (*imports, args[0]), depth + 1)
            elif head in ("handle", "handle_path", "route"):
                sub = _matched(args[0], matchers) if args else None
                self._directives(frontend, node.children, sub or path, matchers, imports, depth + 1)
            elif head == "reverse_proxy":
                self._reverse_proxy(frontend, node, path, matchers)
            elif head == "redir" and args and any(a.startswith("https://") for a in args):
                at, how = path or (None, "prefix")
                frontend.routes.append(RouteRule(at, None, node.location, redirect_https=True, match=how))

    def _reverse_proxy(self, frontend: Frontend, node: Node, path: Matched | None,
                       matchers: dict[str, Matched]) -> None:
        args = list(node.words[1:])
        if args and (args[0].startswith("/") or args[0].startswith("@")):
            path = _matched(args.pop(0), matchers)
        upstreams = list(args)
        backend = Backend(f"reverse_proxy@{node.location.line}", node.location, websocket=node.location)
        for child in node.children:
            if not child.words:
                continue
            key, values = child.words[0], child.words[1:]
            if key == "to":
                upstreams.extend(values)
            elif key in ("health_uri", "health_path") and values:
                backend.health = HealthSpec(child.location, values[0], "GET")
            elif key == "lb_policy" and values and values[0] in ("cookie", "ip_hash", "client_ip_hash"):
                backend.sticky = child.location
        for upstream in upstreams:
            scheme = upstream.split("://", 1)[0] if "://" in upstream else "http"
            host_port = upstream.split("://", 1)[-1]
            host, _, port_text = host_port.rpartition(":")
            port = port_number(port_text)
            if port is None:
                host, port = host_port, 443 if scheme == "https" else 80
            backend.servers.append(Server(host.strip("[]"), port, node.location, scheme))
        self.doc.backends[backend.name] = backend
        where, how = path or (None, "prefix")
        frontend.routes.append(RouteRule(where, backend.name, node.location, match=how))


Matched = tuple[str, RouteMatch]  # a path as a matcher wrote it, and how it matches


def _path_matcher(path: str) -> Matched:
    """A ``path`` matcher: Caddy matches the whole path unless it ends in ``*`` (a prefix); a
    ``*`` elsewhere (``*.m3u8``, ``/api/*/chat``) is a glob, which no rule can list."""
    stars = path.count("*")
    if stars == 0:
        return path, "exact"
    return path, "prefix" if stars == 1 and path.endswith("*") else "pattern"


def _matched(word: str, matchers: Mapping[str, Matched]) -> Matched:
    """What a matcher token (``/api/*``, ``@api``) matches; a named matcher not on the path
    (``@api host api.example.com``) stays its name."""
    if word.startswith("@"):
        return matchers.get(word, (word, "prefix"))
    return _path_matcher(word)


def _continued(nodes: list[Node]) -> list[Node]:
    """Top-level lines with an address list continued over lines (``a.example,`` then
    ``b.example {``) joined into one, as Caddy reads them: the first is no site of its own. A
    site's ``{`` may also open on the line after its address."""
    out: list[Node] = []
    pending: Node | None = None
    for node in nodes:
        if pending is not None:
            node = Node(pending.words + node.words, pending.location, node.children)
            pending = None
        if node.words and node.words[-1].endswith(",") and not node.children:
            pending = node
            continue
        if not node.words and out and out[-1].words and not out[-1].children:
            out[-1] = Node(out[-1].words, out[-1].location, node.children)  # "example.com" then "{"
            continue
        out.append(node)
    if pending is not None:
        out.append(pending)
    return out


def _from_json(doc: ProxyConfig, text: str) -> None:
    """Caddy's native JSON: apps.http.servers.*.{listen, routes}."""
    try:
        data = load_document(text, doc.path)
    except YamlError as exc:
        doc.diagnostics.append(exc.diagnostic(doc.path))
        return
    servers = dig(data, "apps", "http", "servers")
    if not isinstance(servers, LDict):
        return
    for name, server in servers.items():
        if not isinstance(server, LDict):
            continue
        # Caddy tries a server's JSON routes as written; a reverse_proxy ends the request.
        frontend = Frontend(str(name), servers.key_loc(name), selection="first")
        listens = server.get("listen")
        for i, listen in enumerate(_seq(listens)):
            port = port_number(str(listen).rsplit(":", 1)[-1])
            if port is not None:
                tls = port == 443 or "tls_connection_policies" in server
                frontend.binds.append(Bind("", port, tls, loc_of(listens, i, frontend.location)))
        _json_routes(doc, frontend, server.get("routes"), None)
        doc.frontends.append(frontend)


def _json_routes(doc: ProxyConfig, frontend: Frontend, routes: Any, path: Matched | None, depth: int = 0,
                 conditional: bool = False) -> None:
    if not isinstance(routes, LList):
        return
    if depth > MAX_NESTING:
        doc.diagnostics.append(Diagnostic(
            "BRL001", f"subroutes nested more than {MAX_NESTING} deep; the deeper ones are not read", routes.loc))
        return
    for i, route in enumerate(routes):
        if not isinstance(route, LDict):
            continue
        matched = path
        sets = _seq(route.get("match"))
        # Match sets are alternatives, and a matcher besides the path (a host) must hold too.
        limited = conditional or len(sets) > 1 or any(
            not isinstance(m, LDict) or set(m) - {"path", "path_regexp"} for m in sets)
        for match in sets:
            paths = match.get("path") if isinstance(match, LDict) else None
            regexp = dig(match, "path_regexp", "pattern")
            if isinstance(paths, LList) and paths:
                matched = _path_matcher(str(paths[0]))
            elif regexp:
                matched = str(regexp), "pattern"
        for handler in _seq(route.get("handle")):
            if not isinstance(handler, LDict):
                continue
            kind = handler.get("handler")
            where = routes.item_loc(i)
            if kind == "subroute":
                _json_routes(doc, frontend, handler.get("routes"), matched, depth + 1, limited)
            elif kind == "reverse_proxy":
                name = f"reverse_proxy@{where.line}"
                if name in doc.backends:  # minified JSON: every handler on one line
                    name += f":{where.column}"
                backend = Backend(name, where, websocket=where)
                active = dig(handler, "health_checks", "active")
                uri = dig(active, "uri") or dig(active, "path")
                if uri:
                    backend.health = HealthSpec(where, str(uri), "GET")
                for upstream in _seq(handler.get("upstreams")):
                    dial = str(upstream.get("dial", "")) if isinstance(upstream, LDict) else ""
                    host, _, port_text = dial.rpartition(":")
                    port = port_number(port_text)
                    if port is not None:
                        backend.servers.append(Server(host, port, where))
                doc.backends[backend.name] = backend
                at, how = matched or (None, "prefix")
                frontend.routes.append(RouteRule(at, backend.name, where, match=how, conditional=limited))


def _seq(value: Any) -> list[Any]:
    """A JSON array, or nothing: Caddy refuses any other type where it wants one."""
    return value if isinstance(value, LList) else []
