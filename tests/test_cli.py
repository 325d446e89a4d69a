"""The command line as users run it: a real subprocess, real exit codes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from bitriver_lint.rules import catalog


def run(*args: str, cwd: Path = FIXTURES.parent) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_clean_fixture_exits_zero() -> None:
    proc = run("fixtures/single-node")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout


@pytest.mark.parametrize("name", ["origin-edge-haproxy", "origin-edge-nginx", "single-node-systemd"])
def test_clean_trees_stay_clean_from_the_repository_root(name: str) -> None:
    """Config paths (hosts, exclude) are relative to the config file, not to where one runs."""
    proc = run(f"fixtures/{name}")
    assert proc.returncode == 0, proc.stdout


def test_findings_exit_one_and_show_file_line_and_rule() -> None:
    proc = run("scan", "fixtures/compose-exposure", "--no-color")
    assert proc.returncode == 1
    assert "fixtures/compose-exposure/docker-compose.yml" in proc.stdout
    assert "65:9  error   BRL102" in proc.stdout
    assert '- "[::]:1985:1985"' in proc.stdout  # the offending line is shown
    assert "published on [::]:1985" in proc.stdout  # and the chain that proves it


def test_scan_is_the_default_command_and_paths_are_relative_to_cwd() -> None:
    proc = run("--format", "json", "fixtures/compose-tls-missing")
    data = json.loads(proc.stdout)
    assert [(f["rule_id"], f["location"]) for f in data["findings"]] == [
        ("BRL201", {"path": "fixtures/compose-tls-missing/docker-compose.yml", "line": 3, "column": 3})
    ]
    assert data["topology"]["name"] == "single-node"


def test_output_file_and_exit_zero(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = run("fixtures/compose-exposure", "--format", "json", "-o", str(out), "--exit-zero")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert json.loads(out.read_text())["summary"]["error"] == 7


def test_severity_threshold_and_select() -> None:
    assert run("fixtures/compose-exposure", "--select", "BRL107").returncode == 1
    assert run("fixtures/compose-exposure", "--select", "BRL107", "--severity-threshold", "error").returncode == 0
    assert run("fixtures/compose-exposure", "--ignore", "BRL1,BRL6").returncode == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["fixtures/does-not-exist"], "PATH: fixtures/does-not-exist does not exist"),
        (["fixtures/single-node", "--format", "xml"], "'--format'"),
        (["fixtures/single-node", "--select", "BRL9"], "--select: no rule matches 'BRL9'"),
        (["explain", "BRL999"], "RULE_ID: unknown rule 'BRL999'"),
        (["fixtures/single-node", "--update-baseline"], "--update-baseline: needs --baseline"),
        (["fixtures/single-node", "--jobs", "-1"], "'--jobs'"),
    ],
)
def test_usage_errors_exit_two_with_one_line_naming_the_flag(args: list[str], needle: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr


def test_config_error_names_key_and_line(tmp_path: Path) -> None:
    (tmp_path / ".bitriver-lint.yaml").write_text("networks:\n  encoders:\n    - 203.0.113.0/24\n    - nope\n")
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert ".bitriver-lint.yaml:4: networks.encoders[1]" in proc.stderr


def test_unknown_config_key(tmp_path: Path) -> None:
    (tmp_path / ".bitriver-lint.yaml").write_text("topolgy: cdn\n")
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert ".bitriver-lint.yaml:1: topolgy: unknown key" in proc.stderr


def test_config_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.bitriver-lint]\nrules = {ignore = ["BRL103"]}\n')
    compose = "services:\n  db:\n    image: postgres\n    restart: always\n    ports: ['5432:5432']\n"
    (tmp_path / "docker-compose.yml").write_text(compose)
    proc = run(".", "--format", "json", "--select", "BRL103,BRL107", cwd=tmp_path)
    ids = [f["rule_id"] for f in json.loads(proc.stdout)["findings"]]
    assert ids == ["BRL107"]


def test_baseline_hides_known_findings(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert run("fixtures/compose-exposure", "--baseline", str(baseline), "--update-baseline").returncode == 0
    assert run("fixtures/compose-exposure", "--baseline", str(baseline)).returncode == 0
    assert run("fixtures/compose-tls-missing", "--baseline", str(baseline)).returncode == 1


def test_rules_and_explain() -> None:
    table = run("rules")
    assert table.returncode == 0
    assert "BRL102" in table.stdout and "srs-api-operator-only" in table.stdout
    listed = json.loads(run("rules", "--format", "json").stdout)
    assert sorted(r["id"] for r in listed) == sorted(catalog())  # every rule in rules/, no more
    page = run("explain", "brl102").stdout
    for heading in ("## What it does", "## Why it matters", "## Example", "## How to fix"):
        assert heading in page


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "json"])
def test_graph_command(fmt: str) -> None:
    proc = run("graph", "fixtures/single-node", "--format", fmt)
    assert proc.returncode == 0
    assert "api" in proc.stdout
    if fmt == "json":
        data = json.loads(proc.stdout)
        kinds = {e["kind"] for e in data["edges"]}
        assert {"runs_on", "listens", "publishes", "depends_on", "connects_to"} <= kinds


@pytest.mark.parametrize("fmt", ["junit", "github", "markdown"])
def test_other_formats(fmt: str) -> None:
    proc = run("fixtures/compose-tls-missing", "--format", fmt)
    assert proc.returncode == 1
    assert "BRL201" in proc.stdout
    if fmt == "github":
        assert proc.stdout.startswith("::error file=fixtures/compose-tls-missing/docker-compose.yml,line=3,col=3,")


def test_changed_files_mode_reports_only_findings_touching_them() -> None:
    proc = run("--changed", "--format", "json", "fixtures/compose-broken/origin/docker-compose.yml",
               cwd=FIXTURES.parent)
    paths = {f["location"]["path"] for f in json.loads(proc.stdout)["findings"]}
    assert paths == {"fixtures/compose-broken/origin/docker-compose.yml"}


@pytest.mark.parametrize("args", [[], ["--version"], ["--help"], ["scan", "--jobs", "-1"]])
def test_cli_starts_without_heavy_imports(args: list[str]) -> None:
    """pre-commit starts the CLI on every commit: what needs no scan must not import one."""
    code = (
        "import sys\nfrom bitriver_lint import cli\n"
        f"if {args!r}:\n"
        "    try:\n"
        f"        cli.main({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('networkx', 'hcl2', 'crossplane', 'rich', 'pydantic') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_a_plain_scan_of_a_small_tree_imports_no_display_or_pattern_library(tmp_path: Path) -> None:
    """The pre-commit path: text to a pipe, no .gitignore or exclude patterns. Rich and pathspec
    are a tenth of such a scan each, so they are imported only when colour or patterns need them."""
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4\n")
    code = (
        "import sys\nfrom bitriver_lint import cli\n"
        "try:\n"
        f"    cli.main(['--no-cache', {str(tmp_path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print([m for m in ('rich', 'pathspec') if m in sys.modules], file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "BRL" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"
    (tmp_path / ".gitignore").write_text("*.bak\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "['pathspec']"


CUSTOM_RULE = """id: ACME101
name: viewer-operators-only
severity: error
topologies: [all]
check: exposure.reachable
parameters:
  targets: [{role: viewer, ports: [3000]}]
  allowed: [operators]
