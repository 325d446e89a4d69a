"""Discovery (formats by name and content, excludes, .gitignore) and config handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_tree

from bitriver_lint.config import Config, find_config, load_config
from bitriver_lint.discovery import discover
from bitriver_lint.errors import ConfigError
from bitriver_lint.workspace import Workspace


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_formats_are_recognised_by_name_and_content(tmp_path: Path) -> None:
    _write(tmp_path, {
        "docker-compose.prod.yml": "not: compose-looking\n",
        "stack.yml": "version: '3'\nservices:\n  a: {image: x}\n",
        "ci.yml": "jobs: {}\n",
        "certs/live.key": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "certs/chain.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ".gitlab-ci.yml": "image: python:3.11\nservices:\n  - postgres:15\ntest:\n  script: [pytest]\n",
        "chart/values.yaml": "services:\n  srs:\n    image:\n      repository: ossrs/srs\n    port: 1935\n",
        "units/api.service": "[Service]\nExecStart=/bin/true\n",
        "units/api.service.d/override.conf": "[Service]\nRestart=always\n",
        "infra/main.tf": "resource \"x\" \"y\" {}\n",
        "lb/haproxy.cfg": "frontend fe\n  bind :80\n",
        "lb/edge.cfg": "defaults\n  mode http\nbackend b\n",
        "lb/stats.conf": "global\n  daemon\nlisten stats :8404\n  mode http\n",
        "proxy/site.conf": "server {\n  listen 80;\n}\n",
        "proxy/templates/live.conf.template": "server {\n  listen ${NGINX_PORT};\n}\n",
        "proxy/templates/motd.template": "Welcome to ${HOSTNAME}\n",
        # SRS's own config: nginx-like, with a top-level "listen 1935;" that is no HAProxy section,
        # and read as SRS's (not nginx's or HAProxy's).
        "ingest/srs.conf": "listen 1935;\nmax_connections 1000;\nhttp_api {\n  enabled on;\n  listen 1985;\n}\n"
                           "vhost __defaultVhost__ {\n}\n",
        "proxy/Caddyfile": "example.com {\n}\n",
        "envoy/front.yaml": "static_resources:\n  listeners: []\n",
        ".git/config": "[core]\n",
        "node_modules/x/compose.yaml": "services: {}\n",
    })
    found = discover([tmp_path], Workspace(tmp_path), [])
    assert found.by_format == {
        "compose": ["docker-compose.prod.yml", "stack.yml"],
        "systemd": ["units/api.service", "units/api.service.d/override.conf"],
        "terraform": ["infra/main.tf"],
        "haproxy": ["lb/edge.cfg", "lb/haproxy.cfg", "lb/stats.conf"],
        "nginx": ["proxy/site.conf", "proxy/templates/live.conf.template"],
        "caddy": ["proxy/Caddyfile"],
        "envoy": ["envoy/front.yaml"],
        "pem": ["certs/live.key"],
        "srs": ["ingest/srs.conf"],
    }


def test_excludes_and_gitignore(tmp_path: Path) -> None:
    _write(tmp_path, {
        ".gitignore": "generated/\n",
        "generated/compose.yaml": "services: {}\n",
        "legacy/old/compose.yaml": "services: {}\n",
        "compose.yaml": "services: {}\n",
    })
    found = discover([tmp_path], Workspace(tmp_path), ["legacy/**"])
    assert found.by_format == {"compose": ["compose.yaml"]}


def test_config_is_found_upwards_but_not_beyond_the_repository(tmp_path: Path) -> None:
    (tmp_path / ".bitriver-lint.yaml").write_text("topology: cdn\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "deploy").mkdir()
    assert find_config(repo / "deploy") is None
    (repo / ".bitriver-lint.yml").write_text("topology: origin-edge\n")
    found = find_config(repo / "deploy")
    assert found == repo / ".bitriver-lint.yml"
    assert load_config(found).topology == "origin-edge"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("networks:\n  cdn: [not-a-cidr]\n", ":2: networks.cdn"),
        ("roles:\n  media: ingest\n", ":2: roles.media: Input should be"),
        ("rules:\n  selec: [BRL1]\n", ":2: rules.selec: unknown key"),
        ("exclude: 5\n", ":1: exclude: Input should be a valid list"),
        ("- just\n- a list\n", ":1:1: the config must be a mapping"),
        ("topology: [\n", "invalid YAML"),
    ],
)
def test_config_errors_name_the_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_roles_override_changes_what_rules_see(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "services:\n  media:\n    image: example/ingest\n    restart: always\n"
                        "    ports: ['1985:1985']\n",
    })
    assert [f.rule_id for f in scan_tree(tmp_path, select=["BRL102"]).active] == []
    (tmp_path / ".bitriver-lint.yaml").write_text("roles:\n  media: srs\n")
    assert [str(f.location) for f in scan_tree(tmp_path, select=["BRL102"]).active] == ["compose.yaml:5:13"]


def test_named_networks_decide_what_is_outside(tmp_path: Path) -> None:
    _write(tmp_path, {
        "compose.yaml": "services:\n  srs:\n    image: ossrs/srs:5\n    restart: always\n"
                        "    ports: ['203.0.113.5:1935:1935']\n",
        ".bitriver-lint.yaml": "networks:\n  encoders: [203.0.113.0/24]\n",
    })
    # Bound to one public address: reachable from anywhere that can route to it.
    assert [f.rule_id for f in scan_tree(tmp_path, select=["BRL101"]).active] == ["BRL101"]
    assert Config().networks.encoders is None


def test_shipped_cdn_ranges_by_name(tmp_path: Path) -> None:
    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text("networks:\n  cdn: cloudflare\n")
    assert load_config(path).networks.cdn == ["cloudflare"]
    from bitriver_lint.exposure import named_set
    from bitriver_lint.netsets import CidrSet

    assert CidrSet(["173.245.48.0/20", "2606:4700::/32"]).issubset(named_set(load_config(path), "cdn"))
    path.write_text("networks:\n  cdn: cloudfront\n")
    cloudfront = named_set(load_config(path), "cdn")
    assert CidrSet(["130.176.88.0/21", "2600:9000:1000::/36"]).issubset(cloudfront)
    assert not CidrSet(["173.245.48.0/20"]).issubset(cloudfront)
    path.write_text("networks:\n  cdn: akamai\n")
    with pytest.raises(ConfigError, match=r":2: networks.cdn\[0\]: Value error, 'akamai' is neither a CIDR nor a "
                                          r"shipped range set \(cloudflare, cloudfront, fastly\)"):
        load_config(path)


def test_a_source_set_mixes_shipped_ranges_and_cidrs(tmp_path: Path) -> None:
    from bitriver_lint.exposure import named_set
    from bitriver_lint.netsets import CidrSet

    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text("networks:\n  cdn: [cloudfront, 203.0.113.0/24]\n  operators: [cloudflare]\n")
    config = load_config(path)
    cdn = named_set(config, "cdn")
    assert CidrSet(["130.176.88.0/21", "203.0.113.0/24"]).issubset(cdn)
    assert not CidrSet(["173.245.48.0/20"]).issubset(cdn)
    assert CidrSet(["173.245.48.0/20"]).issubset(named_set(config, "operators"))


def test_shipped_range_sets_say_when_and_where_they_were_taken() -> None:
    import datetime
    import ipaddress

    import yaml

    from bitriver_lint.exposure import _ranges_dir, shipped_range_names

    assert shipped_range_names() == ["cloudflare", "cloudfront", "fastly"]
    for name in shipped_range_names():
        data = yaml.safe_load((_ranges_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
        assert isinstance(data["taken"], datetime.date), name
        assert data["source"].startswith("https://"), name
        for version, key in ((4, "ipv4"), (6, "ipv6")):
            assert data[key], (name, key)
            assert all(ipaddress.ip_network(c).version == version for c in data[key]), (name, key)


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  select: [BRL1, BRL9]\n", ":2: rules.select[1]: no rule matches 'BRL9'"),
    ("rules:\n  ignore:\n    - BRL107\n    - brl1\n", ":4: rules.ignore[1]: no rule matches 'brl1'"),
    ("rules:\n  severity:\n    BRL405: note\n    BRL999: note\n", ":4: rules.severity.BRL999: unknown rule"),
])
def test_rule_ids_in_the_config_fail_closed(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).endswith(expected), str(info.value)


def test_a_hosts_path_that_is_no_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "origin").mkdir()
    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text("hosts:\n  api-1:\n    address: 10.0.1.10\n    paths:\n      - origin\n      - orign\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).endswith(":6: hosts.api-1.paths[1]: 'orign' is not a directory next to the config")
