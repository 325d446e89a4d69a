"""Cloud Armor on a backend service and Cloud Run's invoker IAM as guard layers: what reaches an
origin through the load balancer, and whether anonymous viewers get past Cloud Run's IAM check."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, brief, scan_tree

from bitriver_lint.engine import ScanResult
from bitriver_lint.exposure import entries
from bitriver_lint.graph import Allow, Role, Route
from bitriver_lint.netsets import CidrSet
from bitriver_lint.vocabulary import Layer

PROVIDER = 'provider "google" {\n  region = "europe-west1"\n}\n'


def _scan(tmp_path: Path, body: str) -> ScanResult:
    (tmp_path / "main.tf").write_text(PROVIDER + body)
    return scan_tree(tmp_path)


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


def _related(result: ScanResult, rule: str) -> list[str]:
    (finding,) = [f for f in result.active if f.rule_id == rule]
    return [f"{r.location} {r.message}" for r in finding.related]


# -- Cloud Armor ----------------------------------------------------------------------------------

# SRS's HTTP API in a managed instance group with no external IP, behind an external HTTPS load
# balancer: the VPC firewall admits only Google's load-balancer ranges, so the world reaches 1985
# through the load balancer alone (BRL102), as far as the backend service's policy lets it.
SRS_BEHIND_LB = """
resource "google_compute_instance_template" "srs" {
  machine_type = "c3-standard-4"
  tags         = ["srs"]
  labels       = { role = "srs" }
  network_interface {
    network = "default"
  }
}

resource "google_compute_instance_group_manager" "srs" {
  name               = "bitriver-srs"
  base_instance_name = "bitriver-srs"
  zone               = "europe-west1-c"
  target_size        = 1
  named_port {
    name = "api"
    port = 1985
  }
  version {
    instance_template = google_compute_instance_template.srs.id
  }
}

resource "google_compute_firewall" "lb" {
  name          = "lb"
  network       = "default"
  source_ranges = ["130.211.0.0/22", "35.191.0.0/16"]
  target_tags   = ["srs"]
  allow {
    protocol = "tcp"
    ports    = ["1985"]
  }
}

resource "google_compute_backend_service" "srs" {
  protocol  = "HTTP"
  port_name = "api"
%s  backend {
    group = google_compute_instance_group_manager.srs.instance_group
  }
}

resource "google_compute_url_map" "ops" {
  default_service = google_compute_backend_service.srs.id
}

resource "google_compute_target_https_proxy" "ops" {
  url_map          = google_compute_url_map.ops.id
  ssl_certificates = ["projects/p/global/sslCertificates/ops"]
}

