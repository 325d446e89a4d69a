"""What UFW, nftables and iptables files say, in one shape: chains of ordered rules.

Each reader (``loaders.ufw``, ``loaders.nftables``, ``loaders.iptables``) turns its syntax into
``Chain``s of ``Rule``s; the build stage (``builders.hostfw``) evaluates them first-match, port by
port, into the host firewall layer. Only what decides whether a *new inbound connection* to a
port gets through is kept: protocol, destination ports, source addresses, the verdict, and
jumps between chains. A match we cannot judge (an interface other than ``lo``, a set the file
does not define, an app profile we do not know) makes the rule ``unknown``, which exposure
reports as a BRL002 note instead of guessing either way.

``hook`` says which traffic a chain sees, which is what decides how Docker meets it:

- ``input``: packets for the host itself (iptables/nft ``INPUT``, every UFW rule). Ports that
  Docker publishes are DNAT-ed before the routing decision and go through ``FORWARD``, so these
  rules never see them.
- ``forward``: packets routed through the host, which is where a published container port goes
  after DNAT (iptables ``DOCKER-USER``, an nft chain hooked at ``forward``). They see the
  *container* port.
- ``prerouting``: before Docker's DNAT (an nft chain at ``prerouting`` with a priority below
  ``dstnat`` (-100), iptables ``raw``/``mangle`` ``PREROUTING``): every inbound packet, with the
  port the client asked for.
- ``None``: a user chain, reached only by ``jump``/``-j``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bitriver_lint.model import Diagnostic, Location, Unknown

Hook = Literal["input", "forward", "prerouting"]
Verdict = Literal["accept", "drop", "return", "jump", "skip"]
Protocol = Literal["tcp", "udp", "all"]

# The most rules one firewall document keeps: evaluation is per port range and per rule, and a
# hostile tree must not make it quadratic in a file of a million lines.
MAX_RULES = 1000
MAX_JUMP_DEPTH = 16

ANYWHERE = ("0.0.0.0/0", "::/0")
LOOPBACK_SOURCES = ("127.0.0.0/8", "::1/128")


@dataclass
class Rule:
    """One rule as it decides a new inbound connection."""

    location: Location
    text: str  # as written (shortened), for the proof chain
    verdict: Verdict
    protocol: Protocol = "all"
    ports: list[tuple[int, int]] | None = None  # destination ports; None: every port
    sources: list[str] | None = None  # source CIDRs; None: anywhere
    target: str | None = None  # the chain a jump goes to
    unknown: Unknown | None = None  # a match we cannot judge: exposure through it is a BRL002
    # Decides nothing for new connections (``ct state established,related``, ``-o eth0``,
    # ``--sport``): evaluation passes over it.
    inert: bool = False


@dataclass
class Chain:
    name: str
    hook: Hook | None
    location: Location
    policy: Literal["accept", "drop"] = "accept"
    policy_location: Location | None = None  # None: the default, not written
    policy_text: str = ""  # "policy drop", "ufw default deny incoming", ":INPUT DROP"
    rules: list[Rule] = field(default_factory=list)
    # The address family the chain sees (an nft ``ip`` table, iptables' rules.v4): packets of
    # the other family pass it untouched, which is how a host with rules.v4 alone stays open
    # over IPv6.
    family: Literal["ipv4", "ipv6", "all", "none"] = "all"  # none: arp, bridge tables


@dataclass
class Firewall:
    """One file's firewall (or one user data's): the chains it defines."""

    path: str
    system: Literal["ufw", "nftables", "iptables"]
    location: Location  # where it is described (the file, or the line that enables ufw)
    chains: list[Chain] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # False when the file writes rules but never turns the firewall on (a UFW script without
    # ``ufw enable``): its rules are not counted, and a BRL002 note says so.
    active: bool = True
    files: list[str] = field(default_factory=list)  # every file read (nft includes)

    def chain(self, name: str) -> Chain | None:
        return next((c for c in self.chains if c.name == name), None)

    def truncated(self, where: Location) -> None:
        """Rules past ``MAX_RULES`` were not read: whatever reaches the end of a chain meets
        them, so its verdict is unknown rather than the policy's."""
        unread = Unknown((f"the rules after the first {MAX_RULES}",), "", why="were not read (too many rules)")
        for chain in self.chains:
            chain.rules.append(Rule(where, "rules not read", "accept", unknown=unread))


def port_range(text: str) -> tuple[int, int] | None:
    """``"22"``, ``"6000:6007"`` (iptables, ufw) or ``"6000-6007"`` (nft) as a range."""
    text = text.strip()
    for sep in (":", "-"):
        if sep in text:
            low, _, high = text.partition(sep)
            a, b = _port(low), _port(high)
            if a is None or b is None or a > b:
                return None
            return a, b
    found = _port(text)
    return (found, found) if found is not None else None


def _port(text: str) -> int | None:
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 5 and int(text) <= 65535:
        return int(text)
    return None


def cidr(text: str) -> str | None:
    """An address or network as a CIDR string, or None when it is not one."""
    import ipaddress

    text = text.strip().strip("[]")
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return None
