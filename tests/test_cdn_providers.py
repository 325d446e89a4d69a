"""Cloudflare, Fastly and cloudflared: what each setting means for the rules, on small trees.

The fixtures (fixtures/cloudflare-*, cloudflared-*, fastly-*) are whole deployments; here each
setting is checked on its own: the zone's SSL modes in both provider generations, origin pulls
and token rules, tunnels and the ports behind them, cloudflared's ingress validation and how
its files are recognised, Fastly's backends and conditions, and Fastly's shipped ranges.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, scan_tree

from bitriver_lint.formats import REGISTRY, Claim, FileName
from bitriver_lint.graph import Role
from bitriver_lint.loaders.cloudflared import TunnelConfig, path_prefix, read
from bitriver_lint.model import Location
from bitriver_lint.providers.fastly import condition_path

NEW_FIXTURES = ("cloudflare-mistakes", "cloudflare-tunnel-origin", "fastly-mistakes", "fastly-origin")


def findings(root: Path, files: dict[str, str], rule: str | None = None) -> list[tuple[str, str, str]]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    result = scan_tree(root)
    return [(f.rule_id, str(f.location), f.message) for f in result.active if rule is None or f.rule_id == rule]


@pytest.mark.parametrize("name", NEW_FIXTURES)
def test_fixture_hcl_is_terraform_formatted(name: str) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: `terraform fmt -check` is the oracle for the fixtures' HCL")
    proc = subprocess.run([terraform, "fmt", "-check", "-diff", "-recursive", str(FIXTURES / name)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- Cloudflare: the zone's SSL mode, v4 and v5 ------------------------------------------------

_RECORD_V4 = """resource "cloudflare_record" "www" {
  zone_id = cloudflare_zone.live.id
  name    = "www"
  value   = "origin.live.example.com"
  type    = "CNAME"
  proxied = true
}
"""
_RECORD_V5 = """resource "cloudflare_dns_record" "www" {
  zone_id = cloudflare_zone.live.id
  name    = "www"
  content = "origin.live.example.com"
  type    = "CNAME"
  proxied = true
  ttl     = 1
}
"""
_SSL_V4 = """resource "cloudflare_zone_settings_override" "live" {
  zone_id = cloudflare_zone.live.id
  settings {
    ssl = "%s"
  }
}
"""
_SSL_V5 = """resource "cloudflare_zone_setting" "ssl" {
  zone_id    = cloudflare_zone.live.id
  setting_id = "ssl"
  value      = "%s"
}
"""


@pytest.mark.parametrize(("record", "setting", "where"), [(_RECORD_V4, _SSL_V4, "settings.tf:4:11"),
                                                           (_RECORD_V5, _SSL_V5, "settings.tf:4:16")],
                         ids=["v4", "v5"])
@pytest.mark.parametrize(("mode", "expected"), [
    ("strict", None),
    ("origin_pull", None),
    ("full", "pulls origin www over HTTPS without verifying its certificate (ssl = full)"),
    ("flexible", "pulls origin www with ssl = flexible; the CDN must fetch from origin over HTTPS only"),
    ("off", "pulls origin www with ssl = off"),
])
def test_zone_ssl_mode_decides_brl205(tmp_path: Path, record: str, setting: str, where: str, mode: str,
                                      expected: str | None) -> None:
    found = findings(tmp_path, {"dns.tf": record, "settings.tf": setting % mode}, "BRL205")
    if expected is None:
        assert found == []
    else:
        assert [(rule, at) for rule, at, _ in found] == [("BRL205", where)]
        assert f"cloudflare_zone.live {expected}" in found[0][2]


def test_a_mode_cloudflare_does_not_have_is_a_note_not_a_guess(tmp_path: Path) -> None:
    found = findings(tmp_path, {"dns.tf": _RECORD_V5, "settings.tf": _SSL_V5 % "verified"}, "BRL002")
    assert [(rule, at) for rule, at, _ in found] == [("BRL002", "settings.tf:4:16")]
    assert "ssl is 'verified', not a mode Cloudflare has" in found[0][2]


def test_a_zone_without_an_ssl_setting_is_a_note_not_a_guess(tmp_path: Path) -> None:
    found = findings(tmp_path, {"dns.tf": _RECORD_V5}, "BRL002")
    assert [(rule, at) for rule, at, _ in found] == [("BRL002", "dns.tf:1:1")]
    assert "ssl is not set for this zone" in found[0][2] and "BRL205" in found[0][2]


def test_proxied_record_joins_the_elastic_ip_of_the_instance_behind_it(tmp_path: Path) -> None:
    files = {"main.tf": """resource "aws_instance" "api" {
  ami           = "ami-1"
  instance_type = "m6i.large"
  tags          = { Role = "api" }
}

