"""systemd units into the graph: one host per unit directory, one component per service.

Processes bind the host's interfaces themselves, so exposure starts from the address each one
binds (flags, environment, socket units, or the daemon's own default) and the undescribed host
firewall.
"""

from __future__ import annotations

import posixpath
import re
from typing import Literal

from bitriver_lint.builders.common import (
    WATCHED_ENV,
    BuildContext,
    add_env_settings,
    connect_env_urls,
    declared_listeners,
    url_target,
)
from bitriver_lint.graph import (
    Allow,
    Component,
    Dangling,
    Dependency,
    EnvFileRef,
    Host,
    Listener,
    Mount,
    Publish,
    RestartPolicy,
    Role,
)
from bitriver_lint.loaders.compose import short_port
from bitriver_lint.loaders.interpolate import interpolate
from bitriver_lint.loaders.systemd import (
    ContainerRun,
    SystemdDirectory,
    Unit,
    container_run,
    exec_words,
    located_assignments,
)
from bitriver_lint.model import Diagnostic, Located, Location, Unknown, port_number
from bitriver_lint.roles import FULLY_KNOWN_PORTS, role_from_image, role_from_name
from bitriver_lint.vocabulary import HostKind, Layer, Runtime
from bitriver_lint.workspace import FileProblem

_RESTARTS = {"always", "on-failure", "on-abnormal", "on-abort", "on-watchdog"}
# Daemons whose stock configuration listens on loopback only unless told otherwise.
_LOOPBACK_BY_DEFAULT = {Role.POSTGRES, Role.REDIS}
_PROXY_PORTS = (80, 443)
_BINARY_ROLES: dict[str, Role] = {
    "bitriver-live": Role.API,
    "bitriver": Role.API,
    "bitriver-transcoder": Role.TRANSCODER,
    "ffmpeg": Role.TRANSCODER,
    "srs": Role.SRS,
    "ovenmediaengine": Role.OME,
    "postgres": Role.POSTGRES,
    "postmaster": Role.POSTGRES,
    "pg_ctlcluster": Role.POSTGRES,
    "redis-server": Role.REDIS,
    "valkey-server": Role.REDIS,
    "caddy": Role.PROXY,
    "nginx": Role.PROXY,
    "haproxy": Role.PROXY,
    "envoy": Role.PROXY,
}


def _host_id(tree: SystemdDirectory) -> str:
    return f"systemd:{tree.directory or '.'}"


def _component_id(tree: SystemdDirectory, unit: Unit) -> str:
    return f"{_host_id(tree)}:{unit.name}"


def _exec_start(unit: Unit, env: dict[str, Located[str]]) -> list[str]:
    directive = unit.last("Service", "ExecStart")
    if directive is None:
        return []
    known = {k: v.value for k, v in env.items() if isinstance(v.value, str)}
    out: list[str] = []
    for word in exec_words(directive.value, known):
        resolved = interpolate(word, known) if "$" in word else word
        out.append(resolved.raw if isinstance(resolved, Unknown) else str(resolved))
    return out


def _role(ctx: BuildContext, unit: Unit, command: list[str], env: dict[str, Located[str]],
          run: ContainerRun | None) -> tuple[Role, str]:
    stem = unit.stem.split("@", 1)[0]
    if stem in ctx.config.roles:
        return ctx.config.roles[stem], "config roles"
    role = role_from_name(stem, env)
    if role is not None:
        return role, f"unit name {unit.name}"
    if command:
        binary = posixpath.basename(command[0]).lower()
        if binary in _BINARY_ROLES:
            return _BINARY_ROLES[binary], f"ExecStart {command[0]}"
        image_role = role_from_image(run.image) if run is not None and isinstance(run.image, str) else None
        if run is not None and image_role is not None:
            return image_role, f"image {run.image} run by ExecStart"
        if run is not None and isinstance(run.image, Unknown):
            return Role.OTHER, f"the image ExecStart runs is unknown ({run.image.describe()} {run.image.why})"
        if binary == "node" and any(w.endswith("server.js") for w in command[1:]):
            workdir = unit.last("Service", "WorkingDirectory")
            if "viewer" in " ".join(command) or (workdir and "viewer" in workdir.value):
                return Role.VIEWER, "node server.js in the viewer's directory"
    return Role.OTHER, "no known unit name or binary"


