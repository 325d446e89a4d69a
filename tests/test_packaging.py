"""The GitHub Action and the Dockerfile, checked without GitHub or a Docker engine: the action's
shell steps run as a script against a fixture, and the image installs only the package."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, REPO


def _steps() -> list[dict[str, object]]:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    return list(action["runs"]["steps"])


def _run_step(step: dict[str, object], inputs: dict[str, str], outputs: Path, tmp: Path,
              bin_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(str(p) for p in (bin_dir, Path(sys.executable).parent) if p is not None)
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "RUNNER_TEMP": str(tmp), "GITHUB_ACTION_PATH": str(REPO),
           "GITHUB_STEP_SUMMARY": str(tmp / "step-summary.md"), "PATH": f"{path}{os.pathsep}{os.environ['PATH']}"}
    for key, value in dict(step.get("env") or {}).items():  # type: ignore[call-overload]
        env[key] = re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: inputs[m.group(1)], str(value))
        for line in outputs.read_text().splitlines() if outputs.exists() else []:
            name, _, found = line.partition("=")
            env[key] = env[key].replace(f"${{{{ steps.scan.outputs.{name} }}}}", found)
    return subprocess.run(["bash", "-e", "-c", str(step["run"])], env=env, cwd=REPO, capture_output=True, text=True)


def _counting_shim(tmp: Path) -> tuple[Path, Path]:
    """A ``bitriver-lint`` first on PATH that records each call, then runs the package under test."""
    bin_dir, calls = tmp / "bin", tmp / "calls"
    bin_dir.mkdir()
    shim = bin_dir / "bitriver-lint"
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{sys.executable}" -m bitriver_lint "$@"\n')
    shim.chmod(0o755)
    return bin_dir, calls


def test_the_action_scans_once_uploads_and_fails_on_findings(tmp_path: Path) -> None:
    steps = _steps()
    install, scan, upload, fail = steps
    assert '"${GITHUB_ACTION_PATH}"' in str(install["run"])  # the action's own checkout, nothing else
    assert str(upload["uses"]).startswith("github/codeql-action/upload-sarif@")
    outputs = tmp_path / "outputs"
    bin_dir, calls = _counting_shim(tmp_path)
    inputs = {"path": str(FIXTURES / "compose-exposure"), "severity-threshold": "warning", "category": ""}
    proc = _run_step(scan, inputs, outputs, tmp_path, bin_dir)
    assert proc.returncode == 0, proc.stderr  # the step itself succeeds...
    assert len(calls.read_text().splitlines()) == 1  # one scan for the annotations, SARIF and summary
    recorded = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    sarif = json.loads(Path(recorded["sarif"]).read_text())
    results = sarif["runs"][0]["results"]
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == len(results) == 14  # the same findings in both
    assert annotations[0].startswith("::error file=fixtures/compose-exposure/docker-compose.yml,line=")
    assert proc.stdout.splitlines()[-1] == "bitriver-lint: 7 error(s), 7 warning(s), 0 note(s)"
    assert (tmp_path / "step-summary.md").read_text().startswith("## bitriver-lint: 14 finding(s)\n")
    assert recorded["status"] == "1"
    assert _run_step(fail, inputs, outputs, tmp_path).returncode == 1  # ...and the last one fails the job


def test_the_image_installs_only_the_package_and_runs_unprivileged() -> None:
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    assert sorted(copied) == ["LICENSE", "README.md", "bitriver_lint", "pyproject.toml", "rules"]
    assert all((REPO / name).exists() for name in copied)
    installs = [line for line in lines if "pip install" in line]
    assert len(installs) == 1 and "pip install --no-cache-dir /build " in installs[0]
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    assert 'ENTRYPOINT ["bitriver-lint"]' in lines


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)


def test_the_readme_pins_one_commit_of_main_that_has_what_the_examples_use() -> None:
    """The repository has no release tags: the README's pre-commit ``rev:``, the action's ``@``
    and the pip installs name one commit, which must be on main's history and have the
    repeatable ``-o`` the examples use and the hook the pre-commit config names."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    pins = re.findall(r"(?:rev: |bitriver-lint@)([0-9a-f]+)\b", readme)
    assert len(pins) >= 4 and all(len(pin) == 40 for pin in pins), pins
    assert len(set(pins)) == 1, sorted(set(pins))
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("not a full git clone: the pinned commit's history is not here")
    (pin,) = set(pins)
    assert _git("cat-file", "-e", f"{pin}^{{commit}}").returncode == 0, f"{pin} is not a commit here"
    branches = ["HEAD", *(["main"] if _git("rev-parse", "--verify", "-q", "main").returncode == 0 else [])]
    for branch in branches:
        assert _git("merge-base", "--is-ancestor", pin, branch).returncode == 0, f"{pin} is not on {branch}"
    cli_then = _git("show", f"{pin}:bitriver_lint/cli.py").stdout
    assert re.search(r'"--output", "-o", "outputs", multiple=True', cli_then)  # -o a.sarif -o b.xml -o c.md
    hooks_then = yaml.safe_load(_git("show", f"{pin}:.pre-commit-hooks.yaml").stdout)
    assert [h["id"] for h in hooks_then] == ["bitriver-lint"] and hooks_then[0]["require_serial"] is True
    action_then = yaml.safe_load(_git("show", f"{pin}:action.yml").stdout)
    assert action_then["runs"]["using"] == "composite"
