"""docker compose files, read the way ``docker compose config`` reads them.

One ``ComposeProject`` per directory: the base file, the override file merged onto it, the
``.env`` beside it for interpolation, ``extends`` resolved (same file and other files), and
services whose profiles are not enabled left out. Every value keeps its position; values that
depend on unset variables are ``Unknown``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bitriver_lint.cache import Codec, memo
from bitriver_lint.config import Config
from bitriver_lint.loaders.envfile import EnvFile, parse_env
from bitriver_lint.loaders.interpolate import interpolate
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document, new_ldict, pack, unpack
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.vocabulary import WATCHED_SETTINGS
from bitriver_lint.workspace import FileProblem, Workspace

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)
MAX_PORT_RANGE = 1024

# Keys whose sequence value replaces, rather than extends, the base one when merging.
_REPLACE_LISTS = {"command", "entrypoint", "test", "profiles"}


@dataclass(frozen=True, slots=True)
class PortMapping:
    location: Location
    target: int | Unknown
    published: int | Unknown | None  # None: not published to the host
    host_ip: str | Unknown
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class VolumeMount:
    location: Location
    target: str
    source: str | None
    kind: str  # volume, bind, tmpfs, anonymous, secret
    read_only: bool = False
    unresolved: Unknown | None = None  # the source depends on a variable nobody sets


@dataclass(frozen=True, slots=True)
class DependsOn:
    location: Location
    service: str
    condition: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Healthcheck:
    location: Location
    test: str | Unknown
    disabled: bool


@dataclass
class Service:
    name: str
    location: Location
    image: Located[str] | None = None
    has_build: bool = False
    # ``build:``: the context directory and the Dockerfile in it, as written (relative to the
    # compose file); None when not a plain string.
    build_context: str | None = None
    dockerfile: str | None = None
    # ``build.target`` (the stage that is the image; the last one when None) and ``build.args``
    # (values for the Dockerfile's ARGs, which may name the files it copies in).
    build_target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    ports: list[PortMapping] = field(default_factory=list)
    expose: list[Located[int]] = field(default_factory=list)
    environment: dict[str, Located[str]] = field(default_factory=dict)
    env_files: list[Located[str]] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    restart: Located[str] | None = None
    volumes: list[VolumeMount] = field(default_factory=list)
    depends_on: list[DependsOn] = field(default_factory=list)
    network_mode: Located[str] | None = None
    replicas: Located[int] | None = None
    cpus: Located[str] | None = None
    memory: Located[str] | None = None
    command: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    # Fixed addresses on its networks (networks.<net>.ipv4_address / ipv6_address).
    addresses: list[str] = field(default_factory=list)
    # extra_hosts: a name resolved to an address inside the container ("api-host:10.40.1.10").
    extra_hosts: dict[str, str] = field(default_factory=dict)
    links: list[Located[str]] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)


@dataclass
class ComposeProject:
    name: str
    directory: str  # root-relative; "" for the root
    files: list[str]
    services: list[Service]
    dotenv: EnvFile | None
    env_files: list[EnvFile]
    location: Location
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The file this project is the base file plus (compose.prod.yaml run as "-f compose.yaml -f
    # compose.prod.yaml"), when it is such a variant: see ``load``.
    overlay: str | None = None
    # Names (and network aliases) of services whose profiles are not enabled: compose does not
    # start them, but a URL naming one names a service the file defines, not a missing one.
    inactive: list[str] = field(default_factory=list)


def is_compose_name(name: str) -> bool:
    lower = name.lower()
    return bool(re.fullmatch(r"(docker-)?compose([.-][\w.-]*)?\.ya?ml", lower))


def load(files: list[str], ws: Workspace, config: Config) -> list[ComposeProject]:
    """Group the discovered compose files into projects and load each."""
    variables, profiles = config.variables, config.profiles
    by_dir: dict[str, list[str]] = {}
    for rel in sorted(files):
        by_dir.setdefault(posixpath.dirname(rel), []).append(rel)
    projects: list[ComposeProject] = []
    extended: set[str] = set()
    for directory, rels in by_dir.items():
        names = {posixpath.basename(r): r for r in rels}
        bases = [names[n] for n in BASE_NAMES if n in names]
        overrides = [names[n] for n in OVERRIDE_NAMES if n in names]
        others = [r for r in rels if r not in bases and r not in overrides]
        base: ComposeProject | None = None
        if bases:
            # docker compose picks one base file and applies the override file onto it.
            loader = _Loader(ws, directory, variables, profiles)
            with ws.recording() as read:  # extends bases, .env and env_files shape this project
                base = loader.load([bases[0], *overrides])
            projects.append(base)
            ws.group(read)
            extended |= loader.extended
        else:
            others.extend(overrides)
        # Other compose-like files (e.g. compose.prod.yaml) are projects of their own, unless
        # one is an overlay of the base, run as "-f compose.yaml -f compose.prod.yaml", and read
        # so: it cannot run alone (a service with neither image nor build: compose refuses
        # it), or the base cannot and it names the base's services.
        overlaid = False
        for rel in [*bases[1:], *others]:
            loader = _Loader(ws, directory, variables, profiles)
            with ws.recording() as read:
                project = loader.load([rel])
                if base is not None and rel not in bases and (_partial(project) or (
                        _partial(base) and {s.name for s in project.services} & {s.name for s in base.services})):
                    loader = _Loader(ws, directory, variables, profiles)
                    project = loader.load([bases[0], rel])
                    project.overlay = rel
                    overlaid = True
            projects.append(project)
            ws.group(read)
            extended |= loader.extended
        if base is not None and overlaid and _partial(base):
            projects.remove(base)  # only ever run with an overlay: not a deployment of its own
    # A file that only serves as an `extends` base (common.yml) is not a project of its own.
    return [p for p in projects if p.files[0] not in extended or posixpath.basename(p.files[0]) in BASE_NAMES]


def _partial(project: ComposeProject) -> bool:
    """Whether compose would refuse to run the project: a service with no image to run."""
    return any(service.image is None and not service.has_build for service in project.services)


def _parse_yaml(text: str, rel: str) -> Any:
    """The positioned YAML of a file, or the error that stopped it (kept in the cache as well)."""
    try:
        return load_document(text, rel)
    except YamlError as exc:
        return exc


def _pack_parse(result: Any, path: str) -> Any:
    if isinstance(result, YamlError):
        if type(result) is not YamlError:
            raise TypeError("a subclass of YamlError")
        return ("error", result.message, result.line, result.column)
    return ("yaml", pack(result, path))


def _unpack_parse(data: Any, path: str) -> Any:
    if data[0] == "error":
        return YamlError(data[1], data[2], data[3])
    return unpack(data[1], path)


_PARSE_CODEC = Codec(_pack_parse, _unpack_parse)


class _Loader:
    def __init__(self, ws: Workspace, directory: str, variables: Mapping[str, str], profiles: list[str]) -> None:
        self.ws = ws
        self.directory = directory
        self.config_variables = dict(variables)
        self.profiles = set(profiles)
        self.diagnostics: list[Diagnostic] = []
        self.env_files: dict[str, EnvFile] = {}
        self.variables: dict[str, str] = {}
        self.extended: set[str] = set()

    def error(self, message: str, location: Location) -> None:
        self.diagnostics.append(Diagnostic("BRL001", message, location))

    def read_yaml(self, rel: str, lost: str = "") -> LDict | None:
        """``lost``: what is not analysed when the file cannot be read, said at the error."""
        tail = f"; {lost}" if lost else ""
        try:
            doc = memo(self.ws.cache, "compose-yaml", rel, self.ws.read_text(rel), _parse_yaml, _PARSE_CODEC)
            if isinstance(doc, YamlError):
                raise doc
        except (YamlError, FileProblem) as exc:
            self.error(exc.message + tail, Location(rel, exc.line, exc.column))
            return None
        if doc is None:
            return None
        if not isinstance(doc, LDict):
            self.error("a compose file must be a mapping at the top level" + tail, Location(rel, 1, 1))
            return None
        return doc

    def load(self, rels: list[str]) -> ComposeProject:
        dotenv_rel = posixpath.join(self.directory, ".env")
        dotenv = self.read_env(dotenv_rel, self.config_variables, Location(dotenv_rel, 1, 1))
        # Config variables win over .env, as the shell environment does for compose.
        self.variables = {**(dotenv.as_dict() if dotenv else {}), **self.config_variables}
        merged: LDict | None = None
        name = posixpath.basename(self.directory) or "default"
        for rel in rels:
            doc = self.read_yaml(rel, "the services of this file were not analysed")
            if doc is None:
                continue
            doc = _interpolate_tree(doc, self.variables)
            services = doc.get("services")
            if services is None:
                services = new_ldict(doc.loc)
                doc["services"] = services
            if not isinstance(services, LDict):
                self.error("`services` must be a mapping of service names", doc.value_loc("services"))
                continue
            for svc_name in list(services):
                resolved = self.resolve_extends(rel, services, svc_name, set())
                if resolved is not None:
                    services[svc_name] = resolved
            if isinstance(doc.get("name"), str):
                name = doc["name"]
            merged = doc if merged is None else merge(merged, doc)
        services_out: list[Service] = []
        inactive: list[str] = []
        location = Location(rels[0], 1, 1)
        if merged is not None and isinstance(merged.get("services"), LDict):
            for svc_name, body in merged["services"].items():
                svc_loc = merged["services"].key_loc(svc_name)
                if not isinstance(body, LDict):
                    if body is not None:
                        self.error(f"service {svc_name!r} must be a mapping", svc_loc)
                    continue
                service = self.service(str(svc_name), body, svc_loc)
                if service.profiles and not self.profiles.intersection(service.profiles):
                    inactive.extend([service.name, *service.aliases])
                    continue  # as `docker compose config` without --profile
                services_out.append(service)
        return ComposeProject(
            name=name,
            directory=self.directory,
            files=rels,
            services=services_out,
            dotenv=dotenv,
            env_files=list(self.env_files.values()),
            location=location,
            diagnostics=self.diagnostics,
            inactive=inactive,
        )

    def read_env(self, rel: str, variables: Mapping[str, str], reference: Location) -> EnvFile | None:
        """The env file at ``rel``, named at ``reference``; None (and a BRL001 at the reference
        when it exists but may not be read) when the gate refuses it."""
        if rel in self.env_files:
            return self.env_files[rel]
        refused = self.ws.refusal(rel)
        if refused is not None:
            if refused.kind == "outside":
                # An absolute path on the deployment host (/etc/app.env) is legitimate: a note
                # that its values are unknown, not an error. Its content is never read.
                self.diagnostics.append(Diagnostic(
                    "BRL002", f"env file {refused.message}, so the settings it holds are unknown", reference))
            elif refused.kind != "missing":
                self.error(f"env file: {refused.message}", reference)
            return None
        try:
            text = self.ws.read_text(rel)
        except FileProblem as exc:
            self.error(exc.message, Location(rel, exc.line, exc.column))
            return None
        env = parse_env(text, rel, variables=variables)
        self.diagnostics.extend(env.diagnostics)
        self.env_files[rel] = env
        return env

    def resolve_extends(self, rel: str, services: LDict, name: Any, seen: set[tuple[str, str]]) -> LDict | None:
        body = services.get(name)
        if not isinstance(body, LDict) or "extends" not in body:
            return body if isinstance(body, LDict) else None
        key = (rel, str(name))
        if key in seen:
            self.error(f"service {name!r} extends itself", body.key_loc("extends"))
            return body
        extends = body["extends"]
        ext_loc = body.value_loc("extends")
        if isinstance(extends, str):
            base_name, base_file = extends, None
        elif isinstance(extends, LDict) and isinstance(extends.get("service"), str):
            base_name = extends["service"]
            base_file = extends.get("file") if isinstance(extends.get("file"), str) else None
        else:
            self.error("`extends` needs a service name", ext_loc)
            return body
        if base_file is None:
            base_rel, base_services = rel, services
        else:
            base_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), base_file))
            self.extended.add(base_rel)
            refused = self.ws.refusal(base_rel)
            if refused is not None:
                if refused.kind == "outside":
                    self.diagnostics.append(Diagnostic(
                        "BRL002", f"extends file {base_file!r}: {refused.message}, so what {name!r} inherits "
                        "is unknown", ext_loc))
                elif refused.kind == "missing":
                    self.error(f"extends file {base_file!r} does not exist", ext_loc)
                else:
                    self.error(f"extends file {base_file!r}: {refused.message}", ext_loc)
                return body
            other = self.read_yaml(base_rel)
            if other is None:
                return body
            other = _interpolate_tree(other, self.variables)
            base_services = other.get("services")
            if not isinstance(base_services, LDict):
                self.error(f"{base_file!r} has no services mapping", ext_loc)
                return body
        if base_name not in base_services:
            self.error(f"extends names service {base_name!r}, which is not defined", ext_loc)
            return body
        base = self.resolve_extends(base_rel, base_services, base_name, seen | {key})
        if base is None:
            return body
        own = new_ldict(body.loc)
        for k, v in body.items():
            if k != "extends":
                own[k] = v
                own.key_locs[k] = body.key_loc(k)
                own.value_locs[k] = body.value_loc(k)
        # The extending service keeps its own position: findings about it point there.
        result = merge(base, own)
        result.loc = body.loc
        return result

    # -- service normalisation ---------------------------------------------------------

    def service(self, name: str, body: LDict, loc: Location) -> Service:
        svc = Service(name=name, location=loc)
        image = body.get("image")
        if image is not None:
            svc.image = Located(image if isinstance(image, Unknown) else str(image), body.value_loc("image"))
        svc.has_build = "build" in body
        build = body.get("build")
        if isinstance(build, str):
            svc.build_context = build
        elif isinstance(build, dict):
            context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
            svc.build_context = context if isinstance(context, str) else None
            svc.dockerfile = dockerfile if isinstance(dockerfile, str) else None
            target = build.get("target")
            svc.build_target = target if isinstance(target, str) else None
            svc.build_args = _build_args(build.get("args"))
        for i, entry in enumerate(_seq(body.get("ports"))):
            svc.ports.extend(self.port(entry, body["ports"].item_loc(i)))
        for i, entry in enumerate(_seq(body.get("expose"))):
            where = body["expose"].item_loc(i)
            for port in _port_range(entry):
                svc.expose.append(Located(port, where))
        svc.env_files = self.env_file_refs(body)
        for env_ref in svc.env_files:
            if isinstance(env_ref.value, Unknown):
                continue
            env_rel = posixpath.normpath(posixpath.join(self.directory, env_ref.value))
            env = self.read_env(env_rel, self.variables, env_ref.location)
            for entry in env.entries if env else []:
                svc.environment[entry.key] = Located(entry.value, entry.value_location)
            refused = self.ws.refusal(env_rel) if env is None else None
            if refused is not None and refused.kind == "outside":
                # Rules must not read "not set" where that file may well set it.
                unread = Unknown((f"env_file {env_ref.value}",), env_ref.value, why="is outside the scanned tree")
                for key in WATCHED_SETTINGS:
                    svc.environment.setdefault(key, Located(unread, env_ref.location))
        svc.environment.update(_environment(body))
        svc.healthcheck = _healthcheck(body)
        restart = body.get("restart")
        if restart is not None:
            svc.restart = Located(_text(restart), body.value_loc("restart"))
        deploy = body.get("deploy")
        if isinstance(deploy, LDict):
            if "replicas" in deploy:
                svc.replicas = Located(_int(deploy["replicas"]), deploy.value_loc("replicas"))
            policy = deploy.get("restart_policy")
            if svc.restart is None and isinstance(policy, LDict):
                condition = policy.get("condition", "any")
                svc.restart = Located(
                    f"deploy:{_text(condition)}", policy.value_loc("condition") if "condition" in policy else policy.loc
                )
            limits = deploy.get("resources", {})
            limits = limits.get("limits") if isinstance(limits, LDict) else None
            if isinstance(limits, LDict):
                if "cpus" in limits:
                    svc.cpus = Located(_text(limits["cpus"]), limits.value_loc("cpus"))
                if "memory" in limits:
                    svc.memory = Located(_text(limits["memory"]), limits.value_loc("memory"))
        svc.volumes = self.volumes(body)
        svc.depends_on = _depends_on(body)
        if "network_mode" in body:
            svc.network_mode = Located(_text(body["network_mode"]), body.value_loc("network_mode"))
        for key in ("entrypoint", "command"):
            value = body.get(key)
            if isinstance(value, str):
                svc.command.extend(value.split())
            elif isinstance(value, list):
                svc.command.extend(str(v) for v in value if not isinstance(v, Unknown))
        networks = body.get("networks")
        if isinstance(networks, LDict):
            for net in networks.values():
                if isinstance(net, LDict):
                    svc.aliases.extend(str(a) for a in _seq(net.get("aliases")))
                    svc.addresses.extend(str(net[key]) for key in ("ipv4_address", "ipv6_address")
                                         if isinstance(net.get(key), str))
        svc.extra_hosts = _extra_hosts(body.get("extra_hosts"))
        if isinstance(body.get("hostname"), str):
            svc.aliases.append(body["hostname"])
        if isinstance(body.get("container_name"), str):
            svc.aliases.append(body["container_name"])
        for i, link in enumerate(_seq(body.get("links"))):
            svc.links.append(Located(str(link).split(":", 1)[0], body["links"].item_loc(i)))
        svc.profiles = [str(p) for p in _seq(body.get("profiles"))]
        return svc

    def port(self, entry: Any, where: Location) -> list[PortMapping]:
        if isinstance(entry, Unknown):
            return _unknown_short_port(entry, where)
        if isinstance(entry, LDict):
            target = entry.get("target")
            published = entry.get("published")
            host_ip = entry.get("host_ip", "")
            protocol = str(entry.get("protocol", "tcp")).lower()
            targets = _port_range(target) if target is not None else []
            if isinstance(published, Unknown) or isinstance(host_ip, Unknown):
                return [PortMapping(where, t, published if isinstance(published, Unknown) else None,
                                    host_ip if isinstance(host_ip, Unknown) else "") for t in targets]
            pubs: list[int | None] = list(_port_range(published)) if published not in (None, "") else []
            return _pair(where, targets, pubs, str(host_ip), protocol, published is not None)
        if isinstance(entry, (int, str)):
            try:
                return _short_port(str(entry), where)
            except ValueError as exc:
                self.error(f"invalid port mapping {entry!r}: {exc}", where)
                return []
        self.error(f"invalid port mapping {entry!r}", where)
        return []

    def env_file_refs(self, body: LDict) -> list[Located[str]]:
        value = body.get("env_file")
        if value is None:
            return []
        if isinstance(value, (str, Unknown)):
            return [Located(value, body.value_loc("env_file"))]
        refs: list[Located[str]] = []
        for i, item in enumerate(_seq(value)):
            where = value.item_loc(i) if isinstance(value, LList) else body.value_loc("env_file")
            if isinstance(item, LDict):
                path = item.get("path")
                if isinstance(path, (str, Unknown)):
                    refs.append(Located(path, where))
            elif isinstance(item, (str, Unknown)):
                refs.append(Located(item, where))
        return refs

    def volumes(self, body: LDict) -> list[VolumeMount]:
        mounts: list[VolumeMount] = []
        for i, entry in enumerate(_seq(body.get("volumes"))):
            where = body["volumes"].item_loc(i)
            if isinstance(entry, Unknown):
                # "${DATA_DIR}:/var/lib/postgresql/data": the target is still known.
                target = _volume_target(entry.raw)
                if target is not None:
                    mounts.append(VolumeMount(where, target, None, "bind", unresolved=entry))
                continue
            if isinstance(entry, str):
                parts = entry.split(":")
                mode = ""
                if len(parts) >= 3:
                    source, target, mode = parts[0], parts[1], parts[2]
                elif len(parts) == 2:
                    source, target = parts
                else:
                    mounts.append(VolumeMount(where, parts[0], None, "anonymous"))
                    continue
                kind = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
                mounts.append(VolumeMount(where, target, source, kind, "ro" in mode.split(",")))
            elif isinstance(entry, LDict) and isinstance(entry.get("target"), str):
                kind = str(entry.get("type", "volume"))
                long_source = entry.get("source")
                if kind == "volume" and not long_source:
                    kind = "anonymous"
                mounts.append(
                    VolumeMount(where, entry["target"], str(long_source) if long_source else None, kind,
                                bool(entry.get("read_only", False)))
                )
        tmpfs = body.get("tmpfs")
        for i, entry in enumerate([tmpfs] if isinstance(tmpfs, str) else _seq(tmpfs)):
            where = body["tmpfs"].item_loc(i) if isinstance(tmpfs, LList) else body.value_loc("tmpfs")
            if isinstance(entry, str):
                mounts.append(VolumeMount(where, entry.split(":", 1)[0], None, "tmpfs"))
        for i, entry in enumerate(_seq(body.get("secrets"))):
            where = body["secrets"].item_loc(i)
            if isinstance(entry, str):
                mounts.append(VolumeMount(where, f"/run/secrets/{entry}", entry, "secret", True))
            elif isinstance(entry, LDict) and isinstance(entry.get("source"), str):
                target = str(entry.get("target", entry["source"]))
                if not target.startswith("/"):
                    target = f"/run/secrets/{target}"
                mounts.append(VolumeMount(where, target, entry["source"], "secret", True))
        return mounts


# -- helpers ------------------------------------------------------------------------------


def _volume_target(raw: str) -> str | None:
    """The container path of a short volume entry as written, ``${...}`` parts left alone."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in raw:
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}" and depth > 0
        current += char
    parts.append(current)
    target = parts[1] if len(parts) >= 2 else None
    return target if target is not None and target.startswith("/") and "$" not in target else None


