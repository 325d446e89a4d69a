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
