"""AWS networking into firewall layers: subnets, security groups and public addressing."""

from __future__ import annotations

import functools
import re
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id
from bitriver_lint.exposure import named_set
from bitriver_lint.graph import Allow, Dangling, Host, Network, UnknownRule
from bitriver_lint.loaders.terraform_document import UNDEFINED, Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.netsets import PRIVATE
from bitriver_lint.vocabulary import Layer

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "-1": "all", "all": "all"}
# Protocols that have no ports: a rule for one (ICMP's from/to are a type and a code) opens no
# TCP or UDP port, whatever numbers it is written with.
_PORTLESS = {"icmp", "icmpv6", "1", "58", "esp", "50", "ah", "51", "gre", "47"}


def tf_port(value: Any) -> Any:
    """A port as Terraform converts it: ``"22"`` (a string where a number is expected) is 22."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


@dataclass
class SgRule:
    location: Location
    port_from: int
    port_to: int
    protocol: str
    cidrs: list[str] | Unknown
    # Sources that are not written as CIDRs, in words ("members of aws_security_group.lb"; "an
    # unresolved group ..."), for the finding's proof chain.
    assumed: str = ""


class SgRules:
    """Ingress rules by the security group they belong to: a group instance
    (``aws_security_group.lb["web"]``) or a group as a whole (``aws_security_group.lb``)."""

    def __init__(self, elsewhere: Callable[[str], SgRules | None] | None = None) -> None:
        self.by_group: dict[str, list[SgRule]] = {}
        # Resource (the group without its instance key) -> its keys in by_group, in order: a
        # module of 15,000 groups would otherwise scan them all for each instance's group.
        self._keys: dict[str, list[str]] = {}
        # The table of another module of the root, by its module path: a group that module
        # creates is named through its output (``module.edge.aws_security_group.srs``).
        self._elsewhere = elsewhere

    def add(self, group: str, rule: SgRule) -> None:
        if group not in self.by_group:
            self._keys.setdefault(group.split("[")[0], []).append(group)
        self.by_group.setdefault(group, []).append(rule)

    def of(self, group: str) -> list[SgRule]:
        """The rules of a group a reference names: one instance's (with those written for the
        whole group), or every instance's for the whole group. Instances with the same rules
        (the usual case: rules that do not depend on ``count``/``each``) count once."""
        resource = group.split("[")[0]
        theirs = _MODULE_GROUP.fullmatch(group) if resource not in self._keys and self._elsewhere else None
        if theirs is not None and self._elsewhere is not None:
            table = self._elsewhere(theirs.group(1))
            return table.of(theirs.group(2)) if table is not None else []
        taken: list[list[SgRule]] = []
        for key in self._keys.get(resource, []):  # only these can be named, whichever way
            rules = self.by_group[key]
            named = key in (group, resource) or ("[" not in group and key.split("[")[0] == group)
            if named and rules not in taken:
                taken.append(rules)
        return [rule for rules in taken for rule in rules]


def _sg_members(module: TerraformModule) -> dict[str, list[str]]:
    """Security group -> the subnet CIDRs its members sit in. A member whose subnet CIDR is not
    known makes the group count as the whole private address space."""
    subnet_cidrs: dict[str, Any] = {}
    for subnet in module.of_type("aws_subnet"):
        subnet_cidrs[subnet.address] = subnet.arg("cidr_block")
        subnet_cidrs.setdefault(subnet.ref, subnet.arg("cidr_block"))
    private = _private_cidrs()
    members: dict[str, list[str]] = {}

    def add(groups: Any, subnets: Any) -> None:
        cidrs = [subnet_cidrs.get(str(s)) for s in (subnets if isinstance(subnets, list) else [subnets])]
        known = [c for c in cidrs if isinstance(c, str)]
        for group in groups if isinstance(groups, list) else []:
            key = str(group).split("[")[0]
            members.setdefault(key, []).extend(known if known and len(known) == len(cidrs) else private)

    for instance in module.of_type("aws_instance"):
        add(instance.arg("vpc_security_group_ids"), instance.arg("subnet_id"))
    for lb in module.of_type("aws_lb", "aws_alb"):
        add(lb.arg("security_groups"), lb.arg("subnets"))
    for service in module.of_type("aws_ecs_service"):
        for network in service.nested("network_configuration"):
            add(network.arg("security_groups"), network.arg("subnets"))
    for group in module.of_type("aws_autoscaling_group"):
        spec = group.first("launch_template")
        template = module.find("aws_launch_template", spec.arg("id")) if spec else None
        if template is not None:
            add(template.arg("vpc_security_group_ids"), group.arg("vpc_zone_identifier"))
    return members


@functools.cache
def _private_cidrs() -> tuple[str, ...]:
    """The private ranges as written CIDRs: asked for every module of a large tree."""
    return tuple(str(n) for n in PRIVATE.networks)


_MODULE_GROUP = re.compile(r"((?:module\.[^.]+\.)+)(aws_security_group\..+)")


@dataclass
class _Family:
    """What the modules of one root share through module outputs, built once per root."""

    modules: list[TerraformModule]
    members: dict[str, list[str]]  # module path + group -> its members' subnet CIDRs
    rules: dict[str, list[tuple[TerraformModule, ResourceInstance, str]]]  # module path -> rules on its groups
    by_prefix: dict[str, TerraformModule]  # module path -> the module
    tables: dict[str, SgRules]  # module path -> its rules by group, each built once


_last_family: list[_Family] = []  # the family being built (modules are built root by root)


def _family(module: TerraformModule) -> _Family:
    cached = next(iter(_last_family), None)
    if cached is not None and cached.modules is module.family:
        return cached
    members: dict[str, list[str]] = {}
    rules: dict[str, list[tuple[TerraformModule, ResourceInstance, str]]] = {}
    for other in module.family:
        if other.prefix:
            for group, cidrs in _sg_members(other).items():
                members.setdefault(other.prefix + group, cidrs)
        for rule in other.of_type("aws_security_group_rule", "aws_vpc_security_group_ingress_rule"):
            target = rule.arg("security_group_id")
            found = _MODULE_GROUP.fullmatch(target) if isinstance(target, str) else None
            ingress = rule.type != "aws_security_group_rule" or rule.arg("type") == "ingress"
            if found is not None and ingress and found.group(1) != other.prefix:
                rules.setdefault(found.group(1), []).append((other, rule, found.group(2)))
    family = _Family(module.family, members, rules, {other.prefix: other for other in module.family}, {})
    _last_family[:] = [family]
    return family


def _members(module: TerraformModule, family: _Family) -> Mapping[str, list[str]]:
    """Security group -> its members' subnet CIDRs: this module's groups by their addresses, the
    other modules' of its root by their module paths (``module.edge.aws_security_group.lb``,
    what a module output names)."""
    return ChainMap(_sg_members(module), family.members)


def security_group_rules(module: TerraformModule, ctx: BuildContext) -> SgRules:
    """Ingress rules by group: those written in this module, and those another module of its
    root writes on this module's groups (through an output: ``module.api.security_group_id``).
    Groups of the root's other modules are looked up in their own tables."""
    family = _family(module)
    if module.prefix in family.tables:
        return family.tables[module.prefix]

    def elsewhere(prefix: str) -> SgRules | None:
        other = family.by_prefix.get(prefix)
        return security_group_rules(other, ctx) if other is not None and other is not module else None

    rules = SgRules(elsewhere)
    family.tables[module.prefix] = rules
    members = _members(module, family)
    for other, rule, local in family.rules.get(module.prefix, []) if module.prefix else []:
        theirs = _members(other, family)
        if rule.type == "aws_security_group_rule":
            _add(rules, local, _rule(other, ctx, rule, "protocol", "cidr_blocks", "ipv6_cidr_blocks",
                                     "source_security_group_id", "prefix_list_ids", theirs))
        else:
            _add(rules, local, _rule(other, ctx, rule, "ip_protocol", "cidr_ipv4", "cidr_ipv6",
                                     "referenced_security_group_id", "prefix_list_id", theirs))
    for sg in module.of_type("aws_security_group"):
        for ingress in sg.nested("ingress"):
            _add(rules, sg.address, _rule(module, ctx, ingress, "protocol", "cidr_blocks", "ipv6_cidr_blocks",
                                          "security_groups", "prefix_list_ids", members))
    for rule in module.of_type("aws_security_group_rule"):
        kind = rule.get("type")
        target = rule.get("security_group_id")
        if kind is None or kind.value != "ingress" or target is None or not isinstance(target.value, str):
            continue
        _add(rules, target.value, _rule(module, ctx, rule, "protocol", "cidr_blocks", "ipv6_cidr_blocks",
                                        "source_security_group_id", "prefix_list_ids", members))
    for rule in module.of_type("aws_vpc_security_group_ingress_rule"):
        target = rule.get("security_group_id")
        if target is None or not isinstance(target.value, str):
            continue
        _add(rules, target.value, _rule(module, ctx, rule, "ip_protocol", "cidr_ipv4", "cidr_ipv6",
                                        "referenced_security_group_id", "prefix_list_id", members))
    return rules


