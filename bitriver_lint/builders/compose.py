"""Compose projects into the graph: one host per project, one component per service."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from bitriver_lint.builders.common import (
    BuildContext,
    add_declared_listeners,
    add_env_settings,
    connect_env_urls,
    parse_healthcheck,
)
from bitriver_lint.graph import (
    Component,
    Dangling,
    Dependency,
    HealthCheck,
    Host,
    Mount,
    Publish,
    RestartPolicy,
    Role,
    ServiceGraph,
)
from bitriver_lint.loaders.compose import BASE_NAMES, ComposeProject, Service
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.roles import DEFAULT_PORTS, FULLY_KNOWN_PORTS, role_from_image, role_from_name
from bitriver_lint.vocabulary import HostKind, Runtime
from bitriver_lint.workspace import FileProblem

_MOUNT_KINDS = {"volume", "bind", "tmpfs", "anonymous", "secret"}
_RESTARTS = {"always", "unless-stopped", "on-failure", "deploy:any", "deploy:on-failure"}


def _host_id(project: ComposeProject) -> str:
    variant = f"+{project.overlay}" if project.overlay else ""  # the base file with an overlay
    return f"compose:{project.directory or '.'}:{project.files[0]}{variant}"


def _component_id(project: ComposeProject, service: Service) -> str:
    return f"{_host_id(project)}:{service.name}"


def _role(ctx: BuildContext, project: ComposeProject, service: Service) -> tuple[Role, str]:
    if service.name in ctx.config.roles:
        return ctx.config.roles[service.name], "config roles"
    awaited = [other.name for other in project.services for need in other.depends_on
               if need.service == service.name and need.condition == "service_completed_successfully"]
    if awaited:
        # Compose starts the dependent only once this service has exited with status 0: it is a
        # job (migrations run with the postgres image), not the server its image would make it.
        return Role.OTHER, f"{awaited[0]} waits for it to complete (service_completed_successfully): a one-shot job"
    if service.image is not None and isinstance(service.image.value, str):
        role = role_from_image(service.image.value)
        if role is not None:
            return role, f"image {service.image.value}"
    role = role_from_name(service.name, service.environment)
    if role is not None:
        return role, f"service name {service.name}"
    for word in service.command[:2]:
        role = role_from_name(word.rsplit("/", 1)[-1])
        if role is not None:
            return role, f"command {word}"
    return Role.OTHER, "no known image or name"


def nodes(projects: list[ComposeProject], ctx: BuildContext) -> None:
    graph = ctx.graph
    for project in projects:
        host_id = graph.add(
            Host(
                id=_host_id(project),
                name=project.name,
                host_kind=HostKind.COMPOSE_PROJECT,
                location=project.location,
                directory=project.directory,
            )
        )
        add_env_settings(ctx, [e for e in (project.dotenv, *project.env_files) if e is not None])
        for service in project.services:
            _add_service(ctx, project, service, host_id)


def _add_service(ctx: BuildContext, project: ComposeProject, service: Service, host_id: str) -> None:
    graph = ctx.graph
    role, reason = _role(ctx, project, service)
    host_network = service.network_mode is not None and service.network_mode.value == "host"
    restart = None
    if service.restart is not None:
        value = service.restart.value
        text = value.raw if isinstance(value, Unknown) else value
        restart = RestartPolicy(
            location=service.restart.location,
            value=f"restart: {text}",
            restarts_on_failure=isinstance(value, Unknown) or text.startswith("on-failure") or text in _RESTARTS,
        )
    image = _image(ctx, service)
    component = Component(
        id=_component_id(project, service),
        name=service.name,
        role=role,
        role_reason=reason,
        origin="compose",
        location=service.location,
        image=service.image.value if service.image and isinstance(service.image.value, str) else None,
        env=dict(service.environment),
        env_files=list(service.env_files),
        healthcheck=(
            parse_healthcheck(service.healthcheck.test, service.healthcheck.location, service.healthcheck.disabled)
            if service.healthcheck
            else image.healthcheck  # compose runs the image's own HEALTHCHECK when it sets none
        ),
        restart=restart,
        mounts=[
            Mount(
                location=v.location,
                target=v.target,
                source=v.source,
                kind=v.kind if v.kind in _MOUNT_KINDS else "other",  # type: ignore[arg-type]
                persistent=v.kind in ("volume", "bind"),
                read_only=v.read_only,
                unresolved=v.unresolved,
            )
            for v in service.volumes
        ],
        replicas=service.replicas,
        command=list(service.command),
        runtime=Runtime.CONTAINER,
        healthcheck_supported=True,
        ports_known=role in FULLY_KNOWN_PORTS,
        # A fixed address on its network is another name it answers to there.
        aliases=list(dict.fromkeys([*service.aliases, *service.addresses])),
    )
    graph.add(component)
    if service.extra_hosts:
        graph.extra_hosts[component.id] = dict(service.extra_hosts)
    graph.runs_on(component.id, host_id, service.location)
    for copied in image.files:
        ctx.image_files.setdefault(copied, []).append(component)
    if role in DEFAULT_PORTS:
        where = service.network_mode.location if host_network and service.network_mode else None
        add_declared_listeners(graph, component, host_bound=host_network, where=where)
    for exposed in service.expose:
        if isinstance(exposed.value, int):
            graph.listener_for(component, exposed.value, exposed.location, declared=True, host_bound=host_network,
                               reason="expose entry")
    for mapping in service.ports:
        if isinstance(mapping.target, Unknown):
            # Keep it visible to exposure checks: an unknown mapping is a BRL002, not silence.
            component.unknown_ports.append(Located(mapping.target, mapping.location))
            continue
        listener = graph.listener_for(
            component,
            mapping.target,
            mapping.location,
            mapping.protocol,
            declared=role not in FULLY_KNOWN_PORTS,
            host_bound=host_network,
            reason="ports entry",
        )
        if mapping.published is None or host_network:
            continue  # host networking ignores ports:, as docker does
        graph.link(
            host_id,
            listener.id,
            Publish(
                location=mapping.location,
                host_ip=mapping.host_ip,
                host_port=mapping.published,
                protocol="udp" if mapping.protocol == "udp" else "tcp",
            ),
        )


@dataclass
class _Stage:
    """One ``FROM`` of a Dockerfile: its name, the stage it starts from (None for an image),
    the tree's files its own COPY/ADD lines bring in and its last HEALTHCHECK line."""

    name: str
    parent: str | None
    files: list[str] = field(default_factory=list)
    healthcheck: HealthCheck | None = None


