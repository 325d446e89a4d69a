"""CDN origins named by reference to what the tree builds, joined within their own root.

A computed attribute (``aws_lb.api.dns_name``, ``aws_eip.srs.public_ip``) used to evaluate as
"not defined in this module", and a module output handing one out lost its module path, so a
caller could not tell ``module.edge.aws_lb.api`` from its own ``aws_lb.api``. CloudFront built no
route to a custom origin at all, whatever it named; Cloudflare and Fastly could not follow a
module output; and an origin that could not be followed (a registry module's output, a data
source, a variable without a value) was dropped in silence.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_tree

from bitriver_lint.config import Config
from bitriver_lint.graph import Component, Role, ServiceGraph
from bitriver_lint.loaders import terraform
from bitriver_lint.loaders.terraform_document import AFTER_APPLY
from bitriver_lint.model import Unknown
from bitriver_lint.workspace import Workspace

EDGE_MODULE = """\
resource "aws_lb" "api" {
  name     = "api"
  internal = true
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
}

output "lb_dns_name" {
  value = aws_lb.api.dns_name
}
"""

DISTRIBUTION = """\
resource "aws_cloudfront_distribution" "live" {
  enabled = true
  origin {
    origin_id   = "origin"
    domain_name = %s
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "%s"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }
  default_cache_behavior {
    target_origin_id       = "origin"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
"""

CALL_EDGE = 'module "edge" {\n  source = "./modules/edge"\n}\n'  # 3 lines: the distribution starts at line 4


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _routed(graph: ServiceGraph) -> dict[str, list[str]]:
    """Each CDN's id and the components its routes reach."""
    out: dict[str, list[str]] = {}
    for cdn in graph.components(Role.CDN):
        reached = set()
        for listener in graph.listeners(cdn):
            for _, target, _ in graph.out_edges(listener.id, "routes"):
                component = graph.component_of(graph.node(target))  # type: ignore[arg-type]
                assert isinstance(component, Component)
                reached.add(component.id)
        out[cdn.id] = sorted(reached)
    return out


def _findings(root: Path, *rules: str) -> list[tuple[str, str, str]]:
    result = scan_tree(root)
    return [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id in rules]


# -- the evaluator: computed attributes name their resource, with its module path --------------

def test_a_computed_attribute_is_known_after_apply_and_keeps_its_module_path(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": CALL_EDGE + 'resource "aws_lb" "api" {\n  name = "root"\n}\n'
                      'output "own" {\n  value = aws_lb.api.dns_name\n}\n'
                      'output "theirs" {\n  value = module.edge.lb_dns_name\n}\n',
                      "modules/edge/main.tf": EDGE_MODULE})
    # Read through the loader's own module source: the documents keep resources, not outputs.
    sources = terraform.load_sources(["main.tf", "modules/edge/main.tf"], Workspace(tmp_path), Config())
    source = next(s for s in sources if not s.prefix)
    own = source.output("own", "own")
    theirs = source.output("theirs", "theirs")
    assert own == Unknown(("aws_lb.api",), "aws_lb.api.dns_name", why=AFTER_APPLY)
    assert theirs == Unknown(("module.edge.aws_lb.api",), "module.edge.aws_lb.api.dns_name", why=AFTER_APPLY)


# -- CloudFront: a custom origin named by reference routes to what that resource built ----------

def test_cloudfront_routes_to_the_alb_a_module_output_names(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": CALL_EDGE + DISTRIBUTION % ("module.edge.lb_dns_name", "https-only"),
                      "modules/edge/main.tf": EDGE_MODULE})
    graph = scan_tree(tmp_path).graph
    assert _routed(graph) == {"tf::aws_cloudfront_distribution.live":
                              ["terraform:modules/edge/main.tf#module.edge.aws_lb.api@"]}


def test_cloudfront_pulling_the_alb_on_a_port_it_does_not_serve_is_brl603(tmp_path: Path) -> None:
    # With no route, the plain-HTTP pull from an ALB that listens on 443 only went unseen.
    _write(tmp_path, {"main.tf": CALL_EDGE + DISTRIBUTION % ("module.edge.lb_dns_name", "http-only"),
                      "modules/edge/main.tf": EDGE_MODULE})
    (found,) = _findings(tmp_path, "BRL603")
    assert found[:2] == ("BRL603", "main.tf:8:19")
    assert "port 80 of module.edge.aws_lb.api" in found[2] and "listens on 443" in found[2]


INSTANCE = """\
resource "aws_instance" "srs" {
  ami           = "ami-1"
  instance_type = "c6i.large"
  tags          = { Role = "proxy" }
}
"""