resource "google_compute_global_forwarding_rule" "https" {
  port_range = "443"
  target     = google_compute_target_https_proxy.ops.id
}
"""

ATTACHED = "  security_policy = google_compute_security_policy.ops.id\n"


def _rule(action: str, priority: int, ranges: str) -> str:
    return f"""
  rule {{
    action   = "{action}"
    priority = {priority}
    match {{
      versioned_expr = "SRC_IPS_V1"
      config {{
        src_ip_ranges = [{ranges}]
      }}
    }}
  }}"""


def _policy(*rules: str) -> str:
    return '\nresource "google_compute_security_policy" "ops" {\n  name = "ops-only"' + "".join(rules) + "\n}\n"


def _lb(policy: str, attached: str = ATTACHED) -> str:
    return SRS_BEHIND_LB % attached + policy


def test_without_a_policy_the_load_balancer_carries_the_world_to_the_srs_api(tmp_path: Path) -> None:
    """A guard against under-reporting: the scenario the Cloud Armor tests narrow is open."""
    body = _lb("", attached="")
    assert _only(_scan(tmp_path, body), "BRL102") == ["BRL102 " + at(body, 'resource "google_compute_global')]


def test_an_armor_allow_list_narrows_the_origin_behind_the_load_balancer(tmp_path: Path) -> None:
    body = _lb(_policy(_rule("allow", 1000, '"10.0.0.0/8"'), _rule("deny(403)", 2147483647, '"*"')))
    result = _scan(tmp_path, body)
    assert _only(result, "BRL102", "BRL002") == []
    graph = result.graph
    (lb,) = graph.components(Role.LB)
    (pool,) = graph.pools(lb)
    assert pool.described_layers == {Layer.SECURITY_POLICY}
    allows = [e for _, _, e in graph.in_edges(pool.id, "allows") if isinstance(e, Allow)]
    assert [(e.layer, e.cidrs, str(e.location), e.description) for e in allows] == [
        (Layer.SECURITY_POLICY, ["10.0.0.0/8"], at(body, "rule {"),
         "google_compute_security_policy.ops rule priority 1000")]
    routes = [e for _, _, e in graph.edges("routes") if isinstance(e, Route)]
    assert [r.pool for r in routes] == [pool.id]


def test_an_armor_default_allow_leaves_the_origin_open_at_the_default_rule(tmp_path: Path) -> None:
    body = _lb(_policy(_rule("deny(403)", 1000, '"198.51.100.0/24"'), _rule("allow", 2147483647, '"*"')))
    result = _scan(tmp_path, body)
    # Reported at the rule that lets the world in: the policy is where the fix belongs.
    assert _only(result, "BRL102") == ["BRL102 " + at(body, "rule {", 2)]
    assert (f"{at(body, 'rule {', 2)} Cloud Armor (google_compute_security_policy.ops default rule) allows *, "
            "less what rules before it match on 443/tcp") in _related(result, "BRL102")


def test_a_policy_without_a_default_rule_gets_googles_default_allow(tmp_path: Path) -> None:
    body = _lb(_policy(_rule("allow", 1000, '"10.0.0.0/8"')))
    result = _scan(tmp_path, body)
    assert _only(result, "BRL102") == ["BRL102 " + at(body, 'resource "google_compute_security_policy"')]
    assert any("* (no default rule written)" in r for r in _related(result, "BRL102"))


def test_a_deny_at_a_lower_priority_number_beats_a_later_allow(tmp_path: Path) -> None:
    deny_first = _lb(_policy(_rule("allow", 2000, '"0.0.0.0/0", "::/0"'), _rule("deny(403)", 500, '"*"'),
                             _rule("deny(404)", 2147483647, '"*"')))
    assert _only(_scan(tmp_path, deny_first), "BRL102") == []
    # The same deny after the allow (a higher number) decides nothing the allow has not.
    allow_first = _lb(_policy(_rule("allow", 200, '"0.0.0.0/0", "::/0"'), _rule("deny(403)", 500, '"*"'),
                              _rule("deny(404)", 2147483647, '"*"')))
    assert _only(_scan(tmp_path, allow_first), "BRL102") == ["BRL102 " + at(allow_first, "rule {")]


def test_an_expression_match_is_noted_not_taken_as_allow_or_deny(tmp_path: Path) -> None:
    expr = """
  rule {
    action   = "deny(403)"
    priority = 100
    match {
      expr {
        expression = "origin.region_code == 'RU'"
      }
    }
  }"""
    body = _lb(_policy(expr, _rule("allow", 2147483647, '"*"')))
    result = _scan(tmp_path, body)
    assert _only(result, "BRL102", "BRL002") == ["BRL002 " + at(body, '"origin.region_code')]
    (note,) = [f for f in result.active if f.rule_id == "BRL002"]
    assert "Cloud Armor expression" in note.message and "1985/tcp" in note.message


def test_an_expression_no_source_can_reach_does_not_matter(tmp_path: Path) -> None:
    """After a deny of every source an expression decides nothing: not a note (over-reporting)."""
    expr = """
  rule {
    action   = "allow"
    priority = 900
    match {
      expr {
        expression = "request.headers['x-ops'] == 'yes'"
      }
    }
  }"""
    body = _lb(_policy(_rule("deny(403)", 100, '"*"'), expr, _rule("allow", 2147483647, '"*"')))
    assert _only(_scan(tmp_path, body), "BRL102", "BRL002") == []


def test_a_policy_the_tree_does_not_define_is_noted(tmp_path: Path) -> None:
    attached = '  security_policy = "projects/p/global/securityPolicies/ops-only"\n'
    body = _lb("", attached=attached)
    result = _scan(tmp_path, body)
    assert _only(result, "BRL102", "BRL002") == ["BRL002 " + at(body, '"projects/p/global/securityPolicies')]
    (note,) = [f for f in result.active if f.rule_id == "BRL002"]
    assert "names no google_compute_security_policy in this tree" in note.message


def test_a_policy_from_an_unset_variable_is_noted(tmp_path: Path) -> None:
    body = 'variable "policy" {}\n' + _lb("", attached="  security_policy = var.policy\n")
    assert _only(_scan(tmp_path, body), "BRL102", "BRL002") == ["BRL002 " + at(body, "var.policy")]


def test_a_policy_by_name_and_a_separate_rule_resource(tmp_path: Path) -> None:
    separate = """
resource "google_compute_security_policy_rule" "office" {
  security_policy = google_compute_security_policy.ops.name
  action          = "allow"
  priority        = 10
  match {
    versioned_expr = "SRC_IPS_V1"
    config {
      src_ip_ranges = ["203.0.113.0/24"]
    }
  }
}
"""
    body = _lb(_policy(_rule("deny(403)", 2147483647, '"*"')) + separate,
               attached="  security_policy = google_compute_security_policy.ops.name\n")
    result = _scan(tmp_path, body)
    # 203.0.113.0/24 is outside the operators (private networks by default): reported at the rule
    # resource that admits it.
    assert _only(result, "BRL102") == ["BRL102 " + at(body, 'resource "google_compute_security_policy_rule"')]


# -- Cloud Run invoker IAM ------------------------------------------------------------------------

def _run(name: str = "api", location: str = "europe-west1", service: str = "bitriver-api") -> str:
    return f"""
