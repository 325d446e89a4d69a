"""Several report files in one run (``-o``, repeatable), and the progress display."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES

from bitriver_lint import cli, progress

EXPOSURE = FIXTURES / "compose-exposure"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n")
    return tmp_path


def test_each_output_takes_its_format_from_its_extension_and_the_text_report_stays(tree: Path) -> None:
    names = ["r.sarif", "r2.sarif.json", "r.json", "junit.xml", "pr.md", "out.txt"]
    proc = run(tree, ".", *[arg for name in names for arg in ("-o", name)])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    # The terminal still gets the text report.
    assert "docker-compose.yml\n  2:3  warning BRL501 db has no health check" in proc.stdout
    assert "\n  4:13  error   BRL103 PostgreSQL (5432/tcp) of db is reachable" in proc.stdout
    assert proc.stdout.endswith("\n2 error(s), 3 warning(s), 0 note(s) in 1 file(s)\n")
    assert json.loads((tree / "r.sarif").read_text())["version"] == "2.1.0"
    assert json.loads((tree / "r2.sarif.json").read_text())["version"] == "2.1.0"
    assert json.loads((tree / "r.json").read_text())["schema_version"] == 1
    assert ET.parse(tree / "junit.xml").getroot().tag == "testsuites"
    assert (tree / "pr.md").read_text().startswith("## bitriver-lint: ")
    assert (tree / "out.txt").read_text() == proc.stdout
    assert sorted(os.listdir(tree)) == sorted(["docker-compose.yml", *names])  # no temporary left


def test_format_with_one_output_writes_that_format_and_nothing_on_stdout(tree: Path) -> None:
    proc = run(tree, ".", "--format", "sarif", "-o", "report", "--exit-zero")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert json.loads((tree / "report").read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "r.sarif", "-o", "report.yaml"],
         "--output: cannot tell the format of report.yaml from its extension"),
        (["-o", "r.sarif", "-o", ".md"], "--output: cannot tell the format of .md from its extension"),
        (["--format", "json", "-o", "a.json", "-o", "b.json"],
         "--format: applies to a single --output; with several, each file's extension names its format "
         "(--format github, which goes to the terminal, combines with any)"),
        (["-o", "r.sarif", "-o", "./r.sarif"], "--output: r.sarif is given twice"),
        (["-o", "r.sarif", "-o", "missing/dir/pr.md"], "--output: cannot write missing/dir/pr.md: No such file"),
    ],
    ids=["unknown-extension", "no-name", "format-with-several", "twice", "missing-directory"],
)
def test_bad_outputs_stop_the_run_before_the_scan(tree: Path, args: list[str], message: str) -> None:
    """Nothing is written and nothing is scanned: a broken compose file would say BRL001 if it were."""
    (tree / "docker-compose.yml").write_text("services: [\n")
    proc = run(tree, ".", *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"bitriver-lint: error: {message}"), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert proc.stdout == ""
    assert sorted(os.listdir(tree)) == ["docker-compose.yml"]


def test_a_write_that_fails_names_the_files_written_and_not(tree: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    (tree / "full.md").symlink_to("/dev/full")  # passes the check; the write meets a full disk
    proc = run(tree, ".", "-o", "first.json", "-o", "full.md", "-o", "last.xml")
    assert proc.returncode == 2
    assert proc.stderr == (
        "bitriver-lint: error: --output: cannot write full.md: No space left on device "
        "(written: first.json; not written: last.xml)\n"
    )
    assert json.loads((tree / "first.json").read_text())["schema_version"] == 1
    assert not (tree / "last.xml").exists()


def test_help_explains_several_outputs() -> None:
    proc = run(FIXTURES, "scan", "--help")
    assert "(repeatable)" in proc.stdout and ".sarif.json" in proc.stdout
    assert "--sarif-suppressed" in proc.stdout
    assert "with --format github the annotations replace the text report on the terminal" in " ".join(
        proc.stdout.split())
    top = " ".join(run(FIXTURES, "--help").stdout.split())
    assert "bitriver-lint deploy/ -f github -o out.sarif in GitHub Actions: annotations in the log" in top


@pytest.mark.parametrize("outputs", [["r.sarif"], ["r.sarif", "pr.md", "junit.xml"]], ids=["one", "several"])
def test_github_annotations_on_the_terminal_with_files_from_one_scan(tree: Path, outputs: list[str]) -> None:
    """GitHub reads workflow commands only from the log: ``--format github`` goes to stdout and
    every ``-o`` file keeps the format of its extension, even a single one."""
    proc = run(tree, ".", "--format", "github", *[arg for name in outputs for arg in ("-o", name)])
    assert (proc.returncode, proc.stderr) == (1, "")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("::error file=docker-compose.yml,line=2,col=3,title=BRL503 ")
    assert lines[-1] == "bitriver-lint: 2 error(s), 3 warning(s), 0 note(s)"
    sarif = json.loads((tree / "r.sarif").read_text())
    annotated = sorted((int(line.split("line=")[1].split(",")[0]), line.split("title=")[1].split(" ")[0])
                       for line in lines[:-1])
    assert annotated == sorted((r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"])
                               for r in sarif["runs"][0]["results"])
    if "pr.md" in outputs:
        comment = (tree / "pr.md").read_text()
        assert comment.startswith("## bitriver-lint: 5 finding(s)\n")
        assert "\n\n### Errors (2)\n" in comment and "\n\n\n" not in comment  # one blank line between blocks
        assert ET.parse(tree / "junit.xml").getroot().get("failures") == "5"  # one rule each, at or above warning
    assert sorted(os.listdir(tree)) == sorted(["docker-compose.yml", *outputs])


def test_github_with_an_output_of_no_known_extension_is_refused(tree: Path) -> None:
    proc = run(tree, ".", "--format", "github", "-o", "annotations.log")
    assert proc.returncode == 2
    assert proc.stderr.startswith("bitriver-lint: error: --output: cannot tell the format of annotations.log")


# -- progress --------------------------------------------------------------------------------------


def test_no_progress_on_a_stderr_that_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Even when the display would start at once: CI logs and pipes get nothing."""
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(EXPOSURE), "--format", "json"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["error"] == 7
    assert captured.err == ""


