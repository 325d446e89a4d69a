"""What a machine's user data says about the BitRiver settings the rules read.

User data is a shell script or cloud-init, written inline (a heredoc) or rendered from a
template file of the tree (``templatefile``, rendered by the loader). Where it assigns BitRiver
settings (``export KEY=value``, ``KEY=value`` lines of an env file it writes, ``docker run -e
KEY=value``, ``KEY: value`` in a compose file it writes), those are the component's
environment, located at the line that sets them. Where it sets none, nothing is concluded: the
script may well fetch its settings from elsewhere, so the settings stay unknown.
"""

from __future__ import annotations

import re
from typing import Any

from bitriver_lint.builders.common import WATCHED_ENV, BuildContext
from bitriver_lint.loaders.terraform_document import FileText
from bitriver_lint.model import Located, Location, Unknown
from bitriver_lint.workspace import Workspace

_ASSIGNMENT = re.compile(
    r"(?:^|[\s;])(?:export\s+|-e\s+|--env[=\s]+)?(BITRIVER_[A-Z0-9_]+)[ \t]*(?:=|:[ \t])[ \t]*"
    r"(\"[^\"]*\"|'[^']*'|[^\s\"';]*)"
)


def settings(ctx: BuildContext, user_data: Located[Any] | None, name: str,
             where: Location) -> dict[str, Located[Any]]:
    """The settings the user data assigns; where it cannot be read or assigns none, the settings
    the rules read are Unknowns, so they note instead of guess. ``where``: the resource, for
    when it has no user data."""
    found = environment(user_data, ctx.workspace)
    if found is not None:
        return found
    if user_data is None:
        why = "is not in the files (no user data: perhaps baked into the image)"
    elif isinstance(user_data.value, str):
        why = "is not set in its user data (it may fetch its settings from elsewhere)"
    else:
        why = "comes from user data that cannot be read"
    unread = Unknown((f"the environment of {name}",), name, why=why)
    place = user_data.location if user_data is not None else where
    return {key: Located(unread, place) for key in WATCHED_ENV}


def environment(user_data: Located[Any] | None, ws: Workspace) -> dict[str, Located[Any]] | None:
    """The BitRiver settings the user data assigns, or None when it cannot be read or sets none."""
    if user_data is None:
        return None
    text = user_data.value
    if not isinstance(text, str):
        return None
    found: dict[str, Located[Any]] = {}
    for index, line in enumerate(text.splitlines()):
        if line.lstrip().startswith("#"):
            continue  # a shell or YAML comment, not a setting
        for match in _ASSIGNMENT.finditer(line):
            key, raw = match.group(1), match.group(2)
            quoted = len(raw) >= 2 and raw[0] in "\"'" and raw[-1] == raw[0]
            where = locate(text, index, key, user_data.location, ws)
            found.setdefault(key, Located(raw[1:-1] if quoted else raw, where))
    return found or None


def locate(text: str, index: int, key: str, start: Location, ws: Workspace) -> Location:
    """Where the line that sets ``key`` is written: in the template file it was rendered from,
    or in the heredoc of the .tf file (``start``: where the value is written); the value itself
    when neither can be told."""
    if isinstance(text, FileText) and text.exact:
        line = ws.line_text(text.path, index + 1)
        return Location(text.path, index + 1, line.find(key) + 1 if key in line else 1)
    expected = start.line + 1 + index  # a heredoc's body starts on the line after <<EOT
    for number in (expected, *range(start.line, expected + 2)):
        line = ws.line_text(start.path, number)
        if key in line:
            return Location(start.path, number, line.index(key) + 1)
    return start
