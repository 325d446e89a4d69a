"""SRS's own configuration (``srs.conf``, ``docker.conf``): which servers SRS runs and on which
ports.

The syntax is nginx-like: ``directive args;`` and ``name args { ... }`` blocks, ``#`` comments,
quoted words. Only the servers that open ports are read: the top-level ``listen`` (RTMP, every
``[ip:]port`` argument), ``http_api`` and ``http_server`` (each with an ``https`` block),
``rtc_server`` (WebRTC, UDP) and ``srt_server`` (UDP). What SRS does when a block or a directive
is absent follows its ``SrsConfig`` getters: a server whose block or ``enabled`` is missing is
off (RTMP is always on), only ``enabled on`` turns one on, and a missing ``listen`` is the
server's default port (API 1985, HTTPS API 1990, HTTP server 8080, HTTPS server 8088, WebRTC
8000, SRT 10080; RTMP 1935). The first block of a name counts, as ``root->get()`` finds it.

SRS 5 reads every setting from an ``SRS_<PATH>`` variable first (``SRS_HTTP_API_ENABLED``,
``SRS_HTTP_API_LISTEN``, ``SRS_LISTEN``), whatever the file says: ``listening`` applies the
environment of the process that runs the file over the file's values. A value written as
``$NAME`` is that variable too.

A file SRS would refuse (an unbalanced brace, a directive without ``;``, a port that is no
port) is a BRL001 and says nothing of the ports: SRS would not start with it. An ``include``
(SRS reads it from its working directory) is not followed: the file's ports are then unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bitriver_lint.config import Config
from bitriver_lint.loaders.each import read_each
from bitriver_lint.model import Diagnostic, Located, Location, Unknown, port_number
from bitriver_lint.vocabulary import ListenerPurpose
from bitriver_lint.workspace import Workspace

# SRS's own configs nest four or five deep (vhost > play > ...); deeper is no config of SRS's.
MAX_NESTING = 32


@dataclass
class Directive:
    name: str
    args: list[Located[str]]
    location: Location
    children: list[Directive] | None = None  # a block's directives; None for "name args;"

    def get(self, name: str) -> Directive | None:
        """The first directive of this name in the block, as SRS's ``get()`` finds it."""
        return next((d for d in self.children or [] if d.name == name), None)


