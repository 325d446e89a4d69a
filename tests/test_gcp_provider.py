"""Google Cloud resources as graph facts and findings: firewall rules, Compute Engine, Cloud Run,
the HTTPS load balancer chain, Cloud CDN, Cloud SQL and Memorystore."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, brief, scan_tree

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Allow, Host, Role
from bitriver_lint.vocabulary import HostKind, Layer

PROVIDER = 'provider "google" {\n  region = "europe-west1"\n}\n'


def _scan(tmp_path: Path, body: str, topology: str | None = None) -> ScanResult:
    (tmp_path / "main.tf").write_text(PROVIDER + body)
    return scan_tree(tmp_path, topology=topology)


def _only(result: ScanResult, *rules: str) -> list[str]:
    return [f for f in brief(result) if f.split()[0] in rules]


def at(body: str, needle: str, nth: int = 1) -> str:
    """``main.tf:line:column`` of the ``nth`` occurrence of ``needle`` in the file ``_scan`` writes."""
    text = PROVIDER + body
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return f"main.tf:{line}:{index - text.rfind(chr(10), 0, index)}"


# -- VPC firewall ---------------------------------------------------------------------------------

SRS_VM = """
resource "google_compute_instance" "srs" {
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
"""


def _firewall(name: str, ports: str, extra: str = "", kind: str = "allow") -> str:
    return f"""
resource "google_compute_firewall" "{name}" {{
  name    = "{name}"
  network = "default"
{extra}
  {kind} {{
    protocol = "tcp"
    ports    = [{ports}]
  }}
}}
"""


def test_a_firewall_rule_reaches_the_instances_with_its_target_tag(tmp_path: Path) -> None:
    body = SRS_VM + _firewall("srs_api", '"1985"', '  source_ranges = ["0.0.0.0/0"]\n  target_tags   = ["srs"]')
    result = _scan(tmp_path, body)
    # Reported at the allow block that lets the internet in.
    assert _only(result, "BRL102") == ["BRL102 " + at(body, 'allow {')]
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert "VPC firewall allows 0.0.0.0/0 on 1985/tcp" in [r.message for r in finding.related]
    host = next(h for h in result.graph.hosts() if h.name == "google_compute_instance.srs")
    assert (host.host_kind, host.region, host.az, host.public) == (HostKind.INSTANCE, "europe-west1",
                                                                   "europe-west1-b", True)


def test_a_rule_for_other_tags_or_disabled_or_egress_admits_nothing(tmp_path: Path) -> None:
    for extra in ('  source_ranges = ["0.0.0.0/0"]\n  target_tags = ["api"]',
                  '  source_ranges = ["0.0.0.0/0"]\n  disabled = true',
                  '  destination_ranges = ["0.0.0.0/0"]\n  direction = "EGRESS"'):
        result = _scan(tmp_path, SRS_VM + _firewall("srs_api", '"1985"', extra))
        assert _only(result, "BRL102") == [], extra


def test_a_rule_without_sources_or_targets_admits_everyone_to_every_instance(tmp_path: Path) -> None:
    body = SRS_VM + _firewall("open", '"1985"')
    assert _only(_scan(tmp_path, body), "BRL102") == ["BRL102 " + at(body, 'allow {')]


def test_a_deny_of_higher_priority_takes_its_ports_out_of_an_allow(tmp_path: Path) -> None:
    allow = _firewall("wide", '"1900-2000"', '  source_ranges = ["0.0.0.0/0"]')
    deny = _firewall("baseline", '"1985"', '  priority = 100\n  source_ranges = ["0.0.0.0/0"]', kind="deny")
    result = _scan(tmp_path, SRS_VM + allow + deny, topology="origin-edge")
    assert _only(result, "BRL102") == []
    # 1935 is outside the deny: still admitted, by the allow's piece below the deny.
    assert _only(result, "BRL101") == ["BRL101 " + at(SRS_VM + allow, 'allow {')]
    host = next(h for h in result.graph.hosts() if h.name == "google_compute_instance.srs")
    pieces = sorted((e.port_from, e.port_to) for _, _, e in result.graph.in_edges(host.id, "allows")
                    if isinstance(e, Allow) and e.layer is Layer.SECURITY_GROUP)
    assert pieces == [(1900, 1984), (1986, 2000)]


def test_a_deny_of_lower_priority_does_not_override_an_allow(tmp_path: Path) -> None:
    allow = _firewall("srs_api", '"1985"', '  priority = 500\n  source_ranges = ["0.0.0.0/0"]')
    deny = _firewall("late", '"1985"', '  priority = 65000\n  source_ranges = ["0.0.0.0/0"]', kind="deny")
    assert _only(_scan(tmp_path, SRS_VM + allow + deny), "BRL102") == ["BRL102 " + at(SRS_VM + allow, 'allow {')]


def test_googles_load_balancer_ranges_are_the_load_balancer_not_the_internet(tmp_path: Path) -> None:
    api = """
resource "google_compute_instance" "api" {
  name         = "api"
  machine_type = "n2-standard-4"
  zone         = "europe-west1-b"
  labels       = { role = "api" }
  tags         = ["api"]
  network_interface {
    network = "default"
    access_config {}
  }
}
"""
    lb = _firewall("lb", '"8080"', '  source_ranges = ["130.211.0.0/22", "35.191.0.0/16"]\n  target_tags = ["api"]')
    result = _scan(tmp_path, api + lb)
    assert _only(result, "BRL104") == []
    host = next(h for h in result.graph.hosts() if h.name == "google_compute_instance.api")
    (edge,) = [e for _, _, e in result.graph.in_edges(host.id, "allows") if e.layer is Layer.SECURITY_GROUP]
    assert "Google's load-balancer proxies and health checkers" in edge.assumed
    # A range beside them that is not Google's is the internet again.
    wider = _firewall("lb", '"8080"', '  source_ranges = ["130.211.0.0/22", "198.51.100.0/24"]')
    assert _only(_scan(tmp_path, api + wider), "BRL104") == ["BRL104 " + at(api + wider, 'allow {')]


def test_unknown_firewall_sources_are_noted_not_guessed(tmp_path: Path) -> None:
    rule = _firewall("srs_api", '"1985"', "  source_ranges = var.admin_ranges")
    body = SRS_VM + 'variable "admin_ranges" {}\n' + rule
    result = _scan(tmp_path, body)
    assert _only(result, "BRL102") == []
    assert _only(result, "BRL002") == ["BRL002 " + at(body, 'var.admin_ranges')]


def test_hostile_firewall_values_do_not_crash_the_scan(tmp_path: Path) -> None:
    rule = """
resource "google_compute_firewall" "odd" {
  network       = 42
  priority      = "high"
  source_ranges = ["not-a-cidr", 7]
  target_tags   = "srs"
  allow {
    protocol = ["tcp"]
    ports    = ["eighty", "1-2-3", 5]
  }
  deny {}
}
"""
    result = _scan(tmp_path, SRS_VM + rule)
    assert not result.errors
    assert any(h.name == "google_compute_instance.srs" for h in result.graph.hosts())


# -- Cloud Run ------------------------------------------------------------------------------------

def _run(ingress: str = "", extra: str = "", v1: bool = False) -> str:
    if v1:
        return f"""
resource "google_cloud_run_service" "api" {{
  name     = "bitriver-api"
  location = "europe-west1"
  metadata {{
    annotations = {{
      "run.googleapis.com/ingress" = "{ingress}"
    }}
  }}
  template {{
    metadata {{
      annotations = {{
        "autoscaling.knative.dev/minScale" = "3"
      }}
    }}
    spec {{
      containers {{
        image = "ghcr.io/bitriver/bitriver-live:1.4.2"
        env {{
          name  = "BITRIVER_LIVE_ADDR"
          value = ":8080"
        }}
      }}
    }}
  }}
}}
"""
    line = f'  ingress  = "{ingress}"\n' if ingress else ""
    return f"""
resource "google_cloud_run_v2_service" "api" {{
  name     = "bitriver-api"
  location = "europe-west1"
{line}  template {{
    scaling {{
      min_instance_count = 2
    }}
    containers {{
      image = "ghcr.io/bitriver/bitriver-live:1.4.2"
      env {{
        name  = "BITRIVER_LIVE_ADDR"
        value = ":8080"
      }}{extra}
    }}
  }}
}}
"""


def _invoker(v1: bool = False, name: str = "api") -> str:
    """The grant a public Cloud Run service has: without it every request needs an identity token."""
    kind = "google_cloud_run_service" if v1 else "google_cloud_run_v2_service"
    key = "service" if v1 else "name"
    return f"""
resource "{kind}_iam_member" "public" {{
  {key}{' ' * (8 - len(key))}= {kind}.{name}.name
  location = {kind}.{name}.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}}
"""


def test_cloud_run_ingress_all_exposes_the_api_at_the_ingress_line(tmp_path: Path) -> None:
    body = _run("INGRESS_TRAFFIC_ALL") + _invoker()
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL')]
    (api,) = result.graph.components(Role.API)
    assert api.replicas is not None and (api.replicas.value, str(api.replicas.location)) == (2, at(body, "2\n"))
    assert api.env["BITRIVER_LIVE_ADDR"].value == ":8080"
    (host,) = result.graph.hosts_of(api.id)
    assert (host.host_kind, host.region, host.managed) == (HostKind.CONTAINER_SERVICE, "europe-west1", True)
    (listener,) = result.graph.listeners(api)
    # Published on the service URL's 443, as compose's "443:8080" would be.
    assert [(listener.port, e.host_port) for _, _, e in result.graph.in_edges(listener.id, "publishes")] == [
        (8080, 443)]
    assert not listener.host_bound


def test_a_public_cloud_run_url_is_https_on_443_not_its_container_port(tmp_path: Path) -> None:
    # Google's "hello" sample, as real trees deploy it: the world reaches 443, not 8080 (BRL107).
    body = _run("INGRESS_TRAFFIC_ALL").replace("ghcr.io/bitriver/bitriver-live:1.4.2",
                                               "us-docker.pkg.dev/cloudrun/container/hello").replace(
        '"bitriver-api"', '"hello"').replace('"api" {', '"hello" {') + _invoker(name="hello")
    result = _scan(tmp_path, body, topology="single-node")
    assert _only(result, "BRL107", "BRL104") == []
    assert [c.role for c in result.graph.components()] == [Role.OTHER]


def test_cloud_run_ingress_defaults_to_all(tmp_path: Path) -> None:
    # Reported at the service, which does not write the setting.
    body = _run() + _invoker()
    assert _only(_scan(tmp_path, body), "BRL104") == ["BRL104 " + at(body, 'resource')]


@pytest.mark.parametrize("ingress", ["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"])
def test_cloud_run_internal_ingress_keeps_the_api_private(tmp_path: Path, ingress: str) -> None:
    assert _only(_scan(tmp_path, _run(ingress) + _invoker()), "BRL104") == []


def test_cloud_run_v1_reads_the_ingress_annotation_on_its_line(tmp_path: Path) -> None:
    body = _run("all", v1=True) + _invoker(v1=True)
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, "run.googleapis.com/ingress")]
    (api,) = result.graph.components(Role.API)
    assert api.replicas is not None and (api.replicas.value, str(api.replicas.location)) == (
        3, at(body, "autoscaling.knative.dev/minScale"))
    internal = _run("internal-and-cloud-load-balancing", v1=True) + _invoker(v1=True)
    assert _only(_scan(tmp_path, internal), "BRL104") == []


def test_cloud_run_unknown_ingress_is_noted(tmp_path: Path) -> None:
    body = _run().replace('  template {\n', '  ingress  = var.ingress\n  template {\n', 1)
    body = 'variable "ingress" {}\n' + body
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == []
    assert _only(result, "BRL002") == ["BRL002 " + at(body, 'var.ingress')]


def test_cloud_run_state_on_a_bucket_volume_is_persistent(tmp_path: Path) -> None:
    mount = """
      volume_mounts {
        name       = "state"
        mount_path = "/var/lib/bitriver-live"
      }"""
    volume = """    volumes {
      name = "state"
      %s {
      }
    }
  }
}
"""
    base = _run("INGRESS_TRAFFIC_INTERNAL_ONLY", mount)
    gcs = base[: base.rstrip().rstrip("}").rstrip().rstrip("}").rfind("\n") + 1]
    for kind, expected in (("gcs", []), ("empty_dir", ["BRL503 " + at(gcs, 'volume_mounts')])):
        result = _scan(tmp_path, gcs + volume % kind)
        assert _only(result, "BRL503") == expected, kind


# -- Managed instance groups ------------------------------------------------------------------------

MIG = """
resource "google_compute_instance_template" "api" {
  machine_type = "n2-standard-4"
  tags         = ["api"]
  labels       = { role = "api" }
  network_interface {
    network = "default"
  }
  metadata_startup_script = <<-EOT
    #!/bin/bash
    export BITRIVER_LIVE_ADDR=:9090
  EOT
}