def _add(rules: SgRules, group: str, rule: SgRule | None) -> None:
    if rule is not None:
        rules.add(group, rule)


def _rule(module: TerraformModule, ctx: BuildContext, block: Body, protocol_key: str, v4: str, v6: str,
          sg_key: str, prefix_key: str, members: Mapping[str, list[str]]) -> SgRule | None:
    """The rule as sources and a port range, or None when it opens no TCP/UDP port (ICMP)."""
    written = block.arg(protocol_key)
    name = str(written).strip().lower() if isinstance(written, (str, int)) else None
    if name in _PORTLESS:
        return None
    protocol = _PROTOCOLS.get(name or "", "tcp")
    low, high = tf_port(block.arg("from_port")), tf_port(block.arg("to_port"))
    cidrs: list[str] | Unknown = []
    assumed: list[str] = []
    if protocol != "all" and isinstance(low, Unknown):
        cidrs = low  # which ports it opens is not known: exposure through it cannot be judged
    if protocol == "all" or not isinstance(low, int):
        low, high = 0, 65535
    for key in (v4, v6) if isinstance(cidrs, list) else ():
        found = block.arg(key)
        if isinstance(found, Unknown):
            cidrs = found
            break
        if isinstance(found, str):
            found = [found]
        if isinstance(found, list) and isinstance(cidrs, list):
            bad = next((c for c in found if isinstance(c, Unknown)), None)
            if bad is not None:
                cidrs = bad
                break
            cidrs.extend(str(c) for c in found)
    if isinstance(cidrs, list):
        sources = block.arg(sg_key)
        for source in sources if isinstance(sources, list) else ([sources] if sources else []):
            # Another group's members: the subnets they sit in (private space when unknown).
            known = members.get(str(source).split("[")[0])
            cidrs.extend(known or [str(n) for n in PRIVATE.networks])
            name = source.raw if isinstance(source, Unknown) else str(source)
            assumed.append(f"members of {name}" if known else
                           f"{name}, a group whose members are not known (taken as the private networks)")
        lists = block.arg(prefix_key)
        for item in lists if isinstance(lists, list) else ([lists] if lists else []):
            entries = _prefix_list(module, ctx, item)
            if isinstance(entries, Unknown):
                cidrs = entries
                break
            cidrs.extend(entries)
    return SgRule(block.location, low, high if isinstance(high, int) else low, protocol, cidrs, "; ".join(assumed))


CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def _prefix_list(module: TerraformModule, ctx: BuildContext, item: Any) -> list[str] | Unknown:
    """The sources a prefix list in a rule stands for: CloudFront's origin-facing list is the
    CDN; a list defined in the files is its entries; anything else cannot be known."""
    if isinstance(item, str) and item.startswith("aws_ec2_managed_prefix_list."):
        found = module.find("aws_ec2_managed_prefix_list", item)
        entries = [e.arg("cidr") for e in found.nested("entry")] if found else []
        unknown = next((e for e in entries if not isinstance(e, str)), None)
        if found is not None and unknown is None:
            return [str(e) for e in entries]
        return unknown if isinstance(unknown, Unknown) else Unknown((item,), item, why="has entries we cannot read")
    if isinstance(item, Unknown) and item.names and item.names[0].startswith("data.aws_ec2_managed_prefix_list."):
        label = item.names[0].split(".")[2]
        data = module.data_source("aws_ec2_managed_prefix_list", label)
        names = [data.arg("name")] if data else []
        names += [v for f in (data.nested("filter") if data else [])
                  if f.arg("name") == "prefix-list-name"
                  for v in (f.arg("values") or [])]
        if CLOUDFRONT_PREFIX_LIST in names:
            return [str(n) for n in named_set(ctx.config, "cdn").networks]
        return item
    if isinstance(item, Unknown):
        return item
    return Unknown((str(item),), str(item), why="is a prefix list whose entries the files do not give")


