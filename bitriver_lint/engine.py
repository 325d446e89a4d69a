"""One scan, one direction: discover → load → build graph → join → check → suppress → filter → report.

``scan`` is the whole flow: it validates what it was asked (paths, rule catalog, ``select`` and
``ignore``, the baseline file) before it reads a single scanned file, and returns a frozen
``report.Report`` with every filter already applied; nothing edits the findings afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import hashlib
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bitriver_lint import baseline as baselines
from bitriver_lint import formats, journal, suppressions
from bitriver_lint.builders.common import BuildContext
from bitriver_lint.cache import Cache, inside_tree
from bitriver_lint.catalog import load_catalog
from bitriver_lint.checks import META_CHECK, get_check
from bitriver_lint.checks.base import CheckContext, Unresolved, unresolved_findings
from bitriver_lint.config import Config
from bitriver_lint.discovery import discover
from bitriver_lint.errors import ConfigError
from bitriver_lint.graph import ServiceGraph
from bitriver_lint.join import steps as join_steps
from bitriver_lint.model import Diagnostic, Finding, Location, Severity
from bitriver_lint.report import Environment, Report, RuleInfo
from bitriver_lint.ruledocs import rule_page
from bitriver_lint.rules import META_RULES, Rule
from bitriver_lint.topology import detect, environments
from bitriver_lint.vocabulary import MIXED
from bitriver_lint.workspace import Workspace, containment_root

ScanResult = Report  # the name this module's callers used before the report had its own module


class SelectionError(ConfigError):
    """A ``--select``/``--ignore`` value that matches no rule of the catalog (the CLI's usage error)."""


def scan_root(paths: Sequence[Path]) -> Path:
    """Findings are reported relative to the git work tree holding the paths (the same path and
    fingerprint whether ``deploy/`` is scanned from the repository root or from inside it, as
    code scanning and baselines need); outside git, relative to the working directory when the
    paths are inside it, otherwise to their common parent."""
    resolved = [p.resolve() for p in paths]
    tops = {containment_root(p) for p in resolved}
    if len(tops) == 1:
        (top,) = tops
        journal.note_probe(top / ".git")
        if (top / ".git").exists():
            return top
    cwd = Path.cwd().resolve()
    if all(p == cwd or cwd in p.parents for p in resolved):
        return cwd
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in resolved]))


def _category(root: Path, paths: Sequence[Path]) -> str:
    """The scan paths relative to ``root`` (the git work tree), POSIX style: the same tree scanned
    from the repository's root or from inside it names the same analysis."""
    names = []
    for path in paths:
        try:
            names.append(path.resolve().relative_to(root).as_posix() or ".")
        except ValueError:
            names.append(path.resolve().name)
    return ",".join(sorted(set(names))) or "."


