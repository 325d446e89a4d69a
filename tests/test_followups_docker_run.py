"""Units whose ExecStart is ``docker run``: what the docker CLI passes into the container (``-e
KEY``, ``--env-file``) and how it reads its own command line (combined one-letter options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.engine import ScanResult
from bitriver_lint.graph import Component
from bitriver_lint.model import Unknown
from tests.conftest import brief, scan_tree


def _write(root: Path, files: dict[str, str]) -> ScanResult:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return scan_tree(root)


def _at(files: dict[str, str], rel: str, needle: str) -> str:
    """``rel:line:column`` of the first ``needle`` in ``files[rel]``."""
    body = files[rel]
    index = body.index(needle)
    return f"{rel}:{body.count(chr(10), 0, index) + 1}:{index - body.rfind(chr(10), 0, index)}"


def _component(result: ScanResult, name: str) -> Component:
    (component,) = [c for c in result.graph.components() if c.name == name]
    return component


def _rules(result: ScanResult, *rule_ids: str) -> list[str]:
    return [line for line in brief(result) if line.split()[0] in rule_ids]


_API = "units/bitriver-live.service"
_VIEWER = {"units/bitriver-viewer.service": "[Unit]\nDescription=viewer\n\n[Service]\nRestart=always\n"
           "WorkingDirectory=/opt/bitriver-viewer\nExecStart=/usr/bin/node server.js\n"}


def _api_unit(environment: str, run_options: str) -> str:
    return f"""[Unit]
Description=BitRiver Live API in a container

[Service]
Restart=always
{environment}
ExecStart=/usr/bin/docker run --rm --network host \\
    {run_options} \\
    registry.example.net/bitriver-live:1.4
"""


# -- one-letter options combined, as docker's command line (pflag) reads them ------------------------

_INGEST = "systemd/ingest.service"


def _ingest(options: str) -> dict[str, str]:
    return {
        _INGEST: f"""[Unit]
Description=ingest container
After=docker.service

[Service]
Restart=always
ExecStart=/usr/bin/docker run --rm --name ingest {options} ossrs/srs:5

