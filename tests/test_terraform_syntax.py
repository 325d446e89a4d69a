"""``syntax_of``: Lark's tree turned into ``Syntax`` directly is what python-hcl2's transformer
and ``to_syntax`` make of it, node for node (names, lines, columns, token text)."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest
from hcl2.api import parses_to_tree

from bitriver_lint.loaders.terraform_eval import Unhandled, from_lark, syntax_of, to_syntax

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Constructs the transformer reshapes, each written the way that makes it do so.
TRICKY = r'''
# a comment
/* a block
comment */
locals { // trailing
  list = [ # c
    1, # c
    2 /* c */,
    // c
    "three"
  ]
  keys = {
    plain = 1 # c
    "quoted" = 2,
    (var.k) = 3
    ("paren") = 4
    (
      "split"
    ) = 5
    true = 6
    null = 7
    in = 8
    if = 9
    1 = 10
    1.5 = 11
    var.q = 12
    "a${var.b}" = 13
    colon : 14
  }
  cond = var.a # c
    ? "yes" # c
    : "no"
  nested = var.a ? (var.b
    ? 1 : 2) : 3
  sum = 1 +
    2 * # c
    3
  logic = a
    && b
    || !c
  compare = !var.b && (var.c || var.d) == (1 < 2) != (3 >= 4)
  heredoc = <<-EOT
    hello ${var.x}
  EOT
  text = "a ${var.b} $${esc} %%{x} \n \"q\" \u00e9"
  splat = var.list[*].id
  legacy = var.list.*.id
  index = var.map["k"].x[0]
  dotted = var.a.0.b
  attr = var.x.true
  call = f(1, [2, 3]...)
  number = -1.5e3
  empty = ""
}
in "x" {}
true {}
block ident "and string" {
  in = 1
  null = 3
}
'''


def _expected(text: str) -> object:
    return to_syntax(hcl2.parses(text))


def test_constructs_the_transformer_reshapes_come_out_the_same() -> None:
    assert from_lark(parses_to_tree(TRICKY)) == _expected(TRICKY)


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.tf")), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_reads_the_same(path: Path) -> None:
    text = path.read_text()
    try:
        expected = _expected(text)
    except Exception as exc:  # a fixture that is broken on purpose: broken the same way
        with pytest.raises(type(exc)):
            syntax_of(text)
        return
    assert syntax_of(text) == expected


@pytest.mark.parametrize("text", [
    'x = [for v in var.l : v if v != ""]\n',
    'x = {for k, v in var.m : k => v...}\n',
    'x = "%{ if var.a }yes%{ else }no%{ endif }"\n',
    "x = " + "(" * 200 + "1" + ")" * 200 + "\n",
])
def test_what_it_leaves_to_the_transformer_reads_the_same(text: str) -> None:
    with pytest.raises(Unhandled):
        from_lark(parses_to_tree(text))
    assert syntax_of(text) == _expected(text)


def test_another_python_hcl2_release_is_read_through_its_own_transformer(monkeypatch: pytest.MonkeyPatch) -> None:
    from bitriver_lint.loaders import terraform_eval

    def refuse(tree: object) -> None:
        raise AssertionError("from_lark copies 8.1's reshaping only")

    monkeypatch.setattr(terraform_eval, "_mirrors_installed_hcl2", lambda: False)
    monkeypatch.setattr(terraform_eval, "from_lark", refuse)
    assert syntax_of(TRICKY) == _expected(TRICKY)
