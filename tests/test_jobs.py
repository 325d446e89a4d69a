"""``--jobs``: the report is the same byte for byte whatever the number of processes (speed
itself is measured in ``benchmarks/run.py``)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from bitriver_lint.config import Config
from bitriver_lint.engine import scan
from bitriver_lint.loaders import terraform
from bitriver_lint.reporters import get_reporter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _report(root: Path, jobs: int) -> str:
    out = io.StringIO()
    get_reporter("json").render(scan([root], Config(), root=root, jobs=jobs), out)
    return out.getvalue()


def test_reports_are_byte_identical_across_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Terraform fixture in one tree, and one file large enough to be cut into pieces,
    with the size threshold lowered so that every ``-j`` above 1 really parses in workers."""
    for name in ("origin-edge-aws", "cdn-aws", "terraform-module-outputs", "terraform-alb-mistakes",
                 "terraform-dynamic-blocks", "terraform-sg-protocols", "compose-tls-pair"):
        shutil.copytree(FIXTURES / name, tmp_path / name, ignore=shutil.ignore_patterns("expected.yaml"))
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "main.tf").write_text("".join(
        f'resource "aws_security_group" "sg{n}" {{\n  ingress {{\n    from_port = {n}\n    to_port = {n}\n'
        f'    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n' for n in range(1, 200)))
    monkeypatch.setattr(terraform, "PARALLEL_MIN_BYTES", 0)
    pieces = terraform.split_file((tmp_path / "big" / "main.tf").read_text(), 8)
    assert len(pieces) > 1  # the large file really is parsed in pieces
    serial = _report(tmp_path, 1)
    assert '"BRL' in serial  # findings to compare, not an empty report
    assert _report(tmp_path, 2) == serial
    assert _report(tmp_path, 3) == serial