def _environment(tree: SystemdDirectory, unit: Unit) -> tuple[dict[str, Located[str]], list[Location]]:
    """The unit's environment with where each value was written; env files override
    Environment= (systemd.exec(5)). Also returns where inline settings were written."""
    env: dict[str, Located[str]] = {}
    inline: list[Location] = []
    for directive in unit.values("Service", "Environment"):
        pairs = located_assignments(directive)
        if pairs:
            inline.append(directive.location)
        for key, value, at in pairs:
            env[key] = Located(value, at)
    for ref in unit.env_files:
        env_file = tree.env_files.get(ref.resolved or "")
        if env_file is None:
            if not ref.optional:
                # Its keys are unknown: rules needing them must not assume they are unset.
                missing = Unknown((f"EnvironmentFile={ref.path}",), ref.path, why="is not in the tree")
                for key in WATCHED_ENV:
                    env.setdefault(key, Located(missing, ref.location))
            continue
        for entry in env_file.entries:
            env[entry.key] = Located(entry.value, entry.value_location)
    return env, inline


def nodes(trees: list[SystemdDirectory], ctx: BuildContext) -> None:
    graph = ctx.graph
    for tree in trees:
        host_id = graph.add(
            Host(id=_host_id(tree), name=tree.directory or ".", host_kind=HostKind.SYSTEMD, location=tree.location,
                 directory=tree.directory)
        )
        add_env_settings(ctx, [*tree.env_files.values(),
                               *(env for path, env in tree.container_env_files.items() if path not in tree.env_files)])
        services = {u.stem: u for u in tree.units if u.kind == "service"}
        for unit in tree.units:
            if unit.kind == "service":
                _add_service(ctx, tree, unit, host_id)
        for unit in tree.units:
            if unit.kind == "socket":
                _add_socket(ctx, tree, unit, services)
        for unit in tree.units:
            if unit.kind == "service":
                node = graph.node(_component_id(tree, unit))
                assert isinstance(node, Component)
                add_ip_filter(ctx, unit, node)


def _add_service(ctx: BuildContext, tree: SystemdDirectory, unit: Unit, host_id: str) -> None:
    graph = ctx.graph
    env, inline = _environment(tree, unit)
    command = _exec_start(unit, env)
    run = container_run(command)
    role, reason = _role(ctx, unit, command, env, run)
    restart_directive = unit.last("Service", "Restart")
    restart_value = restart_directive.value.strip() if restart_directive else "no"
    restart = RestartPolicy(
        location=restart_directive.value_location if restart_directive else unit.section_location("Service"),
        # Without a Restart= line, say so rather than quote a line the unit does not have.
        value=f"Restart={restart_value}" if restart_directive else "no Restart= line (systemd's default is no)",
        restarts_on_failure=restart_value in _RESTARTS,
    )
    mounts = _mounts(unit)
    location = unit.section_location("Unit") if "Unit" in unit.sections else Location(unit.path, 1, 1)
    exec_start = unit.last("Service", "ExecStart")
    where = exec_start.value_location if exec_start else location
    if run is not None:
        env = _container_env(ctx, tree, unit, run, env, where)
        mounts = _container_mounts(ctx, run, where)
    component = Component(
        id=_component_id(tree, unit),
        name=unit.stem,
        role=role,
        role_reason=reason,
        origin="systemd",
        location=location,
        env=env,
        restart=restart if restart_directive or unit.kind == "service" else None,
        mounts=mounts,
        command=run.command if run is not None else command,
        runtime=Runtime.CONTAINER if run is not None and not run.host_network else Runtime.HOST,
        ports_known=role in FULLY_KNOWN_PORTS,
        unit=unit.name,
        inline_env=inline,
        env_file_refs=[EnvFileRef(path=r.path, optional=r.optional, found=r.resolved is not None, location=r.location)
                       for r in unit.env_files],
        aliases=[unit.name],
    )
    graph.add(component)
    graph.runs_on(component.id, host_id, component.location)
    # A container's ports are its own network's until published; on the host's network they
    # are the host's, as a process's are. The images' own configs listen on every address.
    host_bound = run is None or run.host_network
    for port, tls, bind, why, loc, purpose in declared_listeners(role, component.env, component.command, where):
        if bind is None and role in _LOOPBACK_BY_DEFAULT and run is None:
            bind, why = "127.0.0.1", f"{why}; the daemon's stock config listens on loopback"
        graph.add_listener(Listener(id=f"{component.id}#{port}/tcp", component=component.id, port=port, tls=tls,
                                    bind=bind, location=loc, reason=why, host_bound=host_bound, purpose=purpose))
    if run is not None and not run.host_network:
        _publish(ctx, component, host_id, run, where)
    if role is Role.PROXY:
        for port in _PROXY_PORTS:
            graph.listener_for(component, port, component.location, declared=True, host_bound=host_bound,
                               reason="default HTTP/HTTPS port of a reverse proxy")