resource "aws_eip" "api" {
  instance = aws_instance.api.id
}

resource "cloudflare_dns_record" "api" {
  zone_id = var.zone_id
  name    = "api"
  content = aws_eip.api.public_ip
  type    = "A"
  proxied = true
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = var.zone_id
  setting_id = "ssl"
  value      = "strict"
}

variable "zone_id" {
  type = string
}
"""}
    # The record reaches the API itself (the join followed the Elastic IP to its instance), and
    # nothing probes it: a Cloudflare load balancer with a /healthz monitor would.
    found = findings(tmp_path, files, "BRL302")
    assert [(rule, at) for rule, at, _ in found] == [("BRL302", "main.tf:11:1")]
    assert "cloudflare zone var.zone_id's api pool record api has no health check" in found[0][2]


_SEGMENT_RULE = """resource "cloudflare_ruleset" "cache" {
  zone_id = cloudflare_zone.live.id
  name    = "segments"
  kind    = "zone"
  phase   = "http_request_cache_settings"
  rules = [{
    expression = "starts_with(http.request.uri.path, \\"/hls/\\")"
    action     = "set_cache_settings"
  }]
}
"""


@pytest.mark.parametrize(("extra", "signed"), [
    ("", False),
    ('resource "cloudflare_authenticated_origin_pulls" "live" {\n  zone_id = cloudflare_zone.live.id\n'
     '  enabled = true\n}\n', True),
    ('resource "cloudflare_authenticated_origin_pulls_settings" "live" {\n  zone_id = cloudflare_zone.live.id\n'
     '  enabled = true\n}\n', True),
    ('resource "cloudflare_ruleset" "token" {\n  zone_id = cloudflare_zone.live.id\n  name = "token"\n'
     '  kind = "zone"\n  phase = "http_request_firewall_custom"\n  rules = [{\n'
     '    expression = "not is_timed_hmac_valid_v0(\\"k\\", http.request.uri, 3600, http.request.timestamp.sec)"\n'
     '    action = "block"\n  }]\n}\n', True),
], ids=["unsigned", "origin-pulls-v4", "origin-pulls-v5", "token-auth"])
def test_segments_are_signed_by_origin_pulls_or_token_auth(tmp_path: Path, extra: str, signed: bool) -> None:
    files = {"dns.tf": _RECORD_V5, "ssl.tf": _SSL_V5 % "strict", "rules.tf": _SEGMENT_RULE, "extra.tf": extra}
    found = findings(tmp_path, files, "BRL206")
    assert [(rule, at) for rule, at, _ in found] == ([] if signed else [("BRL206", "rules.tf:6:11")])


# -- tunnels: an origin they reach needs no port ------------------------------------------------

_TUNNEL = """resource "cloudflare_tunnel" "origin" {
  account_id = "0123"
  name       = "origin"
}

resource "cloudflare_tunnel_config" "origin" {
  account_id = "0123"
  tunnel_id  = cloudflare_tunnel.origin.id
  config {
    ingress_rule {
      hostname = "live.example.com"
      service  = "https://${aws_lb.origin.dns_name}"
      origin_request {
        no_tls_verify = %s
      }
    }
    ingress_rule {
      service = "http_status:404"
    }
  }
}

resource "aws_security_group" "lb" {
  name = "lb"
%s
}

