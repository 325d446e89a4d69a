"""The baseline's effect in the reports a reviewer reads: the pull-request comment (Markdown),
the GitHub annotations' closing line and notice, and the JUnit file, through the real command
line in a throwaway git repository. A stale entry names a file and an entity from the scanned
tree, so each format must keep a hostile one inert."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.dom import minidom
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES

COMPOSE = "deploy/docker-compose.yml"
# An entity as a hostile baseline could carry it: a newline with a workflow command, a terminal
# escape, HTML, Markdown and a mention.
HOSTILE = "api\n::error file=x.yml::FORGED\x1b[2J <img src=x> [link](http://x) `t` @octocat ##[error]LEGACY"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The exposure fixture under deploy/, its findings all in ci/baseline.json, plus one stale
    entry (a problem since fixed) about ``entity``."""
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "ci").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    shutil.copy(FIXTURES / "compose-exposure" / "docker-compose.yml", root / COMPOSE)
    assert run(root, "deploy", "--baseline", "ci/baseline.json", "--update-baseline").returncode == 0
    return root


def add_stale(root: Path, entity: str) -> None:
    path = root / "ci" / "baseline.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["findings"].append({"rule_id": "BRL102", "path": COMPOSE, "entity": entity, "message": "was fixed"})
    path.write_text(json.dumps(data), encoding="utf-8")


def reports(root: Path) -> tuple[list[str], str, ET.Element]:
    """One scan: the annotations on stdout, the comment and the JUnit file from their extensions."""
    proc = run(root, "deploy", "--baseline", "ci/baseline.json", "-f", "github", "-o", "pr.md", "-o", "junit.xml")
    assert proc.returncode == 0, proc.stderr
    xml = (root / "junit.xml").read_text(encoding="utf-8")
    minidom.parseString(xml.encode("utf-8"))
    return proc.stdout.splitlines(), (root / "pr.md").read_text(encoding="utf-8"), ET.fromstring(xml)


def baseline_suite(junit: ET.Element) -> ET.Element:
    (suite,) = [s for s in junit if s.get("name") == "bitriver-lint baseline"]
    return suite


def test_each_review_report_says_what_the_baseline_hid_and_what_is_stale(repo: Path) -> None:
    add_stale(repo, "gone:1985/tcp")
    github, comment, junit = reports(repo)
    assert github == [
        "::notice title=bitriver-lint baseline%3A 1 stale entry::fixed, so --update-baseline drops it from "
        "ci/baseline.json:%0ABRL102 deploy/docker-compose.yml (gone:1985/tcp)",
        "bitriver-lint: 0 error(s), 0 warning(s), 0 note(s); baseline ci/baseline.json hid 13 finding(s); "
        "1 stale entry",
    ]
    lines = comment.splitlines()
    counts = lines.index("**0** error(s), **0** warning(s), **0** note(s) in 1 file(s)")
    assert lines[counts + 1: counts + 5] == [
        "", "Baseline `ci/baseline.json` hid 13 finding(s); 1 stale entry (fixed: `--update-baseline` drops it)",
        "", "- stale: BRL102 deploy/docker-compose.yml (gone:1985/tcp)"]
    suite = baseline_suite(junit)
    # The shape junit-10.xsd allows: properties, no test case, then system-out; counts unchanged.
    assert [child.tag for child in suite] == ["properties", "system-out"]
    assert (suite.get("tests"), suite.get("failures"), junit.get("tests"), junit.get("failures")) == (
        "0", "0", str(len(junit.findall("./testsuite/testcase"))), "0")
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {
        "baseline.path": "ci/baseline.json", "baseline.hidden": "13", "baseline.stale": "1"}
    assert suite.findtext("system-out") == ("baseline ci/baseline.json hid 13 finding(s); 1 stale entry\n"
                                            "  stale: BRL102 deploy/docker-compose.yml (gone:1985/tcp)")


def test_without_stale_entries_only_the_count(repo: Path) -> None:
    github, comment, junit = reports(repo)
    assert github == ["bitriver-lint: 0 error(s), 0 warning(s), 0 note(s); baseline ci/baseline.json "
                      "hid 13 finding(s); 0 stale entries"]
    assert "Baseline `ci/baseline.json` hid 13 finding(s); 0 stale entries\n\nTopology:" in comment
    assert "- stale:" not in comment
    summary = "baseline ci/baseline.json hid 13 finding(s); 0 stale entries"
    assert baseline_suite(junit).findtext("system-out") == summary