def _publish(ctx: BuildContext, component: Component, host_id: str, run: ContainerRun, where: Location) -> None:
    """``-p`` of a ``docker run`` unit, as compose's ``ports:``: the container port and the host
    port Docker forwards to it, at the ``-p`` value where it can be found."""
    for spec in run.publishes:
        at = _written_at(ctx, where, spec)
        if at is where and ":" in spec:
            # Written with a variable ("${API_PORT}:1985"): the container side still is as written.
            container_side = re.escape(spec.rsplit(":", 1)[1])
            at = _written_at(ctx, where, spec, re.compile(r"[^\s\"']*:" + container_side + r"(?![\w.])"))
        try:
            mappings = short_port(spec, at)
        except ValueError:
            continue  # not a port we can read (a variable): the publish is left out
        for mapping in mappings:
            if not isinstance(mapping.target, int) or mapping.published is None:
                continue
            listener = ctx.graph.listener_for(component, mapping.target, at, mapping.protocol,
                                              declared=component.role not in FULLY_KNOWN_PORTS,
                                              reason="docker run -p")
            ctx.graph.link(host_id, listener.id, Publish(
                location=at, host_ip=mapping.host_ip, host_port=mapping.published,
                protocol="udp" if mapping.protocol == "udp" else "tcp"))


def _container_env(ctx: BuildContext, tree: SystemdDirectory, unit: Unit, run: ContainerRun,
                   unit_env: dict[str, Located[str]], where: Location) -> dict[str, Located[str]]:
    """The container's environment: only what ``--env-file`` and then ``-e``/``--env`` pass,
    not the unit's Environment=, which is the docker CLI's own. ``-e KEY`` (or ``KEY`` alone in
    an env file) passes the CLI's value through, from where the unit sets it."""
    env: dict[str, Located[str]] = {}
    # An EnvironmentFile= the tree lacks may set any variable the CLI would pass through.
    unread = [ref for ref in unit.env_files if not ref.optional and ref.resolved not in tree.env_files]

    def pass_through(key: str, at: Location) -> None:
        own = _manager_variable(unit, key, at)
        if key in unit_env:
            env[key] = unit_env[key]
        elif unread:
            ref = unread[0]
            env[key] = Located(Unknown((f"EnvironmentFile={ref.path}",), ref.path, why="is not in the tree"),
                               ref.location)
        elif own is not None:
            env[key] = own
        # Otherwise the CLI has no such variable and passes nothing: an earlier value stays.

    for ref in unit.container_env_files:
        env_file = tree.container_env_files.get(ref.resolved or "")
        if env_file is None:
            # Its keys are unknown: rules needing them must not assume they are unset.
            missing = Unknown((f"--env-file {ref.path}",), ref.path, why="is not in the tree")
            at = _written_at(ctx, where, ref.path)
            for key in WATCHED_ENV:
                env[key] = Located(missing, at)
            continue
        for entry in env_file.entries:
            if entry.passthrough:
                pass_through(entry.key, entry.location)
            else:
                env[entry.key] = Located(entry.value, entry.value_location)
    for spec in run.env:
        key, has_value, value = spec.partition("=")
        if not key:
            continue
        if not has_value:
            alone = re.compile(rf"(?:(?<=-e)|(?<![\w.-])){re.escape(key)}(?![\w.=-])")
            pass_through(key, _written_at(ctx, where, spec, alone))
            continue
        # Where the value is written, past "KEY=": as resolved, else (a $VARIABLE in it) the
        # first "KEY=" that does not end a longer key.
        at = _written_at(ctx, where, spec)
        if at == where:
            at = _written_at(ctx, where, spec, re.compile(rf"(?:(?<=-e)|(?<![\w.-])){re.escape(key)}="))
        if at != where:
            at = Location(at.path, at.line, at.column + len(key) + 1)
        env[key] = Located(value, at)
    _note_quoted_urls(ctx, tree, unit, env)
    return env


