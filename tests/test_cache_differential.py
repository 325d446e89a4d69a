"""Random edit sequences: a scan with the cache on (the parse cache and the scan memo, one cache
directory kept across the whole sequence) reports byte for byte what a scan without any cache
reports, after every edit.

The other cache and memo tests each check one change they were written for. Here hypothesis
picks the changes, their order and the sites they hit, from edits that reach across files by
every channel the scan has: ``.env`` interpolation, a shared Terraform module and a tfvars file,
backend names an HAProxy config joins by nearness, a host firewall found by directory, a config
and a ``.gitignore`` above the sites, inline suppressions, files that appear and disappear, and
writes that change nothing. Each edit toggles, so sequences come back to earlier states and the
cache is read for content it saw several edits ago. A failure prints the sequence to replay.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitriver_lint.cli import main

SITES = 2

COMPOSE = """\
name: site{n}
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    restart: unless-stopped
    ports: ["${{API_BIND:-0.0.0.0}}:8080:8080"]
  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports:
      - "1935:1935"
      - "1985:1985"
  proxy:
    image: haproxy:2.9
    restart: unless-stopped
    ports: ["80:80"]
    volumes: ["./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]
"""

HAPROXY = """\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind :80
    acl ops path_beg /srs-api
    use_backend srs_api if ops
    default_backend api

backend api
    server api1 api:8080 check

backend srs_api
    server srs1 srs:1985
"""

ROOT_TF = """\
variable "size" {
  type    = string
  default = "c6i.xlarge"
}

module "edge" {
  source = "../../../modules/edge"
  site   = "site{n}"
}

resource "aws_instance" "srs" {
  ami                    = "ami-0123456789abcdef0"
  instance_type          = var.size
  vpc_security_group_ids = [module.edge.security_group_id]
  tags = {
    Role = "srs"
  }
}
"""

MODULE_TF = """\
variable "site" {
  type = string
}

resource "aws_security_group" "srs" {
  name = "${var.site}-srs"
  ingress {
    from_port   = 1935
    to_port     = 1935
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

output "security_group_id" {
  value = aws_security_group.srs.id
}
"""

UFW = """\
#!/bin/sh
ufw default deny incoming
ufw allow 1935/tcp
ufw allow from 198.51.100.0/24 to any port 1985 proto tcp
ufw --force enable
"""

CONFIG = """\
suppress:
  - rule: BRL502
    path: "sites/site1/**"
    reason: restarts are the orchestrator's job on this site
"""


def write_tree(top: Path) -> None:
    (top / ".git").mkdir(parents=True)
    (top / "modules" / "edge").mkdir(parents=True)
    (top / "modules" / "edge" / "main.tf").write_text(MODULE_TF)
    for n in range(SITES):
        site = top / "sites" / f"site{n}"
        (site / "haproxy").mkdir(parents=True)
        (site / "infra").mkdir()
        (site / "docker-compose.yml").write_text(COMPOSE.format(n=n))
        (site / "haproxy" / "haproxy.cfg").write_text(HAPROXY)
        (site / "infra" / "main.tf").write_text(ROOT_TF.replace("{n}", str(n)))


# -- the edits: each toggles one thing, so applying it twice gives back the tree it started from ---

def toggle_file(path: Path, text: str) -> None:
    if path.exists():
        path.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def swap(path: Path, one: str, other: str) -> None:
    text = path.read_text()
    path.write_text(text.replace(one, other) if one in text else text.replace(other, one))


def site(top: Path, n: int) -> Path:
    return top / "sites" / f"site{n}"


Edit = Callable[[Path, int], None]

EDITS: dict[str, Edit] = {
    # A .env beside the project fills ${API_BIND}: the API moves to loopback.
    "dotenv": lambda top, n: toggle_file(site(top, n) / ".env", "API_BIND=127.0.0.1\n"),
    # The SRS API's publish on every interface or on loopback only.
    "srs-api-port": lambda top, n: swap(site(top, n) / "docker-compose.yml",
                                        '"1985:1985"', '"127.0.0.1:1985:1985"'),
    # A tfvars file sizes one root's instance as the guide asks.
    "tfvars": lambda top, n: toggle_file(site(top, n) / "infra" / "terraform.tfvars", 'size = "c6i.2xlarge"\n'),
    # The module every root calls opens the SRS API instead of RTMP: every site's findings move.
    "module": lambda top, n: swap(top / "modules" / "edge" / "main.tf",
                                  "from_port   = 1935\n    to_port     = 1935",
                                  "from_port   = 1985\n    to_port     = 1985"),
    # A backend server that names a service no file defines: the join turns dangling.
    "backend-name": lambda top, n: swap(site(top, n) / "haproxy" / "haproxy.cfg",
                                        "server srs1 srs:1985", "server srs1 srs-old:1985"),
    # A host firewall script guards the machine its directory describes.
    "firewall": lambda top, n: toggle_file(site(top, n) / "firewall.sh", UFW),
    # A config above the sites suppresses a rule under one of them.
    "config": lambda top, n: toggle_file(top / ".bitriver-lint.yaml", CONFIG),
    # A .gitignore at the top hides one site's HAProxy config from discovery.
    "gitignore": lambda top, n: toggle_file(top / ".gitignore", f"sites/site{n}/haproxy/\n"),
    # An inline suppression on the line of a finding.
    "inline": lambda top, n: swap(site(top, n) / "docker-compose.yml", '- "1935:1935"\n',
                                  '- "1935:1935" # bitriver-lint: ignore[BRL101] reason: shielded\n'),
    # The compose project disappears and comes back: backends and the firewall lose their host.
    "compose-gone": lambda top, n: move(site(top, n) / "docker-compose.yml", site(top, n) / "compose.off"),
    # The same bytes written again: only the modification time moves.
    "rewrite": lambda top, n: rewrite(site(top, n) / "haproxy" / "haproxy.cfg"),
}


def move(path: Path, aside: Path) -> None:
    if path.exists():
        path.rename(aside)
    elif aside.exists():
        aside.rename(path)


def rewrite(path: Path) -> None:
    if path.exists():
        path.write_bytes(path.read_bytes())
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# -- scanning ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def scan(top: Path, output: Path, *cache: str) -> str:
    """The JSON and SARIF reports of the CLI, run in this process as a user runs it."""
    reports = []
    for fmt in ("json", "sarif"):
        with cwd(top), contextlib.redirect_stderr(io.StringIO()):
            try:
                main(["scan", ".", "--exit-zero", "-f", fmt, "-o", str(output), *cache])
            except SystemExit as stop:  # the exit code, as a shell would see it
                assert stop.code in (0, None), stop.code
        reports.append(output.read_text())
    return "\n".join(reports)


steps = st.lists(st.tuples(st.sampled_from(sorted(EDITS)), st.integers(0, SITES - 1)), min_size=1, max_size=6)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_the_cached_scan_reports_what_a_fresh_scan_does_after_every_edit(edits: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        top = base / "repo"
        write_tree(top)
        cache_dir, output = base / "cache", base / "report"
        cached = ("--cache-dir", str(cache_dir))
        assert scan(top, output, *cached) == scan(top, output, "--no-cache")
        for number, (name, n) in enumerate(edits, 1):
            EDITS[name](top, n)
            warm = scan(top, output, *cached)
            fresh = scan(top, output, "--no-cache")
            assert warm == fresh, f"after edit {number} of {edits}"


def test_every_edit_changes_what_is_reported() -> None:
    """Each edit reaches a finding (else the test above could not catch a stale answer from it),
    but for the write that changes no byte."""
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        top = base / "repo"
        write_tree(top)
        before = scan(top, base / "report", "--no-cache")
        for name, edit in EDITS.items():
            edit(top, 1)
            after = scan(top, base / "report", "--no-cache")
            edit(top, 1)
            assert (after == before) == (name == "rewrite"), name
            assert scan(top, base / "report", "--no-cache") == before, f"{name} does not toggle back"
