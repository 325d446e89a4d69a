"""Misreadings found by running the scanner on public Cloudflare and Google Cloud trees,
each reproduced on a small tree of our own: the value or wording, at its file, line and column."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import scan_tree

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Component, Listener
from bitriver_lint.loaders import iptables


def _scan(tmp_path: Path, body: str) -> ScanResult:
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    return scan_tree(tmp_path)


def _at(body: str, needle: str) -> str:
    index = body.index(needle)
    return f"main.tf:{body.count(chr(10), 0, index) + 1}:{index - body.rfind(chr(10), 0, index)}"


# A record whose proxying is a module input: common where one module serves a zone's proxied
# and DNS-only names. Until now such a record was dropped without a word.
_PROXIED_BY_VARIABLE = """variable "proxied" {
  type = bool
}

resource "cloudflare_dns_record" "live" {
  zone_id = var.zone_id
  name    = "live.example.com"
  content = "203.0.113.10"
  type    = "A"
  proxied = var.proxied
  ttl     = 1
}
"""


def test_a_record_proxied_by_a_variable_without_a_value_is_a_note_naming_it(tmp_path: Path) -> None:
    result = _scan(tmp_path, _PROXIED_BY_VARIABLE)
    notes = [(f.rule_id, str(f.location), f.message) for f in result.active]
    assert [(rule, where) for rule, where, _ in notes] == [("BRL002", _at(_PROXIED_BY_VARIABLE, "var.proxied\n"))]
    assert notes[0][2].startswith("whether cloudflare_dns_record.live is proxied through Cloudflare is unknown: "
                                  "proxied = var.proxied has no value")


def test_a_record_proxied_by_a_variable_with_a_default_is_read_not_noted(tmp_path: Path) -> None:
    body = _PROXIED_BY_VARIABLE.replace("type = bool\n", "type    = bool\n  default = false\n")
    result = _scan(tmp_path, body)
    assert [f.rule_id for f in result.active] == []
    assert result.graph.components() == []  # DNS only: Cloudflare fronts nothing


# Google Cloud's firewall layers in Google's words: a Cloud SQL instance open to everyone
# through its authorized networks, and a VM whose VPC firewall rule admits the internet.
_CLOUD_SQL = """provider "google" {
  region = "europe-west1"
}

resource "google_sql_database_instance" "db" {
  name             = "live-db"
  database_version = "POSTGRES_15"
  region           = "europe-west1"
  settings {
    tier              = "db-custom-2-7680"
    availability_type = "REGIONAL"
    ip_configuration {
      ipv4_enabled = true
      authorized_networks {
        name  = "office"
        value = "0.0.0.0/0"
      }
    }
  }
}
"""


def test_cloud_sql_exposure_names_its_authorized_networks_not_a_security_group(tmp_path: Path) -> None:
    result = _scan(tmp_path, _CLOUD_SQL)
    (finding,) = [f for f in result.active if f.rule_id == "BRL103"]
    assert str(finding.location) == _at(_CLOUD_SQL, '"0.0.0.0/0"')
    related = [r.message for r in finding.related]
    assert "Cloud SQL authorized networks allows 0.0.0.0/0 on 5432/tcp" in related
    assert not any("security group" in m for m in [finding.message, *related])


def test_the_graph_labels_a_google_firewall_edge_in_googles_words(tmp_path: Path) -> None:
    from bitriver_lint.graphviews import render_graph

    result = _scan(tmp_path, _CLOUD_SQL)
    text = render_graph(result.graph, "single-node", "mermaid")
    assert "allows Cloud SQL authorized networks 5432/tcp" in text
    assert "security group" not in text


# A regional managed instance group whose region is the caller's variable: its zones say where
# it runs, even when the provider's default region is another one.
_REGIONAL_MIG = """provider "google" {
  region = "europe-west1"
}

variable "region" {
  type = string
}

resource "google_compute_instance_template" "api" {
  machine_type = "n2-standard-4"
  labels       = { role = "api" }
  network_interface {
    network = "default"
  }
}

resource "google_compute_region_instance_group_manager" "api" {
  name                      = "bitriver-api"
  base_instance_name        = "bitriver-api"
  region                    = var.region
  distribution_policy_zones = ["us-east1-b", "us-east1-c"]
  target_size               = 2
  version {
    instance_template = google_compute_instance_template.api.id
  }
}
"""


def test_a_regional_group_takes_its_region_from_its_zones_and_claims_no_single_zone(tmp_path: Path) -> None:
    result = _scan(tmp_path, _REGIONAL_MIG)
    (host,) = [h for h in result.graph.hosts() if h.name == "google_compute_region_instance_group_manager.api"]
    assert (host.region, host.az) == ("us-east1", None)
    spread = _REGIONAL_MIG.replace('["us-east1-b", "us-east1-c"]', '["us-east1-b", "europe-west1-c"]')
    (host,) = [h for h in _scan(tmp_path, spread).graph.hosts()
               if h.name == "google_compute_region_instance_group_manager.api"]
    assert (host.region, host.az) == ("europe-west1", None)  # zones in two regions: the provider's default


# Global Accelerator passing TCP 80 and 443 to an ALB whose listeners write their ports as
# strings ("443", which Terraform converts) and whose port 80 redirects to HTTPS.
_ACCELERATED_ALB = """resource "aws_lb" "edge" {
  name               = "edge"
  load_balancer_type = "application"
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.edge.arn
  port              = "443"
  protocol          = "HTTPS"
  certificate_arn   = var.certificate_arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.edge.arn
  port              = "80"
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_globalaccelerator_accelerator" "edge" {
  name = "edge"
}

resource "aws_globalaccelerator_listener" "port%(port)s" {
  accelerator_arn = aws_globalaccelerator_accelerator.edge.id
  protocol        = "TCP"
  port_range {
    from_port = %(port)s
    to_port   = %(port)s
  }
}

resource "aws_globalaccelerator_endpoint_group" "port%(port)s" {
  listener_arn = aws_globalaccelerator_listener.port%(port)s.id
  endpoint_configuration {
    endpoint_id = aws_lb.edge.arn
  }
}
"""


def test_alb_listener_ports_written_as_strings_are_its_ports(tmp_path: Path) -> None:
    body = _ACCELERATED_ALB % {"port": "443"}
    result = _scan(tmp_path, body)
    assert [f.rule_id for f in result.active if f.rule_id == "BRL603"] == []
    (alb,) = [c for c in result.graph.components() if c.name == "aws_lb.edge"]
    assert sorted((li.port, li.declared, str(li.location)) for li in result.graph.listeners(alb)) == [
        (80, True, _at(body, '"80"')), (443, True, _at(body, '"443"'))]


def test_an_accelerator_passing_port_80_to_a_redirecting_listener_is_no_plain_http_app(tmp_path: Path) -> None:
    body = _ACCELERATED_ALB % {"port": "80"}
    result = _scan(tmp_path, body)
    assert [f.rule_id for f in result.active if f.rule_id == "BRL204"] == []
    (accelerator,) = [c for c in result.graph.components() if c.name == "aws_globalaccelerator_accelerator.edge"]
    (front,) = result.graph.listeners(accelerator)
    assert [edge.scheme for _, _, edge in result.graph.out_edges(front.id, "routes")] == ["tcp"]
    # The same accelerator in front of an ALB that serves port 80 itself: the app is on plain HTTP.
    serving = body.replace('''    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }''', '''    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "200"
    }''')
    found = [(f.rule_id, str(f.location)) for f in _scan(tmp_path, serving).active if f.rule_id == "BRL204"]
    assert ("BRL204", _at(serving, "80\n    to_port")) in found


# An ALB target that is an instance the tree writes but gives no role (tags name it "bo-be-1"):
# BRL604 said the instance was defined nowhere.
_UNNAMED_TARGET = """resource "aws_instance" "node1" {
  ami           = "ami-12345678"
  instance_type = "t3.small"
  tags          = { Name = "bo-be-1" }
}

resource "aws_lb_target_group" "app" {
  name     = "app"
  port     = 80
  protocol = "HTTP"
}

resource "aws_lb_target_group_attachment" "node1" {
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = aws_instance.node1.id
  port             = 80
}

resource "aws_lb" "edge" {
  name = "edge"
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}
"""


def test_a_backend_instance_the_tree_defines_is_not_called_undefined(tmp_path: Path) -> None:
    result = _scan(tmp_path, _UNNAMED_TARGET)
    (finding,) = [f for f in result.active if f.rule_id == "BRL604"]
    assert str(finding.location) == _at(_UNNAMED_TARGET, 'resource "aws_lb_target_group_attachment"')
    assert finding.message.startswith("a backend server points at 'aws_instance.node1:80': aws_instance.node1 is "
                                      "defined, but no file says what runs on it")
    assert [str(r.location) for r in finding.related] == [_at(_UNNAMED_TARGET, 'resource "aws_instance"')]


# Identity-provider settings named after tokens and passwords that hold a rule or a duration.
_NOT_SECRETS = """resource "keycloak_realm" "live" {
  realm                                   = "live"
  password_policy                         = "length(12) and notUsername"
  action_token_generated_by_user_lifespan = "30m0s"
  smtp_password                           = "hunter2-literal"
}
"""


def test_a_password_policy_and_a_token_lifespan_are_not_literal_secrets(tmp_path: Path) -> None:
    result = _scan(tmp_path, _NOT_SECRETS)
    assert [(f.rule_id, str(f.location)) for f in result.active] == [
        ("BRL602", _at(_NOT_SECRETS, '"hunter2-literal"'))]


# ``iptables-save -c`` output, as iptables-persistent saves it when asked for counters: each
# rule starts with its [packets:bytes]. Every rule line was a BRL001 and the firewall was lost.
_COUNTED = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
[120:7200] -A INPUT -p tcp -m tcp --dport 1935 -j ACCEPT
[0:0] -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT
COMMIT
"""