resource "google_compute_instance_group_manager" "api" {
  name               = "bitriver-api"
  base_instance_name = "bitriver-api"
  zone               = "europe-west1-c"
  target_size        = 1
  version {
    instance_template = google_compute_instance_template.api.id
  }
}
"""


def test_a_managed_instance_group_is_a_host_in_its_zone_with_the_templates_settings(tmp_path: Path) -> None:
    result = _scan(tmp_path, MIG, topology="cdn")
    (api,) = result.graph.components(Role.API)
    (host,) = result.graph.hosts_of(api.id)
    assert (host.host_kind, host.az, host.region, host.public) == (HostKind.INSTANCE_GROUP, "europe-west1-c",
                                                                   "europe-west1", False)
    assert (api.env["BITRIVER_LIVE_ADDR"].value, str(api.env["BITRIVER_LIVE_ADDR"].location)) == (
        ":9090", at(MIG, "BITRIVER_LIVE_ADDR"))
    assert [li.port for li in result.graph.listeners(api)] == [9090]
    assert _only(result, "BRL404") == ["BRL404 " + at(MIG, "1\n")]


def test_an_autoscalers_minimum_is_the_groups_count(tmp_path: Path) -> None:
    scaler = """
resource "google_compute_autoscaler" "api" {
  name   = "bitriver-api"
  zone   = "europe-west1-c"
  target = google_compute_instance_group_manager.api.id
  autoscaling_policy {
    min_replicas = 2
    max_replicas = 6
  }
}
"""
    result = _scan(tmp_path, MIG + scaler, topology="cdn")
    assert _only(result, "BRL404") == []
    (api,) = result.graph.components(Role.API)
    assert api.replicas is not None and api.replicas.value == 2


def test_the_api_group_and_its_database_in_different_zones(tmp_path: Path) -> None:
    sql = """
