"""Caddy: the Caddyfile (site blocks, matchers, reverse_proxy) and Caddy's JSON config.

A site address with a host name (localhost and IP addresses too) means automatic HTTPS: Caddy
serves 443 (or the port written) with a certificate it manages and redirects 80 to it;
``http://`` or a bare ``:port`` means plain HTTP; a scheme the port contradicts
(``http://host:443``) is refused. In JSON, TLS comes from a server's TLS connection policies or
automatic HTTPS (``_json_tls``), never from the port alone. Named matchers (``@api path
/api/*``, or a block of matchers) are a site's or handle block's, defined before its directives
are read; a route through one takes its paths, and is conditional when the matcher needs more
than the path.

Environment placeholders (``{$DOMAIN}``, ``{$DOMAIN:default}``) are replaced before the
Caddyfile is read, as Caddy does: from the environment of the service that mounts it (the join
stage reads the text again with it, through ``ProxyConfig.render``), else the default. A site
address still unknown after that is read as a host name, the only kind of address Caddy's
documentation puts there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from bitriver_lint.model import Diagnostic, Located, Location, port_number
from bitriver_lint.vocabulary import RouteMatch
from bitriver_lint.workspace import Workspace

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\{\$[^\s{}]*\}\S*|\{|\}|[^\s{}"`]+(?:\{[^\s}]*\})?[^\s{}"`]*')
# handle/route/import deeper than this is no real site's: a safety limit on the recursion.
MAX_NESTING = 64
# Lines read for one block's named matchers, snippets expanded: a safety limit.
MAX_MATCHER_LINES = 10_000
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
    spots: list[Location] = field(default_factory=list)  # where each word starts


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
        spots: list[Location] = []
        start = tokens[0][1] + 1
        current: Node | None = None
        for token, col in tokens:
            if token == "{":
                if current is None:
                    current = Node(words, Location(path, number, start), spots=spots)
                    stack[-1].append(current)
                stack.append(current.children)
                openers.append(Location(path, number, col + 1))
                words, spots, current = [], [], None
            elif token == "}":
                if words:
                    stack[-1].append(Node(words, Location(path, number, start), spots=spots))
                    words, spots = [], []
                if len(stack) == 1:
                    diagnostics.append(Diagnostic("BRL001", "unexpected '}'", Location(path, number, col + 1)))
                    continue
                stack.pop()
                openers.pop()
            else:
                if not words:
                    start = col + 1
                words.append(token.strip('"`'))
                spots.append(Location(path, number, col + 1))
        if words:
            stack[-1].append(Node(words, Location(path, number, start), spots=spots))
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
    """Whether the address names a host, which Caddy's automatic HTTPS serves over TLS: a domain,
    and also localhost or an IP address (with certificates of its own local CA; checked on a
    running Caddy). A bare ``:port`` or a lone wildcard names none."""
    if address.startswith("{$"):
        return True  # an environment placeholder nothing resolved: see the module docstring
    rest = address.split("://", 1)[-1].split("/", 1)[0]
    host = rest if rest.endswith("]") else rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    return bool(host) and not (host.startswith("*") and "." not in host)


@dataclass(frozen=True)
class _Options:
    """The global options that move Caddy's ports and its automatic redirect."""

    http_port: int = 80
    https_port: int = 443
    redirects: bool = True  # "auto_https off" or "disable_redirects": no port-80 redirect


def _options(block: list[Node]) -> _Options:
    found = _Options()
    for node in block:
        key, values = (node.words[0], node.words[1:]) if node.words else ("", [])
        number = port_number(values[0]) if values else None
        if key == "http_port" and number:
            found = replace(found, http_port=number)
        elif key == "https_port" and number:
            found = replace(found, https_port=number)
        elif key == "auto_https" and values and values[0] in ("off", "disable_redirects"):
            found = replace(found, redirects=False)
    return found


