"""An internal error costs what it touched, never the rest of the scan, and is exit code 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bitriver_lint import engine
from bitriver_lint.checks.base import Check
from bitriver_lint.cli import main
from bitriver_lint.loaders import nginx

GOOD = 'services:\n  postgres:\n    image: postgres:16\n    restart: unless-stopped\n    ports: ["5432:5432"]\n'


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "docker-compose.yml").write_text(GOOD)
    (tmp_path / "edge").mkdir()
    (tmp_path / "edge" / "nginx.conf").write_text("events {}\nhttp { server { listen 6379; } }\n")
    (tmp_path / "edge" / "other.conf").write_text("server { listen 5432; }\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    try:
        main([".", "-f", "json", "--jobs", "1", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def keys(report: dict[str, Any]) -> list[str]:
    return [f"{f['rule_id']} {f['location']['path']}:{f['location']['line']}" for f in report["findings"]]


def test_a_loader_bug_costs_one_file(tree: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = nginx.read

    def broken(files: list[str], *rest: Any) -> Any:
        if "edge/other.conf" in files:
            raise ZeroDivisionError("boom")
        return real_read(files, *rest)

    monkeypatch.setattr(nginx, "read", broken)
    code, report, err = run(capsys, "--exit-zero")
    assert code == 3
    found = keys(report)
    assert "BRL103 docker-compose.yml:5" in found  # another format's finding
    assert "BRL107 edge/nginx.conf:2" in found  # the same format's other file
    broken_file = [f for f in report["findings"] if f["location"]["path"] == "edge/other.conf"]
    assert [f["rule_id"] for f in broken_file] == ["BRL001"]
    assert "ZeroDivisionError" in broken_file[0]["message"]
    assert "boom" not in broken_file[0]["message"]  # the type is named, not what it carried
    assert "internal error loading nginx files (edge/other.conf): ZeroDivisionError" in err
    assert "Traceback" not in err


def test_a_check_bug_costs_one_rule_and_debug_shows_the_traceback(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_get_check = engine.get_check

    def explode(ctx: Any, params: Any) -> None:
        raise RuntimeError("check bug")

    def get_check(name: str) -> Check[Any]:
        real = real_get_check(name)
        return Check(name, explode, real.params) if name == "exposure.port_allowlist" else real

    monkeypatch.setattr(engine, "get_check", get_check)
    code, report, err = run(capsys, "--debug")
    assert code == 3
    found = keys(report)
    assert "BRL103 docker-compose.yml:5" in found
    assert not any(k.startswith("BRL107") for k in found)
    assert "internal error checking BRL107: RuntimeError" in err
    assert "Traceback" in err and "check bug" in err


def test_without_internal_errors_exit_zero_still_means_zero(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = run(capsys, "--exit-zero")
    assert code == 0 and report["findings"] and err == ""