resource "google_sql_database_instance" "db" {
  database_version = "POSTGRES_16"
  region           = "europe-west1"
  settings {
    tier              = "db-custom-2-8192"
    availability_type = "REGIONAL"
    location_preference {
      zone = "europe-west1-b"
    }
  }
}
"""
    result = _scan(tmp_path, MIG + sql, topology="origin-edge")
    assert _only(result, "BRL401") == ["BRL401 " + at(MIG + sql, 'resource', 3)]
    same = sql.replace("europe-west1-b", "europe-west1-c")
    assert _only(_scan(tmp_path, MIG + same, topology="origin-edge"), "BRL401") == []


# -- Cloud SQL and Memorystore ----------------------------------------------------------------------

def _sql(settings: str, extra: str = "") -> str:
    return f"""
resource "google_sql_database_instance" "db" {{
  name             = "bitriver"
  database_version = "POSTGRES_16"
  region           = "europe-west1"
{extra}  settings {{
    tier = "db-custom-2-8192"
{settings}
  }}
}}
"""


def test_cloud_sql_is_zonal_unless_regional(tmp_path: Path) -> None:
    db = at(_sql(""), "resource")
    assert _only(_scan(tmp_path, _sql(""), topology="cdn"), "BRL505") == [
        f"BRL505 {db}", f"BRL505 {db}"]  # zonal by default, and no replica
    zonal = _sql('    availability_type = "ZONAL"')
    result = _scan(tmp_path, zonal, topology="cdn")
    assert _only(result, "BRL505") == [f"BRL505 {db}", "BRL505 " + at(zonal, '"ZONAL')]
    replica = _sql("", '  master_instance_name = google_sql_database_instance.db.name\n').replace(
        '"db"', '"replica"').replace('"bitriver"', '"bitriver-replica"')
    result = _scan(tmp_path, _sql('    availability_type = "REGIONAL"') + replica, topology="cdn")
    assert _only(result, "BRL505") == []
    assert len(result.graph.components(Role.POSTGRES)) == 2


def test_cloud_sql_backups_are_off_unless_enabled(tmp_path: Path) -> None:
    body = _sql("    backup_configuration {\n      enabled = false\n    }")
    off = _scan(tmp_path, body, topology="origin-edge")
    assert _only(off, "BRL506") == ["BRL506 " + at(body, 'false')]
    on = _scan(tmp_path, _sql("    backup_configuration {\n      enabled = true\n    }"), topology="origin-edge")
    assert _only(on, "BRL506") == []


def test_cloud_sql_authorized_networks_decide_who_reaches_the_public_ip(tmp_path: Path) -> None:
    open_to_all = """    ip_configuration {
      ipv4_enabled = true
      authorized_networks {
        name  = "anywhere"
        value = "0.0.0.0/0"
      }
    }"""
    assert _only(_scan(tmp_path, _sql(open_to_all)), "BRL103") == ["BRL103 " + at(_sql(open_to_all), '"0.0.0.0/0')]
    office = open_to_all.replace("0.0.0.0/0", "10.8.0.0/16")
    assert _only(_scan(tmp_path, _sql(office)), "BRL103") == []
    # No authorized networks: the public IP takes connectors only.
    assert _only(_scan(tmp_path, _sql("")), "BRL103") == []


def test_a_non_postgres_cloud_sql_is_left_out(tmp_path: Path) -> None:
    result = _scan(tmp_path, _sql("").replace("POSTGRES_16", "MYSQL_8_0"))
    assert result.graph.components(Role.POSTGRES) == []


@pytest.mark.parametrize(("tier", "where"), [
    ("", "resource"),  # BASIC by default: reported at the instance
    ('  tier = "BASIC"\n', '"BASIC'),
    ('  tier = "STANDARD_HA"\n', None),
])
def test_memorystore_needs_the_standard_ha_tier(tmp_path: Path, tier: str, where: str | None) -> None:
    body = f'\nresource "google_redis_instance" "chat" {{\n  name           = "chat"\n  memory_size_gb = 1\n{tier}}}\n'
    result = _scan(tmp_path, body, topology="cdn")
    assert _only(result, "BRL507") == (["BRL507 " + at(body, where)] if where else [])
    (redis,) = result.graph.components(Role.REDIS)
    assert redis.resource_type == "google_redis_instance"


# -- HTTPS load balancer, health checks, Cloud CDN ------------------------------------------------

def _lb(check: str, cdn: str = "", bucket_extra: str = "") -> str:
    return MIG.replace('zone               = "europe-west1-c"\n',
                       'zone               = "europe-west1-c"\n  named_port {\n    name = "http"\n'
                       '    port = 8080\n  }\n').replace("export BITRIVER_LIVE_ADDR=:9090",
                                                         "export BITRIVER_LIVE_ADDR=:8080") + check + f"""