resource "aws_lb" "origin" {
  name            = "origin"
  internal        = true
  security_groups = [aws_security_group.lb.id]
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.origin.arn
  port              = 443
  protocol          = "HTTPS"
}
"""
_OPEN_443 = """
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
"""


def test_an_origin_reached_through_a_tunnel_with_a_port_open_to_the_world_is_brl106(tmp_path: Path) -> None:
    tree = (_TUNNEL % ("false", _OPEN_443)).replace("  internal        = true\n", "")
    found = findings(tmp_path, {"main.tf": tree}, "BRL106")
    assert [(rule, at) for rule, at, _ in found] == [("BRL106", "main.tf:26:3")]
    assert ("aws_lb.origin is reached through cloudflare_tunnel.origin, whose connector dials out, so it needs no "
            "inbound port at all") in found[0][2]


@pytest.mark.parametrize("ingress", ["", _OPEN_443], ids=["no-inbound", "internal-lb"])
def test_an_origin_reached_through_a_tunnel_and_not_from_outside_is_clean(tmp_path: Path, ingress: str) -> None:
    assert findings(tmp_path, {"main.tf": _TUNNEL % ("false", ingress)}, "BRL106") == []


def test_tunnel_not_verifying_an_https_origin_is_brl205(tmp_path: Path) -> None:
    found = findings(tmp_path, {"main.tf": _TUNNEL % ("true", "")}, "BRL205")
    assert [(rule, at) for rule, at, _ in found] == [("BRL205", "main.tf:14:25")]
    assert "(no_tls_verify = true)" in found[0][2]


def test_graph_shows_the_tunnel_and_its_routes() -> None:
    proc = subprocess.run([sys.executable, "-m", "bitriver_lint", "graph", "fixtures/cloudflared-compose", "--format",
                           "json"], cwd=FIXTURES.parent, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    graph = json.loads(proc.stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    tunnel = next(n for n in nodes.values() if n.get("kind") == "component" and n.get("tunnel"))
    assert tunnel["name"] == "cloudflared" and tunnel["role"] == "cdn"
    routes = sorted((e.get("path") or "", nodes[e["target"]]["port"]) for e in graph["edges"] if e["kind"] == "routes")
    assert routes == [("", 3000), ("/api/", 8080)]


# -- cloudflared: its own validation, and recognising its files ----------------------------------

def _read(text: str) -> TunnelConfig:
    doc = TunnelConfig("cloudflared/config.yml", Location("cloudflared/config.yml", 1, 1))
    read(doc, text)
    return doc


@pytest.mark.parametrize(("text", "expected"), [
    ("tunnel: t\ningress:\n  - hostname: a.example.com\n    service: http://localhost:8080\n",
     [(3, 5, "the last ingress rule must match every request")]),
    ("tunnel: t\ningress:\n  - service: http://localhost:8080\n  - hostname: a.example.com\n"
     "    service: http://localhost:8080\n  - service: http_status:404\n",
     [(3, 5, "ingress rule #1 matches every request, so the 2 rule(s) after it are never reached")]),
    ("tunnel: t\ningress:\n  - hostname: a.example.com\n    service: http://localhost:8080/api\n"
     "  - service: http_status:404\n", [(4, 14, "has a path; ingress rules cannot send requests to another path")]),
    ("tunnel: t\ningress:\n  - hostname: a.example.com:443\n    service: http://localhost:8080\n"
     "  - service: http_status:404\n", [(3, 15, "the hostname cannot contain a port")]),
    ("tunnel: t\ningress:\n  - hostname: a.*.example.com\n    service: http://localhost:8080\n"
     "  - service: http_status:404\n", [(3, 15, "a hostname may have one wildcard, only at its start")]),
    ("tunnel: t\ningress:\n  - hostname: a.example.com\n    path: \"*\"\n    service: http://localhost:8080\n"
     "  - service: http_status:404\n", [(4, 11, "ingress rule #1 has an invalid path regex")]),
    ("tunnel: t\ningress:\n  - service: http_status:not-found\n", [(3, 14, "is not an HTTP status")]),
    ("tunnel: t\ningress:\n  - service: localhost:8080\n", [(3, 14, "needs a scheme and a host name")]),
    ("tunnel: t\ningress:\n  - hostname: a.example.com\n  - service: http_status:404\n",
     [(3, 5, "ingress rule #1 has no service")]),
    ("tunnel: t\n", [(1, 1, "no ingress rules (and no url:)")]),
    ("tunnel: t\ningress: []\n", [(2, 10, "ingress: must be a non-empty list of rules")]),
    ("- tunnel\n", [(1, 1, "a cloudflared config is a mapping")]),
    ("tunnel: t\ningress:\n  - hostname: \"*.example.com\"\n    service: https://localhost:443\n"
     "  - service: http_status:404\n", []),
    ("tunnel: t\nurl: http://localhost:8080\n", []),
])
def test_cloudflared_ingress_validation(text: str, expected: list[tuple[int, int, str]]) -> None:
    doc = _read(text)
    got = [(d.location.line, d.location.column, d.message) for d in doc.diagnostics]
    assert [(line, column) for line, column, _ in got] == [(line, column) for line, column, _ in expected]
    for (_, _, message), (_, _, part) in zip(got, expected, strict=True):
        assert part in message
    assert all(d.rule_id == "BRL001" for d in doc.diagnostics)


def test_cloudflared_rules_become_routes_with_path_prefixes() -> None:
    doc = _read("tunnel: t\noriginRequest:\n  noTLSVerify: true\ningress:\n  - hostname: a.example.com\n"
                "    path: ^/api/.*\n    service: http://api:8080\n  - hostname: a.example.com\n"
                "    path: \\.m3u8$\n    service: https://origin\n  - service: http_status:404\n")
    assert doc.diagnostics == [] and doc.proxy is not None
    routes = [(r.path, r.backend) for r in doc.proxy.frontends[0].routes]
    assert routes == [("/api/", "ingress 1"), ("\\.m3u8$", "ingress 2")]
    servers = [(s.host, s.port, s.scheme) for b in doc.proxy.backends.values() for s in b.servers]
    assert servers == [("api", 8080, "http"), ("origin", 443, "https")]
    assert [str(r.no_verify.location) if r.no_verify else None for r in doc.rules] == [
        "cloudflared/config.yml:3:16"] * 3


@pytest.mark.parametrize(("pattern", "prefix"), [(None, None), ("^/api", "/api"), ("/hls/", "/hls/"),
                                                 ("^/api/v1/.*", "/api/v1/"), (".*\\.ts$", ".*\\.ts$")])
def test_path_prefix(pattern: str | None, prefix: str | None) -> None:
    assert path_prefix(pattern) == prefix


@pytest.mark.parametrize(("rel", "head", "claimed"), [
    ("etc/cloudflared/config.yml", "", True),
    ("home/u/.cloudflared/config.yaml", "", True),
    ("deploy/tunnel.yml", "tunnel: live\ningress:\n  - service: http_status:404\n", True),
    ("deploy/config.yml", "tunnel: live\n", False),
    ("app/config.yml", "ingress:\n  - host: x\n", False),
])
def test_cloudflared_files_are_recognised_by_name_or_content(rel: str, head: str, claimed: bool) -> None:
    fmt = next(f for f in REGISTRY if f.name == "cloudflared")
    file = FileName.of(rel)
    by_name = fmt.by_name(file) is Claim.YES
    by_content = fmt.looks_inside(file) and fmt.by_content(file, head) is Claim.YES
    assert (by_name or by_content) is claimed


# -- Fastly ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "path"), [
    ('req.url ~ "^/api/"', "/api/"), ('req.url.path ~ "^/hls/.*"', "/hls/"), ('req.url.path == "/healthz"', "/healthz"),
    ('std.prefixof(req.url.path, "/segments/")', "/segments/"), ('req.http.host == "api.example.com"', None),
    ('req.url ~ "m3u8$"', None), (None, None),
])
def test_fastly_condition_paths(statement: str | None, path: str | None) -> None:
    assert condition_path(statement) == path


def test_networks_cdn_fastly_uses_the_shipped_ranges(tmp_path: Path) -> None:
    files = {".bitriver-lint.yaml": "networks:\n  cdn: fastly\n", "main.tf": """resource "aws_security_group" "lb" {
  name = "lb"

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["151.101.0.0/16", "%s"]
  }
}

