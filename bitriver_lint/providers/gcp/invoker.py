"""Who may invoke a Cloud Run service: ``roles/run.invoker`` grants, as the invoker layer.

Cloud Run checks every request for an identity token of a principal holding the invoker role,
whichever way it comes (its run.app URL or a load balancer's serverless NEG). Only a grant to
``allUsers`` (or ``allAuthenticatedUsers``: any Google account) lets anonymous viewers in, and
``invoker_iam_disabled = true`` switches the check off. Grants are written as their own
resources (``google_cloud_run_service_iam_member``/``_binding``/``_policy`` and the v2 ones),
naming the service by ``service`` (v1) or ``name`` (v2) and its ``location``.

A grant the files cannot read (an unknown member, role, service or policy) that could make the
service public is an unknown rule: exposure through it is a BRL002 note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Allow, Host, UnknownRule
from bitriver_lint.loaders.terraform_document import Body, ResourceInstance, TerraformModule
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.providers.gcp.common import referenced
from bitriver_lint.vocabulary import Layer

_RUN = ("google_cloud_run_v2_service", "google_cloud_run_service")
_GRANTS = ("google_cloud_run_service_iam_member", "google_cloud_run_service_iam_binding",
           "google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding")
_POLICIES = ("google_cloud_run_service_iam_policy", "google_cloud_run_v2_service_iam_policy")
_ROLES = {"roles/run.invoker", "roles/run.servicesInvoker"}
_PUBLIC = {"allUsers": "allUsers", "allAuthenticatedUsers": "allAuthenticatedUsers (any Google account)"}
_ANYONE = ["0.0.0.0/0", "::/0"]


@dataclass
class _Grant:
    """One grant of a role to members, as written (a member resource, a binding, a policy's binding)."""

    resource: ResourceInstance
    role: Located[Any]
    members: Located[Any]


def _service_of(module: TerraformModule, grant: ResourceInstance, service: ResourceInstance) -> bool | None:
    """Whether the grant is on ``service``: by reference, else by its name and location. None
    when the grant names its service by something the files cannot tell."""
    named = grant.arg("service") if grant.type.startswith("google_cloud_run_service_") else grant.arg("name")
    if not isinstance(named, str):
        # A reference the files cannot evaluate may still name the resource.
        found = referenced(module, named, *_RUN)
        return found is service if found is not None else None if isinstance(named, Unknown) else False
    # ``.name`` evaluates to the service's name: two regions may both have one of that name.
    exact = next((f for t in _RUN if (f := module.find(t, named)) is not None), None)
    if exact is not None:
        return exact is service
    short = named.rstrip("/").rsplit("/", 1)[-1]
    if service.arg("name") != short:
        return False
    # Either left unset is in its provider's region, as far as the files tell it.
    where = grant.arg("location") or grant.region
    here = service.arg("location") or service.region
    if isinstance(where, str) and isinstance(here, str):
        return where == here
    return True if where is None and here is None else None


def _bindings(module: TerraformModule, policy: ResourceInstance) -> list[_Grant] | Located[Any]:
    """A policy resource's bindings, read from the ``google_iam_policy`` data source its
    ``policy_data`` names; the unreadable ``policy_data`` otherwise."""
    written = policy.get("policy_data")
    if written is None:
        return []
    value = written.value
    names = value.names if isinstance(value, Unknown) else ()
    for name in names:
        if name.startswith("data.google_iam_policy."):
            source = module.data_source("google_iam_policy", name.split(".")[2])
            if source is not None:
                return [g for b in source.nested("binding") if (g := _grant(policy, b)) is not None]
    return written


def _grant(resource: ResourceInstance, body: Body) -> _Grant | None:
    role = body.get("role")
    members = body.get("members") or body.get("member")
    if role is None or members is None:
        return None
    return _Grant(resource, role, members)


def _grants(module: TerraformModule, service: ResourceInstance) -> tuple[list[_Grant], list[Located[Any]]]:
    """The grants on the service in its root, and what could not be read of those that may be."""
    grants: list[_Grant] = []
    unread: list[Located[Any]] = []
    for member in module.family or [module]:
        for resource in member.of_type(*_GRANTS, *_POLICIES):
            on = _service_of(member, resource, service)
            if on is False:
                continue
            if on is None:
                one = _grant(resource, resource)
                if one is not None and not _may_be_public(one):
                    continue
                named = resource.get("service") or resource.get("name")
                unread.append(named if named is not None else Located(
                    Unknown((), resource.full_label, why="names no Cloud Run service"), resource.location))
                continue
            if resource.type in _POLICIES:
                found = _bindings(member, resource)
                if isinstance(found, Located):
                    unread.append(found)
                    continue
                grants.extend(found)
            elif (one := _grant(resource, resource)) is not None:
                grants.append(one)
    return grants, unread


def _public(member: Any) -> bool:
    return isinstance(member, str) and member in _PUBLIC


def _invoker(role: Any) -> bool:
    return isinstance(role, str) and role in _ROLES


def _may_be_public(grant: _Grant) -> bool:
    role, members = grant.role.value, grant.members.value
    items = members if isinstance(members, list) else [members]
    return (isinstance(role, Unknown) or _invoker(role)) and (
        isinstance(members, Unknown) or any(isinstance(m, Unknown) or _public(m) for m in items))


def _unknown(grant: _Grant) -> Located[Any] | None:
    """The part of a grant that could make the service public but cannot be read."""
    role, members = grant.role.value, grant.members.value
    if not isinstance(role, Unknown) and not _invoker(role):
        return None
    items = members if isinstance(members, list) else [members]
    if isinstance(members, Unknown):
        return grant.members
    bad = next((m for m in items if isinstance(m, Unknown)), None)
    if bad is not None:
        return Located(bad, grant.members.location)
    if isinstance(role, Unknown) and any(_public(m) for m in items):
        return grant.role
    return None


def add_invoker(ctx: BuildContext, module: TerraformModule, service: ResourceInstance, host: Host) -> None:
    """The service's invoker layer: anyone when a grant (or ``invoker_iam_disabled``) lets
    anonymous callers in, nobody but holders of an identity token otherwise."""
    host.described_layers.add(Layer.INVOKER)
    disabled = service.get("invoker_iam_disabled")
    if disabled is not None and disabled.value is True:
        ctx.graph.link(host.id, host.id, _anyone(disabled.location, "invoker_iam_disabled = true",
                                                 f"{service.full_label} turns the invoker check off"))
        return
    grants, unread = _grants(module, service)
    public = False
    for grant in grants:
        members = grant.members.value
        items = members if isinstance(members, list) else [members]
        shown = [_PUBLIC[m] for m in items if isinstance(m, str) and m in _PUBLIC]
        if _invoker(grant.role.value) and shown:
            public = True
            ctx.graph.link(host.id, host.id, _anyone(
                grant.members.location, " and ".join(shown),
                f"{grant.resource.full_label} grants {grant.role.value}"))
    if public:
        return  # whatever else the files leave unknown, anyone may already invoke it
    if disabled is not None and isinstance(disabled.value, Unknown):
        unread.append(disabled)
    unread.extend(u for g in grants if (u := _unknown(g)) is not None)
    for found in unread[:1]:
        unknown = found.value if isinstance(found.value, Unknown) else Unknown(
            (str(found.value),), str(found.value), why="cannot be read as an invoker grant")
        host.unknown_rules.append(UnknownRule(port_from=0, port_to=65535, protocol="all",
                                              sources=Located(unknown, found.location), layer=Layer.INVOKER))


def _anyone(location: Location, who: str, why: str) -> Allow:
    return Allow(location=location, layer=Layer.INVOKER, cidrs=list(_ANYONE), port_from=0, port_to=65535,
                 protocol="all", description=why, assumed=f"{who} ({why})")
