"""The ``bitriver-lint`` command line.

Exit codes: 0 clean, 1 findings at or above the threshold, 2 usage or configuration error
(printed as one line naming the flag or key), 3 the scan hit an internal error (even with
``--exit-zero``: a broken scan is not a clean one). Heavy modules are imported inside commands so
``--help``, ``--version`` and ``rules`` start fast for pre-commit.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from bitriver_lint import __version__
from bitriver_lint.reporters import FORMATS
from bitriver_lint.vocabulary import TOPOLOGY_CHOICES as TOPOLOGIES

SEVERITIES = ("note", "warning", "error")
STREAM_ONLY = "github"  # a format only the terminal (the CI job's log) can use: never an --output's


class _DefaultScan(click.Group):
    """``bitriver-lint PATH`` means ``bitriver-lint scan PATH``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        elif not args:
            args = ["scan"]
        return super().parse_args(ctx, args)


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


@click.group(cls=_DefaultScan, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bitriver-lint")
def cli() -> None:
    """Check a BitRiver Live deployment tree against the scaling guide.

    \b
    Examples:
      bitriver-lint deploy/                       scan a tree (scan is the default command)
      bitriver-lint deploy/ -f sarif -o out.sarif for GitHub code scanning
      bitriver-lint deploy/ -o out.sarif -o pr.md -o junit.xml
                                                  several reports, each format from the file's
                                                  extension, and the text report on the terminal
      bitriver-lint deploy/ -f github -o out.sarif
                                                  in GitHub Actions: annotations in the log and
                                                  SARIF for code scanning from one scan
      bitriver-lint rules                         the rule catalog
      bitriver-lint explain BRL102                what a rule checks, why, and the fix
      bitriver-lint graph deploy/                 the service graph, to check the joins

    \b
    Exit codes:
      0  no finding at or above --severity-threshold
      1  findings at or above the threshold
      2  usage or configuration error, or an output file that cannot be written
      3  the scan hit an internal error (even with --exit-zero)
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default=None,
              help="The report's format (default: text). With one --output, that file's format; but github "
                   "annotations always go to the terminal (the job log is where GitHub reads them), and every "
                   "--output then takes its format from its extension.")
@click.option("--output", "-o", "outputs", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Write a report here (repeatable). Without --format each file's format comes from its "
                   "extension (.sarif .sarif.json .json .xml .md .txt) and the text report still goes to the "
                   "terminal; with --format (one --output only) just that file is written; with --format github "
                   "the annotations replace the text report on the terminal.")
@click.option("--select", multiple=True, help="Only these rules (ids or prefixes, comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rules (ids or prefixes, comma-separated).")
@click.option("--severity-threshold", type=click.Choice(SEVERITIES), default="warning", show_default=True,
              help="Exit 1 when a finding is at least this severe.")
@click.option("--topology", type=click.Choice(TOPOLOGIES), default=None, help="Override topology detection.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="One config file for every scanned file (default: each file's nearest .bitriver-lint.yaml "
                   "or pyproject.toml).")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Hide findings recorded in this baseline file.")
@click.option("--update-baseline", is_flag=True, help="Write the current findings to --baseline and exit 0.")
@click.option("--exit-zero", is_flag=True, help="Always exit 0 unless the scan itself fails.")
@click.option("--changed", is_flag=True,
              help="PATHS are changed files (pre-commit): scan the whole working directory and report only "
                   "findings located in, related to, or caused by them.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the text report.")
@click.option("--no-inline-suppressions", is_flag=True,
              help="Ignore `bitriver-lint: ignore[...]` comments; only the config's suppress: and the baseline count.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: when a terminal).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
              help="Processes for parsing large Terraform trees (default 0: one per CPU; 1: none).")
@click.option("--debug", is_flag=True, help="Print the traceback of an internal error (exit code 3).")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Keep parsed files here between runs (default: $BITRIVER_LINT_CACHE_DIR, else the user "
                   "cache directory); never inside a scanned tree.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--category", default=None,
              help="Name of this analysis in SARIF (automationDetails); default: the scan paths in the repository.")
@click.option("--sarif-suppressed", type=click.Choice(("keep", "omit")), default="keep", show_default=True,
              help="Suppressed findings in SARIF: kept with their justification, or left out.")
def scan(
    paths: tuple[Path, ...],
    fmt: str | None,
    outputs: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    severity_threshold: str,
    topology: str | None,
    config_path: Path | None,
    baseline: Path | None,
    update_baseline: bool,
    exit_zero: bool,
    changed: bool,
    show_suppressed: bool,
    no_inline_suppressions: bool,
    color: bool | None,
    jobs: int,
    debug: bool,
    cache_dir: Path | None,
    no_cache: bool,
    category: str | None,
    sarif_suppressed: str,
) -> None:
    """Scan deployment files (default: the current directory)."""
    from bitriver_lint.model import Severity
    from bitriver_lint.reporters import get_reporter
    from bitriver_lint.reporters._safe import printable
    from bitriver_lint.suppressions import today_utc

    targets = list(paths) or [Path(".")]
    for target in targets:
        if not target.exists() and not changed:
            raise click.UsageError(f"PATH: {target} does not exist")
    focus = {p.resolve() for p in targets} if changed else None
    if changed:
        targets = [Path(".")]
    reports = _report_targets(fmt, outputs)
    if not update_baseline:
        from bitriver_lint.output import check_writable

        for path, _ in reports:  # before the scan: a typo in a path must not cost a whole scan
            check_writable(path, option="--output")
    wants_picture = any(name == "markdown" for _, name in reports) or (fmt == "markdown" and not reports)
    today = today_utc()
    cache = None if no_cache else _cache(cache_dir, targets)
    result, memo_key, baseline_path, memo_state = None, None, None, ""
    if cache is not None and not update_baseline:
        # An unchanged tree scanned the same way answers from the cache (``memo``), before the
        # config, the graph or a parser is even imported.
        from bitriver_lint import memo

        memo_key = memo.key(cache, targets, {
            "focus": sorted(map(str, focus)) if focus is not None else None, "config": config_path,
            "baseline": baseline, "topology": topology, "select": _split(select), "ignore": _split(ignore),
            "inline_suppressions": not no_inline_suppressions, "category": category}, today.isoformat())
        result, memo_state = memo.lookup(cache, memo_key, need_summary=wants_picture)
    if result is None:
        result, baseline_path, memo_kept = _run_scan(
            targets, focus, cache, memo_key, config_path=config_path, baseline=baseline,
            update_baseline=update_baseline, topology=topology, select=select, ignore=ignore, jobs=jobs,
            category=category, no_inline_suppressions=no_inline_suppressions, today=today, wants_picture=wants_picture)
        memo_state = f"{memo_state}; {memo_kept}" if memo_state else memo_kept
    if cache is not None:
        if debug:
            click.echo(f"bitriver-lint: {printable(cache.summary())}", err=True)
            click.echo(f"bitriver-lint: scan memo: {printable(memo_state)}", err=True)
        cache.prune()
    if update_baseline:
        from bitriver_lint import baseline as baselines
        from bitriver_lint.workspace import containment_root

        assert baseline_path is not None
        repository = containment_root(targets[0])
        entries = [baselines.entry_for(f, baselines.repository_path(result.root, repository, f.location.path))
                   for f in result.active]
        kept = list(result.baseline.outside) if result.baseline else []
        baselines.write(baseline_path, [*entries, *kept])
        dropped = len(result.baseline.stale) if result.baseline else 0
        click.echo(f"wrote {len(result.active)} finding(s) to {printable(str(baseline_path))}"
                   + (f"; dropped {dropped} stale entr{'y' if dropped == 1 else 'ies'}" if dropped else "")
                   + (f"; kept {len(kept)} outside this scan" if kept else ""), err=True)
        _internal_errors(result, debug)
        return
    if not any(result.files.values()):
        where = ", ".join(printable(str(t)) for t in targets)
        click.echo(f"bitriver-lint: no deployment file found under {where} (nothing was checked)", err=True)
    import dataclasses

    result = dataclasses.replace(result, threshold=Severity.parse(severity_threshold))
    _write_reports(result, reports, show_suppressed=show_suppressed, sarif_suppressed=sarif_suppressed == "keep")
    if not reports or fmt is None or fmt == STREAM_ONLY:
        name = fmt or "text"
        use_color = color if color is not None else _wants_color()
        shown = sarif_suppressed == "keep" if name == "sarif" else show_suppressed
        get_reporter(name).render(result, sys.stdout, color=use_color, show_suppressed=shown)
    _internal_errors(result, debug)
    if not exit_zero:
        sys.exit(result.exit_code(Severity.parse(severity_threshold)))


@cli.command()
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
def rules(fmt: str, config_path: Path | None) -> None:
    """List the rules: id, name, severity, topologies."""
    from bitriver_lint.catalog import load_catalog
    from bitriver_lint.config import find_config, load_config

    catalog = load_catalog(load_config(config_path or find_config(Path.cwd())))
    if fmt == "json":
        data = [r.model_dump(exclude={"source"}) for r in catalog.values()]
        click.echo(json.dumps(data, indent=2))
        return
    if not sys.stdout.isatty():
        # Piped (grep, a CI log): one whole line per rule, never wrapped to a terminal width.
        for rule in catalog.values():
            click.echo(f"{rule.id}\t{rule.name}\t{rule.severity}\t{rule.topology_label}\t{rule.summary}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("id", "name", "severity", "topologies"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", ratio=1)
    for rule in catalog.values():
        table.add_row(rule.id, rule.name, rule.severity, rule.topology_label, rule.summary)
    Console(soft_wrap=False).print(table)


@cli.command()
@click.argument("rule_id")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
def explain(rule_id: str, config_path: Path | None) -> None:
    """Show a rule's documentation (what, why, example, fix), custom rules included."""
    from bitriver_lint.catalog import load_catalog
    from bitriver_lint.config import find_config, load_config
    from bitriver_lint.ruledocs import rule_page

    rules_by_id = load_catalog(load_config(config_path or find_config(Path.cwd())))
    by_name = {r.name: r for r in rules_by_id.values()}
    rule = rules_by_id.get(rule_id.upper()) or by_name.get(rule_id)
    if rule is None:
        raise click.UsageError(f"RULE_ID: unknown rule {rule_id!r} (see `bitriver-lint rules`)")
    click.echo(rule_page(rule))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "-f", "fmt", type=click.Choice(("mermaid", "dot", "json")), default="mermaid",
              show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--topology", type=click.Choice(TOPOLOGIES), default=None)
def graph(paths: tuple[Path, ...], fmt: str, config_path: Path | None, topology: str | None) -> None:
    """Print the service graph built from the files, to check the joins."""
    from bitriver_lint.graphviews import render_graph
    from bitriver_lint.nearest import scan as run_scan

    targets = list(paths) or [Path(".")]
    for target in targets:
        if not target.exists():
            raise click.UsageError(f"PATH: {target} does not exist")
    # Under each file's nearest config, as ``scan`` reads it: the graph shown is the one checked.
    result = run_scan(targets, config_path, topology=topology)
    click.echo(render_graph(result.graph, result.topology, fmt))


# A report file's format from its name, longest suffix first (.sarif.json is SARIF, not JSON).
EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".sarif.json", "sarif"), (".sarif", "sarif"), (".json", "json"), (".xml", "junit"), (".md", "markdown"),
    (".markdown", "markdown"), (".txt", "text"),
)