[Install]
WantedBy=multi-user.target
""",
        "firewall.sh": "ufw default deny incoming\nufw allow 1935/tcp\nufw --force enable\n",
    }


# "-dp 1985:1985": -d takes no value, so -p takes the next word. Read as "-d" with value "p",
# the port became the image, and SRS's published API went unnoticed behind ufw.
@pytest.mark.parametrize("options", [
    "-dp 1985:1985", "-itp 1985:1985", "-dit -p 1985:1985", "-dp1985:1985", "-dp=1985:1985",
    "-d --sig-proxy -p 1985:1985", "-P=false -qp 1985:1985",
])
def test_combined_one_letter_options_publish_as_docker_reads_them(tmp_path: Path, options: str) -> None:
    files = _ingest(options)
    result = _write(tmp_path, files)
    assert _rules(result, "BRL002", "BRL102") == [f"BRL102 {_at(files, _INGEST, '1985:1985')}"]
    srs = _component(result, "ingest")
    assert srs.role_reason == "image ossrs/srs:5 run by ExecStart"
    assert srs.command == []


def test_combined_one_letter_options_end_with_the_one_taking_a_value(tmp_path: Path) -> None:
    files = {_API: _api_unit("Environment=LOG_LEVEL=debug", "-de BITRIVER_LIVE_ADDR=127.0.0.1:8080 -ie=LOG_LEVEL=info")}
    api = _component(_write(tmp_path, files), "bitriver-live")
    assert api.command == []  # nothing after the image
    assert api.env["BITRIVER_LIVE_ADDR"].value == "127.0.0.1:8080"
    assert str(api.env["BITRIVER_LIVE_ADDR"].location) == _at(files, _API, "127.0.0.1:8080")
    assert api.env["LOG_LEVEL"].value == "info"


# An option docker's tables do not have: whether it takes the next word decides which word is
# the image. It took "ossrs/srs:5" as its value and ran "./objs/srs" as the image.
def test_an_unknown_option_leaves_the_image_unknown_rather_than_wrong(tmp_path: Path) -> None:
    files = _ingest("--some-new-flag -p 127.0.0.1:1985:1985")
    files[_INGEST] = files[_INGEST].replace("ossrs/srs:5", "ossrs/srs:5 ./objs/srs -c conf/srs.conf")
    srs = _component(_write(tmp_path, files), "ingest")
    assert srs.role_reason.startswith("the image ExecStart runs is unknown (--some-new-flag is a run option")
    assert srs.command == []
    # Written with "=", it is read either way.
    files[_INGEST] = files[_INGEST].replace("--some-new-flag", "--some-new-flag=1")
    srs = _component(_write(tmp_path, files), "ingest")
    assert srs.role_reason == "image ossrs/srs:5 run by ExecStart"
    assert srs.command == ["./objs/srs", "-c", "conf/srs.conf"]


# -- `-e KEY`: the docker CLI passes its own KEY, which is the unit's -------------------------------

# The value of `-e BITRIVER_VIEWER_ORIGIN` is the unit's, written as the second assignment of an
# Environment= line (pointing past the viewer, on 3000): it was placed at the line's first
# assignment (LOG_LEVEL), so the finding about the viewer origin pointed at the wrong setting.
def test_e_key_takes_the_units_value_where_the_unit_writes_it(tmp_path: Path) -> None:
    files = {_API: _api_unit("Environment=LOG_LEVEL=debug BITRIVER_VIEWER_ORIGIN=http://127.0.0.1:4000",
                             "-e BITRIVER_VIEWER_ORIGIN -e BITRIVER_LIVE_ADDR=127.0.0.1:8080 -e LOG_LEVEL -e NOPE"),
             **_VIEWER}
    result = _write(tmp_path, files)
    origin = _at(files, _API, "BITRIVER_VIEWER_ORIGIN=http")
    assert _rules(result, "BRL303") == [f"BRL303 {origin}"]
    api = _component(result, "bitriver-live")
    assert api.env["BITRIVER_VIEWER_ORIGIN"].value == "http://127.0.0.1:4000"
    assert str(api.env["BITRIVER_VIEWER_ORIGIN"].location) == origin
    assert str(api.env["LOG_LEVEL"].location) == _at(files, _API, "LOG_LEVEL=debug")
    # The unit sets no NOPE: the CLI has none to pass, and the container has none.
    assert "NOPE" not in api.env


def test_an_assignment_continued_on_the_next_line_is_found_there(tmp_path: Path) -> None:
    files = {_API: _api_unit('Environment=LOG_LEVEL=debug \\\n  "BITRIVER_VIEWER_ORIGIN=http://127.0.0.1:3000"',
                             "-e BITRIVER_VIEWER_ORIGIN")}
    result = _write(tmp_path, files)
    api = _component(result, "bitriver-live")
    assert str(api.env["BITRIVER_VIEWER_ORIGIN"].location) == _at(files, _API, '"BITRIVER_VIEWER_ORIGIN=')


# The unit's EnvironmentFile= is not in the tree: what `-e SOME_KEY` passes is unknown, not unset.
def test_e_key_from_an_environment_file_missing_from_the_tree_is_unknown(tmp_path: Path) -> None:
    files = {_API: _api_unit("EnvironmentFile=/etc/bitriver/api.env", "-e BITRIVER_REDIS_URL -e SOME_KEY")}
    result = _write(tmp_path, files)
    api = _component(result, "bitriver-live")
    for key in ("BITRIVER_REDIS_URL", "SOME_KEY"):
        value = api.env[key].value
        assert isinstance(value, Unknown) and value.names == ("EnvironmentFile=/etc/bitriver/api.env",), key
        assert str(api.env[key].location) == _at(files, _API, "EnvironmentFile="), key
    # An optional one ("-") that is absent sets nothing, as systemd skips it.
    files = {_API: _api_unit("EnvironmentFile=-/etc/bitriver/api.env", "-e SOME_KEY")}
    assert "SOME_KEY" not in _component(_write(tmp_path, files), "bitriver-live").env


# -- --env-file: docker's own format, not a dotenv file ---------------------------------------------

_ENV = "etc/bitriver/api.env"
_ENV_FILE = """# the API's settings
DB_PASSWORD="changeme"
  # an indented comment
