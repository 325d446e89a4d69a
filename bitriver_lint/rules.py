"""The rule catalog: ``rules/*.yaml`` loaded and validated, plus custom rules.

A rule is data (id, name, severity, topologies, docs, parameters) bound to a check function
by name (``check: exposure.reachable``). Built-in rules ship inside the wheel; custom rules
come from YAML files named in the config (``rules.paths``) or from installed packages that
declare a ``bitriver_lint.rules`` entry point returning a directory of YAML files.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bitriver_lint import journal
from bitriver_lint.data import builtin_rules_dir as builtin_rules_dir
from bitriver_lint.model import Severity
from bitriver_lint.vocabulary import ALL, RuleTopology, TopologyName
from bitriver_lint.vocabulary import TOPOLOGIES as TOPOLOGIES  # re-exported: rules.TOPOLOGIES predates vocabulary

# The C parser where PyYAML has it: the catalog and its data tables load on every run.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_data_file(path: Path) -> Any:
    """A YAML file shipped with the rules (or a rule file), parsed with the fast safe loader."""
    data = path.read_bytes()
    journal.note_read(path, data)
    return yaml.load(data.decode("utf-8"), Loader=_YAML_LOADER)

META_RULES = ("BRL001", "BRL002", "BRL003")
DOCS_URL = "https://github.com/bitriver-live/bitriver-lint/blob/main/docs/rules/{id}.md"
_ID = re.compile(r"^[A-Z][A-Z0-9]{1,9}\d{3}$")


class RuleError(Exception):
    """A rule file that does not validate; one line naming the file and the key."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    severity: Literal["error", "warning", "note"]
    severity_by_topology: dict[TopologyName, Literal["error", "warning", "note"]] = Field(default_factory=dict)
    topologies: list[RuleTopology]
    check: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    guide: str
    tags: list[str] = Field(default_factory=list)
    security_severity: float | None = None
    summary: str
    description: str
    rationale: str
    example: str
    fix: str
    source: str = Field(default="", exclude=True)  # the file it came from

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must look like BRL123 (letters then three digits)")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ValueError("must be kebab-case")
        return value

    def applies_to(self, topology: str) -> bool:
        return ALL in self.topologies or topology in self.topologies

    def severity_for(self, topology: str) -> Severity:
        return Severity.parse(self.severity_by_topology.get(topology, self.severity))  # type: ignore[call-overload]

    @property
    def help_uri(self) -> str:
        return DOCS_URL.format(id=self.id)

    @property
    def topology_label(self) -> str:
        return ", ".join(self.topologies)


def load_rule_file(path: Path) -> Rule:
    try:
        data = load_data_file(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot read rule: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(f"{path}: a rule file must be a mapping")
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise RuleError(f"{path}: {key}: {err['msg']}") from exc
    return rule.model_copy(update={"source": str(path)})


def load_rule_dir(directory: Path) -> list[Rule]:
    journal.note_listing(directory)
    return [load_rule_file(p) for p in sorted(directory.glob("*.yaml"))]


@cache
def builtin_rules() -> tuple[Rule, ...]:
    return tuple(load_rule_dir(builtin_rules_dir()))


def plugin_rule_dirs() -> list[Path]:
    """Directories of rule YAML that installed packages declare as entry points."""
    dirs: list[Path] = []
    for entry in metadata.entry_points(group="bitriver_lint.rules"):
        target = entry.load()
        path = Path(target() if callable(target) else str(target))
        if path.is_dir():
            dirs.append(path)
    return dirs


def catalog(extra_dirs: list[Path] | None = None, *, plugins: bool = True) -> dict[str, Rule]:
    """Every rule by id, built-in first; a custom rule may not reuse a built-in id."""
    rules = {r.id: r for r in builtin_rules()}
    sources = [*(plugin_rule_dirs() if plugins else []), *(extra_dirs or [])]
    for directory in sources:
        journal.note_probe(directory)
        if not directory.is_dir():
            raise RuleError(f"{directory}: custom rule directory does not exist")
        for rule in load_rule_dir(directory):
            if rule.id in rules:
                raise RuleError(f"{rule.source}: id: {rule.id} is already defined by {rules[rule.id].source}")
            rules[rule.id] = rule
    return rules
