"""Find the deployment files under the given paths and tell which format each one is.

A name decides where it can (``docker-compose.yml``, ``*.service``, ``*.tf``, ``Caddyfile``);
otherwise a quick look at the content does (a ``*.yml`` is compose only if it has a top-level
``services:``; a ``*.conf`` can be nginx, HAProxy or a systemd drop-in).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pathspec

from bitriver_lint.workspace import FileProblem, Workspace

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".terraform", ".venv", "venv", "__pycache__", ".tox"}
SNIFF_BYTES = 64 * 1024
# Names a format might claim after a look inside: worth a "skipped" line when not readable.
_MAYBE_OURS = re.compile(r"\.(ya?ml|json|conf|cfg|template|tf|key|pem)$|caddyfile", re.IGNORECASE)

SYSTEMD_SUFFIXES = (".service", ".socket", ".timer", ".target", ".mount", ".path")

_COMPOSE_NAME = re.compile(r"(docker-)?compose([.-][\w.-]*)?\.ya?ml", re.IGNORECASE)
# A top-level services: mapping (inline, or an indented key below). GitLab CI also has a
# top-level services:, but it is a list of images, and .gitlab-ci.yml is not a compose file.
_TOP_SERVICES = re.compile(r"^services\s*:[ \t]*(\{|(#.*)?\n(([ \t]*(#.*)?)?\n)*[ \t]+[^\s#-])", re.MULTILINE)
_ENVOY = re.compile(r"^(static_resources|dynamic_resources|admin)\s*:", re.MULTILINE)
_ENVOY_JSON = re.compile(r'"static_resources"\s*:')
_CADDY_JSON = re.compile(r'"apps"\s*:\s*\{[^{}]*"http"')
_TFPLAN = re.compile(r'"format_version"\s*:.*"(planned_values|resource_changes)"', re.DOTALL)
# A section header: "listen stats" or "listen stats :8404", never "listen 1935;" (nginx, SRS).
_HAPROXY = re.compile(r"^\s*(frontend|backend|listen|defaults)(\s+[^\s;{]+){0,2}\s*$", re.MULTILINE)
# Keys only compose services have: an image as a plain string, build, extends, or a compose
# setting such as restart or depends_on (override files often carry nothing else). A Helm
# values file may have a services: mapping too, but its image is a mapping (repository:, tag:).
_SERVICE_SOURCE = re.compile(r"(^[ \t]+|[{,][ \t]*)(image:[ \t]*[^\s#{]|(build|extends|env_file|depends_on|restart"
                             r"|healthcheck|container_name|network_mode|profiles):)", re.MULTILINE)
# SRS's own config (srs.conf) looks like nginx's but is not: not a format we read.
_SRS = re.compile(r"^\s*(vhost\s+\S+|http_api|rtc_server|srt_server)\s*\{", re.MULTILINE)
_NGINX = re.compile(r"^\s*(http|server|upstream|stream|events|location\s+\S+|rtmp)\s*\{", re.MULTILINE)
_SYSTEMD = re.compile(r"^\[(Unit|Service|Socket|Timer|Install)\]\s*$", re.MULTILINE)


@dataclass
class Discovery:
    """Root-relative paths by format, plus the git-ignored paths seen on the way."""

    by_format: dict[str, list[str]] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)
    # Files seen but never opened, with the reason: FIFOs, devices, links out of the tree.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, fmt: str, rel: str) -> None:
        self.by_format.setdefault(fmt, []).append(rel)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_format.values())


def sniff(rel: str, ws: Workspace) -> str | None:
    """The format of one file, or None when it is none of ours."""
    name = PurePosixPath(rel).name
    lower = name.lower()
    parent = PurePosixPath(rel).parent.name
    if lower.endswith((".key", ".pem")):
        # Only a private key is ours (a secret in the tree); certificates are public.
        head = _head(rel, ws)
        return "pem" if head is not None and "PRIVATE KEY-----" in head else None
    if _COMPOSE_NAME.fullmatch(name):
        return "compose"
    if lower.endswith(SYSTEMD_SUFFIXES):
        return "systemd"
    if lower.endswith(".tf") or lower.endswith(".tf.json"):
        return "terraform"
    if lower.startswith("caddyfile") or lower.endswith(("caddyfile", ".caddy")):
        return "caddy"
    if lower.endswith(".conf") and parent.endswith((".service.d", ".socket.d", ".timer.d")):
        return "systemd"
    if lower == "haproxy.cfg":
        return "haproxy"
    if lower == "nginx.conf":
        return "nginx"
    if lower.endswith(".template"):
        # The official nginx image renders /etc/nginx/templates/*.template with envsubst.
        head = _head(rel, ws)
        return "nginx" if head is not None and _NGINX.search(head) else None
    if not lower.endswith((".yml", ".yaml", ".json", ".conf", ".cfg")):
        return None
    head = _head(rel, ws)
    if head is None:
        # Unreadable: only claim it when the name is unambiguous enough to be ours.
        return None
    if lower.endswith((".yml", ".yaml")):
        if _TOP_SERVICES.search(head) and _SERVICE_SOURCE.search(head):
            return "compose"
        if _ENVOY.search(head) and ("listeners" in head or "clusters" in head):
            return "envoy"
        return None
    if lower.endswith(".json"):
        if _TFPLAN.search(head):
            return "tfplan"
        if _ENVOY_JSON.search(head):
            return "envoy"
        if _CADDY_JSON.search(head):
            return "caddy"
        return None
    if _SYSTEMD.search(head):
        return "systemd"
    if _SRS.search(head):
        return None
    if lower.endswith(".cfg") or "haproxy" in lower:
        return "haproxy" if _HAPROXY.search(head) else None
    if _NGINX.search(head):
        return "nginx"
    if _HAPROXY.search(head):
        return "haproxy"
    return None


def _head(rel: str, ws: Workspace) -> str | None:
    try:
        return ws.read_text(rel)[:SNIFF_BYTES]
    except FileProblem:
        return None


class GitIgnores:
    """The tree's .gitignore files, each applying below its own directory as in git (a file is
    ignored when any of them matches it; git-ignored files are not committed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            path = self.root / directory / ".gitignore"
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else None
            except OSError:
                lines = None
            self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[directory]

    def match_file(self, rel: str) -> bool:
        parts = PurePosixPath(rel).parts
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                return True
        return False


