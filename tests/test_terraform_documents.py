"""What the Terraform loaders hand to builders: module documents whose values are final."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bitriver_lint.config import Config
from bitriver_lint.loaders import terraform, tfplan
from bitriver_lint.loaders.terraform_document import Body, FileText, SecretLiteral, TerraformModule
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.workspace import Workspace


def _load(tmp_path: Path, files: dict[str, str]) -> list[TerraformModule]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return terraform.load(sorted(n for n in files if n.endswith(".tf")), Workspace(tmp_path), Config())


def _values(body: Body) -> dict[str, Any]:
    return {name: located.value for name, located in body.attributes.items()}


INSTANCES = """
variable "zones" {
  default = {a = "eu-west-1a", b = "eu-west-1b"}
}
resource "aws_instance" "api" {
  count = 2
  tags  = { Name = "api-${count.index}" }
}
resource "aws_subnet" "private" {
  for_each          = var.zones
  availability_zone = each.value
  cidr_block        = cidrsubnet("10.0.0.0/16", 8, lookup({a = 0, b = 1}, each.key))
}
resource "aws_security_group" "lb" {
  name = "lb"
}
"""


def test_each_instance_of_count_and_for_each_has_its_own_values(tmp_path: Path) -> None:
    (module,) = _load(tmp_path, {"main.tf": INSTANCES})
    assert [(r.address, r.key, r.siblings) for r in module.resources] == [
        ("aws_instance.api[0]", 0, 2), ("aws_instance.api[1]", 1, 2),
        ('aws_subnet.private["a"]', "a", 2), ('aws_subnet.private["b"]', "b", 2),
        ("aws_security_group.lb", None, 1)]
    api0, api1 = module.of_type("aws_instance")
    assert api0.arg("tags") == {"Name": "api-0"} and api1.arg("tags") == {"Name": "api-1"}
    assert str(api1.get("tags").location) == "main.tf:7:11"  # type: ignore[union-attr]
    assert [(s.arg("availability_zone"), s.arg("cidr_block")) for s in module.of_type("aws_subnet")] == [
        ("eu-west-1a", "10.0.0.0/24"), ("eu-west-1b", "10.0.1.0/24")]
    # How references name them: the resource as a whole, or one instance.
    assert api0.ref == "aws_instance.api" and api0.label == "aws_instance.api[0]"
    (lb,) = module.of_type("aws_security_group")
    assert lb.label == "aws_security_group.lb"
    assert api0.named_by("aws_instance.api") and api0.named_by("aws_instance.api[0]")
    assert not api0.named_by("aws_instance.api[1]")
    assert module.find("aws_instance", "aws_instance.api[1]") is api1
    assert module.find("aws_instance", "aws_instance.api") is api0


NESTED = """
variable "rules" {
  default = {rtmp = {port = 1935}, api = {port = 8080}}
}
resource "aws_security_group" "ingest" {
  dynamic "ingress" {
    for_each = var.rules
    content {
      from_port = ingress.value.port
      to_port   = ingress.value.port
    }
  }
  egress {
    from_port = 0
  }
}
resource "aws_security_group" "listed" {
  ingress = [{from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"]}]
  egress  = var.unknown
}
"""


def test_nested_blocks_are_evaluated_dynamic_ones_expanded(tmp_path: Path) -> None:
    (module,) = _load(tmp_path, {"main.tf": NESTED})
    ingest, listed = module.resources
    assert [(b.type, _values(b)) for b in ingest.blocks] == [
        ("ingress", {"from_port": 8080, "to_port": 8080}),  # a map is walked in key order
        ("ingress", {"from_port": 1935, "to_port": 1935}),
        ("egress", {"from_port": 0})]
    assert str(ingest.blocks[0].location) == "main.tf:6:3"  # the dynamic block
    assert str(ingest.blocks[0].attributes["from_port"].location) == "main.tf:9:19"
    # The attribute form of nested blocks reads as blocks too, located at the attribute.
    (ingress,) = listed.nested("ingress")
    assert _values(ingress) == {"from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
    assert str(ingress.location) == "main.tf:18:13"
    assert str(listed.key_location("ingress")) == "main.tf:18:3"
    # An entry that cannot be known: every field a rule reads is that Unknown.
    (egress,) = listed.nested("egress")
    assert isinstance(egress.arg("from_port"), Unknown) and egress.arg("from_port").names == ("var.unknown",)


def test_module_instances_have_their_inputs_region_and_user_data_rendered(tmp_path: Path) -> None:
    files = {
        "main.tf": 'provider "aws" {\n  region = "eu-west-1"\n}\n'
                   'module "edge" {\n  source = "./modules/edge"\n  origin = "https://api.example.com"\n}\n',
        "modules/edge/main.tf": 'variable "origin" {}\n'
                                'resource "aws_instance" "proxy" {\n'
                                '  user_data = templatefile("${path.module}/boot.sh", { origin = var.origin })\n'
                                '}\n',
        "modules/edge/boot.sh": "#!/bin/sh\nexport BITRIVER_ORIGIN=${origin}\n",
    }
    root, edge = _load(tmp_path, files)
    assert (root.prefix, root.region, edge.prefix, edge.region) == ("", "eu-west-1", "module.edge.", "eu-west-1")
    assert edge.variables["origin"].value == "https://api.example.com"
    assert str(edge.variables["origin"].location) == "main.tf:6:12"
    (proxy,) = edge.resources
    assert (proxy.full_address, proxy.region, proxy.provider) == ("module.edge.aws_instance.proxy", "eu-west-1", "aws")
    user_data = proxy.get("user_data")
    assert user_data is not None and str(user_data.location) == "modules/edge/main.tf:3:15"
    text = user_data.value
    assert isinstance(text, FileText) and (text.path, text.exact) == ("modules/edge/boot.sh", True)
    assert text == "#!/bin/sh\nexport BITRIVER_ORIGIN=https://api.example.com\n"


def test_an_aliased_provider_gives_its_resources_its_region(tmp_path: Path) -> None:
    (module,) = _load(tmp_path, {"main.tf": (
        'provider "aws" {\n  region = "eu-west-1"\n}\n'
        'provider "aws" {\n  alias  = "us"\n  region = "us-east-1"\n}\n'
        'resource "aws_s3_bucket" "here" {}\n'
        'resource "aws_s3_bucket" "there" {\n  provider = aws.us\n}\n')})
    assert [(p.ref, p.arg("region")) for p in module.providers] == [("aws", "eu-west-1"), ("aws.us", "us-east-1")]
    assert module.region == "us-east-1"  # the module's (its region anchor): its last provider's, as before
    assert [(b.address, b.provider, b.region) for b in module.resources] == [
        ("aws_s3_bucket.here", "aws", "eu-west-1"), ("aws_s3_bucket.there", "aws.us", "us-east-1")]


def test_secrets_are_literals_under_secret_names(tmp_path: Path) -> None:
    (module,) = _load(tmp_path, {
        "main.tf": 'variable "db_password" {\n  default = "hunter2"\n}\n'
                   'variable "api_token" {\n  default   = "t0k3n"\n  sensitive = true\n}\n'
                   'resource "aws_db_instance" "pg" {\n  count    = 0\n  password = "s3cr3t"\n'
                   '  username = "admin"\n}\n',
        "terraform.tfvars": 'db_password = "from-tfvars"\n'})
    assert [(s.name, s.value, str(s.location), s.tfvars) for s in module.secrets] == [
        ("password", "s3cr3t", "main.tf:10:14", None),  # also in a resource switched off
        ("db_password", "hunter2", "main.tf:2:13", None),
        ("db_password", "from-tfvars", "terraform.tfvars:1:15", "terraform.tfvars")]
    assert module.resources == []


def test_limits_met_while_evaluating_instances_are_load_diagnostics(tmp_path: Path) -> None:
    (module,) = _load(tmp_path, {"main.tf": (
        'resource "aws_instance" "api" {\n'
        '  count = 2\n'
        '  tags  = { Name = format("%01000000000d", count.index) }\n'
        '}\n')})
    assert [(d.rule_id, str(d.location)) for d in module.diagnostics] == [("BRL001", "main.tf:3:20")]
    assert all(isinstance(r.arg("tags")["Name"], Unknown) for r in module.resources)


def test_plans_become_the_same_documents(tmp_path: Path) -> None:
    plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
        {"address": "aws_instance.api[0]", "mode": "managed", "type": "aws_instance", "name": "api", "index": 0,
         "values": {"instance_type": "m6i.large", "root_block_device": [{"volume_size": 20}]}}]}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan, indent=1))
    (module,) = tfplan.load(["plan.json"], Workspace(tmp_path), Config())
    (api,) = module.resources
    assert (api.address, api.type) == ("aws_instance.api[0]", "aws_instance")
    assert api.arg("instance_type") == "m6i.large" and api.get("instance_type").location.path == "plan.json"  # type: ignore[union-attr]
    assert [_values(b) for b in api.nested("root_block_device")] == [{"volume_size": 20}]


def _leaves(value: Any, seen: set[int] | None = None) -> list[Any]:
    """Every object reachable from a document (dataclass fields and containers)."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (str, int, float, bool, type(None), Location, Unknown)):
        return [value]
    seen.add(id(value))
    out: list[Any] = [value]
    if isinstance(value, dict):
        for item in [*value.keys(), *value.values()]:
            out.extend(_leaves(item, seen))
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            out.extend(_leaves(item, seen))
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            out.extend(_leaves(getattr(value, f.name), seen))
    return out


def test_documents_hold_values_only(tmp_path: Path) -> None:
    """No expression, parse node or evaluator survives into what builders read."""
    modules = _load(tmp_path, {"main.tf": INSTANCES + NESTED.replace('"ingest"', '"ingest2"').replace(
        '"listed"', '"listed2"')})
    allowed = (str, int, float, bool, type(None), Location, Located, Unknown, Diagnostic, dict, list, set,
               TerraformModule, Body, SecretLiteral)  # Body: instances, nested blocks, provider configs
    assert {type(x).__name__ for x in _leaves(modules) if not isinstance(x, allowed)} == set()


LOOPS = """
resource "aws_instance" "x" {
  count         = 3
  instance_type = "m6i.large"
  tags          = { Role = element([for i in range(1000) : "api"], count.index) }
}
"""


def test_every_limit_a_scan_meets_reaches_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values are evaluated once, while loading: the build cannot meet a limit the report
    never hears of, nor see a value other than the one the loader reported on."""
    from conftest import scan_tree

    from bitriver_lint.graph import Role
    from bitriver_lint.loaders import terraform_eval

    met: list[tuple[str, str]] = []
    real_report = terraform_eval.Guard.report

    def report(guard: terraform_eval.Guard, location: Location | None, message: str) -> None:
        met.append((str(location), message))
        real_report(guard, location, message)

    monkeypatch.setattr(terraform_eval.Guard, "report", report)
    (tmp_path / "main.tf").write_text(LOOPS)
    # Room for the loops of the three instances once (3,000 each), not twice: three API servers.
    monkeypatch.setattr(terraform_eval, "LIMITS", dataclasses.replace(terraform_eval.LIMITS, loop_steps=12_000))
    result = scan_tree(tmp_path)
    assert met == [] and [c.name for c in result.graph.components(Role.API)] == [
        "aws_instance.x[0]", "aws_instance.x[1]", "aws_instance.x[2]"]
    # Room for two: the third instance's value is unknown, and the report says why.
    monkeypatch.setattr(terraform_eval, "LIMITS", dataclasses.replace(terraform_eval.LIMITS, loop_steps=7_500))
    result = scan_tree(tmp_path)
    assert len(met) == 1
    assert [(f.rule_id, str(f.location), f.message) for f in result.findings if f.rule_id == "BRL001"] == [
        ("BRL001", met[0][0], met[0][1])]
    assert [c.name for c in result.graph.components(Role.API)] == ["aws_instance.x[0]", "aws_instance.x[1]"]


SHARED_MODULE = """
variable "name" {}
resource "aws_security_group" "this" {
  name        = "${var.name}-sg"
  description = "web"
  ingress {
    from_port   = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0", var.name]
    tags        = {kind = "edge", "owner" = -1, ok = true}
    big         = 1{zeros}
  }
}
"""


def test_instances_of_one_module_share_only_what_reads_nothing(tmp_path: Path) -> None:
    # Values written as literals are computed once per module and shared by its instances;
    # any value that reads a variable is each instance's own.
    docs = _load(tmp_path, {
        "main.tf": 'module "a" {\n  source = "./m"\n  name = "a"\n}\nmodule "b" {\n  source = "./m"\n  name = "b"\n}\n',
        "m/main.tf": SHARED_MODULE.replace("{zeros}", "0" * 200)})
    groups = {d.prefix: d.resources[0] for d in docs if d.prefix}
    assert sorted(groups) == ["module.a.", "module.b."]
    for label, group in (("a", groups["module.a."]), ("b", groups["module.b."])):
        assert group.arg("name") == f"{label}-sg" and group.arg("description") == "web"
        ingress = group.first("ingress")
        assert ingress is not None
        assert ingress.arg("cidr_blocks") == ["0.0.0.0/0", label]
        assert (ingress.arg("from_port"), ingress.arg("protocol")) == (443, "tcp")
        assert ingress.arg("tags") == {"kind": "edge", "owner": -1, "ok": True}
        assert isinstance(ingress.arg("big"), Unknown)  # over the number limit in every instance
    root = next(d for d in docs if not d.prefix)
    limits = [d for d in root.diagnostics if "bits" in d.message]
    assert [str(d.location) for d in limits] == ["m/main.tf:11:19"]  # reported once, where it is written


def test_literal_expressions_are_told_from_those_that_read(tmp_path: Path) -> None:
    attributes, _, _ = terraform.parse_file(
        'a = 1\nb = "x"\nc = ["x", {k = -1.5, "q" = null}]\nd = var.x\ne = "${var.x}"\nf = upper("x")\n'
        'g = {(var.k) = 1}\nh = [for x in [] : x]\ni = {k = local.v}\nj = <<EOT\nx\nEOT\n', "main.tf")
    assert {name for name, a in attributes.items() if terraform._reads_nothing(a.expr)} == {"a", "b", "c"}
