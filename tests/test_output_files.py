"""Report (``--output``) and baseline files: written all at once, or not at all with one line
saying why (exit 2), never a traceback and never a truncated file in place of a good one."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitriver_lint import cli

COMPOSE = "services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "file.txt").write_text("a regular file, not a directory\n")
    (tmp_path / "adir").mkdir()
    return tmp_path


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], option: str, path: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"bitriver-lint: error: {option}: cannot write {path}: "), proc.stderr


UNWRITABLE = [
    pytest.param("missing/dir/r.json", "No such file or directory", id="missing-directory"),
    pytest.param("file.txt/sub/r.json", "Not a directory", id="under-a-file"),
    pytest.param("file.txt/r.json", "Not a directory", id="in-a-file"),
    pytest.param("/dev/full", "No space left on device", id="disk-full"),
]


@pytest.mark.parametrize("exit_zero", [False, True], ids=["", "exit-zero"])
@pytest.mark.parametrize(("target", "reason"), UNWRITABLE)
def test_unwritable_output_is_exit_two_with_one_line(tree: Path, target: str, reason: str, exit_zero: bool) -> None:
    if target.startswith("/dev/") and not Path(target).exists():
        pytest.skip(f"{target} does not exist on this system")
    proc = run(tree, ".", "--format", "json", "-o", target, *(["--exit-zero"] if exit_zero else []))
    assert_one_line_error(proc, "--output", target)
    assert proc.stderr.rstrip().endswith(reason)
    assert proc.stdout == ""


def test_output_that_is_a_directory(tree: Path) -> None:
    proc = run(tree, ".", "-o", "adir", "--exit-zero")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "'adir' is a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_output_into_a_read_only_directory(tree: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions do not stop root from writing a read-only directory")
    locked = tree / "locked"
    locked.mkdir()
    (locked / "r.json").write_text('{"old": true}\n')
    locked.chmod(0o555)
    try:
        proc = run(tree, ".", "--format", "json", "-o", "locked/r.json", "--exit-zero")
    finally:
        locked.chmod(0o755)
    assert_one_line_error(proc, "--output", "locked/r.json")
    assert proc.stderr.rstrip().endswith("Permission denied")
    assert (locked / "r.json").read_text() == '{"old": true}\n'
    assert os.listdir(locked) == ["r.json"]


@pytest.mark.parametrize(
    ("target", "reason"), [p for p in UNWRITABLE if p.id != "in-a-file"] + [pytest.param("adir", "Is a directory")]
)
def test_unwritable_baseline_is_exit_two_with_one_line(tree: Path, target: str, reason: str) -> None:
    """The baseline's path may come from the config (where click does not check it)."""
    if target.startswith("/dev/") and not Path(target).exists():
        pytest.skip(f"{target} does not exist on this system")
    (tree / ".bitriver-lint.yaml").write_text(f"baseline: {target}\n")
    proc = run(tree, ".", "--update-baseline")
    assert_one_line_error(proc, "--baseline", target)
    assert proc.stderr.rstrip().endswith(reason)


def test_update_baseline_into_a_missing_directory(tree: Path) -> None:
    proc = run(tree, ".", "--baseline", "missing/b.json", "--update-baseline")
    assert_one_line_error(proc, "--baseline", "missing/b.json")


