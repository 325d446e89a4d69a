"""CDN origins named by reference to what the tree builds, joined within their own root.

A computed attribute (``aws_lb.api.dns_name``, ``aws_eip.srs.public_ip``) used to evaluate as
"not defined in this module", and a module output handing one out lost its module path, so a
caller could not tell ``module.edge.aws_lb.api`` from its own ``aws_lb.api``.
"""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.loaders import terraform
from bitriver_lint.loaders.terraform_document import AFTER_APPLY
from bitriver_lint.model import Unknown
from bitriver_lint.workspace import Workspace

EDGE_MODULE = """\
resource "aws_lb" "api" {
  name     = "api"
  internal = true
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
}

output "lb_dns_name" {
  value = aws_lb.api.dns_name
}
"""

CALL_EDGE = 'module "edge" {\n  source = "./modules/edge"\n}\n'  # 3 lines: the distribution starts at line 4


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root



# -- the evaluator: computed attributes name their resource, with its module path --------------

def test_a_computed_attribute_is_known_after_apply_and_keeps_its_module_path(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": CALL_EDGE + 'resource "aws_lb" "api" {\n  name = "root"\n}\n'
                      'output "own" {\n  value = aws_lb.api.dns_name\n}\n'
                      'output "theirs" {\n  value = module.edge.lb_dns_name\n}\n',
                      "modules/edge/main.tf": EDGE_MODULE})
    # Read through the loader's own module source: the documents keep resources, not outputs.
    sources = terraform.load_sources(["main.tf", "modules/edge/main.tf"], Workspace(tmp_path), Config())
    source = next(s for s in sources if not s.prefix)
    own = source.output("own", "own")
    theirs = source.output("theirs", "theirs")
    assert own == Unknown(("aws_lb.api",), "aws_lb.api.dns_name", why=AFTER_APPLY)
    assert theirs == Unknown(("module.edge.aws_lb.api",), "module.edge.aws_lb.api.dns_name", why=AFTER_APPLY)