def test_iptables_save_counters_are_read_past_to_the_rule(tmp_path: Path) -> None:
    firewall = iptables.parse("etc/iptables/rules.v4", _COUNTED, "ipv4")
    assert firewall.diagnostics == []
    (chain,) = [c for c in firewall.chains if c.name == "INPUT"]
    assert [(r.ports, r.sources, str(r.location)) for r in chain.rules] == [
        ([(1935, 1935)], None, "etc/iptables/rules.v4:5:12"),
        ([(5432, 5432)], ["10.0.0.0/8"], "etc/iptables/rules.v4:6:7")]
    if shutil.which("iptables-restore") is None:
        pytest.skip("iptables-restore is not installed: it is the oracle that the counters form is valid")
    (tmp_path / "rules.v4").write_text(_COUNTED, encoding="utf-8")
    proc = subprocess.run(["iptables-restore", "--test", "--counters", str(tmp_path / "rules.v4")],
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode and "ermission" in proc.stderr:
        pytest.skip(f"iptables-restore --test needs privileges: {proc.stderr.strip()[:80]}")
    assert proc.returncode == 0, proc.stderr


# A viewer image built from the tree whose Dockerfile copies the nginx config in, reached only
# through a cloudflared tunnel: nginx runs inside the service and publishes nothing. Read as a
# standalone nginx on a machine of its own, it drew BRL106/BRL203/BRL204 on a port nobody reaches.
_BAKED = {
    "docker-compose.yml": """services:
  viewer:
    build:
      context: web
    restart: unless-stopped
  tunnel:
    image: cloudflare/cloudflared:2024.8.2
    command: tunnel --config /etc/cloudflared/config.yml run
    volumes:
      - ./cloudflared.yml:/etc/cloudflared/config.yml:ro
    restart: unless-stopped
""",
    "cloudflared.yml": """tunnel: 6f0c1a52-0000-4000-8000-000000000001
credentials-file: /etc/cloudflared/creds.json
ingress:
  - hostname: watch.example.com
    service: http://viewer:80
  - service: http_status:404
""",
    "web/Dockerfile": """FROM node:22-alpine AS build
COPY site.conf /tmp/unused.conf
RUN true
FROM nginx:1.27-alpine
COPY site.conf /etc/nginx/conf.d/default.conf
""",
    "web/site.conf": """server {
    listen 80;
    root /usr/share/nginx/html;
}
""",
}


def _write(root: Path, files: dict[str, str]) -> ScanResult:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return scan_tree(root)


def test_a_config_the_dockerfile_copies_in_is_run_by_that_service(tmp_path: Path) -> None:
    result = _write(tmp_path, _BAKED)
    assert [(f.rule_id, str(f.location)) for f in result.active] == []
    (viewer,) = [c for c in result.graph.components() if c.name == "viewer"]
    assert viewer.proxy_configs and [li.port for li in result.graph.listeners(viewer)] == [80]
    assert not [c for c in result.graph.components() if c.name == "web/site.conf"]


def test_a_config_copied_only_in_a_build_stage_is_not_the_services(tmp_path: Path) -> None:
    files = dict(_BAKED, **{"web/Dockerfile": _BAKED["web/Dockerfile"].replace(
        "COPY site.conf /etc/nginx/conf.d/default.conf\n", "")})
    result = _write(tmp_path, files)
    (standalone,) = [c for c in result.graph.components() if c.name == "web/site.conf"]
    assert ("BRL106", "web/site.conf:2:5") in [(f.rule_id, str(f.location)) for f in result.active]
    assert standalone.role.value == "lb"


# The nginx twin of a Caddy site address: a proxied CNAME to the origin host name an nginx
# server block lists in server_name (among others) joins that nginx; a wildcard name joins none.
_NGINX_ORIGIN = {
    "main.tf": """resource "cloudflare_dns_record" "live" {
  zone_id = "z"
  name    = "live"
  content = "origin.live.example.com"
  type    = "CNAME"
  proxied = true
  ttl     = 1
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = "z"
  setting_id = "ssl"
  value      = "strict"
}
""",
    "edge/nginx.conf": """events {}
http {
    server {
        listen 443 ssl;
        server_name www.example.com Origin.Live.Example.com;
        ssl_certificate /etc/ssl/origin.pem;
        ssl_certificate_key /etc/ssl/origin.key;
        location / {
            proxy_pass http://10.0.1.20:3000;
        }
    }
}
""",
}


def _cdn_routes(result: ScanResult) -> list[tuple[str, int, str]]:
    from bitriver_lint.graph import Role

    graph = result.graph
    (cdn,) = graph.components(Role.CDN)
    return [(graph.component_of(graph.node(target)).name, graph.node(target).port, edge.scheme)
            for listener in graph.listeners(cdn) for _, target, edge in graph.out_edges(listener.id, "routes")]


def test_a_proxied_record_joins_the_nginx_whose_server_name_it_is(tmp_path: Path) -> None:
    assert _cdn_routes(_write(tmp_path, _NGINX_ORIGIN)) == [("edge/nginx.conf", 443, "https")]


def test_a_wildcard_server_name_is_no_join(tmp_path: Path) -> None:
    files = dict(_NGINX_ORIGIN, **{"edge/nginx.conf": _NGINX_ORIGIN["edge/nginx.conf"].replace(
        "www.example.com Origin.Live.Example.com", "*.live.example.com")})
    assert _cdn_routes(_write(tmp_path, files)) == []  # origin.live.example.com: outside the tree


# A tunnel whose public hostnames are kept in the dashboard: its routes are nowhere in the files.
_REMOTE_TUNNEL = """resource "cloudflare_zero_trust_tunnel_cloudflared" "edge" {
  account_id = var.account_id
  name       = "edge"
  config_src = "cloudflare"
}
"""


def test_a_dashboard_managed_tunnel_without_a_config_resource_is_a_note(tmp_path: Path) -> None:
    result = _scan(tmp_path, _REMOTE_TUNNEL)
    assert [(f.rule_id, str(f.location)) for f in result.active] == [
        ("BRL002", _at(_REMOTE_TUNNEL, '"cloudflare"'))]
    assert "cloudflare_zero_trust_tunnel_cloudflared.edge" in result.active[0].message
    configured = _REMOTE_TUNNEL + """
resource "cloudflare_zero_trust_tunnel_cloudflared_config" "edge" {
  account_id = var.account_id
  tunnel_id  = cloudflare_zero_trust_tunnel_cloudflared.edge.id
  config = {
    ingress = [{ service = "http_status:404" }]
  }
}
"""
    assert [f.rule_id for f in _scan(tmp_path, configured).active if f.rule_id == "BRL002"] == []


# The common module split: the VPC firewall in modules/network, the VMs in modules/compute.
_SPLIT = {
    "main.tf": """provider "google" {
  region = "europe-west1"
}

module "network" {
  source = "./modules/network"
}

module "compute" {
  source = "./modules/compute"
}
""",
    "modules/network/main.tf": """resource "google_compute_firewall" "srs_api" {
  name    = "srs-api"
  network = "default"
  allow {
    protocol = "tcp"
    ports    = ["1985"]
  }
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["srs"]
}
""",
    "modules/compute/main.tf": """resource "google_compute_instance" "srs" {
  name         = "srs"
  machine_type = "c3-standard-4"
  zone         = "europe-west1-b"
  tags         = ["srs"]
  labels       = { role = "srs" }
  network_interface {
    network = "default"
    access_config {}
  }
}
""",
}


def test_a_firewall_rule_in_a_sibling_module_reaches_the_instances_it_targets(tmp_path: Path) -> None:
    result = _write(tmp_path, _SPLIT)
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL102"]
    assert found == [("BRL102", "modules/network/main.tf:4:3")]
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert "VPC firewall allows 0.0.0.0/0 on 1985/tcp" in [r.message for r in finding.related]


def test_a_google_load_balancers_host_is_labelled_with_googles_words() -> None:
    from conftest import FIXTURES

    from bitriver_lint.graphviews import render_graph

    result = scan_tree(FIXTURES / "gcp-gce-mig")
    lb_hosts = [h for h in result.graph.hosts() if h.name.startswith("google_compute_url_map.")]
    assert lb_hosts and all(h.resource is None for h in lb_hosts)  # named, not addressed
    text = render_graph(result.graph, "origin-edge", "mermaid")
    assert "security group" not in text and "allows VPC firewall 0-65535/all" in text


# The instance template in one module, the managed group in another, joined by a module output.
_TEMPLATE_MODULE = {
    "main.tf": """provider "google" {
  region = "europe-west1"
}

module "template" {
  source = "./modules/template"
}

module "group" {
  source      = "./modules/group"
  template_id = module.template.id
}

resource "google_compute_firewall" "srs_api" {
  name    = "srs-api"
  network = "default"
  allow {
    protocol = "tcp"
    ports    = ["1985"]
  }
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["srs"]
}
""",
    "modules/template/main.tf": """resource "google_compute_instance_template" "srs" {
  machine_type = "c3-standard-4"
  tags         = ["srs"]
  labels       = { role = "srs" }
  network_interface {
    network = "default"
    access_config {}
  }
}

output "id" {
  value = google_compute_instance_template.srs.id
}
""",
    "modules/group/main.tf": """variable "template_id" {
  type = string
}

resource "google_compute_instance_group_manager" "srs" {
  name               = "srs"
  base_instance_name = "srs"
  zone               = "europe-west1-b"
  target_size        = 1
  version {
    instance_template = var.template_id
  }
}
""",
}


def test_a_group_reads_the_template_another_module_passes_it(tmp_path: Path) -> None:
    result = _write(tmp_path, _TEMPLATE_MODULE)
    (host,) = [h for h in result.graph.hosts() if h.name == "module.group.google_compute_instance_group_manager.srs"]
    assert (host.public, str(host.instance_type.location) if host.instance_type else None) == (
        True, "modules/template/main.tf:2:18")
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL102"] == [
        ("BRL102", "main.tf:17:3")]


def test_a_backend_instance_is_looked_up_in_its_own_environment(tmp_path: Path) -> None:
    # envs/prod and envs/staging side by side, each with its own aws_instance.node1: each ALB's
    # BRL604 cites its own root's instance (it cited the last root's for both).
    for env in ("prod", "staging"):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            'provider "aws" {\n  region = "eu-west-1"\n}\n\n' + _UNNAMED_TARGET, encoding="utf-8")
    result = scan_tree(tmp_path)
    found = sorted((f.location.path, [r.location.path for r in f.related])
                   for f in result.active if f.rule_id == "BRL604")
    assert found == [("envs/prod/main.tf", ["envs/prod/main.tf"]),
                     ("envs/staging/main.tf", ["envs/staging/main.tf"])]


def _at_in(files: dict[str, str], rel: str, needle: str) -> str:
    body = files[rel]
    index = body.index(needle)
    return f"{rel}:{body.count(chr(10), 0, index) + 1}:{index - body.rfind(chr(10), 0, index)}"


# A committed .env whose secrets are fill-in placeholders ("<YOUR DB PASSWORD>"): the tree holds
# no secret, only the slot for one. Read as literals, each drew a BRL602 error.
_FILL_IN = {
    "deploy/compose.yaml": """services:
  postgres:
    image: postgres:16
    env_file: .env
    volumes:
      - pg:/var/lib/postgresql/data
    restart: always
volumes:
  pg:
""",
    "deploy/.env": """POSTGRES_USER=<DB USER>
POSTGRES_PASSWORD=<YOUR DB PASSWORD>
REDIS_PASSWORD=<redis-password>
SMTP_PASSWORD=hunter2<2>
""",
}


def test_a_fill_in_placeholder_in_angle_brackets_is_no_literal_secret(tmp_path: Path) -> None:
    result = _write(tmp_path, _FILL_IN)
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL602"]
    assert found == [("BRL602", _at_in(_FILL_IN, "deploy/.env", "hunter2<2>"))]  # a literal that merely has a <


# A HOCON service config (a recorder's "name { key = value }" settings) with an "http {" block
# of its own: nginx never starts a statement with "name =", so it is not an nginx config. Read as
# one, it drew a BRL001 parse error on a valid file.
_HOCON = {
    "recorder/defaults/recorder.conf": """recorder {
    id = "rec-1"
    api {
      http {
        external-api-port = 2222
        internal-api-port = 3333
      }
    }
    ffmpeg {
      resolution = "1920x1080"
    }
}
""",
    "proxy/nginx.conf": """events {}
http {
    server {
        listen 8080;
        location = /healthz {
            return 200;
        }
    }
}
""",
    # An HLS edge's cache: a directive continued over lines of "name=value" arguments.
    "edge/edge.conf": """proxy_cache_path /var/cache/nginx/hls levels=1:2 keys_zone=hls:10m
                 max_size=4g inactive=2m use_temp_path=off;

server {
    listen 8081;
    location /hls/ {
        proxy_cache hls;
        proxy_pass http://origin:8080;
    }
}
""",
}