def test_error_names_a_hostile_path_on_one_line(tree: Path) -> None:
    target = "missing\n::error::x\x1b[2J/r.json"
    proc = run(tree, ".", "-o", target, "--exit-zero")
    assert_one_line_error(proc, "--output", "missing\\n::error::x\\x1b[2J/r.json")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Disk full while the report is written (seen at fsync at the latest)."""
    old = '{"old": true}\n'
    (tree / "r.json").write_text(old)
    monkeypatch.chdir(tree)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([".", "--format", "json", "-o", "r.json", "--exit-zero"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == f"bitriver-lint: error: --output: cannot write r.json: {os.strerror(errno.ENOSPC)}\n"
    assert (tree / "r.json").read_text() == old
    assert sorted(os.listdir(tree)) == ["adir", "docker-compose.yml", "file.txt", "r.json"]


def test_report_and_baseline_files_are_ordinary_files(tree: Path) -> None:
    """A new file gets the usual mode (not a temporary file's 0600); a replaced one keeps its own."""
    umask = os.umask(0o022)
    os.umask(umask)
    assert run(tree, ".", "--format", "json", "-o", "new.json", "--exit-zero").returncode == 0
    assert stat.S_IMODE(os.stat(tree / "new.json").st_mode) == 0o666 & ~umask
    json.loads((tree / "new.json").read_text())
    (tree / "kept.json").write_text("{}")
    os.chmod(tree / "kept.json", 0o640)
    assert run(tree, ".", "--baseline", "kept.json", "--update-baseline").returncode == 0
    assert stat.S_IMODE(os.stat(tree / "kept.json").st_mode) == 0o640
    assert json.loads((tree / "kept.json").read_text())["version"] == 2
    assert sorted(os.listdir(tree)) == ["adir", "docker-compose.yml", "file.txt", "kept.json", "new.json"]


def test_output_to_dev_stdout_writes_through(tree: Path) -> None:
    """A device or a link to one (``/dev/stdout``, a pipe here) is written, not replaced."""
    if not Path("/dev/stdout").exists():
        pytest.skip("no /dev/stdout on this system")
    before = os.lstat("/dev/stdout")
    proc = run(tree, ".", "--format", "json", "-o", "/dev/stdout", "--exit-zero")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["error"] >= 1
    after = os.lstat("/dev/stdout")
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


# -- killed while writing ------------------------------------------------------------------------

# The writer runs the real command line over and over, saying "done" after each run. json.dump is
# slowed down (small, flushed chunks) as on a slow disk: a writer that is not atomic leaves a
# partial file behind most of the times it is killed.
WRITER = """
import json, sys, time
from bitriver_lint import cli

def slow_dump(obj, stream, **options):
    text = json.dumps(obj, **options)
    for start in range(0, len(text), 4096):
        stream.write(text[start:start + 4096])
        stream.flush()
        time.sleep(0.001)

json.dump = slow_dump
while True:
    cli.main(sys.argv[1:])
    print("done", flush=True)
"""

OLD = {"old": "a good file from before"}
KILLS = 20


def _big_tree(root: Path) -> None:
    lines = ["services:"]
    for i in range(120):
        lines += [f"  db{i}:", "    image: postgres:16", "    ports:", f"      - \"{10000 + i}:5432\""]
    root.mkdir()
    (root / "docker-compose.yml").write_text("\n".join(lines) + "\n")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kind", ["report", "baseline"])
def test_killed_at_any_moment_leaves_the_old_file_or_the_new_one(tmp_path: Path, kind: str) -> None:
    """Each writer is killed during its first, second or third run, at a random moment: the file
    is then the old one or the complete new one (the same every run), never anything else."""
    _big_tree(tmp_path / "tree")
    out = tmp_path / "out"
    out.mkdir()

    def args(target: Path) -> list[str]:
        if kind == "report":
            return ["tree", "--format", "json", "-o", str(target), "--exit-zero"]
        return ["tree", "--baseline", str(target), "--update-baseline"]

    complete = run(tmp_path, *args(out / "complete.json"))
    assert complete.returncode == 0, complete.stderr
    expected = json.loads((out / "complete.json").read_text())
    assert len(expected["findings"]) >= 500

    rng = random.Random(8)
    parallel = max(2, min(4, os.cpu_count() or 1))
    saw_old = saw_new = 0
    for first in range(0, KILLS, parallel):
        writers = []
        for i in range(first, min(first + parallel, KILLS)):
            target = out / f"r{i}.json"
            target.write_text(json.dumps(OLD))
            proc = subprocess.Popen([sys.executable, "-c", WRITER, *args(target)], cwd=tmp_path,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            writers.append((proc, target, rng.randrange(3), rng.uniform(0.0, 0.3)))
        for proc, target, runs, delay in writers:
            assert proc.stdout is not None
            for _ in range(runs):  # let it finish this many runs, then kill it during the next one
                assert proc.stdout.readline() == "done\n", "the writer stopped on its own"
            time.sleep(delay)
            assert proc.poll() is None  # it is still writing when it is killed
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            text = target.read_text()
            try:
                document = json.loads(text)
            except ValueError:
                pytest.fail(f"killed in run {runs + 1} after {delay:.2f}s: {len(text)} bytes that do not parse, "
                            f"ending {text[-60:]!r}")
            if document == OLD:
                saw_old += 1
            else:
                assert document == expected, f"killed in run {runs + 1} after {delay:.2f}s: another document"
                saw_new += 1
    assert saw_new >= KILLS // 4, "the writers never got to replace the file: nothing was tested"


def test_a_planted_symlink_does_not_redirect_the_report(tree: Path) -> None:
    victim = tree / "victim.txt"
    victim.write_text("precious\n")
    (tree / "report.json").symlink_to(victim)
    proc = run(tree, ".", "-f", "json", "-o", "report.json", "--exit-zero")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    assert not (tree / "report.json").is_symlink()
    assert json.loads((tree / "report.json").read_text())["findings"]
