"""Google Cloud's VPC firewall: ``google_compute_firewall`` rules as the cloud-firewall layer.

A VPC firewall rule is not attached to a machine the way a security group is: it applies to
every instance of its network, or to those carrying one of its ``target_tags`` (network tags)
or running as one of its ``target_service_accounts``. Rules are ordered by ``priority`` (lower
wins) and a ``deny`` beats an ``allow`` of the same priority, so what an instance admits is each
allow minus the denies that outrank it, port range by port range.

The layer is ``Layer.SECURITY_GROUP``: it plays exactly the part an AWS security group plays
(the cloud's stateful filter in front of the machine's own firewall), and exposure treats that
layer as one every cloud host sits behind, so an instance without any rule is reported as
"assumed open" once, in the same words, whatever its cloud.

Google's external Application Load Balancer proxies and its health checkers connect from
``130.211.0.0/22`` and ``35.191.0.0/16``. A rule admitting those admits "the load balancer",
not the internet: clients reach the instance only through the balancer's routes, which
exposure follows separately. Such sources count as the private networks, named in the proof.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Allow, Host, UnknownRule
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.netsets import PRIVATE, CidrSet
from bitriver_lint.providers.gcp.common import network_key
from bitriver_lint.vocabulary import Layer

# https://cloud.google.com/load-balancing/docs/firewall-rules (read 2026-12): the source ranges of
# Google Front End proxies and of health checks, for external and internal Application and
# proxy Network Load Balancers.
LB_RANGES = ("130.211.0.0/22", "35.191.0.0/16")
_LB_NETS = tuple(ipaddress.ip_network(r) for r in LB_RANGES)
LB_WORDS = "Google's load-balancer proxies and health checkers (130.211.0.0/22, 35.191.0.0/16)"

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "all": "all"}
# Protocols that carry no TCP/UDP port: they open nothing the rules judge.
_PORTLESS = {"icmp", "1", "esp", "50", "ah", "51", "ipip", "4", "sctp", "132", "58", "icmpv6"}


def is_lb_range(cidr: str) -> bool:
    """Whether a source CIDR lies inside Google's load-balancer ranges."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return False
    return any(network.version == lb.version and network.subnet_of(lb) for lb in _LB_NETS)  # type: ignore[arg-type]


@dataclass
class FwEntry:
    """One ``allow`` or ``deny`` block of a rule, as a protocol and a port range."""

    rule: ResourceInstance
    location: Location  # the allow/deny block
    deny: bool
    priority: int
    protocol: str  # tcp, udp, all
    port_from: int
    port_to: int
    sources: list[str] | Unknown
    assumed: str  # sources written as something else than CIDRs, in words
    network: Any
    target_tags: list[str] | None  # None: every instance of the network
    target_accounts: list[str] | None


