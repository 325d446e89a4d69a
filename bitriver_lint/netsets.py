"""Sets of IP ranges with the few operations exposure needs (union, intersection, difference).

Built on ``ipaddress``; IPv4 and IPv6 are kept apart because their networks never overlap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


class CidrSet:
    """An immutable, normalised set of IP networks."""

    # The hash and the description are kept once worked out: exposure keys its memo by sets and
    # describes the same few sets for thousands of findings, and hashing networks is slow.
    __slots__ = ("_described", "_hash", "_nets")

    def __init__(self, nets: Iterable[Net | str] = ()) -> None:
        given = tuple(nets)
        if given and all(isinstance(n, str) for n in given):
            # Firewall rules repeat the same few CIDR lists across a tree (every security group
            # of 1,000 sites, every shipped CDN range set): each list is parsed once.
            known = _parsed(given)
            self._nets: tuple[Net, ...] = known.networks
            self._hash: int | None = hash(known)  # worked out once per list, like the parse
            self._described: str | None = None
            return
        parsed = [ipaddress.ip_network(n, strict=False) if isinstance(n, str) else n for n in given]
        v4 = [n for n in parsed if n.version == 4]
        v6 = [n for n in parsed if n.version == 6]
        self._nets = (
            *ipaddress.collapse_addresses(v4),
            *ipaddress.collapse_addresses(v6),
        )
        self._hash = None
        self._described = None

    @property
    def networks(self) -> tuple[Net, ...]:
        return self._nets

    def __bool__(self) -> bool:
        return bool(self._nets)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CidrSet) and self._nets == other._nets

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._nets)
        return self._hash

    def __repr__(self) -> str:
        return f"CidrSet({self.describe()})"

    def describe(self) -> str:
        """For a reader: a set holding a whole address family is "the internet" over it, and the
        private ranges it also holds say nothing more."""
        if self._described is None:
            self._described = self._describe()
        return self._described

    def _describe(self) -> str:
        everyone = [str(n) for n in self._nets if n.prefixlen == 0]
        if len(everyone) == 2:
            return "anywhere (0.0.0.0/0, ::/0)"
        if everyone:
            version = 4 if everyone[0] == "0.0.0.0/0" else 6
            others = [str(n) for n in self._nets if n.version != version
                      and not (n.is_private or n.is_loopback or n.is_link_local)]
            extra = f" and {', '.join(others)}" if others else ""
            return f"anyone on the internet over IPv{version} ({everyone[0]}){extra}"
        return ", ".join(str(n) for n in self._nets) or "nowhere"

    def union(self, other: CidrSet) -> CidrSet:
        return CidrSet((*self._nets, *other._nets))

    def intersection(self, other: CidrSet) -> CidrSet:
        # Every listener behind one security group narrows the same reach by the same rules.
        key = (self, other)
        cached = _INTERSECTIONS.get(key)
        if cached is None:
            cached = _INTERSECTIONS[key] = self._intersection(other)
        return cached

    def _intersection(self, other: CidrSet) -> CidrSet:
        # Both sides are collapsed and sorted, and two networks are nested or disjoint: one
        # pass, advancing whichever ends first (a host firewall's allow-list after a blocklist
        # of /32s holds thousands of networks; pairwise comparison was quadratic).
        out: list[Net] = []
        mine, theirs = self._nets, other._nets
        i = j = 0
        while i < len(mine) and j < len(theirs):
            a, b = mine[i], theirs[j]
            if a.version != b.version:
                if a.version < b.version:
                    i += 1
                else:
                    j += 1
                continue
            if a.overlaps(b):
                out.append(a if a.prefixlen >= b.prefixlen else b)
            if int(a.broadcast_address) < int(b.broadcast_address):
                i += 1
            else:
                j += 1
        return CidrSet(out)

    def difference(self, other: CidrSet) -> CidrSet:
        # Exposure asks the same few questions (anywhere minus private...) for every port.
        key = (self, other)
        cached = _DIFFERENCES.get(key)
        if cached is None:
            cached = _DIFFERENCES[key] = self._difference(other)
        return cached

    def _difference(self, other: CidrSet) -> CidrSet:
        remaining = list(self._nets)
        for b in other._nets:
            next_round: list[Net] = []
            for a in remaining:
                if a.version != b.version or not a.overlaps(b):
                    next_round.append(a)
                elif a.subnet_of(b):  # type: ignore[arg-type]
                    continue
                else:
                    next_round.extend(a.address_exclude(b))  # type: ignore[arg-type]
            remaining = next_round
        return CidrSet(remaining)

    def issubset(self, other: CidrSet) -> bool:
        return not self.difference(other)


_DIFFERENCES: dict[tuple[CidrSet, CidrSet], CidrSet] = {}
_INTERSECTIONS: dict[tuple[CidrSet, CidrSet], CidrSet] = {}


@lru_cache(maxsize=4096)
def _parsed(texts: tuple[str, ...]) -> CidrSet:
    return CidrSet(ipaddress.ip_network(n, strict=False) for n in texts)


ANY = CidrSet(["0.0.0.0/0", "::/0"])
ANY_V4 = CidrSet(["0.0.0.0/0"])
LOOPBACK = CidrSet(["127.0.0.0/8", "::1/128"])
PRIVATE = CidrSet(
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT, used by VPN overlays
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    ]
)
EMPTY = CidrSet()


def bind_reach(address: str) -> CidrSet:
    """Who can reach a socket bound to ``address`` (before any firewall)."""
    addr = address.strip("[]")
    if addr in ("", "*", "0.0.0.0"):
        return ANY_V4 if addr == "0.0.0.0" else ANY
    if addr == "::":
        return ANY
    if addr == "localhost":
        return LOOPBACK
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return ANY  # a host name: assume it resolves to a reachable interface
    if ip.is_loopback:
        return LOOPBACK
    if CidrSet([f"{ip}/{ip.max_prefixlen}"]).issubset(PRIVATE):
        return PRIVATE
    return ANY