def test_progress_shows_on_a_terminal_once_the_delay_has_passed() -> None:
    master, slave = pty.openpty()
    try:
        os.set_blocking(master, False)
        with os.fdopen(slave, "w", closefd=False) as stream, progress.Progress(stream, delay=0.0) as shown:
            assert shown.enabled
            shown.stage("checking the rules")
            seen = b""
            deadline = time.monotonic() + 10  # a wait for output, not a speed assertion
            while b"checking the rules" not in seen and time.monotonic() < deadline:
                try:
                    seen += os.read(master, 4096)
                except BlockingIOError:
                    time.sleep(0.05)
        assert b"bitriver-lint: checking the rules" in seen
    finally:
        os.close(master)
        os.close(slave)


def test_progress_that_ends_before_the_delay_shows_nothing() -> None:
    master, slave = pty.openpty()
    try:
        os.set_blocking(master, False)
        with os.fdopen(slave, "w", closefd=False) as stream, progress.Progress(stream, delay=3600) as shown:
            shown.stage("checking the rules")
        with pytest.raises(BlockingIOError):
            os.read(master, 4096)
    finally:
        os.close(master)
        os.close(slave)


def test_a_scan_to_json_never_imports_rich() -> None:
    """pre-commit runs the CLI on every commit: Rich costs start-up time only where it draws."""
    code = (
        "import sys\nfrom bitriver_lint import cli\n"
        "try:\n"
        f"    cli.main([{str(EXPOSURE)!r}, '--format', 'json', '--exit-zero'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('RICH', 'rich' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stderr.strip().endswith("RICH False"), proc.stderr


def test_reports_left_in_the_tree_do_not_change_the_next_scan(tree: Path) -> None:
    """A JSON or SARIF report written into the scanned directory is read (sniffed) by the next
    scan: the suppression examples in its rule help are strings, not comments (JSON has none),
    and must not turn into BRL003 findings."""
    first = run(tree, ".", "-f", "json")
    names = ["r.json", "r.sarif.json", "r.sarif", "pr.md", "junit.xml"]
    assert run(tree, ".", *[arg for name in names for arg in ("-o", name)]).returncode == 1
    assert "ignore[BRL102] reason:" in (tree / "r.sarif.json").read_text()  # what could look like one
    again = run(tree, ".", "-f", "json")
    assert again.returncode == 1
    brief = [(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in json.loads(again.stdout)["findings"]]
    assert brief == [(f["rule_id"], f["location"]["path"], f["location"]["line"])
                     for f in json.loads(first.stdout)["findings"]]
    assert {p for _, p, _ in brief} == {"docker-compose.yml"}
