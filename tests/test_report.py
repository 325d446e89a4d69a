"""The engine hands over one frozen report with every filter applied; nothing edits it after."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, scan_tree

from bitriver_lint import baseline, engine
from bitriver_lint.config import Config


def test_select_and_ignore_are_checked_before_any_file_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_discovery(*args: Any) -> None:
        raise AssertionError("discovery started before --select was checked")

    monkeypatch.setattr(engine, "discover", no_discovery)
    with pytest.raises(engine.SelectionError, match=r"^--select: no rule matches 'BRL9'$"):
        engine.scan([FIXTURES / "single-node"], Config(), select=["BRL9"])
    with pytest.raises(engine.SelectionError, match=r"^--ignore: no rule matches 'NOPE'$"):
        engine.scan([FIXTURES / "single-node"], Config(), ignore=["BRL1", "NOPE"])


def test_the_report_is_frozen() -> None:
    report = scan_tree(FIXTURES / "compose-exposure")
    assert report.findings and isinstance(report.findings, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.findings = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.rules["BRL101"] = report.rules["BRL102"]  # type: ignore[index]


def test_baseline_and_changed_focus_are_applied_by_the_engine(tmp_path: Path) -> None:
    root = FIXTURES / "compose-exposure"
    everything = scan_tree(root)
    known = tmp_path / "baseline.json"
    repository = FIXTURES.parent
    baseline.write(known, [baseline.entry_for(f, f"fixtures/compose-exposure/{f.location.path}")
                           for f in everything.findings[:3]])
    after = scan_tree(root, baseline=known)
    assert [f.fingerprint for f in after.findings] == [f.fingerprint for f in everything.findings[3:]]
    assert after.baseline is not None and (after.baseline.hidden, after.baseline.stale) == (3, ())
    assert (repository / ".git").exists()

    elsewhere = scan_tree(root, focus={(tmp_path / "other.yml").resolve()})
    assert elsewhere.findings == ()
    here = scan_tree(root, focus={(root / "docker-compose.yml").resolve()})
    assert here.findings == everything.findings
