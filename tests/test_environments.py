"""Environments kept side by side in one tree, and when directories are one environment."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, scan_tree


def test_a_directory_without_an_api_is_part_of_the_environment(tmp_path: Path) -> None:
    # Infrastructure in one directory, the compose project it runs in another, not joined by
    # config: one environment (one API), judged against the one topology the CDN makes.
    shutil.copytree(FIXTURES / "single-node", tmp_path / "deploy" / "compose")
    (tmp_path / "deploy" / "compose" / "expected.yaml").unlink()
    (tmp_path / "deploy" / "terraform").mkdir()
    (tmp_path / "deploy" / "terraform" / "main.tf").write_text(
        'resource "aws_cloudfront_distribution" "live" {\n  enabled = true\n}\n')
    result = scan_tree(tmp_path)
    assert result.topology == "cdn"
    graph = result.graph
    assert {graph.environment_of(c.id) for c in graph.components()} == {"."}


def test_two_environments_with_their_own_apis_are_apart(tmp_path: Path) -> None:
    for env in ("prod", "staging"):
        shutil.copytree(FIXTURES / "single-node", tmp_path / "envs" / env)
    result = scan_tree(tmp_path)
    graph = result.graph
    assert {graph.environment_of(c.id) for c in graph.components()} == {"envs/prod", "envs/staging"}
    assert result.topology == "single-node"  # the same layout twice is not "mixed"


def test_each_environment_needs_its_own_tls_termination(tmp_path: Path) -> None:
    # Production's Caddy terminates TLS for production only; staging has nothing in front.
    shutil.copytree(FIXTURES / "single-node", tmp_path / "envs" / "prod")
    shutil.copytree(FIXTURES / "compose-tls-missing", tmp_path / "envs" / "staging")
    for env in ("prod", "staging"):
        (tmp_path / "envs" / env / "expected.yaml").unlink()
    result = scan_tree(tmp_path, select=["BRL201"])
    assert [str(f.location) for f in result.active] == ["envs/staging/docker-compose.yml:3:3"]