@dataclass
class SrsConfig:
    path: str
    location: Location
    root: Directive | None = None  # None: the file is not a config SRS would start with
    includes: list[Located[str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class Server:
    """One of SRS's servers: where it sits in the config, its environment variables, its
    defaults."""

    purpose: ListenerPurpose
    block: tuple[str, ...]  # () for RTMP's top-level listen
    protocol: Literal["tcp", "udp"]
    tls: bool
    port: int  # SRS's default when the block has no listen
    env: str  # SRS_<PATH>: SRS_<PATH>_ENABLED and SRS_<PATH>_LISTEN
    label: str


SERVERS: tuple[Server, ...] = (
    Server("rtmp", (), "tcp", False, 1935, "SRS", "RTMP"),
    Server("srs-api", ("http_api",), "tcp", False, 1985, "SRS_HTTP_API", "the HTTP API"),
    Server("srs-api", ("http_api", "https"), "tcp", True, 1990, "SRS_HTTP_API_HTTPS", "the HTTPS API"),
    Server("srs-http", ("http_server",), "tcp", False, 8080, "SRS_HTTP_SERVER", "the HTTP server"),
    Server("srs-http", ("http_server", "https"), "tcp", True, 8088, "SRS_HTTP_SERVER_HTTPS", "the HTTPS server"),
    Server("webrtc", ("rtc_server",), "udp", False, 8000, "SRS_RTC_SERVER", "the WebRTC server"),
    Server("srt", ("srt_server",), "udp", False, 10080, "SRS_SRT_SERVER", "the SRT server"),
)


@dataclass(frozen=True)
class Port:
    """A port SRS listens on, and why we believe so."""

    purpose: ListenerPurpose
    port: int
    protocol: Literal["tcp", "udp"]
    tls: bool | None
    bind: str | None
    reason: str
    location: Location | None  # None: nothing written says it (the runner's own defaults)


@dataclass
class Listening:
    """What SRS listens on, with what could not be known (each an Unknown with its place)."""

    ports: list[Port] = field(default_factory=list)
    unknown: list[Located[Unknown]] = field(default_factory=list)


def load(files: list[str], ws: Workspace, config: Config) -> list[SrsConfig]:
    del config
    return read_each(files, ws, lambda rel: SrsConfig(rel, Location(rel, 1, 1)), read)


def read(doc: SrsConfig, text: str) -> None:
    """Fill ``doc`` from the file's text; every mistake is a diagnostic, never an exception."""
    try:
        root = _parse(text, doc.path)
    except _Refused as exc:
        doc.diagnostics.append(Diagnostic("BRL001", f"{exc.message}; SRS refuses this config, so its ports "
                                          "are not read", exc.location))
        return
    doc.includes = [arg for d in _walk(root) if d.name == "include" for arg in d.args]
    problems = _port_problems(root)
    doc.diagnostics.extend(problems)
    if not problems:
        doc.root = root


# -- the syntax --------------------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


def _tokens(text: str, path: str) -> list[tuple[str, bool, Location]]:
    """(text, is a word, where) for every word and every ``;``, ``{``, ``}``."""
    out: list[tuple[str, bool, Location]] = []
    line, start, i, n = 1, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, start, i = line + 1, i + 1, i + 1
        elif ch in " \t\r\f\v":
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch in ";{}":
            out.append((ch, False, Location(path, line, i - start + 1)))
            i += 1
        elif ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise _Refused(f"a quote ({ch}) is never closed", Location(path, line, i - start + 1))
            word = text[i + 1:end]
            out.append((word, True, Location(path, line, i - start + 1)))
            line_breaks = word.count("\n")
            if line_breaks:
                line, start = line + line_breaks, i + 1 + word.rfind("\n") + 1
            i = end + 1
        else:
            # As SRS reads a word: only a space, ';' or '{' ends it; a '}', '#' or quote inside
            # it is part of it ("token=${X}" is "token=$", a block, and "X}").
            j = i
            while j < n and text[j] not in " \t\r\n\f\v;{":
                j += 1
            out.append((text[i:j], True, Location(path, line, i - start + 1)))
            i = j
    return out


def _parse(text: str, path: str) -> Directive:
    """The directive tree, built without recursion (a hostile file may nest deeply)."""
    root = Directive("", [], Location(path, 1, 1), [])
    stack: list[Directive] = [root]
    words: list[tuple[str, Location]] = []
    # The first "${NAME}" in a value: SRS has no such syntax, and its '{' opens a block.
    dollar: tuple[str, Located[str]] | None = None
    for token, is_word, where in _tokens(text, path):
        if is_word:
            words.append((token, where))
            continue
        if token == "}":
            if words:
                raise _Refused(f"the directive {words[0][0]} has no ';' before '}}'", words[0][1])
            if len(stack) == 1:
                raise _Refused("'}' closes no block", where)
            stack.pop()
            continue
        if not words:
            raise _Refused(f"'{token}' follows no directive name", where)
        (name, at), args = words[0], [Located(w, loc) for w, loc in words[1:]]
        words = []
        directive = Directive(name, args, at, [] if token == "{" else None)
        parent = stack[-1].children
        assert parent is not None
        parent.append(directive)
        if token == "{":
            if args and isinstance(args[-1].value, str) and args[-1].value.endswith("$") and dollar is None:
                dollar = (name, args[-1])
            if len(stack) > MAX_NESTING:
                raise _Refused(f"blocks nested more than {MAX_NESTING} deep", at)
            stack.append(directive)
    if words:
        raise _Refused(f"the directive {words[0][0]} has no ';' at the end of the file", words[0][1])
    if len(stack) > 1 and dollar is not None:
        name, value = dollar
        raise _Refused(f"{name}'s value {value.value}{{...}} opens a block that is never closed: SRS reads no "
                       "${NAME} (write $NAME)", value.location)
    if len(stack) > 1:
        raise _Refused(f"the block {stack[-1].name} is never closed ('}}' missing)", stack[-1].location)
    return root


def _walk(root: Directive) -> list[Directive]:
    out, todo = [], list(root.children or [])
    while todo:
        directive = todo.pop()
        out.append(directive)
        todo.extend(directive.children or [])
    return out


def _block(root: Directive, names: tuple[str, ...]) -> Directive | None:
    found: Directive | None = root
    for name in names:
        found = found.get(name) if found is not None else None
        if found is not None and found.children is None:
            return None  # "http_api on;": not the block
    return found


def _port_problems(root: Directive) -> list[Diagnostic]:
    """A listen value SRS cannot listen on stops it: BRL001 at the value."""
    out: list[Diagnostic] = []
    for server in SERVERS:
        block = _block(root, server.block)
        listen = block.get("listen") if block is not None else None
        for arg in listen.args if listen is not None else []:
            text = arg.value
            if isinstance(text, str) and not text.startswith("$") and _endpoint(text)[1] is None:
                where = " ".join((*server.block, "listen"))
                out.append(Diagnostic("BRL001", f"{where} {text} is not [ip:]port", arg.location))
    return out


def _endpoint(text: str) -> tuple[str | None, int | None]:
    """``"1985"`` -> (None, 1985); ``"127.0.0.1:1985"`` -> ("127.0.0.1", 1985)."""
    host, sep, port = text.rpartition(":")
    return (host.strip("[]") or None) if sep else None, port_number(port)


# -- what SRS listens on -------------------------------------------------------------------------

def listening(doc: SrsConfig | None, env: Mapping[str, Located[str]], where: Location) -> Listening:
    """The ports SRS listens on with ``doc`` (None: the image's own config, which runs RTMP and
    the API on their defaults) under the process's environment ``env``, which SRS reads first.
    ``where`` is the runner's line, for what only defaults say."""
    out = Listening()
    root = doc.root if doc is not None else None
    for server in SERVERS:
        block = _block(root, server.block) if root is not None else None
        if doc is None and (server.purpose not in ("rtmp", "srs-api") or server.tls):
            continue
        enabled = _enabled(server, doc, block, env, out)
        if not enabled:
            continue
        listen = _listen(server, doc, block, env, out)
        for text, reason, location in listen:
            bind, port = _endpoint(text)
            if port is None and doc is None:
                port = server.port  # an unreadable variable: the guide's default, as before
            if port is None:
                continue
            tls: bool | None = server.tls if doc is not None or location is not None else None
            out.ports.append(Port(server.purpose, port, server.protocol, tls, bind, reason, location))
    return out


def _enabled(server: Server, doc: SrsConfig | None, block: Directive | None,
             env: Mapping[str, Located[str]], out: Listening) -> bool:
    if not server.block:
        return True  # RTMP: SRS always listens
    setting = env.get(server.env + "_ENABLED")
    if setting is not None and not (doc is None and isinstance(setting.value, Unknown)):
        if isinstance(setting.value, Unknown):
            out.unknown.append(Located(setting.value, setting.location))
            return False
        return setting.value.strip() == "on"
    if doc is None:
        return True  # the image's own config enables the API
    value = block.get("enabled") if block is not None else None
    if value is None or not value.args:
        return False  # SRS: off unless "enabled on"
    word = value.args[0].value
    if isinstance(word, str) and word.startswith("$"):
        return _from_env(word, value.args[0].location, env, out) == "on"
    return word == "on"


def _listen(server: Server, doc: SrsConfig | None, block: Directive | None, env: Mapping[str, Located[str]],
            out: Listening) -> list[tuple[str, str, Location | None]]:
    """(``[ip:]port``, reason, where) for each listen entry of the server."""
    name = server.env + "_LISTEN"
    setting = env.get(name)
    # Without a config of the tree, an unknown variable leaves the guide's default, as it did
    # before srs.conf was read.
    if setting is not None and not (doc is None and isinstance(setting.value, Unknown)):
        if isinstance(setting.value, Unknown):
            out.unknown.append(Located(setting.value, setting.location))
            return []
        return [(word, f"{name}={setting.value}", setting.location) for word in setting.value.split()]
    listen = block.get("listen") if block is not None else None
    if doc is None or listen is None or not listen.args:
        if doc is None:
            return [(str(server.port), "default port of srs (guide service table)", None)]
        at = block.location if block is not None else doc.location
        return [(str(server.port), f"{server.label} of {doc.path} has no listen: SRS's default {server.port}", at)]
    found: list[tuple[str, str, Location | None]] = []
    for arg in listen.args:
        word = arg.value
        if not isinstance(word, str):
            continue
        if word.startswith("$"):
            value = _from_env(word, arg.location, env, out)
            if value is not None:
                found.extend((v, f"{word}={value} in {doc.path}", arg.location) for v in value.split())
            continue
        found.append((word, f"{server.label} of {doc.path}: listen {word}", arg.location))
    return found


def _from_env(word: str, location: Location, env: Mapping[str, Located[str]], out: Listening) -> str | None:
    """A ``$NAME`` value: the runner's variable, or an Unknown noted in ``out``."""
    name = word[1:].strip("{}")
    setting = env.get(name)
    if setting is not None and isinstance(setting.value, str):
        return setting.value
    out.unknown.append(Located(Unknown((name,), word, location, "is set nowhere in the tree"), location))
    return None
