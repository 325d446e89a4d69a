from __future__ import annotations

import pytest

from bitriver_lint.loaders.interpolate import Interpolated, interpolate
from bitriver_lint.model import Unknown

VARS = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${UNSET-fallback}", "fallback"),
        ("${UNSET:-${SET}}", "value"),
        ("${SET:+alt}", "alt"),
        ("${UNSET:+alt}", ""),
        ("$$SET", "$SET"),
        ("cost: 5$", "cost: 5$"),
    ],
)
def test_resolves_like_compose(text: str, expected: str) -> None:
    assert interpolate(text, VARS) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [("${UNSET}", ("UNSET",)), ("$UNSET", ("UNSET",)), ("${UNSET:?needed}", ("UNSET",)),
     ("${A:-${B}}", ("B",)), ("${X}:${Y}", ("X", "Y"))],
)
def test_unset_values_stay_unknown_never_empty(text: str, names: tuple[str, ...]) -> None:
    result = interpolate(text, VARS)
    assert isinstance(result, Unknown)
    assert result.names == names
    assert result.raw == text


def test_substituted_values_remember_they_came_from_a_variable() -> None:
    assert isinstance(interpolate("${SET}", VARS), Interpolated)
    assert not isinstance(interpolate("$$literal", VARS), Interpolated)
