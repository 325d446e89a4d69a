"""Terraform as real trees write it: security-group protocols and quoted ports, addresses of
instances, module outputs, regions from zones, read replicas, environments per root module."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

from bitriver_lint.graph import Allow, Host

SG = """
resource "aws_security_group" "web" {
  ingress {
    from_port   = 3
    to_port     = 4
    protocol    = "%s"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = "%s"
    to_port     = "%s"
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "web" {
  instance_type          = "m6i.xlarge"
  vpc_security_group_ids = [aws_security_group.web.id]
}
"""


def _sg_allows(tmp_path: Path, protocol: str, port: str) -> list[tuple[str, int, int]]:
    (tmp_path / "main.tf").write_text(SG % (protocol, port, port))
    graph = scan_tree(tmp_path).graph
    (host,) = [h for h in graph.hosts() if isinstance(h, Host) and h.name == "aws_instance.web"]
    return sorted((e.protocol, e.port_from, e.port_to) for _, _, e in graph.out_edges(host.id, "allows")
                  if isinstance(e, Allow) and e.layer == "security group")


def test_icmp_rules_open_no_port_and_quoted_ports_are_numbers(tmp_path: Path) -> None:
    for protocol in ("icmp", "ICMPv6", "1", "58"):
        assert _sg_allows(tmp_path, protocol, "22") == [("tcp", 22, 22)], protocol
    assert _sg_allows(tmp_path, "-1", "22") == [("all", 0, 65535), ("tcp", 22, 22)]
    assert _sg_allows(tmp_path, "all", "443") == [("all", 0, 65535), ("tcp", 443, 443)]


def test_terraform_roots_side_by_side_are_environments_of_their_own() -> None:
    from conftest import FIXTURES

    result = scan_tree(FIXTURES / "terraform-root-environments")
    graph = result.graph
    (database,) = [c for c in graph.components() if c.name == "aws_db_instance.main"]
    (cdn,) = [c for c in graph.components() if c.name == "aws_cloudfront_distribution.live"]
    assert graph.environment_of(database.id) == "envs/prod"
    assert graph.environment_of(cdn.id) == "envs/staging"


def test_a_root_without_provider_blocks_stays_with_its_neighbours(tmp_path: Path) -> None:
    """Terraform for the machines a compose project elsewhere runs on is one environment with it."""
    for name, body in (("db", 'resource "aws_db_instance" "main" {\n  engine = "postgres"\n}\n'),
                       ("cdn", 'resource "aws_cloudfront_distribution" "live" {\n  enabled = true\n}\n')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.tf").write_text(body)
    graph = scan_tree(tmp_path).graph
    assert {graph.environment_of(c.id) for c in graph.components()} == {"."}


ADDRESSES = """
resource "aws_instance" "api" {
  count         = 2
  instance_type = "m6i.xlarge"
  private_ip    = "10.0.1.${10 + count.index}"
  tags          = { Role = "api" }
}

resource "aws_network_interface" "extra" {
  private_ips = ["10.0.9.9"]
  attachment {
    instance     = aws_instance.api[1].id
    device_index = 1
  }
}

resource "aws_eip" "api" {
  instance                  = aws_instance.api[0].id
  associate_with_private_ip = "10.0.1.10"
  address                   = "198.51.100.7"
}

resource "aws_instance" "viewer" {
  instance_type = "t3.medium"
  tags          = { Role = "viewer" }
  network_interface {
    network_interface_id = aws_network_interface.viewer.id
    device_index         = 0
  }
}

resource "aws_network_interface" "viewer" {
  private_ip = "10.0.2.20"
}

resource "aws_eip_association" "viewer" {
  network_interface_id = aws_network_interface.viewer.id
  public_ip            = "203.0.113.20"
}
"""


def test_instances_keep_the_addresses_the_files_give_them(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ADDRESSES)
    graph = scan_tree(tmp_path).graph
    addresses = {h.name: h.addresses for h in graph.hosts()}
    assert addresses["aws_instance.api[0]"] == ["10.0.1.10", "198.51.100.7"]
    assert addresses["aws_instance.api[1]"] == ["10.0.1.11", "10.0.9.9"]
    assert addresses["aws_instance.viewer"] == ["10.0.2.20", "203.0.113.20"]


def test_a_backend_address_is_the_component_on_that_host(tmp_path: Path) -> None:
    from conftest import FIXTURES

    result = scan_tree(FIXTURES / "terraform-addresses")
    graph = result.graph
    routed = sorted({graph.component_of(graph.node(target)).name for _, target, _ in graph.edges("routes")})
    assert routed == ["aws_instance.api[0]", "aws_instance.api[1]"]
    assert not [d for d in graph.dangling if d.kind in ("backend_server", "undescribed_address")]


ATTACHED = """
resource "aws_instance" "web" {
  count         = 2
  instance_type = "m6i.xlarge"
  tags          = { Role = "api" }
}
resource "aws_lb" "this" {}
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}
resource "aws_lb_target_group" "api" {
  port     = 8080
  protocol = "HTTP"
  health_check {
    path = "/healthz"
  }
}
resource "aws_lb_target_group_attachment" "api" {
  count            = 2
  target_group_arn = aws_lb_target_group.api.arn
  target_id        = aws_instance.web[count.index].id
  port             = 8080
}
"""


def test_an_attachment_per_count_index_is_those_instances(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ATTACHED)
    result = scan_tree(tmp_path)
    graph = result.graph
    routed = sorted(graph.component_of(graph.node(target)).name for _, target, _ in graph.edges("routes"))
    assert routed == ["aws_instance.web[0]", "aws_instance.web[1]"]
    assert not graph.dangling and not result.active


def test_module_outputs_are_the_module_values_and_registry_ones_stay_unknown(tmp_path: Path) -> None:
    from bitriver_lint.model import Unknown

    (tmp_path / "modules" / "sg").mkdir(parents=True)
    (tmp_path / "modules" / "sg" / "main.tf").write_text(
        'resource "aws_security_group" "this" {\n  name = "x"\n}\n'
        'output "id" {\n  value = aws_security_group.this.id\n}\n'
        'output "port" {\n  value = 8080\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "sg" {\n  source = "./modules/sg"\n}\n'
        'module "remote" {\n  source = "terraform-aws-modules/security-group/aws"\n}\n'
        'locals {\n  port = module.sg.port\n}\n'
        'resource "aws_security_group_rule" "a" {\n  type = "ingress"\n'
        '  security_group_id = module.sg.id\n  source_security_group_id = module.remote.security_group_id\n'
        '  from_port = local.port\n  to_port = local.port\n  protocol = "tcp"\n}\n')
    from bitriver_lint.config import Config
    from bitriver_lint.loaders.terraform import load
    from bitriver_lint.workspace import Workspace

    modules = load(["main.tf", "modules/sg/main.tf"], Workspace(tmp_path), Config())
    (rule,) = modules[0].of_type("aws_security_group_rule")
    assert rule.arg("security_group_id") == "module.sg.aws_security_group.this"
    assert rule.arg("from_port") == 8080
    unknown = rule.arg("source_security_group_id")
    assert isinstance(unknown, Unknown) and unknown.names == ("module.remote.security_group_id",)


def test_a_module_security_group_as_a_source_is_its_members_subnets(tmp_path: Path) -> None:
    (tmp_path / "edge").mkdir()
    (tmp_path / "edge" / "main.tf").write_text(
        'resource "aws_subnet" "a" {\n  cidr_block = "10.70.1.0/24"\n}\n'
        'resource "aws_security_group" "lb" {\n  name = "lb"\n}\n'
        'resource "aws_lb" "this" {\n  subnets         = [aws_subnet.a.id]\n'
        '  security_groups = [aws_security_group.lb.id]\n}\n'
        'output "sg_id" {\n  value = aws_security_group.lb.id\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "edge" {\n  source = "./edge"\n}\n'
        'resource "aws_security_group" "api" {\n  ingress {\n    from_port = 8080\n    to_port = 8080\n'
        '    protocol = "tcp"\n    security_groups = [module.edge.sg_id]\n  }\n}\n'
        'resource "aws_instance" "api" {\n  instance_type = "m6i.xlarge"\n'
        '  vpc_security_group_ids = [aws_security_group.api.id]\n}\n')
    graph = scan_tree(tmp_path).graph
    (host,) = [h for h in graph.hosts() if h.name == "aws_instance.api"]
    allows = [e.cidrs for _, _, e in graph.out_edges(host.id, "allows") if isinstance(e, Allow)]
    assert allows == [["10.70.1.0/24"]]


def test_a_root_rule_on_a_module_group_in_the_newer_resource_form(tmp_path: Path) -> None:
    (tmp_path / "srs").mkdir()
    (tmp_path / "srs" / "main.tf").write_text(
        'resource "aws_security_group" "srs" {\n  name = "srs"\n}\n'
        'resource "aws_instance" "srs" {\n  instance_type = "c6i.xlarge"\n'
        '  vpc_security_group_ids = [aws_security_group.srs.id]\n  tags = { Role = "srs" }\n}\n'
        'output "sg" {\n  value = aws_security_group.srs.id\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "srs" {\n  source = "./srs"\n}\n'
        'resource "aws_vpc_security_group_ingress_rule" "api" {\n  security_group_id = module.srs.sg\n'
        '  from_port = 1985\n  to_port = 1985\n  ip_protocol = "tcp"\n  cidr_ipv4 = "0.0.0.0/0"\n}\n')
    graph = scan_tree(tmp_path).graph
    (host,) = [h for h in graph.hosts() if h.name == "module.srs.aws_instance.srs"]
    allows = [(e.cidrs, e.port_from) for _, _, e in graph.out_edges(host.id, "allows") if isinstance(e, Allow)]
    assert allows == [(["0.0.0.0/0"], 1985)]
