"""HAProxy configuration (``haproxy.cfg``), line by line as HAProxy reads it.

Sections (``global``, ``defaults``, ``frontend``, ``backend``, ``listen``) hold one keyword
per line. We read what the guide cares about: binds and TLS, path ACLs and ``use_backend``,
HTTPS redirects, ``src`` ACLs that admit or reject clients, servers, health checks, sticky
sessions and tunnel timeouts. ``defaults`` sections pass ``option httpchk`` and
``timeout tunnel`` on to the sections after them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from bitriver_lint.config import Config
from bitriver_lint.loaders.proxy import (
    Backend,
    Bind,
    Frontend,
    HealthSpec,
    ProxyConfig,
    RouteRule,
    Server,
    load_all,
    rerender,
    substitute,
)
from bitriver_lint.model import Diagnostic, Located, Location, port_number
from bitriver_lint.vocabulary import RouteMatch
from bitriver_lint.workspace import Workspace

SECTIONS = {"global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers", "cache",
            "program", "http-errors", "ring", "mailers", "crt-store", "traces", "log-forward"}
_KEYWORD = re.compile(r"^[a-z][a-z0-9_.-]*$")


@dataclass
class _Line:
    words: list[str]
    location: Location
    text: str


@dataclass
class _Section:
    kind: str
    name: str
    location: Location
    lines: list[_Line] = field(default_factory=list)


def _split(text: str) -> list[str]:
    if '"' not in text and "'" not in text and "\\" not in text:  # no quoting: a plain split
        words = text.split()
        if "#" in text:
            for i, word in enumerate(words):
                if word.startswith("#"):
                    return words[:i]
        return words
    try:
        return shlex.split(text, comments=True, posix=True)
    except ValueError:
        return text.split("#", 1)[0].split()


def parse_sections(text: str, path: str,
                   env: Mapping[str, str] | None = None) -> tuple[list[_Section], list[Diagnostic]]:
    """The sections of one file. Conditional blocks (``.if``/``.elif``/``.else``/``.endif``) are
    read where their condition may hold: one known to be false is skipped, one that cannot be
    decided here is read like one that holds (so both branches of an unknown ``.if`` are read)."""
    sections: list[_Section] = []
    diagnostics: list[Diagnostic] = []
    blocks: list[_Block] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        where = Location(path, number, column)
        words = _split(stripped)
        if not words:
            continue
        if words[0].startswith("."):
            problem = _directive(words, stripped, where, blocks, env or {})
            if problem is not None:
                diagnostics.append(Diagnostic("BRL001", problem, where))
            continue
        if blocks and not all(block.active for block in blocks):
            continue
        if not _KEYWORD.match(words[0]):
            diagnostics.append(Diagnostic("BRL001", f"not an HAProxy keyword: {stripped[:60]!r}", where))
            continue
        if words[0] in SECTIONS:
            sections.append(_Section(words[0], words[1] if len(words) > 1 else "", where))
            continue
        if not sections:
            diagnostics.append(Diagnostic("BRL001", f"{words[0]!r} outside of any section", where))
            continue
        sections[-1].lines.append(_Line(words, where, stripped))
    for block in blocks:
        diagnostics.append(Diagnostic("BRL001", ".if without a matching .endif", block.location))
    return sections, diagnostics


# -- conditional blocks -------------------------------------------------------------------------

@dataclass
class _Block:
    """One ``.if`` ... ``.endif`` being read."""

    location: Location
    active: bool  # the lines of the current branch may be read by HAProxy
    decided: bool  # an earlier branch certainly holds: the later ones are never read
    in_else: bool = False


# Messages HAProxy prints while reading the file; they change nothing of the configuration.
_MESSAGES = {".notice", ".warning", ".alert", ".diag"}
# The HAProxy the scan assumes: a current 3.x (any minor), so only versions outside 3.x decide.
_ASSUMED_MAJOR = 3


def _directive(words: list[str], text: str, where: Location, blocks: list[_Block],
               env: Mapping[str, str]) -> str | None:
    """Apply one ``.``-directive; returns what is wrong with it, if anything."""
    head = words[0]
    outer = all(block.active for block in blocks)
    if head == ".if":
        held = _condition(" ".join(words[1:]), env) if outer else False
        blocks.append(_Block(where, outer and held is not False, held is True))
        return None if len(words) > 1 else ".if without a condition"
    if head in (".elif", ".else", ".endif") and not blocks:
        return f"{head} without an opening .if"
    if head == ".elif":
        block = blocks[-1]
        if block.in_else:
            return ".elif after .else"
        outer = all(b.active for b in blocks[:-1])
        held = _condition(" ".join(words[1:]), env) if outer and not block.decided else False
        block.active = outer and held is not False
        block.decided = block.decided or held is True
        return None
    if head == ".else":
        block = blocks[-1]
        if block.in_else:
            return "a second .else in one .if block"
        block.in_else = True
        block.active = all(b.active for b in blocks[:-1]) and not block.decided
        block.decided = True
        return None
    if head == ".endif":
        blocks.pop()
        return None
    if head in _MESSAGES:
        return None
    return f"not an HAProxy directive: {text[:60]!r}"


_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|[A-Za-z_][A-Za-z0-9_]*\((?:[^()\"']|\"[^\"]*\"|'[^']*')*\)|[^\s()!&|]+)")


def _condition(text: str, env: Mapping[str, str]) -> bool | None:
    """The value of a ``.if`` condition: True, False, or None when the scan cannot tell."""
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        tokens.append(match.group(1))
        position = match.end()
    parser = _ConditionParser(tokens, env)
    try:
        value = parser.expression()
    except ValueError:
        return None
    return value if parser.done() else None


class _ConditionParser:
    """``term (&& term | || term)*`` as HAProxy reads it (&& before ||), in three values."""

    def __init__(self, tokens: list[str], env: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.env = env
        self.at = 0

    def done(self) -> bool:
        return self.at == len(self.tokens)

    def _next(self) -> str:
        if self.at >= len(self.tokens):
            raise ValueError("condition ends early")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def expression(self) -> bool | None:
        value = self.conjunction()
        while self._peek() == "||":
            self._next()
            other = self.conjunction()
            value = True if value is True or other is True else (False if value is False and other is False else None)
        return value

    def conjunction(self) -> bool | None:
        value = self.term()
        while self._peek() == "&&":
            self._next()
            other = self.term()
            value = False if value is False or other is False else (True if value is True and other is True else None)
        return value

    def term(self) -> bool | None:
        token = self._next()
        if token == "!":
            value = self.term()
            return None if value is None else not value
        if token == "(":
            value = self.expression()
            if self._next() != ")":
                raise ValueError("unbalanced parenthesis")
            return value
        if token in ("&&", "||", ")"):
            raise ValueError(f"unexpected {token}")
        name, paren, rest = token.partition("(")
        if not paren:
            return _word(token)
        return _predicate(name, _arguments(rest[:-1]), self.env)


def _word(token: str) -> bool | None:
    word = token.strip("\"'")
    if "$" in word:
        return None
    if re.fullmatch(r"-?\d+", word):
        return int(word) != 0
    return word != ""


def _arguments(text: str) -> list[str]:
    return [arg.strip().strip("\"'") for arg in text.split(",")] if text.strip() else []


def _predicate(name: str, args: list[str], env: Mapping[str, str]) -> bool | None:
    if any("$" in arg for arg in args):
        return None  # a variable the scan could not expand
    if name == "defined" and len(args) == 1:
        return True if args[0] in env else None
    if name in ("streq", "strneq", "strstr") and len(args) == 2:
        a, b = args
        return a == b if name == "streq" else (a != b if name == "strneq" else b in a)
    if name in ("version_atleast", "version_before") and len(args) == 1:
        major = re.match(r"\d+", args[0])
        if major is None:
            return None
        number = int(major.group())
        if number == _ASSUMED_MAJOR:
            whole = re.fullmatch(r"\d+(\.0)*", args[0])
            if whole is None:
                return None  # 3.1 or 3.1-dev8: it depends on the minor version
            at_least: bool | None = True  # every 3.x is at least 3.0
        else:
            at_least = number < _ASSUMED_MAJOR
        return at_least if name == "version_atleast" else not at_least
    return None  # feature(), enabled(), OpenSSL versions: what the build has, unknown here


def _bind(words: list[str], where: Location) -> tuple[list[Bind], list[Located[str]]]:
    """The binds of a ``bind`` line, and those whose port is a placeholder nothing set."""
    binds: list[Bind] = []
    unknown: list[Located[str]] = []
    tls = "ssl" in words[2:]
    for spec in words[1].split(",") if len(words) > 1 else []:
        # Address families of HAProxy's address syntax (mptcp@ since 3.1): a stream socket on an address.
        spec = re.sub(r"^(ipv4|ipv6|tcp|tcp4|tcp6|quic4|quic6|quic|mptcp|mptcp4|mptcp6)@", "", spec)
        if spec.startswith(("unix@", "/", "abns@", "fd@", "sockpair@", "udp@", "udp4@", "udp6@")):
            continue  # no TCP port; HAProxy refuses a datagram socket on a bind line
        address, _, port = spec.rpartition(":")
        first, dash, last = port.partition("-")
        number = port_number(first)
        if number == 0 or (dash and port_number(last) is None):
            continue  # "invalid port": HAProxy refuses the config
        if number is not None:
            binds.append(Bind(address.strip("[]"), number, tls, where))
        elif "${" in port:
            unknown.append(Located(spec, where))
    return binds, unknown


def _condition_names(words: list[str]) -> tuple[list[str], bool]:
    """The ACL names after ``if``/``unless`` and whether the condition is negated as a whole."""
    for keyword in ("if", "unless"):
        if keyword in words:
            rest = words[words.index(keyword) + 1:]
            return rest, keyword == "unless"
    return [], False


# HAProxy expands "${VAR}" and "${VAR-default}" in double-quoted arguments from its environment.
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-([^}]*))?\}")


def load(files: list[str], ws: Workspace, config: Config) -> list[ProxyConfig]:
    return load_all(files, ws, "haproxy", lambda doc, text: fill(doc, text, config.variables))


def fill(doc: ProxyConfig, text: str, env: Mapping[str, str]) -> None:
    """Read one haproxy.cfg into ``doc``; while placeholders are unset, ``doc.render`` reads
    the same text again with more environment (the service's that runs HAProxy)."""
    source = text
    text, doc.placeholders = substitute(text, _ENV_REFERENCE, env)
    doc.frontends, doc.backends = [], {}
    sections, doc.diagnostics = parse_sections(text, doc.path, env)
    _interpret(doc, sections)
    if doc.placeholders:
        rerender(doc, source, env, fill)


def _interpret(doc: ProxyConfig, sections: list[_Section]) -> None:
    inherited_check: HealthSpec | None = None
    inherited_tunnel: Location | None = None
    inherited_mode = "tcp"  # HAProxy's own default
    for section in sections:
        if section.kind == "defaults":
            for line in section.lines:
                if line.words[:1] == ["mode"] and len(line.words) > 1:
                    inherited_mode = line.words[1]
                elif line.words[:2] == ["option", "httpchk"]:
                    inherited_check = _httpchk(line)
                elif line.words[:2] == ["timeout", "tunnel"]:
                    inherited_tunnel = line.location
            continue
        if section.kind in ("frontend", "listen"):
            doc.frontends.append(_frontend(section))
        if section.kind in ("backend", "listen"):
            backend = _backend(section, inherited_check, inherited_tunnel, inherited_mode)
            doc.backends[backend.name] = backend
            if section.kind == "listen" and doc.frontends and doc.frontends[-1].name == section.name:
                frontend = doc.frontends[-1]
                if not any(r.path is None for r in frontend.routes):
                    frontend.routes.append(RouteRule(None, backend.name, section.location))


def _frontend(section: _Section) -> Frontend:
    # use_backend lines are tried in order, the first whose condition holds wins; the
    # default_backend only when none does, wherever it is written.
    frontend = Frontend(section.name, section.location, selection="first")
    defaults: list[RouteRule] = []
    path_acls: dict[str, str] = {}
    exact_acls: set[str] = set()  # path ACLs that match the whole path (acl is_api path /api)
    pattern_acls: dict[str, str] = {}  # ACLs on the path by a pattern -> it ("path_reg ^/api/v[0-9]+")
    src_acls: dict[str, list[str]] = {}
    for line in section.lines:
        words = line.words
        head = words[0]
        if head == "bind":
            binds, unknown = _bind(words, line.location)
            frontend.unknown_binds.extend(unknown)
            for bind in binds:
                # HTTP/3 (a quic4@ bind) beside TCP on the same port is one termination point.
                if not any((b.address, b.port, b.tls) == (bind.address, bind.port, bind.tls) for b in frontend.binds):
                    frontend.binds.append(bind)
        elif head == "acl" and len(words) >= 4:
            name, criterion = words[1], words[2]
            read = _path_acl(criterion, words[3:])
            if read is not None and name not in path_acls and name not in pattern_acls:
                value, how = read
                if how == "pattern":
                    pattern_acls[name] = value
                else:
                    path_acls[name] = value
                    if how == "exact":
                        exact_acls.add(name)
            elif criterion == "src":
                src_acls.setdefault(name, []).extend(words[3:])
        elif head == "use_backend" and len(words) >= 2:
            condition, unless = _condition_names(words)
            matches: list[tuple[str, RouteMatch]] = []
            groups = _terms(condition) if condition else []
            # Only one path ACL and nothing else makes the path alone decide; "unless", "||", a
            # negation or another ACL (a host) may let a path it names pass to a later line.
            conditional = unless or len(groups) > 1 or any(len(group) != 1 for group in groups)
            for group in groups:
                for negated, term in group:
                    name = term[0]
                    if negated:
                        conditional = True
                        continue  # "everything but" names no path
                    if len(term) > 1:  # an anonymous ACL: { path_beg /api }
                        read = _path_acl(name, term[1:])
                        matches.extend(filter(None, [read]))
                        conditional = conditional or read is None
                    elif name in path_acls:
                        matches.append((path_acls[name], "exact" if name in exact_acls else "prefix"))
                    elif name in pattern_acls:
                        matches.append((pattern_acls[name], "pattern"))
                    else:
                        conditional = True  # an ACL on something else than the path
            # A path the condition names is the route's; a pattern only when it names none, kept as
            # written: which paths it sends there is no prefix we can judge.
            path, how = next((m for m in matches if m[1] != "pattern"), None) or next(iter(matches), (None, "prefix"))
            frontend.routes.append(RouteRule(path, words[1], line.location, match=how, conditional=conditional))
        elif head == "default_backend" and len(words) >= 2:
            defaults.append(RouteRule(None, words[1], line.location))
        elif _is_https_redirect(words):
            if _redirects_everything_but_acme(words, path_acls):
                frontend.redirect_https = line.location
        elif head in ("tcp-request", "http-request") and ("reject" in words or "deny" in words):
            names, unless = _condition_names(words)
            admitted = [n.lstrip("!") for n in names if n.lstrip("!") in src_acls]
            negated = unless or any(n.startswith("!") for n in names)
            if admitted and negated:
                frontend.allow = [c for n in admitted for c in src_acls[n]]
                frontend.acl_location = line.location
    frontend.routes.extend(defaults)
    return frontend


_ACME = "/.well-known/acme-challenge"
_TLS_FETCHES = {"ssl_fc", "ssl_c_used"}


def _terms(condition: list[str]) -> list[list[tuple[bool, list[str]]]]:
    """A condition as groups joined by ``||``/``or``, each a list of (negated, words) terms: an
    ACL name is one word, an anonymous ACL (``{ path_beg /x }``) its words."""
    groups: list[list[tuple[bool, list[str]]]] = [[]]
    negated = False
    inline: list[str] | None = None
    for word in condition:
        if inline is not None:
            if word == "}":
                groups[-1].append((negated, inline))
                inline, negated = None, False
            else:
                inline.append(word)
        elif word in ("||", "or"):
            groups.append([])
        elif word == "!":
            negated = True
        elif word in ("{", "!{"):
            negated = negated or word == "!{"
            inline = []
        else:
            groups[-1].append((negated or word.startswith("!"), [word.lstrip("!")]))
            negated = False
    return groups


def _redirects_everything_but_acme(words: list[str], path_acls: Mapping[str, str]) -> bool:
    """Whether a redirect to HTTPS applies to every plain-HTTP request, or to every one but the
    ACME HTTP-01 challenge path (``if !{ ssl_fc } !acme``, ``unless { ssl_fc } || acme``)."""
    condition, unless = _condition_names(words)
    if not condition:
        return True

    def tls(term: list[str]) -> bool:
        return len(term) == 1 and term[0] in _TLS_FETCHES

    def acme(term: list[str]) -> bool:
        if len(term) == 1:
            return path_acls.get(term[0], "").startswith(_ACME)
        return len(term) == 2 and term[0].startswith(("path", "url")) and term[1].startswith(_ACME)

    groups = _terms(condition)
    if unless:  # unless A || B: redirected when none holds; A and B may be TLS or the ACME path
        return all(tls(term) or (acme(term) and not negated) for group in groups for negated, term in group)
    # if A B || C: redirected when a group holds; a group of TLS-or-not terms (true of any plain
    # request) and "not ACME" ones holds for everything but the challenge
    return any(all(tls(term) or (acme(term) and negated) for negated, term in group) for group in groups)


# Path and URL fetches that match by a pattern, not a prefix: a route on one covers some paths
# we cannot name, never every path.
_PATTERN_CRITERIA = frozenset({"path_reg", "path_sub", "path_end", "path_dom", "path_len",
                               "url_reg", "url_sub", "url_end", "url_dom", "url_len"})


def _path_acl(criterion: str, args: list[str]) -> tuple[str, RouteMatch] | None:
    """What an ACL on the path matches: ``path_beg /api`` a prefix, ``path /api`` that path
    alone (HAProxy compares the whole string unless ``-m`` says otherwise), ``path_reg`` or
    ``path -m reg`` a pattern (with its fetch, as written). None: not on the path, or no value."""
    fetch = criterion.split(",")[0]
    method: RouteMatch | None = "prefix" if fetch.startswith("path_beg") else _PATH_METHODS.get(fetch)
    if criterion in _PATTERN_CRITERIA:
        method = "pattern"
    values: list[str] = []
    flags = iter(args)
    for word in flags:
        if word == "-m" and not values:
            matcher = next(flags, "")
            if method is not None and fetch == "path":
                method = "prefix" if matcher == "beg" else "exact" if matcher == "str" else "pattern"
        elif word in ("-f", "-M") and not values:
            next(flags, "")
            method = "pattern" if method is not None else None  # its values are in another file
        elif word.startswith("-") and not values:
            continue  # -i, -n, --
        else:
            values.append(word)
    if method is None or (not values and method != "pattern"):
        return None
    if method == "pattern":
        return " ".join([criterion, *args]), "pattern"
    return values[0], method


# Fetches on the path that name it, and how each matches unless "-m" says otherwise.
_PATH_METHODS: dict[str, RouteMatch] = {"path": "exact", "path_dir": "prefix"}


def _is_https_redirect(words: list[str]) -> bool:
    if words[:3] == ["http-request", "redirect", "scheme"] and len(words) > 3:
        return words[3] == "https"
    if words[:2] == ["redirect", "scheme"] and len(words) > 2:
        return words[2] == "https"
    return words[:2] == ["redirect", "prefix"] and len(words) > 2 and words[2].startswith("https://")


def _httpchk(line: _Line) -> HealthSpec:
    args = [w for w in line.words[2:] if not w.startswith("HTTP/")]
    if not args:
        return HealthSpec(line.location, "/", "OPTIONS")
    if len(args) == 1:
        return HealthSpec(line.location, args[0], "OPTIONS")
    return HealthSpec(line.location, args[1], args[0].upper())


def _backend(section: _Section, check: HealthSpec | None, tunnel: Location | None, mode: str) -> Backend:
    backend = Backend(section.name, section.location, websocket=tunnel)
    httpchk = check
    has_check = False
    for line in section.lines:
        if line.words[:1] == ["mode"] and len(line.words) > 1:
            mode = line.words[1]
    for line in section.lines:
        words = line.words
        head = words[0]
        if head == "server" and len(words) >= 3:
            host, _, port = words[2].rpartition(":")
            scheme = "https" if "ssl" in words[3:] else ("tcp" if mode == "tcp" else "http")
            backend.servers.append(Server(host.strip("[]") or words[2], port_number(port),
                                          line.location, scheme))
            has_check = has_check or "check" in words[3:]
            if "cookie" in words[3:]:
                backend.sticky = backend.sticky or line.location
        elif words[:2] == ["option", "httpchk"]:
            httpchk = _httpchk(line)
        elif words[:2] == ["http-check", "send"]:
            method = words[words.index("meth") + 1] if "meth" in words[:-1] else "GET"
            uri = words[words.index("uri") + 1] if "uri" in words[:-1] else "/"
            httpchk = HealthSpec(line.location, uri, method.upper())
        elif head == "cookie" or (head == "stick" and len(words) > 1) or words[:2] == ["balance", "source"]:
            backend.sticky = backend.sticky or line.location
        elif words[:2] == ["timeout", "tunnel"]:
            backend.websocket = line.location
    if has_check:
        backend.health = httpchk or HealthSpec(section.location, None, "TCP")
    return backend
