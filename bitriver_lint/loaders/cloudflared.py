"""``cloudflared`` tunnel configs (``config.yml``): the tunnel and its ingress rules.

Each ingress rule picks requests by ``hostname`` and ``path`` (a regular expression) and sends
them to a ``service``: an origin URL (``http://localhost:8080``), or an answer of the
connector's own (``http_status:404``, ``hello_world``, ``bastion``). The rules become a
load-balancer document (one backend per rule), so the join resolves their origins as it
resolves a proxy's servers. ``originRequest.noTLSVerify`` (at the top, or on a rule) turns off
the check of the origin's certificate.

cloudflared refuses a config that breaks its ingress validation; each such mistake is a BRL001
here, at the rule, and the rest of the file is still read: a service without a scheme and a
host name or with a path, an unparseable ``http_status``, a host name with a port or a
wildcard anywhere but at its start, a ``path`` that is no regular expression, a last rule that
does not match everything (it must have neither hostname nor path), or an earlier rule that does
(the rules after it are never reached).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bitriver_lint.config import Config
from bitriver_lint.loaders.each import read_each
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document
from bitriver_lint.model import Diagnostic, Located, Location
from bitriver_lint.workspace import Workspace

# Services the connector answers itself: no origin behind them.
_BUILTIN = ("hello_world", "hello-world", "helloworld", "bastion")
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443, "ssh": 22, "rdp": 3389}
_L4 = ("tcp", "ssh", "rdp", "smb", "socks5")


@dataclass
class IngressRule:
    hostname: str | None
    path: str | None
    service: Located[str] | None
    no_verify: Located[Any] | None  # where noTLSVerify: true applies to this rule
    location: Location


@dataclass
class TunnelConfig:
    path: str
    location: Location
    tunnel: Located[str] | None = None
    rules: list[IngressRule] = field(default_factory=list)
    proxy: ProxyConfig | None = None  # the rules as a load-balancer document
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load(files: list[str], ws: Workspace, config: Config) -> list[TunnelConfig]:
    del config
    return read_each(files, ws, lambda rel: TunnelConfig(rel, Location(rel, 1, 1)), read)


def read(doc: TunnelConfig, text: str) -> None:
    """Fill ``doc`` from the file's text; every mistake is a diagnostic, never an exception."""
    try:
        data = load_document(text, doc.path)
    except YamlError as exc:
        doc.diagnostics.append(exc.diagnostic(doc.path))
        return
    if not isinstance(data, LDict):
        doc.diagnostics.append(Diagnostic("BRL001", "a cloudflared config is a mapping (tunnel:, ingress:)",
                                          doc.location))
        return
    if "tunnel" in data and isinstance(data["tunnel"], (str, int)):
        doc.tunnel = Located(str(data["tunnel"]), data.value_loc("tunnel"))
    proxy = ProxyConfig(doc.path, "cloudflared", doc.location, files=[doc.path])
    frontend = Frontend("tunnel", doc.location, [Bind("", 443, True, doc.location)])
    proxy.frontends.append(frontend)
    doc.proxy = proxy
    default_verify = _no_verify(data.get("originRequest"))
    ingress = data.get("ingress")
    if ingress is None:
        url = data.get("url")
        if isinstance(url, str):  # the single-origin form: every request to one URL
            rule = IngressRule(None, None, Located(url, data.value_loc("url")), default_verify, data.key_loc("url"))
            doc.rules.append(rule)
            add_ingress(proxy, frontend, rule.service, rule.path, rule.location, 0)
        else:
            doc.diagnostics.append(Diagnostic("BRL001", "the cloudflared config has no ingress rules (and no url:)",
                                              doc.location))
        return
    if not isinstance(ingress, LList) or not ingress:
        doc.diagnostics.append(Diagnostic("BRL001", "ingress: must be a non-empty list of rules",
                                          data.value_loc("ingress")))
        return
    for index, raw in enumerate(ingress):
        where = ingress.item_loc(index)
        if not isinstance(raw, LDict):
            doc.diagnostics.append(Diagnostic("BRL001", f"ingress rule #{index + 1} is not a mapping", where))
            continue
        rule = _rule(doc, raw, where, index, len(ingress), default_verify)
        doc.rules.append(rule)
        add_ingress(proxy, frontend, rule.service, rule.path, rule.location, index)


