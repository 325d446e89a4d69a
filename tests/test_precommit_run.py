"""The real ``pre-commit`` (from PyPI) runs this repository's hook in a throwaway git repository,
as a team would wire it: ``repo:`` a clone of this repository, ``rev:`` a commit sha.

The hook repository is made from the working tree (tracked and untracked files, not ignored
ones), so the test checks the code under test on a clean CI clone too. pre-commit builds the
hook's virtualenv once for the module (``pip install`` of that commit and its dependencies);
where that cannot be done (no ``pre-commit``, no ``git``, no package index) the tests are
skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

pytestmark = pytest.mark.skipif(PRE_COMMIT is None or shutil.which("git") is None,
                                reason="needs the pre-commit package (pip install -e '.[test]') and git")


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV})
    return proc.stdout.strip()


def _hook_repository(where: Path) -> str:
    """A git repository holding the working tree as one commit; its sha."""
    try:
        listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"{REPO} is not a git checkout: {exc}")
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / rel)
    git(where, "init", "-q", ".")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "the hook under test")
    return git(where, "rev-parse", "HEAD")


class Project:
    """A team's repository using the hook."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def write(self, rel: str, text: str) -> None:
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.root / rel).write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.root / rel).read_text(encoding="utf-8")
        assert old in text
        self.write(rel, text.replace(old, new))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert PRE_COMMIT is not None
        return subprocess.run([PRE_COMMIT, "run", "--color", "never", *args], cwd=self.root, capture_output=True,
                              text=True, check=False, env=self.env, timeout=900)

    def reset(self) -> None:
        git(self.root, "reset", "-q", "--hard")
        git(self.root, "clean", "-qfd")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("precommit")
    (base / "hook").mkdir()
    sha = _hook_repository(base / "hook")
    root = base / "team"
    root.mkdir()
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(base / "cache"), "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)  # the hook must run what pre-commit installed, not this checkout
    team = Project(root, env)
    team.write(".pre-commit-config.yaml", f"repos:\n  - repo: {base / 'hook'}\n    rev: {sha}\n"
                                          "    hooks:\n      - id: bitriver-lint\n")
    for directory in ("edge", "deploy"):
        for name in ("docker-compose.yml", "Caddyfile"):
            team.write(f"{directory}/{name}", (FIXTURES / "single-node" / name).read_text(encoding="utf-8"))
    # deploy/ accepts what the edge must not: its own config, nearest to its files.
    team.write("deploy/.bitriver-lint.yaml", "rules:\n  ignore: [BRL104, BRL107]\n")
    team.write("legacy/docker-compose.yml", "services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.4.2\n")
    team.write("notes.md", "# notes\n")
    git(root, "init", "-q", ".")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a deployment, with findings in legacy/ nobody touches")
    install = subprocess.run([PRE_COMMIT, "install-hooks"], cwd=root, capture_output=True, text=True, check=False,
                             env=env, timeout=1800)
    if install.returncode != 0:
        log = base / "cache" / "pre-commit.log"
        detail = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else install.stdout + install.stderr
        if _index_unreachable(detail):
            pytest.skip("pre-commit could not build the hook's virtualenv: no package index reachable")
        pytest.fail(f"pre-commit install-hooks failed:\n{install.stdout}{install.stderr}\n{detail[-4000:]}")
    yield team


def _index_unreachable(log: str) -> bool:
    markers = ("Could not find a version that satisfies", "NewConnectionError", "Temporary failure in name resolution",
               "Network is unreachable", "No matching distribution found")
    return any(marker in log for marker in markers)


def test_a_bad_change_fails_with_the_finding_printed(project: Project) -> None:
    project.edit("edge/docker-compose.yml", '"127.0.0.1:8080:8080"', '"8080:8080"')
    git(project.root, "add", "-A")
    try:
        proc = project.run()
    finally:
        project.reset()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bitriver-lint" in proc.stdout and "Failed" in proc.stdout
    assert "edge/docker-compose.yml" in proc.stdout
    assert "BRL104 the Go API (8080/tcp) of api is reachable from anywhere" in proc.stdout
    assert "legacy/docker-compose.yml" not in proc.stdout  # committed findings are not this change's


def test_an_unrelated_change_passes(project: Project) -> None:
    project.edit("edge/docker-compose.yml", "name: bitriver\n", "name: bitriver  # the appliance\n")
    project.edit("notes.md", "# notes\n", "# notes\n\nmore\n")
    git(project.root, "add", "-A")
    try:
        proc = project.run()
    finally:
        project.reset()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bitriver-lint" in proc.stdout and "Passed" in proc.stdout


def test_a_subdirectory_config_is_honoured(project: Project) -> None:
    project.edit("deploy/docker-compose.yml", '"127.0.0.1:8080:8080"', '"8080:8080"')
    try:
        proc = project.run("--files", "deploy/docker-compose.yml")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Passed" in proc.stdout
        # ... and it is that config that lets it pass: without it, the same change fails.
        (project.root / "deploy/.bitriver-lint.yaml").unlink()
        proc = project.run("--files", "deploy/docker-compose.yml")
        assert proc.returncode == 1
        assert "deploy/docker-compose.yml" in proc.stdout and "BRL104" in proc.stdout
    finally:
        project.reset()