def _report_targets(fmt: str | None, outputs: tuple[Path, ...]) -> list[tuple[Path, str]]:
    """Each ``--output`` with its format: ``--format`` for a single one, else from its extension.
    ``--format github`` never names a file's format: annotations are read from the job's log
    only, so they go to the terminal and the files keep the formats of their extensions (one
    scan for the annotations and the SARIF upload)."""
    if fmt == STREAM_ONLY:
        fmt = None
    if fmt is not None and len(outputs) == 1:
        return [(outputs[0], fmt)]
    if fmt is not None and len(outputs) > 1:
        raise click.UsageError("--format: applies to a single --output; with several, each file's extension "
                               "names its format (--format github, which goes to the terminal, combines with any)")
    from bitriver_lint.reporters._safe import printable

    targets: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in outputs:
        name = path.name.lower()
        found = next((f for ext, f in EXTENSIONS if name.endswith(ext) and len(name) > len(ext)), None)
        if found is None:
            known = " ".join(ext for ext, _ in EXTENSIONS)
            raise click.UsageError(f"--output: cannot tell the format of {printable(str(path))} from its extension "
                                   f"({known}); give --format with a single --output")
        where = path.resolve()
        if where in seen:
            raise click.UsageError(f"--output: {printable(str(path))} is given twice")
        seen.add(where)
        targets.append((path, found))
    return targets


