"""Compose semantics as `docker compose config` has them, with positions."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.loaders.compose import ComposeProject, Service, load
from bitriver_lint.model import Unknown
from bitriver_lint.workspace import Workspace


def _load(tmp_path: Path, files: dict[str, str], config: Config | None = None) -> list[ComposeProject]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    rels = sorted(n for n in files if n.endswith((".yml", ".yaml")))
    return load(rels, Workspace(tmp_path), config or Config())


def _svc(project: ComposeProject, name: str) -> Service:
    return next(s for s in project.services if s.name == name)


def test_short_and_long_port_syntax(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {"compose.yaml": """services:
  s:
    image: x
    ports:
      - 3000
      - "8080:80"
      - "127.0.0.1:8443:443"
      - "[::1]:5353:53/udp"
      - "9000-9001:9000-9001"
      - "127.0.0.1::6000"
      - target: 7000
        published: "7001"
        host_ip: "::"
        protocol: udp
"""})
    ports = [(p.host_ip, p.published, p.target, p.protocol, p.location.line) for p in _svc(project, "s").ports]
    assert ports == [
        ("", 0, 3000, "tcp", 5),
        ("", 8080, 80, "tcp", 6),
        ("127.0.0.1", 8443, 443, "tcp", 7),
        ("::1", 5353, 53, "udp", 8),
        ("", 9000, 9000, "tcp", 9),
        ("", 9001, 9001, "tcp", 9),
        ("127.0.0.1", 0, 6000, "tcp", 10),
        ("::", 7001, 7000, "udp", 11),
    ]


def test_dotenv_interpolation_defaults_and_unknowns(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {
        ".env": "TAG=1.4\nBIND=127.0.0.1\n",
        "docker-compose.yml": """services:
  api:
    image: ghcr.io/bitriver/bitriver-live:${TAG}
    ports: ["${BIND}:8080:8080", "${NOPE}:9090:9090"]
    environment:
      - A=${MISSING:-fallback}
      - B=${MISSING}
      - C
      - D=$$literal
""",
    })
    api = _svc(project, "api")
    assert api.image is not None and api.image.value == "ghcr.io/bitriver/bitriver-live:1.4"
    assert api.ports[0].host_ip == "127.0.0.1"
    assert isinstance(api.ports[1].host_ip, Unknown) and api.ports[1].target == 9090
    env = {k: v.value for k, v in api.environment.items()}
    assert env["A"] == "fallback" and env["D"] == "$literal"
    assert isinstance(env["B"], Unknown) and env["B"].names == ("MISSING",)
    assert isinstance(env["C"], Unknown)


def test_config_variables_win_over_dotenv(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {".env": "TAG=old\n", "compose.yaml": "services:\n  a:\n    image: x:${TAG}\n"},
                       Config(variables={"TAG": "new"}))
    assert _svc(project, "a").image.value == "x:new"  # type: ignore[union-attr]


def test_override_file_merges_onto_base(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {
        "docker-compose.yml": """services:
  api:
    image: api
    restart: always
    ports: ["8080:8080"]
    environment: {A: "1", B: "1"}
""",
        "docker-compose.override.yml": """services:
  api:
    restart: "no"
    ports: ["9090:9090"]
    environment: [B=2]
""",
    })
    api = _svc(project, "api")
    assert project.files == ["docker-compose.yml", "docker-compose.override.yml"]
    assert str(api.location) == "docker-compose.yml:2:3"  # the definition stays in the base
    assert api.restart is not None and api.restart.value == "no"
    assert str(api.restart.location) == "docker-compose.override.yml:3:14"
    assert [p.target for p in api.ports] == [8080, 9090]
    assert {k: (v.value, v.location.path) for k, v in api.environment.items()} == {
        "A": ("1", "docker-compose.yml"),
        "B": ("2", "docker-compose.override.yml"),
    }


def test_extends_same_file_and_other_file(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {
        "base/common.yml": "services:\n  tmpl:\n    image: common\n    restart: always\n",
        "compose.yaml": """services:
  a:
    extends: {file: base/common.yml, service: tmpl}
    ports: ["1:1"]
  b:
    extends: a
    restart: "no"
""",
    })
    a, b = _svc(project, "a"), _svc(project, "b")
    assert a.image is not None and a.image.value == "common"
    assert str(a.image.location) == "base/common.yml:3:12"
    assert b.restart is not None and b.restart.value == "no"
    assert [p.target for p in b.ports] == [1]


def test_anchors_merge_keys_profiles_and_depends_on(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {"compose.yaml": """x-base: &base
  restart: unless-stopped
services:
  api:
    <<: *base
    image: api
    depends_on:
      db: {condition: service_healthy}
      cache:
        condition: service_started
        required: false
  worker:
    <<: *base
    image: worker
    depends_on: [db]
  debug:
    image: busybox
    profiles: [debug]
"""})
    assert [s.name for s in project.services] == ["api", "worker"]
    api = _svc(project, "api")
    assert api.restart is not None and str(api.restart.location) == "compose.yaml:2:12"
    assert [(d.service, d.condition, d.required) for d in api.depends_on] == [
        ("db", "service_healthy", True), ("cache", "service_started", False)
    ]
    assert [(d.service, d.condition) for d in _svc(project, "worker").depends_on] == [("db", "service_started")]


def test_profiles_can_be_enabled_by_config(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  debug:\n    image: busybox\n    profiles: [debug]\n"}
    (project,) = _load(tmp_path, files, Config(profiles=["debug"]))
    assert [s.name for s in project.services] == ["debug"]


def test_volumes_tmpfs_secrets_and_network_mode(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {"compose.yaml": """services:
  s:
    image: x
    network_mode: host
    volumes:
      - data:/data
      - ./conf:/etc/conf:ro
      - /anonymous
      - type: tmpfs
        target: /cache
    tmpfs: /run
    secrets: [token]
    deploy:
      replicas: 3
      resources: {limits: {cpus: "2", memory: 4G}}
"""})
    s = _svc(project, "s")
    assert [(v.target, v.kind, v.read_only) for v in s.volumes] == [
        ("/data", "volume", False), ("/etc/conf", "bind", True), ("/anonymous", "anonymous", False),
        ("/cache", "tmpfs", False), ("/run", "tmpfs", False), ("/run/secrets/token", "secret", True),
    ]
    assert s.network_mode is not None and s.network_mode.value == "host"
    assert s.replicas is not None and s.replicas.value == 3
    assert s.cpus is not None and s.cpus.value == "2"


def test_env_file_values_are_located_in_the_env_file(tmp_path: Path) -> None:
    (project,) = _load(tmp_path, {
        "app.env": "# comment\nexport TOKEN='abc'\nLEVEL=info\n",
        "compose.yaml": "services:\n  s:\n    image: x\n    env_file: app.env\n    environment: {LEVEL: debug}\n",
    })
    env = _svc(project, "s").environment
    assert (env["TOKEN"].value, str(env["TOKEN"].location)) == ("abc", "app.env:2:14")
    assert (env["LEVEL"].value, env["LEVEL"].location.path) == ("debug", "compose.yaml")
