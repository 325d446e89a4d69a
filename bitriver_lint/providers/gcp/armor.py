"""Google Cloud Armor: a security policy on a backend service, as a filter in front of its pool.

A policy is a list of rules, each matching source ranges (``versioned_expr = "SRC_IPS_V1"``
with ``src_ip_ranges``) or a Common Expression Language ``expr``, evaluated from the lowest
``priority`` number up: the first rule that matches decides. The rule at priority 2147483647 is
the default (``"*"``); a policy written without one gets Google's default, which allows. Rules
may also be resources of their own (``google_compute_security_policy_rule``). Regional policies
(``google_compute_region_security_policy``) on regional backend services read the same way.

The load balancer applies the policy only to the requests it sends to that backend service, so
it narrows the routes through the pool, not the backends' own ports (``Layer.SECURITY_POLICY``).

An expression cannot be evaluated here, nor can a range or action the files leave unknown. Such
a rule is read as admitting the most sources it could and the fewest: when both readings admit
the same sources (no source is left undecided when it is reached) the rule does not matter;
otherwise the policy is unknown and exposure through it is a BRL002 note, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitriver_lint.loaders.proxy import Backend, BackendGuard
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Location, Unknown
from bitriver_lint.netsets import EMPTY, CidrSet
from bitriver_lint.providers.gcp.common import referenced
from bitriver_lint.vocabulary import Layer

_POLICIES = ("google_compute_security_policy", "google_compute_region_security_policy")
_RULES = ("google_compute_security_policy_rule", "google_compute_region_security_policy_rule")
DEFAULT_PRIORITY = 2147483647
_ANYONE = CidrSet(["0.0.0.0/0", "::/0"])
# Actions that let a matching request reach the backend (a throttle or a rate-based ban let it
# through until the client exceeds its rate, so they admit its sources).
_ADMITS = {"allow", "throttle", "rate_based_ban"}


@dataclass
class _Rule:
    priority: int
    location: Location  # the rule block, or the rule resource
    admits: bool | None  # None: an action that cannot be known here (redirect, or unknown)
    sources: CidrSet | None  # None: an expression or an unknown range
    written: str  # the ranges as written, for the proof
    unknown: Unknown | None  # what makes the rule unreadable, for the note
    unknown_at: Location | None


def _ranges(match: Body) -> tuple[CidrSet | None, Unknown | None, Location | None, str]:
    """The sources a rule's ``match`` block names; None with what could not be read otherwise."""
    expression = match.first("expr")
    if expression is not None:
        written = expression.get("expression")
        text = written.value if written is not None and isinstance(written.value, str) else "expr"
        return None, Unknown((), text, why="is a Cloud Armor expression, which is not evaluated"), (
            written.location if written is not None else expression.location), text
    config = match.first("config")
    found = config.get("src_ip_ranges") if config is not None else None
    if found is None:
        return None, Unknown((), "match", why="names no src_ip_ranges"), match.location, ""
    value = found.value
    items = value if isinstance(value, list) else [value]
    bad = next((v for v in items if not isinstance(v, str)), None)
    if isinstance(value, Unknown) or bad is not None:
        unknown = value if isinstance(value, Unknown) else bad if isinstance(bad, Unknown) else Unknown(
            (), str(bad), why="is not a source range")
        return None, unknown, found.location, ""
    shown = ", ".join(map(str, items))
    if "*" in items:
        return _ANYONE, None, None, shown
    try:
        return CidrSet([str(v) for v in items]), None, None, shown
    except ValueError:
        return None, Unknown((), shown, why="is not a list of CIDR ranges"), found.location, shown


def _rule(body: Body, location: Location) -> _Rule | None:
    """One rule, or None when it is only previewed (logged, not enforced)."""
    if body.arg("preview") is True:
        return None
    priority = body.arg("priority")
    action = body.arg("action")
    name = action.split("(")[0].strip().lower() if isinstance(action, str) else None
    admits = True if name in _ADMITS else False if name == "deny" else None
    match = body.first("match")
    sources, unknown, where, shown = _ranges(match) if match is not None else (
        None, Unknown((), "rule", why="has no match block"), body.location, "")
    if admits is None and unknown is None:
        found = body.get("action")
        unknown = action if isinstance(action, Unknown) else Unknown(
            (), str(action), why="is a Cloud Armor action whose outcome is not known here")
        where = found.location if found is not None else body.location
    if not isinstance(priority, int):
        # Where it falls among the rules decides what it overrides: it cannot be placed.
        found = body.get("priority")
        unknown = priority if isinstance(priority, Unknown) else Unknown(
            (), str(priority), why="is not a rule priority")
        return _Rule(-1, location, None, None, shown, unknown, found.location if found is not None else body.location)
    return _Rule(priority, location, admits, sources, shown, unknown, where)