def test_no_baseline_no_baseline_line(repo: Path) -> None:
    proc = run(repo, "deploy", "-f", "github", "-o", "pr.md", "-o", "junit.xml")
    assert proc.returncode == 1
    assert not any("baseline" in line for line in proc.stdout.splitlines())
    assert "Baseline" not in (repo / "pr.md").read_text(encoding="utf-8")
    assert "bitriver-lint baseline" not in (repo / "junit.xml").read_text(encoding="utf-8")


def test_a_hostile_stale_entry_stays_inert(repo: Path) -> None:
    add_stale(repo, HOSTILE)
    github, comment, junit = reports(repo)
    text = "\n".join(github)
    assert not CONTROL.search(text) and "##[" not in text
    # Two lines, both ours: the notice (one workflow command) and the summary.
    assert len(github) == 2 and github[0].startswith("::notice title=") and github[1].startswith("bitriver-lint: ")
    data = github[0].split("::", 2)[2]
    assert data.count("%0A") == 1  # our own line break; the entity's newline is shown escaped
    assert "(api\\n::error file=x.yml::FORGED\\x1b[2J <img src=x>" in data
    stale = next(line for line in comment.splitlines() if line.startswith("- stale:"))
    assert "<img" not in stale and "&lt;img src=x&gt;" in stale
    assert "\\[link\\](http://x)" in stale and "\\`t\\`" in stale
    assert "@octocat" not in stale and "@\u2060octocat" in stale
    assert not CONTROL.search(comment)
    out = baseline_suite(junit).findtext("system-out") or ""
    assert not CONTROL.search(out.replace("\n", " "))
    assert out.count("\n") == 1  # the summary and one stale line: the entity forged no other


# --- the baseline with --changed (the pre-commit hook) ---------------------------------------------


def changed(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return run(root, "--changed", *files, "--baseline", "ci/baseline.json", "-f", "github")


def test_a_config_change_shows_the_tree_s_findings_minus_the_baselined_ones(repo: Path) -> None:
    """Editing the config reports every finding it governs: the baselined ones stay hidden
    although their file did not change."""
    (repo / "deploy" / ".bitriver-lint.yaml").write_text("networks:\n  operators: [198.51.100.7/32]\n")
    assert run(repo, "deploy", "--baseline", "ci/baseline.json", "--update-baseline").returncode == 0
    (repo / "deploy" / ".bitriver-lint.yaml").write_text("networks:\n  operators: [198.51.100.7/32]  # VPN\n")
    proc = changed(repo, "deploy/.bitriver-lint.yaml")
    assert (proc.returncode, proc.stdout) == (0, "bitriver-lint: 0 error(s), 0 warning(s), 0 note(s); "
                                                 "baseline ci/baseline.json hid 13 finding(s); 0 stale entries\n")


def test_a_finding_caused_by_a_changed_base_is_hidden_by_its_entry(repo: Path) -> None:
    """The BRL502 of a service appears when its extends base changes; the baseline entry about
    the service's own file still hides it, and is not called stale."""
    (repo / "deploy" / "common.yml").write_text("services:\n  base:\n    image: redis:7\n")
    (repo / "deploy" / "docker-compose.yml").write_text(
        "services:\n  redis:\n    extends:\n      file: common.yml\n      service: base\n"
        "    volumes: [data:/data]\n    healthcheck:\n      test: [CMD, redis-cli, ping]\nvolumes:\n  data: {}\n")
    assert run(repo, "deploy", "--baseline", "ci/baseline.json", "--update-baseline").returncode == 0
    rows = json.loads((repo / "ci" / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert [(r["rule_id"], r["path"], r["entity"]) for r in rows] == [("BRL502", COMPOSE, "redis")]
    (repo / "deploy" / "common.yml").write_text("services:\n  base:\n    image: redis:7.2\n")
    proc = changed(repo, "deploy/common.yml")
    assert (proc.returncode, proc.stdout) == (0, "bitriver-lint: 0 error(s), 0 warning(s), 0 note(s); "
                                                 "baseline ci/baseline.json hid 1 finding(s); 0 stale entries\n")
    # Fixed in the base: the entry about the service's file matches nothing, but that file did
    # not change, so the hook leaves the entry alone; a scan of the tree calls it stale.
    (repo / "deploy" / "common.yml").write_text("services:\n  base:\n    image: redis:7.2\n    restart: always\n")
    proc = changed(repo, "deploy/common.yml")
    assert proc.stdout.endswith("hid 0 finding(s); 0 stale entries\n"), proc.stdout
    full = run(repo, "deploy", "--baseline", "ci/baseline.json", "-f", "github")
    assert full.stdout.endswith("hid 0 finding(s); 1 stale entry\n"), full.stdout