resource "google_cloud_run_v2_service" "{name}" {{
  name     = "{service}"
  location = "{location}"
  ingress  = "INGRESS_TRAFFIC_ALL"
  template {{
    containers {{
      image = "ghcr.io/bitriver/bitriver-live:1.4.2"
      env {{
        name  = "BITRIVER_LIVE_ADDR"
        value = ":8080"
      }}
    }}
  }}
}}
"""


def _member(member: str, role: str = '"roles/run.invoker"', name: str = "google_cloud_run_v2_service.api.name",
            location: str = "google_cloud_run_v2_service.api.location") -> str:
    return f"""
resource "google_cloud_run_v2_service_iam_member" "public" {{
  name     = {name}
  location = {location}
  role     = {role}
  member   = {member}
}}
"""


def test_ingress_all_without_an_invoker_grant_is_not_public(tmp_path: Path) -> None:
    result = _scan(tmp_path, _run())
    assert _only(result, "BRL104", "BRL002") == []
    (host,) = [h for h in result.graph.hosts() if h.name == "google_cloud_run_v2_service.api"]
    assert Layer.INVOKER in host.described_layers


def test_a_grant_to_someone_else_keeps_it_private(tmp_path: Path) -> None:
    """A guard against over-reporting: only allUsers and allAuthenticatedUsers are anonymous."""
    for member, role in (('"serviceAccount:lb@p.iam.gserviceaccount.com"', '"roles/run.invoker"'),
                         ('"allUsers"', '"roles/run.viewer"')):
        assert _only(_scan(tmp_path, _run() + _member(member, role)), "BRL104", "BRL002") == [], member


def test_an_allusers_grant_makes_it_public_with_the_grant_in_the_proof(tmp_path: Path) -> None:
    body = _run() + _member('"allUsers"')
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL')]
    grant = at(body, '"allUsers')
    assert (f"{grant} Cloud Run invoker IAM allows allUsers (google_cloud_run_v2_service_iam_member.public grants "
            "roles/run.invoker) on 443/tcp") in _related(result, "BRL104")


def test_all_authenticated_users_and_a_v1_binding_count_as_public(tmp_path: Path) -> None:
    binding = """
resource "google_cloud_run_service_iam_binding" "public" {
  service  = "bitriver-api"
  location = "europe-west1"
  role     = "roles/run.invoker"
  members  = ["user:ops@example.com", "allAuthenticatedUsers"]
}
"""
    body = _run() + binding
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL')]
    assert any("allAuthenticatedUsers (any Google account)" in r and at(body, "[\"user:") in r
               for r in _related(result, "BRL104"))


def test_a_policy_from_a_google_iam_policy_data_source(tmp_path: Path) -> None:
    policy = """
data "google_iam_policy" "noauth" {
  binding {
    role    = "roles/run.invoker"
    members = ["allUsers"]
  }
}

