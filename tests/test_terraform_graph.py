"""Terraform resources as graph facts: autoscaling groups, target groups, exposure via SGs."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

ASG = """
provider "aws" {
  region = "eu-west-1"
}

resource "aws_security_group" "api" {
  ingress {
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }
}

resource "aws_launch_template" "api" {
  instance_type          = "m6i.xlarge"
  vpc_security_group_ids = [aws_security_group.api.id]
}

resource "aws_autoscaling_group" "api" {
  min_size          = %(min)d
  max_size          = 4
  target_group_arns = [aws_lb_target_group.api.arn]
  launch_template {
    id = aws_launch_template.api.id
  }
  tag {
    key                 = "Role"
    value               = "api"
    propagate_at_launch = true
  }
}

resource "aws_lb_target_group" "api" {
  port     = 8080
  protocol = "HTTP"
  health_check {
    path = "/healthz"
  }
}

resource "aws_cloudfront_distribution" "live" {
  origin {
    origin_id   = "api"
    domain_name = "origin.example.com"
    custom_origin_config {
      origin_protocol_policy = "https-only"
    }
  }
  default_cache_behavior {
    target_origin_id = "api"
  }
}
"""


def _scan(tmp_path: Path, minimum: int) -> list[str]:
    (tmp_path / "main.tf").write_text(ASG % {"min": minimum})
    result = scan_tree(tmp_path, select=["BRL404", "BRL104", "BRL405"])
    assert result.topology == "cdn"
    return [f"{f.rule_id} {f.location}" for f in result.active]


def test_asg_min_size_counts_as_api_instances(tmp_path: Path) -> None:
    assert _scan(tmp_path, 1) == ["BRL404 main.tf:21:23"]  # the min_size value
    assert _scan(tmp_path, 2) == []


def test_asg_joins_its_target_group_and_keeps_its_security_group(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ASG % {"min": 2})
    result = scan_tree(tmp_path)
    graph = result.graph
    (api,) = [c for c in graph.components() if c.name == "aws_autoscaling_group.api"]
    (host,) = graph.hosts_of(api.id)
    assert host.host_kind == "instance-group" and "security group" in host.described_layers
    assert api.replicas is not None and api.replicas.value == 2


EDGE_MODULE = """
resource "aws_lb" "edge" {
  load_balancer_type = "application"
}

resource "aws_lb_target_group" "api" {
  port     = 8080
  protocol = "HTTP"
  health_check {
    path = "/healthz"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "HTTPS"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_autoscaling_group" "api" {
  min_size          = 2
  max_size          = 4
  target_group_arns = [aws_lb_target_group.api.arn]
  tag {
    key                 = "Role"
    value               = "api"
    propagate_at_launch = true
  }
}
"""


def test_roots_that_call_one_module_get_a_load_balancer_each_with_their_own_targets(tmp_path: Path) -> None:
    """envs/prod and envs/staging call modules/edge: two ALBs from one file, each forwarding to
    its own root's auto scaling group (not one node for both, nor both groups behind each)."""
    (tmp_path / "modules" / "edge").mkdir(parents=True)
    (tmp_path / "modules" / "edge" / "main.tf").write_text(EDGE_MODULE)
    for env in ("prod", "staging"):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            'provider "aws" {\n  region = "eu-west-1"\n}\n\nmodule "edge" {\n  source = "../../modules/edge"\n}\n')
    graph = scan_tree(tmp_path).graph
    lbs = sorted(c.id for c in graph.components() if c.role == "lb")
    assert lbs == ["terraform:modules/edge/main.tf#module.edge.aws_lb.edge@envs/prod",
                   "terraform:modules/edge/main.tf#module.edge.aws_lb.edge@envs/staging"]
    for lb, env in zip(lbs, ("prod", "staging"), strict=True):
        targets = {graph.component_of(graph.node(t)).id  # type: ignore[arg-type]
                   for listener in graph.listeners(graph.node(lb))  # type: ignore[arg-type]
                   for _, t, _ in graph.out_edges(listener.id, "routes")}
        assert targets == {f"tf:envs/{env}:module.edge.aws_autoscaling_group.api#component"}


