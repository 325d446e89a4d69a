"""Which BitRiver role a component plays, inferred from images, binaries and names.

The guide's service table gives every role its default ports; they are the listeners we
assume when the files do not say otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bitriver_lint.graph import Role

# (pattern on the image name without registry/tag, role). Order matters: first match wins.
# BitRiver's own names are matched in the image's last component: the project publishes every
# image under an organisation of the same name (ghcr.io/bitriver-live/bitriver-srs-controller).
_IMAGE_PATTERNS: list[tuple[re.Pattern[str], Role]] = [
    (re.compile(r"[^/]*bitriver-?viewer[^/]*$"), Role.VIEWER),
    (re.compile(r"[^/]*(bitriver-?transcoder|ffmpeg)[^/]*$"), Role.TRANSCODER),
    (re.compile(r"[^/]*(bitriver-?live|bitriver-?api)[^/]*$"), Role.API),
    (re.compile(r"(^|/)(postgres|postgresql|postgis|timescaledb)$|bitnami/postgresql"), Role.POSTGRES),
    (re.compile(r"(^|/)(redis|valkey|keydb)(-stack)?(-server)?$|bitnami/redis"), Role.REDIS),
    (re.compile(r"(^|/)srs$|ossrs/"), Role.SRS),
    (re.compile(r"ovenmediaengine"), Role.OME),
    (re.compile(r"(^|/)(caddy|nginx|openresty|haproxy|traefik|envoy|nginx-unprivileged)$|envoyproxy/"), Role.PROXY),
]

_NAME_ROLES: dict[str, Role] = {
    "api": Role.API,
    "bitriver": Role.API,
    "bitriver-live": Role.API,
    "bitriver-api": Role.API,
    "viewer": Role.VIEWER,
    "bitriver-viewer": Role.VIEWER,
    "postgres": Role.POSTGRES,
    "postgresql": Role.POSTGRES,
    "redis": Role.REDIS,
    "redis-server": Role.REDIS,
    "srs": Role.SRS,
    "ome": Role.OME,
    "ovenmediaengine": Role.OME,
    "transcoder": Role.TRANSCODER,
    "bitriver-transcoder": Role.TRANSCODER,
    "caddy": Role.PROXY,
    "nginx": Role.PROXY,
    "haproxy": Role.PROXY,
    "envoy": Role.PROXY,
    "traefik": Role.PROXY,
}

# The guide's service reference table: default TCP ports per role.
DEFAULT_PORTS: dict[Role, tuple[int, ...]] = {
    Role.API: (8080,),
    Role.VIEWER: (3000,),
    Role.POSTGRES: (5432,),
    Role.REDIS: (6379,),
    Role.SRS: (1935, 1985),
    Role.OME: (8081, 9000),
    Role.TRANSCODER: (9000,),
}

# Roles whose every listening port the defaults above name: a publish or URL to another port of
# theirs is a mistake (BRL603). SRS and OME open many more ports (HTTP-FLV, WebRTC, SRT...).
FULLY_KNOWN_PORTS = frozenset({Role.API, Role.VIEWER, Role.POSTGRES, Role.REDIS, Role.TRANSCODER})

# Default ports of URL schemes, for connection strings that omit the port.
SCHEME_PORTS: dict[str, int] = {
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "rediss": 6379,
    "http": 80,
    "https": 443,
    "ws": 80,
    "wss": 443,
    "rtmp": 1935,
}


def image_repository(image: str) -> str:
    """``ghcr.io/org/bitriver-live:1.2@sha256:..`` -> ``org/bitriver-live``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rfind(":")]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts).lower()


def role_from_image(image: str) -> Role | None:
    repo = image_repository(image)
    for pattern, role in _IMAGE_PATTERNS:
        if pattern.search(repo):
            return role
    return None


# Names too common to mean BitRiver on their own ("api" is every other compose file's service).
_GENERIC_NAMES = {"api", "viewer", "transcoder"}


def role_from_name(name: str, env_keys: Iterable[str] = ()) -> Role | None:
    """The role a service or unit name implies. Generic names count only when the service also
    carries BitRiver settings (a ``BITRIVER_*`` variable)."""
    base = name.lower().split("@", 1)[0]
    for suffix in (".service", ".socket"):
        base = base.removesuffix(suffix)
    if base in _GENERIC_NAMES and not any(k.startswith("BITRIVER_") for k in env_keys):
        return None
    if base in _NAME_ROLES:
        return _NAME_ROLES[base]
    for prefix in ("bitriver-", "bitriver_"):
        if base.startswith(prefix) and base[len(prefix) :] in _NAME_ROLES:
            return _NAME_ROLES[base[len(prefix) :]]
    return None
