"""The nearest config governs each file, as in ruff: a scan of the repository root honours the
``.bitriver-lint.yaml`` (or ``[tool.bitriver-lint]`` in a pyproject.toml) of ``deploy/`` for
the files under ``deploy/``.

The scan paths are partitioned by the config nearest to them: each config file met in a
directory below a scan path takes that directory out of its parent's part. Each part is scanned
on its own, with its own config (topology, networks, roles, hosts, rules, custom rule paths,
all resolved against the config's directory), and the reports are merged into one whose paths
are all relative to the same root. Files of different parts are not joined to each other: a
config draws the boundary of a deployment. ``--config FILE`` forces one config for everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx

from bitriver_lint import engine
from bitriver_lint.config import find_config, load_config, nested_configs
from bitriver_lint.discovery import SKIP_DIRS
from bitriver_lint.graph import ServiceGraph
from bitriver_lint.model import Finding
from bitriver_lint.report import Report, RuleInfo
from bitriver_lint.vocabulary import MIXED
from bitriver_lint.workspace import containment_root


@dataclasses.dataclass(frozen=True)
class Part:
    """Scan paths governed by one config file (None: the defaults), minus ``prune``: the
    directories below them that another config governs."""

    config: Path | None
    paths: tuple[Path, ...]
    prune: tuple[Path, ...]


def partition(targets: Sequence[Path]) -> list[Part]:
    """Every scan path's part and each nested config's, in path order. ``ConfigError`` for a
    config that cannot be read (a broken ``pyproject.toml`` included)."""
    resolved = list(dict.fromkeys(t.resolve() for t in targets))
    paths: dict[Path | None, list[Path]] = {}
    for target in resolved:
        paths.setdefault(find_config(target), []).append(target)
    nested = {c.parent: c for t in resolved if t.is_dir() for c in nested_configs(t, SKIP_DIRS)}
    for directory, nested_config in sorted(nested.items()):
        if directory not in paths.get(nested_config, []):
            paths.setdefault(nested_config, []).append(directory)
    parts = []
    for governing, mine in paths.items():
        prune = sorted(d for d in nested if d not in mine and any(p in d.parents for p in mine))
        parts.append(Part(governing, tuple(mine), tuple(prune)))
    return sorted(parts, key=lambda part: part.paths)


def scan(targets: Sequence[Path], forced: Path | None = None, **options: Any) -> Report:
    """``engine.scan`` of ``targets``, each file checked under its nearest config (or all under
    ``forced``, ``--config``). ``options`` are ``engine.scan``'s keywords."""
    root = engine.scan_root(targets)
    category = options.pop("category", None) or engine._category(
        containment_root(targets[0]) if targets else root, targets)
    if forced is not None:
        return engine.scan(targets, load_config(forced), root=root, category=category, **options)
    parts = partition(targets)
    configs = [load_config(part.config) for part in parts]  # every config validated before any scan
    reports = [engine.scan(list(part.paths), config, root=root, category=category, prune=part.prune, **options)
               for part, config in zip(parts, configs, strict=True)]
    if len(reports) > 1:
        reports = [_named(report, part, root) for report, part in zip(reports, parts, strict=True)]
    return merge(reports)


def _named(report: Report, part: Part, root: Path) -> Report:
    """A part that is one environment calls it "." (the whole of its scan): in a merged report
    it is named by the part's directory."""
    if len(part.paths) != 1 or [e.directory for e in report.environments] != ["."]:
        return report
    try:
        name = part.paths[0].relative_to(root).as_posix()
    except ValueError:
        return report
    if name in ("", "."):
        return report
    (env,) = report.environments
    return dataclasses.replace(report, environments=(dataclasses.replace(env, directory=name),))


def merge(reports: Sequence[Report]) -> Report:
    """One report of several parts scanned from the same root: findings in report order, each
    part's environments listed, ``mixed`` when their layouts differ; ``graph`` holds every
    part's nodes and edges (for pictures: the parts were never joined)."""
    if len(reports) == 1:
        return reports[0]
    first = reports[0]
    findings: list[Finding] = sorted((f for r in reports for f in r.findings), key=Finding.sort_key)
    rules: dict[str, RuleInfo] = {}
    files: dict[str, set[str]] = {}
    for report in reports:
        rules.update(report.rules)
        for fmt, names in report.files.items():
            files.setdefault(fmt, set()).update(names)
    environments = tuple(sorted((env for r in reports for env in r.environments), key=lambda e: e.directory))
    layouts = {r.topology for r in reports if r.files}
    if len(layouts) <= 1:
        topology, reason = first.topology, first.topology_reason
        for report in reports:
            if report.files:
                topology, reason = report.topology, report.topology_reason
                break
    else:
        topology = MIXED
        reason = "; ".join(f"{env.directory}: {env.topology} ({env.reason})" for env in environments)
    return dataclasses.replace(
        first,
        findings=tuple(findings),
        rules=MappingProxyType(dict(sorted(rules.items()))),
        topology=topology,
        topology_reason=reason,
        files=MappingProxyType({fmt: tuple(sorted(names)) for fmt, names in sorted(files.items())}),
        environments=environments,
        skipped=tuple(sorted(s for r in reports for s in r.skipped)),
        errors=tuple(e for r in reports for e in r.errors),
        tracebacks=tuple(t for r in reports for t in r.tracebacks),
        graph=_merged_graph([r.graph for r in reports if r.graph is not None]),
    )


def _merged_graph(graphs: Sequence[ServiceGraph]) -> ServiceGraph:
    """The parts' graphs side by side (node ids name their files, so parts do not collide)."""
    merged = ServiceGraph()
    merged.g = networkx.compose_all([g.g for g in graphs]) if graphs else merged.g
    for graph in graphs:
        merged.dangling.extend(graph.dangling)
        merged.settings.extend(graph.settings)
        merged.uncommitted |= graph.uncommitted
        merged.homes.update(graph.homes)
        merged.environment_roots |= graph.environment_roots
        merged.extra_hosts.update(graph.extra_hosts)
    return merged

