"""iptables: ``iptables-save`` output, as ``/etc/iptables/rules.v4``/``rules.v6`` keep it.

Of the ``filter`` table, ``INPUT`` guards the host's own processes and ``DOCKER-USER`` the
ports Docker publishes (Docker jumps to it first from ``FORWARD``, before its own ``DOCKER``
chains accept the published port; a ``RETURN`` from it hands the packet back to them). Rules a
team adds to ``FORWARD`` come after Docker's jumps and so do not guard published ports.
``PREROUTING`` of ``raw`` and ``mangle`` runs before Docker's DNAT and sees every packet.
Other chains are reached by ``-j``/``-g`` only. See ``loaders.hostfw`` for the model.
"""

from __future__ import annotations

import re
import shlex

from bitriver_lint.config import Config
from bitriver_lint.loaders.hostfw import (
    ANYWHERE,
    LOOPBACK_SOURCES,
    MAX_RULES,
    Chain,
    Firewall,
    Hook,
    Rule,
    cidr,
    port_range,
)
from bitriver_lint.model import Diagnostic, Location, Unknown
from bitriver_lint.netsets import CidrSet
from bitriver_lint.workspace import FileProblem, Workspace

_BASE: dict[tuple[str, str], Hook] = {
    ("filter", "INPUT"): "input",
    ("filter", "DOCKER-USER"): "forward",
    ("raw", "PREROUTING"): "prerouting",
    ("mangle", "PREROUTING"): "prerouting",
}
_CHAIN_LINE = re.compile(r"^:(\S+)\s+(\S+)")
# ``iptables-save -c`` writes each rule's packet and byte counters in front of it; restore -c
# reads them back. They say nothing about what the rule admits.
_COUNTERS = re.compile(r"^\[\d+:\d+\]\s+")
_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "all": "all", "0": "all"}
# Matches that decide nothing about which new connections get in: ignored.
_NEUTRAL_MODULES = {"comment", "tcp", "udp", "multiport", "conntrack", "state", "addrtype", "limit", "hashlimit",
                    "recent", "connlimit", "set", "mark", "connmark", "pkttype", "icmp", "icmp6", "physdev"}


def _complement(cidrs: list[str], family: str) -> list[str]:
    everyone = CidrSet(["0.0.0.0/0"] if family == "ipv4" else ["::/0"] if family == "ipv6" else list(ANYWHERE))
    return [str(n) for n in everyone.difference(CidrSet(cidrs)).networks]