def _strings(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _ports(block: Body) -> list[tuple[int, int]] | Unknown:
    """``ports = ["80", "8000-8080"]`` as ranges; none written means every port."""
    written = block.arg("ports")
    if isinstance(written, Unknown):
        return written
    if not written:
        return [(0, 65535)]
    out: list[tuple[int, int]] = []
    for item in _strings(written):
        if isinstance(item, Unknown):
            return item
        text = str(item).strip()
        low, _, high = text.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return Unknown((text,), text, why="is not a port or port range")
        out.append((int(low), int(high or low)))
    return out


def _sources(rule: ResourceInstance) -> tuple[list[str] | Unknown, str, Location | None]:
    """Who the rule admits (or denies), as CIDRs; how sources not written as CIDRs were read; and
    where an unknown source is written."""
    ranges = rule.arg("source_ranges")
    tags = rule.arg("source_tags")
    accounts = rule.arg("source_service_accounts")
    for key, value in (("source_ranges", ranges), ("source_tags", tags), ("source_service_accounts", accounts)):
        found = rule.get(key)
        if isinstance(value, Unknown):
            return value, "", found.location if found else None
        bad = next((v for v in _strings(value) if isinstance(v, Unknown)), None)
        if bad is not None:
            return bad, "", found.location if found else None
    cidrs: list[str] = []
    words: list[str] = []
    if not _strings(ranges) and not _strings(tags) and not _strings(accounts):
        # Google's default for an ingress rule that names no source at all.
        return ["0.0.0.0/0"], "every source (no source_ranges, source_tags or source_service_accounts)", None
    lb = [str(c) for c in _strings(ranges) if is_lb_range(str(c))]
    cidrs.extend(str(c) for c in _strings(ranges) if not is_lb_range(str(c)))
    if lb:
        cidrs.extend(str(n) for n in PRIVATE.networks)
        words.append(LB_WORDS)
    for tag in _strings(tags):
        words.append(f"instances tagged {tag} (taken as the private networks)")
    for account in _strings(accounts):
        words.append(f"instances running as {account} (taken as the private networks)")
    if _strings(tags) or _strings(accounts):
        cidrs.extend(str(n) for n in PRIVATE.networks)
    return cidrs, "; ".join(words), None


def firewall_entries(module: TerraformModule) -> list[FwEntry]:
    """Every enabled ingress allow/deny of the module's firewall rules."""
    out: list[FwEntry] = []
    for rule in module.of_type("google_compute_firewall"):
        direction = rule.arg("direction", "INGRESS")
        if (isinstance(direction, str) and direction.upper() != "INGRESS") or rule.arg("disabled") is True:
            continue
        priority = rule.arg("priority", 1000)
        sources, assumed, unknown_where = _sources(rule)
        tags = rule.arg("target_tags")
        accounts = rule.arg("target_service_accounts")
        for block in rule.nested("allow", "deny"):
            written = block.arg("protocol")
            name = str(written).strip().lower() if isinstance(written, (str, int)) else None
            if name in _PORTLESS:
                continue
            ports = _ports(block)
            where = block.location
            ranges: list[tuple[int, int]] = [(0, 65535)] if isinstance(ports, Unknown) else ports
            entry_sources: list[str] | Unknown = ports if isinstance(ports, Unknown) else sources
            if isinstance(written, Unknown):
                entry_sources = written
            if isinstance(entry_sources, Unknown):
                # The note goes where the unknown value is written.
                found = block.get("protocol") if entry_sources is written else block.get("ports")
                where = (unknown_where if entry_sources is sources else None) or (
                    found.location if found else block.location)
            for low, high in ranges:
                out.append(FwEntry(
                    rule=rule, location=where, deny=block.type == "deny",
                    priority=priority if isinstance(priority, int) else 1000,
                    protocol=_PROTOCOLS.get(name or "", "tcp"), port_from=low, port_to=high,
                    sources=entry_sources, assumed=assumed, network=network_key(module, rule.arg("network")),
                    target_tags=[str(t) for t in _strings(tags)] if _strings(tags) else None,
                    target_accounts=[str(a) for a in _strings(accounts)] if _strings(accounts) else None))
    return out


def _applies(entry: FwEntry, tags: list[str], accounts: list[str], networks: list[Any]) -> bool:
    known = [n for n in networks if isinstance(n, str)]
    if known and len(known) == len(networks) and isinstance(entry.network, str) and entry.network not in known:
        return False
    if entry.target_tags is None and entry.target_accounts is None:
        return True
    return bool(set(entry.target_tags or []) & set(tags)) or bool(set(entry.target_accounts or []) & set(accounts))


def _overlaps(a: str, b: str) -> bool:
    return a == "all" or b == "all" or a == b


def add_firewall(ctx: BuildContext, host: Host, entries: list[FwEntry], tags: Any, accounts: Any,
                 networks: list[Any], public: bool | None, public_where: Location) -> None:
    """The host behind the firewall rules that target it, and its public address (an
    ``access_config`` block) as the public-address layer."""
    graph = ctx.graph
    host.described_layers.add(Layer.SECURITY_GROUP)
    tag_list = [str(t) for t in _strings(tags) if isinstance(t, str)]
    account_list = [str(a) for a in _strings(accounts) if isinstance(a, str)]
    mine = [e for e in entries if _applies(e, tag_list, account_list, networks)]
    denies = [e for e in mine if e.deny]
    for entry in (e for e in mine if not e.deny):
        if isinstance(entry.sources, Unknown):
            host.unknown_rules.append(UnknownRule(port_from=entry.port_from, port_to=entry.port_to,
                                                  protocol=entry.protocol,
                                                  sources=Located(entry.sources, entry.location)))
            continue
        outranking = [d for d in denies if d.priority <= entry.priority and _overlaps(d.protocol, entry.protocol)
                      and d.port_from <= entry.port_to and d.port_to >= entry.port_from]
        for low, high, cidrs, by in _minus_denies(entry, outranking):
            if not cidrs:
                continue
            note = entry.assumed
            if by:
                note = "; ".join(w for w in (note, f"less what {', '.join(by)} denies") if w)
            graph.link(host.id, host.id, Allow(location=entry.location, layer=Layer.SECURITY_GROUP, cidrs=cidrs,
                                               port_from=low, port_to=high,
                                               protocol=entry.protocol,  # type: ignore[arg-type]
                                               description=entry.rule.full_label, assumed=note))
    if public is None:
        return
    host.described_layers.add(Layer.PUBLIC_ADDRESS)
    reach = ["0.0.0.0/0", "::/0"] if public else [str(n) for n in PRIVATE.networks]
    graph.link(host.id, host.id, Allow(location=public_where, layer=Layer.PUBLIC_ADDRESS, cidrs=reach, port_from=0,
                                       port_to=65535, protocol="all",
                                       description="external IP (access_config)" if public else "no external IP"))


def _minus_denies(entry: FwEntry, denies: list[FwEntry]) -> list[tuple[int, int, list[str], list[str]]]:
    """The allow's port range cut where the denies that outrank it begin and end: each piece
    with the sources left once those denies are taken out, and the rules that took them."""
    assert isinstance(entry.sources, list)
    cuts = {entry.port_from, entry.port_to + 1}
    for deny in denies:
        cuts.update(p for p in (deny.port_from, deny.port_to + 1) if entry.port_from < p <= entry.port_to)
    bounds = sorted(cuts)
    pieces: list[tuple[int, int, list[str], list[str]]] = []
    for low, next_low in itertools.pairwise(bounds):
        high = next_low - 1
        left = CidrSet(entry.sources)
        by: list[str] = []
        for deny in denies:
            if deny.port_from <= low and high <= deny.port_to and isinstance(deny.sources, list):
                left = left.difference(CidrSet(deny.sources))
                by.append(deny.rule.full_label)
        pieces.append((low, high, [str(n) for n in left.networks], by))
    return pieces
