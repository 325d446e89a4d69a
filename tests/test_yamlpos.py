from __future__ import annotations

import pytest

from bitriver_lint.loaders.yamlpos import LDict, YamlError, load_document


def test_every_key_and_value_keeps_its_position() -> None:
    doc = load_document("a:\n  b: [1, two]\n  c: {d: x}\n", "f.yml")
    assert isinstance(doc, LDict)
    inner = doc["a"]
    assert str(inner.key_loc("b")) == "f.yml:2:3"
    assert str(inner.value_loc("b")) == "f.yml:2:6"
    assert str(inner["b"].item_loc(1)) == "f.yml:2:10"
    assert str(inner["c"].value_loc("d")) == "f.yml:3:10"


def test_merge_keys_keep_the_anchor_position_and_local_values_win() -> None:
    doc = load_document("base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\n", "f.yml")
    use = doc["use"]
    assert dict(use) == {"x": 1, "y": 3}
    assert str(use.value_loc("x")) == "f.yml:2:6"
    assert str(use.value_loc("y")) == "f.yml:6:6"


def test_alias_bomb_is_refused_with_a_position() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlError, match="alias bomb"):
        load_document("\n".join(lines), "bomb.yml")


def test_syntax_error_reports_parser_position() -> None:
    with pytest.raises(YamlError) as info:
        load_document("services:\n  api:\n    image: [unclosed\n  db: {}\n", "bad.yml")
    assert (info.value.line, info.value.column) == (4, 5)  # the ":" the flow sequence cannot take


def test_duplicate_keys_are_an_error() -> None:
    with pytest.raises(YamlError, match="duplicate key 'a'") as info:
        load_document("a: 1\na: 2\n", "dup.yml")
    assert info.value.line == 2


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlError, match="recursive"):
        load_document("a: &a\n  - *a\n", "rec.yml")


def test_plain_scalars_follow_yaml_1_2_as_compose_reads_them() -> None:
    from bitriver_lint.loaders.yamlpos import load_document, plain

    doc = plain(load_document(
        "a: [2222:22, no, on, yes, off, 010, 0o17, 0x1f, 1_000, 2001-01-01, ~, true, FALSE, 1.5, 1e3, .inf]\n",
        "x.yml"))
    assert doc["a"][:10] == ["2222:22", "no", "on", "yes", "off", 10, 15, 31, "1_000", "2001-01-01"]
    assert doc["a"][10:15] == [None, True, False, 1.5, 1000.0]
    assert doc["a"][15] == float("inf")
    # Quoting and explicit tags still decide.
    assert plain(load_document('b: ["010", !!int "7", !!str 5]\n', "x.yml")) == {"b": ["010", 7, "5"]}
