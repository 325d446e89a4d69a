"""The explicit registry of check functions rules bind to (``check: kind.name``).

Nothing registers itself at import time: each kind's module lists its checks in a ``CHECKS``
tuple, and ``_KINDS`` below is the whole list of modules. A new check is one function, its
``Check`` object and its place in that tuple; a name typed twice fails at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bitriver_lint.checks import attribute, consistency, exposure, health, placement, route, secret, tls
from bitriver_lint.checks.base import Check

# Rules whose findings the engine itself produces (parse errors, unknowns, suppressions).
META_CHECK = "meta"

_KINDS = (exposure, tls, route, health, placement, attribute, secret, consistency)


def _by_name(checks: Iterable[Check[Any]]) -> dict[str, Check[Any]]:
    table: dict[str, Check[Any]] = {}
    for check in checks:
        if check.name == META_CHECK:
            raise RuntimeError(f"check name {META_CHECK!r} is reserved for the engine's own rules")
        if check.name in table:
            raise RuntimeError(f"check {check.name!r} is registered twice")
        table[check.name] = check
    return table


# check name -> Check object
CHECKS: dict[str, Check[Any]] = _by_name(check for kind in _KINDS for check in kind.CHECKS)


def get_check(name: str) -> Check[Any]:
    """The Check registered under ``name``; KeyError names what is known."""
    check = CHECKS.get(name)
    if check is None:
        raise KeyError(f"unknown check {name!r}; known checks: {', '.join(sorted(CHECKS))}")
    return check
