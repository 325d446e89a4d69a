"""The pre-commit hook fires for every file a scan reads: its ``files`` pattern agrees with the
format registry (names it claims, endings whose content it sniffs) and with the other files a
scan reads (env files, configs, templates, rule files)."""

from __future__ import annotations

import re

import yaml
from conftest import REPO

from bitriver_lint.formats import REGISTRY, Claim, FileName

CANDIDATES = [
    "compose.yaml", "docker-compose.yml", "deploy/docker-compose.prod.yml", "compose.override.yaml",
    "units/api.service", "units/api.socket", "units/backup.timer", "units/app.target", "units/data.mount",
    "units/watch.path", "units/api.service.d/override.conf", "infra/main.tf", "infra/main.tf.json",
    "infra/terraform.tfvars", "infra/prod.auto.tfvars.json", "edge/Caddyfile", "edge/Caddyfile.prod",
    "edge/site.caddy", "edge/haproxy.cfg", "edge/nginx.conf", "templates/default.conf.template",
    "certs/tls.key", "certs/tls.pem", "plan.json", "envoy.yaml", "caddy.json", "conf.d/api.conf",
    "lb/edge.cfg", "values.yml", "notes.txt", "README.md", "main.py",
]
ALSO_READ = [".env", "deploy/.env.prod", ".bitriver-lint.yaml", ".bitriver-lint.yml", "pyproject.toml",
             "infra/user-data.tftpl", "infra/cloud-init.yaml.tpl", "policy/ACME101.yaml"]


def _pattern() -> re.Pattern[str]:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["require_serial"] is True
    return re.compile(hook["files"])


def _read_by_some_format(rel: str) -> bool:
    file = FileName.of(rel)
    return any(fmt.by_name(file) in (Claim.YES, Claim.LOOK) or fmt.looks_inside(file) for fmt in REGISTRY)


def test_the_hook_fires_for_every_file_the_registry_may_read() -> None:
    pattern = _pattern()
    claimed = [rel for rel in CANDIDATES if _read_by_some_format(rel)]
    assert len(claimed) > 25
    missed = [rel for rel in [*claimed, *ALSO_READ] if not pattern.search(rel)]
    assert missed == []
    # ... and stays quiet for files no format reads.
    assert [rel for rel in ("notes.txt", "README.md", "main.py") if pattern.search(rel)] == []
