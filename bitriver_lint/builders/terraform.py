"""Terraform modules and plans into the graph: what every provider shares.

The loader hands over module documents whose values are final (``loaders.terraform_document``).
Here each module's resource instances go to the provider that handles their type
(``providers.PROVIDERS``; AWS today), which adds hosts, components and firewall layers. What is
the same whatever the cloud stays here: literal secrets in resources, variable defaults and
tfvars (for the secret check), tying what a root module creates to its region, and feeding the
load balancers providers describe to the shared load-balancer builder.
"""

from __future__ import annotations

from bitriver_lint import providers
from bitriver_lint.builders.common import BuildContext, ProxyPlacement
from bitriver_lint.builders.terraform_common import node_id, place_bindings
from bitriver_lint.graph import Component, Edge, Host, Network
from bitriver_lint.loaders.proxy import ProxyConfig
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.providers import Provider


def nodes(modules: list[TerraformModule], ctx: BuildContext) -> None:
    graph = ctx.graph
    spans: list[tuple[TerraformModule, int, int]] = []  # what each module added: graph positions
    place_bindings(modules, ctx)
    for module in modules:
        _secrets(module, ctx)
        if module.environment:
            graph.environment_roots.add(module.directory)
        start = len(graph.g)
        for provider, resources in _by_provider(module):
            provider.nodes(module, resources, ctx)
        spans.append((module, start, len(graph.g)))
    # Nodes keep the order they were added in: one list of them all tells each module what it
    # created, instead of a scan of the whole graph per module.
    ordered = list(graph.g.nodes)
    for module, start, end in spans:
        _anchor(ctx, module, ordered[start:end])


def edges(modules: list[TerraformModule], ctx: BuildContext) -> None:
    from bitriver_lint.builders import proxy

    for module in modules:
        balancers = [balancer for provider, resources in _by_provider(module)
                     for balancer in provider.load_balancers(module, resources, ctx)]
        docs = [balancer.document for balancer in balancers]
        for balancer in balancers:
            if balancer.runner is not None:
                _run_on(ctx, balancer.document, balancer.runner)
        proxy.nodes([b.document for b in balancers if b.runner is None], ctx)
        for balancer in balancers:
            if balancer.runner is not None:
                continue
            # The standalone host the load-balancer builder made for it: a managed one. The key is
            # unique per scan, so the placement names the one component that runs the config.
            placement = ctx.placements.get(balancer.document.key)
            component = placement.runner if placement is not None else None
            hosts = ctx.graph.hosts_of(component.id) if component is not None else []
            if hosts:
                hosts[0].managed = True
                if balancer.place is not None:
                    balancer.place(hosts[0], ctx)
        proxy.edges(docs, ctx)


def _run_on(ctx: BuildContext, doc: ProxyConfig, runner: str) -> None:
    """A document placed on the component its provider made (a CDN): its routes leave that
    component's listeners, which the provider wrote (a managed edge binds no host port)."""
    component = ctx.graph.node(runner)
    assert isinstance(component, Component)
    component.proxy_configs.append(doc.key)
    ctx.placements[doc.key] = ProxyPlacement(doc, component)


def _by_provider(module: TerraformModule) -> list[tuple[Provider, list[ResourceInstance]]]:
    """The module's resource instances by the registered provider that handles their type, in
    registry order; types no provider handles are left out."""
    found: dict[int, list[ResourceInstance]] = {}
    registry = list(providers.PROVIDERS)
    for instance in module.resources:
        index = next((i for i, p in enumerate(registry) if p.handles(instance.type)), None)
        if index is not None:
            found.setdefault(index, []).append(instance)
    return [(registry[i], found[i]) for i in sorted(found)]


def _anchor(ctx: BuildContext, module: TerraformModule, added: list[str]) -> None:
    """Tie what one module instance creates (``added``: the nodes its providers added) to its
    region, so it reads as one deployment even where nothing else joins its parts (an RDS
    instance shares no edge with the API hosts)."""
    graph = ctx.graph
    region = module.region
    prefix = node_id(module, module.prefix)
    anchor = node_id(module, f"region:{region or 'unknown'}")
    created = [n for n in added if str(n).startswith(prefix) and n != anchor
               and isinstance(graph.node(n), (Host, Component))]
    if not created:
        return
    if anchor not in graph.g:
        # Placed in the root module, also for what a module called from there creates.
        where = module.called_at or graph.node(created[0]).location
        graph.add(Network(id=anchor, name=region or "region not set", net_kind="region", location=where))
    for node in created:
        graph.link(node, anchor, Edge(kind="located_in", location=graph.node(node).location))
        graph.homes[node] = module.root_directory


def _secrets(module: TerraformModule, ctx: BuildContext) -> None:
    for secret in module.secrets:
        committed = True
        if secret.tfvars is not None:
            committed = not ctx.workspace.is_ignored(secret.tfvars)
            if not committed:
                ctx.graph.uncommitted.add(secret.tfvars)
        ctx.graph.add_setting(secret.name, secret.value, secret.location, committed)
