"""systemd units, drop-ins, templates, sockets, timers and the env files they read.

Follows ``systemd.syntax(7)``: ``[Section]`` headers, ``Key=value`` lines, ``#``/``;``
comments, backslash continuation, repeated keys that accumulate, and an empty assignment that
resets a list. Drop-ins (``foo.service.d/*.conf``, and the template's ``foo@.service.d/`` for
instances) apply in lexical order of their file names, as systemd does. Every directive keeps
the position of its key and of its value.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from bitriver_lint import journal
from bitriver_lint.config import Config
from bitriver_lint.loaders.envfile import EnvFile, parse_docker_env, parse_env
from bitriver_lint.model import Diagnostic, Location, Unknown
from bitriver_lint.workspace import FileProblem, Workspace

UNIT_SUFFIXES = (".service", ".socket", ".timer", ".target", ".mount", ".path")
_SECTION = re.compile(r"^\[([^\[\]]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s?")
_SPECIFIER = re.compile(r"%(.)")
EXEC_PREFIX = re.compile(r"^[-@:+!]+")  # ExecStart='s special-executable prefixes


@dataclass(frozen=True, slots=True)
class Directive:
    section: str
    key: str
    value: str
    location: Location  # of the key
    value_location: Location
    # Where each physical line of a backslash-continued value starts: (offset in the value,
    # line, column); empty when the value is not as written (specifiers expanded).
    value_lines: tuple[tuple[int, int, int], ...] = ()

    def location_at(self, offset: int) -> Location:
        """Where the character at ``offset`` in the value is written."""
        if not self.value_lines:
            return self.value_location
        start, line, column = next(part for part in reversed(self.value_lines) if part[0] <= offset)
        return Location(self.value_location.path, line, column + offset - start)


@dataclass
class UnitFile:
    path: str
    directives: list[Directive] = field(default_factory=list)
    sections: dict[str, Location] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EnvFileRef:
    path: str  # as written, without the "-" prefix
    optional: bool
    location: Location
    resolved: str | None  # root-relative path of the file in the tree, when it is there


@dataclass
class Unit:
    """One unit as systemd would see it: its file plus drop-ins, specifiers expanded."""

    name: str  # e.g. bitriver-live.service, srs@main.service
    path: str  # the unit file, or the first drop-in for drop-in-only units
    directory: str  # the unit directory it was found in (one host per directory)
    directives: list[Directive]
    instance: str | None = None
    dropins: list[str] = field(default_factory=list)
    env_files: list[EnvFileRef] = field(default_factory=list)
    # The --env-file files of a `docker run` ExecStart: the container's environment, not the unit's.
    container_env_files: list[EnvFileRef] = field(default_factory=list)
    sections: dict[str, Location] = field(default_factory=dict)

    def section_location(self, section: str) -> Location:
        """Where ``[section]`` is written (in the unit file first), for missing-key findings."""
        return self.sections.get(section, Location(self.path, 1, 1))

    @property
    def kind(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def values(self, section: str, key: str) -> list[Directive]:
        """Every assignment of a list-valued key, honouring empty-assignment resets."""
        out: list[Directive] = []
        for d in self.directives:
            if d.section == section and d.key == key:
                if d.value.strip() == "":
                    out = []
                else:
                    out.append(d)
        return out

    def last(self, section: str, key: str) -> Directive | None:
        found = [d for d in self.directives if d.section == section and d.key == key]
        return found[-1] if found and found[-1].value.strip() else None

    def words(self, section: str, key: str) -> list[str]:
        """Space-separated values of list keys like After= or Requires=."""
        return [w for d in self.values(section, key) for w in d.value.split()]


@dataclass
class SystemdDirectory:
    """The units of one directory (one host)."""

    directory: str
    units: list[Unit]
    env_files: dict[str, EnvFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    location: Location = field(default_factory=lambda: Location("", 1, 1))
    # The --env-file files of `docker run` units, read as docker reads them: a file may be both.
    container_env_files: dict[str, EnvFile] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContainerRun:
    """``docker run``/``podman run`` in ExecStart: the unit's process is a container, whose
    ports reach the host's network only where ``-p`` publishes them (through Docker's own
    DNAT, around the host firewall's INPUT rules), unless it shares the host's network. Its
    environment is what ``-e``/``--env-file`` pass, not the unit's; its files are the image's
    writable layer but for ``-v``/``--mount``."""

    image: str | Unknown  # unknown past an option we cannot read
    command: list[str]  # what runs in the container, after the image
    publishes: list[str]  # the values of -p/--publish, as written
    host_network: bool
    env: list[str] = field(default_factory=list)  # -e/--env: KEY=VALUE, or KEY passed from the unit's
    env_files: list[str] = field(default_factory=list)  # --env-file paths, as written
    volumes: list[str] = field(default_factory=list)  # -v/--volume: SRC:DST[:OPTS] or DST
    mounts: list[str] = field(default_factory=list)  # --mount: type=...,source=...,target=...
    tmpfs: list[str] = field(default_factory=list)  # --tmpfs: DST[:OPTS]


_ENGINES = ("docker", "podman")


@dataclass(frozen=True, slots=True)
class _Flags:
    """The options of one command line, as Go's pflag reads them. A boolean never takes the
    next word ("--rm img"), though "--rm=false" sets it; every other option takes
    "--option=value" or else the next word, whatever it looks like. One-letter booleans combine
    (-dit); the first letter of a group that takes a value takes the rest of the group
    (-p8080:80, -dp8080:80) or else the next word (-dp 8080:80)."""

    booleans: frozenset[str]
    options: frozenset[str]
    short_booleans: dict[str, str]
    short_options: dict[str, str]


# The options of `docker run` and `podman run`.
_RUN = _Flags(
    booleans=frozenset((
        "--detach", "--interactive", "--tty", "--rm", "--privileged", "--init", "--read-only", "--publish-all",
        "--quiet", "--no-healthcheck", "--oom-kill-disable", "--sig-proxy", "--use-api-socket", "--help",
        "--disable-content-trust",
        # podman's own
        "--replace", "--env-host", "--http-proxy", "--no-hosts", "--passwd", "--read-only-tmpfs", "--rmi",
        "--rootfs", "--tls-verify", "--unsetenv-all",
    )),
    options=frozenset((
        "--add-host", "--annotation", "--attach", "--blkio-weight", "--blkio-weight-device", "--cap-add",
        "--cap-drop", "--cgroup-parent", "--cgroupns", "--cidfile", "--cpu-count", "--cpu-percent", "--cpu-period",
        "--cpu-quota", "--cpu-rt-period", "--cpu-rt-runtime", "--cpu-shares", "--cpus", "--cpuset-cpus",
        "--cpuset-mems", "--detach-keys", "--device", "--device-cgroup-rule", "--device-read-bps",
        "--device-read-iops", "--device-write-bps", "--device-write-iops", "--dns", "--dns-opt", "--dns-option",
        "--dns-search", "--domainname", "--entrypoint", "--env", "--env-file", "--expose", "--gpus", "--group-add",
        "--health-cmd", "--health-interval", "--health-retries", "--health-start-interval",
        "--health-start-period", "--health-timeout", "--hostname", "--io-maxbandwidth", "--io-maxiops", "--ip",
        "--ip6", "--ipc", "--isolation", "--kernel-memory", "--label", "--label-file", "--link", "--link-local-ip",
        "--log-driver", "--log-opt", "--mac-address", "--memory", "--memory-reservation", "--memory-swap",
        "--memory-swappiness", "--mount", "--name", "--net", "--net-alias", "--network", "--network-alias",
        "--oom-score-adj", "--pid", "--pids-limit", "--platform", "--publish", "--pull", "--restart", "--runtime",
        "--security-opt", "--shm-size", "--stop-signal", "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs",
        "--ulimit", "--user", "--userns", "--uts", "--volume", "--volume-driver", "--volumes-from", "--workdir",
        # podman's own
        "--arch", "--authfile", "--cert-dir", "--cgroup-conf", "--cgroups", "--chrootdirs", "--conmon-pidfile",
        "--creds", "--decryption-key", "--env-merge", "--gidmap", "--group-entry", "--health-log-destination",
        "--health-max-log-count", "--health-max-log-size", "--health-on-failure", "--health-startup-cmd",
        "--health-startup-interval", "--health-startup-retries", "--health-startup-success",
        "--health-startup-timeout", "--hostuser", "--hosts-file", "--image-volume", "--init-path", "--os",
        "--passwd-entry", "--personality", "--pidfile", "--pod", "--pod-id-file", "--preserve-fd", "--preserve-fds",
        "--rdt-class", "--requires", "--retry", "--retry-delay", "--sdnotify", "--seccomp-policy", "--secret",
        "--shm-size-systemd", "--signature-policy", "--subgidname", "--subuidname", "--systemd", "--timeout", "--tz",
        "--uidmap", "--umask", "--unsetenv", "--variant",
    )),
    short_booleans={"d": "--detach", "i": "--interactive", "t": "--tty", "P": "--publish-all", "q": "--quiet"},
    short_options={"a": "--attach", "c": "--cpu-shares", "e": "--env", "h": "--hostname", "l": "--label",
                   "m": "--memory", "p": "--publish", "u": "--user", "v": "--volume", "w": "--workdir"},
)
# The engine's own options, written before "run" ("docker -H unix:///run/docker.sock run"). Its
# root command stops reading options at the first word that is none: the command.
_GLOBAL = {
    "docker": _Flags(
        booleans=frozenset(("--debug", "--tls", "--tlsverify", "--help", "--version")),
        options=frozenset(("--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert",
                           "--tlskey")),
        short_booleans={"D": "--debug", "h": "--help", "v": "--version"},
        short_options={"c": "--context", "H": "--host", "l": "--log-level"},
    ),
    "podman": _Flags(
        booleans=frozenset(("--help", "--noout", "--remote", "--syslog", "--transient-store", "--version")),
        options=frozenset((
            "--cgroup-manager", "--cni-config-dir", "--config", "--conmon", "--connection", "--events-backend",
            "--hooks-dir", "--identity", "--imagestore", "--log-level", "--module", "--network-cmd-path",
            "--network-config-dir", "--out", "--root", "--runroot", "--runtime", "--runtime-flag", "--ssh",
            "--storage-driver", "--storage-opt", "--tmpdir", "--url", "--volumepath",
        )),
        short_booleans={"h": "--help", "r": "--remote", "v": "--version"},
        short_options={"c": "--connection"},
    ),
}
_RUN_LISTS = {"--env": "env", "--env-file": "env_files", "--volume": "volumes", "--mount": "mounts", "--tmpfs": "tmpfs"}


_SHELLS = frozenset(("sh", "bash", "dash", "ash", "zsh"))
_SHELL_C = re.compile(r"-[a-z]*c[a-z]*")  # -c, -ec, -lc: the next word is the script
_OPERATORS = frozenset("();<>|&")
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def shell_command(words: list[str], variables: dict[str, str]) -> list[str] | None:
    """The command ``/bin/sh -c 'script'`` runs when the script is one simple command
    (``exec`` dropped), split as the shell splits it; None for anything else. systemd
    substitutes the unit's variables into the script before the shell reads it, so a variable
    with a value is replaced in the text first (an empty one then vanishes, as it does unquoted)
    and the others are kept as written. A list, pipeline, redirection or command substitution
    is not seen through: what it runs depends on more than its words."""
    if len(words) < 3 or posixpath.basename(words[0]) not in _SHELLS or not _SHELL_C.fullmatch(words[1]):
        return None
    script = words[2]
    if "`" in script or "$(" in script:
        return None

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables[name] if name in variables else match.group(0)

    lexer = shlex.shlex(_VARIABLE.sub(substitute, script), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    if not tokens or any(token and set(token) <= _OPERATORS for token in tokens):
        return None
    return tokens[1:] if tokens[0] == "exec" else tokens


def exec_words(value: str, variables: dict[str, str]) -> list[str]:
    """An ExecStart= value split into the words of the command it runs: its special-executable
    prefixes dropped, and a shell running one simple command seen through (``shell_command``)."""
    text = EXEC_PREFIX.sub("", value.strip())
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return shell_command(words, variables) or words


def container_run(command: list[str]) -> ContainerRun | None:
    """The container an ExecStart command line (split into words) runs, if it is one."""
    if len(command) < 3 or posixpath.basename(command[0]).lower() not in _ENGINES:
        return None
    engine = posixpath.basename(command[0]).lower()
    # An engine option we do not know is read as a boolean when "run" follows it: either way
    # the image is unknown, but the container and its -p, -e and -v are still read.
    _, index, unknown_global = _options(command, 1, _GLOBAL[engine], ("run", "container"))
    if command[index:index + 1] == ["run"]:
        index += 1
    elif command[index:index + 2] == ["container", "run"]:
        index += 2
    else:
        return None
    options, index, unread = _options(command, index, _RUN)
    if index >= len(command):
        return None
    specs: list[str] = []
    lists: dict[str, list[str]] = {"env": [], "env_files": [], "volumes": [], "mounts": [], "tmpfs": []}
    host_network = False
    for name, value in options:
        if name == "--publish":
            specs.append(value)
        elif name in _RUN_LISTS:
            lists[_RUN_LISTS[name]].append(value)
        elif name in ("--network", "--net") and value == "host":
            host_network = True
    image: str | Unknown = command[index]
    rest = command[index + 1:]
    if unknown_global is not None:
        image = Unknown((unknown_global,), command[index], why=f"is a {engine} option bitriver-lint does not know: "
                        "whether it takes the next word, and so which words are the command and the image, is "
                        "unknown")
        rest = []
    elif unread is not None:
        # Whether the option takes the next word decides which word is the image.
        image = Unknown((unread,), command[index], why="is a run option bitriver-lint does not know: whether it "
                        "takes the next word, and so which word is the image, is unknown")
        rest = []
    return ContainerRun(image, rest, specs, host_network, env=lists["env"], env_files=lists["env_files"],
                        volumes=lists["volumes"], mounts=lists["mounts"], tmpfs=lists["tmpfs"])


def _options(command: list[str], index: int, flags: _Flags,
             not_values: tuple[str, ...] = ()) -> tuple[list[tuple[str, str]], int, str | None]:
    """The options in ``command`` from ``index`` on, by their long names with their values, the
    index of the first word that is no option, and the first option not known (read as taking
    a value, unless the next word is one of ``not_values``)."""
    options: list[tuple[str, str]] = []
    unread: str | None = None
    while index < len(command):
        word = command[index]
        if word == "--":
            return options, index + 1, unread
        if not word.startswith("-") or word == "-":
            break
        index += 1
        if word.startswith("--"):
            name, has_value, value = word.partition("=")
            if has_value or name not in flags.booleans:
                if not has_value:
                    if name not in flags.options:
                        unread = unread or name
                        if command[index:index + 1] and command[index] in not_values:
                            continue
                    value = command[index] if index < len(command) else ""
                    index += 1
                options.append((name, value))
            continue
        letters = word[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in flags.short_booleans and not letters.startswith("="):
                continue
            if letter not in flags.short_booleans and letter not in flags.short_options:
                unread = unread or f"-{letter}"  # the engine refuses it
                break
            name = flags.short_booleans.get(letter) or flags.short_options[letter]
            if letters.startswith("="):
                value = letters[1:]  # -p=8080:80, -d=false
            elif letters:
                value = letters  # -p8080:80
            else:
                value = command[index] if index < len(command) else ""
                index += 1
            options.append((name, value))
            break
    return options, index, unread


def parse_unit_text(text: str, path: str) -> UnitFile:
    unit = UnitFile(path)
    section = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        # Backslash-newline joins lines (replaced by a space); comment lines inside a
        # continuation are skipped, as systemd does.
        parts = [(0, start + 1, 1)]  # (offset in the joined line, line, column)
        while line.rstrip().endswith("\\") and index < len(lines):
            nxt = lines[index]
            index += 1
            if nxt.strip().startswith(("#", ";")):
                continue
            line = line.rstrip()[:-1] + " "
            parts.append((len(line), index, len(nxt) - len(nxt.lstrip()) + 1))
            line += nxt.strip()
        header = _SECTION.match(stripped)
        if header:
            section = header.group(1)
            unit.sections.setdefault(section, Location(path, start + 1, len(line) - len(line.lstrip()) + 1))
            continue
        indent = len(line) - len(line.lstrip())
        match = _KEY.match(line.lstrip())
        where = Location(path, start + 1, indent + 1)
        if match is None:
            unit.diagnostics.append(Diagnostic("BRL001", f"not a Key=value assignment: {stripped[:60]!r}", where))
            continue
        if not section:
            unit.diagnostics.append(Diagnostic("BRL001", "assignment outside of any [Section]", where))
            continue
        value = line.lstrip()[match.end():].rstrip()
        begins = indent + match.end()
        value_lines = tuple((max(0, at - begins), number, column + max(0, begins - at))
                            for at, number, column in parts)
        unit.directives.append(
            Directive(section, match.group(1), value, where, Location(path, start + 1, begins + 1), value_lines)
        )
    return unit


def expand_specifiers(value: str, unit_name: str, instance: str | None) -> str | Unknown:
    """``%i``, ``%n``, ``%N``, ``%p`` ... as systemd.unit(5) defines them for system units."""
    stem = unit_name.rsplit(".", 1)[0]
    prefix = stem.split("@", 1)[0]
    known: dict[str, str | None] = {
        "%": "%",
        "n": unit_name,
        "N": stem,
        "p": prefix,
        "P": prefix,
        "i": instance,
        "I": instance,
        "j": prefix.rsplit("-", 1)[-1],
        "t": "/run",
        "S": "/var/lib",
        "C": "/var/cache",
        "L": "/var/log",
        "E": "/etc",
        "T": "/tmp",
        "V": "/var/tmp",
    }
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        letter = match.group(1)
        result = known.get(letter)
        if result is None:
            missing.append(f"%{letter}")
            return ""
        return result

    out = _SPECIFIER.sub(replace, value)
    if missing:
        return Unknown(tuple(missing), value)
    return out


def split_assignments(value: str) -> list[tuple[str, str]]:
    """``Environment="A=1 2" B=3`` -> [("A", "1 2"), ("B", "3")]."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    return [(w.split("=", 1)[0], w.split("=", 1)[1]) for w in words if "=" in w and w.split("=", 1)[0]]