def _extra_hosts(value: Any) -> dict[str, str]:
    """``extra_hosts`` as a list ("name:address", "name=address") or a mapping; IPv6 addresses
    keep their colons ("name:::1", "name=[::1]")."""
    found: dict[str, str] = {}
    if isinstance(value, LDict):
        pairs = [(str(k), v) for k, v in value.items()]
    else:
        pairs = []
        for item in _seq(value):
            if not isinstance(item, str):
                continue
            name, sep, address = item.partition("=") if "=" in item else item.partition(":")
            if sep:
                pairs.append((name, address))
    for name, address in pairs:
        if isinstance(address, str) and name.strip() and address.strip():
            found[name.strip()] = address.strip().strip("[]")
    return found


def _build_args(value: Any) -> dict[str, str]:
    """``build.args`` as a mapping or a list of ``NAME=value``; an argument without a value
    (or with one that depends on an unset variable) is left to the Dockerfile's default."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(item.partition("=")[0], item.partition("=")[2]) for item in value
                 if isinstance(item, str) and "=" in item]
    return {str(name): str(arg) for name, arg in pairs
            if isinstance(arg, (str, int, float)) and not isinstance(arg, bool)}


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _text(value: Any) -> str | Unknown:
    if isinstance(value, (Unknown, str)):
        return value  # keeps Interpolated, which the secret check relies on
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any) -> int | Unknown:
    if isinstance(value, Unknown):
        return value
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: replicas: .inf
        return Unknown((), str(value))


def _port_range(value: Any) -> list[int]:
    """``"8000-8005"`` -> [8000..8005]; ``3000`` -> [3000]. Raises nothing: bad input -> []."""
    if isinstance(value, bool) or value is None or isinstance(value, Unknown):
        return []
    text = str(value).split("/", 1)[0].strip()
    match = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", text)  # ASCII: docker reads no other digits
    if not match:
        return []
    low = _number(match.group(1))
    high = _number(match.group(2)) if match.group(2) else low
    if high < low or high - low >= MAX_PORT_RANGE or high > 65535:
        return [low] if low <= 65535 else []
    return list(range(low, high + 1))


def _number(digits: str) -> int:
    """ASCII digits as an int; past six significant digits only "too big" matters (and
    ``int()`` refuses more than 4300 digits)."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= 6 else 10**6


