"""What every Terraform provider builds the same way: graph ids and hosts bound to trees."""

from __future__ import annotations

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.graph import Host
from bitriver_lint.loaders.proxy import config_key
from bitriver_lint.loaders.terraform_document import TerraformModule
from bitriver_lint.model import Diagnostic, Location


def node_id(module: TerraformModule, address: str) -> str:
    """A graph id for a resource address (module prefix included): unique across root modules,
    since environments kept side by side (envs/prod, envs/staging) reuse the same addresses."""
    return root_prefix(module.root_directory) + address


def component_id(module: TerraformModule, address: str) -> str:
    """The graph id of what runs on the machine or service ``node_id`` names (an instance, a
    group, a managed database): providers make it, and joins that must stay in one root find it."""
    return node_id(module, address) + "#component"


def root_prefix(root: str) -> str:
    """What the ids ``node_id`` makes in the root module at directory ``root`` start with."""
    return f"tf:{root}:"


def balancer_id(module: TerraformModule, path: str, name: str) -> str:
    """The graph id of the component the load-balancer builder makes (``{kind}:{key}``) for a
    cloud load balancer of ``module``'s root whose document is written at ``path`` and named
    ``name``: a CDN record that points at it is built before it exists."""
    return "terraform:" + config_key(path, name, module.root)


def place_bindings(modules: list[TerraformModule], ctx: BuildContext) -> None:
    """Which root each config ``hosts:`` binding by ``resource`` binds in, when several roots
    create that address (envs/prod and envs/staging calling one module): each of its paths in
    the root nearest it (the most leading directories in common, as names are resolved), or in
    the root its ``root:`` names. A path as near to several roots binds in none of them, with a
    BRL002 note: one compose tree on two environments' machines is no guess to make."""
    for name, binding in ctx.config.hosts.items():
        if not binding.resource:
            continue
        found: dict[str, Location] = {}  # the roots that create it, and where
        for module in modules:
            for instance in module.resources:
                if binding.resource in (instance.full_address, instance.full_label, instance.ref):
                    found.setdefault(module.root_directory, instance.location)
        if binding.root is not None:
            root = ctx.config_path(binding.root)
            ctx.bound_roots[name] = {root: [ctx.config_path(p) for p in binding.paths]} if root in found else {}
            if found and root not in found:  # a typo, or the wrong root: it would bind nothing, silently
                ctx.graph.notes.append(Diagnostic(
                    "BRL002", f"the hosts: binding {name!r} names the root {binding.root}, which does not create "
                    f"{binding.resource} ({' and '.join(sorted(found))} do): it binds nothing", found[min(found)]))
            continue
        if len(found) < 2:
            continue
        roots = " and ".join(sorted(found))
        if not binding.paths:
            ctx.graph.notes.append(Diagnostic(
                "BRL002", f"the hosts: binding {name!r} names {binding.resource}, which the Terraform roots {roots} "
                "all create: it stands for none of them (add root: to the binding to say which)",
                found[min(found)]))
        placed: dict[str, list[str]] = {}
        for path in binding.paths:
            prefix = ctx.config_path(path)
            shared = {root: _common(root, prefix) for root in found}
            nearest = [root for root in sorted(found) if shared[root] == max(shared.values())]
            if len(nearest) == 1:
                placed.setdefault(nearest[0], []).append(prefix)
                continue
            ctx.graph.notes.append(Diagnostic(
                "BRL002", f"the hosts: binding {name!r} puts {path} on {binding.resource}, which the Terraform roots "
                f"{' and '.join(nearest)} all create, and {path} lies no nearer one of them: it is put on none "
                "(add root: to the binding to say whose machine it is)", found[nearest[0]]))
        ctx.bound_roots[name] = placed


def _common(a: str, b: str) -> int:
    """How many leading directories two root-relative paths share."""
    count = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y or not x:
            break
        count += 1
    return count


def bind_trees(ctx: BuildContext, module: TerraformModule, host: Host, refs: tuple[str, ...],
               where: Location) -> bool:
    """Config ``hosts`` entries that put compose/systemd directories on this machine: their hosts
    run on it (and so sit behind its firewall layers). True when any binding applied."""
    root = module.root_directory
    bound: list[list[str]] = []
    for name, binding in ctx.config.hosts.items():
        if binding.resource not in refs or not binding.paths:
            continue
        placed = ctx.bound_roots.get(name)
        if placed is None:
            bound.append([ctx.config_path(p) for p in binding.paths])
        elif root in placed:
            bound.append(placed[root])
    for prefixes in bound:
        for other in ctx.graph.hosts():
            directory = other.directory or ""
            if other.id != host.id and any(directory == p or directory.startswith(p + "/") for p in prefixes):
                ctx.graph.runs_on(other.id, host.id, where)
    return bool(bound)