def selected(rule_id: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """Prefix matching as ruff does it: ``BRL1`` selects BRL101..BRL107."""
    select, ignore = list(select), list(ignore)
    if select and not any(rule_id.startswith(s) for s in select):
        return False
    return not any(rule_id.startswith(i) for i in ignore)


def load_rules(config: Config) -> dict[str, Rule]:
    return load_catalog(config)


def check_selection(rules: Iterable[str], select: Iterable[str], ignore: Iterable[str]) -> None:
    """Every ``select``/``ignore`` value (id or prefix) must match a rule: a typo would otherwise
    silently select nothing, or ignore nothing."""
    rule_ids = list(rules)
    for option, values in (("--select", select), ("--ignore", ignore)):
        for value in values:
            if not any(rule_id.startswith(value) for rule_id in rule_ids):
                raise SelectionError(f"{option}: no rule matches {value!r}")


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """A scan allocates millions of small objects that form no cycles (positions, parse trees,
    graph payloads); at the default threshold the cyclic collector runs over them again and
    again, for a third of a large scan's CPU. Collecting a hundred times less often costs no
    memory that matters: there is little cyclic garbage to wait for."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@_fewer_collections()
def scan(
    paths: Sequence[Path],
    config: Config,
    *,
    root: Path | None = None,
    topology: str | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    jobs: int = 1,
    baseline: Path | None = None,
    focus: Collection[Path] | None = None,
    category: str | None = None,
    progress: Callable[[str], None] | None = None,
    prune: Collection[Path] = (),
    cache: Cache | None = None,
    inline_suppressions: bool = True,
    record_baseline: bool = False,
    today: datetime.date | None = None,
) -> Report:
    """Scan ``paths`` and report what the rules find.

    ``select``/``ignore`` add to the config's (ids or prefixes; ``SelectionError`` for one that
    matches no rule). ``baseline`` names a baseline file whose findings are left out; the report
    says how many, and which entries are stale. ``focus`` (resolved paths, ``--changed``) keeps
    only the findings located in, related to, or caused by those files. ``prune``: directories
    left out (those another config governs, see ``nearest``). All of this is checked before any
    scanned file is read. ``progress`` hears the name of each stage as it starts (the CLI's
    progress display on a terminal). ``cache`` keeps parses between runs (``bitriver_lint.cache``);
    it may not lie inside a scanned tree (``ConfigError``).

    ``inline_suppressions=False`` (``--no-inline-suppressions``) ignores ``bitriver-lint: ignore``
    comments altogether: only the config's ``suppress:`` and the baseline hide findings.
    ``record_baseline`` (``--update-baseline``) hides nothing but still sums up what the
    baseline would have done. ``today`` (UTC by default) decides which ``until:`` dates passed."""
    stage = progress or (lambda _: None)
    for path in paths:
        if not path.exists():
            raise ConfigError(f"PATH: {path} does not exist")
    root = (root or scan_root(paths)).resolve()
    rules = load_rules(config)
    check_selection(rules, select, ignore)
    accepted = baselines.read(baseline) if baseline is not None else None
    ws = Workspace(root, jobs=jobs, boundary=tuple(dict.fromkeys(containment_root(p) for p in paths)))
    if cache is not None:
        refuse_cache_inside(cache.directory, ws.boundary)
        ws.cache = cache
    build_ctx = BuildContext(ServiceGraph(), config, ws)
    excludes = [build_ctx.config_path(p) if "/" in p.strip("/") else p for p in config.exclude]
    stage("finding deployment files")
    found = discover([p.resolve() for p in paths], ws, excludes, prune=[p.resolve() for p in prune])

    # Load, build and join. An exception here is our bug, not the user's, and it must not cost
    # the other findings: the format is loaded again file by file so that only the file that
    # triggers it is lost (a BRL001 naming the exception type), a builder that fails is run
    # again document by document, and each join step stands alone.
    ctx = build_ctx
    graph = ctx.graph
    diagnostics: list[Diagnostic] = []
    trouble = _Trouble()
    loaded: list[tuple[formats.Format, list[Any]]] = []
    registry = {fmt.name: fmt for fmt in formats.REGISTRY}
    present: list[formats.Format] = [registry[name] for name in found.by_format if name in registry]
    for fmt in sorted(present, key=lambda f: (f.stage, f.name)):
        name = fmt.name
        stage(f"reading {len(found.by_format[name])} {name} file(s)")
        docs = _load_isolated(fmt.load, found.by_format[name], ws, config, name, trouble, diagnostics)
        for doc in docs:
            diagnostics.extend(getattr(doc, "diagnostics", []))
        loaded.append((fmt, docs))
    stage("building the service graph")
    for phase in ("nodes", "edges"):
        for fmt, docs in loaded:
            name = fmt.name
            build = fmt.nodes if phase == "nodes" else fmt.edges
            try:
                build(docs, ctx)
            except Exception as exc:
                for doc in docs if len(docs) > 1 else []:
                    try:
                        build([doc], ctx)
                    except Exception as inner:
                        where = getattr(doc, "location", None) or Location(found.by_format[name][0])
                        diagnostics.append(trouble.report(f"building the graph from {name} files", inner, where))
                if len(docs) <= 1:
                    where = getattr(docs[0], "location", None) if docs else None
                    diagnostics.append(trouble.report(f"building the graph from {name} files", exc,
                                                      where or Location(found.by_format[name][0])))
    for step in join_steps(ctx):
        try:
            step.run()
        except Exception as exc:
            diagnostics.append(trouble.report(f"joining {step.what}", exc, step.where))
    diagnostics.extend(graph.notes)

    chosen = topology or config.topology
    topo, reason = detect(graph, chosen)
    # Environments side by side may follow different layouts: then each file is checked
    # against the topology of the environment(s) it describes.
    envs = environments(graph, chosen)
    layouts = sorted({env.topology for env in envs})
    owners: dict[str, set[str]] | None = None
    if len(layouts) > 1:
        owners = _topologies_by_file(graph, envs)
        topo = MIXED
        reason = "; ".join(f"{env.directory}: {env.topology} ({env.reason})" for env in envs)

    findings: list[Finding] = [
        Finding(d.rule_id, rules[d.rule_id].severity_for(topo), d.message, d.location) for d in diagnostics
    ]
    unresolved: list[Unresolved] = []
    stage("checking the rules")
    wanted = [*config.rules.select, *select], [*config.rules.ignore, *ignore]
    read = sorted({path for files in found.by_format.values() for path in files})
    checked: dict[str, list[str]] = {rule_id: list(read) for rule_id, rule in rules.items()
                                     if rule.check == META_CHECK and selected(rule_id, *wanted)}
    for layout in layouts if owners is not None else [topo]:
        def ours(location: Location, layout: str = layout) -> bool:
            # A file no deployment claims (none of its values became graph nodes) is checked once.
            return owners is None or layout in owners.get(location.path, {layouts[0]})

        for rule in rules.values():
            if rule.check == META_CHECK or not rule.applies_to(layout):
                continue
            check_ctx = CheckContext(graph, config, layout, rule)
            try:
                get_check(rule.check).run(check_ctx, rule.parameters)
            except Exception as exc:
                trouble.report(f"checking {rule.id}", exc, None)
                continue
            findings.extend(f for f in check_ctx.findings if ours(f.location))
            if selected(rule.id, *wanted):
                checked.setdefault(rule.id, []).extend(path for path in read if ours(Location(path)))
            unresolved.extend(u for u in check_ctx.unresolved if ours(u.location))
    findings.extend(unresolved_findings(unresolved))
    if inline_suppressions:
        directives = [d for rel in sorted(ws.cached()) for d in suppressions.parse(rel, ws.read_text(rel))]
        findings.extend(suppressions.apply(findings, directives, set(rules), today))
    findings.extend(suppressions.apply_config(findings, _config_suppressions(config, root), root, today))
    for finding in findings:  # the engine's own rules take their severity from the catalog too
        if finding.rule_id in META_RULES and finding.rule_id in rules:
            finding.severity = Severity.parse(rules[finding.rule_id].severity)

    findings = _finish(findings, config, ws, select, ignore)
    if focus is not None and not _changes_every_finding(config, rules, focus):
        focus = _caused_by(ws, focus)
        in_files = _in_files(root, focus)
        findings = [f for f in findings if _touches(f, in_files)]
    report = Report(
        root=root,
        findings=tuple(findings),
        rules=MappingProxyType({rule_id: rule_info(rule) for rule_id, rule in rules.items()}),
        topology=topo,
        topology_reason=reason,
        files=MappingProxyType({name: tuple(files) for name, files in found.by_format.items()}),
        environments=tuple(envs),
        skipped=tuple(found.skipped),
        errors=tuple(trouble.errors),
        tracebacks=tuple(trouble.tracebacks),
        category=category or _category(containment_root(paths[0]) if paths else root, paths),
        checked=MappingProxyType({rule_id: tuple(sorted(set(files))) for rule_id, files in sorted(checked.items())}),
        graph=graph,
    )
    if accepted is None:
        return report
    return apply_baseline(report, accepted, paths, [*config.rules.select, *select],
                          [*config.rules.ignore, *ignore], focus, hide=not record_baseline)


def refuse_cache_inside(directory: Path, roots: Iterable[Path]) -> None:
    """A cache directory inside a scanned tree could hold entries planted by a pull request."""
    tree = inside_tree(directory, roots)
    if tree is not None:
        raise ConfigError(f"--cache-dir: {directory} is inside the scanned tree {tree}; "
                          "choose a directory outside it (or --no-cache)")


def rule_info(rule: Rule) -> RuleInfo:
    """What a report carries of a catalog rule."""
    return RuleInfo(
        id=rule.id,
        name=rule.name,
        severity=rule.severity,
        summary=rule.summary,
        description=rule.description,
        help_uri=rule.help_uri,
        help_markdown=rule_page(rule),
        tags=tuple(rule.tags),
        topologies=tuple(rule.topologies),
        security_severity=rule.security_severity,
    )


def _config_suppressions(config: Config, root: Path) -> list[suppressions.ConfigSuppression]:
    """The config's ``suppress:`` entries, each located at its entry in the config file."""
    if config.source is None:
        return []
    where = Path(os.path.relpath(config.source.resolve(), root)).as_posix()
    return [
        suppressions.ConfigSuppression(
            entry.rule, entry.path, config.source.parent, entry.reason, Location(where, *entry._location),
            entry.entity, entry.until)
        for entry in config.suppress
    ]


