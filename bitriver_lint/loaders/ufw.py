"""UFW: rule commands (in shell scripts, cloud-init ``runcmd``, Ansible ``ufw`` tasks) and
UFW's own ``user.rules``/``user6.rules``, as one ``input`` chain (see ``loaders.hostfw``).

The grammar is ufw(8)'s::

    ufw [--force] [--dry-run] enable | disable | reset
    ufw default allow|deny|reject [incoming|outgoing|routed]
    ufw [rule] [insert NUM | prepend] allow|deny|reject|limit [in|out] [on IFACE] [log|log-all]
        ( PORT[/PROTO] | APP
        | [proto PROTO] [from ADDR [port PORT | app APP]] [to ADDR [port PORT | app APP]] )
        [comment TEXT]

Rules apply in the order they were added (``insert N`` puts one at position N), the first
that matches decides, and what none matches gets the ``default`` incoming policy, which is
``deny`` unless a command changes it (ufw's shipped ``DEFAULT_INPUT_POLICY="DROP"``). ``limit``
allows (rate-limited); ``reject`` denies. ``route`` rules and outgoing rules decide nothing
for inbound connections to the host. A script's rules count only when it runs ``ufw enable``
(otherwise we cannot tell whether ufw is on, and say so); ``user.rules`` is ufw's own state,
so it counts as written.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from bitriver_lint.config import Config
from bitriver_lint.loaders.hostfw import (
    ANYWHERE,
    LOOPBACK_SOURCES,
    MAX_RULES,
    Chain,
    Firewall,
    Protocol,
    Rule,
    cidr,
    port_range,
)
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_documents
from bitriver_lint.model import Diagnostic, Location, Unknown
from bitriver_lint.workspace import FileProblem, Workspace

CHAIN = "ufw-user-input"

# A ufw command on a line of shell or cloud-config: after the start, a separator or "sudo".
_COMMAND = re.compile(r"(?:^|[\s;&|(`'\"\[,])(?:sudo\s+(?:-\S+\s+)*)?(?:/usr/s?bin/)?(ufw)(?=[\s'\",\]])")
_END = re.compile(r"\s*(?:&&|\|\||;|\||\)|`|$)")

# App profiles that packages ship in /etc/ufw/applications.d; others are unknown.
APPS: dict[str, tuple[Protocol, list[tuple[int, int]]]] = {
    "openssh": ("tcp", [(22, 22)]),
    "nginx http": ("tcp", [(80, 80)]),
    "nginx https": ("tcp", [(443, 443)]),
    "nginx full": ("tcp", [(80, 80), (443, 443)]),
    "apache": ("tcp", [(80, 80)]),
    "apache secure": ("tcp", [(443, 443)]),
    "apache full": ("tcp", [(80, 80), (443, 443)]),
}
# Service names ufw takes from /etc/services (those a streaming deployment meets), with the
# protocols netbase lists them for: ufw opens those only ("ufw allow ssh" is 22/tcp). "rtmp" is
# not among them: /etc/services has it as AppleTalk's 1/ddp, so ufw looks for an application
# profile of that name rather than opening 1935.
SERVICES: dict[str, tuple[int, Protocol]] = {
    "ssh": (22, "tcp"), "http": (80, "tcp"), "https": (443, "all"), "domain": (53, "all"),
    "smtp": (25, "tcp"), "postgresql": (5432, "tcp"),
}


@dataclass
class Command:
    """One ufw command: its words and where it is written."""

    words: list[str]
    location: Location
    text: str
    unknown: Unknown | None = None  # what makes the whole command unreadable


@dataclass
class _Op:
    kind: str  # rule, default, enable, disable, reset, unread
    rule: Rule | None = None
    position: int | None = None  # insert N (1-based)
    policy: str = ""


def parse(command: Command) -> _Op:
    """A command as what it does to the ruleset; what it cannot read is an unknown rule."""
    words = [w for w in command.words[1:] if w not in ("--force", "--dry-run", "-f")]
    if not words:
        return _Op("none")
    head = words[0].lower()
    if head in ("enable", "disable", "reset"):
        return _Op(head)
    if head == "default":
        policy = words[1].lower() if len(words) > 1 else ""
        direction = words[2].lower() if len(words) > 2 else "incoming"
        if policy in ("allow", "deny", "reject") and direction in ("incoming", "input", "in"):
            return _Op("default", policy="accept" if policy == "allow" else "drop")
        return _Op("none")
    if head in ("status", "logging", "app", "show", "reload", "version", "help", "route"):
        return _Op("none")  # nothing about inbound connections to the host (route: see docstring)
    if head == "delete":
        unknown = Unknown(("ufw delete",), command.text, why="removes a rule, which this reader does not follow")
        return _Op("rule", Rule(command.location, command.text, "accept", unknown=unknown))
    position = None
    if head == "rule":
        words = words[1:]
    if words and words[0].lower() == "insert" and len(words) > 1:
        position = int(words[1]) if words[1].isascii() and words[1].isdigit() and len(words[1]) < 6 else None
        words = words[2:]
    elif words and words[0].lower() == "prepend":
        position, words = 1, words[1:]
    rule = rule_of(words, command.location, command.text)
    if rule is None:
        return _Op("none")
    if command.unknown is not None:
        rule.unknown = command.unknown
    return _Op("rule", rule, position)


def rule_of(words: list[str], location: Location, text: str) -> Rule | None:
    """``allow|deny|reject|limit ...`` as a rule; None when it is not about inbound traffic."""
    if not words or words[0].lower() not in ("allow", "deny", "reject", "limit"):
        return None
    verdict = "drop" if words[0].lower() in ("deny", "reject") else "accept"
    rest = words[1:]
    if rest and rest[0].lower() == "out":
        return None
    if rest and rest[0].lower() == "in":
        rest = rest[1:]
    rule = Rule(location, text, verdict)  # type: ignore[arg-type]
    if len(rest) >= 2 and rest[0].lower() == "on":
        if rest[1] in ("lo", "lo+"):
            rule.sources = list(LOOPBACK_SOURCES)
        else:
            rule.unknown = Unknown((f"interface {rest[1]}",), text,
                                   why="is an interface whose addresses the files do not give")
        rest = rest[2:]
    if rest and rest[0].lower() in ("log", "log-all"):
        rest = rest[1:]
    if "comment" in [w.lower() for w in rest]:
        rest = rest[:[w.lower() for w in rest].index("comment")]
    if len(rest) == 1 and rest[0].lower() not in ("proto", "from", "to"):
        _simple(rule, rest[0], text)
        return rule
    _extended(rule, rest, text)
    return rule


def _unknown(rule: Rule, what: str, text: str, why: str) -> None:
    if rule.unknown is None:
        rule.unknown = Unknown((what,), text, why=why)


def _ports(rule: Rule, spec: str, text: str) -> None:
    """``22``, ``80,443``, ``6000:6007`` or a service name, with an optional ``/proto``."""
    port_text, _, proto = spec.partition("/")
    if proto:
        if proto.lower() in ("tcp", "udp"):
            rule.protocol = proto.lower()  # type: ignore[assignment]
        else:
            _unknown(rule, f"protocol {proto}", text, why="is not a protocol ufw takes for ports")
            return
    ranges: list[tuple[int, int]] = []
    named: set[Protocol] = set()
    for part in port_text.split(","):
        found = port_range(part)
        if found is None and part.lower() in SERVICES:
            port, protocol = SERVICES[part.lower()]
            found = (port, port)
            named.add(protocol)
        if found is None:
            _unknown(rule, f"port {part}", text, why="is not a port or a service name we know")
            return
        ranges.append(found)
    rule.ports = ranges
    if not proto and rule.protocol == "all" and len(named) == 1 and len(ranges) == 1:
        rule.protocol = named.pop()  # a service name alone: the protocols /etc/services gives it


def _app(rule: Rule, name: str, text: str) -> None:
    known = APPS.get(name.lower())
    if known is None:
        _unknown(rule, f"app profile {name}", text,
                 why="is a ufw application profile whose ports the tree does not define")
        return
    rule.protocol, rule.ports = known[0], list(known[1])


def _simple(rule: Rule, spec: str, text: str) -> None:
    if spec[:1].isdigit() or "/" in spec or spec.lower() in SERVICES:
        _ports(rule, spec, text)
    else:
        _app(rule, spec, text)


def _address(rule: Rule, word: str, text: str) -> list[str] | None:
    if word.lower() == "any":
        return None
    found = cidr(word)
    if found is None:
        _unknown(rule, f"address {word}", text, why="is not an address or network")
        return None
    return [found]


def _extended(rule: Rule, words: list[str], text: str) -> None:
    index = 0
    while index < len(words):
        word = words[index].lower()
        value = words[index + 1] if index + 1 < len(words) else None
        if value is None:
            _unknown(rule, f"'{words[index]}'", text, why="has no value")
            return
        if word == "proto":
            if value.lower() in ("tcp", "udp"):
                rule.protocol = value.lower()  # type: ignore[assignment]
            elif value.lower() not in ("any", "all"):
                rule.verdict = "skip"  # esp, ah, gre...: no TCP or UDP port
                return
            index += 2
        elif word == "from":
            sources = _address(rule, value, text)
            if sources is not None:
                rule.sources = sources if rule.sources is None else rule.sources
            index += 2
            if index + 1 < len(words) and words[index].lower() in ("port", "app"):
                if rule.verdict == "drop":
                    rule.inert = True  # the client picks its source port: a deny on it stops nobody
                index += 2  # an allow on a source port: the client can choose it, so anyone
        elif word == "to":
            index += 2  # the host's own address: which interface does not narrow who reaches it
            if index + 1 < len(words) and words[index].lower() == "port":
                _ports(rule, words[index + 1], text)
                index += 2
            elif index + 1 < len(words) and words[index].lower() == "app":
                _app(rule, words[index + 1], text)
                index += 2
        elif word == "port":  # "ufw allow port 22" is not ufw's grammar, but ufw reads it so
            _ports(rule, value, text)
            index += 2
        else:
            _unknown(rule, f"'{words[index]}'", text, why="is not part of ufw's rule grammar")
            return


def build(path: str, commands: list[Command], location: Location, needs_enable: bool = True) -> Firewall:
    """The firewall a sequence of ufw commands leaves behind."""
    chain = Chain(CHAIN, "input", location, policy="drop", policy_text="ufw's default: deny incoming")
    firewall = Firewall(path, "ufw", location, [chain], files=[path])
    enabled: Location | None = None
    cut: Location | None = None
    rules: list[Rule] = []
    for command in commands:
        op = parse(command)
        if op.kind == "rule" and op.rule is not None:
            if len(rules) >= MAX_RULES:
                firewall.diagnostics.append(Diagnostic(
                    "BRL001", f"more than {MAX_RULES} ufw rules: the rest are not read", command.location))
                cut = command.location
                break
            if op.position is not None and 0 < op.position <= len(rules):
                rules.insert(op.position - 1, op.rule)
            else:
                rules.append(op.rule)
        elif op.kind == "default":
            chain.policy = op.policy  # type: ignore[assignment]
            chain.policy_location = command.location
            chain.policy_text = command.text
        elif op.kind == "enable":
            enabled = command.location
        elif op.kind == "disable":
            enabled = None
        elif op.kind == "reset":
            rules.clear()
    chain.rules = rules
    if cut is not None:
        firewall.truncated(cut)
    if enabled is not None:
        firewall.location = chain.location = enabled
    elif needs_enable:
        firewall.active = False
        if rules or chain.policy_location:
            first = rules[0].location if rules else chain.policy_location or location
            firewall.diagnostics.append(Diagnostic(
                "BRL002", "this file writes ufw rules but never runs 'ufw enable', so whether ufw is on "
                "(and its rules apply) is unknown; they are not counted as a host firewall", first))
    return firewall


# -- where ufw commands are written ----------------------------------------------------------------

def shell_commands(text: str, path: str, line_offset: int = 0,
                   located: Any = None) -> list[Command]:
    """The ufw commands on the lines of a shell script or cloud-config (``runcmd`` entries as
    strings or as ``[ufw, allow, "22"]`` lists). ``located(index, column)`` maps a line of
    ``text`` to where it is written, for text taken from elsewhere (Terraform user data)."""
    found: list[Command] = []
    lines = text.splitlines()
    variables: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        assignment = _ASSIGN.match(stripped)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2).strip("'\"")
        if stripped.startswith("#") or "ufw" not in line:
            continue
        for match in _COMMAND.finditer(line):
            start = match.start(1)
            if _printed(line[:start]):
                continue
            rest = line[start:]
            words = _words(rest)
            if words is None or len(words) < 2:
                continue
            words = [_expand(w, variables) for w in words]
            column = start + 1
            where = located(index, column) if located else Location(path, line_offset + index + 1, column)
            found.append(Command(words, where, " ".join(words)[:120]))
    return found


# Commands that print their arguments: ``echo "ufw allow HTTP/HTTPS"`` says what the script is
# about to do (a progress line before the real command), it changes no rule.
_PRINTERS = frozenset({"echo", "printf", "logger"})
_SEGMENT = re.compile(r"(?:&&|\|\||[;&|(`])")


def _printed(before: str) -> bool:
    """Whether the ufw word after ``before`` (the line up to it) is text a printing command
    takes as its argument rather than a command of its own."""
    words = _SEGMENT.split(before)[-1].split()
    while words and (words[0] == "sudo" or words[0].startswith("-") or "=" in words[0]):
        words = words[1:]
    return bool(words) and words[0].rsplit("/", 1)[-1] in _PRINTERS


# A plain shell assignment (``OFFICE=203.0.113.0/24``): later ``$OFFICE`` is that value.
_ASSIGN = re.compile(r"^(?:export\s+|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)="
                     r"(\"[^\"$`]*\"|'[^']*'|[^\s$`;&|]+)\s*(?:#.*)?$")
_REDIRECT = re.compile(r"^\d*[<>]")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _expand(word: str, variables: dict[str, str]) -> str:
    """``$NAME``/``${NAME}`` set earlier in the script; others stay as written (and so unknown)."""
    if "$" not in word:
        return word
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), word)


def _words(rest: str) -> list[str] | None:
    """The words of one command, up to the end of it (``&&``, ``;``, a comment, a list's end)."""
    bracket = re.match(r"ufw\s*['\"]?\s*,", rest)
    if bracket:  # cloud-init's list form: [ufw, allow, "22/tcp"]
        body = rest.split("]", 1)[0]
        return [w.strip().strip("'\"") for w in body.split(",") if w.strip()]
    try:
        lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|()`")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            # A command ends at a control operator or a redirection (`> /dev/null 2>&1`).
            if token and (set(token) <= set(";&|()`") or _REDIRECT.match(token)):
                break
            words.append(token)
            if len(words) > 40:
                break
    except ValueError:  # an unbalanced quote: the words up to it
        words = rest.replace("'", " ").replace('"', " ").split()[:40]
    return [w for w in words if w]


def _ansible(path: str, data: Any, found: list[Command]) -> None:
    """Ansible ``ufw``/``community.general.ufw`` tasks, as the commands they stand for."""
    stack = [data]
    seen = 0
    while stack and seen < 10_000:
        node = stack.pop()
        seen += 1
        if isinstance(node, LList):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, LDict):
            continue
        for key in ("community.general.ufw", "ufw"):
            params = node.get(key)
            if not isinstance(params, LDict):
                continue
            items = _loop_items(node)
            commands = ([_task(path, params, node.key_loc(key), "loop" in node or "with_items" in node)]
                        if items is None  # one rule per item, located at the item:
                        else [_task(path, params, where, False, item) for item, where in items])
            found.extend(command for command in commands if command is not None)
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if isinstance(node.get(key), LList):
                stack.append(node[key])


