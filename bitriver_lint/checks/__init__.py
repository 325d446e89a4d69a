"""The explicit registry of check functions rules bind to (``check: kind.name``).

Nothing registers itself at import time: this table is the whole list, and each kind's
module is imported only when a rule of that kind runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from bitriver_lint.checks.base import Check

# check name -> "module:attribute" of a Check object
CHECKS: dict[str, str] = {
    "exposure.reachable": "bitriver_lint.checks.exposure:REACHABLE",
    "exposure.port_allowlist": "bitriver_lint.checks.exposure:PORT_ALLOWLIST",
    "tls.termination": "bitriver_lint.checks.tls:TERMINATION",
    "tls.cert_key_pair": "bitriver_lint.checks.tls:CERT_KEY_PAIR",
    "tls.at_edge": "bitriver_lint.checks.tls:AT_EDGE",
    "tls.http_redirect": "bitriver_lint.checks.tls:HTTP_REDIRECT",
    "tls.cdn_origin_https": "bitriver_lint.checks.tls:CDN_ORIGIN_HTTPS",
    "tls.segment_access": "bitriver_lint.checks.tls:SEGMENT_ACCESS",
    "route.lb_routes": "bitriver_lint.checks.route:LB_ROUTES",
    "route.viewer_origin": "bitriver_lint.checks.route:VIEWER_ORIGIN",
    "route.websocket_sticky": "bitriver_lint.checks.route:WEBSOCKET_STICKY",
    "route.static_cache": "bitriver_lint.checks.route:STATIC_CACHE",
    "health.service_checks": "bitriver_lint.checks.health:SERVICE_CHECKS",
    "health.lb_checks": "bitriver_lint.checks.health:LB_CHECKS",
    "placement.api_db_colocation": "bitriver_lint.checks.placement:API_DB_COLOCATION",
    "placement.local_state": "bitriver_lint.checks.placement:LOCAL_STATE",
    "placement.trusted_subnet": "bitriver_lint.checks.placement:TRUSTED_SUBNET",
    "placement.api_redundancy": "bitriver_lint.checks.placement:API_REDUNDANCY",
    "placement.sizing": "bitriver_lint.checks.placement:SIZING",
    "placement.gpu_transcoding": "bitriver_lint.checks.placement:GPU_TRANSCODING",
    "attribute.restart_policy": "bitriver_lint.checks.attribute:RESTART_POLICY",
    "attribute.persistent_volumes": "bitriver_lint.checks.attribute:PERSISTENT_VOLUMES",
    "attribute.dependency_order": "bitriver_lint.checks.attribute:DEPENDENCY_ORDER",
    "attribute.database_ha": "bitriver_lint.checks.attribute:DATABASE_HA",
    "attribute.backups": "bitriver_lint.checks.attribute:BACKUPS",
    "attribute.redis_replicated": "bitriver_lint.checks.attribute:REDIS_REPLICATED",
    "attribute.environment_file": "bitriver_lint.checks.attribute:ENVIRONMENT_FILE",
    "secret.plaintext": "bitriver_lint.checks.secret:PLAINTEXT",
    "consistency.ports": "bitriver_lint.checks.consistency:PORTS",
    "consistency.references": "bitriver_lint.checks.consistency:REFERENCES",
}

# Rules whose findings the engine itself produces (parse errors, unknowns, suppressions).
META_CHECK = "meta"


def get_check(name: str) -> Check[Any]:
    """The Check registered under ``name``; KeyError names what is known."""
    target = CHECKS.get(name)
    if target is None:
        raise KeyError(f"unknown check {name!r}; known checks: {', '.join(sorted(CHECKS))}")
    module_name, attr = target.split(":")
    check: Check[Any] = getattr(importlib.import_module(module_name), attr)
    return check
