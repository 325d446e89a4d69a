"""Scan-speed benchmark: each corpus folder and each fixture, best of N runs.

    python benchmarks/run.py [--repeat 3] [--corpus ../shared/corpus]

Targets (a 2-core machine): the whole compose corpus (~530 files) in under 2 s, a fixture
tree in under 0.5 s, CLI start-up (``--version``) in under 0.3 s, and an 80-root Terraform tree
(~260 KB of HCL, built from the fixtures) in under 6 s serially and 4 s with ``--jobs 2``, and
a host firewall at its rule limit (a blocklist of /32 drops beside hundreds of ports, in
rules.v4 and rules.v6) in front of a compose project in under 1.5 s.
Prints one line per target and exits 1 when a target is missed, so it can gate a release
without timing unit tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bitriver_lint.config import Config  # noqa: E402
from bitriver_lint.engine import scan  # noqa: E402

TARGETS = {"corpus": 2.0, "fixture": 0.5, "startup": 0.3, "terraform": 6.0, "jobs": 4.0, "firewall": 1.5}
TERRAFORM_ROOTS = 80


def best_of(repeat: int, fn: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args()
    missed = 0

    def report(kind: str, name: str, seconds: float, files: int) -> None:
        nonlocal missed
        ok = seconds <= TARGETS[kind]
        missed += not ok
        print(f"{'ok  ' if ok else 'SLOW'} {kind:<8} {name:<32} {seconds * 1000:8.1f} ms  {files:4d} files")

    if args.corpus.is_dir():
        for folder in sorted(p for p in args.corpus.iterdir() if p.is_dir()):
            result = scan([folder], Config(), root=folder)
            files = sum(len(v) for v in result.files.values())
            report("corpus", folder.name, best_of(args.repeat, lambda f=folder: scan([f], Config(), root=f)), files)
    for fixture in sorted((REPO / "fixtures").iterdir()):
        if fixture.is_dir():
            result = scan([fixture], Config(), root=fixture)
            files = sum(len(v) for v in result.files.values())
            report("fixture", fixture.name,
                   best_of(args.repeat, lambda f=fixture: scan([f], Config(), root=f)), files)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp)
        sources = [REPO / "fixtures" / name / "main.tf" for name in ("cdn-aws", "origin-edge-aws")]
        for i in range(TERRAFORM_ROOTS):
            (big / f"env{i}").mkdir()
            shutil.copy(sources[i % 2], big / f"env{i}" / "main.tf")
        for kind, jobs in (("terraform", 1), ("jobs", 2)):
            report(kind, f"{TERRAFORM_ROOTS} roots, --jobs {jobs}",
                   best_of(args.repeat, lambda j=jobs: scan([big], Config(), root=big, jobs=j)), TERRAFORM_ROOTS)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        shutil.copy(REPO / "fixtures" / "single-node-ufw-docker" / "docker-compose.yml", tree)
        (tree / "etc" / "iptables").mkdir(parents=True)
        for name, drop in (("rules.v4", "198.18.{a}.{b}/32"), ("rules.v6", "2001:db8::{a}:{b}/128")):
            drops = "".join(f"-A INPUT -s {drop.format(a=i // 250, b=i % 250 + 1)} -j DROP\n" for i in range(600))
            ports = "".join(f"-A INPUT -p tcp --dport {20000 + 2 * i} -j ACCEPT\n" for i in range(400))
            (tree / "etc" / "iptables" / name).write_text(f"*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n"
                                                          f"{drops}{ports}COMMIT\n")
        report("firewall", "1000-rule rules.v4/v6, compose",
               best_of(args.repeat, lambda: scan([tree], Config(), root=tree)), 3)
    startup = best_of(args.repeat, lambda: subprocess.run(
        [sys.executable, "-m", "bitriver_lint", "--version"], check=True, capture_output=True))
    report("startup", "bitriver-lint --version", startup, 0)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