ECS = """
resource "aws_security_group" "svc" {
  ingress {
    from_port   = 0
    to_port     = 65535
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_task_definition" "api" {
  family = "bitriver-api"
  container_definitions = jsonencode([
    {
      name         = "api"
      image        = "ghcr.io/bitriver/bitriver-live:1.4.2"
      portMappings = [{ containerPort = 8080 }]
      environment  = [{ name = "POSTGRES_PASSWORD", value = "in-the-task" }]
    }
  ])
}

resource "aws_ecs_service" "api" {
  task_definition = aws_ecs_task_definition.api.arn
  desired_count   = 2
  network_configuration {
    subnets          = ["subnet-123"]
    security_groups  = [aws_security_group.svc.id]
    assign_public_ip = true
  }
}
"""


def test_ecs_service_containers_are_components_behind_the_service_sg(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ECS)
    result = scan_tree(tmp_path, select=["BRL104", "BRL602"])
    found = [(f.rule_id, str(f.location)) for f in result.active]
    # The security group admits everything and the task has a public IP: 8080 is open, and the
    # task definition carries a literal password.
    assert found == [("BRL104", "main.tf:3:3"), ("BRL602", "main.tf:13:27")]
    (api,) = result.graph.components()
    assert api.replicas is not None and api.replicas.value == 2