def located_assignments(directive: Directive) -> list[tuple[str, str, Location]]:
    """``split_assignments`` of a directive's value, each where its word is written."""
    pairs = split_assignments(directive.value)
    starts = [start for word, start in _words(directive.value) if split_assignments(word)]
    if len(starts) != len(pairs):
        return [(key, value, directive.value_location) for key, value in pairs]
    return [(key, value, directive.location_at(start)) for (key, value), start in zip(pairs, starts, strict=True)]


def _words(value: str) -> list[tuple[str, int]]:
    """The words of a value as written, each with its offset, split where shlex splits."""
    words: list[tuple[str, int]] = []
    index = 0
    while index < len(value):
        if value[index].isspace():
            index += 1
            continue
        start, quote = index, ""
        while index < len(value) and (quote or not value[index].isspace()):
            char = value[index]
            if char == "\\" and quote != "'":
                index += 2
                continue
            if quote and char == quote:
                quote = ""
            elif not quote and char in "\"'":
                quote = char
            index += 1
        words.append((value[start:index], start))
    return words


def load(files: list[str], ws: Workspace, config: Config) -> list[SystemdDirectory]:
    parsed: dict[str, UnitFile] = {}
    diagnostics: dict[str, list[Diagnostic]] = {}
    for rel in files:
        directory = _unit_directory(rel)
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            diagnostics.setdefault(directory, []).append(
                exc.diagnostic(rel)
            )
            continue
        unit_file = parse_unit_text(text, rel)
        parsed[rel] = unit_file
        diagnostics.setdefault(directory, []).extend(unit_file.diagnostics)
    by_dir: dict[str, list[str]] = {}
    for rel in parsed:
        by_dir.setdefault(_unit_directory(rel), []).append(rel)
    out = []
    for directory in sorted(set(by_dir) | set(diagnostics)):
        rels = sorted(by_dir.get(directory, []))
        units = _assemble(directory, rels, parsed, ws)
        env_files: dict[str, EnvFile] = {}
        container_env_files: dict[str, EnvFile] = {}
        unreadable: set[str] = set()
        for unit in units:
            with ws.recording() as looked_for:
                unit.env_files = _env_refs(unit, ws, directory)
                unit.container_env_files = _container_env_refs(unit, ws, directory)
            # A unit is its file, its drop-ins and the env files it reads or would read, were
            # they there (``--changed``).
            ws.group([unit.path, *unit.dropins, *looked_for])
            for refs, read, parse in ((unit.env_files, env_files, _systemd_env),
                                      (unit.container_env_files, container_env_files, parse_docker_env)):
                for ref in refs:
                    if ref.resolved and ref.resolved not in read and ref.resolved not in unreadable:
                        try:
                            env = parse(ws.read_text(ref.resolved), ref.resolved)
                        except FileProblem as exc:
                            unreadable.add(ref.resolved)
                            diagnostics.setdefault(directory, []).append(
                                exc.diagnostic(ref.resolved)
                            )
                            continue
                        read[ref.resolved] = env
                        diagnostics.setdefault(directory, []).extend(env.diagnostics)
        # A directory none of whose units could be read is placed at the first of them.
        first = rels[0] if rels else diagnostics[directory][0].location.path
        out.append(SystemdDirectory(directory, units, env_files, diagnostics.get(directory, []), Location(first),
                                    container_env_files))
    return out