def test_a_hocon_conf_with_an_http_block_is_no_nginx_config(tmp_path: Path) -> None:
    result = _write(tmp_path, _HOCON)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL001"] == []
    # "location = /x" and arguments continued on a line of their own are still nginx's
    assert dict(result.files) == {"nginx": ("edge/edge.conf", "proxy/nginx.conf")}


# An add-on compose file run with the base one ("docker compose -f docker-compose.yml -f
# recorder.yml up"): its depends_on names services the base file beside it defines. Read as a
# project of its own, each such name drew a BRL604 "which no file in the deployment defines".
_ADD_ON = {
    "stack/docker-compose.yml": """services:
  db:
    image: postgres:16
    restart: always
    volumes:
      - pg:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready"]
volumes:
  pg:
""",
    "stack/recorder.yml": """services:
  recorder:
    image: example/recorder:1.0
    restart: always
    depends_on:
      - db
      - signalling
""",
}


def test_an_add_on_compose_file_depends_on_the_base_files_services(tmp_path: Path) -> None:
    result = _write(tmp_path, _ADD_ON)
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL604"]
    assert found == [("BRL604", _at_in(_ADD_ON, "stack/recorder.yml", "signalling"))]
    graph = result.graph
    (recorder,) = [c for c in graph.components() if c.name == "recorder"]
    targets = [graph.node(target).name for _, target, _ in graph.out_edges(recorder.id, "depends_on")]
    assert targets == ["db"]


# An nginx site file without an extension (Debian's sites-available/example.org; stacks that
# ship nginx/<site> and mount it into the nginx image): never read, so the proxy in front of
# the API was invisible. Files beside it that are not nginx's stay unread.
_NGINX_SITE = {
    "deploy/compose.yaml": """services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
    volumes:
      - ./nginx/live:/etc/nginx/conf.d/live.conf:ro
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
""",
    "deploy/nginx/live": """server {
    listen 80;
    location / {
        proxy_pass http://api:8080;
    }
}
""",
    "deploy/nginx/entrypoint": "#!/bin/sh\nexec nginx -g 'daemon off;'\n",
    "deploy/sites-available/default": "# no site here\n",
}


def test_an_nginx_site_file_without_an_extension_is_read(tmp_path: Path) -> None:
    for rel, body in _NGINX_SITE.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path)
    assert dict(result.files) == {"compose": ("deploy/compose.yaml",), "nginx": ("deploy/nginx/live",)}
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL204"]
    assert found == [("BRL204", _at_in(_NGINX_SITE, "deploy/compose.yaml", '"80:80"'))]


# A droplet setup script that announces each step before taking it: the quoted "ufw ..." is
# echo's text, not a rule. Read as one, "web/proxy" made the whole input chain unreadable.
_ANNOUNCED_UFW = {
    "docker-compose.yml": """services:
  postgres:
    image: postgres:16
    network_mode: host
    command: ['postgres', '-c', 'listen_addresses=*']
""",
    "deploy/firewall.sh": """#!/bin/sh
echo "ufw allow web/proxy ports"
ufw allow 80/tcp
printf 'ufw allow %s\\n' "the database to everyone" >&2
ufw allow 5432/tcp
ufw --force enable
""",
}


def test_a_ufw_command_echo_prints_is_no_rule(tmp_path: Path) -> None:
    result = _write(tmp_path, _ANNOUNCED_UFW)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL103")] == [
        ("BRL103", "deploy/firewall.sh:5:1")]


# An Ansible tree keeps one iptables-save file per inventory host beside the compose projects
# it copies out. Both whole rulesets were laid on every project at once, so one host's "allow
# 5432" was cancelled by the other host's "allow 22 only": silence where neither is known.
_RULES_PER_HOST = {
    "ansible/files/db/docker-compose.yml": _ANNOUNCED_UFW["docker-compose.yml"],
    "ansible/files/iptables/db.rules.v4": "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    "ansible/files/iptables/edge.rules.v4": "*filter\n:INPUT DROP [0:0]\n"
                                            "-A INPUT -p tcp --dport 5432 -j ACCEPT\nCOMMIT\n",
}


def test_two_iptables_rulesets_of_one_family_are_not_both_one_machines(tmp_path: Path) -> None:
    result = _write(tmp_path, _RULES_PER_HOST)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL103")] == [
        ("BRL103", "ansible/files/db/docker-compose.yml:4:19"),
        ("BRL002", "ansible/files/iptables/db.rules.v4:1:1"),
        ("BRL002", "ansible/files/iptables/edge.rules.v4:1:1")]
    note = next(f for f in result.active if f.rule_id == "BRL002")
    assert "ansible/files/iptables/edge.rules.v4 is another whole ruleset of the same address family" in note.message


# A unit that wraps `docker run`, as droplet and CoreOS-style setups do: the image says what
# runs, and -p publishes through Docker's DNAT, around the UFW rules that guard the host's own
# processes. Read as a host process, SRS's API looked shut behind "ufw default deny".
_DOCKER_RUN_UNIT = {
    "systemd/ingest.service": """[Unit]
Description=ingest container
After=docker.service

[Service]
Restart=always
ExecStart=/usr/bin/docker run --rm --name ingest \\
    -p 1935:1935 \\
    -p 1985:1985 ossrs/srs:5

[Install]
WantedBy=multi-user.target
""",
    "firewall.sh": "ufw default deny incoming\nufw allow 1935/tcp\nufw --force enable\n",
}


def test_a_docker_run_unit_publishes_around_ufw(tmp_path: Path) -> None:
    result = _write(tmp_path, _DOCKER_RUN_UNIT)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL102")] == [
        ("BRL102", "systemd/ingest.service:9:8")]
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert any("Docker publishes port 1985" in r.message for r in finding.related)


def test_a_docker_run_unit_on_the_host_network_or_loopback_stays_behind_ufw(tmp_path: Path) -> None:
    unit = _DOCKER_RUN_UNIT["systemd/ingest.service"]
    result = _write(tmp_path, {**_DOCKER_RUN_UNIT, "systemd/ingest.service": unit.replace(
        "-p 1985:1985 ossrs/srs:5", "-p 127.0.0.1:1985:1985 ossrs/srs:5")})
    assert [f.rule_id for f in result.active if f.rule_id in ("BRL002", "BRL102")] == []
    result = _write(tmp_path, {"systemd/ingest.service": unit.replace("--name ingest", "--network host")})
    assert [f.rule_id for f in result.active if f.rule_id in ("BRL002", "BRL102")] == []


# A host with rules.v4 and rules.v6 side by side: the IPv4 rule that opens SRS's API to
# everyone was shown as "anywhere (0.0.0.0/0, ::/0) except ... IPv6 (::/0)", as though it
# were written for IPv6 senders that rules.v4 never sees.
_TWO_FAMILIES = {
    "etc/systemd/system/srs.service": "[Service]\nExecStart=/usr/local/srs/objs/srs -c /etc/srs.conf\n"
                                      "Restart=always\n",
    "etc/iptables/rules.v4": "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n"
                             "-A INPUT -p tcp -m multiport --dports 22,1935,1985 -j ACCEPT\nCOMMIT\n",
    "etc/iptables/rules.v6": "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n"
                             "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
}


def test_an_ipv4_rule_for_anyone_is_shown_as_written_for_ipv4(tmp_path: Path) -> None:
    result = _write(tmp_path, _TWO_FAMILIES)
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert str(finding.location) == "etc/iptables/rules.v4:4:1"
    assert [r.message for r in finding.related if str(r.location) == "etc/iptables/rules.v4:4:1"] == [
        "host firewall (-A INPUT -p tcp -m multiport --dports 22,1935,1985 -j ACCEPT) allows anyone on the "
        "internet over IPv4 (0.0.0.0/0) except 127.0.0.0/8 on 1985/tcp"]


# "ufw allow rtmp" reads like opening RTMP, but /etc/services knows rtmp only as AppleTalk's
# 1/ddp: ufw resolves no port for it and looks for an application profile of that name. It was
# read as 1935 open to everyone, an ingest finding located at a rule that opens nothing.
_RTMP_BY_NAME = {
    ".bitriver-lint.yaml": "networks:\n  encoders: [198.51.100.0/24]\n",
    "etc/systemd/system/srs.service": "[Service]\nExecStart=/usr/local/srs/objs/srs -c /etc/srs.conf\n"
                                      "Restart=always\n",
    "etc/firewall.sh": "ufw default deny incoming\nufw allow rtmp\nufw allow from 198.51.100.0/24 to any port 1935\n"
                       "ufw --force enable\n",
}


def test_ufw_allow_rtmp_is_no_port_ufw_knows(tmp_path: Path) -> None:
    result = _write(tmp_path, _RTMP_BY_NAME)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL101")] == [
        ("BRL002", "etc/firewall.sh:2:1")]
    assert "app profile rtmp is a ufw application profile" in result.active[0].message


# An Ansible role that opens its ports with one ufw task looped over a written list: each item
# is a rule Ansible applies, so the list is read item by item rather than noted as unknown.
_LOOPED_UFW = {
    ".bitriver-lint.yaml": "networks:\n  operators: [203.0.113.0/24]\n",
    "roles/srs/files/srs.service": _RTMP_BY_NAME["etc/systemd/system/srs.service"],
    "roles/srs/tasks/main.yml": """- name: Open the web and ingest ports
  community.general.ufw:
    rule: allow
    port: "{{ item }}"
    proto: tcp
  loop:
    - "443"
    - "1935"
    - "1985"

- name: Enable ufw
  community.general.ufw:
    state: enabled
""",
}


def test_a_ufw_task_looped_over_written_ports_is_one_rule_per_item(tmp_path: Path) -> None:
    result = _write(tmp_path, _LOOPED_UFW)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL102")] == [
        ("BRL102", "roles/srs/tasks/main.yml:9:7")]


# A port left to a placeholder nothing in the tree sets (an nginx-rtmp config rendered by the
# container's own entrypoint, a template variable the service does not set, HAProxy's
# "${HTTP_PORT}" from its environment): the listener was dropped without a word.
_UNKNOWN_PORTS = {
    "rtmp/nginx.conf": """events {}
rtmp {
    server {
        listen ${RTMP_PORT};
        application live {
            live on;
        }
    }
}
""",
    "web/compose.yaml": """services:
  web:
    image: nginx:1.27
    environment:
      PORT: "8081"
    volumes:
      - ./templates:/etc/nginx/templates:ro
""",
    "web/templates/site.conf.template": """server {
    listen ${PORT};
    listen ${TLS_PORT} ssl;
    location / {
        return 204;
    }
}
""",
    "lb/haproxy.cfg": """defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s

frontend www
    bind "*:${HTTP_PORT}"
    default_backend app

backend app
    server a1 10.0.0.5:8080
""",
}


def test_a_port_left_to_a_placeholder_nothing_sets_is_a_note(tmp_path: Path) -> None:
    for rel, body in _UNKNOWN_PORTS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path)
    notes = sorted((str(f.location), f.message.split(",")[0]) for f in result.active
                   if f.rule_id == "BRL002" and "listens on" in f.message)
    assert notes == sorted([
        (_at_in(_UNKNOWN_PORTS, "lb/haproxy.cfg", "bind"), 'haproxy listens on *:${HTTP_PORT}'),
        (_at_in(_UNKNOWN_PORTS, "rtmp/nginx.conf", "listen"), "nginx listens on ${RTMP_PORT}"),
        (_at_in(_UNKNOWN_PORTS, "web/templates/site.conf.template", "listen ${TLS"), "nginx listens on ${TLS_PORT}"),
    ])
    # The placeholder the service's environment sets is a port like any other.
    web = next(c for c in result.graph.components() if c.name == "web")
    assert [li.port for li in result.graph.listeners(web) if li.declared] == [8081]


