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
import os
import posixpath
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx

from bitriver_lint import baseline as baselines
from bitriver_lint import engine
from bitriver_lint.config import CONFIG_NAMES, Config, find_config, load_config, subdirectory_config
from bitriver_lint.discovery import SKIP_DIRS, GitIgnores, gitignore_spec
from bitriver_lint.errors import ConfigError
from bitriver_lint.graph import ServiceGraph
from bitriver_lint.model import Finding
from bitriver_lint.report import Report, RuleInfo
from bitriver_lint.vocabulary import MIXED
from bitriver_lint.workspace import containment_root


@dataclasses.dataclass(frozen=True)
class Part:
    """Scan paths governed by one config (``source`` None: the defaults), minus ``prune``: the
    directories below them that another config governs."""

    source: Path | None
    config: Config
    paths: tuple[Path, ...]
    prune: tuple[Path, ...]


def partition(targets: Sequence[Path]) -> list[Part]:
    """Every scan path's part and each subdirectory config's, in path order. Directories that
    git ignores, or that the config governing them excludes, are not searched. Every config is
    loaded (validated) here: ``ConfigError`` before any scan."""
    resolved = list(dict.fromkeys(t.resolve() for t in targets))
    root = engine.scan_root(resolved)
    ignored = GitIgnores(root)
    loaded: dict[Path | None, Config] = {}
    paths: dict[Path | None, list[Path]] = {}

    def load(source: Path | None) -> Config:
        if source not in loaded:
            loaded[source] = load_config(source)
        return loaded[source]

    for target in resolved:
        source = find_config(target)
        load(source)
        paths.setdefault(source, []).append(target)
    nested: dict[Path, Path] = {}
    for target in resolved:
        if target.is_dir():
            _search(target, find_config(target), root, ignored, load, nested)
    for directory, source in sorted(nested.items()):
        if directory not in paths.get(source, []):
            paths.setdefault(source, []).append(directory)
    parts = []
    for source, mine in paths.items():
        prune = sorted(d for d in nested if d not in mine and any(p in d.parents for p in mine))
        parts.append(Part(source, loaded[source], tuple(mine), tuple(prune)))
    return sorted(parts, key=lambda part: part.paths)


def _search(top: Path, source: Path | None, root: Path, ignored: GitIgnores, load: Callable[[Path | None], Config],
            nested: dict[Path, Path]) -> None:
    """Record in ``nested`` the config of each directory below ``top`` that has one."""
    governing: dict[Path, tuple[Path | None, Any]] = {top: (source, _excludes(load(source), source, root))}
    for dirpath, dirnames, _ in os.walk(top):
        here = Path(dirpath)
        current, excluded = governing[here]
        kept = []
        for name in sorted(dirnames):
            child = here / name
            # Judged by a config file's path there: a directory pattern (``build/``, ``legacy/**``)
            # matches it as it matches the directory's other files.
            probe = (child / CONFIG_NAMES[0]).relative_to(root).as_posix()
            if name in SKIP_DIRS or ignored.match_file(probe) or (excluded is not None and excluded.match_file(probe)):
                continue
            kept.append(name)
            found = subdirectory_config(child, top)
            if found is not None:
                nested[child] = found
                governing[child] = (found, _excludes(load(found), found, root))
            else:
                governing[child] = (current, excluded)
        dirnames[:] = kept


def _excludes(config: Config, source: Path | None, root: Path) -> Any:
    """A config's ``exclude`` as a pattern set over root-relative paths (patterns with a slash
    are relative to the config's directory, as the engine reads them)."""
    if not config.exclude:
        return None
    base = ""
    if source is not None:
        try:
            base = source.parent.resolve().relative_to(root).as_posix()
        except ValueError:
            base = ""
    base = "" if base == "." else base
    lines = [posixpath.join(base, p.strip("/")) if "/" in p.strip("/") and base else p for p in config.exclude]
    return gitignore_spec(lines)


def scan(targets: Sequence[Path], forced: Path | None = None, parts: Sequence[Part] | None = None,
         **options: Any) -> Report:
    """``engine.scan`` of ``targets``, each file checked under its nearest config (or all under
    ``forced``, ``--config``). ``parts``: ``partition(targets)`` when the caller has it already
    (the walk for configs is not repeated). ``options`` are ``engine.scan``'s keywords."""
    root = engine.scan_root(targets)
    category = options.pop("category", None) or engine._category(
        containment_root(targets[0]) if targets else root, targets)
    if forced is not None:
        return engine.scan(targets, load_config(forced), root=root, category=category, **options)
    # The baseline covers the whole scan: applied once to the merged report, or each part would
    # call the entries of the others stale. Read (validated) before any part is scanned.
    baseline, record = options.pop("baseline", None), options.pop("record_baseline", False)
    accepted = baselines.read(baseline) if baseline is not None else None
    parts = partition(targets) if parts is None else parts
    reports = [engine.scan(list(part.paths), part.config, root=root, category=category, prune=part.prune, **options)
               for part in parts]
    if len(reports) > 1:
        reports = [_named(report, part, root) for report, part in zip(reports, parts, strict=True)]
    report = merge(reports)
    if accepted is None:
        return report
    return engine.apply_baseline(report, accepted, targets, options.get("select", ()), options.get("ignore", ()),
                                 options.get("focus"), hide=not record)


def configured_baseline(parts: Sequence[Part]) -> Path | None:
    """The baseline a config governing the scan (``partition``'s parts) names (``baseline:``, relative to that config's
    directory), as a path relative to the working directory: a scan from the repository root
    honours the one ``deploy/.bitriver-lint.yaml`` names, as a scan from ``deploy/`` does. The
    baseline covers the whole scan, so configs naming different ones are a ``ConfigError``."""
    named: dict[str, tuple[Path, Path]] = {}
    for part in parts:
        if part.config.baseline and part.source is not None:
            where = Path(os.path.relpath(part.source.parent / part.config.baseline))
            named.setdefault(os.path.normpath(where.resolve()), (part.source, where))
    if len(named) > 1:
        sources = ", ".join(os.path.relpath(source) for source, _ in named.values())
        raise ConfigError(f"baseline: the configs governing this scan name different baselines ({sources}); "
                          "give one with --baseline")
    return next(iter(named.values()))[1] if named else None


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
    checked: dict[str, set[str]] = {}  # JUnit's passing cases: each part's rules on its own files
    for report in reports:
        rules.update(report.rules)
        for fmt, names in report.files.items():
            files.setdefault(fmt, set()).update(names)
        for rule_id, paths in report.checked.items():
            checked.setdefault(rule_id, set()).update(paths)
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
        checked=MappingProxyType({rule_id: tuple(sorted(paths)) for rule_id, paths in sorted(checked.items())}),
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