_ITEM = re.compile(r"\{\{\s*item\s*\}\}")
_MAX_ITEMS = 100


def _loop_items(task: LDict) -> list[tuple[str, Location]] | None:
    """The items of a task's ``loop``/``with_items`` when it is a written list of plain values
    (ports, addresses), each with where it is written; None for any other loop (a variable,
    dicts, a lookup), whose values cannot be told here."""
    for key in ("loop", "with_items"):
        items = task.get(key)
        if items is None:
            continue
        if not isinstance(items, LList) or len(items) > _MAX_ITEMS or not all(
                isinstance(i, (str, int)) and not isinstance(i, bool) and "{{" not in str(i) for i in items):
            return None
        return [(str(item), items.item_loc(index)) for index, item in enumerate(items)]
    return None


def _task(path: str, params: LDict, where: Location, looped: bool, item: str | None = None) -> Command | None:
    def text(key: str) -> str | None:
        value = params.get(key)
        if value is None:
            return None
        return _ITEM.sub(item, str(value)) if item is not None else str(value)

    words = ["ufw"]
    state = text("state")
    if state in ("enabled", "reloaded"):
        return Command(["ufw", "enable"], where, "ufw: state=enabled")
    if state in ("disabled", "reset"):
        return Command(["ufw", "disable" if state == "disabled" else "reset"], where, f"ufw: state={state}")
    if text("policy") is not None and text("rule") is None:
        direction = text("direction") or "incoming"
        return Command(["ufw", "default", text("policy") or "", direction], where,
                       f"ufw: policy={text('policy')} direction={direction}")
    rule = text("rule")
    if rule is None:
        return None
    if text("delete") in ("true", "True", "yes"):
        words.append("delete")
    if text("insert") is not None:
        words += ["insert", text("insert") or ""]
    words.append(rule)
    if text("direction") in ("in", "out", "incoming", "outgoing"):
        words.append("out" if (text("direction") or "").startswith("out") else "in")
    if text("interface") or text("interface_in"):
        words += ["on", text("interface") or text("interface_in") or ""]
    proto = text("proto") or text("protocol")
    if proto and proto != "any":
        words += ["proto", proto]
    words += ["from", text("from_ip") or text("src") or "any"]
    words += ["to", text("to_ip") or text("dest") or "any"]
    if text("to_port") or text("port"):
        words += ["port", text("to_port") or text("port") or ""]
    elif text("name"):
        words += ["app", text("name") or ""]
    shown = " ".join(f"{k}={params[k]}" for k in params if k in ("rule", "port", "to_port", "proto", "from_ip",
                                                                     "src", "name", "direction"))
    command = Command(words, where, f"ufw: {shown}"[:120])
    if looped or "{{" in " ".join(words):
        # The values come from a loop or a template: which ports, nobody can tell here.
        command.unknown = Unknown(("the ufw task's values",), command.text,
                                  why="come from an Ansible loop or template")
    return command


