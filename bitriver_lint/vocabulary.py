"""The fixed words of a BitRiver deployment, in one place.

Every stage of the flow (config, loaders, builders, checks, reporters, CLI) shares these
names; defining them here, in a module that imports only the standard library, lets any of
them use the words without pulling in the graph (networkx) or pydantic.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a component is in the scaling guide's terms."""

    API = "api"
    VIEWER = "viewer"
    POSTGRES = "postgres"
    REDIS = "redis"
    SRS = "srs"
    OME = "ome"
    TRANSCODER = "transcoder"
    PROXY = "proxy"
    LB = "lb"
    CDN = "cdn"
    BUCKET = "bucket"
    OTHER = "other"
