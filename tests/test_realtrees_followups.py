"""Misreadings found by running the scanner on public Cloudflare and Google Cloud trees,
each reproduced on a small tree of our own: the value or wording, at its file, line and column."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

from bitriver_lint.engine import ScanResult


def _scan(tmp_path: Path, body: str) -> ScanResult:
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    return scan_tree(tmp_path)


def _at(body: str, needle: str) -> str:
    index = body.index(needle)
    return f"main.tf:{body.count(chr(10), 0, index) + 1}:{index - body.rfind(chr(10), 0, index)}"


# A record whose proxying is a module input: common where one module serves a zone's proxied
# and DNS-only names. Until now such a record was dropped without a word.
_PROXIED_BY_VARIABLE = """variable "proxied" {
  type = bool
}

resource "cloudflare_dns_record" "live" {
  zone_id = var.zone_id
  name    = "live.example.com"
  content = "203.0.113.10"
  type    = "A"
  proxied = var.proxied
  ttl     = 1
}
"""


def test_a_record_proxied_by_a_variable_without_a_value_is_a_note_naming_it(tmp_path: Path) -> None:
    result = _scan(tmp_path, _PROXIED_BY_VARIABLE)
    notes = [(f.rule_id, str(f.location), f.message) for f in result.active]
    assert [(rule, where) for rule, where, _ in notes] == [("BRL002", _at(_PROXIED_BY_VARIABLE, "var.proxied\n"))]
    assert notes[0][2].startswith("whether cloudflare_dns_record.live is proxied through Cloudflare is unknown: "
                                  "proxied = var.proxied has no value")


def test_a_record_proxied_by_a_variable_with_a_default_is_read_not_noted(tmp_path: Path) -> None:
    body = _PROXIED_BY_VARIABLE.replace("type = bool\n", "type    = bool\n  default = false\n")
    result = _scan(tmp_path, body)
    assert [f.rule_id for f in result.active] == []
    assert result.graph.components() == []  # DNS only: Cloudflare fronts nothing