def _systemd_env(text: str, path: str) -> EnvFile:
    return parse_env(text, path, interpolation=False)  # systemd expands no variables in them


def _unit_directory(rel: str) -> str:
    parent = posixpath.dirname(rel)
    if parent.endswith(".d"):  # drop-ins belong to the directory of their unit
        parent = posixpath.dirname(parent)
    return parent


def _assemble(directory: str, rels: list[str], parsed: dict[str, UnitFile], ws: Workspace) -> list[Unit]:
    mains: dict[str, str] = {}
    dropins: dict[str, list[str]] = {}
    for rel in rels:
        parent = posixpath.basename(posixpath.dirname(rel))
        if parent.endswith(".d") and posixpath.dirname(posixpath.dirname(rel)) == directory:
            dropins.setdefault(parent[:-2], []).append(rel)
        elif posixpath.dirname(rel) == directory:
            mains[posixpath.basename(rel)] = rel
    names = set(mains) | set(dropins)
    # Instances of templates: files or symlinks named foo@bar.service, and *.wants/ entries.
    for wants in _wants_entries(directory, ws):
        names.add(wants)
    units: list[Unit] = []
    templates = {n for n in names if re.search(r"@\.[a-z]+$", n)}
    instantiated = {re.sub(r"@[^.]+(\.[a-z]+)$", r"@\1", n) for n in names if "@" in n and n not in templates}
    for name in sorted(names):
        if name in templates and name in instantiated:
            continue  # the template is checked through its instances
        template = re.sub(r"@[^.]+(\.[a-z]+)$", r"@\1", name) if "@" in name and name not in templates else None
        instance = name.split("@", 1)[1].rsplit(".", 1)[0] if template else None
        main = mains.get(name)
        body_rel = main
        if template and (main is None or _is_alias(ws, main)):
            body_rel = mains.get(template)
        sources = [body_rel] if body_rel else []
        # Drop-ins: the template's apply to every instance, then the instance's own; each set
        # in lexical order of file names.
        chosen: dict[str, str] = {}
        for key in ([template] if template else []) + [name]:
            for rel in dropins.get(key, []):
                chosen[posixpath.basename(rel)] = rel
        ordered_dropins = [chosen[k] for k in sorted(chosen)]
        sources += ordered_dropins
        if not sources:
            continue
        directives: list[Directive] = []
        sections: dict[str, Location] = {}
        for rel in sources:
            for section_name, where in parsed[rel].sections.items():
                sections.setdefault(section_name, where)
            for d in parsed[rel].directives:
                value = expand_specifiers(d.value, name, instance if template else None) if "%" in d.value else d.value
                text = value.raw if isinstance(value, Unknown) else value
                directives.append(Directive(d.section, d.key, text, d.location, d.value_location,
                                            d.value_lines if text == d.value else ()))
        units.append(
            Unit(name=name, path=sources[0], directory=directory, directives=directives,
                 instance=instance if template else None, dropins=ordered_dropins, sections=sections)
        )
    return units


