"""A compose ``ports: ["8080"]`` (or ``docker run -p 8080``) publishes the container port on a
host port the engine picks, not on 8080: reports must not say 8080 is open, and a firewall rule
for 8080 does not admit the port that is."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

_COMPOSE = """services:
  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports:
      - "1935:1935"
      - "{api}"
"""

_MACHINE = """resource "aws_security_group" "ingest" {{
  name = "ingest"
  ingress {{
    from_port   = {low}
    to_port     = {high}
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}

resource "aws_instance" "ingest" {{
  ami                    = "ami-1"
  instance_type          = "c6i.large"
  vpc_security_group_ids = [aws_security_group.ingest.id]
}}
"""


def _tree(root: Path, api: str, ports: tuple[int, int] | None = None) -> None:
    (root / "compose").mkdir()
    (root / "compose/docker-compose.yml").write_text(_COMPOSE.format(api=api))
    if ports is not None:
        (root / "infra").mkdir()
        (root / "infra/main.tf").write_text(_MACHINE.format(low=ports[0], high=ports[1]))
        (root / ".bitriver-lint.yaml").write_text(
            "hosts:\n  ingest: {resource: aws_instance.ingest, paths: [compose]}\n")


def _findings(root: Path, rule: str) -> list[tuple[str, str, str, list[str]]]:
    result = scan_tree(root)
    return [(f.rule_id, str(f.location), f.message, [r.message for r in f.related])
            for f in result.active if f.rule_id == rule]


def test_an_ephemeral_publish_is_not_said_to_open_the_container_port(tmp_path: Path) -> None:
    _tree(tmp_path, "1985")
    assert _findings(tmp_path, "BRL107") == [(
        "BRL107", "compose/docker-compose.yml:7:9",
        "srs opens an ephemeral port (to 1985/tcp) on all interfaces; a single-node appliance should only "
        "expose 80, 443, 1935",
        ["published on an ephemeral port of all interfaces → container port 1985"],
    )]
    # Still the SRS API, open to anyone who finds the port.
    assert [(rule, where) for rule, where, _, _ in _findings(tmp_path, "BRL102")] == [
        ("BRL102", "compose/docker-compose.yml:7:9")]


def test_a_rule_for_the_container_port_does_not_admit_the_ephemeral_one(tmp_path: Path) -> None:
    # The security group opens 1985, but Docker published the API on a port of 32768-65535.
    _tree(tmp_path, "1985", (1985, 1985))
    assert _findings(tmp_path, "BRL102") == []


def test_a_rule_over_the_ephemeral_range_admits_it(tmp_path: Path) -> None:
    _tree(tmp_path, "1985", (1024, 65535))
    found = _findings(tmp_path, "BRL102")
    assert [(rule, where) for rule, where, _, _ in found] == [("BRL102", "infra/main.tf:3:3")]
    assert found[0][3][:2] == ["published on an ephemeral port of all interfaces → container port 1985",
                               "security group allows 0.0.0.0/0 on an ephemeral port/tcp"]


def test_a_fixed_publish_is_unchanged(tmp_path: Path) -> None:
    _tree(tmp_path, "1985:1985", (1985, 1985))
    found = _findings(tmp_path, "BRL102")
    assert [(rule, where) for rule, where, _, _ in found] == [("BRL102", "infra/main.tf:3:3")]
    assert found[0][3][:2] == ["published on port 1985 of all interfaces → container port 1985",
                               "security group allows 0.0.0.0/0 on 1985/tcp"]


def test_a_docker_run_unit_publishing_one_port_is_ephemeral_too(tmp_path: Path) -> None:
    (tmp_path / "srs.service").write_text(
        "[Service]\nExecStart=/usr/bin/docker run --rm -p 1935:1935 -p 1985 ossrs/srs:5\nRestart=always\n")
    messages = [m for _, _, m, _ in _findings(tmp_path, "BRL107")]
    assert messages == ["srs opens an ephemeral port (to 1985/tcp) on all interfaces; a single-node appliance "
                        "should only expose 80, 443, 1935"]



def test_haproxy_binds_it_refuses_open_nothing(tmp_path: Path) -> None:
    # haproxy -c: "invalid port '0'", "invalid port ''", "dgram-type socket not acceptable".
    (tmp_path / "haproxy.cfg").write_text(
        "defaults\n    mode http\n\nfrontend www\n    bind :::0\n    bind :::8443-\n    bind udp@:8444\n"
        "    bind :8445\n    default_backend app\n\nbackend app\n    server a 127.0.0.1:8080\n")
    assert [where for _, where, _, _ in _findings(tmp_path, "BRL107")] == ["haproxy.cfg:8:5"]