@dataclass
class Subnet:
    node: Network
    az: str | None
    public_location: Location  # map_public_ip_on_launch, or the block when it is not written


def subnets_of(module: TerraformModule, ctx: BuildContext) -> dict[str, Subnet]:
    """Subnets as network nodes, by the addresses references name them with."""
    subnets: dict[str, Subnet] = {}
    for subnet in module.of_type("aws_subnet"):
        az = subnet.arg("availability_zone")
        public = subnet.arg("map_public_ip_on_launch")
        cidr = subnet.arg("cidr_block")
        node = Network(id=node_id(module, subnet.full_label), name=subnet.label,
                       net_kind="subnet", location=subnet.location,
                       cidr=cidr if isinstance(cidr, str) else None,
                       public=public if isinstance(public, bool) else None)
        ctx.graph.add(node)
        flag = "map_public_ip_on_launch" in subnet.attributes
        found = Subnet(node, az if isinstance(az, str) else None,
                       subnet.key_location("map_public_ip_on_launch") if flag else subnet.location)
        subnets[subnet.address] = found
        subnets.setdefault(subnet.ref, found)
    return subnets


def add_firewall(ctx: BuildContext, host: Host, sgs: Any, sg_rules: SgRules, public: bool | None,
                 public_where: Location, sgs_where: Location | None = None) -> None:
    graph = ctx.graph
    host.described_layers.add(Layer.SECURITY_GROUP)
    for sg in sgs if isinstance(sgs, list) else [sgs] if isinstance(sgs, Unknown) else []:
        if isinstance(sg, Unknown) and sg.why == UNDEFINED:
            name = ".".join(sg.raw.split(".")[:2])
            graph.dangling.append(Dangling(kind="terraform", name=name, location=sgs_where or host.location,
                                           source=host.id))
            continue
        if isinstance(sg, Unknown):
            # A remote module's output, a data source, a variable without a value, or a group in a
            # file that could not be parsed: what the group admits is not known, which is not the
            # same as admitting nothing.
            host.unknown_rules.append(UnknownRule(port_from=0, port_to=65535, protocol="all",
                                                  sources=Located(sg, sgs_where or host.location)))
            continue
        for rule in sg_rules.of(str(sg)):
            if isinstance(rule.cidrs, Unknown):
                # Exposure through this rule cannot be judged: checks get a BRL002 instead.
                host.unknown_rules.append(UnknownRule(
                    port_from=rule.port_from, port_to=rule.port_to, protocol=rule.protocol,
                    sources=Located(rule.cidrs, rule.location)))
                continue
            graph.link(host.id, host.id, Allow(location=rule.location, layer=Layer.SECURITY_GROUP, cidrs=rule.cidrs,
                                               port_from=rule.port_from, port_to=rule.port_to,
                                               protocol=rule.protocol,  # type: ignore[arg-type]
                                               description=str(sg), assumed=rule.assumed))
    if public is None:
        return  # the files do not say (a default VPC gives public IPs): the layer is assumed open
    host.described_layers.add(Layer.PUBLIC_ADDRESS)
    reach = ["0.0.0.0/0", "::/0"] if public else [str(n) for n in PRIVATE.networks]
    graph.link(host.id, host.id, Allow(location=public_where, layer=Layer.PUBLIC_ADDRESS, cidrs=reach, port_from=0,
                                       port_to=65535, protocol="all",
                                       description="public IP" if public else "no public IP"))
