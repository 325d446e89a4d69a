"""``.bitriver-lint.yaml`` (or ``[tool.bitriver-lint]`` in pyproject.toml), validated up front.

Every error names the key and, for YAML, the file:line it was written at, so a user fixes it
in one go; the CLI turns a ``ConfigError`` into exit code 2.
"""

from __future__ import annotations

import datetime
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from bitriver_lint import journal
from bitriver_lint.errors import ConfigError
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document
from bitriver_lint.netsets import CidrSet
from bitriver_lint.vocabulary import AUTO, Role, TopologyChoice

CONFIG_NAMES = (".bitriver-lint.yaml", ".bitriver-lint.yml")
MAX_CONFIG_BYTES = 1024 * 1024
SeverityName = Literal["error", "warning", "note"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _cidr_or_shipped_set(entry: str) -> str:
    try:
        CidrSet([entry])
    except ValueError:
        known = shipped_range_names()
        if entry not in known:
            raise ValueError(f"{entry!r} is neither a CIDR nor a shipped range set ({', '.join(known)})") from None
    return entry


NetworkEntry = Annotated[str, AfterValidator(_cidr_or_shipped_set)]


class Networks(_Strict):
    """Named source sets. Each is a list of CIDRs and/or names of range sets shipped in
    ``rules/data/cdn-ranges`` (``cdn: [cloudfront, 203.0.113.0/24]``); a single name or CIDR
    may stand alone (``cdn: cloudflare``)."""

    encoders: list[NetworkEntry] | None = None
    operators: list[NetworkEntry] | None = None
    cdn: list[NetworkEntry] | None = None

    @field_validator("encoders", "operators", "cdn", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def shipped_range_names() -> list[str]:
    """The range sets shipped in ``rules/data/cdn-ranges`` (``exposure.shipped_ranges`` reads
    them). Listed here, not in ``exposure``, so validating a config never imports the graph."""
    from bitriver_lint.rules import builtin_rules_dir

    return sorted(p.stem for p in (builtin_rules_dir() / "data" / "cdn-ranges").glob("*.yaml"))


class HostBinding(_Strict):
    """Joins files to a machine: which directories run on which instance or address."""

    paths: list[str] = Field(default_factory=list)
    resource: str | None = None  # e.g. aws_instance.api or aws_autoscaling_group.viewer
    address: str | None = None
    # The Terraform root whose ``resource`` it is, where several roots (envs/prod, envs/staging
    # calling one module) create that address and the paths lie as near to each.
    root: str | None = None


class RulesConfig(_Strict):
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, SeverityName] = Field(default_factory=dict)
    paths: list[str] = Field(default_factory=list)  # directories of custom rule YAML files


def _iso_date(value: Any) -> Any:
    """``until:`` takes an ISO date (YYYY-MM-DD) and nothing pydantic would also turn into one
    (a number of seconds, ``20260630``)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        from bitriver_lint.suppressions import parse_date

        parsed = parse_date(value.strip())
        if parsed is not None:
            return parsed
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD")


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("must say why the finding is acceptable")
    return value.strip()


class SuppressEntry(_Strict):
    """Suppresses one rule's findings in the files ``path`` (relative to the config's directory;
    ``*``, ``?`` and ``**`` globs) matches, optionally only those about ``entity``, for formats
    that have no comments to hold an inline suppression."""

    rule: str
    path: str = Field(min_length=1)
    entity: str | None = None
    reason: Annotated[str, AfterValidator(_reason)]
    until: Annotated[datetime.date | None, BeforeValidator(lambda v: v if v is None else _iso_date(v))] = None

    # Where the entry was written (file:line:column of the config), set when the config is read.
    _location: tuple[int, int] = PrivateAttr(default=(1, 1))


class Config(_Strict):
    topology: TopologyChoice = AUTO
    networks: Networks = Field(default_factory=Networks)
    roles: dict[str, Role] = Field(default_factory=dict)
    hosts: dict[str, HostBinding] = Field(default_factory=dict)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    exclude: list[str] = Field(default_factory=list)
    baseline: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    # Terraform root directory (relative to the config) -> the files its plans pass with
    # -var-file, in their order, each relative to that directory as the option takes it.
    var_files: dict[str, list[str]] = Field(default_factory=dict)
    profiles: list[str] = Field(default_factory=list)
    suppress: list[SuppressEntry] = Field(default_factory=list)

    # Where the config came from: custom rule paths and baselines resolve against it.
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("var_files")
    @classmethod
    def _relative(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for directory, files in value.items():
            for path in (directory, *files):
                if not path.strip() or path.startswith("/"):
                    raise ValueError(f"{path!r}: write a path relative to the config's directory "
                                     "(the var files relative to their root directory)")
        return value

    @field_validator("variables", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, str) else str(v) for k, v in value.items()}
        return value


def find_config(start: Path) -> Path | None:
    """The nearest ``.bitriver-lint.yaml`` or pyproject with ``[tool.bitriver-lint]``."""
    current = start if start.is_dir() else start.parent
    for directory in (current, *current.parents):
        found = config_in(directory)
        if found is not None:
            return found
        journal.note_probe(directory / ".git")
        if (directory / ".git").exists():
            break  # never read a config from outside the repository being scanned
    return None


def config_in(directory: Path) -> Path | None:
    """The config file of one directory, if it has one. A ``pyproject.toml`` that is not valid
    TOML is a ``ConfigError``: it might hold our table, and a config silently skipped would
    check the tree against defaults."""
    for name in CONFIG_NAMES:
        candidate = directory / name
        journal.note_probe(candidate)
        if candidate.is_file():
            return candidate
    pyproject = directory / "pyproject.toml"
    journal.note_probe(pyproject)
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(_read(pyproject))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from exc
    tool = data.get("tool")
    return pyproject if isinstance(tool, dict) and "bitriver-lint" in tool else None


def subdirectory_config(directory: Path, top: Path) -> Path | None:
    """``config_in`` for a directory below the scan path ``top`` (resolved). The tree is someone's
    pull request: a config linked from outside it, or too big to be one, is an error, neither
    read nor silently skipped."""
    for name in (*CONFIG_NAMES, "pyproject.toml"):
        candidate = directory / name
        journal.note_probe(candidate)
        if not candidate.is_file():
            continue
        real = Path(os.path.realpath(candidate))
        if top not in real.parents:
            raise ConfigError(f"{candidate}: links outside the scanned tree; not read")
        if real.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{candidate}: over {MAX_CONFIG_BYTES} bytes; not read")
    return config_in(directory)


def _read(path: Path) -> str:
    data = path.read_bytes()
    journal.note_read(path, data)
    return data.decode("utf-8")


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        text = _read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    if path.name == "pyproject.toml":
        try:
            data = tomllib.loads(text).get("tool", {}).get("bitriver-lint", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        return _validate(data, path, None)
    try:
        data = load_document(text, str(path))
    except YamlError as exc:
        raise ConfigError(f"{path}:{exc.line}:{exc.column}: invalid YAML: {exc.message}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: the config must be a mapping of keys")
    return _validate(data, path, data if isinstance(data, LDict) else None)


def _validate(data: Any, path: Path, positioned: LDict | None) -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = _key_path(error["loc"])
        where = f"{path}:{_line_of(positioned, error['loc'])}" if positioned is not None else str(path)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{where}: {key}: {message}") from exc
    config = config.model_copy(update={"source": path})
    for i, entry in enumerate(config.suppress):
        item = _node_at(positioned, ("suppress", i))
        entry._location = (item.loc.line, item.loc.column) if isinstance(item, LDict) else (1, 1)
    _check_rule_ids(config, path, positioned)
    _check_host_paths(config, path, positioned)
    return config


def _check_host_paths(config: Config, path: Path, positioned: LDict | None) -> None:
    """A ``hosts:`` binding whose path matches no directory binds nothing: a typo would leave
    those files behind no firewall layer, silently."""
    for name, binding in config.hosts.items():
        written: list[tuple[tuple[Any, ...], str]] = [
            (("hosts", name, "paths", i), directory) for i, directory in enumerate(binding.paths)]
        if binding.root is not None:
            written.append((("hosts", name, "root"), binding.root))
        for loc, directory in written:
            journal.note_probe(path.parent / directory)
            if not (path.parent / directory).is_dir():
                where = f"{path}:{_line_of(positioned, loc)}" if positioned is not None else str(path)
                raise ConfigError(f"{where}: {_key_path(loc)}: {directory!r} is not a directory next to the config")


def _check_rule_ids(config: Config, path: Path, positioned: LDict | None) -> None:
    """A rule id or prefix in ``rules`` that matches no rule fails closed: ``select: [BRL9]``
    would otherwise run nothing and pass, ``ignore: [BRL11]`` silence nothing."""
    from bitriver_lint.rules import RuleError, catalog

    try:
        known = list(catalog([path.parent / p for p in config.rules.paths]))
    except RuleError:
        return  # reported, with its file and key, when the catalog is loaded for the scan

    def fail(loc: tuple[Any, ...], message: str) -> None:
        where = f"{path}:{_line_of(positioned, loc)}" if positioned is not None else str(path)
        raise ConfigError(f"{where}: {_key_path(loc)}: {message}")

    for option in ("select", "ignore"):
        for i, value in enumerate(getattr(config.rules, option)):
            if not any(rule_id.startswith(value) for rule_id in known):
                fail(("rules", option, i), f"no rule matches {value!r}")
    for rule_id in config.rules.severity:
        if rule_id not in known:
            fail(("rules", "severity", rule_id), "unknown rule")
    for i, entry in enumerate(config.suppress):
        if entry.rule not in known:
            fail(("suppress", i, "rule"), f"unknown rule {entry.rule!r}")


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part.startswith(("list[", "function-")) or part == "str"):
            continue  # pydantic's union branch names are not keys
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _node_at(node: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        if isinstance(node, (LDict, LList)) and (part in node if isinstance(node, LDict) else part < len(node)):
            node = node[part]
        else:
            return None
    return node


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    line = node.loc.line if isinstance(node, (LDict, LList)) else 1
    for part in loc:
        if isinstance(node, LDict) and part in node:
            line = node.key_loc(part).line
            node = node[part]
        elif isinstance(node, LList) and isinstance(part, int) and part < len(node):
            line = node.item_loc(part).line
            node = node[part]
        else:
            break
    return line
