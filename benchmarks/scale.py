"""Scaling benchmark: does a tree of N deployments cost about N times one deployment?

    python benchmarks/scale.py [--sites 100 1000] [--ratio 12] [--profile 1000] [--keep DIR]

Each synthetic site is one directory with a compose project (api, postgres, redis, srs,
viewer), an HAProxy config whose backends name those services, and a Terraform root with an
``aws_instance`` behind an ``aws_security_group``. Every size is scanned in a child process of
its own, which reports the CPU time of the scan (``time.process_time``, imports excluded) and
its peak resident set size. The target: the largest tree costs at most ``--ratio`` times the
CPU of the smallest per ten-fold growth (1,000 sites <= 12x 100 sites). ``--profile N`` runs
the N-site scan under cProfile and prints the top functions by cumulative and own time.
Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

COMPOSE = """\
name: site{n}
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    restart: unless-stopped
    environment:
      BITRIVER_LIVE_ADDR: ":8080"
      BITRIVER_LIVE_DATABASE_URL: "postgres://bitriver:${{POSTGRES_PASSWORD:-x}}@postgres:5432/bitriver"
      BITRIVER_LIVE_REDIS_URL: "redis://redis:6379/0"
      BITRIVER_LIVE_SRS_API: "http://srs:1985"
    ports: ["8080:8080"]
    depends_on: [postgres, redis, srs]
  postgres:
    image: postgres:16-alpine
    restart: unless-stopped
    volumes: [pgdata:/var/lib/postgresql/data]
  redis:
    image: redis:7-alpine
    restart: unless-stopped
  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports: ["1935:1935"]
  viewer:
    image: ghcr.io/bitriver/bitriver-viewer:1.5.0
    restart: unless-stopped
    environment:
      PORT: "3000"
    ports: ["3000:3000"]
volumes:
  pgdata:
"""

HAPROXY = """\
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend www
    bind :443 ssl crt /etc/haproxy/certs/site.pem
    acl is_viewer path_beg /viewer
    use_backend viewer_pool if is_viewer
    default_backend api_pool

frontend rtmp
    mode tcp
    bind :1935
    default_backend srs_ingest

backend api_pool
    option httpchk GET /healthz
    server api-1 api:8080 check

backend viewer_pool
    server viewer-1 viewer:3000 check

backend srs_ingest
    mode tcp
    server srs-1 srs:1935 check
"""

TERRAFORM = """\
resource "aws_security_group" "site" {{
  name = "site{n}"

  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}

  ingress {{
    from_port   = 1935
    to_port     = 1935
    protocol    = "tcp"
    cidr_blocks = ["203.0.113.0/28"]
  }}
}}

resource "aws_instance" "site" {{
  ami                    = "ami-0abcdef1234567890"
  instance_type          = "c6i.xlarge"
  vpc_security_group_ids = [aws_security_group.site.id]
}}
"""


def generate(root: Path, sites: int) -> None:
    for n in range(sites):
        site = root / "sites" / f"site{n:04d}"
        site.mkdir(parents=True)
        (site / "docker-compose.yml").write_text(COMPOSE.format(n=n))
        (site / "haproxy.cfg").write_text(HAPROXY)
        (site / "main.tf").write_text(TERRAFORM.format(n=n))


def child(root: Path, profile: bool) -> None:
    """Scan ``root`` in this process; print one JSON line with what it cost."""
    import resource
    import time

    sys.path.insert(0, str(REPO))
    from bitriver_lint.config import Config
    from bitriver_lint.engine import scan

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.process_time()
    report = scan([root], Config(), root=root)
    cpu = time.process_time() - start
    if profile:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "cpu": cpu,
        "rss_mib": peak_kib / 1024,
        "files": sum(len(v) for v in report.files.values()),
        "findings": len(report.findings),
        "errors": len(report.errors),
    }))


def measure(sites: int, keep: Path | None, profile: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        root = Path(tmp)
        generate(root, sites)
        command = [sys.executable, __file__, "--child", str(root), *(["--child-profile"] if profile else [])]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--ratio", type=float, default=12.0, help="allowed CPU growth per ten-fold more sites")
    parser.add_argument("--profile", type=int, default=None, metavar="N", help="profile the N-site scan")
    parser.add_argument("--keep", type=Path, default=None, help="where to write the trees (a temp dir by default)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.child_profile)
        return 0
    if args.profile is not None:
        measure(args.profile, args.keep, profile=True)
        return 0
    results = {n: measure(n, args.keep, profile=False) for n in sorted(args.sites)}
    for n, r in results.items():
        print(f"{n:6d} sites  {r['files']:6.0f} files  {r['cpu']:8.2f} s CPU  {r['rss_mib']:7.0f} MiB peak RSS  "
              f"{r['findings']:6.0f} findings  {r['errors']:.0f} internal errors")
    small, large = min(results), max(results)
    if small == large:
        return 0
    allowed = args.ratio ** math.log10(large / small)
    ratio = results[large]["cpu"] / results[small]["cpu"]
    ok = ratio <= allowed
    print(f"{'ok  ' if ok else 'SLOW'} {large} sites cost {ratio:.1f}x the CPU of {small} sites "
          f"(allowed {allowed:.1f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