def apply_baseline(
    report: Report, accepted: baselines.Baseline, paths: Sequence[Path], select: Sequence[str],
    ignore: Sequence[str], focus: Collection[Path] | None, *, hide: bool = True,
) -> Report:
    """``report`` with the findings the baseline accepts left out (unless ``hide`` is off, for
    --update-baseline) and ``baseline`` saying what it did. Applied once to a whole report: a
    scan split by nearest configs (``nearest.scan``) applies it after merging its parts."""
    root = report.root
    repository = containment_root(paths[0]) if paths else root
    # Version 1 wrote paths relative to the scan root; version 2 relative to the repository.
    base = repository if accepted.version > 1 else root
    # With --changed a finding shown can lie in a file that did not change (caused by one that
    # did: an extends base, the config): every entry about the scanned tree may hide it, but
    # only an entry about a changed file is known to be stale; the others are left as they are.
    # Findings share a few files: each path is made repository-relative once.
    relative = functools.cache(lambda path: baselines.repository_path(root, repository, path))
    findings, summary = baselines.apply(
        list(report.findings), accepted, lambda f: relative(f.location.path),
        _baseline_scope(base, paths, select, ignore, None), hide=hide)
    if focus is not None:
        judged = _baseline_scope(base, paths, select, ignore, focus)
        unjudged = [entry for entry in summary.stale if not judged(entry)]
        summary = dataclasses.replace(summary, stale=tuple(e for e in summary.stale if judged(e)),
                                      outside=tuple(sorted([*summary.outside, *unjudged])))
    return dataclasses.replace(report, findings=tuple(findings), baseline=summary)