def _note_quoted_urls(ctx: BuildContext, tree: SystemdDirectory, unit: Unit, env: dict[str, Located[str]]) -> None:
    """docker's --env-file keeps quotes as part of a value (DATABASE_URL="postgres://..." gives
    the app a value starting with a quote), so a quoted connection string is none: no rule can
    tell where it connects. Say so where it is written, once however many units read it."""
    for ref in unit.container_env_files:
        env_file = tree.container_env_files.get(ref.resolved or "")
        if env_file is None:
            continue
        for entry in env_file.entries:
            value, passed = entry.value, env.get(entry.key)
            if not isinstance(value, str) or passed is None or passed.location != entry.value_location:
                continue  # not what the container gets: -e or a later file sets it
            text = value.strip()
            if len(text) < 2 or text[0] != text[-1] or text[0] not in "\"'":
                continue
            if url_target(Located(text[1:-1], entry.value_location)) is None or url_target(passed) is not None:
                continue
            note = Diagnostic("BRL002", f"{entry.key} in {env_file.path} is quoted, and docker run --env-file keeps "
                              f"the quotes as part of the value: the container gets {text}, "
                              f"which is no connection string, so where it connects is not known and rules that "
                              f"need it stay silent; remove the quotes", entry.value_location)
            if note not in ctx.graph.notes:
                ctx.graph.notes.append(note)


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# The directories systemd makes for a system service and names in the environment.
_DIRECTORY_VARIABLES = {
    "RUNTIME_DIRECTORY": ("RuntimeDirectory", "/run"),
    "STATE_DIRECTORY": ("StateDirectory", "/var/lib"),
    "CACHE_DIRECTORY": ("CacheDirectory", "/var/cache"),
    "LOGS_DIRECTORY": ("LogsDirectory", "/var/log"),
    "CONFIGURATION_DIRECTORY": ("ConfigurationDirectory", "/etc"),
}
_CREDENTIALS = ("LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted",
                "ImportCredential")
_PER_RUN = {
    "INVOCATION_ID": "is a random id systemd gives each run of the unit",
    "SYSTEMD_EXEC_PID": "is the process id of the unit's ExecStart= process",
    "JOURNAL_STREAM": "is the device and inode of the unit's journal stream, set while its output goes to the journal "
                      "(systemd's default)",
    "LANG": "is the locale the host's locale.conf or kernel command line sets, if any",
}


