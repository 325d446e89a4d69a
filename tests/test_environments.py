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


def test_a_viewer_pool_is_expected_only_where_the_environment_runs_a_viewer(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "single-node", tmp_path / "envs" / "prod")
    shutil.copytree(FIXTURES / "single-node", tmp_path / "envs" / "staging")
    staging = tmp_path / "envs" / "staging"
    # Staging runs no viewer runtime: the API serves /viewer itself, as the guide allows.
    compose = (staging / "docker-compose.yml").read_text()
    start = compose.index("\n  viewer:\n")
    (staging / "docker-compose.yml").write_text(compose[:start] + compose[compose.index("\n  postgres:\n"):])
    caddyfile = (staging / "Caddyfile").read_text()
    viewer_route = "\thandle /viewer/* {\n\t\treverse_proxy viewer:3000\n\t}\n"
    (staging / "Caddyfile").write_text(caddyfile.replace(viewer_route, ""))
    result = scan_tree(tmp_path, topology="origin-edge", select=["BRL001", "BRL301"])
    assert [(f.rule_id, str(f.location)) for f in result.active] == []
    assert any(c.name == "viewer" for c in result.graph.components())  # production's viewer is there


def test_reports_list_each_environment_with_its_topology() -> None:
    import io
    import json

    from bitriver_lint.reporters import get_reporter

    result = scan_tree(FIXTURES / "environments-mixed-layouts")
    out = io.StringIO()
    get_reporter("json").render(result, out, color=False, show_suppressed=False)
    document = json.loads(out.getvalue())
    assert document["topology"]["name"] == "mixed"
    assert [(e["directory"], e["topology"]) for e in document["environments"]] == [
        ("envs/prod", "cdn"), ("envs/staging", "single-node")]
    out = io.StringIO()
    get_reporter("text").render(result, out, color=False, show_suppressed=False)
    assert "topology: mixed, one per environment:\n  envs/prod: cdn (a CDN is defined" in out.getvalue()
    assert "\n  envs/staging: single-node (no CDN" in out.getvalue()
    out = io.StringIO()
    get_reporter("markdown").render(result, out, color=False, show_suppressed=False)
    assert "- `envs/staging`: **single-node** (no CDN" in out.getvalue()
    out = io.StringIO()
    get_reporter("sarif").render(result, out, color=False, show_suppressed=False)
    run = json.loads(out.getvalue())["runs"][0]
    assert run["properties"]["environments"] == [{"directory": "envs/prod", "topology": "cdn"},
                                                 {"directory": "envs/staging", "topology": "single-node"}]