# A production overlay beside the base file: compose.prod.yaml names the base's services to
# add settings and has no image of its own, so compose runs it as "-f docker-compose.yml -f
# docker-compose.prod.yml". Read as a project alone, each of its services lacked a restart
# policy, a health check and a volume it in fact takes from the base.
_OVERLAY = {
    "deploy/docker-compose.yml": """services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    restart: unless-stopped
  redis:
    image: redis:7-alpine
    restart: unless-stopped
""",
    "deploy/docker-compose.prod.yml": """services:
  api:
    environment:
      BITRIVER_LIVE_REDIS_URL: redis://redis:6379/0
  redis:
    command: ["redis-server", "--appendonly", "yes"]
""",
}


def _write_files(tmp_path: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body, encoding="utf-8")


def test_a_compose_overlay_is_read_over_its_base_file(tmp_path: Path) -> None:
    _write_files(tmp_path, _OVERLAY)
    result = scan_tree(tmp_path)
    assert [f for f in result.active if f.location.path == "deploy/docker-compose.prod.yml"] == []
    hosts = sorted(h.id for h in result.graph.hosts())
    assert hosts == ["compose:deploy:deploy/docker-compose.yml",
                     "compose:deploy:deploy/docker-compose.yml+deploy/docker-compose.prod.yml"]
    # The merged project has both files' settings: the base's restart, the overlay's command.
    redis = result.graph.node("compose:deploy:deploy/docker-compose.yml+deploy/docker-compose.prod.yml:redis")
    assert isinstance(redis, Component)
    assert redis.restart is not None and redis.command[:1] == ["redis-server"]


def test_a_base_file_that_cannot_run_alone_is_only_read_under_its_overlays(tmp_path: Path) -> None:
    # The base names no image; dev and prod overlays each say which to run.
    _write_files(tmp_path, {
        "docker-compose.yml": "services:\n  api:\n    restart: unless-stopped\n",
        "docker-compose.dev.yml": "services:\n  api:\n    build: .\n",
        "docker-compose.prod.yml": "services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n",
        "Dockerfile": "FROM scratch\n",
    })
    result = scan_tree(tmp_path)
    assert sorted(h.id for h in result.graph.hosts()) == [
        "compose:.:docker-compose.yml+docker-compose.dev.yml",
        "compose:.:docker-compose.yml+docker-compose.prod.yml",
    ]
    assert [f.rule_id for f in result.active if f.rule_id == "BRL502"] == []


# An Aurora cluster whose reader count follows the workspace: how many instances run is not in
# the files, so it is a note at the count, not a cluster of one.
_AURORA_BY_WORKSPACE = """provider "aws" {
  region = "eu-west-1"
}

resource "aws_rds_cluster" "live" {
  cluster_identifier          = "live"
  engine                      = "aurora-postgresql"
  master_username             = "live"
  manage_master_user_password = true
  backup_retention_period     = 7
}

resource "aws_rds_cluster_instance" "live" {
  count              = terraform.workspace == "prod" ? 2 : 1
  identifier         = "live-${count.index}"
  cluster_identifier = aws_rds_cluster.live.id
  instance_class     = "db.r6g.large"
}
"""


def test_an_aurora_cluster_whose_instance_count_is_unknown_is_a_note_not_a_single_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_AURORA_BY_WORKSPACE, encoding="utf-8")
    result = scan_tree(tmp_path, topology="cdn")
    found = [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id in ("BRL002", "BRL505")]
    assert found == [("BRL002", _at(_AURORA_BY_WORKSPACE, 'terraform.workspace == "prod"'),
                      "terraform.workspace is not set, so BRL505 (database-ha) cannot check how many instances "
                      "the Aurora cluster runs")]


def test_an_aurora_cluster_of_one_known_instance_is_still_reported(tmp_path: Path) -> None:
    body = _AURORA_BY_WORKSPACE.replace('terraform.workspace == "prod" ? 2 : 1', "1")
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path, topology="cdn")
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL002", "BRL505")] == [
        ("BRL505", _at(body, 'resource "aws_rds_cluster_instance"'))]


# An API group whose minimum size is a variable with no value: how many API instances the
# region runs is unknown, so BRL404 notes it where the size is written instead of counting one.
_API_GROUP_SIZED_BY_VARIABLE = """provider "aws" {
  region = "eu-west-1"
}

variable "api_min" {
  type = number
}

resource "aws_launch_template" "api" {
  image_id      = "ami-0abcdef1234567890"
  instance_type = "m6i.xlarge"
}

resource "aws_autoscaling_group" "api" {
  min_size = var.api_min
  max_size = 6
  launch_template {
    id = aws_launch_template.api.id
  }
  tag {
    key                 = "Role"
    value               = "api"
    propagate_at_launch = true
  }
}
"""


def _redundancy(result: ScanResult) -> list[tuple[str, str, str]]:
    return [(f.rule_id, str(f.location), f.message) for f in result.active
            if f.rule_id == "BRL404" or (f.rule_id == "BRL002" and "BRL404" in f.message)]


def test_an_api_group_whose_minimum_size_is_unknown_is_a_note_not_one_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_API_GROUP_SIZED_BY_VARIABLE, encoding="utf-8")
    assert _redundancy(scan_tree(tmp_path, topology="cdn")) == [
        ("BRL002", _at(_API_GROUP_SIZED_BY_VARIABLE, "var.api_min\n"),
         "var.api_min has no value, so BRL404 (api-redundancy) cannot check how many API instances run in "
         "eu-west-1")]


def test_an_api_group_of_one_known_instance_is_still_reported(tmp_path: Path) -> None:
    body = _API_GROUP_SIZED_BY_VARIABLE.replace("var.api_min\n", "1\n")
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    assert [(rule, where) for rule, where, _ in _redundancy(scan_tree(tmp_path, topology="cdn"))] == [
        ("BRL404", _at(body, "1\n  max_size"))]


# API instances counted by a variable with no value: the one instance the loader reads stands
# for however many there are, so BRL404 notes the count rather than reporting one instance.
_API_INSTANCES_COUNTED_BY_VARIABLE = """provider "aws" {
  region = "eu-west-1"
}

variable "api_instances" {
  type = number
}

resource "aws_instance" "api" {
  count         = var.api_instances
  ami           = "ami-0abcdef1234567890"
  instance_type = "m6i.xlarge"
  tags          = { Role = "api" }
}
"""


def test_api_instances_whose_count_is_unknown_are_a_note_not_one_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_API_INSTANCES_COUNTED_BY_VARIABLE, encoding="utf-8")
    assert _redundancy(scan_tree(tmp_path, topology="cdn")) == [
        ("BRL002", _at(_API_INSTANCES_COUNTED_BY_VARIABLE, "var.api_instances\n"),
         "var.api_instances has no value, so BRL404 (api-redundancy) cannot check how many API instances run in "
         "eu-west-1")]


# Sizes written as strings (``min_size = "2"``): Terraform converts them to the number the
# provider's schema asks for, so the group runs two API instances, not one.
def test_an_api_group_size_written_as_a_string_is_that_number(tmp_path: Path) -> None:
    body = _API_GROUP_SIZED_BY_VARIABLE.replace("var.api_min\n", '"2"\n')
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    assert _redundancy(scan_tree(tmp_path, topology="cdn")) == []
    one = body.replace('"2"\n', '"1"\n')
    (tmp_path / "main.tf").write_text(one, encoding="utf-8")
    assert [(rule, where) for rule, where, _ in _redundancy(scan_tree(tmp_path, topology="cdn"))] == [
        ("BRL404", _at(one, '"1"\n'))]


# Terraform names are often hyphenated: a variable that holds the *name* of a secret (the
# Kubernetes secret a job writes to) is no secret, as ``ecr_secret_name`` already was not.
_SECRET_NAMES = """variable "registry-pull-secret-name" {
  type    = string
  default = "registry-pull"
}

variable "webhook-token" {
  type    = string
  default = "9f8e7d6c5b4a"
}
"""


def test_a_hyphenated_secret_name_is_not_a_literal_secret(tmp_path: Path) -> None:
    result = _scan(tmp_path, _SECRET_NAMES)
    assert [(f.rule_id, str(f.location)) for f in result.active] == [
        ("BRL602", _at(_SECRET_NAMES, '"9f8e7d6c5b4a"'))]


# The ALB and its HTTPS listener in the root, the API's target group and listener rule in the
# module that deploys the API, the listener passed in as a module input: the rule names the
# listener as the root does, so it was matched against nothing and the ALB routed nowhere.
_LISTENER_RULE_IN_A_MODULE = {
    "main.tf": """provider "aws" {
  region = "eu-west-1"
}

resource "aws_lb" "edge" {
  name               = "edge"
  load_balancer_type = "application"
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/live"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}

module "api" {
  source       = "./modules/api"
  listener_arn = aws_lb_listener.https.arn
}
""",
    "modules/api/main.tf": """variable "listener_arn" {
  type = string
}

resource "aws_lb_target_group" "api" {
  name     = "live-api"
  port     = 8080
  protocol = "HTTP"
  health_check {
    path = "/"
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = var.listener_arn
  priority     = 10
  condition {
    path_pattern {
      values = ["/api/*"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_launch_template" "api" {
  image_id      = "ami-0abcdef1234567890"
  instance_type = "m6i.xlarge"
}

resource "aws_autoscaling_group" "api" {
  min_size          = 2
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
""",
}


def test_a_listener_rule_in_a_module_routes_the_listener_its_caller_passes_in(tmp_path: Path) -> None:
    result = _write(tmp_path, _LISTENER_RULE_IN_A_MODULE)
    module = _LISTENER_RULE_IN_A_MODULE["modules/api/main.tf"]
    probe = module.index('"/"')
    where = f"modules/api/main.tf:{module.count(chr(10), 0, probe) + 1}:{probe - module.rfind(chr(10), 0, probe)}"
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL302"] == [("BRL302", where)]
    routes = [(e.path, t) for _, t, e in result.graph.edges("routes")]
    assert routes == [("/api/*", "tf::module.api.aws_autoscaling_group.api#component#8080/tcp")]


def test_a_listener_rule_on_its_own_modules_listener_is_not_joined_to_a_namesake(tmp_path: Path) -> None:
    files = dict(_LISTENER_RULE_IN_A_MODULE)
    files["modules/api/main.tf"] = files["modules/api/main.tf"].replace(
        "var.listener_arn", "aws_lb_listener.https.arn") + """
resource "aws_lb_listener" "https" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1"
  port              = 443
  protocol          = "HTTPS"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}
"""
    result = _write(tmp_path, files)
    assert [f.rule_id for f in result.active if f.rule_id == "BRL302"] == []
    assert list(result.graph.edges("routes")) == []