def _manager_variable(unit: Unit, key: str, at: Location) -> Located[str] | None:
    """What the system service manager itself sets ``key`` to for the unit's processes
    (systemd.exec(5), "Environment variables in spawned processes"), where the unit asks for it
    or else ``at``; None when systemd does not set it. Environment= and EnvironmentFile= win."""
    if key == "PATH":
        return Located(Unknown(("PATH",), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", why=(
            "is systemd's: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin, with :/sbin:/bin after it on a host "
            "whose /usr is not merged")), at)
    if key in _PER_RUN:
        return Located(Unknown((key,), key, why=_PER_RUN[key]), at)
    if key in ("USER", "LOGNAME", "HOME", "SHELL"):
        return _user_variable(unit, key)
    if key in _DIRECTORY_VARIABLES:
        setting, base = _DIRECTORY_VARIABLES[key]
        directives = unit.values("Service", setting)
        names = [word.split(":", 1)[0] for d in directives for word in d.value.split()]
        return Located(":".join(f"{base}/{name}" for name in names), directives[0].value_location) if names else None
    if key == "CREDENTIALS_DIRECTORY":
        found = [d for setting in _CREDENTIALS for d in unit.values("Service", setting)]
        return Located(f"/run/credentials/{unit.name}", found[0].value_location) if found else None
    if key == "NOTIFY_SOCKET":
        kind, access = unit.last("Service", "Type"), unit.last("Service", "NotifyAccess")
        if access is not None and access.value.strip() != "none":
            return Located("/run/systemd/notify", access.value_location)
        if kind is not None and kind.value.strip() in ("notify", "notify-reload"):
            return Located("/run/systemd/notify", kind.value_location)
        return None
    if key in ("LOG_NAMESPACE", "PIDFILE"):
        directive = unit.last("Service", "LogNamespace" if key == "LOG_NAMESPACE" else "PIDFile")
        if directive is None:
            return None
        value = directive.value.strip()
        # A relative PIDFile= is under /run (systemd.service(5)).
        return Located(value if key == "LOG_NAMESPACE" or value.startswith("/") else f"/run/{value}",
                       directive.value_location)
    return None


def _user_variable(unit: Unit, key: str) -> Located[str] | None:
    """USER, LOGNAME, HOME and SHELL, which systemd sets for a unit with User= (or a dynamic
    user) from the user database of the host."""
    user, dynamic = unit.last("Service", "User"), unit.last("Service", "DynamicUser")
    is_dynamic = dynamic is not None and dynamic.value.strip().lower() in ("yes", "true", "1", "on")
    if user is not None:
        name, at = user.value.strip(), user.value_location
    elif dynamic is not None and is_dynamic:
        name, at = "", dynamic.value_location
    else:
        return None
    if key in ("USER", "LOGNAME") and name and not name.isdigit():
        return Located(name, at)
    if key == "HOME" and name in ("root", "0"):
        return Located("/root", at)  # systemd does not ask the user database about root
    what = {"USER": "name", "LOGNAME": "name", "HOME": "home directory", "SHELL": "login shell"}[key]
    who = f"the user DynamicUser=yes allocates{f' as {name}' if name else ''}" if is_dynamic else \
        f"user {name} in the host's user database"
    return Located(Unknown((key,), key, why=f"is the {what} of {who}"), at)