resource "aws_lb" "origin" {
  name            = "origin"
  security_groups = [aws_security_group.lb.id]
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.origin.arn
  port              = 443
  protocol          = "HTTPS"
}

resource "fastly_service_vcl" "live" {
  name = "live"
  backend {
    name    = "origin"
    address = aws_lb.origin.dns_name
    port    = 443
    use_ssl = true
  }
}
"""}
    clean = dict(files, **{"main.tf": files["main.tf"] % "2a04:4e42::/32"})
    assert findings(tmp_path / "clean", clean, "BRL106") == []
    opened = dict(files, **{"main.tf": files["main.tf"] % "203.0.113.0/24"})
    found = findings(tmp_path / "open", opened, "BRL106")
    assert [(rule, at) for rule, at, _ in found] == [("BRL106", "main.tf:4:3")]
    assert "203.0.113.0/24" in found[0][2]


# -- hostile Terraform for these providers: any shape of their resources, no internal error ------

_CF_TYPES = ("cloudflare_record", "cloudflare_dns_record", "cloudflare_zone_settings_override",
             "cloudflare_zone_setting", "cloudflare_authenticated_origin_pulls", "cloudflare_load_balancer",
             "cloudflare_load_balancer_pool", "cloudflare_load_balancer_monitor", "cloudflare_tunnel",
             "cloudflare_tunnel_config", "cloudflare_zero_trust_tunnel_cloudflared_config", "cloudflare_ruleset",
             "fastly_service_vcl", "fastly_service_compute", "aws_eip", "aws_lb", "aws_instance")
_CF_KEYS = ("zone_id", "name", "content", "value", "proxied", "settings", "ssl", "setting_id", "enabled",
            "default_pool_ids", "default_pools", "origins", "address", "port", "monitor", "type", "path", "method",
            "tunnel_id", "config", "ingress_rule", "ingress", "service", "hostname", "origin_request",
            "no_tls_verify", "rules", "expression", "backend", "use_ssl", "ssl_check_cert", "healthcheck",
            "request_condition", "condition", "statement", "snippet", "content", "shield", "instance", "user_data")
_CF_WORDS = ("strict", "full", "flexible", "off", "${cloudflare_zone.z.id}", "${aws_eip.e.public_ip}",
             "${aws_lb.l.dns_name}", "https://${aws_lb.l.dns_name}", "http://localhost:8080", "http_status:404",
             "${cloudflare_tunnel.t.id}.cfargotunnel.com", 'req.url ~ "^/api/"', "is_timed_hmac_valid_v0",
             'starts_with(http.request.uri.path, "/hls/")', "/healthz", "10.0.1.10", "api", "cloudflare_tunnel.t")


def test_provider_resources_of_any_shape_never_make_an_internal_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given
    from hypothesis import strategies as st
    from test_loader_properties import _tree

    from bitriver_lint.config import Config
    from bitriver_lint.engine import scan

    bodies = st.dictionaries(st.sampled_from(["a", "b", "t", "z", "e", "l"]),
                             st.dictionaries(st.sampled_from(_CF_KEYS), _tree(_CF_KEYS, _CF_WORDS), max_size=6),
                             min_size=1, max_size=2)

    @given(resources=st.dictionaries(st.sampled_from(_CF_TYPES), bodies, min_size=1, max_size=5))
    def check(resources: dict[str, object]) -> None:
        root = tmp_path_factory.mktemp("hostile")
        (root / "main.tf.json").write_text(json.dumps({"resource": resources}), encoding="utf-8")
        report = scan([root], Config(), root=root)
        assert report.errors == (), report.tracebacks

    check()


_FASTLY_ROUTED = """resource "fastly_service_vcl" "live" {
  name = "live"

  condition {
    name      = "hls-host"
    statement = "req.http.host == \\"hls.example.com\\""
    type      = "REQUEST"
  }

  backend {
    name              = "segments"
    address           = "origin.example.com"
    port              = 443
    use_ssl           = true
    ssl_cert_hostname = "origin.example.com"
    request_condition = "hls-host"
  }
%s}
"""
_TOKEN_SNIPPET = """
  snippet {
    name    = "token"
    type    = "recv"
    content = "if (!digest.secure_is_equal(req.url.qs, \\"x\\")) { error 403; }"
  }