resource "google_cloud_run_v2_service_iam_policy" "noauth" {
  name        = google_cloud_run_v2_service.api.name
  location    = google_cloud_run_v2_service.api.location
  policy_data = data.google_iam_policy.noauth.policy_data
}
"""
    body = _run() + policy
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL')]
    # The proof names the binding that grants it, where the data source writes it.
    binding = at(body, '["allUsers')
    assert (f"{binding} Cloud Run invoker IAM allows allUsers (google_cloud_run_v2_service_iam_policy.noauth grants "
            "roles/run.invoker) on 443/tcp") in _related(result, "BRL104")


def test_the_grant_joins_the_service_of_its_name_and_location(tmp_path: Path) -> None:
    # Two services of one name in two regions; the grant names the Belgian one by its name.
    body = (_run() + _run("api_us", "us-central1")
            + _member('"allUsers"', name='"bitriver-api"', location='"us-central1"'))
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL', 2)]


def test_an_unknown_member_is_noted_not_guessed(tmp_path: Path) -> None:
    body = 'variable "invoker" {}\n' + _run() + _member("var.invoker")
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104", "BRL002") == ["BRL002 " + at(body, "var.invoker\n")]
    (note,) = [f for f in result.active if f.rule_id == "BRL002"]
    assert "var.invoker" in note.message


def test_an_unknown_role_beside_allusers_is_noted(tmp_path: Path) -> None:
    body = 'variable "role" {}\n' + _run() + _member('"allUsers"', role="var.role")
    assert _only(_scan(tmp_path, body), "BRL104", "BRL002") == ["BRL002 " + at(body, "var.role\n")]


def test_invoker_iam_disabled_lets_everyone_in(tmp_path: Path) -> None:
    body = _run().replace('  ingress  = "INGRESS_TRAFFIC_ALL"\n',
                          '  ingress  = "INGRESS_TRAFFIC_ALL"\n  invoker_iam_disabled = true\n')
    result = _scan(tmp_path, body)
    assert _only(result, "BRL104") == ["BRL104 " + at(body, '"INGRESS_TRAFFIC_ALL')]
    assert any("invoker_iam_disabled = true" in r for r in _related(result, "BRL104"))


def test_without_a_grant_the_load_balancer_carries_no_anonymous_request_either(tmp_path: Path) -> None:
    # The gcp-cloud-run fixture without its allUsers grants: Cloud Run checks what the load
    # balancer forwards too, so the viewer behind it is reached by no anonymous client.
    text = (FIXTURES / "gcp-cloud-run" / "main.tf").read_text()
    (tmp_path / "main.tf").write_text(text[:text.index("# Viewers are anonymous")])
    graph = scan_tree(tmp_path).graph
    (viewer,) = graph.components(Role.VIEWER)
    (listener,) = graph.listeners(viewer)
    routed = [e for e in entries(graph, listener) if e.via is not None]
    assert routed and all(not e.reach for e in routed)
    assert all("no Cloud Run invoker IAM rule admits 443/tcp" in [r.message for r in e.evidence] for e in routed)
    graph = scan_tree(FIXTURES / "gcp-cloud-run").graph
    (viewer,) = graph.components(Role.VIEWER)
    (listener,) = graph.listeners(viewer)
    routed = [e for e in entries(graph, listener) if e.via is not None]
    assert routed and all(e.reach == CidrSet(["0.0.0.0/0", "::/0"]) for e in routed)


HOSTILE = """
variable "v" {}

resource "google_cloud_run_v2_service" "api" {
  name     = "bitriver-api"
  location = 7
  template {
    containers {
      image = "ghcr.io/bitriver/bitriver-live:1.4.2"
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "a" {
  name     = "bitriver-api"
  role     = ["roles/run.invoker"]
  member   = { who = "allUsers" }
}

resource "google_cloud_run_v2_service_iam_binding" "b" {
  name    = google_cloud_run_v2_service.api.name
  role    = "roles/run.invoker"
  members = [["allUsers"], { a = 1 }, 3]
}

resource "google_cloud_run_service_iam_policy" "c" {
  service     = var.v
  policy_data = 12
}

resource "google_compute_security_policy" "p" {
  rule {
    action   = ["allow"]
    priority = "first"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["not-a-cidr", 7]
      }
    }
  }
  rule {
    match {}
  }
  rule {}
}

resource "google_compute_security_policy_rule" "r" {
  security_policy = google_compute_security_policy.p.name
  action          = "allow"
  priority        = 5
  match {
    config {
      src_ip_ranges = "10.0.0.0/8"
    }
  }
}

resource "google_compute_backend_service" "b" {
  security_policy = google_compute_security_policy.p.self_link
}

resource "google_compute_backend_service" "c" {
  security_policy = { x = 1 }
}

resource "google_compute_url_map" "u" {
  default_service = google_compute_backend_service.b.id
  path_matcher {
    name            = "m"
    default_service = google_compute_backend_service.c.id
  }
}

resource "google_compute_target_http_proxy" "p" {
  url_map = google_compute_url_map.u.id
}

resource "google_compute_global_forwarding_rule" "f" {
  target     = google_compute_target_http_proxy.p.id
  port_range = "80"
}
"""


def test_wrong_types_in_policies_and_grants_never_crash(tmp_path: Path) -> None:
    """Guard: the code before Cloud Armor and invoker grants read neither, so it passes there;
    it failed on the first version of the invoker reader, which raised on a list as a role."""
    result = _scan(tmp_path, HOSTILE)
    assert not result.errors and not result.tracebacks
    assert _only(result, "BRL001") == []


def test_a_regional_policy_on_a_regional_backend_service(tmp_path: Path) -> None:
    regional = (_lb(_policy(_rule("allow", 1000, '"10.0.0.0/8"'), _rule("deny(403)", 2147483647, '"*"')))
                .replace("google_compute_backend_service", "google_compute_region_backend_service")
                .replace("google_compute_url_map", "google_compute_region_url_map")
                .replace("google_compute_target_https_proxy", "google_compute_region_target_https_proxy")
                .replace("google_compute_global_forwarding_rule", "google_compute_forwarding_rule")
                .replace("google_compute_security_policy", "google_compute_region_security_policy"))
    assert _only(_scan(tmp_path, regional), "BRL102", "BRL002") == []
    opened = regional.replace('"deny(403)"', '"allow"')
    assert _only(_scan(tmp_path, opened), "BRL102") == ["BRL102 " + at(opened, "rule {", 2)]