resource "google_compute_backend_service" "api" {{
  protocol      = "HTTP"
  health_checks = [google_compute_health_check.api.id]
  backend {{
    group = google_compute_instance_group_manager.api.instance_group
  }}
}}

resource "google_storage_bucket" "segments" {{
  name     = "segments"
  location = "EU"
}}
{bucket_extra}
resource "google_compute_backend_bucket" "segments" {{
  bucket_name = google_storage_bucket.segments.name
{cdn}}}

resource "google_compute_url_map" "live" {{
  default_service = google_compute_backend_service.api.id
  host_rule {{
    hosts        = ["*"]
    path_matcher = "live"
  }}
  path_matcher {{
    name            = "live"
    default_service = google_compute_backend_service.api.id
    path_rule {{
      paths   = ["/hls/*"]
      service = google_compute_backend_bucket.segments.id
    }}
  }}
}}

resource "google_compute_target_https_proxy" "live" {{
  url_map          = google_compute_url_map.live.id
  ssl_certificates = ["projects/p/global/sslCertificates/live"]
}}

resource "google_compute_global_forwarding_rule" "https" {{
  port_range = "443"
  target     = google_compute_target_https_proxy.live.id
}}
"""


HTTP_CHECK = """
resource "google_compute_health_check" "api" {
  http_health_check {
    port         = 8080
    request_path = "%s"
  }
}
"""


def test_the_load_balancer_chain_routes_to_the_group_and_probes_its_health_check(tmp_path: Path) -> None:
    body = _lb(HTTP_CHECK % "/health")
    result = _scan(tmp_path, body, topology="origin-edge")
    assert _only(result, "BRL302") == ["BRL302 " + at(body, '"/health')]
    graph = result.graph
    (lb,) = graph.components(Role.LB)
    assert lb.name == "google_compute_url_map.live"
    (api,) = graph.components(Role.API)
    routed = {(e.path, t) for li in graph.listeners(lb) for _, t, e in graph.out_edges(li.id, "routes")}
    assert routed == {(None, f"{api.id}#8080/tcp")}
    assert [li.port for li in graph.listeners(lb) if li.tls] == [443]
    assert _only(_scan(tmp_path, _lb(HTTP_CHECK % "/healthz"), topology="origin-edge"), "BRL302") == []


@pytest.mark.parametrize("instances", ["google_compute_instance.api[*].self_link",
                                       "[google_compute_instance.api[0].self_link, google_compute_instance.api[1].id]"])
def test_an_unmanaged_instance_group_sends_to_each_of_its_vms(tmp_path: Path, instances: str) -> None:
    vms = f"""