def _is_alias(ws: Workspace, rel: str) -> bool:
    path = ws.abspath(rel)
    journal.note_probe(path, size=True)
    return path.is_symlink() or (path.is_file() and path.stat().st_size == 0)


def _wants_entries(directory: str, ws: Workspace) -> list[str]:
    base = ws.abspath(directory) if directory else ws.root
    names: list[str] = []
    journal.note_probe(base)
    if not base.is_dir():
        return names
    journal.note_listing(base)
    for child in sorted(base.iterdir()):
        if child.is_dir() and child.name.endswith((".wants", ".requires")):
            journal.note_listing(child)
            for entry in sorted(child.iterdir()):
                is_instance = "@" in entry.name and not re.search(r"@\.[a-z]+$", entry.name)
                if is_instance and entry.name.endswith(UNIT_SUFFIXES):
                    names.append(entry.name)
    return names


def _env_refs(unit: Unit, ws: Workspace, directory: str) -> list[EnvFileRef]:
    refs: list[EnvFileRef] = []
    for d in unit.values("Service", "EnvironmentFile"):
        raw = d.value.strip()
        optional = raw.startswith("-")
        path = raw[1:] if optional else raw
        refs.append(EnvFileRef(path, optional, d.location, _find_in_tree(path, directory, ws)))
    return refs