@pytest.mark.parametrize("extra, domain", [
    ("", "aws_instance.srs.public_dns"),
    ('resource "aws_eip" "srs" {\n  instance = aws_instance.srs.id\n}\n', "aws_eip.srs.public_ip"),
    ('resource "aws_eip" "srs" {\n  domain = "vpc"\n}\n'
     'resource "aws_eip_association" "srs" {\n  allocation_id = aws_eip.srs.id\n'
     '  instance_id   = aws_instance.srs.id\n}\n', "aws_eip.srs.public_ip"),
], ids=["public-dns", "eip-instance", "eip-association"])
def test_cloudfront_routes_to_the_instance_a_reference_names(tmp_path: Path, extra: str, domain: str) -> None:
    _write(tmp_path, {"main.tf": INSTANCE + extra + DISTRIBUTION % (domain, "https-only")})
    assert _routed(scan_tree(tmp_path).graph) == {
        "tf::aws_cloudfront_distribution.live": ["tf::aws_instance.srs#component"]}


def test_cloudfront_pulls_no_health_check_from_an_api_instance(tmp_path: Path) -> None:
    """Guard against over-reporting: CloudFront has no origin health checks to configure, so
    its pool to an API instance is no BRL302 (the route itself is new)."""
    _write(tmp_path, {"main.tf": INSTANCE.replace('"proxy"', '"api"') + DISTRIBUTION % (
        "aws_instance.srs.public_dns", "https-only")})
    result = scan_tree(tmp_path)
    assert _routed(result.graph) == {"tf::aws_cloudfront_distribution.live": ["tf::aws_instance.srs#component"]}
    assert [f for f in result.active if f.rule_id == "BRL302"] == []


# -- two roots calling one module never cross -------------------------------------------------

def _two_roots(root: Path, module: str, caller: str) -> None:
    _write(root, {"modules/edge/main.tf": module})
    for env in ("prod", "staging"):
        _write(root, {f"envs/{env}/main.tf": 'module "edge" {\n  source = "../../modules/edge"\n}\n' + caller})


def test_two_roots_cloudfront_in_each_root_reaches_its_own_module_alb(tmp_path: Path) -> None:
    _two_roots(tmp_path, EDGE_MODULE, DISTRIBUTION % ("module.edge.lb_dns_name", "https-only"))
    assert _routed(scan_tree(tmp_path).graph) == {
        f"tf:envs/{env}:aws_cloudfront_distribution.live":
            [f"terraform:modules/edge/main.tf#module.edge.aws_lb.api@envs/{env}"] for env in ("prod", "staging")}


def test_two_roots_cloudfront_in_the_shared_module_reaches_its_own_instance(tmp_path: Path) -> None:
    module = INSTANCE + 'resource "aws_eip" "srs" {\n  instance = aws_instance.srs.id\n}\n' + DISTRIBUTION % (
        "aws_eip.srs.public_ip", "https-only")
    _two_roots(tmp_path, module, "")
    assert _routed(scan_tree(tmp_path).graph) == {
        f"tf:envs/{env}:module.edge.aws_cloudfront_distribution.live":
            [f"tf:envs/{env}:module.edge.aws_instance.srs#component"] for env in ("prod", "staging")}


RECORD = """\
resource "cloudflare_zone_settings_override" "z" {
  zone_id = "z1"
  settings {
    ssl = "strict"
  }
}

resource "cloudflare_record" "live" {
  zone_id = "z1"
  name    = "live"
  content = module.edge.lb_dns_name
  type    = "CNAME"
  proxied = true
}
"""

FASTLY = """\
resource "fastly_service_vcl" "live" {
  name = "live"
  backend {
    name    = "origin"
    address = module.edge.lb_dns_name
    port    = 443
    use_ssl = true
  }
}
"""


@pytest.mark.parametrize("caller, cdn", [
    (RECORD, "tf:envs/{env}:cloudflare:z1"),
    (FASTLY, "tf:envs/{env}:fastly_service_vcl.live"),
], ids=["cloudflare-record", "fastly-backend"])
def test_two_roots_a_cdn_follows_a_module_output_to_its_own_alb(tmp_path: Path, caller: str, cdn: str) -> None:
    # The output lost its module path: the root looked for its own aws_lb.api, and found none.
    _two_roots(tmp_path, EDGE_MODULE, caller)
    assert _routed(scan_tree(tmp_path).graph) == {
        cdn.format(env=env): [f"terraform:modules/edge/main.tf#module.edge.aws_lb.api@envs/{env}"]
        for env in ("prod", "staging")}


# -- what the join cannot follow is a note at the origin, not silence ---------------------------

REGISTRY = 'module "edge" {\n  source  = "terraform-aws-modules/alb/aws"\n  version = "9.0.0"\n}\n'
DATA = 'data "aws_lb" "api" {\n  name = "api"\n}\n\n'
VARIABLE = 'variable "origin_host" {\n  type = string\n}\n\n'