def _site_binds(address: str, where: Location, spot: Location,
                options: _Options = _Options()) -> tuple[list[Bind], bool, Diagnostic | None]:
    """Binds for one site address (at its site's line; ``spot``: the address itself), whether
    the HTTP port redirects to HTTPS, and why Caddy refuses the address, if it does."""
    http, https = options.http_port, options.https_port
    scheme = address.split("://", 1)[0] if "://" in address else ""
    rest = address.split("://", 1)[-1].split("/", 1)[0]
    port_text = rest.rsplit(":", 1)[1] if ":" in rest and not rest.endswith("]") else ""
    port = port_number(port_text)
    if (scheme, port) in (("http", https), ("https", http)):
        # caddy adapt: "scheme and port violate convention"; the config does not load, so the
        # site opens no port (plain HTTP on 443 is nearly always a TLS site written wrong).
        return [], False, Diagnostic(
            "BRL001", f"site address {address}: scheme and port violate convention, and Caddy refuses the "
            f"config ({f'plain HTTP on {https}' if scheme == 'http' else f'HTTPS on {http}'})", spot)
    plain = f"the site address {address} is plain HTTP"
    if scheme == "http" or (port is not None and not scheme and port != https and not _is_hostname(address)):
        return [Bind("", port or http, False, where, spot, plain)], False, None
    if scheme == "https" or port == https or _is_hostname(address):
        why = ("the site address says https://" if scheme == "https" else
               "Caddy's automatic HTTPS for a host name" if _is_hostname(address)
               else f"Caddy serves its HTTPS port {https} with TLS")
        binds = [Bind("", port or https, True, where, spot, why)]
        automatic_redirect = options.redirects and (scheme != "https" or port in (None, https))
        if port in (None, https) and options.redirects:
            binds.append(Bind("", http, False, where, spot, "Caddy's automatic HTTPS redirects it"))
        return binds, automatic_redirect, None
    return [Bind("", port or http, False, where, spot, plain)], False, None


class _Caddyfile:
    def __init__(self, doc: ProxyConfig, nodes: list[Node]) -> None:
        self.doc = doc
        self.nodes = _continued(nodes)
        self.snippets = {n.words[0][1:-1]: n.children for n in nodes if n.words and n.words[0].startswith("(")}
        first = self.nodes[0] if self.nodes else None
        self.options = _options(first.children) if first is not None and not first.words else _Options()

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
            spots = node.spots if len(node.spots) == len(addresses) else [node.location] * len(addresses)
            for address, spot in zip(addresses, spots, strict=True):
                binds, redirects, refused = _site_binds(address, node.location, spot, self.options)
                frontend.binds.extend(binds)
                redirect = redirect or redirects
                if refused is not None:
                    self.doc.diagnostics.append(refused)
            # A site without braces runs to the end of the file, as Caddy reads it: every
            # line after its address is one of its directives, never another site's address.
            flat = not node.children
            body = self.nodes[index + 1:] if flat else node.children
            self._directives(frontend, body, None, Matchers())
            if redirect:
                # Automatic HTTPS: the HTTP port's listener only redirects; split it off.
                plain = [b for b in frontend.binds if b.port == self.options.http_port and not b.tls]
                if plain:
                    frontend.binds = [b for b in frontend.binds if b not in plain]
                    self.doc.frontends.append(Frontend(frontend.name + " (http)", node.location, plain,
                                                       redirect_https=node.location))
            self.doc.frontends.append(frontend)
            if flat:
                break

    def _directives(self, frontend: Frontend, body: list[Node], path: Matcher | None, matchers: Matchers,
                    imports: tuple[str, ...] = (), depth: int = 0, scope: bool = True) -> None:
        """``imports``: the snippets being expanded (a snippet importing itself stops there).
        ``scope``: ``body`` is a block of its own (a site, a handle), whose named matchers are
        defined before any directive is read, as Caddy does; a snippet's are its importer's."""
        if depth > MAX_NESTING:
            if body:
                self.doc.diagnostics.append(Diagnostic(
                    "BRL001", f"blocks nested more than {MAX_NESTING} deep; the deeper ones are not read",
                    body[0].location))
            return
        if scope:
            matchers = self._define(body, matchers, imports)
        for node in body:
            if not node.words:
                continue
            head, args = node.words[0], node.words[1:]
            if head.startswith("@"):
                continue  # a named matcher's definition, read by ``_define``
            if head == "import" and args and args[0] in self.snippets:
                if args[0] in imports:
                    cycle = " → ".join((*imports[imports.index(args[0]):], args[0]))
                    self.doc.diagnostics.append(Diagnostic("BRL001", f"import cycle: {cycle}", node.location))
                    continue
                self._directives(frontend, self.snippets[args[0]], path, matchers, (*imports, args[0]), depth + 1,
                                 scope=False)
            elif head in ("handle", "handle_path", "route"):
                sub = self._matcher(args[0], node, matchers) if args else None
                self._directives(frontend, node.children, _within(path, sub), matchers, imports, depth + 1)
            elif head == "reverse_proxy":
                self._reverse_proxy(frontend, node, path, matchers)
            elif head == "redir" and args and any(a.startswith("https://") for a in args):
                redirected: tuple[tuple[str | None, RouteMatch], ...] = (path.paths if path is not None and path.paths
                                                                          else ((None, "prefix"),))
                for at, how in redirected:
                    frontend.routes.append(RouteRule(at, None, node.location, redirect_https=True, match=how))

    def _define(self, body: list[Node], outer: Matchers, imports: tuple[str, ...]) -> Matchers:
        """The named matchers a block sees: its enclosing blocks' and its own (snippets it imports
        included). Caddy refuses a name defined twice where one is seen: "matcher is defined
        more than once" (sibling handle blocks may each have theirs)."""
        seen = Matchers(outer)
        todo = [(node, imports) for node in body]
        budget = MAX_MATCHER_LINES  # snippets importing each other twice over grow exponentially
        told: set[Location] = set()  # a snippet imported twice defines its matchers twice: once said
        while todo and budget:
            budget -= 1
            node, chain = todo.pop(0)
            if not node.words:
                continue
            head, args = node.words[0], node.words[1:]
            if head == "import" and args and args[0] in self.snippets and args[0] not in chain:
                todo[:0] = [(inner, (*chain, args[0])) for inner in self.snippets[args[0]]]
            elif head == "import":
                seen.unknown = True  # a file or missing snippet may define matchers we do not see
            if not head.startswith("@") or len(head) < 2:
                continue
            if head in seen:
                if node.location in told:
                    continue
                told.add(node.location)
                self.doc.diagnostics.append(Diagnostic(
                    "BRL001", f"matcher is defined more than once: {head} (first at {seen[head].location}); "
                    "Caddy refuses the config", node.location))
                continue
            lines = [args] if args else [child.words for child in node.children if child.words]
            seen[head] = _matcher_set(head, lines, node.location)
        if todo:
            seen.unknown = True  # not all read: a name used may be one of the rest
        return seen

    def _matcher(self, word: str, node: Node, matchers: Matchers) -> Matcher | None:
        """What a matcher token (``*``, ``/api/*``, ``@api``) takes; None: every request."""
        if word == "*":
            return None
        if not word.startswith("@"):
            return Matcher((_path_matcher(word),))
        found = matchers.get(word)
        if found is not None:
            return found
        if not matchers.unknown:
            self.doc.diagnostics.append(Diagnostic(
                "BRL001", f"unrecognized matcher name: {word}; Caddy refuses the config", node.location))
        # What it takes is not known: a route that may apply to any path.
        return Matcher((), conditional=True, text=word)

    def _reverse_proxy(self, frontend: Frontend, node: Node, path: Matcher | None, matchers: Matchers) -> None:
        args = list(node.words[1:])
        if args and (args[0].startswith("/") or args[0].startswith("@") or args[0] == "*"):
            path = _within(path, self._matcher(args.pop(0), node, matchers))
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
        taken = path or Matcher(())
        for where, how in taken.paths or ((None, "prefix"),):
            frontend.routes.append(RouteRule(where, backend.name, node.location, match=how,
                                             conditional=taken.conditional, condition=taken.text,
                                             condition_location=taken.location))


