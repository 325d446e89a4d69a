"""The provider seam: the registry, a provider added from outside, and what builders may import."""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import REPO, scan_tree

from bitriver_lint import providers
from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id
from bitriver_lint.graph import Component, Host, Listener, Role
from bitriver_lint.loaders.proxy import Backend, Bind, Frontend, ProxyConfig, RouteRule, Server
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.model import Unknown
from bitriver_lint.providers import PROVIDERS, LoadBalancer, Provider, provider_for
from bitriver_lint.providers.aws import AWS
from bitriver_lint.providers.cloudflare import CLOUDFLARE
from bitriver_lint.providers.gcp import GCP
from bitriver_lint.vocabulary import HostKind


def test_the_registry_lists_aws_and_routes_types_by_prefix() -> None:
    assert [p.name for p in PROVIDERS][:1] == ["aws"]
    assert "google" in [p.name for p in PROVIDERS]
    assert provider_for("aws_instance") is AWS
    assert provider_for("google_compute_instance") is GCP
    assert provider_for("googlex_thing") is None
    assert provider_for("aws_cloudfront_distribution") is AWS
    assert provider_for("cloudflare_record") is CLOUDFLARE
    assert provider_for("random_password") is None


class Acme:
    """A made-up cloud: ``acme_widget`` is an API server listening on its ``port``, and
    ``acme_balancer`` a load balancer in front of the widgets."""

    name = "acme"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.placed: list[str] = []

    def handles(self, resource_type: str) -> bool:
        return resource_type.startswith("acme_")

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        for widget in resources:
            self.seen.append(widget.full_address)
            if widget.type != "acme_widget":
                continue
            host = Host(id=node_id(module, widget.full_address), name=widget.full_address,
                        host_kind=HostKind.INSTANCE, location=widget.location, resource=widget.full_address,
                        region=widget.region)
            component = Component(id=host.id + "#component", name=widget.full_address, role=Role.API,
                                  role_reason="acme_widget", origin="terraform", location=widget.location)
            ctx.graph.add(host)
            ctx.graph.add(component)
            ctx.graph.runs_on(component.id, host.id, widget.location)
            port = widget.get("port")
            if port is not None and isinstance(port.value, int):
                ctx.graph.add_listener(Listener(id=f"{component.id}#{port.value}/tcp", component=component.id,
                                                port=port.value, location=port.location, reason="acme port"))

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        out: list[LoadBalancer] = []
        for balancer in (r for r in resources if r.type == "acme_balancer"):
            doc = ProxyConfig(balancer.location.path, "terraform", balancer.location,
                              files=[balancer.location.path], name=balancer.full_address)
            backend = Backend("widgets", balancer.location)
            backend.servers = [Server(w.address, w.arg("port"), w.location, "http")
                               for w in module.of_type("acme_widget")]
            doc.backends = {"widgets": backend}
            frontend = Frontend("https", balancer.location, [Bind("", 443, True, balancer.location)])
            frontend.routes.append(RouteRule(None, "widgets", balancer.location))
            doc.frontends.append(frontend)
            out.append(LoadBalancer(doc, lambda host, ctx: self.placed.append(host.id)))
        return out


ACME = """
provider "acme" {
  region = "moon-1"
}
variable "base_port" {
  default = 8080
}
resource "acme_widget" "api" {
  count = 2
  port  = var.base_port + count.index
}
resource "acme_balancer" "front" {}
resource "aws_instance" "legacy" {
  instance_type = "t3.small"
  tags          = { Role = "api" }
}
"""


def test_a_registered_provider_builds_its_own_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    acme = Acme()
    registered: Provider = acme
    monkeypatch.setattr(providers, "PROVIDERS", [*PROVIDERS, registered])
    (tmp_path / "main.tf").write_text(ACME)
    result = scan_tree(tmp_path)
    graph = result.graph
    assert acme.seen == ["acme_widget.api[0]", "acme_widget.api[1]", "acme_balancer.front"]
    widgets = [c for c in graph.components() if c.role_reason == "acme_widget"]
    assert [c.name for c in widgets] == ["acme_widget.api[0]", "acme_widget.api[1]"]
    # Values arrive evaluated: the variable and count.index are already applied, with positions.
    assert [(li.port, str(li.location)) for c in widgets for li in graph.listeners(c)] == [
        (8080, "main.tf:10:11"), (8081, "main.tf:10:11")]
    assert {h.region for c in widgets for h in graph.hosts_of(c.id)} == {"moon-1"}
    # Its load balancer goes through the shared load-balancer builder, then to the provider.
    (lb,) = [c for c in graph.components() if c.name == "acme_balancer.front"]
    assert [li.port for li in graph.listeners(lb)] == [443]
    assert acme.placed == [graph.hosts_of(lb.id)[0].id]
    assert graph.hosts_of(lb.id)[0].managed
    # AWS resources of the same module are still AWS's, and everything sits in the region.
    assert [c.name for c in graph.components(Role.API) if c.origin == "terraform"] == [
        "acme_widget.api[0]", "acme_widget.api[1]", "aws_instance.legacy"]
    assert not result.errors


def test_without_a_provider_its_resources_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ACME)
    result = scan_tree(tmp_path)
    assert [c.name for c in result.graph.components() if c.origin == "terraform"] == ["aws_instance.legacy"]
    assert not result.errors


def test_builders_and_providers_are_forbidden_the_evaluator_and_the_parser() -> None:
    """The contract ``lint-imports`` checks (tests/test_import_contracts.py runs it): the build
    stage reads evaluated documents only."""
    contracts = configparser.ConfigParser()
    contracts.read(REPO / ".importlinter")
    found = [contracts[s] for s in contracts.sections()
             if "bitriver_lint.loaders.terraform_eval" in contracts[s].get("forbidden_modules", "").split()]
    assert len(found) == 1
    (contract,) = found
    assert contract["type"] == "forbidden"
    assert set(contract["source_modules"].split()) == {"bitriver_lint.builders", "bitriver_lint.providers"}
    assert {"bitriver_lint.loaders.terraform", "hcl2"} <= set(contract["forbidden_modules"].split())


def test_unknown_values_reach_a_provider_as_unknowns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    acme = Acme()
    monkeypatch.setattr(providers, "PROVIDERS", [acme])
    (tmp_path / "main.tf").write_text('resource "acme_widget" "api" {\n  port = var.nope\n}\n')
    seen: list[object] = []
    real_nodes = acme.nodes

    def spy(module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        seen.extend(r.arg("port") for r in resources)
        real_nodes(module, resources, ctx)

    monkeypatch.setattr(acme, "nodes", spy)
    scan_tree(tmp_path)
    (port,) = seen
    assert isinstance(port, Unknown) and port.names == ("var.nope",)
