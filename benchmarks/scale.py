"""Scaling benchmark: does a tree of N deployments cost about N times one deployment?

    python benchmarks/scale.py [--sites 100 1000] [--ratio 12] [--profile 1000] [--keep DIR]

The sites are ``trees.py``'s (compose, HAProxy, and a Terraform root calling shared local
modules); ``run.py`` measures every target, this script the scaling alone and profiles it.
Every size is scanned in a child process of its own, which reports the CPU time of the scan
(``time.process_time``, imports excluded) and its peak resident set size. The target: the
largest tree costs at most ``--ratio`` times the CPU of the smallest per ten-fold growth
(1,000 sites <= 12x 100 sites). ``--profile N`` runs the N-site scan under cProfile and prints
the top functions by cumulative and own time.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from trees import generate  # noqa: E402


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