guide: "Company policy: the viewer runtime is reached through the proxy only"
tags: [security, exposure]
security_severity: 6.0
summary: The viewer runtime is only for operators
description: Reports the viewer's 3000 reachable from outside operators.
rationale: Viewers must come through the proxy that adds TLS and caching.
example: "```yaml\\nports: ['3000:3000']\\n```"
fix: "Bind it to loopback.\\n```yaml\\nports: ['127.0.0.1:3000:3000']\\n```"
"""


def test_custom_rules_are_yaml_bound_to_a_check(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "ACME101.yaml").write_text(CUSTOM_RULE)
    (tmp_path / ".bitriver-lint.yaml").write_text("rules:\n  paths: [policy]\n  select: [ACME]\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  viewer:\n    image: ghcr.io/bitriver/bitriver-viewer:1\n    ports: ['3000:3000']\n")
    proc = run(".", "--format", "json", cwd=tmp_path)
    assert [(f["rule_id"], f["location"]["line"]) for f in json.loads(proc.stdout)["findings"]] == [("ACME101", 4)]
    assert "ACME101" in run("rules", cwd=tmp_path).stdout
    assert "## Why it matters\n\nViewers must come through the proxy" in run("explain", "ACME101", cwd=tmp_path).stdout


def test_a_broken_custom_rule_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "ACME102.yaml").write_text(CUSTOM_RULE.replace("ACME101", "ACME102").replace(
        "exposure.reachable", "exposure.nope"))
    (tmp_path / ".bitriver-lint.yaml").write_text("rules:\n  paths: [policy]\n")
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "ACME102.yaml: check: unknown check 'exposure.nope'" in proc.stderr


def test_graph_reads_each_file_under_its_nearest_config_as_scan_does(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    (deploy / "app").mkdir(parents=True)
    (deploy / ".bitriver-lint.yaml").write_text(
        "topology: cdn\nhosts:\n  app-box: {address: 10.1.2.3, paths: [app]}\n", encoding="utf-8")
    (deploy / "app" / "compose.yaml").write_text(
        "services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n    ports: ['8080:8080']\n",
        encoding="utf-8")
    (deploy / "haproxy.cfg").write_text(
        "frontend www\n    bind :80\n    default_backend api\n\nbackend api\n    server a1 10.1.2.3:8080 check\n",
        encoding="utf-8")
    proc = run("graph", ".", "--format", "json", cwd=tmp_path)  # from above deploy/: no config here
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["topology"] == "cdn"
    api = next(n["id"] for n in data["nodes"] if n["kind"] == "component" and n["name"] == "api")
    routed = {e["target"] for e in data["edges"] if e["kind"] == "routes"}
    assert any(target.startswith(api) for target in routed), routed