def discover(paths: Iterable[Path], ws: Workspace, exclude: list[str]) -> Discovery:
    """Walk ``paths`` (files or directories) below ``ws.root``."""
    found = Discovery()
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
    ignored = GitIgnores(ws.root)
    ws.ignore_spec = ignored
    seen: set[str] = set()

    def consider(rel: str, explicit: bool) -> None:
        if rel in seen:
            return
        seen.add(rel)
        if excluded is not None and excluded.match_file(rel):
            return
        if ignored.match_file(rel):
            found.ignored.add(rel)
            if not explicit:
                return
        fmt = sniff(rel, ws)
        if fmt is None and not explicit and not _MAYBE_OURS.search(rel):
            return
        refused = ws.refusal(rel)
        if refused is not None and PurePosixPath(rel).parent.name.endswith((".wants", ".requires")):
            return  # `systemctl enable` links (to /etc/systemd/...): the unit loader reads their names
        if refused is None or (refused.kind == "outside" and fmt is not None):
            # A link out of the tree whose name says it is ours is kept: its loader reports
            # the refusal as a BRL001 at the link, without opening it.
            if fmt is not None:
                found.add(fmt, rel)
        else:
            found.skipped.append((rel, refused.message))

    for path in paths:
        if not path.is_dir():
            consider(ws.rel(path), explicit=True)
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for filename in sorted(filenames):
                consider(ws.rel(Path(dirpath) / filename), explicit=False)
    for rels in found.by_format.values():
        rels.sort()
    return found