@dataclass
class _Image:
    """What the tree says of the image a service builds: the tree's files copied into it and
    the HEALTHCHECK it carries (compose runs that probe unless the service sets its own)."""

    files: list[str] = field(default_factory=list)
    healthcheck: HealthCheck | None = None


_ARG_REF = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_HEALTHCHECK_OPTION = re.compile(r"^\s*HEALTHCHECK((\s+--\S+)*)\s+", re.IGNORECASE)


def _expand(word: str, args: dict[str, str]) -> str:
    """A COPY source with the stage's ARGs put in; one without a value keeps a "$"."""
    return _ARG_REF.sub(lambda m: args.get(m.group(1) or m.group(2), "$"), word)


def _instructions(text: str) -> list[tuple[int, str]]:
    """A Dockerfile's instructions, each with the line it starts on, continuations joined."""
    found: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if pending is None and (not line.strip() or line.lstrip().startswith("#")):
            continue
        start, before = pending or (number, "")
        if line.rstrip().endswith("\\"):
            pending = (start, before + line.rstrip()[:-1] + " ")
            continue
        pending = None
        found.append((start, before + line))
    if pending is not None:
        found.append(pending)
    return found


def _image(ctx: BuildContext, service: Service) -> _Image:
    """The image the service builds from the tree. Its files: plain file sources of COPY/ADD
    in the stage it builds (``build.target``, else the last one) and in the stages that one
    starts ``FROM`` (earlier stages only build; ``--from`` copies from another image). A source
    may name a build ARG (``COPY "$CONFIG" ...``): its value is the service's ``build.args`` or
    the ARG's default. A directory or a pattern copies too much to say which file is run. Its
    health check: the last HEALTHCHECK along those stages (``HEALTHCHECK NONE`` turns it off)."""
    if not service.has_build or service.build_context is None:
        return _Image()
    base = posixpath.dirname(service.location.path)
    context = posixpath.normpath(posixpath.join(base, service.build_context))
    dockerfile = posixpath.normpath(posixpath.join(context, service.dockerfile or "Dockerfile"))
    if context.startswith("..") or dockerfile.startswith("..") or not ctx.workspace.exists(dockerfile):
        return _Image()
    try:
        text = ctx.workspace.read_text(dockerfile)
    except FileProblem:
        return _Image()
    stages: list[_Stage] = []
    global_args: dict[str, str] = {}  # ARGs before the first FROM: defaults a stage's ARG may take
    args: dict[str, str] = {}  # the ARGs in scope in the current stage
    for number, line in _instructions(text):
        words = line.split()
        instruction = words[0].upper()
        if instruction == "FROM":
            names = [w for w in words[1:] if not w.startswith("--")]
            name = names[2] if len(names) >= 3 and names[1].upper() == "AS" else str(len(stages))
            known = {stage.name.lower() for stage in stages}
            parent = names[0].lower() if names and names[0].lower() in known else None
            stages.append(_Stage(name.lower(), parent))
            args = {}
        elif instruction == "ARG":
            for word in words[1:]:
                key, has_default, default = word.partition("=")
                value = service.build_args.get(key, default.strip('"') if has_default else global_args.get(key))
                target = global_args if not stages else args
                if value is not None:
                    target[key] = value
        elif instruction == "HEALTHCHECK" and stages:
            where = Location(dockerfile, number, line.upper().index("HEALTHCHECK") + 1)
            kind, _, command = _HEALTHCHECK_OPTION.sub("", line, count=1).strip().partition(" ")
            stages[-1].healthcheck = parse_healthcheck(command.strip(), where, kind.upper() != "CMD")
        elif instruction in ("COPY", "ADD") and stages and not any(w.startswith("--from") for w in words[1:]):
            sources = [w.strip('"') for w in words[1:] if not w.startswith("--")][:-1]
            for source in sources:
                source = _expand(source, args)
                if source in (".", "./") or source.endswith("/") or any(c in source for c in "*?[$"):
                    continue
                path = posixpath.normpath(posixpath.join(context, source))
                if not path.startswith("..") and ctx.workspace.exists(path):
                    stages[-1].files.append(path)
    by_name = {stage.name: stage for stage in stages}
    wanted = service.build_target.lower() if service.build_target else None
    stage = by_name.get(wanted) if wanted else (stages[-1] if stages else None)
    image = _Image()
    seen: set[str] = set()
    while stage is not None and stage.name not in seen:
        seen.add(stage.name)
        image.files = stage.files + image.files
        image.healthcheck = image.healthcheck or stage.healthcheck  # the nearest stage's wins
        stage = by_name.get(stage.parent) if stage.parent else None
    return image


