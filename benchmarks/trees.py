"""Synthetic BitRiver trees for the benchmarks: N sites, and one large Terraform file.

    python benchmarks/trees.py DIR --sites 100            # compose + HAProxy + Terraform per site
    python benchmarks/trees.py DIR --sites 10 --terraform-only
    python benchmarks/trees.py DIR --big-terraform 30000  # one file of 30,000 resources

Each site is a directory with a compose project (api, postgres, redis, srs, viewer), an HAProxy
config whose backends name those services, and a Terraform root that calls three local modules
shared by every site, as the fixtures do: ``edge`` (security groups, an ALB with a target group
and HTTPS listener, a launch template and an auto scaling group), ``db`` (RDS behind a security
group that admits the app's group) and ``cdn`` (a CloudFront distribution whose custom origin
is the ALB). Content is fixed, so the same N gives the same tree on every commit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

COMPOSE = """\
name: site{n}
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    restart: unless-stopped
    environment:
      BITRIVER_LIVE_ADDR: ":8080"
      BITRIVER_LIVE_DATABASE_URL: "postgres://bitriver:${{POSTGRES_PASSWORD:-x}}@postgres:5432/bitriver"
      BITRIVER_LIVE_REDIS_URL: "redis://redis:6379/0"
      BITRIVER_LIVE_SRS_API: "http://srs:1985"
    ports: ["8080:8080"]
    depends_on: [postgres, redis, srs]
  postgres:
    image: postgres:16-alpine
    restart: unless-stopped
    volumes: [pgdata:/var/lib/postgresql/data]
  redis:
    image: redis:7-alpine
    restart: unless-stopped
  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports: ["1935:1935"]
  viewer:
    image: ghcr.io/bitriver/bitriver-viewer:1.5.0
    restart: unless-stopped
    environment:
      PORT: "3000"
    ports: ["3000:3000"]
volumes:
  pgdata:
"""

HAPROXY = """\
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend www
    bind :443 ssl crt /etc/haproxy/certs/site.pem
    acl is_viewer path_beg /viewer
    use_backend viewer_pool if is_viewer
    default_backend api_pool

frontend rtmp
    mode tcp
    bind :1935
    default_backend srs_ingest

backend api_pool
    option httpchk GET /healthz
    server api-1 api:8080 check

backend viewer_pool
    server viewer-1 viewer:3000 check

backend srs_ingest
    mode tcp
    server srs-1 srs:1935 check
"""

ROOT = """\
provider "aws" {{
  region = "eu-west-1"
}}

module "edge" {{
  source = "../../modules/edge"
  name   = "site{n}"
  vpc_id = "vpc-{n:08x}"
}}

module "db" {{
  source      = "../../modules/db"
  name        = "site{n}"
  vpc_id      = "vpc-{n:08x}"
  app_sg_id   = module.edge.app_security_group_id
  instance    = "db.m6g.large"
}}

module "cdn" {{
  source      = "../../modules/cdn"
  name        = "site{n}"
  origin_host = module.edge.lb_dns_name
}}

resource "aws_security_group" "ingest" {{
  name   = "site{n}-ingest"
  vpc_id = "vpc-{n:08x}"

  ingress {{
    from_port   = 1935
    to_port     = 1935
    protocol    = "tcp"
    cidr_blocks = ["203.0.113.0/28"]
  }}
}}
"""

EDGE = """\
variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

resource "aws_security_group" "lb" {
  name   = "${var.name}-lb"
  vpc_id = var.vpc_id

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "app" {
  name   = "${var.name}-app"
  vpc_id = var.vpc_id

  ingress {
    from_port       = 8080
    to_port         = 8080
    protocol        = "tcp"
    security_groups = [aws_security_group.lb.id]
  }
}

resource "aws_lb" "edge" {
  name               = "${var.name}-edge"
  load_balancer_type = "application"
  security_groups    = [aws_security_group.lb.id]
}

resource "aws_lb_target_group" "api" {
  name     = "${var.name}-api"
  port     = 8080
  protocol = "HTTP"
  vpc_id   = var.vpc_id

  health_check {
    path    = "/healthz"
    matcher = "200"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/bench"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_launch_template" "api" {
  instance_type          = "m6i.xlarge"
  image_id               = "ami-0abcdef1234567890"
  vpc_security_group_ids = [aws_security_group.app.id]
}

resource "aws_autoscaling_group" "api" {
  min_size          = 2
  max_size          = 6
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

output "app_security_group_id" {
  value = aws_security_group.app.id
}

output "lb_dns_name" {
  value = aws_lb.edge.dns_name
}
"""

DB = """\
variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "app_sg_id" {
  type = string
}

variable "instance" {
  type = string
}

resource "aws_security_group" "db" {
  name   = "${var.name}-db"
  vpc_id = var.vpc_id

  ingress {
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [var.app_sg_id]
  }
}

resource "aws_db_instance" "main" {
  identifier             = "${var.name}-db"
  engine                 = "postgres"
  engine_version         = "16.3"
  instance_class         = var.instance
  allocated_storage      = 100
  multi_az               = true
  storage_encrypted      = true
  vpc_security_group_ids = [aws_security_group.db.id]
}
"""

CDN = """\
variable "name" {
  type = string
}

variable "origin_host" {
  type = string
}

resource "aws_cloudfront_distribution" "viewer" {
  enabled = true
  comment = "${var.name} viewer"

  origin {
    origin_id   = "edge"
    domain_name = var.origin_host

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id       = "edge"
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

BIG_PAIR = """\
resource "aws_security_group" "sg{n}" {{
  ingress {{
    from_port = 443
    to_port = 443
    protocol = "tcp"
    cidr_blocks = ["10.{a}.{b}.0/24"]
  }}
}}
resource "aws_instance" "i{n}" {{
  ami = "ami-0abcdef1234567890"
  instance_type = "t3.small"
  vpc_security_group_ids = [aws_security_group.sg{n}.id]
}}
"""


def generate(root: Path, sites: int, *, terraform_only: bool = False) -> int:
    """Write ``sites`` sites under ``root`` (which must be empty or absent); the file count."""
    modules = root / "modules"
    for name, text in (("edge", EDGE), ("db", DB), ("cdn", CDN)):
        (modules / name).mkdir(parents=True)
        (modules / name / "main.tf").write_text(text)
    files = 3
    for n in range(sites):
        site = root / "sites" / f"site{n:04d}"
        site.mkdir(parents=True)
        (site / "main.tf").write_text(ROOT.format(n=n))
        files += 1
        if not terraform_only:
            (site / "docker-compose.yml").write_text(COMPOSE.format(n=n))
            (site / "haproxy.cfg").write_text(HAPROXY)
            files += 2
    return files


def big_terraform(path: Path, resources: int) -> int:
    """One Terraform file of ``resources`` resources (security groups and the instances in
    them, in pairs); its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(BIG_PAIR.format(n=n, a=n // 256 % 256, b=n % 256) for n in range(resources // 2))
    path.write_text(text)
    return len(text.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--sites", type=int, default=0)
    parser.add_argument("--terraform-only", action="store_true")
    parser.add_argument("--big-terraform", type=int, default=0, metavar="RESOURCES")
    args = parser.parse_args()
    if args.sites:
        print(f"{generate(args.directory, args.sites, terraform_only=args.terraform_only)} files")
    if args.big_terraform:
        print(f"{big_terraform(args.directory / 'big' / 'main.tf', args.big_terraform)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