def _write_reports(result: Any, reports: list[tuple[Path, str]], *, show_suppressed: bool,
                   sarif_suppressed: bool) -> None:
    """Each file all at once (``output.write_file``); when one fails, the error (exit 2) says
    which of the others were written before it and which were not."""
    import gc

    # What the scan made (the graph, the documents: a million objects on 1,000 sites) lives until
    # the process exits, which it does after the reports. Left to the cyclic collector, it is
    # walked again when a reporter allocates enough (0.6 s for JUnit there) and once more at exit
    # (1.1 s), to free nothing; frozen, it is never walked again.
    gc.freeze()
    from bitriver_lint.output import OutputError, write_file
    from bitriver_lint.reporters import get_reporter
    from bitriver_lint.reporters._safe import printable

    for number, (path, name) in enumerate(reports):
        reporter = get_reporter(name)
        shown = sarif_suppressed if name == "sarif" else show_suppressed

        def write(stream: TextIO, reporter: Any = reporter, shown: bool = shown) -> None:
            reporter.render(result, stream, color=False, show_suppressed=shown)

        try:
            write_file(path, write, option="--output")
        except OutputError as exc:
            if len(reports) == 1:
                raise
            done = ", ".join(printable(str(p)) for p, _ in reports[:number]) or "none"
            rest = ", ".join(printable(str(p)) for p, _ in reports[number + 1:]) or "none"
            raise click.ClickException(f"{exc.message} (written: {done}; not written: {rest})") from exc


