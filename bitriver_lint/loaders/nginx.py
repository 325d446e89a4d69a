"""nginx configuration through crossplane (nginx's own grammar, not regexes).

Each file is parsed once; ``include`` is followed within the tree (an absolute
``/etc/nginx/...`` path is looked up relative to the including file's directory). ``server``
blocks become frontends, ``upstream`` blocks and ``proxy_pass host:port`` targets become
backends. crossplane gives lines; columns come from the line text.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
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
)
from bitriver_lint.model import Diagnostic, Located, Location, port_number
from bitriver_lint.vocabulary import RouteMatch
from bitriver_lint.workspace import FileProblem, Workspace

Directive = dict[str, Any]


# envsubst, as the official nginx image runs it over /etc/nginx/templates/*.template: only
# names its environment defines are replaced, so nginx's own $host or $request_uri stay.
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class _Parsed:
    """What reading a tree's nginx files found, shared by every rendering of them: the trees
    crossplane gave (templates unsubstituted), its errors, and where each include led."""

    def __init__(self) -> None:
        self.trees: dict[str, list[Directive]] = {}
        self.errors: dict[str, list[Diagnostic]] = {}
        self.includes: dict[tuple[str, str], tuple[list[str], str | None]] = {}


class _Reader:
    def __init__(self, ws: Workspace, env: Mapping[str, str] | None = None, read: _Parsed | None = None) -> None:
        self.ws = ws
        self.env = env or {}
        self.read = read or _Parsed()
        self.parsed: dict[str, list[Directive]] = {}
        self.diagnostics: dict[str, list[Diagnostic]] = {}
        # ${NAME}s in each template that nothing defines: a config awaits its runner's environment
        # for the names in its own files only, not for another template's elsewhere in the tree.
        self.placeholders: dict[str, set[str]] = {}
        self._includes: dict[str, list[tuple[str, Location]]] = {}

    def with_env(self, env: Mapping[str, str]) -> _Reader:
        """The same files rendered with another environment, without reading them again."""
        return _Reader(self.ws, env, self.read)

    def parse(self, rel: str) -> list[Directive]:
        if rel in self.parsed:
            return self.parsed[rel]
        if rel not in self.read.trees:
            self.read.errors[rel] = []
            self.read.trees[rel] = self._crossplane(rel, self.read.errors[rel])
        tree = self.read.trees[rel]
        self.diagnostics.setdefault(rel, []).extend(self.read.errors[rel])
        if rel.endswith(".template"):
            tree = copy.deepcopy(tree)  # the unsubstituted tree stays for another environment
            self._substitute(tree, self.placeholders.setdefault(rel, set()))
        self.parsed[rel] = tree
        return tree

    def _crossplane(self, rel: str, diagnostics: list[Diagnostic]) -> list[Directive]:
        import crossplane

        try:
            text = self.ws.read_text(rel)  # size, encoding and binary checks first
        except FileProblem as exc:
            diagnostics.append(exc.diagnostic(rel))
            return []
        try:
            payload = crossplane.parse(str(self.ws.abspath(rel)), single=True, catch_errors=True,
                                       check_ctx=False, check_args=False, comments=False)
        except RecursionError:
            diagnostics.append(Diagnostic("BRL001", "blocks are nested too deeply to read", Location(rel, 1, 1)))
            return []
        tree: list[Directive] = []
        for config in payload.get("config", []):
            for error in config.get("errors", []):
                message = re.sub(r"\s+in \S+:\d+$", "", str(error.get("error") or ""))
                where = Location(rel, error.get("line") or 1, 1)
                if not message:
                    # crossplane's lexer ran out of text inside a directive: a bare StopIteration
                    # with no message and no line. nginx says this, at the end of the file.
                    message = 'unexpected end of file, expecting ";" or "}"'
                    body = text.rstrip()
                    where = Location(rel, body.count("\n") + 1, len(body) - body.rfind("\n"))
                diagnostics.append(Diagnostic("BRL001", message, where))
            tree = config.get("parsed", [])
        return tree

    def _substitute(self, block: list[Directive], unset: set[str]) -> None:
        def one(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name in self.env:
                return self.env[name]
            if match.group(1):
                unset.add(name)
            return match.group(0)

        for d in block:
            args: list[str] = []
            for arg in d.get("args", []):
                done = _ENV_REFERENCE.sub(one, arg)
                # crossplane reads "${PORT} ssl" as one word; nginx reads the rendered file again.
                args.extend(done.split() if done != arg else [arg])
            d["args"] = args
            self._substitute(d.get("block", []), unset)

    def resolve_include(self, pattern: str, including: str) -> tuple[list[str], str | None]:
        """The tree's files an ``include`` names, and why none were read when it leaves the tree."""
        key = (pattern, including)
        if key not in self.read.includes:
            self.read.includes[key] = self._resolve_include(pattern, including)
        found, refusal = self.read.includes[key]
        return list(found), refusal

    def _resolve_include(self, pattern: str, including: str) -> tuple[list[str], str | None]:
        base = posixpath.dirname(including)
        relative = pattern.removeprefix("/etc/nginx/").lstrip("/") if pattern.startswith("/") else pattern
        candidates = [posixpath.normpath(posixpath.join(base, relative)),
                      posixpath.normpath(posixpath.join(posixpath.dirname(base), relative))]
        refusal = None
        for candidate in candidates:
            folder, name = posixpath.split(candidate)
            refused = self.ws.refusal(folder or ".")
            if refused is not None and refused.kind == "outside":
                refusal = f"include {pattern}: {refused.message}"
                continue
            found = [posixpath.join(folder, n) if folder else n for n in self.ws.listdir(folder)
                     if fnmatch.fnmatch(n, name)]
            found = [f for f in found if self.ws.exists(f)]
            if found:
                return found, None
        return [], refusal

    def includes(self, rel: str) -> list[tuple[str, Location]]:
        """The files ``rel`` includes directly (anywhere in its blocks), with each include's place."""
        if rel not in self._includes:
            out: list[tuple[str, Location]] = []
            stack = list(self.parse(rel))
            while stack:
                d = stack.pop(0)
                if d["directive"] == "include" and d.get("args"):
                    line = int(d.get("line") or 1)
                    where = Location(rel, line, self.column(rel, line, "include"))
                    targets, refusal = self.resolve_include(d["args"][0], rel)
                    if refusal is not None:
                        self.diagnostics.setdefault(rel, []).append(Diagnostic(
                            "BRL002", f"{refusal}, so what it would add is unknown", where))
                    out.extend((t, where) for t in targets if t != rel)
                stack[:0] = d.get("block", [])
            self._includes[rel] = out
        return self._includes[rel]

    def column(self, rel: str, line: int, directive: str) -> int:
        text = self.ws.line_text(rel, line)
        index = text.find(directive)
        return index + 1 if index >= 0 else 1