def _text(raw: LDict, key: str) -> str | None:
    value = raw.get(key)
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def _rule(doc: TunnelConfig, raw: LDict, where: Location, index: int, total: int,
          default_verify: Located[Any] | None) -> IngressRule:
    number = index + 1
    hostname, path = _text(raw, "hostname"), _text(raw, "path")
    service_text = _text(raw, "service")
    service = Located(service_text, raw.value_loc("service")) if service_text is not None else None
    problems: list[tuple[str, Location]] = []
    if service is None or service_text is None:
        problems.append((f"ingress rule #{number} has no service", where))
    else:
        problem = _service_problem(service_text)
        if problem:
            problems.append((f"ingress rule #{number}: {problem}", service.location))
    if hostname:
        host_where = raw.value_loc("hostname")
        if re.fullmatch(r"\[?[^\]]*\]?:\d+", hostname):
            problems.append((f"ingress rule #{number}: the hostname cannot contain a port ({hostname})", host_where))
        if hostname.rfind("*") > 0:
            problems.append((f"ingress rule #{number}: a hostname may have one wildcard, only at its start "
                             f"(*.example.com), not {hostname}", host_where))
    if path:
        try:
            re.compile(path)
        except (re.error, RecursionError, OverflowError) as exc:
            problems.append((f"ingress rule #{number} has an invalid path regex: {exc}", raw.value_loc("path")))
    catch_all = hostname in (None, "", "*") and not path
    if index == total - 1 and not catch_all:
        problems.append(("the last ingress rule must match every request (no hostname and no path); "
                         "cloudflared refuses to start otherwise", where))
    elif index < total - 1 and catch_all:
        problems.append((f"ingress rule #{number} matches every request, so the {total - 1 - index} rule(s) "
                         "after it are never reached; cloudflared refuses to start", where))
    for message, location in problems:
        doc.diagnostics.append(Diagnostic("BRL001", message, location))
    return IngressRule(hostname or None, path or None, service, _no_verify(raw.get("originRequest")) or default_verify,
                       where)


def _service_problem(service: str) -> str | None:
    if service.startswith("unix:") or service in _BUILTIN:
        return None
    if service.startswith("http_status:"):
        code = service.removeprefix("http_status:")
        return None if code.isdigit() else f"{service} is not an HTTP status"
    try:
        parts = urlsplit(service)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return f"{service} is not a valid address"
    if not parts.scheme or not parts.hostname:
        return f"{service} needs a scheme and a host name (http://localhost:8080)"
    if parts.path:
        return (f"{service} has a path; ingress rules cannot send requests to another path on the origin "
                "(the request's own path is kept)")
    return None


def _no_verify(request: Any) -> Located[Any] | None:
    if isinstance(request, LDict) and request.get("noTLSVerify") is True:
        return Located("true", request.value_loc("noTLSVerify"))
    return None


def add_ingress(proxy: ProxyConfig, frontend: Frontend, service: Located[Any] | None, path: str | None,
                where: Location, index: int) -> None:
    """One ingress rule as a route to a backend of one server; a rule the connector answers
    itself (``http_status:404``) routes nowhere. The Terraform tunnel configs use it too."""
    if service is None or not isinstance(service.value, str) or "://" not in service.value:
        return
    try:
        parts = urlsplit(service.value.strip())
        port = parts.port
    except ValueError:
        return
    scheme = parts.scheme.lower()
    port = port or _DEFAULT_PORTS.get(scheme)
    if parts.hostname is None or port is None:
        return
    name = f"ingress {index + 1}"
    backend = Backend(name, where)
    kind = "https" if scheme in ("https", "wss") else ("tcp" if scheme in _L4 else "http")
    backend.servers.append(Server(parts.hostname, port, service.location, kind))
    proxy.backends[name] = backend
    frontend.routes.append(RouteRule(path_prefix(path), name, where))


def path_prefix(pattern: str | None) -> str | None:
    """An ingress ``path`` regex as the path prefix it matches (``^/api/.*`` is ``/api/``);
    a pattern not anchored at a prefix (``\\.m3u8$``) stays as written; None: every path."""
    if not pattern:
        return None
    text = pattern.removeprefix("^")
    literal = re.match(r"[A-Za-z0-9/_\-]*", text)
    prefix = literal.group(0) if literal else ""
    if not prefix.startswith("/"):
        return pattern
    return prefix
