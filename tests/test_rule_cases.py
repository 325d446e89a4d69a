"""Each rule's own test cases, as data: ``tests/rules/<RULE>.yaml``.

A case file holds small trees that must pass a rule and small trees that must fail it::

    rule: BRL102
    pass:
      - name: the API is bound to loopback
        files:
          docker-compose.yml: |
            services: ...
    fail:
      - name: the API is published on every interface
        topology: single-node            # optional: forced, as --topology does
        config: |                        # optional: the tree's .bitriver-lint.yaml
          networks: {operators: [10.8.0.0/24]}
        files:
          docker-compose.yml: |
            services: ...
        findings:                        # exactly this rule's findings, in any order
          - at: docker-compose.yml:7:9
            message: outside operators   # a part of the finding's message

Every case is written into its own directory and scanned in-process with only its rule
selected. A pass case must yield no finding of the rule; a fail case exactly the listed ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bitriver_lint.checks import CHECKS, META_CHECK
from bitriver_lint.config import CONFIG_NAMES, Config, load_config
from bitriver_lint.engine import scan
from bitriver_lint.model import Finding
from bitriver_lint.rules import TOPOLOGIES, Rule, builtin_rules

CASES_DIR = Path(__file__).resolve().parent / "rules"
_CASE_KEYS = {"name", "files", "topology", "config", "findings"}


@dataclass(frozen=True)
class Expected:
    at: str  # path:line:column
    message: str


@dataclass(frozen=True)
class Case:
    rule: str
    kind: str  # "pass" or "fail"
    name: str
    files: dict[str, str]
    topology: str | None = None
    config: str | None = None
    findings: tuple[Expected, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.kind}-{re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')}"


class CaseFileError(Exception):
    pass


def _case(path: Path, rule: str, kind: str, raw: Any) -> Case:
    where = f"{path.name}: {kind}"
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: each case is a mapping")
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise CaseFileError(f"{where}: unknown key(s) {sorted(unknown)}; a case has {sorted(_CASE_KEYS)}")
    name = raw.get("name")
    files = raw.get("files")
    if not isinstance(name, str) or not name:
        raise CaseFileError(f"{where}: every case needs a name")
    where = f"{where}: {name}"
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise CaseFileError(f"{where}: files must map paths to their contents")
    for rel in files:
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            raise CaseFileError(f"{where}: {rel}: paths stay inside the case's tree")
    topology = raw.get("topology")
    if topology is not None and topology not in TOPOLOGIES:
        raise CaseFileError(f"{where}: topology must be one of {', '.join(TOPOLOGIES)}")
    config = raw.get("config")
    if isinstance(config, dict):
        config = yaml.safe_dump(config, sort_keys=False)
    if config is not None and not isinstance(config, str):
        raise CaseFileError(f"{where}: config is the text (or mapping) of a .bitriver-lint.yaml")
    expected = raw.get("findings")
    if kind == "pass" and expected is not None:
        raise CaseFileError(f"{where}: a pass case lists no findings")
    if kind == "fail" and not expected:
        raise CaseFileError(f"{where}: a fail case lists the findings it expects")
    findings = []
    for item in expected or []:
        if not isinstance(item, dict) or set(item) != {"at", "message"}:
            raise CaseFileError(f"{where}: each finding is {{at: path:line:column, message: part of it}}")
        if not re.fullmatch(r".+:\d+:\d+", str(item["at"])):
            raise CaseFileError(f"{where}: {item['at']!r} is not path:line:column")
        findings.append(Expected(str(item["at"]), str(item["message"])))
    return Case(rule, kind, name, dict(files), topology, config, tuple(findings))


def load_case_file(path: Path) -> list[Case]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"rule", "pass", "fail"}:
        raise CaseFileError(f"{path.name}: a case file has the keys rule, pass and fail")
    rule = data.get("rule")
    if rule != path.stem:
        raise CaseFileError(f"{path.name}: rule: {rule!r} is not the file's name")
    cases = [_case(path, rule, kind, raw) for kind in ("pass", "fail") for raw in data.get(kind) or []]
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise CaseFileError(f"{path.name}: two cases share a name")
    return cases


def _case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yaml"))


ALL_CASES = [case for path in _case_files() for case in load_case_file(path)]


def run_case(case: Case, root: Path) -> list[Finding]:
    """Write the case's tree under ``root``, scan it with only its rule selected and return the
    rule's active findings."""
    for rel, text in case.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    config = Config()
    if case.config is not None:
        config_path = root / CONFIG_NAMES[0]
        config_path.write_text(case.config, encoding="utf-8")
        config = load_config(config_path)
    result = scan([root], config, root=root, topology=case.topology, select=[case.rule])
    assert not result.errors, result.errors
    return [f for f in result.active if f.rule_id == case.rule]


def _show(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.location}: {f.message}" for f in findings) or "  (none)"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_rule_case(case: Case, tmp_path: Path) -> None:
    found = run_case(case, tmp_path / "tree")
    if case.kind == "pass":
        if found:
            pytest.fail(f"{case.rule} should pass {case.name!r} but reported:\n{_show(found)}", pytrace=False)
        return
    left = list(found)
    missing = []
    for want in case.findings:
        match = next((f for f in left if str(f.location) == want.at and want.message in f.message), None)
        if match is None:
            missing.append(want)
        else:
            left.remove(match)
    if missing or left:
        expected = "\n".join(f"  {w.at}: ...{w.message}..." for w in missing) or "  (none)"
        pytest.fail(f"{case.rule} on {case.name!r}\nexpected, not found:\n{expected}\n"
                    f"found, not expected:\n{_show(left)}", pytrace=False)


@pytest.mark.parametrize("rule", builtin_rules(), ids=lambda r: r.id)
def test_every_rule_has_passing_and_failing_cases(rule: Rule) -> None:
    path = CASES_DIR / f"{rule.id}.yaml"
    assert path.is_file(), f"{rule.id} has no case file: write {path.relative_to(CASES_DIR.parent.parent)}"
    kinds = [c.kind for c in load_case_file(path)]
    assert "pass" in kinds, f"{rule.id}: no case that passes"
    assert "fail" in kinds, f"{rule.id}: no case that fails"


def test_case_files_belong_to_rules() -> None:
    ids = {r.id for r in builtin_rules()}
    orphans = [p.name for p in _case_files() if p.stem not in ids]
    assert not orphans, f"case files for no rule in rules/: {orphans}"


def test_rules_and_checks_bind_both_ways() -> None:
    """Every rule names a registered check, and every registered check is used by a rule."""
    rules = builtin_rules()
    unbound = [f"{r.id}: {r.check}" for r in rules if r.check != META_CHECK and r.check not in CHECKS]
    assert not unbound, f"rules naming no registered check: {unbound}"
    used = {r.check for r in rules}
    unused = sorted(set(CHECKS) - used)
    assert not unused, f"registered checks no rule uses: {unused}"
