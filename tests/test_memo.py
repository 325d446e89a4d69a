"""The scan memo (``bitriver_lint/memo.py``): an unchanged tree answers from the cache, and any
change the scan could have seen (a file's bytes, a file added, a link re-pointed, a config, a
baseline, a module outside the scanned directory, the date) runs the scan again. Each case
compares the memo's answer with a scan without any cache, byte for byte."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bitriver_lint import journal, memo
from bitriver_lint.cache import Cache
from bitriver_lint.report import Report

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

COMPOSE = """\
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    ports: ["${API_BIND:-0.0.0.0}:8080:8080"]
  srs:
    image: ossrs/srs:5
    ports: ["1935:1935", "1985:1985"]
"""

ROOT_TF = """\
module "srs" {
  source = "../modules/srs"
}
"""

MODULE_TF = """\
resource "aws_security_group" "srs" {
  ingress {
    from_port   = 1935
    to_port     = 1935
    protocol    = "tcp"
    cidr_blocks = ["198.51.100.0/28"]
  }
}

resource "aws_instance" "srs" {
  ami                    = "ami-0123456789abcdef0"
  instance_type          = "c6i.xlarge"
  vpc_security_group_ids = [aws_security_group.srs.id]
  tags = {
    Role = "srs"
  }
}
"""


def run(*args: str, cwd: Path, cache: Path | None) -> subprocess.CompletedProcess[str]:
    flags = ["--cache-dir", str(cache), "--debug"] if cache is not None else ["--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "bitriver_lint", "scan", *args, "--exit-zero", *flags], cwd=cwd,
                          capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a deploy/ directory (compose), and a Terraform root in infra/ that calls a
    module in modules/."""
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    (top / "deploy").mkdir()
    (top / "deploy" / "docker-compose.yml").write_text(COMPOSE)
    (top / "infra").mkdir()
    (top / "infra" / "main.tf").write_text(ROOT_TF)
    (top / "modules" / "srs").mkdir(parents=True)
    (top / "modules" / "srs" / "main.tf").write_text(MODULE_TF)
    return top


def check_change_is_seen(repo: Path, cache: Path, change: Callable[[], None], *args: str,
                         path: str = "deploy") -> None:
    """Scan ``path`` (kept), change the tree, scan again: the second answer is a fresh scan's, and
    the memo says it saw the change."""
    command = (path, "-f", "json", *args)
    first = run(*command, cwd=repo, cache=cache)
    assert "kept for the next run" in first.stderr, first.stderr
    change()
    again = run(*command, cwd=repo, cache=cache)
    fresh = run(*command, cwd=repo, cache=None)
    assert again.stdout == fresh.stdout
    assert again.stdout != first.stdout  # every change here moves a finding
    assert "scan memo: a file or directory changed since" in again.stderr, again.stderr


def test_an_unchanged_tree_is_answered_by_the_memo(repo: Path, tmp_path: Path) -> None:
    first = run("deploy", "-f", "sarif", cwd=repo, cache=tmp_path / "cache")
    second = run("deploy", "-f", "sarif", cwd=repo, cache=tmp_path / "cache")
    fresh = run("deploy", "-f", "sarif", cwd=repo, cache=None)
    assert "scan memo: unchanged tree: the report of the last scan" in second.stderr
    assert first.stdout == second.stdout == fresh.stdout
    assert '"ruleId": "BRL102"' in fresh.stdout  # the SRS API published to every interface
    # The output options are not the scan's: another format is answered from the same entry.
    text = run("deploy", cwd=repo, cache=tmp_path / "cache")
    assert "scan memo: unchanged tree" in text.stderr
    assert text.stdout == run("deploy", cwd=repo, cache=None).stdout


def test_an_edited_file_is_scanned_again(repo: Path, tmp_path: Path) -> None:
    compose = repo / "deploy" / "docker-compose.yml"
    check_change_is_seen(repo, tmp_path / "cache", lambda: compose.write_text(
        COMPOSE.replace('"1985:1985"', '"127.0.0.1:1985:1985"')))


def test_a_new_file_is_seen(repo: Path, tmp_path: Path) -> None:
    def add() -> None:
        (repo / "deploy" / "edge").mkdir()
        (repo / "deploy" / "edge" / "compose.yaml").write_text(
            "services:\n  cache:\n    image: redis:7\n    ports: ['6379:6379']\n")
    check_change_is_seen(repo, tmp_path / "cache", add)


