"""What people wiring the CLI into CI and terminals expect: colour conventions, pipe-friendly
output, help that documents exit codes, and a word when nothing was checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO

from bitriver_lint.rules import catalog


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], capture_output=True, text=True,
                          cwd=cwd, env={**environment, **(env or {})}, check=False)


def test_a_tree_with_no_deployment_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing to deploy here\n")
    proc = run(str(tmp_path))
    assert proc.returncode == 0
    assert proc.stderr.startswith("bitriver-lint: no deployment file found under ")


def test_colour_follows_no_color_and_force_color() -> None:
    fixture = str(FIXTURES / "compose-exposure")
    assert "\x1b[" in run(fixture, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in run(fixture, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    # An empty NO_COLOR is no request (no-color.org): FORCE_COLOR still wins.
    assert "\x1b[" in run(fixture, env={"FORCE_COLOR": "1", "NO_COLOR": ""}).stdout
    assert "\x1b[" not in run(fixture).stdout  # a pipe, not a terminal


def test_rules_piped_is_one_line_per_rule() -> None:
    lines = run("rules").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == sorted(catalog())
    assert all(len(line.split("\t")) == 5 for line in lines)


def test_help_documents_examples_and_exit_codes() -> None:
    text = run("--help").stdout
    assert "bitriver-lint deploy/" in text
    for code in ("0  no finding", "1  findings", "2  usage", "3  the scan hit an internal error"):
        assert code in text


def test_changing_the_config_reports_the_whole_tree(tmp_path: Path) -> None:
    import json

    (tmp_path / ".git").mkdir()
    (tmp_path / "docker-compose.yml").write_text(
        'services:\n  postgres:\n    image: postgres:16\n    ports: ["5432:5432"]\n')
    (tmp_path / ".bitriver-lint.yaml").write_text("topology: single-node\n")
    (tmp_path / "notes.yml").write_text("nothing: here\n")

    def changed(*files: str) -> list[str]:
        proc = run("--changed", "-f", "json", "--exit-zero", *files, cwd=tmp_path)
        return sorted({f["rule_id"] for f in json.loads(proc.stdout)["findings"]})

    assert changed("notes.yml") == []
    assert "BRL103" in changed(".bitriver-lint.yaml")
    assert "BRL103" in changed("docker-compose.yml")
