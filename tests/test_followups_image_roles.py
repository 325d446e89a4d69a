"""BitRiver Live publishes every image under an organisation of the same name
(``ghcr.io/bitriver-live/bitriver-srs-controller``). Matching "bitriver-live" anywhere in the
repository made its SRS API proxy a second Go API: 13 false findings on one of the project's
own compose files (BRL303, BRL503, BRL504 and BRL603 "listens on 8080"). BitRiver's names are
now matched in the image's own name, not its organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.graph import Role
from bitriver_lint.roles import role_from_image
from tests.conftest import brief, scan_tree


@pytest.mark.parametrize(("image", "role"), [
    ("ghcr.io/bitriver-live/bitriver-srs-controller:1.2", None),
    ("ghcr.io/bitriver-live/bitriver-live:1.2", Role.API),
    ("ghcr.io/bitriver-live/bitriver-viewer:1.2", Role.VIEWER),
    ("ghcr.io/bitriver-live/bitriver-transcoder:1.2", Role.TRANSCODER),
    ("ghcr.io/bitriver/bitriver-live:1.4.2", Role.API),
    ("registry.example.net/bitriver-api", Role.API),
    ("jrottenberg/ffmpeg:6.1-alpine", Role.TRANSCODER),
    ("ossrs/srs:5", Role.SRS),
])
def test_bitriver_names_are_read_in_the_image_name(image: str, role: Role | None) -> None:
    assert role_from_image(image) is role


_COMPOSE = """\
services:
  srs-controller:
    image: ghcr.io/bitriver-live/bitriver-srs-controller:1.2
    restart: unless-stopped
    environment:
      SRS_CONTROLLER_BIND: ":1985"
      SRS_CONTROLLER_UPSTREAM: http://srs:1985/api/
    ports:
      - "127.0.0.1:1986:1985"
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:1985/healthz"]
    depends_on:
      srs:
        condition: service_healthy

  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports:
      - "1935:1935"
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:1985/api/v1/versions"]
"""


def test_the_srs_api_proxy_is_not_a_second_api(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(_COMPOSE, encoding="utf-8")
    result = scan_tree(tmp_path)
    (proxy,) = [c for c in result.graph.components() if c.name == "srs-controller"]
    assert proxy.role is Role.OTHER
    assert brief(result) == []