def _members(project: ComposeProject, graph: ServiceGraph) -> dict[str, Component]:
    """The project's components by service name and network alias."""
    members: dict[str, Component] = {}
    for service in project.services:
        node = graph.node(_component_id(project, service))
        assert isinstance(node, Component)
        members[service.name] = node
        for alias in service.aliases:
            members.setdefault(alias, node)
    return members


def edges(projects: list[ComposeProject], ctx: BuildContext) -> None:
    graph = ctx.graph
    # An add-on file (jibri.yml beside docker-compose.yml) runs merged onto the base file of its
    # directory ("-f docker-compose.yml -f jibri.yml"): compose refuses it alone when it names
    # the base's services, so a name it does not define is looked up in the base.
    bases = ctx.compose_bases
    bases.update((project.directory, _members(project, graph)) for project in reversed(projects)
                 if posixpath.basename(project.files[0]) in BASE_NAMES and project.overlay is None)
    for project in projects:
        members = _members(project, graph)
        base = bases.get(project.directory, {})
        for service in project.services:
            component = members[service.name]
            for dep in service.depends_on:
                target = members.get(dep.service) or base.get(dep.service)
                if target is None and not dep.required:
                    continue  # compose tolerates an optional dependency that is not defined
                if target is None:
                    graph.dangling.append(
                        Dangling(kind="depends_on", name=dep.service, location=dep.location, source=component.id)
                    )
                    continue
                graph.link(
                    component.id,
                    target.id,
                    Dependency(location=dep.location, condition=dep.condition, target_name=dep.service),
                )
            for link in service.links:
                if isinstance(link.value, str) and link.value not in members and link.value not in base:
                    graph.dangling.append(
                        Dangling(kind="link", name=link.value, location=link.location, source=component.id)
                    )
            connect_env_urls(ctx, component, members, inactive=project.inactive)