def test_a_dotenv_that_appears_is_seen(repo: Path, tmp_path: Path) -> None:
    # Nothing reads .env as a file of its own: the compose loader looks for it.
    dotenv = repo / "deploy" / ".env"
    check_change_is_seen(repo, tmp_path / "cache", lambda: dotenv.write_text("API_BIND=127.0.0.1\n"))


ENCODERS = "networks:\n  encoders: [198.51.100.0/28]\n"


def test_an_edited_module_is_seen(repo: Path, tmp_path: Path) -> None:
    (repo / ".bitriver-lint.yaml").write_text(ENCODERS)
    module = repo / "modules" / "srs" / "main.tf"
    check_change_is_seen(repo, tmp_path / "cache", lambda: module.write_text(
        MODULE_TF.replace("198.51.100.0/28", "0.0.0.0/0")), path=".")


def test_a_file_added_to_a_module_is_seen(repo: Path, tmp_path: Path) -> None:
    (repo / ".bitriver-lint.yaml").write_text(ENCODERS)
    extra = repo / "modules" / "srs" / "api.tf"
    check_change_is_seen(repo, tmp_path / "cache", lambda: extra.write_text(
        'resource "aws_security_group_rule" "api" {\n  type = "ingress"\n  security_group_id = '
        'aws_security_group.srs.id\n  from_port = 1985\n  to_port = 1985\n  protocol = "tcp"\n'
        '  cidr_blocks = ["0.0.0.0/0"]\n}\n'), path=".")


def test_a_config_above_the_scanned_directory_is_seen(repo: Path, tmp_path: Path) -> None:
    check_change_is_seen(repo, tmp_path / "cache", lambda: (repo / ".bitriver-lint.yaml").write_text(
        "rules:\n  ignore: [BRL102]\n"))


def test_an_edited_config_is_seen(repo: Path, tmp_path: Path) -> None:
    config = repo / "deploy" / ".bitriver-lint.yaml"
    config.write_text("rules:\n  ignore: [BRL102]\n")
    check_change_is_seen(repo, tmp_path / "cache", lambda: config.write_text("rules:\n  ignore: [BRL101]\n"))


def test_an_edited_baseline_is_seen(repo: Path, tmp_path: Path) -> None:
    baseline = repo / "baseline.json"
    created = run("deploy", "--baseline", "baseline.json", "--update-baseline", cwd=repo, cache=None)
    assert created.returncode == 0, created.stderr
    recorded = baseline.read_text()
    baseline.write_text('{"version": 2, "findings": []}\n')
    check_change_is_seen(repo, tmp_path / "cache", lambda: baseline.write_text(recorded), "--baseline", "baseline.json")


def test_a_relinked_file_is_seen(repo: Path, tmp_path: Path) -> None:
    compose = repo / "deploy" / "docker-compose.yml"
    (repo / "variants").mkdir()
    (repo / "variants" / "open.yml").write_text(COMPOSE)
    (repo / "variants" / "closed.yml").write_text(COMPOSE.replace('"1985:1985"', '"127.0.0.1:1985:1985"'))
    compose.unlink()
    compose.symlink_to(repo / "variants" / "open.yml")

    def relink() -> None:
        compose.unlink()
        compose.symlink_to(repo / "variants" / "closed.yml")
    check_change_is_seen(repo, tmp_path / "cache", relink)