def _baseline_scope(
    base: Path, paths: Sequence[Path], select: Sequence[str], ignore: Sequence[str], focus: Collection[Path] | None,
) -> Callable[[baselines.BaselineEntry], bool]:
    """Whether this scan looked where a baseline entry points: its rule ran and its file is under
    the scanned paths (and among the changed files, with --changed). Only such an entry can be
    stale; the others are kept as they are."""
    scanned = [p.resolve() for p in paths]
    # Entries name the same few rules and files again and again: each is judged once (resolving
    # a path is a system call per directory).
    @functools.cache
    def rule_ran(rule_id: str) -> bool:
        return selected(rule_id, select, ignore)

    @functools.cache
    def file_in_scope(path: str) -> bool:
        try:
            target = (base / path).resolve()
        except (OSError, ValueError):  # a NUL byte, a loop of links: no file of this scan
            return False
        if focus is not None and target not in focus:
            return False
        return any(target == p or p in target.parents for p in scanned)

    def in_scope(entry: baselines.BaselineEntry) -> bool:
        return rule_ran(entry.rule_id) and file_in_scope(entry.path)

    return in_scope


def _changes_every_finding(config: Config, rules: dict[str, Rule], files: Collection[Path]) -> bool:
    """A change to the config or to a rule file can move any finding of the tree."""
    governing = {Path(r.source).resolve() for r in rules.values() if r.source}
    if config.source is not None:
        governing.add(config.source.resolve())
    return any(f in governing for f in files)


