"""CI wiring: the nearest config governs each file (as in ruff), config files fail closed, and
paths and fingerprints are relative to the repository whatever the working directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES

from bitriver_lint.config import Config
from bitriver_lint.engine import scan as engine_scan
from bitriver_lint.nearest import partition, scan
from bitriver_lint.report import Report

API = """\
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
    restart: unless-stopped
    ports: ["8080:8080"]
  redis:
    image: redis:7
"""
# What API yields, scanned alone (rule, line, column):
API_FINDINGS = [
    ("BRL201", 2, 3), ("BRL501", 2, 3), ("BRL503", 2, 3), ("BRL504", 2, 3), ("BRL104", 5, 13), ("BRL107", 5, 13),
    ("BRL501", 6, 3), ("BRL502", 6, 3), ("BRL503", 6, 3),
]


def git_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def found(report: Report, under: str = "") -> list[tuple[str, str, int, int]]:
    return [(f.rule_id, f.location.path, f.location.line, f.location.column)
            for f in report.active if f.location.path.startswith(under)]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def expect(path: str, *, without: tuple[str, ...] = ()) -> list[tuple[str, str, int, int]]:
    return [(rule, path, line, col) for rule, line, col in API_FINDINGS if rule not in without]


def test_a_root_scan_honours_the_config_of_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_tree(tmp_path, {
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "rules:\n  ignore: [BRL503]\n",
        "other/docker-compose.yml": API,
    })
    monkeypatch.chdir(repo)
    whole = scan([Path(".")])
    assert found(whole, "deploy/") == expect("deploy/docker-compose.yml", without=("BRL503",))
    assert found(whole, "other/") == expect("other/docker-compose.yml")  # the defaults, no config there
    # ... exactly what scanning deploy/ itself gives.
    monkeypatch.chdir(repo / "deploy")
    assert found(scan([Path(".")])) == found(whole, "deploy/")
    assert [e.directory for e in whole.environments] == [".", "deploy"]


def test_a_subdirectory_topology_is_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_tree(tmp_path, {
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "topology: origin-edge\n",
        "other/docker-compose.yml": API,
    })
    monkeypatch.chdir(repo)
    whole = scan([Path(".")])
    assert whole.topology == "mixed"
    assert [(e.directory, e.topology) for e in whole.environments] == [(".", "single-node"), ("deploy", "origin-edge")]
    monkeypatch.chdir(repo / "deploy")
    alone = scan([Path(".")])
    assert alone.topology == "origin-edge"
    assert found(whole, "deploy/") == found(alone)
    # BRL107 (the single-node port allow-list) is not an origin-edge rule.
    assert ("BRL107", "deploy/docker-compose.yml", 5, 13) not in found(alone)
    assert ("BRL107", "other/docker-compose.yml", 5, 13) in found(whole)


def test_two_subdirectories_with_different_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_tree(tmp_path, {
        "a/docker-compose.yml": API, "a/.bitriver-lint.yaml": "rules:\n  ignore: [BRL503]\n",
        "b/docker-compose.yml": API, "b/pyproject.toml": '[tool."bitriver-lint".rules]\nignore = ["BRL5"]\n',
        "docker-compose.yml": API, ".bitriver-lint.yaml": "rules:\n  ignore: [BRL1]\n",
    })
    monkeypatch.chdir(repo)
    parts = partition([Path(".")])
    assert [(p.source.relative_to(repo).as_posix() if p.source else None,
             [d.relative_to(repo).as_posix() for d in p.paths]) for p in parts] == [
        (".bitriver-lint.yaml", ["."]), ("a/.bitriver-lint.yaml", ["a"]), ("b/pyproject.toml", ["b"])]
    assert parts[0].prune == (repo / "a", repo / "b")
    whole = scan([Path(".")])
    assert found(whole) == [
        *expect("a/docker-compose.yml", without=("BRL503",)),
        *expect("b/docker-compose.yml", without=("BRL501", "BRL502", "BRL503", "BRL504")),
        *expect("docker-compose.yml", without=("BRL104", "BRL107")),
    ]
    assert whole.files["compose"] == ("a/docker-compose.yml", "b/docker-compose.yml", "docker-compose.yml")


def test_config_forced_on_the_command_line_governs_everything(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "rules:\n  ignore: [BRL503]\n",
        "ci.yaml": "rules:\n  ignore: [BRL1]\n",
    })
    proc = cli("--config", "ci.yaml", "-f", "json", ".", cwd=repo)
    rules = [f["rule_id"] for f in json.loads(proc.stdout)["findings"]]
    assert rules == [r for r, _, _ in API_FINDINGS if not r.startswith("BRL1")]


def test_a_broken_subdirectory_config_is_exit_2_naming_its_line(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {
        "docker-compose.yml": API,
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "rules:\n  select:\n    - BRL9\n",
    })
    proc = cli(".", cwd=repo)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"bitriver-lint: config error: {repo / 'deploy/.bitriver-lint.yaml'}:3: "
                           "rules.select[0]: no rule matches 'BRL9'\n")


def test_changed_from_the_root_uses_the_subdirectory_config(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "rules:\n  ignore: [BRL503]\n",
        "docker-compose.yml": API,
    })
    proc = cli("--changed", "-f", "json", "deploy/docker-compose.yml", cwd=repo)
    assert proc.returncode == 1
    got = [(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in json.loads(proc.stdout)["findings"]]
    assert got == [(r, p, ln) for r, p, ln, _ in expect("deploy/docker-compose.yml", without=("BRL503",))]
    # Editing deploy's config re-reports deploy's tree, under that config.
    proc = cli("--changed", "-f", "json", "deploy/.bitriver-lint.yaml", cwd=repo)
    got = [(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in json.loads(proc.stdout)["findings"]]
    assert got == [(r, p, ln) for r, p, ln, _ in expect("deploy/docker-compose.yml", without=("BRL503",))]


# -- config files that fail closed ------------------------------------------------------------

@pytest.mark.parametrize("text", ['[tool.bitriver-lint\ntopology = "cdn"\n', '[project\nname = "x"\n',
                                  '[tool."bitriver-lint"]\ntopology = = 1\n'])
def test_a_broken_pyproject_is_exit_2_naming_it(tmp_path: Path, text: str) -> None:
    (tmp_path / "docker-compose.yml").write_text(API, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    proc = cli(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"bitriver-lint: config error: {tmp_path / 'pyproject.toml'}: invalid TOML: ")


def test_a_broken_pyproject_below_the_scan_root_is_exit_2(tmp_path: Path) -> None:
    git_tree(tmp_path, {"docker-compose.yml": API, "tools/pyproject.toml": "[project\n"})
    proc = cli(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{tmp_path / 'tools/pyproject.toml'}: invalid TOML" in proc.stderr


def test_a_quoted_pyproject_table_is_a_config(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(API, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool."bitriver-lint"]\ntopology = "cdnx"\n', encoding="utf-8")
    proc = cli(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"bitriver-lint: config error: {tmp_path / 'pyproject.toml'}: topology: ")


def test_a_scan_that_finds_no_deployment_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    proc = cli(".", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == "bitriver-lint: no deployment file found under . (nothing was checked)\n"
    assert proc.stdout == "Nothing checked: no deployment file found\n"


# -- repository-relative paths ----------------------------------------------------------------

def _report(repo: Path, cwd: Path, fmt: str, target: str) -> dict[str, object]:
    proc = cli("-f", fmt, target, cwd=cwd)
    assert proc.returncode == 1, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_paths_and_fingerprints_are_the_same_from_the_root_and_from_inside(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {"deploy/docker-compose.yml": API})
    inside = _report(repo, repo / "deploy", "json", ".")
    outside = _report(repo, repo, "json", "deploy")
    findings = inside["findings"]
    assert isinstance(findings, list)
    assert {f["location"]["path"] for f in findings} == {"deploy/docker-compose.yml"}
    assert [(f["location"], f["fingerprint"]) for f in findings] == [
        (f["location"], f["fingerprint"]) for f in outside["findings"]]  # type: ignore[attr-defined]

    sarif_in = _report(repo, repo / "deploy", "sarif", ".")["runs"][0]  # type: ignore[index]
    sarif_out = _report(repo, repo, "sarif", "deploy")["runs"][0]  # type: ignore[index]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif_in["results"]}
    assert uris == {"deploy/docker-compose.yml"}
    assert [r["partialFingerprints"] for r in sarif_in["results"]] == [
        r["partialFingerprints"] for r in sarif_out["results"]]
    assert sarif_in["automationDetails"] == sarif_out["automationDetails"]


def test_a_baseline_written_inside_is_repository_relative_and_works_from_the_root(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {"deploy/docker-compose.yml": API})
    proc = cli("--baseline", "../baseline.json", "--update-baseline", ".", cwd=repo / "deploy")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads((repo / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert {e["path"] for e in entries} == {"deploy/docker-compose.yml"}
    assert len(entries) == len(API_FINDINGS)
    proc = cli("--baseline", "baseline.json", ".", cwd=repo)
    assert proc.returncode == 0, proc.stdout


def test_outside_git_paths_stay_relative_to_the_scan_root(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/docker-compose.yml").write_text(API, encoding="utf-8")
    inside = _report(tmp_path, tmp_path / "deploy", "json", ".")
    assert {f["location"]["path"] for f in inside["findings"]} == {"docker-compose.yml"}  # type: ignore[attr-defined]


def test_fixture_copies_scan_the_same_in_and_out_of_a_repository(tmp_path: Path) -> None:
    """The engine with an explicit root (what tests and the fixtures use) is unchanged."""
    shutil.copytree(FIXTURES / "compose-restart-volumes", tmp_path / "t")
    before = engine_scan([tmp_path / "t"], Config(), root=tmp_path / "t")
    git_tree(tmp_path, {})
    after = engine_scan([tmp_path / "t"], Config(), root=tmp_path / "t")
    assert found(before) == found(after) != []


def test_a_subdirectory_config_linked_from_outside_the_tree_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("rules:\n  ignore: [BRL]\n", encoding="utf-8")
    repo = git_tree(tmp_path / "repo", {"deploy/docker-compose.yml": API})
    (repo / "deploy/.bitriver-lint.yaml").symlink_to(outside)
    proc = cli(".", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr == (f"bitriver-lint: config error: {repo / 'deploy/.bitriver-lint.yaml'}: "
                           "links outside the scanned tree; not read\n")


def test_a_config_baseline_is_relative_to_the_config(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {"deploy/docker-compose.yml": API, ".bitriver-lint.yaml": "baseline: ci/known.json\n"})
    (repo / "ci").mkdir()
    proc = cli("--update-baseline", ".", cwd=repo / "deploy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"wrote {len(API_FINDINGS)} finding(s) to ../ci/known.json\n"
    assert cli(".", cwd=repo).returncode == 0


def test_a_merged_report_draws_every_part_in_markdown(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "rules:\n  ignore: [BRL503]\n",
        "other/docker-compose.yml": API,
    })
    proc = cli("-f", "markdown", ".", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert "deploy/docker-compose.yml" in proc.stdout and "other/docker-compose.yml" in proc.stdout
    assert "```mermaid" in proc.stdout
    assert proc.stdout.count("api") >= 2


def test_ignored_and_excluded_directories_are_not_searched_for_configs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_tree(tmp_path, {
        ".gitignore": "build/\n", "build/pyproject.toml": "[broken\n",  # a build output, not ours
        ".bitriver-lint.yaml": "exclude: [legacy/**]\n",
        "legacy/.bitriver-lint.yaml": "rules:\n  select: [BRL9]\n",  # stale, in a directory left out
        "legacy/docker-compose.yml": API,
        "deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": "exclude: [old/]\n",
        "deploy/old/.bitriver-lint.yaml": "[not yaml\n",  # excluded by deploy's config
    })
    monkeypatch.chdir(repo)
    assert [p.source.relative_to(repo).as_posix() if p.source else None for p in partition([Path(".")])] == [
        ".bitriver-lint.yaml", "deploy/.bitriver-lint.yaml"]
    assert found(scan([Path(".")])) == expect("deploy/docker-compose.yml")


def test_junit_from_the_root_has_the_passing_cases_of_a_subdirectory_config(tmp_path: Path) -> None:
    """Scanned from the root, deploy/ is a part of its own (its config): the merged report must
    keep which rules ran on which files, or JUnit loses every passing case."""
    repo = git_tree(tmp_path, {"deploy/docker-compose.yml": API,
                               "deploy/.bitriver-lint.yaml": "networks:\n  operators: [198.51.100.7/32]\n"})
    assert cli("-o", "root.xml", cwd=repo).returncode == 1
    assert cli("-o", "../inside.xml", ".", cwd=repo / "deploy").returncode == 1
    root, inside = (ET.parse(repo / name).getroot() for name in ("root.xml", "inside.xml"))
    cases = {c.get("name") for c in root.iter("testcase")}
    assert cases == {c.get("name") for c in inside.iter("testcase")}
    assert "BRL502 deploy/docker-compose.yml" in cases  # passing: the api service has a restart policy
    assert "BRL102 deploy/docker-compose.yml" in cases  # passing: no SRS here
    assert (root.get("tests"), root.get("failures")) == (inside.get("tests"), inside.get("failures"))
    assert int(root.get("tests") or 0) > int(root.get("failures") or 0) == 7


def test_the_baseline_a_subdirectory_config_names_is_used_from_the_root(tmp_path: Path) -> None:
    config = "baseline: ../ci/baseline.json\n"
    repo = git_tree(tmp_path, {"deploy/docker-compose.yml": API, "deploy/.bitriver-lint.yaml": config})
    (repo / "ci").mkdir()
    written = cli("--update-baseline", cwd=repo)  # no --baseline: deploy/'s config names it
    assert (written.returncode, written.stderr) == (0, "wrote 9 finding(s) to ci/baseline.json\n")
    rows = json.loads((repo / "ci" / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert {r["path"] for r in rows} == {"deploy/docker-compose.yml"}
    for cwd, shown in ((repo, "ci/baseline.json"), (repo / "deploy", "../ci/baseline.json")):
        proc = cli("--no-color", cwd=cwd)
        assert proc.returncode == 0, proc.stdout
        assert f"baseline: {shown} hid 9 finding(s)\n" in proc.stdout


def test_configs_naming_different_baselines_are_a_config_error(tmp_path: Path) -> None:
    repo = git_tree(tmp_path, {"a/docker-compose.yml": API, "a/.bitriver-lint.yaml": "baseline: base.json\n",
                               "b/docker-compose.yml": API, "b/.bitriver-lint.yaml": "baseline: base.json\n"})
    proc = cli(".", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr == ("bitriver-lint: config error: baseline: the configs governing this scan name different "
                           "baselines (a/.bitriver-lint.yaml, b/.bitriver-lint.yaml); give one with --baseline\n")
    assert cli(".", "--baseline", "one.json", "--update-baseline", cwd=repo).returncode == 0
    one = cli("a", cwd=repo)  # one config, so its baseline (which does not exist yet)
    assert (one.returncode, one.stderr) == (2, "bitriver-lint: config error: --baseline: a/base.json does not exist "
                                               "(create it with --update-baseline)\n")