_SHORT_PORT = re.compile(
    r"^(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[A-Za-z0-9_.-]+):)??"
    r"(?:(?P<published>\d*(?:-\d+)?):)?(?P<target>\d+(?:-\d+)?)(?:/(?P<proto>tcp|udp|sctp))?$"
)


def _short_port(text: str, where: Location) -> list[PortMapping]:
    match = _SHORT_PORT.match(text.strip())
    if not match:
        raise ValueError("expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]")
    ip = (match.group("ip") or "").strip("[]")
    published = match.group("published")
    targets = _port_range(match.group("target"))
    if not targets:
        raise ValueError("port out of range")
    protocol = match.group("proto") or "tcp"
    if published is None:
        # "3000" alone publishes the container port on an ephemeral host port.
        return _pair(where, targets, [], ip, protocol, True)
    pubs: list[int | None] = list(_port_range(published)) if published else []
    return _pair(where, targets, pubs, ip, protocol, True)


def short_port(text: str, where: Location) -> list[PortMapping]:
    """``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`` as compose and ``docker run -p``
    read it; ValueError when it is not one."""
    return _short_port(text, where)


_VAR_REF = re.compile(r"\$\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def _unknown_short_port(entry: Unknown, where: Location) -> list[PortMapping]:
    """``"${BIND}:1985:1985"``: the ports are still known, only the bind address is not."""
    token = "unresolved-host"
    try:
        mappings = _short_port(_VAR_REF.sub(token, entry.raw), where)
    except ValueError:
        return [PortMapping(where, entry, entry, entry)]
    return [m if m.host_ip != token else PortMapping(where, m.target, m.published, entry, m.protocol)
            for m in mappings]


def _pair(
    where: Location, targets: list[int], published: list[int | None], host_ip: str, protocol: str, is_published: bool
) -> list[PortMapping]:
    out: list[PortMapping] = []
    for i, target in enumerate(targets):
        if not is_published:
            pub: int | Unknown | None = None
        elif len(published) == len(targets):
            pub = published[i]
        elif len(published) == 1 and len(targets) == 1:
            pub = published[0]
        elif published:
            pub = published[0]  # a host range for one container port: any of them
        else:
            pub = 0  # ephemeral host port
        out.append(PortMapping(where, target, pub, host_ip, "udp" if protocol == "udp" else "tcp"))
    return out


def _environment(body: LDict) -> dict[str, Located[str]]:
    env = body.get("environment")
    out: dict[str, Located[str]] = {}
    if isinstance(env, LDict):
        for key, value in env.items():
            if value is None:
                out[str(key)] = Located(Unknown((str(key),), str(key)), env.value_loc(key))
            else:
                out[str(key)] = Located(_text(value), env.value_loc(key))
    elif isinstance(env, LList):
        for i, item in enumerate(env):
            if isinstance(item, tuple):  # KEY=value whose value is unknown
                out[item[0]] = Located(item[1], env.item_loc(i))
                continue
            if isinstance(item, Unknown):
                continue
            key, sep, value = str(item).partition("=")
            where = env.item_loc(i)
            if sep:
                out[key] = Located(value, where)
            else:
                # "KEY" alone takes the value from the shell running compose: unknown here.
                out[key] = Located(Unknown((key,), key), where)
    return out


def _healthcheck(body: LDict) -> Healthcheck | None:
    hc = body.get("healthcheck")
    if not isinstance(hc, LDict):
        return None
    loc = body.key_loc("healthcheck")
    if hc.get("disable") is True:
        return Healthcheck(loc, "", True)
    test = hc.get("test")
    if isinstance(test, list):
        words = [str(w) for w in test if not isinstance(w, Unknown)]
        if words and words[0] == "NONE":
            return Healthcheck(loc, "", True)
        if words and words[0] in ("CMD", "CMD-SHELL"):
            words = words[1:]
        return Healthcheck(hc.value_loc("test"), " ".join(words), False)
    if isinstance(test, (str, Unknown)):
        return Healthcheck(hc.value_loc("test"), test, False)
    return Healthcheck(loc, "", False)


def _depends_on(body: LDict) -> list[DependsOn]:
    deps = body.get("depends_on")
    out: list[DependsOn] = []
    if isinstance(deps, LList):
        for i, name in enumerate(deps):
            out.append(DependsOn(deps.item_loc(i), str(name), "service_started"))
    elif isinstance(deps, LDict):
        for name, spec in deps.items():
            condition = "service_started"
            required = True
            if isinstance(spec, LDict):
                condition = str(spec.get("condition", condition))
                required = spec.get("required", True) is not False
            out.append(DependsOn(deps.key_loc(name), str(name), condition, required))
    return out


def _interpolate_tree(node: Any, variables: Mapping[str, str], key: Any = None) -> Any:
    """Interpolate every string value (not keys) in place, keeping positions."""
    if isinstance(node, LDict):
        for k in list(node):
            value = node[k]
            if isinstance(value, str):
                if "$" in value:  # most values have nothing to expand: skip the call
                    node[k] = interpolate(value, variables)
            elif isinstance(value, (LDict, LList)):
                _interpolate_tree(value, variables, k)  # in place
        return node
    if isinstance(node, LList):
        for i, item in enumerate(node):
            if key == "environment" and isinstance(item, str) and "=" in item:
                # Only the value side of KEY=value: an unknown value must not hide the key.
                name, _, value = item.partition("=")
                resolved = interpolate(value, variables)
                node[i] = f"{name}={resolved}" if isinstance(resolved, str) else (name, resolved)
            else:
                node[i] = _interpolate_tree(item, variables)
        return node
    if isinstance(node, str):
        return interpolate(node, variables)
    return node


def merge(base: LDict, over: LDict) -> LDict:
    """Merge ``over`` onto ``base`` as compose merges override files and ``extends``."""
    out = new_ldict(base.loc)
    for key, value in base.items():
        out[key] = value
        out.key_locs[key] = base.key_loc(key)
        out.value_locs[key] = base.value_loc(key)
    for key, value in over.items():
        current = out.get(key)
        if key == "environment" and current is not None:
            value = _merge_env(current, value)
        elif isinstance(current, LDict) and isinstance(value, LDict):
            value = merge(current, value)
        elif isinstance(current, LList) and isinstance(value, LList) and key not in _REPLACE_LISTS:
            value = _merge_list(str(key), current, value)
        out[key] = value
        # A key the base already had keeps its base position (where the thing is defined);
        # a value the override replaced points at the override.
        if key not in base:
            out.key_locs[key] = over.key_loc(key)
        if not isinstance(value, LDict) or key not in base:
            out.value_locs[key] = over.value_loc(key)
    return out


def _env_as_map(env: Any) -> LDict | None:
    if isinstance(env, LDict):
        return env
    if not isinstance(env, LList):
        return None
    out = new_ldict(env.loc)
    for i, item in enumerate(env):
        if isinstance(item, tuple):
            out[item[0]] = item[1]
            out.key_locs[item[0]] = out.value_locs[item[0]] = env.item_loc(i)
            continue
        key, sep, value = str(item).partition("=")
        out[key] = value if sep else None
        out.key_locs[key] = out.value_locs[key] = env.item_loc(i)
    return out


def _merge_env(base: Any, over: Any) -> Any:
    b, o = _env_as_map(base), _env_as_map(over)
    if b is None or o is None:
        return over
    return merge(b, o)


def _merge_list(key: str, base: LList, over: LList) -> LList:
    out = LList()
    out.loc = over.loc
    out.item_locs = []
    seen: dict[Any, int] = {}

    def identity(item: Any) -> Any:
        if key == "volumes":
            if isinstance(item, str):
                parts = item.split(":")
                return parts[1] if len(parts) > 1 else parts[0]
            if isinstance(item, LDict):
                return item.get("target")
        return repr(item)

    for source in (base, over):
        for i, item in enumerate(source):
            ident = identity(item)
            if ident in seen:
                index = seen[ident]
                out[index] = item
                out.item_locs[index] = source.item_loc(i)
                continue
            seen[ident] = len(out)
            out.append(item)
            out.item_locs.append(source.item_loc(i))
    return out