# -- user.rules ------------------------------------------------------------------------------------

_TUPLE = re.compile(r"^###\s+tuple\s+###\s+(.*)$")


def user_rules(path: str, text: str) -> list[Command]:
    """``### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in`` lines, which ufw writes for
    every rule (action, protocol, destination port and address, source port and address, and
    app names when the rule names a profile, then the direction)."""
    found: list[Command] = []
    for index, line in enumerate(text.splitlines()):
        match = _TUPLE.match(line.strip())
        if not match:
            continue
        fields = match.group(1).split()
        comment = [f for f in fields if f.startswith("comment=")]
        fields = [f for f in fields if not f.startswith("comment=")]
        column = line.index("###") + 1
        where = Location(path, index + 1, column)
        if len(fields) not in (7, 9):
            found.append(Command(["ufw", fields[0] if fields else "allow", "on", "?"], where, line.strip()[:120]))
            continue
        action, proto, dport, _dst, _sport, src = fields[:6]
        direction = fields[-1]
        words = ["ufw", action.split("_")[0], "out" if direction.startswith("out") else "in"]
        if "_" in direction:
            words += ["on", direction.split("_", 1)[1]]
        if proto != "any":
            words += ["proto", proto]
        words += ["from", "any" if src in ANYWHERE else src, "to", "any"]
        if len(fields) == 9 and fields[6] != "-":
            words += ["app", fields[6].replace("%20", " ")]
        elif dport != "any":
            words += ["port", dport]
        del comment
        found.append(Command(words, where, line.strip()[:120]))
    return found