def _previous_baseline(path: Path | None) -> Path | None:
    """The baseline --update-baseline replaces, when there is one to learn from: a missing file,
    or one that is not a baseline (a device, a directory, garbage), is replaced as it always was."""
    from bitriver_lint import baseline as baselines
    from bitriver_lint.errors import ConfigError

    if path is None:
        return None
    try:
        baselines.read(path)
    except ConfigError:
        return None
    return path


def _wants_color() -> bool:
    """The no-color.org and force-color.org conventions: only a non-empty value counts."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _internal_errors(result: Any, debug: bool) -> None:
    """A scan that hit our own bug is not a clean scan, whatever --exit-zero says: exit 3."""
    from bitriver_lint.reporters._safe import printable

    if not result.errors:
        return
    for error in result.errors:
        click.echo(f"bitriver-lint: {printable(error)}", err=True)
    if debug:
        for trace in result.tracebacks:
            click.echo(trace, err=True, nl=False)
    else:
        click.echo("bitriver-lint: the other findings were reported; --debug shows the traceback", err=True)
    sys.exit(3)


def _run_scan(targets: list[Path], focus: set[Path] | None, cache: Any, memo_key: bytes | None, *,
              config_path: Path | None, baseline: Path | None, update_baseline: bool, topology: str | None,
              select: tuple[str, ...], ignore: tuple[str, ...], jobs: int, category: str | None,
              no_inline_suppressions: bool, today: Any, wants_picture: bool) -> tuple[Any, Path | None, str]:
    """The scan itself (what ``memo`` stands in for when nothing changed), recorded for the memo
    when ``memo_key`` is set; with the baseline file it used and what the memo did with it."""
    import dataclasses
    import gc

    from bitriver_lint import memo
    from bitriver_lint.config import find_config, load_config
    from bitriver_lint.engine import SelectionError
    from bitriver_lint.nearest import scan as run_scan
    from bitriver_lint.progress import Progress

    with memo.recording(cache if memo_key is not None else None, targets) as journal:
        config = load_config(config_path or find_config(targets[0].resolve()))
        # A config's paths are relative to the config's own directory, wherever the scan runs from.
        config_dir = Path(os.path.relpath(config.source.parent)) if config.source is not None else Path(".")
        baseline_path = baseline or (config_dir / config.baseline if config.baseline else None)
        parts = None
        if baseline_path is None and config_path is None:
            from bitriver_lint.nearest import configured_baseline, partition

            parts = partition(targets)  # walked once: the scan below splits the tree by these parts
            baseline_path = configured_baseline(parts)  # a subdirectory's config, as in ruff
        if update_baseline and baseline_path is None:
            raise click.UsageError("--update-baseline: needs --baseline FILE (or `baseline:` in the config)")
        try:
            with Progress(sys.stderr) as progress:
                # --update-baseline records every finding: the old baseline hides none of them, and
                # only tells which of its entries lie outside this scan (kept as they are).
                old = baseline_path if not update_baseline else _previous_baseline(baseline_path)
                result = run_scan(targets, config_path, parts, topology=topology, select=_split(select),
                                  ignore=_split(ignore), jobs=jobs or _cpus(), baseline=old, focus=focus,
                                  category=category, progress=progress.stage, cache=cache,
                                  inline_suppressions=not no_inline_suppressions, record_baseline=update_baseline,
                                  today=today)
        except SelectionError as exc:
            raise click.UsageError(str(exc)) from exc
        if wants_picture:
            from bitriver_lint.graphviews import graph_summary

            result = dataclasses.replace(result, graph_summary=graph_summary(result.graph))
    # The scan's objects live until exit (see _write_reports): frozen now, the collector does not
    # walk them again while the memo pickles the report, which cost 1.1 s on 1,000 sites.
    gc.freeze()
    kept = memo.store(cache, memo_key, journal, result) if memo_key is not None else ""
    return result, baseline_path, kept


def _cache(option: Path | None, targets: list[Path]) -> Any:
    """The cache for this scan. A directory the user named that lies inside a scanned tree is
    refused by the engine (exit 2); the default one there (scanning one's home) is left unused."""
    from bitriver_lint.cache import Cache, choose_directory, inside_tree
    from bitriver_lint.workspace import containment_root

    directory, named = choose_directory(option)
    if not named and inside_tree(directory, [containment_root(t) for t in targets if t.exists()]) is not None:
        click.echo(f"bitriver-lint: the cache directory {directory} is inside the scanned tree; "
                   "running without a cache", err=True)
        return None
    return Cache(directory)


def _cpus() -> int:
    """CPUs this process may run on (a container's limit, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> Any:
    from bitriver_lint.errors import ConfigError

    # pydantic looks for plugins among every installed distribution's entry points the first
    # time a model is built (10 ms here, more in a large environment); ours validate config and
    # graph payloads, which no observability plugin should wrap. A user's own setting wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        return cli.main(args=argv, prog_name="bitriver-lint", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("bitriver-lint: aborted", err=True)
        sys.exit(2)
    except click.UsageError as exc:
        click.echo(f"bitriver-lint: error: {_one_line(exc.format_message())}", err=True)
        sys.exit(2)
    except ConfigError as exc:
        click.echo(f"bitriver-lint: config error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"bitriver-lint: error: {_one_line(exc.format_message())}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        # `bitriver-lint | head`: the reader left; say nothing more, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _one_line(text: str) -> str:
    return " ".join(text.split())
