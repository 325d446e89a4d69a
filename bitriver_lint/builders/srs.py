"""SRS's own configs into the graph: the ports of the SRS that runs the file.

A config is SRS's when SRS reads it: each compose service of role ``srs`` that bind-mounts it
(or a directory holding it) where its command's ``-c`` names, or where the image's command reads
(``conf/srs.conf`` since SRS 5, ``conf/docker.conf`` before, in ``/usr/local/srs``; srs.conf
first when both are there), or whose Dockerfile copies it in; or the systemd unit of role
``srs`` whose ``ExecStart= ... -c PATH`` ends with the file's path (or names its file name, when
that unit is the only SRS unit near the file). A file SRS would refuse, chosen so, leaves the
runner's ports as they were. The runner's listeners from the guide's defaults (RTMP 1935, API 1985) are then replaced
by the file's, with its environment over them (``loaders.srs.listening``): a default the file
turns off stays a listener only as far as something else in the tree names its port (a
publish), with no ``purpose``, so no rule about the API judges it. A config that nothing runs
changes nothing.
"""

from __future__ import annotations

import posixpath

from bitriver_lint.builders.common import BuildContext, container_path
from bitriver_lint.graph import Component, Role, ServiceGraph
from bitriver_lint.loaders.srs import SrsConfig, listening
from bitriver_lint.model import Diagnostic
from bitriver_lint.vocabulary import Runtime

_WORKDIR = "/usr/local/srs"  # the official image's WORKDIR, where a relative -c is read from
_IMAGE_CONFIGS = ("conf/srs.conf", "conf/docker.conf")


def _config_flag(command: list[str]) -> str | None:
    """The path after ``-c`` (or glued to it, as SRS's own argv parser allows: ``-cconf/x``)."""
    for i, word in enumerate(command):
        if word == "-c" and i + 1 < len(command):
            return command[i + 1]
        if word.startswith("-c") and len(word) > 2 and not word.startswith("--"):
            return word[2:]
    return None


def _reads_in_container(component: Component) -> list[str]:
    """Where in its container SRS reads its config: its ``-c``, else the image's command (SRS 5
    and later read conf/srs.conf, earlier images conf/docker.conf), first first."""
    flag = _config_flag(component.command)
    paths = [flag] if flag is not None else list(_IMAGE_CONFIGS)
    return [posixpath.normpath(posixpath.join(_WORKDIR, p)) for p in paths]


def _compose_runners(ctx: BuildContext, doc: SrsConfig, services: list[Component]) -> list[tuple[int, Component]]:
    """(rank, service) for each service that reads the file: the lower the rank, the surer."""
    copied = {c.id for c in ctx.image_files.get(doc.path, [])}
    found: list[tuple[int, Component]] = []
    for service in services:
        wanted = _reads_in_container(service)
        inside = container_path(service, doc.path)
        if inside in wanted:
            found.append((wanted.index(inside), service))
        elif service.id in copied:
            found.append((len(_IMAGE_CONFIGS), service))  # copied in, to a place not read here
    return found


def _shares_tree(unit: Component, path: str) -> bool:
    """Whether the unit file and the config lie in one directory tree (one above the other)."""
    here, there = posixpath.dirname(unit.location.path), posixpath.dirname(path)
    return any(a == b or b.startswith(a + "/") for a, b in ((here, there), (there, here))) or "" in (here, there)


def _systemd_runners(doc: SrsConfig, units: list[Component]) -> list[tuple[int, Component]]:
    named: list[tuple[int, Component]] = []
    by_name: list[Component] = []
    for unit in units:
        flag = _config_flag(unit.command)
        if flag is None:
            continue
        wanted = posixpath.normpath(flag).lstrip("/")
        if doc.path == wanted or doc.path.endswith("/" + wanted):
            named.append((0, unit))
        elif posixpath.basename(wanted) == posixpath.basename(doc.path) and _shares_tree(unit, doc.path):
            by_name.append(unit)
    return named or ([(1, by_name[0])] if len(by_name) == 1 else [])


def runners(ctx: BuildContext, docs: list[SrsConfig]) -> list[tuple[Component, SrsConfig]]:
    """Each compose service or systemd unit of role srs that runs one of the files, with the one
    it reads: a service mounting conf/ with both srs.conf and docker.conf reads srs.conf."""
    srs = ctx.graph.components(Role.SRS)
    services = [c for c in srs if c.origin == "compose"]
    units = [c for c in srs if c.origin == "systemd"]
    chosen: dict[str, tuple[int, Component, SrsConfig]] = {}
    for doc in docs:
        for rank, component in _compose_runners(ctx, doc, services) + _systemd_runners(doc, units):
            if component.id not in chosen or rank < chosen[component.id][0]:
                chosen[component.id] = (rank, component, doc)
    return [(component, doc) for _, component, doc in chosen.values()]


def nodes(docs: list[SrsConfig], ctx: BuildContext) -> None:
    for component, doc in runners(ctx, docs):
        if doc.root is None:
            continue  # SRS refuses it (BRL001): nothing of it is known
        if doc.includes:
            names = ", ".join(str(i.value) for i in doc.includes)
            ctx.graph.notes.append(Diagnostic(
                "BRL002", f"{doc.path} includes {names}, which is not read, so which ports {component.name} listens "
                "on is not known from it; rules that need them use SRS's usual ports", doc.includes[0].location))
            continue
        _apply(ctx.graph, doc, component)


def _apply(graph: ServiceGraph, doc: SrsConfig, component: Component) -> None:
    found = listening(doc, component.env, component.location)
    for unknown in found.unknown:
        value = unknown.value
        graph.notes.append(Diagnostic(
            "BRL002", f"{value.raw or value.describe()} {value.why}, so one of the servers of {doc.path} that "
            f"{component.name} runs has no known port and rules that need it stay silent", unknown.location))
    old = [li for li in graph.listeners(component) if li.purpose is not None]
    host_bound = any(li.host_bound for li in old) if old else component.runtime is not Runtime.CONTAINER
    for listener in old:
        # The guide's default: something else may still name the port (a publish), but SRS
        # does not serve it as it did.
        listener.purpose, listener.declared, listener.host_bound = None, False, False
        listener.reason = f"{listener.reason}; not a port of {doc.path}"
        graph.add(listener)
    for port in found.ports:
        assert port.location is not None  # a config's ports are each written somewhere
        listener = graph.listener_for(component, port.port, port.location, port.protocol, declared=True)
        if listener.purpose == "srs-api" and port.purpose != "srs-api":
            continue  # the API shares the HTTP server's port: what is reachable there is the API
        listener.location, listener.reason, listener.purpose = port.location, port.reason, port.purpose
        listener.tls, listener.bind, listener.declared, listener.host_bound = port.tls, port.bind, True, host_bound
        graph.add(listener)


def edges(docs: list[SrsConfig], ctx: BuildContext) -> None:
    del docs, ctx  # SRS's ports are all its config gives the graph
