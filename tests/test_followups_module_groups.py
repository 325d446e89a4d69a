"""Security groups an instance names through a module output, or that the tree cannot tell.

A root that creates its SRS instance and takes the group from ``module.edge.security_group_id``
used to find no rules for ``module.edge.aws_security_group.srs`` (each module looked only at its
own groups) and took the instance as closed. A group the tree cannot tell (a registry module's
output, a data source, a variable with no value) was closed as well. Both hid BRL102.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.config import Config
from bitriver_lint.engine import scan
from bitriver_lint.graph import Allow

MODULE = """\
variable "ops_cidr" {
  type    = string
  default = "0.0.0.0/0"
}

resource "aws_security_group" "srs" {
  name = "srs"
  ingress {
    from_port   = 1985
    to_port     = 1985
    protocol    = "tcp"
    cidr_blocks = [var.ops_cidr]
  }
}

output "security_group_id" {
  value = aws_security_group.srs.id
}
"""

ROOT = """\
module "edge" {
  source = "./modules/edge"
}

resource "aws_instance" "srs" {
  ami                    = "ami-0123456789abcdef0"
  instance_type          = "c6i.2xlarge"
  vpc_security_group_ids = [module.edge.security_group_id]
  tags = {
    Role = "srs"
  }
}
"""


def findings(root: Path) -> list[tuple[str, str, str]]:
    report = scan([root], Config(), root=root)
    return [(f.rule_id, f"{f.location.path}:{f.location.line}:{f.location.column}", f.message) for f in report.findings]


def tree(tmp_path: Path, root: str, module: str = MODULE) -> Path:
    (tmp_path / "modules" / "edge").mkdir(parents=True)
    (tmp_path / "modules" / "edge" / "main.tf").write_text(module)
    (tmp_path / "main.tf").write_text(root)
    return tmp_path


def test_a_group_from_a_module_output_guards_the_root_instance(tmp_path: Path) -> None:
    found = findings(tree(tmp_path, ROOT))
    assert [(rule, where) for rule, where, _ in found if rule == "BRL102"] == [("BRL102", "modules/edge/main.tf:8:3")]
    report = scan([tmp_path], Config(), root=tmp_path)
    (finding,) = [f for f in report.findings if f.rule_id == "BRL102"]
    assert [f"{step.location.path}:{step.location.line}" for step in finding.related] == [
        "main.tf:5", "modules/edge/main.tf:8"]
    assert "aws_instance.srs" in finding.message and "0.0.0.0/0" in finding.message


def test_a_narrow_module_group_clears_the_root_instance(tmp_path: Path) -> None:
    module = MODULE.replace('default = "0.0.0.0/0"', 'default = "10.20.0.0/16"')
    assert [f for f in findings(tree(tmp_path, ROOT, module)) if f[0] in ("BRL102", "BRL002")] == []


def test_a_module_group_reaches_the_instance_as_an_allows_edge(tmp_path: Path) -> None:
    graph = scan([tree(tmp_path, ROOT)], Config(), root=tmp_path).graph
    assert graph is not None
    (host,) = [h for h in graph.hosts() if h.name == "aws_instance.srs"]
    allows = [(e.cidrs, e.port_from, e.description) for _, _, e in graph.out_edges(host.id, "allows")
              if isinstance(e, Allow) and e.layer == "security group"]
    assert allows == [(["0.0.0.0/0"], 1985, "module.edge.aws_security_group.srs")]


@pytest.mark.parametrize(("groups", "named"), [
    ("[module.remote.security_group_id]", "module.remote.security_group_id"),
    ("[data.aws_security_group.ops.id]", "data.aws_security_group.ops"),
    ("var.group_ids", "var.group_ids"),
])
def test_a_group_the_tree_cannot_tell_is_a_note_not_a_closed_port(tmp_path: Path, groups: str, named: str) -> None:
    root = (
        'variable "group_ids" {\n  type = list(string)\n}\n\n'
        'data "aws_security_group" "ops" {\n  name = "ops"\n}\n\n'
        'module "remote" {\n  source = "terraform-aws-modules/security-group/aws"\n}\n\n'
        + ROOT.replace("[module.edge.security_group_id]", groups).replace(
            'module "edge" {\n  source = "./modules/edge"\n}\n\n', ""))
    found = findings(tree(tmp_path, root))
    notes = [(rule, where, message) for rule, where, message in found if rule == "BRL002"]
    assert [(rule, where) for rule, where, _ in notes] == [("BRL002", "main.tf:16:28")]
    assert notes[0][2].startswith(named) and "BRL102 (srs-api-operator-only) cannot check who can reach 1985/tcp" \
        in notes[0][2]
    assert [f for f in found if f[0] == "BRL102"] == []