def _container_env_refs(unit: Unit, ws: Workspace, directory: str) -> list[EnvFileRef]:
    """The ``--env-file`` files of a ``docker run`` ExecStart. The docker CLI reads them from
    its working directory (WorkingDirectory=, else ``/``); it fails to start without them."""
    exec_start = unit.last("Service", "ExecStart")
    if exec_start is None:
        return []
    run = container_run(exec_words(exec_start.value, {}))
    if run is None:
        return []
    workdir = unit.last("Service", "WorkingDirectory")
    base = workdir.value.strip().lstrip("-") if workdir else "/"
    base = base if base.startswith("/") else "/"  # "~" is the user's home: not in the tree
    return [EnvFileRef(path, False, exec_start.value_location,
                       _find_in_tree(posixpath.normpath(posixpath.join(base, path)), directory, ws))
            for path in run.env_files if path]


def _find_in_tree(path: str, directory: str, ws: Workspace) -> str | None:
    """An env file path as the tree has it. Absolute paths are looked up as a filesystem laid
    out under the unit directory or any parent (``deploy/etc/bitriver/x.env``), then by file
    name beside the unit; anything else is not in the tree."""
    if "%" in path or "$" in path:
        return None
    if not path.startswith("/"):
        candidate = posixpath.normpath(posixpath.join(directory, path))
        return candidate if ws.exists(candidate) else None
    current = directory
    while True:
        candidate = posixpath.normpath(posixpath.join(current, path.lstrip("/")))
        if ws.exists(candidate):
            return candidate
        if not current:
            break
        current = posixpath.dirname(current)
    beside = posixpath.join(directory, posixpath.basename(path))
    return beside if ws.exists(beside) else None