def load(files: list[str], ws: Workspace, config: Config) -> list[ProxyConfig]:
    return read(files, ws, config.variables)


def read(files: list[str], ws: Workspace, env: Mapping[str, str]) -> list[ProxyConfig]:
    return _documents(_Reader(ws, env), files)


def _documents(reader: _Reader, files: list[str]) -> list[ProxyConfig]:
    for rel in files:
        reader.parse(rel)
    # Files pulled in by another file's include are part of that config, not roots of their own;
    # in an include cycle with no file outside it, the first file of the cycle is the root.
    included = {target for rel in files for target in _reachable(reader, [rel]) if target != rel}
    roots = [rel for rel in files if rel not in included]
    reached = _reachable(reader, roots)
    for rel in files:
        if rel not in reached:
            roots.append(rel)
            reached |= _reachable(reader, [rel])
    out: list[ProxyConfig] = []
    for rel in sorted(roots):
        reader.ws.group(_reachable(reader, [rel]))  # a config and every file it includes (``--changed``)
        doc = ProxyConfig(rel, "nginx", Location(rel, 1, 1), files=[rel])
        builder = _Builder(reader, doc)
        builder.walk(rel, reader.parsed[rel], "main", (rel,))
        builder.decide_tls()
        doc.files = sorted(set(doc.files))
        for path in doc.files:
            doc.diagnostics.extend(reader.diagnostics.get(path, []))
        doc.placeholders = set().union(*(reader.placeholders.get(path, set()) for path in doc.files))
        if doc.placeholders:
            doc.render = functools.partial(_again, reader, doc.files, doc.path)
        out.append(doc)
    return out


def _again(reader: _Reader, files: list[str], path: str, env: Mapping[str, str]) -> ProxyConfig:
    """The config rooted at ``path`` rendered with ``env`` added to the reader's environment
    (the official image's envsubst run with the service's environment)."""
    (again,) = [d for d in _documents(reader.with_env({**reader.env, **env}), files) if d.path == path]
    return again