def _container_mounts(ctx: BuildContext, run: ContainerRun, where: Location) -> list[Mount]:
    """A container keeps its files in its writable layer, lost when it is recreated (``--rm``
    does so at every restart), but for what ``-v``/``--volume``/``--mount`` mount: as compose's
    ``volumes:``, a named volume or a host path persists, an anonymous volume or tmpfs does not."""
    mounts: list[Mount] = []
    if run.host_network:
        # On the host's network it is a host process to the rules, which judge its files by its
        # mounts: the writable layer under them is said so.
        mounts.append(Mount(location=where, target="/", kind="other", persistent=False,
                            note="the container's writable layer (no -v or --mount keeps it)"))
    for spec in run.volumes:
        at = _written_at(ctx, where, spec)
        parts = spec.split(":")
        if len(parts) == 1:
            mounts.append(Mount(location=at, target=parts[0], kind="anonymous", persistent=False))
            continue
        source, target, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
        kind: Literal["volume", "bind"] = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
        # "-v ${DATA}:/data" with DATA set nowhere the unit says: what backs the target is unknown.
        unset = _VARIABLE.findall(source)
        mounts.append(Mount(location=at, target=target, source=source, kind=kind, persistent=True,
                            read_only="ro" in mode.split(","),
                            unresolved=Unknown(tuple(unset), source) if unset else None))
    for spec in run.tmpfs:
        mounts.append(Mount(location=_written_at(ctx, where, spec), target=spec.split(":")[0], kind="tmpfs",
                            persistent=False))
    for spec in run.mounts:
        at = _written_at(ctx, where, spec)
        fields: dict[str, str] = {}
        for item in spec.split(","):
            key, has_value, value = item.partition("=")
            fields[key.strip()] = value if has_value else "true"
        inside = fields.get("target") or fields.get("destination") or fields.get("dst")
        if not inside:
            continue
        named = fields.get("source") or fields.get("src")
        read_only = any(fields.get(k, "false") in ("true", "1") for k in ("readonly", "ro"))
        mount_type = fields.get("type", "volume")
        if mount_type in ("bind", "volume") and named:
            mounts.append(Mount(location=at, target=inside, source=named,
                                kind="bind" if mount_type == "bind" else "volume", persistent=True,
                                read_only=read_only))
        elif mount_type == "volume":
            mounts.append(Mount(location=at, target=inside, kind="anonymous", persistent=False))
        elif mount_type == "tmpfs":
            mounts.append(Mount(location=at, target=inside, kind="tmpfs", persistent=False))
        else:
            mounts.append(Mount(location=at, target=inside, source=named, kind="other", persistent=False,
                                note=f"a --mount of type {mount_type}"))
    return mounts


def _written_at(ctx: BuildContext, where: Location, spec: str, pattern: re.Pattern[str] | None = None) -> Location:
    """Where ``spec`` (or the first match of ``pattern``) is written in the ExecStart value that
    starts at ``where`` (which may go on over backslash-continued lines); ``where`` itself when
    it cannot be found."""
    try:
        lines = ctx.workspace.read_text(where.path).splitlines()
    except FileProblem:
        return where
    for number in range(where.line - 1, min(len(lines), where.line + 40)):
        start = where.column - 1 if number == where.line - 1 else 0
        if pattern is not None:
            match = pattern.search(lines[number], start)
            column = match.start() if match else -1
        else:
            column = lines[number].find(spec, start)
        if column >= 0:
            return Location(where.path, number + 1, column + 1)
    return where


def add_ip_filter(ctx: BuildContext, unit: Unit, component: Component) -> None:
    """IPAddressDeny=/IPAddressAllow= filter every socket of the unit: a firewall layer of its
    own (systemd.resource-control(5)); Allow wins over Deny."""
    denies = unit.values("Service", "IPAddressDeny")
    if not any("any" in d.value.split() or "0.0.0.0/0" in d.value.split() for d in denies):
        return  # without a blanket deny, the allow list narrows nothing
    cidrs: list[str] = []
    allows = unit.values("Service", "IPAddressAllow")
    for directive in allows:
        for word in directive.value.split():
            cidrs.extend(_IP_KEYWORDS.get(word, [word]))
    where = allows[0].location if allows else denies[0].location
    for listener in ctx.graph.listeners(component):
        ctx.graph.link(listener.id, listener.id, Allow(
            location=where, layer=Layer.UNIT_IP_FILTER, cidrs=cidrs, port_from=0, port_to=65535, protocol="all",
            description=f"IPAddressAllow= of {unit.name}"))


_IP_KEYWORDS = {
    "any": ["0.0.0.0/0", "::/0"],
    "localhost": ["127.0.0.0/8", "::1/128"],
    "link-local": ["169.254.0.0/16", "fe80::/64"],
    "multicast": ["224.0.0.0/4", "ff00::/8"],
}