# -- the loader ------------------------------------------------------------------------------------

_CLOUD = re.compile(r"^#cloud-config", re.MULTILINE)
_ANSIBLE = re.compile(r"^\s*(-\s+)?(community\.general\.)?ufw\s*:", re.MULTILINE)


def load(files: list[str], ws: Workspace, config: Config) -> list[Firewall]:
    del config
    out: list[Firewall] = []
    for rel in files:
        start = Location(rel, 1, 1)
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            broken = Firewall(rel, "ufw", start, active=False, files=[rel])
            broken.diagnostics.append(exc.diagnostic(rel))
            out.append(broken)
            continue
        name = rel.rsplit("/", 1)[-1].lower()
        if name in ("user.rules", "user6.rules"):
            out.append(build(rel, user_rules(rel, text), start, needs_enable=False))
            continue
        if name.endswith((".yml", ".yaml")) and not _CLOUD.search(text[:200]) and _ANSIBLE.search(text):
            commands: list[Command] = []
            try:
                for doc in load_documents(text, rel):
                    _ansible(rel, doc, commands)
            except YamlError as exc:
                broken = Firewall(rel, "ufw", start, active=False, files=[rel])
                broken.diagnostics.append(exc.diagnostic(rel))
                out.append(broken)
                continue
            # A playbook's rules are applied to a host where ufw may already be on.
            out.append(build(rel, commands, start, needs_enable=True))
            continue
        out.append(build(rel, shell_commands(text, rel), start))
    return out