# ``count = "2"``: Terraform converts the string to the number (terraform plan creates two
# instances); it was read as one instance and BRL404 reported a region of one API.
def test_a_count_written_as_a_string_makes_that_many_instances(tmp_path: Path) -> None:
    body = _API_INSTANCES_COUNTED_BY_VARIABLE.replace("var.api_instances\n", '"2"\n')
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path, topology="cdn")
    assert _redundancy(result) == []
    assert sorted(h.name for h in result.graph.hosts() if h.name.startswith("aws_instance.")) == [
        "aws_instance.api[0]", "aws_instance.api[1]"]


# A URL map whose only host rule sends every host to a path matcher, with the same CDN bucket
# as the matcher's default and the map's: one unsigned "*" path, so one finding, not two.
_ONE_BUCKET_TWO_DEFAULTS = """provider "google" {
  region = "europe-west1"
}

resource "google_storage_bucket" "hls" {
  name     = "live-hls"
  location = "EU"
}

resource "google_compute_backend_bucket" "hls" {
  name        = "live-hls"
  bucket_name = google_storage_bucket.hls.name
  enable_cdn  = true
}

resource "google_compute_url_map" "edge" {
  name            = "live-edge"
  default_service = google_compute_backend_bucket.hls.self_link
  host_rule {
    hosts        = ["*"]
    path_matcher = "all"
  }
  path_matcher {
    name            = "all"
    default_service = google_compute_backend_bucket.hls.self_link
  }
}

resource "google_compute_target_http_proxy" "edge" {
  name    = "live-edge"
  url_map = google_compute_url_map.edge.id
}

resource "google_compute_global_forwarding_rule" "edge" {
  name       = "live-edge"
  port_range = "80"
  target     = google_compute_target_http_proxy.edge.id
}
"""


def test_one_cdn_bucket_behind_two_defaults_of_a_url_map_is_one_unsigned_path(tmp_path: Path) -> None:
    result = _scan(tmp_path, _ONE_BUCKET_TWO_DEFAULTS)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL206"] == [
        ("BRL206", _at(_ONE_BUCKET_TWO_DEFAULTS, 'resource "google_compute_backend_bucket"')),
        ("BRL206", _at(_ONE_BUCKET_TWO_DEFAULTS, "path_matcher {"))]


# A Caddyfile of one site may leave out the braces; then every line after the address is one of
# its directives. Each directive line was read as one more site address ("reverse_proxy" and
# "api.internal:8080" as a TLS site on 8080), so the proxy seemed to listen on its upstreams' ports.
_FLAT_CADDYFILE = """{
\temail ops@example.net
}
live.example.net, www.live.example.net,
\tlive2.example.net
reverse_proxy /api/* api.internal:8080 {
\thealth_uri /healthz
}
reverse_proxy viewer.internal:3000
"""


def test_a_caddyfile_site_without_braces_listens_on_its_address_only(tmp_path: Path) -> None:
    (tmp_path / "Caddyfile").write_text(_FLAT_CADDYFILE, encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    caddy = next(c for c in result.graph.components() if c.name == "Caddyfile")
    assert sorted((li.port, li.tls) for li in result.graph.listeners(caddy)) == [(80, False), (443, True)]
    assert [(f.rule_id, f"{f.location.path}:{f.location.line}:{f.location.column}") for f in result.active] == [
        ("BRL604", "Caddyfile:6:1")]


def test_a_caddyfile_site_may_open_its_block_on_the_next_line(tmp_path: Path) -> None:
    # "example.com" then "{" alone (caddy adapt reads it as one site): the block was a site
    # with no address, so its routes were lost.
    body = "example.com\n{\n    reverse_proxy api:8080\n}\n"
    (tmp_path / "Caddyfile").write_text(body, encoding="utf-8")
    graph = scan_tree(tmp_path, topology="single-node").graph
    caddy = next(c for c in graph.components() if c.name == "Caddyfile")
    assert sorted((li.port, li.tls) for li in graph.listeners(caddy)) == [(80, False), (443, True)]
    routed = [graph.component_of(graph.node(t)).name for _, t, _ in graph.edges("routes")]  # type: ignore[arg-type]
    assert routed == ["api"]


def _pool_members(result: ScanResult) -> list[str]:
    """The compose files of the services the proxies' pools hold, with their names."""
    graph = result.graph
    members = []
    for source, _, _ in graph.edges("member_of"):
        listener = graph.node(source)
        assert isinstance(listener, Listener)
        component = graph.component_of(listener)
        members.append(f"{component.location.path}:{component.name}")
    return sorted(members)


def _brl604(result: ScanResult) -> list[str]:
    return [f"{f.location.path}:{f.location.line}:{f.location.column}" for f in result.active if f.rule_id == "BRL604"]


# Compose files side by side that each run alone (basic.yml, caddy.yml), each with a service of
# the same name: the proxy container reaches its own project's, as compose resolves names. The
# name was looked up across the tree (basic.yml's came first), then refused as another
# project's, and reported as defined nowhere.
def test_a_proxy_container_reaches_its_own_projects_service_beside_a_namesake(tmp_path: Path) -> None:
    (tmp_path / "basic.yml").write_text(
        "services:\n  api:\n    image: ghcr.io/example/live-api:1\n    ports:\n      - \"8080:8080\"\n",
        encoding="utf-8")
    (tmp_path / "caddy.yml").write_text(
        "services:\n  edge:\n    image: caddy:2\n    ports:\n      - \"443:443\"\n    volumes:\n"
        "      - ./Caddyfile:/etc/caddy/Caddyfile\n  api:\n    image: ghcr.io/example/live-api:1\n",
        encoding="utf-8")
    (tmp_path / "Caddyfile").write_text("live.example.net {\n\treverse_proxy api:8080\n}\n", encoding="utf-8")
    result = scan_tree(tmp_path)
    assert _brl604(result) == []
    assert _pool_members(result) == ["caddy.yml:api"]


# An add-on file run merged onto the base beside it (-f docker-compose.yml -f
# docker-compose.lb.yml): its HAProxy reaches the base's services by name, as its depends_on does.
def test_a_proxy_in_an_add_on_compose_file_reaches_the_base_files_services(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: ghcr.io/example/live-api:1\n    expose:\n      - \"8080\"\n",
        encoding="utf-8")
    (tmp_path / "docker-compose.lb.yml").write_text(
        "services:\n  lb:\n    image: haproxy:3.0\n    ports:\n      - \"80:80\"\n    volumes:\n"
        "      - ./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro\n    depends_on:\n      - api\n"
        "  api2:\n    image: ghcr.io/example/live-api:1\n    depends_on:\n      - api\n",
        encoding="utf-8")
    (tmp_path / "haproxy.cfg").write_text(
        "defaults\n  mode http\nfrontend www\n  bind :80\n  default_backend apis\n"
        "backend apis\n  option httpchk GET /healthz\n  server a1 api:8080 check\n  server a2 api2:8080 check\n",
        encoding="utf-8")
    result = scan_tree(tmp_path)
    assert _brl604(result) == []
    assert _pool_members(result) == ["docker-compose.lb.yml:api2", "docker-compose.yml:api"]


# A module that passes its whole backend bucket out (``value = google_compute_backend_bucket.x``)
# and a root URL map that reads ``module.site.backend.id``: the reference was an attribute of a
# string, so the map routed to nothing (BRL604) and the Cloud CDN in front of it was never seen.
_SITE_MODULE = """resource "google_storage_bucket" "assets" {
  name     = "live-assets"
  location = "EU"
}

resource "google_compute_backend_bucket" "assets" {
  name        = "live-assets"
  bucket_name = google_storage_bucket.assets.name
  enable_cdn  = true
}

output "backend" {
  value = google_compute_backend_bucket.assets
}
"""

_URL_MAP_ON_A_MODULE_OUTPUT = """module "site" {
  source = "./site"
}

resource "google_compute_url_map" "web" {
  name            = "live-web"
  default_service = module.site.backend.ATTRIBUTE
}

resource "google_compute_target_https_proxy" "web" {
  name             = "live-web"
  url_map          = google_compute_url_map.web.id
  ssl_certificates = ["live-cert"]
}

resource "google_compute_global_forwarding_rule" "web" {
  name       = "live-web"
  port_range = "443"
  target     = google_compute_target_https_proxy.web.id
}
"""


@pytest.mark.parametrize("attribute", ["id", "self_link"])
def test_an_attribute_of_a_resource_a_module_outputs_whole_names_that_resource(tmp_path: Path, attribute: str) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "main.tf").write_text(_SITE_MODULE, encoding="utf-8")
    body = _URL_MAP_ON_A_MODULE_OUTPUT.replace("ATTRIBUTE", attribute)
    result = _scan(tmp_path, body)
    bucket = _SITE_MODULE.index('resource "google_compute_backend_bucket"')
    assert sorted((f.rule_id, str(f.location)) for f in result.active) == [
        ("BRL206", _at(body, 'resource "google_compute_url_map"')),
        ("BRL206", f"site/main.tf:{_SITE_MODULE.count(chr(10), 0, bucket) + 1}:1")]
    assert result.topology == "cdn"


# A vector store the API may use, started only with "docker compose --profile search up": the
# API's connection URL names a service the file defines. With the profile off it was reported
# as a name "which no file in the deployment defines"; a name defined nowhere still is.
_PROFILED = {
    "docker-compose.yml": """services:
  api:
    image: example/api:1.0
    restart: always
    environment:
      SEARCH_URL: http://search:7700
      CACHE_URL: http://cache:6379
  search:
    image: example/search:1.0
    profiles:
      - search
""",
}


def test_a_url_naming_a_service_left_out_by_its_profile_is_not_dangling(tmp_path: Path) -> None:
    result = _write(tmp_path, _PROFILED)
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL604"]
    assert found == [("BRL604", _at_in(_PROFILED, "docker-compose.yml", "http://cache"))]
    assert [c.name for c in result.graph.components()] == ["api"]


# Fastly backends from a dynamic block over a module input the tree gives no value (the caller
# passes it from a named -var-file): the origin's name is unknown. The message printed the
# scanner's internal record of the unknown value instead of what is written.
_FASTLY_DYNAMIC_BACKENDS = """variable "origins" {
  type = list(object({ name = string, address = string }))
}

resource "fastly_service_vcl" "live" {
  name = "live"

  domain {
    name = "live.example.com"
  }

  dynamic "backend" {
    for_each = var.origins
    content {
      name    = backend.value["name"]
      address = backend.value["address"]
      port    = 80
    }
  }
}
"""


def test_a_fastly_backend_whose_name_is_unknown_is_named_as_written(tmp_path: Path) -> None:
    result = _scan(tmp_path, _FASTLY_DYNAMIC_BACKENDS)
    found = [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id == "BRL205"]
    assert found == [("BRL205", _at(_FASTLY_DYNAMIC_BACKENDS, 'dynamic "backend"'),
                      "fastly_service_vcl.live pulls origin var.origins with use_ssl = false; the CDN must fetch "
                      "from origin over HTTPS only")]



# A Compute service whose package answers every request itself, with the one backend it was
# long required to declare: "synthetic" at 127.0.0.1. Fastly pulls nothing through it, yet it
# drew a BRL205 error for pulling an origin over plain HTTP. A real backend beside it still does.
_FASTLY_PLACEHOLDER_BACKEND = """resource "fastly_service_compute" "edge" {
  name = "live-edge"

  domain {
    name = "live.example.com"
  }

  package {
    filename = "pkg/live-edge.tar.gz"
  }

  backend {
    name    = "synthetic"
    address = "127.0.0.1"
    port    = 80
  }
}
"""


