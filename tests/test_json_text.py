"""The JSON and SARIF reporters' encoder writes what ``json.dumps(value, indent=2)`` writes, to
the byte: their output must not change when the encoder does (baselines, diffs, caches and
code scanning compare it)."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitriver_lint.reporters._jsontext import dumps

# Everything a scanned file can put in a report: any code point, lone surrogates included (an
# undecodable file name comes through os.fsdecode as one).
_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()))
_HOSTILE = ['"', "\\", "\x00", "\x1b[31m", "\n::error ::x", "\u2028", "\ud800", "\udfff", "é", "😀", "%s", "{}",
            "[]", ", ", ": ", "\t\r\n", "\x7f", "\ufeff"]
_hostile = st.sampled_from(_HOSTILE)
_strings = st.one_of(_text, _hostile, st.lists(_hostile).map("".join))
_scalars = st.one_of(_strings, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                     st.none())
_keys = st.one_of(_strings, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=300)
@given(_values)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert dumps(value) == json.dumps(value, indent=2)


class _Level(enum.IntEnum):
    NOTE = 1


class _Name(enum.StrEnum):
    A = "a\"b"


@pytest.mark.parametrize("value", [
    {}, [], (), {"a": {}}, {"a": []}, [[], {}, [[]]], {"": ""}, [None, True, False, 0, -1, 10**30],
    [0.1, -0.0, 1e300, 1e-300, math.inf, -math.inf, math.nan], {3: "int key", 2.5: "float key", True: "t",
                                                                None: "n"},
    [_Level.NOTE, {"level": _Level.NOTE}], [_Name.A, {_Name.A: _Name.A}],
    {"message": "line\nbreak \x1b[2J \u202e evil \ud83d", "path": "dir/é/\x7f.yml"},
    *_HOSTILE, _HOSTILE, {text: text for text in _HOSTILE}, [{"k": [text]} for text in _HOSTILE],
])
def test_edge_cases(value: Any) -> None:
    assert dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [{"a": {1, 2}}, [object()], {("tuple", "key"): 1}])
def test_refuses_what_json_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        dumps(value)
