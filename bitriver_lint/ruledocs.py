"""Rule documentation generated from the catalog: ``docs/rules/*.md``, ``explain`` and SARIF help.

Run ``python -m bitriver_lint.ruledocs docs/rules`` after editing ``rules/*.yaml``; a test fails
when the committed pages drift from the metadata.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bitriver_lint.rules import Rule, builtin_rules

SECTIONS = ("What it does", "Why it matters", "Example", "How to fix")


def rule_page(rule: Rule) -> str:
    severity: str = rule.severity
    if rule.severity_by_topology:
        severity += " (" + ", ".join(f"{v} in {k}" for k, v in rule.severity_by_topology.items()) + ")"
    lines = [
        f"# {rule.id} {rule.name}",
        "",
        f"{rule.summary}.",
        "",
        f"- **Severity:** {severity}",
        f"- **Topologies:** {rule.topology_label}",
        f"- **Guide:** {rule.guide}",
        f"- **Check:** `{rule.check}`",
        f"- **Tags:** {', '.join(rule.tags)}",
        "",
        "## What it does",
        "",
        rule.description.strip(),
        "",
        "## Why it matters",
        "",
        rule.rationale.strip(),
        "",
        "## Example",
        "",
        rule.example.strip(),
        "",
        "## How to fix",
        "",
        rule.fix.strip(),
        "",
        "## Suppressing",
        "",
        "```",
        f"# bitriver-lint: ignore[{rule.id}] reason: <why this is safe here>",
        "```",
        "",
    ]
    return "\n".join(lines)


def index_page(rules: list[Rule]) -> str:
    lines = [
        "# Rules",
        "",
        "Generated from `rules/*.yaml` by `python -m bitriver_lint.ruledocs docs/rules`.",
        "",
        "| id | name | severity | topologies | summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in rules:
        lines.append(
            f"| [{rule.id}]({rule.id}.md) | {rule.name} | {rule.severity} | {rule.topology_label} | {rule.summary} |"
        )
    return "\n".join(lines) + "\n"


def expected_pages() -> dict[str, str]:
    rules = list(builtin_rules())
    pages = {f"{r.id}.md": rule_page(r) for r in rules}
    pages["README.md"] = index_page(rules)
    return pages


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else "docs/rules")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in expected_pages().items():
        (target / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(expected_pages())} pages to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