@pytest.mark.parametrize("preamble, domain, reason", [
    (REGISTRY, "module.edge.lb_dns_name",
     "module.edge.lb_dns_name is an output of module edge, whose files are not in this tree"),
    (DATA, "data.aws_lb.api.dns_name",
     "data.aws_lb.api.dns_name is read from the data source data.aws_lb.api, which names something these files "
     "do not create"),
    (VARIABLE, "var.origin_host", "var.origin_host has no value"),
], ids=["registry-module", "data-source", "variable"])
def test_cloudfront_origin_the_join_cannot_follow_is_a_note(tmp_path: Path, preamble: str, domain: str,
                                                           reason: str) -> None:
    _write(tmp_path, {"main.tf": preamble + DISTRIBUTION % (domain, "https-only")})
    line = preamble.count("\n") + 5
    assert _findings(tmp_path, "BRL002") == [(
        "BRL002", f"main.tf:{line}:19",
        f"which node aws_cloudfront_distribution.live pulls origin origin from is unknown: {reason}, so the "
        "rules about its origins (exposure, TLS, health checks) do not see the path to it")]


def test_cloudflare_record_to_a_registry_module_output_is_a_note(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": REGISTRY + RECORD})
    assert _findings(tmp_path, "BRL002") == [(
        "BRL002", "main.tf:15:13",
        "which node cloudflare zone z1 pulls origin record live from is unknown: module.edge.lb_dns_name is an "
        "output of module edge, whose files are not in this tree, so the rules about its origins (exposure, TLS, "
        "health checks) do not see the path to it")]


def test_fastly_backend_to_a_variable_without_value_is_a_note(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": VARIABLE + FASTLY.replace("module.edge.lb_dns_name", "var.origin_host")})
    assert _findings(tmp_path, "BRL002") == [(
        "BRL002", "main.tf:9:15",
        "which node fastly_service_vcl.live pulls origin origin from is unknown: var.origin_host has no value, so "
        "the rules about its origins (exposure, TLS, health checks) do not see the path to it")]


def test_an_origin_written_as_an_address_is_no_note(tmp_path: Path) -> None:
    """Guard against over-reporting: a host name as written is outside the tree, not a
    reference the join failed to follow."""
    _write(tmp_path, {"main.tf": DISTRIBUTION % ('"origin.example.com"', "https-only")})
    assert _findings(tmp_path, "BRL002", "BRL604") == []


# -- a proxy instance a CDN pulls from listens on that port: its exposure is judged --------------

OPEN_GROUP = """\
resource "aws_security_group" "srs" {
  name = "srs"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    %s
  }
}

"""
GUARDED_INSTANCE = INSTANCE.replace('  tags ', '  vpc_security_group_ids = [aws_security_group.srs.id]\n  tags ')


def test_a_proxy_instance_behind_cloudfront_open_to_everyone_is_brl106(tmp_path: Path) -> None:
    # The proxy on the instance declared no port, so nothing said it listened on 443 at all.
    _write(tmp_path, {"main.tf": OPEN_GROUP % 'cidr_blocks = ["0.0.0.0/0"]' + GUARDED_INSTANCE
                      + DISTRIBUTION % ("aws_instance.srs.public_dns", "https-only")})
    ((rule, where, message),) = _findings(tmp_path, "BRL106")
    assert (rule, where) == ("BRL106", "main.tf:3:3")
    assert message.startswith("port 443 (443/tcp) of aws_instance.srs is reachable from anyone on the internet")
    result = scan_tree(tmp_path)
    (finding,) = [f for f in result.active if f.rule_id == "BRL106"]
    assert next((str(r.location), r.message) for r in finding.related) == (
        "main.tf:21:19", "binds port 443 of all interfaces (aws_cloudfront_distribution.live pulls its origin on it)")


def test_a_proxy_instance_behind_cloudfront_open_to_cloudfront_only_is_clean(tmp_path: Path) -> None:
    """Guard against over-reporting: the CloudFront origin-facing prefix list is the CDN."""
    prefix_list = ('data "aws_ec2_managed_prefix_list" "cloudfront" {\n'
                   '  name = "com.amazonaws.global.cloudfront.origin-facing"\n}\n\n')
    group = OPEN_GROUP % "prefix_list_ids = [data.aws_ec2_managed_prefix_list.cloudfront.id]"
    _write(tmp_path, {"main.tf": prefix_list + group + GUARDED_INSTANCE
                      + DISTRIBUTION % ("aws_instance.srs.public_dns", "https-only")})
    assert _findings(tmp_path, "BRL106", "BRL002") == []