DATABASE_URL='postgres://bitriver:s3cret@db:5432/live'
LOG_FORMAT=json # not a comment
PLAIN=${LOG_FORMAT}
EMPTY_PASSWORD=""
LOG_LEVEL
"""


# Quotes are part of the value, "#" past the start of a line is too, nothing is interpolated, and
# "KEY" alone passes the CLI's (the unit's) KEY. Read as a dotenv file, the password lost its
# quotes and the "LOG_LEVEL" line was a syntax error.
def test_an_env_file_is_read_as_docker_reads_it(tmp_path: Path) -> None:
    files = {_API: _api_unit("Environment=LOG_LEVEL=debug\nWorkingDirectory=/etc/bitriver", "--env-file api.env"),
             _ENV: _ENV_FILE}
    result = _write(tmp_path, files)
    password, url = _at(files, _ENV, '"changeme"'), _at(files, _ENV, "'postgres://")
    assert _rules(result, "BRL001", "BRL602") == [f"BRL602 {password}", f"BRL602 {url}"]
    api = _component(result, "bitriver-live")
    values = {key: (located.value, str(located.location)) for key, located in api.env.items()}
    assert values == {
        "DB_PASSWORD": ('"changeme"', password),
        "DATABASE_URL": ("'postgres://bitriver:s3cret@db:5432/live'", url),
        "LOG_FORMAT": ("json # not a comment", _at(files, _ENV, "json")),
        "PLAIN": ("${LOG_FORMAT}", _at(files, _ENV, "${LOG_FORMAT}")),
        "EMPTY_PASSWORD": ('""', _at(files, _ENV, '""')),
        "LOG_LEVEL": ("debug", _at(files, _API, "LOG_LEVEL=debug")),
    }


# The same file as the unit's EnvironmentFile= (systemd strips quotes) and the container's
# --env-file (docker keeps them): each reader sees its own value.
def test_an_env_file_read_by_systemd_and_docker_is_read_by_each_ones_rules(tmp_path: Path) -> None:
    files = {_API: _api_unit("EnvironmentFile=/etc/bitriver/api.env",
                             "--env-file /etc/bitriver/api.env -e LOG_LEVEL"),
             _ENV: 'DB_PASSWORD="changeme"\nLOG_LEVEL="warn"\n'}
    result = _write(tmp_path, files)
    api = _component(result, "bitriver-live")
    assert api.env["DB_PASSWORD"].value == '"changeme"'
    assert api.env["LOG_LEVEL"].value == "warn"  # the CLI's own, as systemd read it
    password = _at(files, _ENV, '"changeme"')
    assert _rules(result, "BRL001", "BRL602") == [f"BRL602 {password}"]


# Lines docker refuses (it then fails to start the container) are syntax errors of the file.
def test_an_env_file_line_docker_refuses_is_a_syntax_error(tmp_path: Path) -> None:
    files = {_API: _api_unit("", "--env-file=/etc/bitriver/api.env"),
             _ENV: "export LOG_LEVEL=debug\n=value\nOK=1\n"}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL001") == [f"BRL001 {_ENV}:1:1", f"BRL001 {_ENV}:2:1"]
    messages = [f.message for f in result.active if f.rule_id == "BRL001"]
    assert messages == ["docker refuses this --env-file line: variable 'export LOG_LEVEL' contains whitespace",
                        "docker refuses this --env-file line: no variable name"]
    assert _component(result, "bitriver-live").env["OK"].value == "1"


# The secret check judges a value without one pair of quotes around it, which docker keeps as
# part of the value (in an --env-file, as in compose's list form of `environment:`): a quoted
# fill-in placeholder or "none" holds no secret, a quoted password still does.
def test_a_quoted_value_holds_the_same_secret_or_none(tmp_path: Path) -> None:
    files = {"compose.yaml": """services:
  vpn:
    image: qmcgaw/gluetun
    environment:
      - WIREGUARD_PRIVATE_KEY='<your private key>'
      - DB_PASSWORD="none"
      - ADMIN_PASSWORD="hunter2"
"""}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL602") == [f"BRL602 {_at(files, 'compose.yaml', 'ADMIN_PASSWORD')}"]
