"""One scan, one direction: discover → load → build graph → check → suppress → filter."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bitriver_lint import suppressions
from bitriver_lint.builders.common import BuildContext
from bitriver_lint.checks import META_CHECK, get_check
from bitriver_lint.checks.base import CheckContext, Unresolved, unresolved_findings
from bitriver_lint.config import Config
from bitriver_lint.discovery import discover
from bitriver_lint.errors import ConfigError
from bitriver_lint.formats import FORMATS
from bitriver_lint.graph import ServiceGraph
from bitriver_lint.model import Diagnostic, Finding, Location, Severity
from bitriver_lint.rules import Rule, RuleError, catalog
from bitriver_lint.topology import Environment, detect, environments
from bitriver_lint.workspace import Workspace, containment_root


@dataclass
class ScanResult:
    root: Path
    findings: list[Finding]
    topology: str
    topology_reason: str
    files: dict[str, list[str]]
    graph: ServiceGraph
    rules: dict[str, Rule]
    errors: list[str] = field(default_factory=list)  # internal problems: shown, exit code 3
    environments: list[Environment] = field(default_factory=list)  # each with the topology it follows
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): seen, not read
    tracebacks: list[str] = field(default_factory=list)  # one per internal error, for --debug

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.suppression is None]

    def exit_code(self, threshold: Severity) -> int:
        return 1 if any(f.severity >= threshold for f in self.active) else 0


def scan_root(paths: Sequence[Path]) -> Path:
    """Findings are reported relative to the working directory when the paths are inside it
    (repository-relative paths for SARIF), otherwise relative to their common parent."""
    cwd = Path.cwd().resolve()
    resolved = [p.resolve() for p in paths]
    if all(p == cwd or cwd in p.parents for p in resolved):
        return cwd
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in resolved]))


def selected(rule_id: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """Prefix matching as ruff does it: ``BRL1`` selects BRL101..BRL107."""
    select, ignore = list(select), list(ignore)
    if select and not any(rule_id.startswith(s) for s in select):
        return False
    return not any(rule_id.startswith(i) for i in ignore)


def load_rules(config: Config) -> dict[str, Rule]:
    base = config.source.parent if config.source else Path.cwd()
    try:
        rules = catalog([base / p for p in config.rules.paths])
    except RuleError as exc:
        raise ConfigError(str(exc)) from exc
    for rule in rules.values():
        if rule.check != META_CHECK:
            try:
                get_check(rule.check).params.model_validate(rule.parameters)
            except KeyError as exc:
                raise ConfigError(f"{rule.source}: check: {exc.args[0]}") from exc
            except ValidationError as exc:
                err = exc.errors()[0]
                key = ".".join(str(p) for p in ("parameters", *err["loc"]))
                raise ConfigError(f"{rule.source}: {key}: {err['msg']}") from exc
    for rule_id in config.rules.severity:
        if rule_id not in rules:
            raise ConfigError(f"rules.severity.{rule_id}: unknown rule")
    return rules


def scan(
    paths: Sequence[Path],
    config: Config,
    *,
    root: Path | None = None,
    topology: str | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    jobs: int = 1,
) -> ScanResult:
    for path in paths:
        if not path.exists():
            raise ConfigError(f"PATH: {path} does not exist")
    root = (root or scan_root(paths)).resolve()
    rules = load_rules(config)
    ws = Workspace(root, jobs=jobs, boundary=tuple(dict.fromkeys(containment_root(p) for p in paths)))
    build_ctx = BuildContext(ServiceGraph(), config, ws)
    excludes = [build_ctx.config_path(p) if "/" in p.strip("/") else p for p in config.exclude]
    found = discover([p.resolve() for p in paths], ws, excludes)

    # Load and build. An exception here is our bug, not the user's, and it must not cost the
    # other findings: the format is loaded again file by file so that only the file that
    # triggers it is lost (a BRL001 naming the exception type), and a builder that fails is
    # run again document by document.
    ctx = build_ctx
    graph = ctx.graph
    diagnostics: list[Diagnostic] = []
    trouble = _Trouble()
    loaded: list[tuple[str, Any, list[Any]]] = []
    known = [name for name in found.by_format if name in FORMATS]
    for name in sorted(known, key=lambda n: (FORMATS[n].stage, n)):
        fmt = FORMATS[name]
        docs = _load_isolated(fmt.load_fn(), found.by_format[name], ws, config, name, trouble, diagnostics)
        for doc in docs:
            diagnostics.extend(getattr(doc, "diagnostics", []))
        loaded.append((name, fmt.builder_module(), docs))
    for phase in ("nodes", "edges"):
        for name, module, docs in loaded:
            build = getattr(module, phase)
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

    chosen = topology or config.topology
    topo, reason = detect(graph, chosen)
    # Environments side by side may follow different layouts: then each file is checked
    # against the topology of the environment(s) it describes.
    envs = environments(graph, chosen)
    layouts = sorted({env.topology for env in envs})
    owners: dict[str, set[str]] | None = None
    if len(layouts) > 1:
        owners = _topologies_by_file(graph, envs)
        topo = "mixed"
        reason = "; ".join(f"{env.directory}: {env.topology} ({env.reason})" for env in envs)

    findings: list[Finding] = [
        Finding(d.rule_id, rules[d.rule_id].severity_for(topo), d.message, d.location) for d in diagnostics
    ]
    unresolved: list[Unresolved] = []
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
            unresolved.extend(u for u in check_ctx.unresolved if ours(u.location))
    findings.extend(unresolved_findings(unresolved))

    directives = [d for rel in sorted(ws.cached()) for d in suppressions.parse(rel, ws.read_text(rel))]
    findings.extend(suppressions.apply(findings, directives, set(rules)))

    findings = _finish(findings, config, ws, select, ignore)
    return ScanResult(root, findings, topo, reason, found.by_format, graph, rules, trouble.errors, envs,
                      skipped=found.skipped, tracebacks=trouble.tracebacks)


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