def test_a_fastly_backend_at_a_loopback_address_is_no_origin(tmp_path: Path) -> None:
    result = _scan(tmp_path, _FASTLY_PLACEHOLDER_BACKEND)
    assert [(f.rule_id, str(f.location)) for f in result.active] == []
    body = _FASTLY_PLACEHOLDER_BACKEND.replace("  }\n}\n", """  }

  backend {
    name    = "origin"
    address = "origin.example.com"
    port    = 80
  }
}
""")
    result = _scan(tmp_path, body)
    assert [(f.rule_id, str(f.location)) for f in result.active if f.rule_id == "BRL205"] == [
        ("BRL205", _at(body, 'backend {\n    name    = "origin"'))]


# One path_rule that sends both "/*" and "/" to the same unsigned CDN bucket: one place to fix,
# so one finding there naming both paths, not two findings at the same line and column.
_ONE_PATH_RULE_TWO_PATHS = """resource "google_storage_bucket" "hls" {
  name     = "live-hls"
  location = "EU"
}

resource "google_compute_backend_bucket" "hls" {
  name        = "live-hls"
  bucket_name = google_storage_bucket.hls.name
  enable_cdn  = true
}

resource "google_compute_url_map" "edge" {
  name = "live-edge"
  default_url_redirect {
    https_redirect = true
    strip_query    = false
  }
  host_rule {
    hosts        = ["live.example.com"]
    path_matcher = "site"
  }
  path_matcher {
    name = "site"
    default_url_redirect {
      https_redirect = true
      strip_query    = false
    }
    path_rule {
      paths   = ["/*", "/"]
      service = google_compute_backend_bucket.hls.id
    }
  }
}

resource "google_compute_target_https_proxy" "edge" {
  name             = "live-edge"
  url_map          = google_compute_url_map.edge.id
  ssl_certificates = ["live-cert"]
}

resource "google_compute_global_forwarding_rule" "edge" {
  name       = "live-edge"
  port_range = "443"
  target     = google_compute_target_https_proxy.edge.id
}
"""


def test_paths_of_one_path_rule_to_an_unsigned_bucket_are_one_finding(tmp_path: Path) -> None:
    result = _scan(tmp_path, _ONE_PATH_RULE_TWO_PATHS)
    found = [(f.rule_id, str(f.location), f.message) for f in result.active if f.rule_id == "BRL206"]
    assert found == [
        ("BRL206", _at(_ONE_PATH_RULE_TWO_PATHS, 'resource "google_compute_backend_bucket"'),
         "google_compute_url_map.edge reads bucket origin google_compute_backend_bucket.hls without a signed URL key "
         "(Cloud CDN reads a private bucket only with one), so the bucket must be readable by anyone"),
        ("BRL206", _at(_ONE_PATH_RULE_TWO_PATHS, "path_rule {"),
         "google_compute_url_map.edge serves segments (/*, /) without signed URLs: no signed URL key on its backend")]



# A security group defined in a file that does not parse (Terraform 0.11 syntax, say): the
# reference was called undefined (BRL604) and the layer counted as closed. What the group
# admits is unknown, and the notes say which file could not be read.
_SG_IN_UNREADABLE_FILE = {
    "main.tf": """resource "aws_instance" "api" {
  ami                         = "ami-1"
  instance_type               = "m6i.large"
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.web.id]
  tags                        = { Role = "api" }
}
""",
    "sg.tf": """resource "aws_security_group" "web" {
  ingress {
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"
  }
}
""",
}


def test_a_group_perhaps_defined_in_an_unreadable_file_is_unknown_not_undefined(tmp_path: Path) -> None:
    _write_files(tmp_path, _SG_IN_UNREADABLE_FILE)
    result = scan_tree(tmp_path)
    found = [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in ("BRL001", "BRL002", "BRL604")
             and f.location.path in ("main.tf", "sg.tf") and "environment" not in f.message]
    assert found == [("BRL002", _at_in(_SG_IN_UNREADABLE_FILE, "main.tf", "[aws_security_group")),
                     ("BRL001", "sg.tf:7:3")]
    note = next(f for f in result.active if f.rule_id == "BRL002" and "sg.tf could not" in f.message)
    assert note.message.startswith("aws_security_group.web is not defined in the files of this module that "
                                   "could be read (sg.tf could not), so BRL104")


# One machine's files laid out as its /etc (an etc/ mirror, as Ansible roles and Packer builds
# copy them): the units under etc/systemd/system/, the proxy's config under etc/haproxy/ and no
# unit for the proxy, which the distro package provides. The config got a host of its own, so
# its 127.0.0.1 backends joined nothing and the machine's nftables did not cover its ports.
_ETC_MIRROR = {
    "etc/systemd/system/live-api.service": "[Unit]\nDescription=live api\n\n[Service]\n"
    "ExecStart=/usr/local/bin/bitriver-live\nEnvironmentFile=/etc/bitriver/api.env\nRestart=always\n\n"
    "[Install]\nWantedBy=multi-user.target\n",
    "etc/bitriver/api.env": "BITRIVER_LIVE_ADDR=127.0.0.1:8080\n",
    "etc/nftables.conf": "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n"
    "    ct state established,related accept\n    iif lo accept\n    tcp dport { 22, 80, 443 } accept\n  }\n}\n",
    "etc/haproxy/haproxy.cfg": "defaults\n  mode http\n  timeout client 30s\n  timeout server 30s\n"
    "  timeout connect 5s\nfrontend www\n  bind :80\n  bind :443 ssl crt /etc/haproxy/live.pem\n"
    "  default_backend api\nbackend api\n  option httpchk GET /healthz\n  server local 127.0.0.1:8080 check\n"
    "listen stats\n  bind :8404\n  stats enable\n",
}


def _where(result: ScanResult) -> list[tuple[str, str]]:
    return [(f.rule_id, f"{f.location.path}:{f.location.line}:{f.location.column}") for f in result.active]


def test_a_proxy_config_in_an_etc_mirror_runs_on_the_machine_of_its_units(tmp_path: Path) -> None:
    result = _write(tmp_path, _ETC_MIRROR)
    assert _pool_members(result) == ["etc/systemd/system/live-api.service:live-api"]
    haproxy = next(c for c in result.graph.components() if c.name == "etc/haproxy/haproxy.cfg")
    assert [h.directory for h in result.graph.hosts_of(haproxy.id)] == ["etc/systemd/system"]
    # Port 80 serves the app and the firewall lets it in; the stats port 8404 it drops.
    assert _where(result) == [("BRL204", "etc/haproxy/haproxy.cfg:7:3")]


def test_an_nginx_config_in_an_etc_mirror_is_run_by_the_machines_nginx_unit(tmp_path: Path) -> None:
    files = {k: v for k, v in _ETC_MIRROR.items() if not k.startswith("etc/haproxy/")}
    files["etc/systemd/system/nginx.service"] = ("[Unit]\nDescription=nginx\n\n[Service]\n"
                                                 "ExecStart=/usr/sbin/nginx -g 'daemon off;'\nRestart=on-failure\n")
    files["etc/nginx/nginx.conf"] = (
        "events {}\nhttp {\n  server {\n    listen 80;\n    listen 443 ssl;\n"
        "    ssl_certificate /etc/nginx/live.pem;\n    ssl_certificate_key /etc/nginx/live.key;\n"
        "    location / {\n      proxy_pass http://127.0.0.1:8080;\n    }\n  }\n"
        "  server {\n    listen 8404;\n    location / {\n      return 204;\n    }\n  }\n}\n")
    result = _write(tmp_path, files)
    nginx = next(c for c in result.graph.components() if c.name == "nginx")
    assert nginx.proxy_configs and sorted(li.port for li in result.graph.listeners(nginx)) == [80, 443, 8404]
    assert _pool_members(result) == ["etc/systemd/system/live-api.service:live-api"]
    assert _where(result) == [("BRL204", "etc/nginx/nginx.conf:4:5")]


def test_a_proxy_config_beside_another_directorys_units_keeps_a_host_of_its_own(tmp_path: Path) -> None:
    files = {k.replace("etc/systemd/system/", "origin/etc/systemd/system/").replace("etc/haproxy/", "edge/"): v
             for k, v in _ETC_MIRROR.items() if k != "etc/nftables.conf"}
    result = _write(tmp_path, files)
    haproxy = next(c for c in result.graph.components() if c.name == "edge/haproxy.cfg")
    assert [h.host_kind for h in result.graph.hosts_of(haproxy.id)] == ["lb-host"]
    assert _pool_members(result) == []


# One server block listening on a port for both address families, the second on a narrower
# address: the port is open on every IPv4 interface, as its first listen says. The last listen
# of a port won, so the loopback-only IPv6 line hid the public one; and of "listen 80;
# listen [::]:80" the finding pointed at the second line.
_ONE_PORT_TWO_LISTENS = """events {}
http {
  server {
    listen 8405;
    listen [::1]:8405;
    location / { return 204; }
  }
}
"""