resource "google_compute_instance" "api" {{
  count        = 2
  machine_type = "n2-standard-4"
  zone         = "europe-west1-b"
  labels       = {{ role = "api" }}
  network_interface {{
    network = "default"
  }}
}}

resource "google_compute_instance_group" "api" {{
  zone      = "europe-west1-b"
  instances = {instances}
  named_port {{
    name = "http"
    port = 8080
  }}
}}
"""
    body = _lb(HTTP_CHECK % "/healthz").replace("google_compute_instance_group_manager.api.instance_group",
                                                "google_compute_instance_group.api.self_link") + vms
    graph = _scan(tmp_path, body, topology="origin-edge").graph
    (lb,) = graph.components(Role.LB)
    (pool,) = [p for p in graph.pools(lb) if p.name == "google_compute_backend_service.api"]
    assert [(c.name, graph.node(m).port) for c, m in zip(graph.components_behind(graph.members(pool)),
                                                          graph.members(pool), strict=True)] == [
        ("google_compute_instance.api[0]", 8080), ("google_compute_instance.api[1]", 8080)]


def test_legacy_and_tcp_health_checks(tmp_path: Path) -> None:
    legacy = '\nresource "google_compute_http_health_check" "api" {\n  port = 8080\n}\n'
    body = _lb(legacy).replace("google_compute_health_check.api.id", "google_compute_http_health_check.api.id")
    # No request_path: the legacy check probes "/", written nowhere but at the check.
    legacy_at = at(body, 'resource "google_compute_http_health_check"')
    assert _only(_scan(tmp_path, body, topology="origin-edge"), "BRL302") == [f"BRL302 {legacy_at}"]
    tcp = '\nresource "google_compute_health_check" "api" {\n  tcp_health_check {\n    port = 8080\n  }\n}\n'
    result = _scan(tmp_path, _lb(tcp), topology="origin-edge")
    (finding,) = [f for f in result.active if f.rule_id == "BRL302"]
    assert (str(finding.location), "only checks that the port accepts connections" in finding.message) == (
        at(_lb(tcp), 'resource "google_compute_health_check"'), True)


def test_cloud_cdn_on_a_backend_bucket_makes_the_load_balancer_a_cdn(tmp_path: Path) -> None:
    body = _lb(HTTP_CHECK % "/healthz", "  enable_cdn  = true\n")
    result = _scan(tmp_path, body)
    assert result.topology == "cdn"
    (cdn,) = result.graph.components(Role.CDN)
    assert cdn.name == "google_compute_url_map.live" and result.graph.components(Role.LB) == []
    assert [(o.id, o.bucket, o.access_control) for o in cdn.origins] == [
        ("google_compute_backend_bucket.segments", "google_storage_bucket.segments", False)]
    # Unsigned segments, and a bucket origin Cloud CDN can read only if it is public.
    assert _only(result, "BRL206") == ["BRL206 " + at(body, 'resource "google_compute_backend_bucket'),
                                       "BRL206 " + at(body, "path_rule")]


def test_a_signed_url_key_signs_the_segments_and_keeps_the_bucket_private(tmp_path: Path) -> None:
    key = """