"""
_BACKEND_SNIPPET = """
  snippet {
    name    = "route"
    type    = "recv"
    content = "if (req.url ~ \\"^/hls/\\") { set req.backend = F_segments; }"
  }
"""


@pytest.mark.parametrize(("extra", "notes"), [
    ("", [("fastly.tf:6:17", "condition hls-host picks backend segments by something other than a path prefix")]),
    (_BACKEND_SNIPPET, [("fastly.tf:6:17", "condition hls-host"), ("fastly.tf:22:15", "VCL route chooses the "
                                                                                    "backend in code")]),
    (_TOKEN_SNIPPET, []),
], ids=["host-condition", "vcl-sets-backend", "token-checked"])
def test_fastly_routing_it_cannot_read_is_a_note_for_segment_signing(tmp_path: Path, extra: str,
                                                                      notes: list[tuple[str, str]]) -> None:
    found = findings(tmp_path, {"fastly.tf": _FASTLY_ROUTED % extra}, "BRL002")
    assert [at for _, at, _ in found] == [at for at, _ in notes]
    for (_, _, message), (_, part) in zip(found, notes, strict=True):
        assert part in message and "BRL206" in message


def test_a_proxied_record_joins_the_proxy_that_serves_its_host_name(tmp_path: Path) -> None:
    files = {"main.tf": """resource "cloudflare_dns_record" "live" {
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
""", "edge/Caddyfile": "origin.live.example.com {\n\treverse_proxy 10.0.1.20:3000\n}\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    graph = scan_tree(tmp_path).graph
    cdn = graph.components(Role.CDN)[0]
    routed = [(graph.component_of(graph.node(target)).name, graph.node(target).port, edge.scheme)
              for listener in graph.listeners(cdn) for _, target, edge in graph.out_edges(listener.id, "routes")]
    assert routed == [("edge/Caddyfile", 443, "https")]


@pytest.mark.parametrize(("compose", "runner"), [
    ("services:\n  tunnel:\n    image: cloudflare/cloudflared:2024.10.0\n    volumes:\n"
     "      - ./cloudflared:/etc/cloudflared:ro\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.0\n",
     "tunnel"),
    ("services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.0\n    volumes:\n      - ./:/srv\n",
     "cloudflared tunnel t"),
])
def test_the_connector_is_the_service_that_runs_cloudflared(tmp_path: Path, compose: str, runner: str) -> None:
    (tmp_path / "cloudflared").mkdir()
    (tmp_path / "cloudflared" / "config.yml").write_text(
        "tunnel: t\ningress:\n  - hostname: live.example.com\n    service: http://api:8080\n"
        "  - service: http_status:404\n", encoding="utf-8")
    (tmp_path / "docker-compose.yml").write_text(compose, encoding="utf-8")
    graph = scan_tree(tmp_path).graph
    assert [c.name for c in graph.components(Role.CDN)] == [runner]
    assert [c.name for c in graph.components(Role.API)] == ["api"]


@pytest.mark.parametrize(("name", "reported"), [("hls", True), ("dashboard", False), ("www", False)])
def test_a_record_named_for_segments_is_a_segment_behaviour(tmp_path: Path, name: str, reported: bool) -> None:
    record = _RECORD_V5.replace('name    = "www"', f'name    = "{name}"')
    found = findings(tmp_path, {"dns.tf": record, "ssl.tf": _SSL_V5 % "strict"}, "BRL206")
    assert [(rule, at) for rule, at, _ in found] == ([("BRL206", "dns.tf:1:1")] if reported else [])


def test_a_load_balancers_fallback_pool_is_judged_too(tmp_path: Path) -> None:
    pool = """resource "cloudflare_load_balancer_monitor" "%(n)s" {
  account_id = "a"
  type       = "http"
  port       = 8080
  path       = "%(path)s"
}

resource "cloudflare_load_balancer_pool" "%(n)s" {
  account_id = "a"
  name       = "%(n)s"
  monitor    = cloudflare_load_balancer_monitor.%(n)s.id
  origins = [{
    name    = "%(n)s"
    address = aws_eip.%(n)s.public_ip
  }]
}

resource "aws_instance" "%(n)s" {
  ami           = "ami-1"
  instance_type = "m6i.xlarge"
  tags          = { Role = "api" }
}

resource "aws_eip" "%(n)s" {
  instance = aws_instance.%(n)s.id
}
"""
    balancer = """resource "cloudflare_load_balancer" "api" {
  zone_id       = "z"
  name          = "api.live.example.com"
  default_pools = [cloudflare_load_balancer_pool.eu.id]
  fallback_pool = cloudflare_load_balancer_pool.us.id
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = "z"
  setting_id = "ssl"
  value      = "strict"
}
"""
    files = {"eu.tf": pool % {"n": "eu", "path": "/healthz"}, "us.tf": pool % {"n": "us", "path": "/health"},
             "lb.tf": balancer}
    found = findings(tmp_path, files, "BRL302")
    assert [(rule, at) for rule, at, _ in found] == [("BRL302", "us.tf:5:16")]
    assert "pool cloudflare_load_balancer_pool.us on /health (expected /healthz)" in found[0][2]


def test_a_record_to_an_instance_reaches_the_proxy_of_the_tree_bound_to_it(tmp_path: Path) -> None:
    files = {
        ".bitriver-lint.yaml": "hosts:\n  edge: {resource: aws_instance.edge, paths: [origin]}\n",
        "origin/docker-compose.yml": "services:\n  caddy:\n    image: caddy:2.8\n    ports:\n      - \"443:443\"\n",
        "infra/main.tf": """resource "aws_instance" "edge" {
  ami           = "ami-1"
  instance_type = "c6i.large"
}

resource "aws_eip" "edge" {
  instance = aws_instance.edge.id
}

resource "cloudflare_dns_record" "live" {
  zone_id = "z"
  name    = "live"
  content = aws_eip.edge.public_ip
  type    = "A"
  proxied = true
  ttl     = 1
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = "z"
  setting_id = "ssl"
  value      = "strict"
}
"""}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    graph = scan_tree(tmp_path).graph
    cdn = graph.components(Role.CDN)[0]
    routed = [(graph.component_of(graph.node(target)).name, graph.node(target).port)
              for listener in graph.listeners(cdn) for _, target, _ in graph.out_edges(listener.id, "routes")]
    assert routed == [("caddy", 443)]


@pytest.mark.parametrize(("condition", "path"), [
    ('starts_with(http.request.uri.path, "/hls/")', "/hls/"), ('http.request.uri.path matches "^/api/.*"', "/api/"),
    ('http.request.uri.path eq "/healthz"', "/healthz"), ('http.host eq "hls.example.com"', None),
    ('http.request.uri.path contains "/hls/"', None), (None, None),
])
def test_cloudflare_rule_paths(condition: str | None, path: str | None) -> None:
    from bitriver_lint.providers.cloudflare import rule_path

    assert rule_path(condition) == path


_LB_RULES = """resource "cloudflare_load_balancer_pool" "media" {
  account_id = "a"
  name       = "media"
  origins = [{
    name    = "media"
    address = "203.0.113.20"
  }]
}

resource "cloudflare_load_balancer" "live" {
  zone_id       = "z"
  name          = "live.example.com"
  default_pools = [cloudflare_load_balancer_pool.media.id]
  fallback_pool = cloudflare_load_balancer_pool.media.id
  rules = [{
    name      = "segments"
    condition = %s
    overrides = {
      default_pools = [cloudflare_load_balancer_pool.media.id]
    }
  }]
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = "z"
  setting_id = "ssl"
  value      = "strict"
}
"""

_LB_RULES_V4 = """resource "cloudflare_load_balancer_pool" "media" {
  account_id = "a"
  name       = "media"
  origins {
    name    = "media"
    address = "203.0.113.20"
  }
}

resource "cloudflare_load_balancer" "live" {
  zone_id          = "z"
  name             = "live.example.com"
  default_pool_ids = [cloudflare_load_balancer_pool.media.id]
  fallback_pool_id = cloudflare_load_balancer_pool.media.id
  rules {
    name      = "segments"
    condition = %s
    overrides {
      default_pools = [cloudflare_load_balancer_pool.media.id]
    }
  }
}

resource "cloudflare_zone_settings_override" "live" {
  zone_id = "z"
  settings {
    ssl = "strict"
  }
}
"""


@pytest.mark.parametrize(("template", "condition", "expected"), [
    # v5 writes rules as a list attribute: what is in it is placed at the list.
    (_LB_RULES, '"starts_with(http.request.uri.path, \\"/hls/\\")"',
     [("BRL206", "lb.tf:15:11", "serves segments (/hls/)")]),
    (_LB_RULES, '"http.host eq \\"hls.example.com\\""',
     [("BRL002", "lb.tf:15:11", "rule segments picks pools by something other than a path prefix")]),
    (_LB_RULES_V4, '"starts_with(http.request.uri.path, \\"/hls/\\")"',
     [("BRL206", "lb.tf:17:17", "serves segments (/hls/)")]),
], ids=["path-rule", "host-rule", "v4-blocks"])
def test_cloudflare_load_balancer_rules(tmp_path: Path, template: str, condition: str,
                                        expected: list[tuple[str, str, str]]) -> None:
    found = [f for f in findings(tmp_path, {"lb.tf": template % condition}) if f[0] in ("BRL002", "BRL206")]
    assert [(rule, at) for rule, at, _ in found] == [(rule, at) for rule, at, _ in expected]
    for (_, _, message), (_, _, part) in zip(found, expected, strict=True):
        assert part in message


def test_a_tunnel_that_routes_paths_itself_is_judged_like_a_load_balancer(tmp_path: Path) -> None:
    files = {
        "docker-compose.yml": "services:\n  cloudflared:\n    image: cloudflare/cloudflared:2024.10.0\n"
                              "    volumes:\n      - ./cloudflared:/etc/cloudflared:ro\n"
                              "  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.0\n"
                              "  viewer:\n    image: ghcr.io/bitriver/bitriver-viewer:1.4.0\n",
        "cloudflared/config.yml": "tunnel: t\ningress:\n  - hostname: live.example.com\n    path: ^/api/\n"
                                  "    service: http://viewer:3000\n  - hostname: live.example.com\n"
                                  "    service: http://viewer:3000\n  - service: http_status:404\n",
    }
    found = findings(tmp_path, files, "BRL301")
    assert [(rule, at) for rule, at, _ in found] == [("BRL301", "cloudflared/config.yml:3:5")]
    assert "cloudflared routes /api to viewer (viewer), not to the api pool" in found[0][2]


def test_a_record_in_a_shared_module_joins_the_instance_of_its_own_root(tmp_path: Path) -> None:
    # envs/prod and envs/staging call one module with a proxied record to its instance; only
    # prod's instance runs something of ours. Joined by name, staging's zone reached prod's API.
    module = """variable "role" {
  type = string
}

resource "aws_instance" "web" {
  ami           = "ami-1"
  instance_type = "m6i.large"
  tags          = { Role = var.role }
}

resource "aws_eip" "web" {
  instance = aws_instance.web.id
}

resource "cloudflare_dns_record" "web" {
  zone_id = "z1"
  name    = "live"
  content = aws_eip.web.public_ip
  type    = "A"
  proxied = true
}

resource "cloudflare_zone_setting" "ssl" {
  zone_id    = "z1"
  setting_id = "ssl"
  value      = "strict"
}
"""
    (tmp_path / "modules" / "origin").mkdir(parents=True)
    (tmp_path / "modules" / "origin" / "main.tf").write_text(module)
    for env, role in (("prod", "api"), ("staging", "build-runner")):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            f'module "origin" {{\n  source = "../../modules/origin"\n  role   = "{role}"\n}}\n')
    graph = scan_tree(tmp_path).graph
    routed = {}
    for cdn in graph.components(Role.CDN):
        routed[cdn.id] = sorted(graph.component_of(graph.node(t)).id  # type: ignore[arg-type]
                                for li in graph.listeners(cdn) for _, t, _ in graph.out_edges(li.id, "routes"))
    assert sorted(routed.values()) == [[], ["tf:envs/prod:module.origin.aws_instance.web#component"]]
