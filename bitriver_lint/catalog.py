"""The rule catalog as a scan or the ``rules``/``explain`` commands need it: the built-in rules
plus the config's custom ones, validated up front.

Apart from ``rules.py`` (the rule model, which ``config`` may use) because validating a custom
rule's parameters needs the check modules, and they need the graph."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bitriver_lint.config import Config
from bitriver_lint.errors import ConfigError
from bitriver_lint.rules import Rule, RuleError, builtin_rules_dir, catalog


def load_catalog(config: Config) -> dict[str, Rule]:
    """The built-in rules plus the config's custom ones, validated; ConfigError names the file
    and key. Parameters of the built-in rules are checked by the test suite, so only custom
    rules need the check modules (and the graph they import): ``rules`` and ``explain`` start
    without them."""
    base = config.source.parent if config.source else Path.cwd()
    try:
        rules = catalog([base / p for p in config.rules.paths])
    except RuleError as exc:
        raise ConfigError(str(exc)) from exc
    builtin = builtin_rules_dir().resolve()
    custom = [r for r in rules.values() if r.source and builtin not in Path(r.source).resolve().parents]
    if custom:
        _validate_parameters(custom)
    for rule_id in config.rules.severity:
        if rule_id not in rules:
            raise ConfigError(f"rules.severity.{rule_id}: unknown rule")
    return rules


def _validate_parameters(rules: list[Rule]) -> None:
    from bitriver_lint.checks import META_CHECK, get_check

    for rule in rules:
        if rule.check == META_CHECK:
            continue
        try:
            get_check(rule.check).params.model_validate(rule.parameters)
        except KeyError as exc:
            raise ConfigError(f"{rule.source}: check: {exc.args[0]}") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in ("parameters", *err["loc"]))
            raise ConfigError(f"{rule.source}: {key}: {err['msg']}") from exc