def test_a_port_listened_on_twice_in_one_server_is_as_open_as_its_widest_listen(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(_ONE_PORT_TWO_LISTENS, encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    assert _where(result) == [("BRL107", "nginx.conf:4:5")]


def test_a_port_listened_on_for_both_families_is_at_its_first_listen(tmp_path: Path) -> None:
    body = _ONE_PORT_TWO_LISTENS.replace("[::1]:8405", "[::]:8405").replace("8405", "8404")
    (tmp_path / "nginx.conf").write_text(body, encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    assert _where(result) == [("BRL107", "nginx.conf:4:5")]


def test_a_bind_to_an_ipv6_address_is_shown_in_brackets(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n  server {\n    listen [::]:8404;\n    location / { return 204; }\n  }\n}\n",
        encoding="utf-8")
    result = scan_tree(tmp_path, topology="single-node")
    (finding,) = result.active
    assert (finding.rule_id, str(finding.location)) == ("BRL107", "nginx.conf:4:5")
    assert [r.message for r in finding.related] == ["binds [::]:8404 (nginx bind)"]


# The machine's proxy fronts a site of its own (a container a unit runs, of no role the guide
# names) on port 80 and 443: BRL204 is about the app's port 80, and this is not the app.
def test_port_80_serving_a_site_that_is_none_of_bitrivers_is_not_reported(tmp_path: Path) -> None:
    files = {k: v for k, v in _ETC_MIRROR.items() if "live-api" not in k and not k.startswith("etc/bitriver/")}
    files["etc/systemd/system/shop.service"] = (
        "[Unit]\nDescription=shop\n\n[Service]\nRestart=always\nExecStart=/usr/bin/docker run --name shop "
        "-p 127.0.0.1:8001:8001 example/shop:1\n")
    files["etc/haproxy/haproxy.cfg"] = files["etc/haproxy/haproxy.cfg"].replace("127.0.0.1:8080", "127.0.0.1:8001")
    result = _write(tmp_path, files)
    assert _pool_members(result) == ["etc/systemd/system/shop.service:shop"]
    assert _where(result) == []


# Envoy's own examples bake the config in through one shared Dockerfile: a build ARG names the
# file (COPY "$CONFIG" ...), each service picks it with build.args and a stage with
# build.target. Unjoined, the sidecar before PostgreSQL read as a host of its own open to all.
_BAKED_BY_ARG = {
    "docker-compose.yml": """services:
  db-proxy:
    build:
      context: .
      dockerfile: images/envoy/Dockerfile
      target: served
      args:
        PROXY_CONFIG: db-proxy.yaml
    restart: unless-stopped
  postgres:
    image: postgres:16
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "pg_isready"]
    volumes:
      - pg-data:/var/lib/postgresql/data
volumes:
  pg-data:
""",
    "images/envoy/Dockerfile": """FROM envoyproxy/envoy:v1.31-latest AS base
ARG PROXY_CONFIG=unused.yaml
COPY --chmod=644 "$PROXY_CONFIG" /etc/envoy/envoy.yaml

FROM base AS served
HEALTHCHECK CMD curl -fs localhost:9901/ready

FROM base AS debug
RUN apt-get update
""",
    "db-proxy.yaml": """static_resources:
  listeners:
  - name: postgres
    address:
      socket_address: {address: 0.0.0.0, port_value: 5432}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: postgres
          cluster: postgres
  clusters:
  - name: postgres
    type: STRICT_DNS
    load_assignment:
      cluster_name: postgres
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {address: postgres, port_value: 5432}
""",
}


def test_a_config_a_build_arg_names_is_run_by_the_target_stages_service(tmp_path: Path) -> None:
    result = _write(tmp_path, _BAKED_BY_ARG)
    assert [(f.rule_id, str(f.location)) for f in result.active] == []
    (proxy,) = [c for c in result.graph.components() if c.name == "db-proxy"]
    assert proxy.proxy_configs and [li.port for li in result.graph.listeners(proxy)] == [5432]
    assert not [c for c in result.graph.components() if c.name == "db-proxy.yaml"]


def test_a_config_only_the_args_default_would_name_is_not_the_services(tmp_path: Path) -> None:
    files = dict(_BAKED_BY_ARG, **{"docker-compose.yml": _BAKED_BY_ARG["docker-compose.yml"].replace(
        "      args:\n        PROXY_CONFIG: db-proxy.yaml\n", "")})
    result = _write(tmp_path, files)
    assert ("BRL103", "db-proxy.yaml:5:54") in [(f.rule_id, str(f.location)) for f in result.active]


# An image built from the tree carries its own HEALTHCHECK, which compose runs when the service
# sets none: the API's probe lived in its Dockerfile and BRL501 said it had none.
_PROBED_IN_IMAGE = {
    "docker-compose.yml": """services:
  bitriver-api:
    build: ./api
    restart: unless-stopped
    volumes:
      - api-data:/var/lib/bitriver-live
volumes:
  api-data:
""",
    "api/Dockerfile": """FROM golang:1.23 AS build
RUN go build -o /out/api ./cmd/api

FROM gcr.io/distroless/base-debian12
COPY --from=build /out/api /api
HEALTHCHECK --interval=10s --timeout=2s \\
  CMD ["/api", "probe", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/api"]
""",
}


def _brl501(result: ScanResult) -> list[tuple[str, str]]:
    return [(str(f.location), f.message) for f in result.active if f.rule_id == "BRL501"]


def test_the_images_own_healthcheck_is_the_services(tmp_path: Path) -> None:
    assert _brl501(_write(tmp_path, _PROBED_IN_IMAGE)) == []


def test_the_images_healthcheck_is_judged_where_the_dockerfile_sets_it(tmp_path: Path) -> None:
    dockerfile = _PROBED_IN_IMAGE["api/Dockerfile"].replace("/healthz", "/status")
    result = _write(tmp_path, dict(_PROBED_IN_IMAGE, **{"api/Dockerfile": dockerfile}))
    assert _brl501(result) == [("api/Dockerfile:6:1", "bitriver-api's health check probes /status (expected /healthz)")]


def test_a_healthcheck_none_in_the_image_turns_it_off(tmp_path: Path) -> None:
    dockerfile = _PROBED_IN_IMAGE["api/Dockerfile"].replace(
        'HEALTHCHECK --interval=10s --timeout=2s \\\n  CMD ["/api", "probe", "http://127.0.0.1:8080/healthz"]',
        "HEALTHCHECK NONE")
    result = _write(tmp_path, dict(_PROBED_IN_IMAGE, **{"api/Dockerfile": dockerfile}))
    assert _brl501(result) == [("api/Dockerfile:6:1", "bitriver-api disables its health check (expected /healthz)")]



# Envoy refuses "Upgrade: websocket" unless the connection manager (or the route) lists it in
# upgrade_configs, as Envoy's websocket example does; the loader never read it, so BRL304 said
# every Envoy pool dropped WebSocket chat.
_ENVOY_WS = {
    "docker-compose.yml": """services:
  edge:
    image: envoyproxy/envoy:v1.31-latest
    ports:
      - "443:8443"
    volumes:
      - ./envoy.yaml:/etc/envoy/envoy.yaml:ro
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
    environment:
      BITRIVER_LIVE_CHAT_WEBSOCKET: "true"
""",
    "envoy.yaml": """static_resources:
  listeners:
  - name: https
    address:
      socket_address: {address: 0.0.0.0, port_value: 8443}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: edge
          upgrade_configs:
          - upgrade_type: websocket
          route_config:
            virtual_hosts:
            - name: live
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route:
                  cluster: api
                  hash_policy:
                  - connection_properties: {source_ip: true}
  clusters:
  - name: api
    type: STRICT_DNS
    lb_policy: RING_HASH
    load_assignment:
      cluster_name: api
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {address: api, port_value: 8080}
""",
}


def _brl304(result: ScanResult) -> list[tuple[str, str]]:
    return [(str(f.location), f.message) for f in result.active if f.rule_id == "BRL304"]


def test_envoy_upgrade_configs_pass_websocket_to_the_clusters_routed(tmp_path: Path) -> None:
    assert _brl304(_write_at(tmp_path, _ENVOY_WS)) == []


def test_envoy_without_upgrade_configs_drops_websocket(tmp_path: Path) -> None:
    body = _ENVOY_WS["envoy.yaml"].replace("          upgrade_configs:\n          - upgrade_type: websocket\n", "")
    assert _brl304(_write_at(tmp_path, dict(_ENVOY_WS, **{"envoy.yaml": body}))) == [
        ("envoy.yaml:27:5", "WebSocket chat is on but edge's pool api does not pass WebSocket upgrades "
                            "(no Upgrade headers or tunnel timeout)")]


def test_envoy_route_turning_websocket_off_overrides_the_manager(tmp_path: Path) -> None:
    body = _ENVOY_WS["envoy.yaml"].replace(
        "                  cluster: api\n",
        "                  cluster: api\n                  upgrade_configs:\n"
        "                  - {upgrade_type: websocket, enabled: false}\n")
    assert [where for where, _ in _brl304(_write_at(tmp_path, dict(_ENVOY_WS, **{"envoy.yaml": body})))] == [
        "envoy.yaml:31:5"]


def _write_at(root: Path, files: dict[str, str]) -> ScanResult:
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")
    return scan_tree(root, topology="origin-edge")



# A front proxy built from the tree under a name that says nothing ("edge") is what the config it
# runs makes it: its TLS listener is the termination point. Left "other", BRL201 said nothing
# terminated TLS in front of the API it routes /api to.
_UNNAMED_FRONT = {
    "docker-compose.yml": """services:
  edge:
    build:
      context: .
      dockerfile: deploy/envoy/Dockerfile
      target: served
      args:
        EDGE_CONFIG: edge.yaml
    ports:
      - "443:10000"
    restart: unless-stopped
  api:
    image: ghcr.io/example/bitriver-api:1.4.0
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/healthz"]
    volumes:
      - api-data:/var/lib/bitriver-live
volumes:
  api-data:
""",
    "deploy/envoy/Dockerfile": """FROM envoyproxy/envoy:v1.31-latest AS base
ARG EDGE_CONFIG=unused.yaml
COPY --chmod=644 "$EDGE_CONFIG" /etc/envoy/envoy.yaml

FROM base AS served
HEALTHCHECK CMD curl -fs localhost:9901/ready

FROM base AS debug
RUN apt-get update
""",
    "edge.yaml": """static_resources:
  listeners:
  - name: tls
    address:
      socket_address: {address: 0.0.0.0, port_value: 10000}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: edge
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/api"}
                route: {cluster: api}
  clusters:
  - name: api
    type: STRICT_DNS
    load_assignment:
      cluster_name: api
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {address: api, port_value: 8080}
    health_checks:
    - timeout: 1s
      interval: 5s
      unhealthy_threshold: 2
      healthy_threshold: 2
      http_health_check: {path: /healthz}
""",
}


def test_a_service_running_a_proxy_config_is_a_proxy_whatever_its_name(tmp_path: Path) -> None:
    result = _write(tmp_path, _UNNAMED_FRONT)
    assert [(f.rule_id, str(f.location)) for f in result.active] == []
    (edge,) = [c for c in result.graph.components() if c.name == "edge"]
    assert edge.role.value == "proxy" and edge.role_reason == "runs the envoy config edge.yaml"


def test_that_proxy_without_tls_still_leaves_the_api_unterminated(tmp_path: Path) -> None:
    body = _UNNAMED_FRONT["edge.yaml"]
    start, end = body.index("    - transport_socket:"), body.index("      filters:")
    files = dict(_UNNAMED_FRONT, **{"edge.yaml": body[:start] + "    - filters:" + body[end + len("      filters:"):]})
    result = _write(tmp_path, files)
    assert [(f.rule_id, str(f.location)) for f in result.active] == [("BRL201", "docker-compose.yml:12:3")]


# A route may split its traffic over weighted_clusters (a canary beside the stable pool): each
# cluster serves the path. Read as no route at all, the canary pool's missing sticky sessions
# went unreported.
def test_envoy_weighted_clusters_each_serve_the_route(tmp_path: Path) -> None:
    body = _ENVOY_WS["envoy.yaml"].replace(
        "                  cluster: api\n",
        "                  weighted_clusters:\n                    clusters:\n"
        "                    - {name: api, weight: 90}\n                    - {name: canary, weight: 10}\n",
    ).replace("\n  clusters:\n", "\n  clusters:\n  - name: canary\n    type: STRICT_DNS\n    load_assignment:\n"
              "      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n"
              "              socket_address: {address: api-canary, port_value: 8080}\n", 1)
    compose = _ENVOY_WS["docker-compose.yml"] + (
        "  api-canary:\n    image: ghcr.io/bitriver/bitriver-live:1.4.3\n"
        "    environment:\n      BITRIVER_LIVE_CHAT_WEBSOCKET: \"true\"\n")
    result = _write_at(tmp_path, dict(_ENVOY_WS, **{"envoy.yaml": body, "docker-compose.yml": compose}))
    assert _brl304(result) == [
        ("envoy.yaml:32:5", "WebSocket chat is on (BITRIVER_LIVE_CHAT_WEBSOCKET) but edge's pool canary has no "
                            "sticky sessions")]


def _envoy_routes(result: ScanResult) -> list[tuple[int, int, str | None, str]]:
    """The edge's routes: (its port, the backend's port, the path, where the route is written)."""
    graph = result.graph
    out = []
    for source, target, edge in graph.edges("routes"):
        front, back = graph.node(source), graph.node(target)
        assert isinstance(front, Listener) and isinstance(back, Listener)
        out.append((front.port, back.port, edge.path, str(edge.location)))
    return sorted(out)


def _envoy_with(**replacements: str) -> dict[str, str]:
    body = _ENVOY_WS["envoy.yaml"]
    for old, new in replacements.items():
        assert old in body
        body = body.replace(old, new)
    return dict(_ENVOY_WS, **{"envoy.yaml": body})


# Envoy's proto-JSON reads a uint32 written as a string: port_value: "8443" binds 8443. The
# listener was skipped, so the edge routed nowhere and its pool's findings went unsaid.
def test_envoy_listener_port_written_as_a_string_is_the_number(tmp_path: Path) -> None:
    result = _write_at(tmp_path, _envoy_with(**{"port_value: 8443": 'port_value: "8443"'}))
    assert _envoy_routes(result) == [(8443, 8080, None, "envoy.yaml:23:17")]
    assert ("BRL302", "envoy.yaml:29:5") in _where(result)


# A listener's additional_addresses are more sockets with the same filter chains: here the edge
# also terminates TLS on 10.0.0.2:9443, a bind that went unread.
def test_envoy_listener_additional_addresses_are_binds_too(tmp_path: Path) -> None:
    extra = ("      socket_address: {address: 0.0.0.0, port_value: 8443}\n"
             "    additional_addresses:\n"
             "    - address:\n"
             "        socket_address: {address: 10.0.0.2, port_value: 9443}\n")
    result = _write_at(tmp_path, _envoy_with(**{"      socket_address: {address: 0.0.0.0, port_value: 8443}\n": extra}))
    assert _envoy_routes(result) == [(8443, 8080, None, "envoy.yaml:26:17"), (9443, 8080, None, "envoy.yaml:26:17")]
    (edge,) = [c for c in result.graph.components() if c.name == "edge"]
    assert [(li.port, str(li.location)) for li in result.graph.listeners(edge) if li.port == 9443] == [
        (9443, "envoy.yaml:8:57")]


# RING_HASH (or MAGLEV) pins a client only on what a route's hash_policy hashes; without one
# Envoy hashes a random number per request. The lb_policy alone read as sticky sessions, so
# WebSocket chat over a pool that spreads at random passed as pinned.
def test_envoy_ring_hash_without_a_hash_policy_is_not_sticky(tmp_path: Path) -> None:
    hashing = "                  hash_policy:\n                  - connection_properties: {source_ip: true}\n"
    files = _envoy_with(**{hashing: ""})
    result = _write_at(tmp_path, files)
    assert _brl304(result) == [
        ("envoy.yaml:27:5", "WebSocket chat is on (BITRIVER_LIVE_CHAT_WEBSOCKET) but edge's pool api has no sticky "
                            "sessions")]
    (pool,) = [p for c in result.graph.components() for p in result.graph.pools(c)]
    assert pool.sticky is None


def test_envoy_ring_hash_with_a_route_hash_policy_is_sticky(tmp_path: Path) -> None:
    result = _write_at(tmp_path, _ENVOY_WS)
    assert _brl304(result) == []
    (pool,) = [p for c in result.graph.components() for p in result.graph.pools(c)]
    assert str(pool.sticky) == "envoy.yaml:31:16"


# A route matching a regex or a URI template read as a catch-all "/", and path_separated_prefix
# (a prefix ending at a "/") as "/" too: each is kept as written, the prefix as a prefix.
@pytest.mark.parametrize(("match", "path"), [
    ('{path_separated_prefix: "/api"}', "/api"),
    ('{safe_regex: {regex: "/api/v[0-9]+/.*"}}', "/api/v[0-9]+/.*"),
    ('{path_match_policy: {name: envoy.path.match.uri_template.uri_template_matcher, typed_config: '
     '{"@type": type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig, '
     'path_template: "/api/{version}/**"}}}', "/api/{version}/**"),
])
def test_envoy_route_matchers_other_than_prefix_keep_their_path(tmp_path: Path, match: str, path: str) -> None:
    result = _write_at(tmp_path, _envoy_with(**{'- match: {prefix: "/"}': f"- match: {match}"}))
    assert _envoy_routes(result) == [(8443, 8080, path, "envoy.yaml:23:17")]


def test_envoy_connect_matcher_routes_no_path(tmp_path: Path) -> None:
    result = _write_at(tmp_path, _envoy_with(**{'- match: {prefix: "/"}': "- match: {connect_matcher: {}}"}))
    assert _envoy_routes(result) == []


# A unit that runs the API with `docker run`: the container sees what -e/--env pass (or, for
# `-e KEY`, the CLI's own variable), not the unit's Environment=, which is the docker CLI's.
# Read as the container's, Environment= hid a missing BITRIVER_VIEWER_ORIGIN, and the -e that
# binds the API to loopback was ignored (a false BRL104).
_API_CONTAINER = {
    "units/bitriver-live.service": """[Unit]
Description=BitRiver Live API in a container

[Service]
Restart=always
Environment=BITRIVER_VIEWER_ORIGIN=http://127.0.0.1:3000
Environment=LOG_LEVEL=debug
ExecStart=/usr/bin/docker run --rm --network host \\
    -e LOG_LEVEL \\
    --env=BITRIVER_LIVE_ADDR=127.0.0.1:8080 \\
    registry.example.net/bitriver-live:1.4
""",
    "units/bitriver-viewer.service": """[Unit]
Description=viewer

[Service]
Restart=always
WorkingDirectory=/opt/bitriver-viewer
ExecStart=/usr/bin/node server.js
""",
}


def _rules(result: ScanResult, *rule_ids: str) -> list[tuple[str, str]]:
    return [(f.rule_id, str(f.location)) for f in result.active if f.rule_id in rule_ids]


def test_a_docker_run_units_environment_is_the_containers_not_the_units(tmp_path: Path) -> None:
    result = _write(tmp_path, _API_CONTAINER)
    assert _rules(result, "BRL104", "BRL303") == [("BRL303", "units/bitriver-live.service:1:1")]
    api = next(c for c in result.graph.components() if c.name == "bitriver-live")
    assert sorted(api.env) == ["BITRIVER_LIVE_ADDR", "LOG_LEVEL"]
    assert str(api.env["LOG_LEVEL"].location) == "units/bitriver-live.service:7:13"


def test_a_docker_run_env_value_is_found_where_the_command_line_writes_it(tmp_path: Path) -> None:
    unit = _API_CONTAINER["units/bitriver-live.service"].replace(
        "-e LOG_LEVEL", "-e LOG_LEVEL -eBITRIVER_VIEWER_ORIGIN=http://127.0.0.1:4000")
    files = {**_API_CONTAINER, "units/bitriver-live.service": unit}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL303") == [
        ("BRL303", _at_in(files, "units/bitriver-live.service", "http://127.0.0.1:4000"))]


# `docker run` keeps the container's files in its writable layer (--rm drops it at every
# restart) but for what -v/--mount mount. Read as a host process, the unit's store looked
# persistent whatever its command line said.
_STORE_CONTAINER = {
    "units/redis.service": """[Unit]
Description=cache

[Service]
Restart=always
ExecStart=/usr/bin/podman run --rm --name redis \\
    -p 127.0.0.1:6379:6379 \\
    docker.io/library/redis:7 redis-server --appendonly yes
""",
}


def test_a_docker_run_store_without_a_volume_keeps_its_data_in_the_writable_layer(tmp_path: Path) -> None:
    result = _write(tmp_path, _STORE_CONTAINER)
    assert _rules(result, "BRL503") == [("BRL503", "units/redis.service:1:1")]


def test_a_docker_run_volume_or_mount_is_where_its_store_keeps_its_data(tmp_path: Path) -> None:
    unit = _STORE_CONTAINER["units/redis.service"]
    for option in ("-v redis-data:/data:Z", "--volume=/srv/redis:/data", "--mount type=volume,src=cache,dst=/data"):
        result = _write(tmp_path, {"units/redis.service": unit.replace("--name redis", f"--name redis {option}")})
        assert _rules(result, "BRL503") == [], option
    files = {"units/redis.service": unit.replace("--name redis", "--name redis --mount type=tmpfs,target=/data")}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL503") == [
        ("BRL503", _at_in(files, "units/redis.service", "type=tmpfs,target=/data"))]