def _caused_by(ws: Workspace, files: Collection[Path]) -> set[Path]:
    """``files`` and every file read together with one of them to build a document (a compose
    file whose ``extends`` base changed, a Terraform root whose tfvars did): a finding located
    there may be caused by the change."""
    changed = {ws.rel(f) for f in files}
    out = set(files)
    for group in ws.groups:
        if group & changed:
            out.update(Path(os.path.realpath(ws.abspath(rel))) for rel in group)
    return out


def _in_files(root: Path, files: Collection[Path]) -> Callable[[str], bool]:
    """Whether a root-relative path is one of ``files``, each path resolved once: 17,000
    findings name a few thousand files."""
    return functools.cache(lambda path: (root / path).resolve() in files)


def _touches(finding: Finding, in_files: Callable[[str], bool]) -> bool:
    """Whether the finding, or a link of its proof chain, is located in one of the files."""
    return any(in_files(location.path) for location in (finding.location, *(r.location for r in finding.related)))


class _Trouble:
    """Internal errors met during one scan: each one a line for stderr and a traceback."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.tracebacks: list[str] = []

    def report(self, doing: str, exc: BaseException, where: Location | None) -> Diagnostic:
        import traceback

        place = f" ({where.path})" if where is not None else ""
        self.errors.append(f"internal error {doing}{place}: {type(exc).__name__}")
        self.tracebacks.append("".join(traceback.format_exception(exc)))
        return Diagnostic("BRL001", f"internal error while {doing}: {type(exc).__name__}; the rest of the "
                          "scan went on (please report it)", where or Location("."))


def _load_isolated(
    load: Any, files: list[str], ws: Workspace, config: Config, name: str, trouble: _Trouble,
    diagnostics: list[Diagnostic],
) -> list[Any]:
    try:
        return list(load(files, ws, config))
    except Exception as exc:
        if len(files) == 1:
            diagnostics.append(trouble.report(f"loading {name} files", exc, Location(files[0])))
            return []
    docs: list[Any] = []
    for rel in files:
        docs.extend(_load_isolated(load, [rel], ws, config, name, trouble, diagnostics))
    return docs


def _topologies_by_file(graph: ServiceGraph, envs: list[Environment]) -> dict[str, set[str]]:
    """file -> the topologies of the environments whose nodes it wrote (a shared local module
    belongs to every environment that calls it)."""
    layout_of = {env.directory: env.topology for env in envs}
    owners: dict[str, set[str]] = {}
    written = [(n, graph.node(n)) for n in graph.g.nodes]
    written += [(source, edge) for source, _, edge in graph.g.edges(data="payload")]  # routes in a Caddyfile
    for node_id, payload in written:
        location = getattr(payload, "location", None)
        layout = layout_of.get(graph.environment_of(node_id))
        if isinstance(location, Location) and layout is not None:
            owners.setdefault(location.path, set()).add(layout)
    return owners


def _finish(
    findings: list[Finding],
    config: Config,
    ws: Workspace,
    select: Sequence[str],
    ignore: Sequence[str],
) -> list[Finding]:
    select = [*config.rules.select, *select]
    ignore = [*config.rules.ignore, *ignore]
    unique: dict[tuple[str, Location, str], Finding] = {}
    for finding in findings:
        if not selected(finding.rule_id, select, ignore):
            continue
        unique.setdefault((finding.rule_id, finding.location, finding.message), finding)
    out = sorted(unique.values(), key=Finding.sort_key)
    occurrences: dict[tuple[str, str, str], int] = {}
    for finding in out:
        override = config.rules.severity.get(finding.rule_id)
        if override:
            finding.severity = Severity.parse(override)
        finding.snippet = ws.line_text(finding.location.path, finding.location.line).strip()
        key = (finding.rule_id, finding.location.path, finding.snippet)
        occurrences[key] = occurrences.get(key, 0) + 1
        digest = hashlib.sha256("\x00".join([*key, str(occurrences[key])]).encode()).hexdigest()
        finding.fingerprint = digest[:32]
    return out