def _mounts(unit: Unit) -> list[Mount]:
    """The host filesystem is persistent, except where the unit makes a path ephemeral."""
    mounts: list[Mount] = []
    dynamic = unit.last("Service", "DynamicUser")
    states = unit.values("Service", "StateDirectory")
    if dynamic is not None and dynamic.value.strip().lower() in ("yes", "true", "1", "on") and not states:
        mounts.append(Mount(location=dynamic.location, target="/var/lib", kind="other", persistent=False,
                            note="DynamicUser=yes without StateDirectory=, where it is not writable or kept"))
    else:
        mounts.append(Mount(location=Location(unit.path, 1, 1), target="/", kind="other", persistent=True))
    for directive in states:
        for name in directive.value.split():
            mounts.append(Mount(location=directive.location, target=f"/var/lib/{name.split(':')[0]}",
                                source=name, kind="state", persistent=True))
    for directive in unit.values("Service", "TemporaryFileSystem"):
        for spec in directive.value.split():
            mounts.append(Mount(location=directive.location, target=spec.split(":", 1)[0], kind="tmpfs",
                                persistent=False))
    return mounts


def _add_socket(ctx: BuildContext, tree: SystemdDirectory, unit: Unit, services: dict[str, Unit]) -> None:
    graph = ctx.graph
    service_directive = unit.last("Socket", "Service")
    service_name = service_directive.value.strip() if service_directive else unit.stem + ".service"
    target = services.get(service_name.rsplit(".", 1)[0])
    if target is None:
        return
    node = graph.node(_component_id(tree, target))
    assert isinstance(node, Component)
    for directive in unit.values("Socket", "ListenStream"):
        address = directive.value.strip()
        if address.startswith(("/", "@")):
            continue  # a unix socket
        host, sep, port = address.rpartition(":")
        number = port_number(port)
        if number is None:
            continue
        bind = host.strip("[]") if sep else None
        listener = graph.listener_for(node, number, directive.value_location, declared=True, host_bound=True,
                                      reason=f"ListenStream={address} in {unit.name}")
        listener.bind = bind if bind else None
        listener.location = directive.value_location
        listener.declared = True


def edges(trees: list[SystemdDirectory], ctx: BuildContext) -> None:
    graph = ctx.graph
    for tree in trees:
        members: dict[str, Component] = {}
        defined = {u.name for u in tree.units}
        for unit in tree.units:
            if unit.kind == "service":
                node = graph.node(_component_id(tree, unit))
                assert isinstance(node, Component)
                members[unit.name] = node
        for unit in tree.units:
            if unit.kind != "service":
                continue
            component = members[unit.name]
            _dependencies(ctx, unit, component, members, defined)
            local = {f"127.0.0.1:{li.port}": peer for peer in members.values() for li in graph.listeners(peer)}
            resolve = {c.name: c for c in members.values()}
            connect_env_urls(ctx, component, resolve, local)


def _dependencies(
    ctx: BuildContext, unit: Unit, component: Component, members: dict[str, Component], defined: set[str]
) -> None:
    after = set(unit.words("Unit", "After"))
    strong = {key: unit.values("Unit", key) for key in ("Requires", "Wants", "BindsTo")}
    written: dict[str, tuple[str, Location]] = {}
    for key, directives in strong.items():
        for directive in directives:
            for name in directive.value.split():
                written.setdefault(name, (key.lower(), directive.location))
    for directive in unit.values("Unit", "After"):
        for name in directive.value.split():
            written.setdefault(name, ("", directive.location))
    for name, (kind, location) in written.items():
        target = members.get(name)
        if target is None:
            if kind in ("requires", "bindsto") and name.startswith("bitriver") and name not in defined:
                ctx.graph.dangling.append(Dangling(kind="requires", name=name, location=location, source=component.id))
            continue
        parts = (["after"] if name in after else []) + ([kind] if kind else [])
        ctx.graph.link(component.id, target.id,
                       Dependency(location=location, condition="+".join(parts), target_name=name))