def test_a_docker_run_tmpfs_or_an_unset_source_is_no_persistent_store(tmp_path: Path) -> None:
    unit = _STORE_CONTAINER["units/redis.service"]
    files = {"units/redis.service": unit.replace("--name redis", "--name redis --tmpfs /data:rw,size=64m")}
    assert _rules(_write(tmp_path, files), "BRL503") == [
        ("BRL503", _at_in(files, "units/redis.service", "/data:rw,size=64m"))]
    # "-v ${DATA_DIR}:/data" with DATA_DIR set nowhere: what backs /data is not known.
    files = {"units/redis.service": unit.replace("--name redis", "--name redis -v ${DATA_DIR}:/data")}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL503") == []
    (redis,) = [c for c in result.graph.components() if c.name == "redis"]
    (mount,) = [m for m in redis.mounts if m.target == "/data"]
    assert mount.unresolved is not None and mount.unresolved.names == ("DATA_DIR",)

# `docker run --env-file`: the container's settings come from a file the docker CLI reads
# from its working directory. Ignored, the file's BITRIVER_VIEWER_ORIGIN went unread; missing
# from the tree, its settings are unknown, not unset.
def test_a_docker_run_env_file_is_the_containers_environment(tmp_path: Path) -> None:
    unit = _API_CONTAINER["units/bitriver-live.service"].replace(
        "Restart=always", "Restart=always\nWorkingDirectory=/etc/bitriver").replace(
        "-e LOG_LEVEL", "--env-file ./api.env -e LOG_LEVEL")
    files = {**_API_CONTAINER, "units/bitriver-live.service": unit,
             "etc/bitriver/api.env": "BITRIVER_VIEWER_ORIGIN=http://127.0.0.1:4000\n"}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL002", "BRL303") == [
        ("BRL303", _at_in(files, "etc/bitriver/api.env", "http://127.0.0.1:4000"))]


def test_a_docker_run_env_file_missing_from_the_tree_is_a_note_not_a_missing_setting(tmp_path: Path) -> None:
    unit = _API_CONTAINER["units/bitriver-live.service"].replace(
        "-e LOG_LEVEL", "--env-file=/etc/bitriver/api.env -e LOG_LEVEL")
    files = {**_API_CONTAINER, "units/bitriver-live.service": unit}
    result = _write(tmp_path, files)
    where = _at_in(files, "units/bitriver-live.service", "/etc/bitriver/api.env")
    assert _rules(result, "BRL002", "BRL201", "BRL303") == [("BRL002", where)]
    (note,) = [f for f in result.active if f.rule_id == "BRL002"]
    assert "--env-file /etc/bitriver/api.env is not in the tree" in note.message


# On the host's network the container counts as a host process, whose files the rules judge
# by its mounts: without one it had none, and its store's writable layer went unnoticed.
def test_a_docker_run_store_on_the_host_network_without_a_volume_is_reported(tmp_path: Path) -> None:
    unit = _STORE_CONTAINER["units/redis.service"].replace("-p 127.0.0.1:6379:6379", "--network host")
    files = {"units/redis.service": unit}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL503") == [("BRL503", _at_in(files, "units/redis.service", "/usr/bin/podman"))]
    (finding,) = [f for f in result.active if f.rule_id == "BRL503"]
    assert "the container's writable layer" in finding.message
    result = _write(tmp_path, {"units/redis.service": unit.replace("--name redis", "--name redis -v cache:/data")})
    assert _rules(result, "BRL503") == []
