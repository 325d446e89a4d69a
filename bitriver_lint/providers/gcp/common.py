"""What the Google Cloud modules share: references, zones and roles from labels."""

from __future__ import annotations

import re
from typing import Any

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Role
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.model import Unknown
from bitriver_lint.roles import role_from_name

_LABEL_KEYS = ("role", "bitriver-role", "bitriver_role", "component")
# A Google zone is its region and a letter: us-central1-a is in us-central1.
_ZONE = re.compile(r"([a-z]+-[a-z]+\d+)-[a-z]")


def region_of_zone(zone: Any) -> str | None:
    found = _ZONE.fullmatch(zone.strip()) if isinstance(zone, str) else None
    return found.group(1) if found else None


def referenced(module: TerraformModule, value: Any, *types: str) -> ResourceInstance | None:
    """The resource instance of one of these types a reference names. ``.id`` and ``.name``
    evaluate to the resource itself; computed attributes (``self_link``, ``instance_group``) are
    Unknowns that still name it."""
    names: list[Any] = [value]
    if isinstance(value, Unknown):
        # ``google_compute_instance.api[0].self_link`` names no variable; its text names the copy.
        names = [*value.names, value.raw.rsplit(".", 1)[0]] if "." in value.raw else list(value.names)
    for name in names:
        for resource_type in types:
            found = module.find(resource_type, name)
            if found is not None:
                return found
            if isinstance(name, str):
                # By the ``name`` argument (a URL or a bare name written in another resource).
                short = name.rstrip("/").rsplit("/", 1)[-1]
                by_name = [r for r in module.of_type(resource_type) if r.arg("name") == short]
                if by_name:
                    return by_name[0]
    # A module's output passed in (``module.template.google_compute_instance_template.api``) or
    # a root resource passed to a module: written in another module of the same root.
    for other in module.family:
        for name in names:
            if other is module or not isinstance(name, str) or not name.startswith(other.prefix):
                continue
            for resource_type in types:
                found = other.find(resource_type, name[len(other.prefix):])
                if found is not None:
                    return found
    return None


def role_of(ctx: BuildContext, address: str, labels: Any, name: Any = None) -> Role | None:
    """A role the config, the labels (``role = "api"``) or the names say."""
    if address in ctx.config.roles:
        return ctx.config.roles[address]
    if isinstance(labels, dict):
        for key in _LABEL_KEYS:
            if isinstance(labels.get(key), str):
                try:
                    return Role(labels[key].lower())
                except ValueError:
                    pass
    for candidate in (name, address.split(".")[-1].split("[")[0]):
        if isinstance(candidate, str):
            found = role_from_name(candidate, ["BITRIVER_"])
            if found is not None:
                return found
    return None


def network_key(module: TerraformModule, value: Any) -> str | None:
    """One name for a VPC network however it is referenced (``.id``, ``.name``, ``.self_link``,
    a URL or the bare name "default"); None when it cannot be known."""
    found = referenced(module, value, "google_compute_network")
    if found is not None:
        return found.address
    if isinstance(value, str) and value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    return None


def referenced_all(module: TerraformModule, value: Any, resource_type: str) -> list[ResourceInstance]:
    """Every instance a list of references names: each item, or a splat over the whole resource
    (``google_compute_instance.api[*].self_link``)."""
    if isinstance(value, Unknown) and "[*]" in value.raw:
        return module.of_resource(value.raw.split("[*]", 1)[0])
    if not isinstance(value, list):
        return []
    found = [referenced(module, item, resource_type) for item in value]
    return [f for f in found if f is not None and f.type == resource_type]