def _reachable(reader: _Reader, starts: list[str]) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for target, _ in reader.includes(todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@dataclass
class _Listen:
    """One listen of a server block, as ``decide_tls`` needs it."""

    bind: Bind
    ssl: bool  # the listen's own "ssl" parameter
    default: bool  # "default_server": its block is the socket's default server
    switch: Located[bool] | None = None  # its block's "ssl on|off;"


class _Builder:
    def __init__(self, reader: _Reader, doc: ProxyConfig) -> None:
        self.reader = reader
        self.doc = doc
        # Each listen by the socket nginx opens for it (context, address, port): nginx merges
        # the listens of one address:port from every server block and decides TLS once for the
        # socket (``decide_tls``).
        self.sockets: dict[tuple[str, str, int], list[_Listen]] = {}
        self.http_ssl: Located[bool] | None = None  # "ssl on|off;" in the http block

    def loc(self, rel: str, d: Directive) -> Location:
        line = int(d.get("line") or 1)
        return Location(rel, line, self.reader.column(rel, line, d["directive"]))

    def walk(self, rel: str, block: list[Directive], context: str, chain: tuple[str, ...]) -> None:
        """``chain``: the files being included, outermost first (an include cycle stops there)."""
        for d in block:
            name = d["directive"]
            if name == "include" and d.get("args"):
                targets, _ = self.reader.resolve_include(d["args"][0], rel)
                for target in targets:
                    if target in chain:
                        if target != rel:
                            cycle = " → ".join((*chain[chain.index(target):], target))
                            self.doc.diagnostics.append(
                                Diagnostic("BRL001", f"include cycle: {cycle}; not followed again", self.loc(rel, d)))
                        continue
                    self.doc.files.append(target)
                    self.walk(target, self.reader.parse(target), context, (*chain, target))
            elif name in ("http", "stream", "rtmp"):
                self.walk(rel, d.get("block", []), name, chain)
            elif name == "ssl" and context == "http" and d.get("args"):
                self.http_ssl = Located(d["args"][0].lower() == "on", self.loc(rel, d))
            elif name == "upstream" and d.get("args"):
                self.upstream(rel, d, context)
            elif name == "server" and "block" in d and context == "rtmp":
                self.rtmp_server(rel, d)
            elif name == "server" and "block" in d and context in ("main", "http", "stream"):
                self.server(rel, d, context)

    def upstream(self, rel: str, d: Directive, context: str) -> None:
        backend = Backend(d["args"][0], self.loc(rel, d))
        for item in d.get("block", []):
            args = item.get("args", [])
            if item["directive"] == "server" and args:
                host, port = _host_port(args[0])
                scheme = "tcp" if context == "stream" else "http"
                backend.servers.append(Server(host, port, self.loc(rel, item), scheme))
            elif item["directive"] in ("ip_hash", "hash", "sticky"):
                backend.sticky = self.loc(rel, item)
        self.doc.backends[backend.name] = backend

    def backend_for(self, rel: str, d: Directive, target: str, context: str) -> str:
        """The backend a ``proxy_pass`` names, creating one for a literal host:port."""
        scheme, _, rest = target.partition("://") if "://" in target else ("tcp" if context == "stream" else "http",
                                                                          "", target)
        # "http://127.0.0.1:8080$request_uri": a variable that holds the request's path ends
        # the address, as a "/" would; any other variable may be part of the host name.
        authority = rest.split("/", 1)[0]
        host_port = _PATH_VARIABLE.split(authority, maxsplit=1)[0] or authority
        name = host_port
        if name not in self.doc.backends:
            host, port = _host_port(host_port, 443 if scheme == "https" else 80)
            self.doc.backends[name] = Backend(name, self.loc(rel, d), [Server(host, port, self.loc(rel, d), scheme)])
        return name

    def server(self, rel: str, d: Directive, context: str) -> None:
        frontend = Frontend(f"server@{d.get('line')}", self.loc(rel, d), selection="nginx")
        block = d.get("block", [])
        # "ssl on;" (nginx before 1.25): nginx reads it only where the block is the socket's
        # default server; the last one written counts, as for any nginx flag.
        switch = None
        for item in block:
            if item["directive"] == "ssl" and item.get("args") and context == "http":
                switch = Located(item["args"][0].lower() == "on", self.loc(rel, item))
        listens: list[_Listen] = []
        allows: list[str] = []
        denies_all = False
        for item in block:
            name, args = item["directive"], item.get("args", [])
            where = self.loc(rel, item)
            if name == "server_name":
                # Exact names only: a wildcard or regex (~) server_name names no one record.
                frontend.hostnames.extend(a.lower() for a in args if "*" not in a and not a.startswith("~"))
            if name == "listen" and args:
                address, port = _listen(args[0])
                if port is not None:
                    # Only "ssl" says TLS, never the port or a certificate: "listen 443;" is
                    # plain HTTP on 443 (``decide_tls`` settles it for the socket).
                    bind = Bind(address, port, False, where)
                    frontend.binds.append(bind)
                    # "quic" (nginx 1.25+): HTTP/3 over UDP, always TLS 1.3, a socket of its own.
                    quic = "quic" in args[1:]
                    listen = _Listen(bind, "ssl" in args[1:] or quic,
                                     any(a in ("default_server", "default") for a in args[1:]))
                    listens.append(listen)
                    kind = f"{context}/udp" if quic else context
                    self.sockets.setdefault((kind, _wildcard(address), port), []).append(listen)
                elif "${" in args[0]:  # crossplane keeps "${PORT} ssl" as one word
                    frontend.unknown_binds.append(Located(args[0].split()[0], where))
            elif name == "return" and args and any(a.startswith("https://") for a in args):
                frontend.redirect_https = where
            elif name == "if" and any(v in a for a in args for v in ("$scheme", "$http_x_forwarded_proto")):
                # if ($scheme != "https") { return 301 https://...; }: plain HTTP is redirected
                for inner in item.get("block", []):
                    if inner["directive"] == "return" and any(a.startswith("https://") for a in inner.get("args", [])):
                        frontend.redirect_https = self.loc(rel, inner)
            elif name == "allow" and args:
                allows.append("0.0.0.0/0" if args[0] == "all" else args[0])
            elif name == "deny" and args and args[0] == "all":
                denies_all = True
                frontend.acl_location = frontend.acl_location or where
            elif name == "proxy_pass" and args:
                frontend.routes.append(RouteRule(None, self.backend_for(rel, item, args[0], context), where,
                                                 scheme=_scheme(args[0], context)))
            elif name == "location" and args:
                self.location(rel, item, frontend, context)
        if denies_all:
            frontend.allow = allows
        for listen in listens:
            listen.switch = switch
        self.doc.frontends.append(frontend)

    def decide_tls(self) -> None:
        """Whether each socket speaks TLS, as nginx decides it when a connection arrives, and
        what says so. A listen's "ssl" makes the socket TLS for every server block on it (nginx
        ORs the flag into the one socket: a plain request there is answered "The plain HTTP
        request was sent to HTTPS port"). Else "ssl on" (removed in nginx 1.25; 1.22 still
        reads it) counts in the socket's default server only (its "default_server" listen, or
        the first block on it), inherited from the http block unless the server says "ssl off".
        A certificate alone or port 443 makes nothing TLS."""
        for (context, _, port), listens in self.sockets.items():
            flagged = next((one for one in listens if one.ssl), None)
            default = next((one for one in listens if one.default), listens[0])
            switch = default.switch if default.switch is not None else self.http_ssl if context == "http" else None
            for one in listens:
                bind = one.bind
                if one.ssl:
                    bind.tls, bind.tls_location = True, bind.location
                    bind.tls_reason = "its listen is quic" if context.endswith("/udp") else "its listen has ssl"
                elif flagged is not None:
                    bind.tls, bind.tls_location = True, flagged.bind.location
                    bind.tls_reason = f"another server block's listen on {port} has ssl, for the one socket"
                elif switch is not None and switch.value:
                    bind.tls, bind.tls_location = True, switch.location
                    bind.tls_reason = ("ssl on in the default server of its address and port"
                                       if switch is default.switch else "ssl on in the http block")
                else:
                    bind.tls, bind.tls_location = False, bind.location
                    bind.tls_reason = "its listen has no ssl parameter"

    def rtmp_server(self, rel: str, d: Directive) -> None:
        """nginx-rtmp: ``listen 1935``, ``allow/deny publish`` per application, ``push`` to SRS."""
        frontend = Frontend(f"rtmp@{d.get('line')}", self.loc(rel, d))
        for item in d.get("block", []):
            if item["directive"] == "listen" and item.get("args"):
                address, port = _listen(item["args"][0])
                if port is not None:
                    frontend.binds.append(Bind(address, port, False, self.loc(rel, item)))
                elif "${" in item["args"][0]:
                    frontend.unknown_binds.append(Located(item["args"][0].split()[0], self.loc(rel, item)))
            elif item["directive"] == "application":
                allows: list[str] = []
                for entry in item.get("block", []):
                    args = entry.get("args", [])
                    where = self.loc(rel, entry)
                    if entry["directive"] == "allow" and args[:1] == ["publish"] and len(args) > 1:
                        allows.append("0.0.0.0/0" if args[1] == "all" else args[1])
                    elif entry["directive"] == "deny" and args[:2] == ["publish", "all"]:
                        frontend.allow, frontend.acl_location = allows, where
                    elif entry["directive"] == "push" and args:
                        target = args[0].split("://", 1)[-1].split("/", 1)[0]
                        name = self.backend_for(rel, entry, "tcp://" + (target if ":" in target else target + ":1935"),
                                                "stream")
                        frontend.routes.append(RouteRule(None, name, where, scheme="tcp"))
        self.doc.frontends.append(frontend)

    def location(self, rel: str, d: Directive, frontend: Frontend, context: str) -> None:
        modifier, path = _location_modifier(d["args"])
        if path.startswith("@"):
            return  # a named location: reached by try_files or error_page, not by a request path
        # "= /api" is /api alone; a regular expression (~, ~*) covers paths no rule can list.
        how: RouteMatch = "exact" if modifier == "=" else "pattern" if modifier in ("~", "~*") else "prefix"
        route = RouteRule(path, None, self.loc(rel, d), match=how, final=modifier == "^~",
                          regex=how == "pattern", ignore_case=modifier == "~*")
        for item in d.get("block", []):
            name, item_args = item["directive"], item.get("args", [])
            if name == "proxy_pass" and item_args:
                route.backend = self.backend_for(rel, item, item_args[0], context)
                route.location = self.loc(rel, item)
                route.scheme = _scheme(item_args[0], context)
            elif name == "return" and any(a.startswith("https://") for a in item_args):
                route.redirect_https = True
                if path == "/" and how == "prefix":
                    frontend.redirect_https = self.loc(rel, item)
            elif name in ("proxy_cache", "expires") and item_args and item_args[0] != "off":
                route.cached = True
        for item in d.get("block", []):
            name, item_args = item["directive"], item.get("args", [])
            backend = self.doc.backends.get(route.backend or "")
            if backend is None:
                continue
            if name == "proxy_set_header" and item_args and item_args[0].lower() == "upgrade":
                backend.websocket = backend.websocket or self.loc(rel, item)
            elif name == "health_check":  # NGINX Plus active checks
                uri = next((a.split("=", 1)[1] for a in item_args if a.startswith("uri=")), "/")
                backend.health = HealthSpec(self.loc(rel, item), uri, "GET")
        frontend.routes.append(route)


def _location_modifier(args: list[str]) -> tuple[str, str]:
    """A location's modifier and path: ``= /api``, or written as one word (``=/api``,
    ``~*\\.m3u8$``), as nginx also reads them."""
    if len(args) >= 2:
        return args[0], args[-1]
    for modifier in ("^~", "~*", "~", "="):
        if args[0].startswith(modifier):
            return modifier, args[0][len(modifier):]
    return "", args[0]


def _scheme(target: str, context: str) -> str:
    if "://" in target:
        return target.split("://", 1)[0]
    return "tcp" if context == "stream" else "http"


# nginx variables whose value starts with the request's path ("/..."), so that whatever follows
# a host:port in a proxy_pass URL is its path.
_PATH_VARIABLE = re.compile(r"\$(?:\{(?:request_uri|uri|document_uri)\}|(?:request_uri|uri|document_uri)\b)")


def _host_port(text: str, default: int | None = None) -> tuple[str, int | None]:
    if text.startswith("unix:"):
        return text, None
    host, sep, port = text.rpartition(":")
    if sep and _is_number(port) and not host.endswith(":"):
        return host.strip("[]"), port_number(port)
    return text.strip("[]"), default


def _wildcard(address: str) -> str:
    """One name for the IPv4 wildcard however a listen writes it ("80", "*:80", "0.0.0.0:80")."""
    return "0.0.0.0" if address in ("", "*") else address


def _listen(text: str) -> tuple[str, int | None]:
    if "${" in text:
        return text, None  # a template placeholder nothing filled: the port is not known
    if _is_number(text):
        return "", port_number(text)  # None when out of range: nginx refuses the listen
    if text.startswith("unix:"):
        return text, None
    host, sep, port = text.rpartition(":")
    if sep and _is_number(port):
        return host.strip("[]").replace("*", ""), port_number(port)
    return text, 80


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()