@dataclass(frozen=True)
class Matcher:
    """What a route's matcher takes: any of ``paths`` (none: every path), and whether something
    besides the path (a header, a host, a negation) must hold too; a named matcher keeps its
    definition as written and where it is, for a finding's evidence."""

    paths: tuple[Matched, ...]
    conditional: bool = False
    text: str = ""
    location: Location | None = None


class Matchers(dict[str, Matcher]):
    """The named matchers a block sees; ``unknown``: an import we cannot read may define more."""

    unknown: bool = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.unknown = bool(args) and getattr(args[0], "unknown", False)


def _matcher_set(name: str, lines: list[list[str]], where: Location) -> Matcher:
    """A named matcher's set (one line, or a block of them): all must hold; a ``path`` matcher's
    values are alternatives."""
    paths: tuple[Matched, ...] = ()
    conditional = not lines
    for words in lines:
        kind, values = words[0], words[1:]
        if kind == "path" and values and not paths:
            paths = tuple(_path_matcher(v) for v in values)
        elif kind == "path_regexp" and values and not paths:
            paths = ((values[-1], "pattern"),)  # path_regexp [name] regexp
        else:
            conditional = True  # a header, host, method, "not", expression... (or a second path)
    text = f"{name} {'; '.join(' '.join(words) for words in lines)}"
    return Matcher(paths, conditional, text, where)


def _within(outer: Matcher | None, inner: Matcher | None) -> Matcher | None:
    """A matcher inside a block with a matcher of its own (``handle @api`` around ``reverse_proxy
    /x``): both must hold; the inner path is the narrower, the outer's when it has none."""
    if outer is None or inner is None:
        return inner or outer
    named = inner if inner.text else outer
    return Matcher(inner.paths or outer.paths, inner.conditional or outer.conditional, named.text, named.location)


Matched = tuple[str, RouteMatch]  # a path as a matcher wrote it, and how it matches