def test_reference_to_an_undefined_resource_dangles(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "api" {\n  instance_type          = "m6i.xlarge"\n'
        '  vpc_security_group_ids = [aws_security_group.missing.id]\n  tags = { Role = "api" }\n}\n')
    result = scan_tree(tmp_path, select=["BRL604"])
    assert [(f.rule_id, str(f.location), f.message.split(",")[0]) for f in result.active] == [
        ("BRL604", "main.tf:3:28", "a Terraform reference names 'aws_security_group.missing'")
    ]


def test_aurora_cluster_needs_a_reader(tmp_path: Path) -> None:
    cluster = ('resource "aws_rds_cluster" "pg" {\n  cluster_identifier = "bitriver"\n'
               '  engine = "aurora-postgresql"\n}\n'
               'resource "aws_rds_cluster_instance" "pg" {\n  count = %d\n'
               '  cluster_identifier = aws_rds_cluster.pg.id\n  instance_class = "db.r6g.large"\n}\n'
               'resource "aws_cloudfront_distribution" "cdn" {\n}\n')
    (tmp_path / "main.tf").write_text(cluster % 1)
    found = [(f.rule_id, str(f.location)) for f in scan_tree(tmp_path, select=["BRL505"]).active]
    assert found == [("BRL505", "main.tf:5:1")]
    (tmp_path / "main.tf").write_text(cluster % 2)
    assert scan_tree(tmp_path, select=["BRL505"]).active == []


def test_security_group_sources_are_their_members_subnets(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("""
resource "aws_subnet" "ops" {
  cidr_block = "10.9.0.0/24"
}
resource "aws_subnet" "lab" {
  cidr_block = "10.8.0.0/24"
}
resource "aws_security_group" "bastion" {
}
resource "aws_security_group" "srs" {
  ingress {
    from_port       = 1985
    to_port         = 1985
    protocol        = "tcp"
    security_groups = [aws_security_group.bastion.id]
  }
}
resource "aws_instance" "bastion" {
  subnet_id              = aws_subnet.ops.id
  vpc_security_group_ids = [aws_security_group.bastion.id]
}
resource "aws_instance" "srs" {
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.srs.id]
  tags                        = { Role = "srs" }
}
""")

    def admitted() -> list[list[str]]:
        graph = scan_tree(tmp_path).graph
        return [edge.cidrs for _, _, edge in graph.edges("allows") if edge.layer == "security group"]

    assert admitted() == [["10.9.0.0/24"]]
    (tmp_path / "main.tf").write_text((tmp_path / "main.tf").read_text().replace("aws_subnet.ops.id",
                                                                                 "aws_subnet.lab.id"))
    assert admitted() == [["10.8.0.0/24"]]
    (tmp_path / "main.tf").write_text((tmp_path / "main.tf").read_text().replace(
        "  subnet_id              = aws_subnet.lab.id\n", ""))
    assert len(admitted()[0]) > 1  # a member without a known subnet: the private address space


def test_shipped_cloudfront_ranges_decide_who_is_the_cdn(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("""
resource "aws_cloudfront_distribution" "live" {
  enabled = true
}
resource "aws_security_group" "origin" {
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["130.176.88.0/21", "54.239.134.0/23"]
  }
}
resource "aws_lb" "origin" {
  load_balancer_type = "application"
  security_groups    = [aws_security_group.origin.id]
}
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.origin.arn
  port              = 443
  protocol          = "HTTPS"
}
""")

    def brl106() -> list[str]:
        return [str(f.location) for f in scan_tree(tmp_path, select=["BRL106"]).active]

    assert brl106() == ["main.tf:6:3"]  # no CDN ranges configured: those sources are just the internet
    (tmp_path / ".bitriver-lint.yaml").write_text("networks:\n  cdn: cloudfront\n")
    assert brl106() == []
    main = (tmp_path / "main.tf").read_text()
    (tmp_path / "main.tf").write_text(main.replace('"54.239.134.0/23"', '"54.239.134.0/23", "198.51.100.7/32"'))
    assert brl106() == ["main.tf:6:3"]  # one office address beside CloudFront's is still outside the CDN


def test_root_modules_side_by_side_are_separate_deployments(tmp_path: Path) -> None:
    from conftest import FIXTURES, brief

    origin = (FIXTURES / "origin-edge-aws" / "main.tf").read_text()
    for env in ("prod", "staging"):
        (tmp_path / env).mkdir()
        (tmp_path / env / "main.tf").write_text(origin)
    result = scan_tree(tmp_path)
    # The fixture alone reports one note; side by side, each environment reports its own and
    # nothing more (no "TLS terminated twice" across environments).
    assert brief(result) == ["BRL002 prod/main.tf:42:1", "BRL002 staging/main.tf:42:1"]
    graph = result.graph
    routes = list(graph.edges("routes"))
    assert len(routes) >= 4
    for source, target, _ in routes:
        lb, backend = graph.node(source), graph.node(target)
        assert lb.location.path.split("/")[0] == backend.location.path.split("/")[0], (source, target)


GENERATED_ALB = """
resource "aws_lb" "this" {
  count = 1
}
resource "aws_lb_listener" "this" {
  for_each          = { https = { port = 443, protocol = "HTTPS", group = "api" } }
  load_balancer_arn = aws_lb.this[0].arn
  port              = each.value.port
  protocol          = each.value.protocol
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.value.group].arn
  }
}
resource "aws_lb_target_group" "this" {
  for_each = { api = { port = 8080, health = { path = "%s" } } }
  port     = each.value.port
  protocol = "HTTP"
  health_check {
    path = try(each.value.health.path, "/")
  }
}
resource "aws_lb_target_group_attachment" "api" {
  target_group_arn = aws_lb_target_group.this["api"].arn
  target_id        = aws_instance.api.id
  port             = 8080
}
resource "aws_instance" "api" {
  instance_type = "m6i.xlarge"
  tags          = { Role = "api" }
}
"""


def test_load_balancers_generated_with_count_and_for_each(tmp_path: Path) -> None:
    """The shape community ALB modules produce: listeners and target groups per map entry."""
    (tmp_path / "main.tf").write_text(GENERATED_ALB % "/healthz")
    result = scan_tree(tmp_path)
    graph = result.graph
    (lb,) = [c for c in graph.components() if c.name == "aws_lb.this"]
    assert [(li.port, li.tls) for li in graph.listeners(lb)] == [(443, True)]
    routed = [graph.component_of(graph.node(target)).name for _, target, _ in graph.edges("routes")]
    assert routed == ["aws_instance.api"]
    assert [f.rule_id for f in result.active if f.rule_id in ("BRL302", "BRL604")] == []
    (tmp_path / "main.tf").write_text(GENERATED_ALB % "/")
    assert [str(f.location) for f in scan_tree(tmp_path).active if f.rule_id == "BRL302"] == ["main.tf:20:12"]


def test_environments_calling_one_module_stay_apart(tmp_path: Path) -> None:
    (tmp_path / "modules" / "app").mkdir(parents=True)
    (tmp_path / "modules" / "app" / "main.tf").write_text("""
variable "api_count" {}
variable "zone" {}
resource "aws_instance" "api" {
  count             = var.api_count
  instance_type     = "m6i.xlarge"
  availability_zone = var.zone
  tags              = { Role = "api" }
}
resource "aws_db_instance" "postgres" {
  engine                  = "postgres"
  instance_class          = "db.r6g.large"
  availability_zone       = var.zone
  multi_az                = true
  backup_retention_period = 7
}
""")
    for env, count, zone in (("prod", 2, "eu-west-1a"), ("staging", 1, "eu-west-1b")):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            f'provider "aws" {{\n  region = "eu-west-1"\n}}\n'
            f'module "app" {{\n  source    = "../../modules/app"\n  api_count = {count}\n  zone      = "{zone}"\n}}\n')
    result = scan_tree(tmp_path, topology="cdn", select=["BRL401", "BRL404"])
    # Each environment is judged on its own: staging has one API (BRL404); no API sits in
    # another zone than its own environment's database (no BRL401 across environments).
    assert [(f.rule_id, f.message) for f in result.active] == [
        ("BRL404", "only 1 API instance(s) in eu-west-1; the guide keeps at least 2 per region")]
    apis = [c for c in result.graph.components() if c.name.endswith("aws_instance.api[0]")]
    assert len(apis) == 2  # one per environment, not one overwriting the other


PREFIX_LISTS = """
resource "aws_cloudfront_distribution" "live" {
  enabled = true
}
data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}
resource "aws_ec2_managed_prefix_list" "office" {
  name           = "office"
  address_family = "IPv4"
  max_entries    = 1
  entry {
    cidr = "198.51.100.0/24"
  }
}
resource "aws_security_group" "origin" {
  ingress {
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [%s]
  }
}
resource "aws_lb" "origin" {
  load_balancer_type = "application"
  security_groups    = [aws_security_group.origin.id]
}
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.origin.arn
  port              = 443
  protocol          = "HTTPS"
}
"""


def test_prefix_lists_in_security_groups(tmp_path: Path) -> None:
    def findings(lists: str) -> list[tuple[str, str]]:
        (tmp_path / "main.tf").write_text(PREFIX_LISTS % lists)
        return [(f.rule_id, str(f.location)) for f in scan_tree(tmp_path, select=["BRL106", "BRL002"]).active]

    # CloudFront's origin-facing list is the CDN itself.
    assert findings("data.aws_ec2_managed_prefix_list.cloudfront.id") == []
    # A list of our own is its entries: an office range is not the CDN.
    assert findings("aws_ec2_managed_prefix_list.office.id") == [("BRL106", "main.tf:17:3")]
    # A bare ID says nothing about its entries: a note, not a guess either way.
    assert findings('"pl-0a1b2c3d"') == [("BRL002", "main.tf:17:3")]


def test_user_data_assignments_in_their_usual_forms(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
resource "aws_instance" "api" {
  tags      = { Role = "api" }
  user_data = <<-EOT
    #!/bin/bash
    # BITRIVER_LIVE_ADDR=":1111" was the old port
    export BITRIVER_LIVE_ADDR=":9090"
    docker run -d -e BITRIVER_VIEWER_ORIGIN='https://live.example.org' ghcr.io/bitriver/bitriver-live
    cat > compose.yaml <<'YAML'
    services:
      api:
        environment:
          BITRIVER_LIVE_TLS_CERT: /certs/fullchain.pem
    YAML
  EOT
}
''')
    (api,) = [c for c in scan_tree(tmp_path).graph.components() if c.name == "aws_instance.api"]
    assert {k: (v.value, str(v.location)) for k, v in api.env.items()} == {
        "BITRIVER_LIVE_ADDR": (":9090", "main.tf:7:12"),
        "BITRIVER_VIEWER_ORIGIN": ("https://live.example.org", "main.tf:8:22"),
        "BITRIVER_LIVE_TLS_CERT": ("/certs/fullchain.pem", "main.tf:13:11"),
    }


def test_security_group_rules_in_attribute_form(tmp_path: Path) -> None:
    text = """
variable "rules" {
  type = list(any)
}
resource "aws_security_group" "ingest" {
  ingress = [
    { from_port = 1935, to_port = 1935, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"] },
  ]
}
resource "aws_security_group" "api" {
  ingress = var.rules
}
resource "aws_instance" "srs" {
  vpc_security_group_ids = [aws_security_group.ingest.id]
  tags                   = { Role = "srs" }
}
resource "aws_instance" "srs_b" {
  vpc_security_group_ids = [aws_security_group.api.id]
  tags                   = { Role = "srs" }
}
"""
    (tmp_path / "main.tf").write_text(text)
    result = scan_tree(tmp_path, topology="origin-edge", select=["BRL101", "BRL002"])
    found = [(f.rule_id, str(f.location)) for f in result.active]
    assert ("BRL101", "main.tf:6:13") in found  # RTMP open to the world, written as an attribute
    assert ("BRL002", "main.tf:11:13") in found  # rules from a variable nobody set: a note, no guess


SEGMENTS_MODULE = """variable "block_public" {
  type = bool
}

resource "aws_s3_bucket" "segments" {
  bucket = "bitriver-segments"
}

resource "aws_s3_bucket_public_access_block" "segments" {
  bucket              = aws_s3_bucket.segments.id
  block_public_acls   = var.block_public
  block_public_policy = true
}

resource "aws_cloudfront_distribution" "cdn" {
  enabled = true
  origin {
    origin_id                = "segments"
    domain_name              = aws_s3_bucket.segments.bucket_regional_domain_name
    origin_access_control_id = "oac-1"
  }
  default_cache_behavior {
    target_origin_id   = "segments"
    trusted_key_groups = ["kg-1"]
  }
}
"""


def test_a_cdn_judges_the_segment_bucket_of_its_own_root(tmp_path: Path) -> None:
    """envs/prod and envs/staging call one module whose bucket prod leaves open: prod's CDN
    reads prod's bucket, not the same-named bucket of whichever root comes last."""
    (tmp_path / "modules" / "segments").mkdir(parents=True)
    (tmp_path / "modules" / "segments" / "main.tf").write_text(SEGMENTS_MODULE)
    for env, block in (("prod", "false"), ("staging", "true")):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            'provider "aws" {\n  region = "eu-west-1"\n}\n\n'
            f'module "segments" {{\n  source       = "../../modules/segments"\n  block_public = {block}\n}}\n')
    found = [(f.rule_id, str(f.location)) for f in scan_tree(tmp_path).findings if f.rule_id == "BRL206"]
    assert found == [("BRL206", "modules/segments/main.tf:11:25")]


def test_a_bucket_is_a_segment_bucket_only_where_a_cdn_of_its_root_reads_it(tmp_path: Path) -> None:
    """Two roots each define aws_s3_bucket.media; envs/a serves it through CloudFront, envs/b
    serves another bucket: only envs/a's media bucket must be versioned."""
    def cdn(read: str) -> str:
        return f"""
resource "aws_cloudfront_distribution" "cdn" {{
  enabled = true
  origin {{
    origin_id                = "{read}"
    domain_name              = aws_s3_bucket.{read}.bucket_regional_domain_name
    origin_access_control_id = "oac-1"
  }}
  default_cache_behavior {{
    target_origin_id   = "{read}"
    trusted_key_groups = ["kg-1"]
  }}
}}
"""
    versioned = """
resource "aws_s3_bucket" "site" {
  bucket = "site-b"
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}
"""
    for env, extra in (("a", cdn("media")), ("b", versioned + cdn("site"))):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            'provider "aws" {\n  region = "eu-west-1"\n}\n\n'
            f'resource "aws_s3_bucket" "media" {{\n  bucket = "media-{env}"\n}}\n' + extra)
    found = [(f.rule_id, str(f.location)) for f in scan_tree(tmp_path).findings if f.rule_id == "BRL506"]
    assert found == [("BRL506", "envs/a/main.tf:5:1")]
