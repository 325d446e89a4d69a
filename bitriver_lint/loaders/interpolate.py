"""Shell-style ``${VAR}`` interpolation as docker compose does it.

Unset variables never become empty strings: the whole value becomes an ``Unknown`` naming
them, so rules can stay silent instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bitriver_lint.model import Interpolated, Unknown

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${A:-${B:-...}} deeper than this is no real deployment's: a safety limit, not a syntax rule.
MAX_NESTING = 32


class _TooDeep(Exception):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str | Unknown:
    """Resolve ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?e}``, ``${VAR:+a}`` and ``$$``."""
    if "$" not in text:
        return text
    missing: list[str] = []
    try:
        out = _Expander(text, variables, missing).expand_until(None)
    except _TooDeep:
        return Unknown(("${...}",), text, why=f"nests ${{...}} more than {MAX_NESTING} levels deep (a safety limit)")
    if missing:
        return Unknown(tuple(dict.fromkeys(missing)), text)
    if out == text.replace("$$", "$"):
        return out  # only escapes: a literal
    result = Interpolated(out)
    result.raw = text
    return result


class _Expander:
    def __init__(self, text: str, variables: Mapping[str, str], missing: list[str]) -> None:
        self.text = text
        self.pos = 0
        self.variables = variables
        self.missing = missing
        self.depth = 0

    def expand_until(self, stop: str | None) -> str:
        parts: list[str] = []
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if stop is not None and ch == stop:
                return "".join(parts)
            if ch != "$":
                parts.append(ch)
                self.pos += 1
                continue
            nxt = text[self.pos + 1 : self.pos + 2]
            if nxt == "$":
                parts.append("$")
                self.pos += 2
            elif nxt == "{":
                self.pos += 2
                parts.append(self.braced())
            else:
                match = _NAME.match(text, self.pos + 1)
                if match is None:
                    parts.append("$")
                    self.pos += 1
                else:
                    self.pos = match.end()
                    parts.append(self.lookup(match.group(0)))
        return "".join(parts)

    def lookup(self, name: str) -> str:
        value = self.variables.get(name)
        if value is None:
            self.missing.append(name)
            return ""
        return value

    def braced(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            # Not a valid reference: keep it literally, as compose would reject it anyway.
            end = self.text.find("}", self.pos)
            end = len(self.text) if end < 0 else end + 1
            raw = "${" + self.text[self.pos : end]
            self.pos = end
            return raw
        name = match.group(0)
        self.pos = match.end()
        op = ""
        for candidate in (":-", ":?", ":+", "-", "?", "+"):
            if self.text.startswith(candidate, self.pos):
                op = candidate
                self.pos += len(candidate)
                break
        if not op:
            if self.text.startswith("}", self.pos):
                self.pos += 1
            return self.lookup(name)
        before = len(self.missing)
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _TooDeep
        word = self.expand_until("}")
        self.depth -= 1
        self.pos += 1  # the closing brace
        inner_missing = self.missing[before:]
        del self.missing[before:]
        value = self.variables.get(name)
        is_set = value is not None
        non_empty = bool(value)
        if op in (":-", "-"):
            use_value = non_empty if op == ":-" else is_set
            if use_value:
                return value or ""
            self.missing.extend(inner_missing)
            return word
        if op in (":+", "+"):
            use_alt = non_empty if op == ":+" else is_set
            if use_alt:
                self.missing.extend(inner_missing)
                return word
            if value is None:
                # ${VAR:+alt} with VAR unset is the empty string by definition, not unknown.
                return ""
            return ""
        # :? and ? -> compose would fail without the value; we only know we don't know it.
        if (op == ":?" and not non_empty) or (op == "?" and not is_set):
            self.missing.append(name)
            return ""
        return value or ""