def parse_rule(words: list[str], where: Location, text: str, family: str) -> Rule:
    """One ``-A CHAIN ...`` line (without ``-A CHAIN``) as a rule."""
    rule = Rule(where, text, "skip")
    conditional = False  # a match we cannot judge that only narrows which packets it takes
    negate = False
    index = 0
    modules: set[str] = set()

    def value() -> str:
        return words[index + 1] if index + 1 < len(words) else ""

    while index < len(words):
        word = words[index]
        if word == "!":
            negate = True
            index += 1
            continue
        step = 2
        if word in ("-p", "--protocol"):
            proto = _PROTOCOLS.get(value().lower())
            if proto is None or negate:
                rule.verdict = "skip"
                return rule  # ICMP, ESP... or "not tcp": no port of ours
            rule.protocol = proto  # type: ignore[assignment]
        elif word in ("-s", "--source", "--src"):
            found = [cidr(part) for part in value().split(",")]
            if any(f is None for f in found):
                rule.unknown = Unknown((f"source {value()}",), text, why="is not an address or network")
            else:
                sources = [f for f in found if f is not None]
                rule.sources = _complement(sources, family) if negate else sources
        elif word in ("-i", "--in-interface"):
            if value() in ("lo", "lo+") and not negate:
                rule.sources = list(LOOPBACK_SOURCES)
            else:
                if rule.unknown is None:
                    rule.unknown = Unknown((f"interface {'! ' if negate else ''}{value()}",), text,
                                           why="is an interface whose addresses the files do not give")
        elif word in ("-o", "--out-interface", "--sport", "--source-port", "--sports", "--source-ports",
                      "--ctorigsrcport"):
            rule.inert = True  # new inbound connections: chosen by the client or not ours
        elif word in ("--dport", "--destination-port", "--dports", "--destination-ports", "--ctorigdstport"):
            ranges = [port_range(part) for part in value().split(",")]
            if any(r is None for r in ranges) or negate:
                rule.unknown = rule.unknown or Unknown((f"ports {value()}",), text,
                                                       why="are not ports this reader follows")
            else:
                rule.ports = [r for r in ranges if r is not None]
        elif word in ("--ctstate", "--state"):
            states = {s.upper() for s in value().split(",")}
            if negate or "NEW" not in states:
                rule.inert = True  # established/related/invalid: not a new connection
        elif word in ("-m", "--match"):
            modules.add(value())
            if value() not in _NEUTRAL_MODULES:
                conditional = True
        elif word == "--match-set":
            conditional = True
            rule.unknown = rule.unknown or Unknown((f"ipset {value()}",), text,
                                                   why="is an ipset whose members the files do not give")
            step = 3
        elif word in ("-j", "--jump", "-g", "--goto"):
            target = value()
            if target == "ACCEPT":
                rule.verdict = "accept"
            elif target in ("DROP", "REJECT"):
                rule.verdict = "drop"
            elif target == "RETURN":
                rule.verdict = "return"
            elif target in ("LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "NOTRACK", "TRACE", "AUDIT"):
                rule.verdict = "skip"
                return rule  # goes on to the next rule
            elif target in ("DNAT", "SNAT", "MASQUERADE", "REDIRECT", "TPROXY", "NFQUEUE", "QUEUE"):
                rule.verdict = "skip"
                return rule
            else:
                rule.verdict, rule.target = "jump", target
        elif word in ("--limit", "--limit-burst", "--hitcount", "--seconds", "--name", "--connlimit-above",
                      "--hashlimit", "--hashlimit-name", "--hashlimit-mode", "--hashlimit-above", "--hashlimit-upto"):
            conditional = True
        elif word in ("--set", "--update", "--rcheck", "--remove", "--rsource", "--rdest"):
            conditional = True
            step = 1
        elif word in ("-d", "--destination", "--dst", "--comment", "--dst-type", "--src-type", "--tcp-flags",
                      "--icmp-type", "--icmpv6-type", "--syn", "--mark", "--pkt-type", "--reject-with",
                      "--log-prefix", "--log-level", "--to-destination", "--to-ports", "--set-mark"):
            step = 1 if word == "--syn" else (3 if word == "--tcp-flags" else 2)
        else:
            step = 1  # an option we do not know: it narrows which packets the rule takes, at most
            conditional = conditional or word.startswith("-")
        negate = False
        index += step
    if rule.verdict == "drop" and conditional:
        # A drop that only some packets meet (a rate limit, an ipset of offenders): the others
        # go on, so it is not counted as stopping anyone.
        rule.inert = True
    elif conditional and rule.unknown is None and rule.verdict in ("accept", "jump", "return"):
        rule.unknown = Unknown((f"match in '{text[:60]}'",), text, why="is a condition this reader cannot judge")
    return rule


def parse(path: str, text: str, family: str) -> Firewall:
    firewall = Firewall(path, "iptables", Location(path, 1, 1), files=[path])
    table = ""
    chains: dict[tuple[str, str], Chain] = {}
    count = 0
    for index, line in enumerate(text.splitlines()):
        stripped = line.strip()
        where = Location(path, index + 1, len(line) - len(line.lstrip()) + 1)
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("*"):
            table = stripped[1:].strip()
            continue
        if stripped == "COMMIT":
            table = ""
            continue
        match = _CHAIN_LINE.match(stripped)
        if match:
            name, policy = match.group(1), match.group(2).upper()
            hook = _BASE.get((table, name))
            chain = Chain(name, hook, where, family=family)  # type: ignore[arg-type]
            if hook == "forward":
                chain.policy_text = "the end of DOCKER-USER: Docker's own chains accept the published port"
            elif policy in ("ACCEPT", "DROP"):
                chain.policy = "accept" if policy == "ACCEPT" else "drop"
                chain.policy_location = where
                chain.policy_text = f":{name} {policy}"
            chains[(table, name)] = chain
            continue
        counters = _COUNTERS.match(stripped)
        if counters:
            stripped = stripped[counters.end():]
            where = Location(path, where.line, where.column + counters.end())
        if not stripped.startswith(("-A ", "-I ", "--append ", "--insert ")):
            firewall.diagnostics.append(Diagnostic("BRL001", f"not an iptables-save line: {stripped[:60]!r}", where))
            continue
        try:
            words = shlex.split(stripped, comments=False)
        except ValueError:
            words = stripped.split()
        if len(words) < 2:
            continue
        name = words[1]
        target = chains.get((table, name))
        if target is None:
            target = chains[(table, name)] = Chain(name, _BASE.get((table, name)), where,
                                                   family=family)  # type: ignore[arg-type]
        position = None
        rest = words[2:]
        if words[0] in ("-I", "--insert"):
            if rest and rest[0].isascii() and rest[0].isdigit() and len(rest[0]) < 6:
                position, rest = int(rest[0]), rest[1:]
            else:
                position = 1
        count += 1
        if count > MAX_RULES:
            firewall.diagnostics.append(Diagnostic("BRL001", f"more than {MAX_RULES} rules: the rest are not read",
                                                   where))
            firewall.chains = list(chains.values())
            firewall.truncated(where)
            return firewall
        rule = parse_rule(rest, where, stripped[:120], family)
        if position is not None and 0 < position <= len(target.rules):
            target.rules.insert(position - 1, rule)
        else:
            target.rules.append(rule)
    firewall.chains = list(chains.values())
    return firewall


_SAVE = re.compile(r"^\*(filter|nat|raw|mangle|security)\s*$", re.MULTILINE)
_RULE = re.compile(r"^(:[A-Z][\w-]*\s+(ACCEPT|DROP|-)\s|-A\s+\S+)", re.MULTILINE)


def looks_like(head: str) -> bool:
    return bool(_SAVE.search(head)) and bool(_RULE.search(head))


def family_of(rel: str, text: str) -> str:
    name = rel.rsplit("/", 1)[-1].lower()
    if name.endswith(".v6") or "ip6" in name or "ipv6" in name:
        return "ipv6"
    if name.endswith(".v4") or "ipv4" in name:
        return "ipv4"
    # Either: an address written in it says which.
    return "ipv6" if re.search(r"\s-s\s+[0-9a-fA-F]*:[0-9a-fA-F:]*(/\d+)?\s", text) else "ipv4"


def load(files: list[str], ws: Workspace, config: Config) -> list[Firewall]:
    del config
    out: list[Firewall] = []
    for rel in files:
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            broken = Firewall(rel, "iptables", Location(rel, 1, 1), active=False, files=[rel])
            broken.diagnostics.append(exc.diagnostic(rel))
            out.append(broken)
            continue
        out.append(parse(rel, text, family_of(rel, text)))
    return out
