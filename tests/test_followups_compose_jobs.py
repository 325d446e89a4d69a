"""A compose service another one waits for with ``condition: service_completed_successfully`` is
a one-shot job. BitRiver Live's own compose file runs its migrations with the postgres image
and an ``entrypoint: ["/bin/sh", "-c"]``; read as a PostgreSQL server, that job drew four
false findings: no health check (BRL501), ``restart: "no"`` (BRL502), the data directory in
its writable layer (BRL503), and the API "not waiting for it to be healthy" (BRL504), though
compose makes the API wait for the job to exit with status 0."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import brief, scan_tree

_COMPOSE = """\
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.4.2
    restart: unless-stopped
    volumes:
      - data:/var/lib/bitriver-live
      - ./certs:/certs:ro
    environment:
      BITRIVER_LIVE_TLS_CERT: /certs/fullchain.pem
      BITRIVER_LIVE_TLS_KEY: /certs/privkey.pem
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8080/healthz"]
    depends_on:
      postgres:
        condition: service_healthy
      migrate:
        condition: {condition}

  postgres:
    image: postgres:16-alpine
    restart: unless-stopped
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready"]

  migrate:
    image: postgres:16-alpine
    restart: "no"
    entrypoint: ["/bin/sh", "-c"]
    command: ["psql -h postgres -f /migrations/all.sql"]
    depends_on:
      postgres:
        condition: service_healthy

volumes:
  data:
  pgdata:
"""


def _scan(tmp_path: Path, condition: str) -> tuple[list[str], str]:
    (tmp_path / "compose.yaml").write_text(_COMPOSE.replace("{condition}", condition), encoding="utf-8")
    result = scan_tree(tmp_path)
    (job,) = [c for c in result.graph.components() if c.name == "migrate"]
    return brief(result), f"{job.role.value}: {job.role_reason}"


def test_a_job_the_api_waits_to_complete_is_not_a_database(tmp_path: Path) -> None:
    findings, role = _scan(tmp_path, "service_completed_successfully")
    assert findings == []
    assert role == "other: api waits for it to complete (service_completed_successfully): a one-shot job"


def test_the_same_service_merely_started_is_still_read_as_postgres(tmp_path: Path) -> None:
    # Guard: without the completion condition nothing says the image's server does not run.
    findings, role = _scan(tmp_path, "service_started")
    assert role == "postgres: image postgres:16-alpine"
    assert findings == ["BRL504 compose.yaml:16:7", "BRL501 compose.yaml:27:3", "BRL503 compose.yaml:27:3",
                        "BRL502 compose.yaml:29:14"]
