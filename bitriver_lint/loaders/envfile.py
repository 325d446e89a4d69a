"""dotenv files, as read by compose (``.env``, ``env_file``) and systemd ``EnvironmentFile=``, and
``docker run --env-file`` files, which docker reads by rules of its own."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bitriver_lint.loaders.interpolate import interpolate
from bitriver_lint.model import Diagnostic, Location, Unknown

_ASSIGN = re.compile(r"^(?P<indent>\s*)(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True, slots=True)
class EnvEntry:
    key: str
    value: str | Unknown
    location: Location  # the key
    value_location: Location
    quoted: bool
    # ``KEY`` alone in a docker --env-file: the docker CLI passes its own KEY, if it has one.
    passthrough: bool = False


@dataclass(slots=True)
class EnvFile:
    path: str
    entries: list[EnvEntry]
    diagnostics: list[Diagnostic]

    def as_dict(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries if isinstance(e.value, str)}

    def get(self, key: str) -> EnvEntry | None:
        found = None
        for entry in self.entries:
            if entry.key == key:
                found = entry  # the last assignment wins
        return found


def parse_env(
    text: str,
    path: str,
    *,
    variables: Mapping[str, str] | None = None,
    interpolation: bool = True,
) -> EnvFile:
    """Parse dotenv text. With ``interpolation`` (compose), ``${VAR}`` in unquoted and
    double-quoted values resolves against earlier keys and ``variables``; systemd passes
    False because it never expands variables in environment files."""
    entries: list[EnvEntry] = []
    diagnostics: list[Diagnostic] = []
    known: dict[str, str] = dict(variables or {})
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        lineno = index + 1
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = _ASSIGN.match(line)
        if match is None:
            column = len(line) - len(line.lstrip()) + 1
            diagnostics.append(
                Diagnostic(
                    "BRL001",
                    f"not a KEY=value assignment: {stripped[:60]!r}",
                    Location(path, lineno, column),
                )
            )
            continue
        key = match.group("key")
        value_col = match.end() + 1
        rest = line[match.end() :]
        quoted = rest[:1] in ("'", '"')
        if quoted:
            quote = rest[0]
            body = rest[1:]
            # A quoted value may continue over several lines until its closing quote.
            while _closing_quote(body, quote) < 0 and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            end = _closing_quote(body, quote)
            raw = body if end < 0 else body[:end]
            if quote == '"':
                raw = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw)
        else:
            raw = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        value: str | Unknown = raw
        if interpolation and (not quoted or rest[0] == '"'):
            value = interpolate(raw, known)
        if isinstance(value, str):
            known[key] = value
        entries.append(
            EnvEntry(key, value, Location(path, lineno, match.start("key") + 1),
                     Location(path, lineno, value_col), quoted)
        )
    return EnvFile(path, entries, diagnostics)


def parse_docker_env(text: str, path: str) -> EnvFile:
    """An ``--env-file`` of ``docker run``, which is not a dotenv file (docker's ``kvfile``):
    each line is ``KEY=VALUE`` taken as written (quotes, ``#`` and trailing blanks are part of
    the value; nothing is expanded or unescaped; no value goes on to the next line), a line whose
    first character is ``#`` is a comment, and ``KEY`` alone passes the docker CLI's own KEY,
    when it has one. A key that is empty or holds a blank makes docker refuse the file."""
    entries: list[EnvEntry] = []
    diagnostics: list[Diagnostic] = []
    # Lines end at "\n" only (Go's bufio.ScanLines, which also drops a "\r" before it).
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        body = line.lstrip()
        if not body or body.startswith("#"):
            continue
        column = len(line) - len(body) + 1
        key, has_value, value = body.partition("=")
        where = Location(path, lineno, column)
        if not key or any(blank in key for blank in " \t"):
            problem = "no variable name" if not key else f"variable {key!r} contains whitespace"
            diagnostics.append(Diagnostic("BRL001", f"docker refuses this --env-file line: {problem}", where))
            continue
        if not has_value:
            passed = Unknown((key,), key, why="is passed from the docker CLI's own environment")
            entries.append(EnvEntry(key, passed, where, where, quoted=False, passthrough=True))
            continue
        entries.append(EnvEntry(key, value, where, Location(path, lineno, column + len(key) + 1), quoted=False))
    return EnvFile(path, entries, diagnostics)


def _closing_quote(body: str, quote: str) -> int:
    escaped = False
    for i, ch in enumerate(body):
        if escaped:
            escaped = False
        elif ch == "\\" and quote == '"':
            escaped = True
        elif ch == quote:
            return i
    return -1
