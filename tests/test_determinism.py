"""The same tree gives the same report on every run, whatever Python's hash seed: findings that
depend on a set's iteration order flicker in CI and break baselines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO

MIXED_POOL = """\
global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind :80
    default_backend app
backend app
    option httpchk GET /status
    server api 10.0.0.10:8080 check
    server viewer 10.0.0.11:3000 check
"""


def report(path: Path, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run([sys.executable, "-m", "bitriver_lint", str(path), "-f", "json", "--exit-zero", "-j", "1"],
                          capture_output=True, text=True, cwd=REPO, env=env, check=True)
    return proc.stdout


def test_reports_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(MIXED_POOL)
    for tree in (tmp_path, FIXTURES):
        first = report(tree, "1")
        assert all(report(tree, seed) == first for seed in ("2", "3")), tree


def test_environments_that_reuse_private_addresses_join_their_own_services(tmp_path: Path) -> None:
    """prod and staging often use the same private addresses: each proxy joins the service
    defined nearest to it, as names do."""
    from conftest import scan_tree

    source = FIXTURES / "compose-address-joins"
    for env in ("prod", "staging"):
        target = tmp_path / "envs" / env
        (target / "edge").mkdir(parents=True)
        (target / "docker-compose.yml").write_text((source / "docker-compose.yml").read_text())
        (target / "edge" / "haproxy.cfg").write_text((source / "edge" / "haproxy.cfg").read_text())
    graph = scan_tree(tmp_path).graph
    routes = graph.edges("routes")
    assert routes
    for source_id, target_id, _ in routes:
        lb = graph.component_of(graph.node(source_id))  # type: ignore[arg-type]
        backend = graph.component_of(graph.node(target_id))  # type: ignore[arg-type]
        assert lb.location.path.split("/")[1] == backend.location.path.split("/")[1], (lb.id, backend.id)