resource "google_compute_backend_bucket_signed_url_key" "segments" {
  name           = "k1"
  key_value      = "c2VjcmV0"
  backend_bucket = google_compute_backend_bucket.segments.name
}
"""
    result = _scan(tmp_path, _lb(HTTP_CHECK % "/healthz", "  enable_cdn  = true\n") + key)
    assert _only(result, "BRL206") == []
    public = """
resource "google_storage_bucket_iam_member" "public" {
  bucket = google_storage_bucket.segments.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}
"""
    body = _lb(HTTP_CHECK % "/healthz", "  enable_cdn  = true\n", public) + key
    result = _scan(tmp_path, body)
    assert _only(result, "BRL206") == ["BRL206 " + at(body, '"allUsers')]


def test_a_signed_url_cache_age_on_the_cdn_policy_counts_as_signed(tmp_path: Path) -> None:
    policy = "  enable_cdn  = true\n  cdn_policy {\n    signed_url_cache_max_age_sec = 3600\n  }\n"
    body = _lb(HTTP_CHECK % "/healthz", policy)
    result = _scan(tmp_path, body)
    assert _only(result, "BRL206") == []
    (cdn,) = result.graph.components(Role.CDN)
    assert [b.signed for b in cdn.behaviours] == [True]


def test_cloud_cdn_pulling_a_backend_service_over_http(tmp_path: Path) -> None:
    body = _lb(HTTP_CHECK % "/healthz", "  enable_cdn  = true\n").replace(
        '  protocol      = "HTTP"\n', '  protocol      = "HTTP"\n  enable_cdn    = true\n')
    result = _scan(tmp_path, body)
    (finding,) = [f for f in result.active if f.rule_id == "BRL205"]
    assert (str(finding.location), "protocol = HTTP" in finding.message) == (at(body, '"HTTP"'), True)
    assert _only(_scan(tmp_path, body.replace('"HTTP"', '"HTTPS"')), "BRL205") == []


def test_the_provider_is_registered_beside_aws(tmp_path: Path) -> None:
    result = _scan(tmp_path, SRS_VM)
    assert [h.name for h in result.graph.hosts() if isinstance(h, Host)] == ["google_compute_instance.srs"]


# Every value of the wrong type, or unknown, where a rule reads one.
HOSTILE = """
resource "google_compute_instance" "a" {
  zone     = 5
  tags     = "x"
  labels   = ["role", "api"]
  metadata = "nope"
  network_interface = "bad"
  service_account {
    email = var.sa
  }
}
resource "google_compute_instance_group_manager" "m" {
  version {
    instance_template = var.tpl
  }
  named_port {
    name = 1
    port = "x"
  }
  target_size = "many"
}
resource "google_cloud_run_v2_service" "r" {
  ingress = 7
  template {
    containers {
      image = var.image
      env {
        name  = "BITRIVER_LIVE_ADDR"
        value = 8080
      }
      ports {
        container_port = "http"
      }
    }
    volumes {
      name = "v"
    }
  }
}
resource "google_cloud_run_service" "v1" {
  metadata {
    annotations = var.ann
  }
  template {
    spec {
      containers {}
    }
  }
}
resource "google_compute_backend_service" "b" {
  health_checks = "x"
  backend {
    group = var.g
  }
  session_affinity = ["x"]
}
resource "google_compute_url_map" "u" {
  default_service = var.s
  path_matcher {
    path_rule {
      paths   = var.p
      service = google_compute_backend_service.b.id
    }
  }
  default_url_redirect {
    https_redirect = "yes"
  }
}
resource "google_compute_target_https_proxy" "p" {
  url_map = google_compute_url_map.u.id
}
resource "google_compute_global_forwarding_rule" "f" {
  target     = google_compute_target_https_proxy.p.id
  port_range = ["a"]
}
resource "google_compute_global_forwarding_rule" "g" {
  target     = google_compute_target_https_proxy.p.id
  port_range = var.pr
}
resource "google_sql_database_instance" "s" {
  database_version = 16
  settings {
    ip_configuration {
      authorized_networks {
        value = 5
      }
    }
  }
}
resource "google_sql_database_instance" "t" {
  database_version     = "POSTGRES_15"
  master_instance_name = var.m
  settings {
    availability_type = var.av
    ip_configuration {
      ipv4_enabled = var.ip
      authorized_networks {
        value = var.net
      }
    }
    location_preference {
      zone = ["a"]
    }
  }
}
resource "google_redis_instance" "r" {
  tier = var.tier
}
resource "google_storage_bucket_iam_member" "m" {
  bucket = var.b
  member = 5
}
resource "google_storage_bucket" "x" {
  versioning {
    enabled = var.v
  }
}
resource "google_compute_firewall" "f" {
  source_ranges = "0.0.0.0/0"
  allow {
    protocol = var.proto
  }
  allow {
    protocol = "tcp"
    ports    = var.ports
  }
  deny {
    protocol = "tcp"
    ports    = ["65536-1"]
  }
}
resource "aws_globalaccelerator_accelerator" "a" {}
resource "aws_globalaccelerator_listener" "l" {
  accelerator_arn = aws_globalaccelerator_accelerator.a.id
  protocol        = 6
  port_range {
    from_port = 1
    to_port   = 65535
  }
}
resource "aws_globalaccelerator_endpoint_group" "e" {
  listener_arn = aws_globalaccelerator_listener.l.id
  health_check_protocol = ["HTTP"]
  endpoint_configuration {
    endpoint_id = 5
  }
  port_override {
    listener_port = "x"
  }
}
"""


@pytest.mark.parametrize("topology", [None, "cdn"])
def test_wrong_types_and_unknowns_everywhere_never_crash_and_are_noted(tmp_path: Path, topology: str | None) -> None:
    result = _scan(tmp_path, HOSTILE, topology)
    assert not result.errors and not result.tracebacks
    notes = _only(result, "BRL002")
    assert "BRL002 " + at(HOSTILE, "var.net") in notes  # an authorized network nobody sets
    if topology is None:
        assert "BRL002 " + at(HOSTILE, "7\n") in notes  # an ingress Cloud Run does not know
    else:
        assert "BRL002 " + at(HOSTILE, "var.tier") in notes


# -- Fixtures are what `terraform fmt` writes ------------------------------------------------------

NEW_FIXTURES = ("gcp-cloud-run", "gcp-cloud-run-mistakes", "gcp-gce-mig", "aws-global-accelerator",
                "aws-global-accelerator-mistakes")


@pytest.mark.parametrize("name", NEW_FIXTURES)
def test_fixture_hcl_is_terraform_fmt_clean(name: str, tmp_path: Path) -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH")
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run([binary, "fmt", "-check", "-diff", str(FIXTURES / name)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home), "CHECKPOINT_DISABLE": "1"},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_roots_that_call_one_module_route_each_load_balancer_to_their_own_group(tmp_path: Path) -> None:
    # envs/prod and envs/staging call modules/live: the group's name and the server line are the
    # same in both, so a lookup by name sent both load balancers to one root's group.
    (tmp_path / "modules" / "live").mkdir(parents=True)
    (tmp_path / "modules" / "live" / "main.tf").write_text(_lb(HTTP_CHECK % "/healthz"), encoding="utf-8")
    for env in ("prod", "staging"):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(
            'provider "google" {\n  project = "p"\n}\n\nmodule "live" {\n  source = "../../modules/live"\n}\n',
            encoding="utf-8")
    graph = scan_tree(tmp_path).graph
    routed = {}
    for lb in graph.components(Role.LB):
        targets = {graph.component_of(graph.node(t)).id  # type: ignore[arg-type]
                   for li in graph.listeners(lb) for _, t, _ in graph.out_edges(li.id, "routes")}
        routed[graph.environment_of(lb.id)] = targets
    assert routed == {
        "envs/prod": {"tf:envs/prod:module.live.google_compute_instance_group_manager.api#component"},
        "envs/staging": {"tf:envs/staging:module.live.google_compute_instance_group_manager.api#component"},
    }
