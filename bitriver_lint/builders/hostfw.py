"""Host firewalls (UFW, nftables, iptables) into the graph: the host firewall layer.

Each firewall belongs to a machine: the one the tree describes (single node: every compose
project and systemd directory at or below the firewall's directory shares it), or, for rules in
user data, the instance that runs them (``providers.aws.compute``). Where no machine can be
told, a BRL002 note says so and the rules are not counted; so too for iptables rulesets of one
address family that would share machines, since each replaces the other when loaded.

The chains are evaluated first-match, port range by port range, for each kind of traffic the
host sees (``loaders.hostfw``): ``input`` (the host's own processes) and ``forward`` (ports
Docker publishes). What each path lets through becomes ``allows`` edges of the host firewall
layer carrying that path; rules that stop a port are kept as ``Block``s, so a finding can say
when one does not apply because Docker publishes around it. Every chain on a path must let a
packet through, so several firewalls on one host (rules.v4 and rules.v6, or UFW beside an nft
table) narrow each other.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import posixpath
from dataclasses import dataclass, field
from typing import Any

from bitriver_lint.builders import terraform_userdata as userdata
from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Allow, Block, FirewallPath, Host, Publish, ServiceGraph, UnknownRule
from bitriver_lint.loaders import ufw
from bitriver_lint.loaders.hostfw import MAX_JUMP_DEPTH, Chain, Firewall, Rule
from bitriver_lint.loaders.terraform_document import FileText
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.netsets import CidrSet
from bitriver_lint.vocabulary import HostKind, Layer

_V6 = 1 << 32  # IPv6 addresses follow IPv4's on one number line, so one list of spans holds both
_LAST = _V6 + (1 << 128) - 1


class Ranges:
    """Addresses as sorted, disjoint spans of integers: the evaluator's sets. A blocklist of a
    few hundred /32s splits "anywhere" into thousands of CIDRs, where ``CidrSet``'s pairwise
    operations are quadratic; over spans every operation is one merge."""

    __slots__ = ("_cidrs", "spans")

    def __init__(self, spans: list[tuple[int, int]], ordered: bool = False) -> None:
        merged: list[tuple[int, int]] = []
        for low, high in spans if ordered else sorted(spans):
            if merged and low <= merged[-1][1] + 1 and (low >= _V6) == (merged[-1][0] >= _V6):
                merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
            else:
                merged.append((low, high))
        self.spans = tuple(merged)
        self._cidrs: tuple[str, ...] | None = None

    @classmethod
    def of(cls, cidrs: list[str] | tuple[str, ...]) -> Ranges:
        spans = []
        for text in cidrs:
            net = ipaddress.ip_network(text, strict=False)
            low = int(net.network_address) + (_V6 if net.version == 6 else 0)
            spans.append((low, low + net.num_addresses - 1))
        return cls(spans)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ranges) and self.spans == other.spans

    def __hash__(self) -> int:
        return hash(self.spans)

    def union(self, other: Ranges) -> Ranges:
        return Ranges([*self.spans, *other.spans])

    def intersection(self, other: Ranges) -> Ranges:
        out: list[tuple[int, int]] = []
        i = j = 0
        while i < len(self.spans) and j < len(other.spans):
            low = max(self.spans[i][0], other.spans[j][0])
            high = min(self.spans[i][1], other.spans[j][1])
            if low <= high:
                out.append((low, high))
            if self.spans[i][1] < other.spans[j][1]:
                i += 1
            else:
                j += 1
        return Ranges(out, ordered=True)

    def difference(self, other: Ranges) -> Ranges:
        if len(other.spans) == 1:  # one rule's source, against a set a blocklist has split up
            low, high = other.spans[0]
            start = bisect.bisect_left(self.spans, (low, -1))
            if start and self.spans[start - 1][1] >= low:
                start -= 1
            end = bisect.bisect_right(self.spans, (high, _LAST + 1))
            middle: list[tuple[int, int]] = []
            for a, b in self.spans[start:end]:
                if a < low:
                    middle.append((a, min(b, low - 1)))
                if b > high:
                    middle.append((max(a, high + 1), b))
            found = Ranges([], ordered=True)
            found.spans = self.spans[:start] + tuple(middle) + self.spans[end:]
            return found
        out: list[tuple[int, int]] = []
        j = 0
        for low, high in self.spans:
            while j < len(other.spans) and other.spans[j][1] < low:
                j += 1
            k = j
            while k < len(other.spans) and other.spans[k][0] <= high:
                if other.spans[k][0] > low:
                    out.append((low, other.spans[k][0] - 1))
                low = max(low, other.spans[k][1] + 1)
                k += 1
            if low <= high:
                out.append((low, high))
        return Ranges(out, ordered=True)

    def cidrs(self) -> tuple[str, ...]:
        if self._cidrs is None:
            self._cidrs = _CIDRS.get(self.spans)
        if self._cidrs is None:
            found: list[str] = []
            for low, high in self.spans:
                if low >= _V6:
                    found.extend(str(n) for n in ipaddress.summarize_address_range(
                        ipaddress.IPv6Address(low - _V6), ipaddress.IPv6Address(high - _V6)))
                else:
                    found.extend(str(n) for n in ipaddress.summarize_address_range(
                        ipaddress.IPv4Address(low), ipaddress.IPv4Address(high)))
            self._cidrs = tuple(found)
            if len(_CIDRS) > 4096:
                _CIDRS.clear()
            _CIDRS[self.spans] = self._cidrs  # port ranges of one firewall ask for the same sets
        return self._cidrs


_CIDRS: dict[tuple[tuple[int, int], ...], tuple[str, ...]] = {}


ANY = Ranges([(0, _V6 - 1), (_V6, _LAST)])
EMPTY = Ranges([])
_FAMILIES = {"ipv4": Ranges([(0, _V6 - 1)]), "ipv6": Ranges([(_V6, _LAST)]), "all": ANY}
# Which chains each path goes through.
_HOOKS: dict[FirewallPath, tuple[str, ...]] = {"input": ("input", "prerouting"), "forward": ("forward", "prerouting")}


def nodes(docs: list[Firewall], ctx: BuildContext) -> None:
    del docs, ctx  # firewalls add no nodes: they narrow the hosts others build


def edges(docs: list[Firewall], ctx: BuildContext) -> None:
    by_host: dict[str, tuple[Host, list[Firewall]]] = {}
    for firewall in docs:
        if not firewall.active or not any(c.hook for c in firewall.chains) or firewall.path in ctx.user_data_files:
            continue
        hosts = machines_for(ctx, firewall.path)
        if not hosts:
            ctx.graph.notes.append(Diagnostic(
                "BRL002", f"which machine the {firewall.system} firewall in {firewall.path} guards is unknown: no "
                "compose project or systemd unit in the tree sits at or below its directory, and no instance "
                "runs it from user data, so its rules are not counted", firewall.location))
            continue
        for host in hosts:
            by_host.setdefault(host.id, (host, []))[1].append(firewall)
    noted: set[str] = set()
    for host, firewalls in by_host.values():
        rivals = _rival_rulesets(firewalls)
        for firewall in firewalls:
            if firewall.path in rivals and firewall.path not in noted:
                noted.add(firewall.path)
                ctx.graph.notes.append(Diagnostic(
                    "BRL002", f"which machine the iptables firewall in {firewall.path} guards is unknown: "
                    f"{rivals[firewall.path]} is another whole ruleset of the same address family for the same "
                    "machines, and iptables-restore loads one per machine, so its rules are not counted",
                    firewall.location))
        kept = [f for f in firewalls if f.path not in rivals]
        if kept:
            attach(ctx, host, kept)


def _rival_rulesets(firewalls: list[Firewall]) -> dict[str, str]:
    """iptables files that cannot all guard one machine: each is a whole ruleset that
    iptables-restore puts in place of the last, so two of one address family (``edge.rules.v4``
    beside ``db.rules.v4``, one per inventory host) are each some other machine's. Each maps to
    one rival it is named with, by path."""
    by_family: dict[str, list[Firewall]] = {}
    for firewall in firewalls:
        if firewall.system != "iptables":
            continue
        for family in sorted({c.family for c in firewall.chains if c.hook}):
            by_family.setdefault(family, []).append(firewall)
    rivals: dict[str, str] = {}
    for group in by_family.values():
        paths = sorted({f.path for f in group})
        if len(paths) > 1:
            for path in paths:
                rivals.setdefault(path, next(p for p in paths if p != path))
    return rivals


def from_user_data(ctx: BuildContext, host: Host, user_data: Located[Any] | None) -> None:
    """UFW commands in an instance's user data (a shell script or cloud-init ``runcmd``): the
    host firewall of that instance, located in the template file it was rendered from or in
    the heredoc of the .tf file."""
    if user_data is None or not isinstance(user_data.value, str) or "ufw" not in user_data.value:
        return
    text = user_data.value
    exact = isinstance(text, FileText) and text.exact
    path = text.path if isinstance(text, FileText) and exact else user_data.location.path
    if exact:
        ctx.user_data_files.add(path)

    def located(index: int, column: int) -> Location:
        if exact:
            return Location(path, index + 1, column)
        return userdata.locate(text, index, "ufw", user_data.location, ctx.workspace)

    commands = ufw.shell_commands(text, path, located=located)
    if not commands:
        return
    firewall = ufw.build(path, commands, user_data.location)
    ctx.graph.notes.extend(firewall.diagnostics)
    if firewall.active:
        attach(ctx, host, [firewall])


_MACHINES = (HostKind.COMPOSE_PROJECT, HostKind.SYSTEMD)


def machines_for(ctx: BuildContext, path: str) -> list[Host]:
    """The hosts a firewall file guards: the compose projects and systemd directories nearest to
    it (at or below its directory, or the nearest parent's)."""
    under = _machines_under(ctx)
    directory = posixpath.dirname(path)
    while True:
        found = under.get(directory)
        parent = posixpath.dirname(directory)
        if found or not directory or parent == directory:
            return list(found or [])
        directory = parent


def _machines_under(ctx: BuildContext) -> dict[str, list[Host]]:
    """Directory -> the compose projects and systemd directories at or below it ("" holds them
    all), each list in ``graph.hosts()`` order. Every proxy config and firewall file asks; kept
    until a machine is added (filtering every host per file made 1,000 sites quadratic)."""
    changes = ctx.graph.host_changes
    version = tuple(changes.get(kind, 0) for kind in (None, *_MACHINES))
    known, under = ctx.machines
    if known == version and under is not None:
        return under
    under = {}
    for host in ctx.graph.hosts():
        if host.host_kind not in _MACHINES:
            continue
        directory = host.directory or ""
        under.setdefault("", []).append(host)
        while directory:
            under.setdefault(directory, []).append(host)
            parent = posixpath.dirname(directory)
            directory = parent if parent != directory else ""
    ctx.machines = (version, under)
    return under


@dataclass
class _Outcome:
    """What one chain does to the new connections of one port and protocol."""

    # (rule text, where, who it admits, who it was written for)
    admitted: list[tuple[str, Location, Ranges, Ranges]] = field(default_factory=list)
    blocked: tuple[str, Location] | None = None
    unknown: tuple[Unknown, Location] | None = None
    # The other address family, which the chain does not see (rules.v4, an nft ``ip`` table).
    passed: tuple[str, Location, Ranges] | None = None
    hook: str | None = None

    def let_through(self) -> Ranges:
        found = self.passed[2] if self.passed else EMPTY
        for _, _, cidrs, _ in self.admitted:
            found = found.union(cidrs)
        return found


class _Evaluation:
    def __init__(self, firewall: Firewall, protocol: str, port: int, cache: dict[int, Ranges]) -> None:
        self.cache = cache  # each rule's sources as spans, by id(rule), shared by every port range
        self.firewall = firewall
        self.protocol = protocol
        self.port = port
        self.outcome = _Outcome()
        self.policy = "accept"
        # The packets the chain sees: a rule "for anyone" in rules.v4 was written for IPv4
        # senders, and says so, not for IPv6 ones it never meets.
        self.family = ANY

    def chain(self, chain: Chain) -> _Outcome:
        family = self.family = _FAMILIES.get(chain.family, ANY)
        outside = ANY.difference(family)
        if outside:
            self.outcome.passed = (f"{chain.name} in {self.firewall.path} does not see "
                                   f"IPv{6 if chain.family == 'ipv4' else 4} traffic", chain.location, outside)
        self.policy = chain.policy
        self.outcome.hook = chain.hook
        leftover = self.rules(chain.rules, family, 0)
        if leftover is not None and leftover:
            where = chain.policy_location or chain.location
            text = chain.policy_text or f"policy {chain.policy} of {chain.name}"
            if chain.policy == "accept":
                self.outcome.admitted.append((text, where, leftover, family))
            elif self.outcome.blocked is None:
                self.outcome.blocked = (text, where)
        return self.outcome

    def sources(self, rule: Rule) -> Ranges:
        if rule.sources is None:
            return ANY
        found = self.cache.get(id(rule))
        if found is None:
            found = self.cache[id(rule)] = Ranges.of(rule.sources)
        return found

    def _matches(self, rule: Rule) -> bool:
        if rule.inert or rule.verdict == "skip":
            return False
        if rule.protocol != "all" and rule.protocol != self.protocol:
            return False
        return rule.ports is None or any(low <= self.port <= high for low, high in rule.ports)

    def rules(self, rules: list[Rule], packets: Ranges, depth: int) -> Ranges | None:
        """The packets that fall off the end of ``rules`` (or ``return``); None once a rule we
        cannot judge is met by some of them."""
        returned = EMPTY
        for rule in rules:
            if not packets:
                break
            if not self._matches(rule):
                continue
            sources = self.sources(rule)
            hit = packets.intersection(sources)
            if not hit:
                continue
            if rule.unknown is not None:
                self.outcome.unknown = (rule.unknown, rule.location)
                return None
            packets = packets.difference(sources)
            written = sources.intersection(self.family)
            if rule.verdict == "accept":
                self.outcome.admitted.append((rule.text, rule.location, hit, written))
            elif rule.verdict == "drop":
                if self.outcome.blocked is None:
                    self.outcome.blocked = (rule.text, rule.location)
            elif rule.verdict == "return" and depth == 0:
                # Out of a base chain: the policy decides (for DOCKER-USER, Docker's own chains
                # accept the published port), so the rule that returns is what lets it through.
                if self.policy == "accept":
                    self.outcome.admitted.append((rule.text, rule.location, hit, written))
                elif self.outcome.blocked is None:
                    self.outcome.blocked = (rule.text, rule.location)
            elif rule.verdict == "return":
                returned = returned.union(hit)
            elif rule.verdict == "jump":
                target = self.firewall.chain(rule.target or "")
                if target is None or depth >= MAX_JUMP_DEPTH:
                    why = "is not defined in the file" if target is None else "is nested too deeply to follow"
                    self.outcome.unknown = (Unknown((f"chain {rule.target}",), rule.text, why=why), rule.location)
                    return None
                back = self.rules(target.rules, hit, depth + 1)
                if back is None:
                    return None
                packets = packets.union(back)
        return packets.union(returned)


def _segments(rules: list[Rule]) -> list[tuple[int, int]]:
    """Port ranges over which every rule either matches throughout or not at all."""
    cuts = {0, 65536}
    for rule in rules:
        for low, high in rule.ports or []:
            cuts.update((low, high + 1))
    edges = sorted(cuts)
    return [(a, b - 1) for a, b in itertools.pairwise(edges)]


def attach(ctx: BuildContext, host: Host, firewalls: list[Firewall]) -> None:
    """The firewalls' verdicts on ``host``, as the host firewall layer."""
    graph = ctx.graph
    for path, hooks in _HOOKS.items():
        chains = [(fw, c) for fw in firewalls for c in fw.chains if c.hook in hooks]
        if not chains:
            continue
        host.described_layers.add(Layer.HOST_FIREWALL)
        host.firewall_paths.setdefault(path, chains[0][0].location if chains[0][0].system == "ufw"
                                       else chains[0][1].location)
        every_rule = [r for fw in firewalls for c in fw.chains for r in c.rules]
        cache: dict[int, Ranges] = {}
        segments = _segments(every_rule)
        if len(segments) * max(1, len(every_rule)) > _BUDGET:
            # Too many rules and port ranges to evaluate them all (a blocklist of hundreds of
            # addresses beside hundreds of ports): the ports the host's services use are enough.
            segments = [(port, port) for port in sorted(_ports_in_use(graph, host))]
        for protocol in ("tcp", "udp"):
            # Each rule's verdict over the port ranges it decides, merged where they touch, so
            # "iif lo accept" is one edge for every port rather than one per range between rules.
            ranges: dict[tuple[object, ...], list[tuple[int, int]]] = {}
            for low, high in segments:
                outcomes = [_Evaluation(fw, protocol, low, cache).chain(chain) for fw, chain in chains]
                for item in _verdict(outcomes):
                    spans = ranges.setdefault(item, [])
                    if spans and spans[-1][1] + 1 == low:
                        spans[-1] = (spans[-1][0], high)
                    else:
                        spans.append((low, high))
            for item, spans in ranges.items():
                for low, high in spans:
                    _emit(graph, host, path, protocol, low, high, item)


# Rules times port ranges one host's firewall may cost before only the ports in use are judged.
_BUDGET = 40_000


def _ports_in_use(graph: ServiceGraph, host: Host) -> set[int]:
    """Every port a component on ``host`` listens on, and every host port published to one."""
    ports: set[int] = set()
    for component in graph.components(external=True):
        if not any(h.id == host.id for h in graph.hosts_of(component.id)):
            continue
        for listener in graph.listeners(component):
            ports.add(listener.port)
            for _, _, edge in graph.in_edges(listener.id, "publishes"):
                if isinstance(edge, Publish) and isinstance(edge.host_port, int):
                    ports.add(edge.host_port)
    return ports


def _verdict(outcomes: list[_Outcome]) -> list[tuple[object, ...]]:
    """What a port range gets through every chain, as items: ("unknown", Unknown, where), or
    ("allow", text, where, cidrs, shown) for each rule that admits someone (narrowed by the
    other chains) and ("block", text, where) for the first rule that stops someone."""
    for outcome in outcomes:
        if outcome.unknown is not None:
            return [("unknown", *outcome.unknown)]
    through = ANY
    for outcome in outcomes:
        through = through.intersection(outcome.let_through())
    items: list[tuple[object, ...]] = []
    covered = EMPTY
    for outcome in outcomes:
        for text, where, cidrs, written in outcome.admitted:
            narrowed = cidrs.intersection(through)
            if narrowed:
                items.append(("allow", text, where, narrowed.cidrs(),
                              _shown(written, narrowed)))
                covered = covered.union(narrowed)
    for outcome in outcomes:  # what no chain of its family judged: it passed the others untouched
        if outcome.passed is not None:
            narrowed = outcome.passed[2].intersection(through).difference(covered)
            if narrowed:
                items.append(("allow", outcome.passed[0], outcome.passed[1],
                              narrowed.cidrs(), ""))
                covered = covered.union(narrowed)
    # Only a block on this path's own hook can be bypassed (by Docker's DNAT); one before DNAT
    # (prerouting) sees every way in.
    blocked = next((o.blocked for o in outcomes if o.blocked is not None and o.hook != "prerouting"),
                   None) if through != ANY else None
    if blocked is not None:
        items.append(("block", *blocked))
    return items


def _shown(written: Ranges, admitted: Ranges) -> str:
    """Who a rule admits, in words, when earlier rules took part of what it was written for
    (``tcp dport 9000 accept`` after ``iif lo accept``: anywhere except loopback), which a
    list of the CIDRs left would only obscure; empty when the CIDRs say it plainly."""
    taken = written.difference(admitted)
    if not taken or len(admitted.cidrs()) <= 3:
        return ""
    others = taken.cidrs()
    except_ = CidrSet(list(others)).describe() if len(others) <= 6 else f"{len(others)} ranges earlier rules decide"
    return f"{CidrSet(list(written.cidrs())).describe()} except {except_}"


def _emit(graph: ServiceGraph, host: Host, path: FirewallPath, protocol: str, low: int, high: int,
          item: tuple[object, ...]) -> None:
    kind, *rest = item
    if kind == "unknown":
        unknown, where = rest
        assert isinstance(where, Location)
        host.unknown_rules.append(UnknownRule(port_from=low, port_to=high, protocol=protocol,
                                              sources=Located(unknown, where), path=path,
                                              layer=Layer.HOST_FIREWALL))
    elif kind == "allow":
        text, where, cidrs, shown = rest
        assert isinstance(where, Location) and isinstance(cidrs, tuple)
        graph.link(host.id, host.id, Allow(location=where, layer=Layer.HOST_FIREWALL, cidrs=list(cidrs),
                                           port_from=low, port_to=high, protocol=protocol,  # type: ignore[arg-type]
                                           description=str(text), path=path, assumed=str(shown)))
    else:
        text, where = rest
        assert isinstance(where, Location)
        host.firewall_blocks.append(Block(location=where, path=path, port_from=low, port_to=high,
                                          protocol=protocol, description=str(text)))  # type: ignore[arg-type]