def _path_matcher(path: str) -> Matched:
    """A ``path`` matcher: Caddy matches the whole path unless it ends in ``*`` (a prefix); a
    ``*`` elsewhere (``*.m3u8``, ``/api/*/chat``) is a glob, which no rule can list."""
    stars = path.count("*")
    if stars == 0:
        return path, "exact"
    return path, "prefix" if stars == 1 and path.endswith("*") else "pattern"


def _continued(nodes: list[Node]) -> list[Node]:
    """Top-level lines with an address list continued over lines (``a.example,`` then
    ``b.example {``) joined into one, as Caddy reads them: the first is no site of its own. A
    site's ``{`` may also open on the line after its address."""
    out: list[Node] = []
    pending: Node | None = None
    for node in nodes:
        if pending is not None:
            node = Node(pending.words + node.words, pending.location, node.children, pending.spots + node.spots)
            pending = None
        if node.words and node.words[-1].endswith(",") and not node.children:
            pending = node
            continue
        if not node.words and out and out[-1].words and not out[-1].children:
            out[-1] = Node(out[-1].words, out[-1].location, node.children, out[-1].spots)  # "example.com" then "{"
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
    ports = _json_ports(dig(data, "apps", "http"))
    for name, server in servers.items():
        if not isinstance(server, LDict):
            continue
        # Caddy tries a server's JSON routes as written; a reverse_proxy ends the request.
        frontend = Frontend(str(name), servers.key_loc(name), selection="first")
        listens = server.get("listen")
        binds = [Bind("", port, False, loc_of(listens, i, frontend.location))
                 for i, listen in enumerate(_seq(listens))
                 if (port := port_number(str(listen).rsplit(":", 1)[-1])) is not None]
        _json_tls(server, binds, *ports)
        frontend.binds.extend(binds)
        _json_routes(doc, frontend, server.get("routes"), None)
        doc.frontends.append(frontend)


def _json_ports(http: Any) -> tuple[int, int]:
    """Caddy's HTTP and HTTPS ports (``apps.http.http_port``/``https_port``, 80 and 443 unless set)."""
    def port(key: str, default: int) -> int:
        value = dig(http, key)
        number = port_number(str(value)) if isinstance(value, int) and not isinstance(value, bool) else None
        return number or default

    return port("http_port", 80), port("https_port", 443)


def _json_tls(server: LDict, binds: list[Bind], http_port: int, https_port: int) -> None:
    """TLS on a JSON server's listeners as Caddy decides it (checked on a running Caddy): with
    TLS connection policies, every listener but the HTTP port's speaks TLS. Without any,
    automatic HTTPS (unless ``automatic_https.disable``) adds one to a server that listens on
    more than the HTTP port when it listens on the HTTPS port only, or when a top-level route
    matches a host not in ``automatic_https.skip``. An empty policy list adds none and enables
    nothing. Never the port number alone."""
    policies = server.get("tls_connection_policies")
    auto = server.get("automatic_https")
    disabled = dig(auto, "disable") is True
    on: tuple[Location, str] | None = None
    if isinstance(policies, LList):
        if policies:
            on = server.key_loc("tls_connection_policies"), "the server has TLS connection policies"
    elif not disabled and any(b.port != http_port for b in binds):
        host = _json_host(server, dig(auto, "skip"))
        if all(b.port == https_port for b in binds):
            on = binds[0].location, f"Caddy's automatic HTTPS: the server listens on the HTTPS port {https_port} only"
        elif host is not None:
            on = host.location, f"Caddy's automatic HTTPS for the host {host.value}"
    for bind in binds:
        if on is not None and bind.port != http_port:
            bind.tls, (bind.tls_location, bind.tls_reason) = True, on
        elif bind.port == http_port:
            bind.tls_reason = f"{http_port} is Caddy's HTTP port, never TLS"
        elif isinstance(policies, LList):
            bind.tls_location = server.key_loc("tls_connection_policies")
            bind.tls_reason = "an empty tls_connection_policies list enables no TLS"
        elif disabled:
            bind.tls_location = server.key_loc("automatic_https")
            bind.tls_reason = "automatic_https.disable, and no TLS connection policies"
        else:
            bind.tls_reason = "no TLS connection policies, and nothing for automatic HTTPS to add one for"


def _json_host(server: LDict, skip: Any) -> Located[str] | None:
    """The first host a top-level route of the server matches and automatic HTTPS does not skip
    (Caddy looks no deeper than the server's own routes)."""
    skipped = {str(s) for s in _seq(skip)}
    for route in _seq(server.get("routes")):
        for match in _seq(route.get("match") if isinstance(route, LDict) else None):
            hosts = match.get("host") if isinstance(match, LDict) else None
            for i, host in enumerate(_seq(hosts)):
                if isinstance(host, str) and host and host not in skipped:
                    return Located(host, loc_of(hosts, i, route.loc))
    return None


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