def _rules(module: TerraformModule, policy: ResourceInstance) -> list[_Rule]:
    bodies = [(b, b.location) for b in policy.nested("rule")]
    for member in module.family or [module]:
        for resource in member.of_type(*_RULES):
            if referenced(member, resource.arg("security_policy"), *_POLICIES) is policy:
                bodies.append((resource, resource.location))
    rules = [r for b, where in bodies if (r := _rule(b, where)) is not None]
    if not any(r.priority == DEFAULT_PRIORITY for r in rules):
        # Google adds the default rule a policy does not write: allow everyone.
        rules.append(_Rule(DEFAULT_PRIORITY, policy.location, True, _ANYONE, "* (no default rule written)", None,
                           None))
    return sorted(rules, key=lambda r: r.priority)


def _admitted(rules: list[_Rule], widest: bool) -> list[tuple[_Rule, CidrSet]]:
    """Who each admitting rule lets through, first match winning. An unreadable rule is read as
    admitting the most (``widest``) or the fewest sources it can: it matches every undecided
    source, or none when its known action would work the other way."""
    undecided = _ANYONE
    out: list[tuple[_Rule, CidrSet]] = []
    for rule in rules:
        if rule.unknown is None:
            assert rule.sources is not None
            matched = undecided.intersection(rule.sources)
            admits = bool(rule.admits)
        elif rule.admits is (not widest):
            continue  # an allow matching nobody admits the fewest; a deny matching nobody, the most
        else:
            matched, admits = undecided, widest
        if admits and matched:
            out.append((rule, matched))
        undecided = undecided.difference(matched)
        if not undecided:
            break
    return out


def _shown(module: TerraformModule, rule: _Rule, policy: ResourceInstance) -> str:
    at = ("default rule" if rule.priority == DEFAULT_PRIORITY else "rule of unknown priority" if rule.priority < 0
          else f"rule priority {rule.priority}")
    return f"{module.prefix}{policy.label} {at}"


def guard(module: TerraformModule, service: ResourceInstance, backend: Backend) -> None:
    """The backend service's Cloud Armor policy (``security_policy``) as the pool's filter."""
    written = service.get("security_policy")
    if written is None or written.value is None or written.value == "":
        return
    backend.guarded.add(Layer.SECURITY_POLICY)
    policy = referenced(module, written.value, *_POLICIES)
    if policy is None:
        value = written.value
        unknown = value if isinstance(value, Unknown) else Unknown(
            (str(value),), str(value), why="names no google_compute_security_policy in this tree")
        backend.guards.append(BackendGuard(Layer.SECURITY_POLICY, written.location, unknown, ""))
        return
    rules = _rules(module, policy)
    narrowest = _admitted(rules, False)
    if _union([s for _, s in _admitted(rules, True)]) != _union([s for _, s in narrowest]):
        # An unreadable rule decides for some sources: the first one that can.
        first = next(r for r in rules if r.unknown is not None)
        assert first.unknown is not None
        backend.guards.append(BackendGuard(Layer.SECURITY_POLICY, first.unknown_at or first.location,
                                           first.unknown, _shown(module, first, policy)))
        return
    for rule, sources in narrowest:
        # What an earlier rule decided is not this rule's to admit: it is named as written, less those.
        less = "" if sources == rule.sources else f"{rule.written}, less what rules before it match"
        backend.guards.append(BackendGuard(Layer.SECURITY_POLICY, rule.location, [str(n) for n in sources.networks],
                                           _shown(module, rule, policy), less))


def _union(sets: list[CidrSet]) -> CidrSet:
    found = EMPTY
    for one in sets:
        found = found.union(one)
    return found