def test_the_date_is_part_of_the_key(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    today = datetime.date(2026, 12, 1)
    keys = {memo.key(cache, [tmp_path], {}, day.isoformat()) for day in (today, today + datetime.timedelta(days=1))}
    assert len(keys) == 2  # an ``until:`` that expires overnight shows its finding the next morning


def test_other_options_are_other_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    one = memo.key(cache, [tmp_path], {"select": ["BRL1"]}, "2026-12-01")
    assert one == memo.key(cache, [tmp_path], {"select": ["BRL1"]}, "2026-12-01")
    assert one != memo.key(cache, [tmp_path], {"select": ["BRL2"]}, "2026-12-01")
    assert one != memo.key(cache, [tmp_path / "sub"], {"select": ["BRL1"]}, "2026-12-01")


def test_a_read_that_bypasses_the_journal_keeps_nothing(tmp_path: Path) -> None:
    """The audit hook is the safety net for a read site that does not report: its scan is not
    kept, so a forgotten hook costs speed and never hides a change."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "reported.txt").write_text("a")
    (tree / "sneaky.txt").write_text("b")
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    report = Report(root=tree, findings=(), rules={}, topology="single-node", topology_reason="")
    with memo.recording(cache, [tree]) as seen:
        data = (tree / "reported.txt").read_bytes()
        journal.note_read(tree / "reported.txt", data)
    assert seen is not None and not seen.unaccounted
    assert memo.store(cache, b"k" * 32, seen, report) == "kept for the next run"
    with memo.recording(cache, [tree]) as seen:
        (tree / "sneaky.txt").read_text()
    assert seen is not None and seen.unaccounted == {str(tree / "sneaky.txt")}
    assert memo.store(cache, b"j" * 32, seen, report).startswith("not kept: 1 path(s) read outside the journal")
    with memo.recording(cache, [tree / "reported.txt"]) as seen:
        os.listdir(tmp_path)  # a directory outside the scanned one, listed behind the journal's back
    assert seen is not None and seen.unaccounted == {str(tmp_path)}


def test_a_scan_with_an_internal_error_is_not_kept(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    report = Report(root=tmp_path, findings=(), rules={}, topology="single-node", topology_reason="",
                    errors=("internal error checking BRL101: KeyError",))
    with memo.recording(cache, [tmp_path]) as seen:
        pass
    assert memo.store(cache, b"k" * 32, seen, report) == "not kept: the scan met an internal error"
    assert memo.lookup(cache, b"k" * 32, need_summary=False)[0] is None


@pytest.mark.parametrize("fixture", ["single-node", "origin-edge-haproxy", "cdn-aws", "single-node-ufw-docker",
                                     "terraform-module-outputs", "compose-suppressions", "systemd-dropin-restart",
                                     "environments-mixed-layouts", "gcp-cloud-run-mistakes"])
def test_fixtures_answer_the_same_from_the_memo(fixture: str, tmp_path: Path) -> None:
    source = FIXTURES / fixture
    tree = tmp_path / fixture
    shutil.copytree(source, tree, symlinks=True)
    fresh = run(".", "-f", "sarif", cwd=tree, cache=None)
    first = run(".", "-f", "sarif", cwd=tree, cache=tmp_path / "cache")
    second = run(".", "-f", "sarif", cwd=tree, cache=tmp_path / "cache")
    assert "scan memo: unchanged tree" in second.stderr, second.stderr
    assert fresh.stdout == first.stdout == second.stdout
    assert fresh.returncode == first.returncode == second.returncode


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_every_read_of_a_fixture_scan_is_in_the_journal(fixture: str, tmp_path: Path) -> None:
    """A read site that does not report to the journal leaves nothing wrong (the scan is not
    kept) but makes the memo useless for such trees: every fixture's scan must be keepable."""
    from bitriver_lint import nearest

    tree = FIXTURES / fixture
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    with memo.recording(cache, [tree]) as seen:
        report = nearest.scan([tree], cache=cache)
    assert seen is not None
    assert not seen.unaccounted
    assert seen.reads  # the fixture's own files, at least
    assert memo.store(cache, b"k" * 32, seen, report) == "kept for the next run"


def test_the_replay_reads_no_further_than_the_scan_did(tmp_path: Path) -> None:
    """A file that grew (to gigabytes, say) differs after one byte more than the scan read, and
    a FIFO put in its place is never waited on."""
    path = tmp_path / "compose.yml"
    path.write_bytes(b"services: {}\n")
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    with memo.recording(cache, [path]) as seen:
        journal.note_read(path, path.read_bytes())
    assert seen is not None and journal.still(seen)
    assert journal.read_regular(path, 4) == b"serv"
    with open(path, "ab") as grown:
        grown.write(b"x" * 100_000)
    assert not journal.still(seen)
    path.unlink()
    os.mkfifo(path)
    assert not journal.still(seen)
    with pytest.raises(journal.NotRegular):
        journal.read_regular(path, 10)
