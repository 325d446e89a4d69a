"""Units whose ExecStart is ``docker run``, continued: the docker CLI's own options before
``run``, what ``-e KEY`` passes when systemd set KEY, and quotes a ``--env-file`` keeps."""

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


# -- the docker CLI's own options, before "run" ------------------------------------------------------

_INGEST = "systemd/ingest.service"


def _ingest(engine_options: str, command: str = "run") -> dict[str, str]:
    return {
        _INGEST: f"""[Unit]
Description=ingest container
After=docker.service

[Service]
Restart=always
ExecStart=/usr/bin/docker {engine_options} {command} --rm --name ingest -p 1985:1985 ossrs/srs:5

[Install]
WantedBy=multi-user.target
""",
        "firewall.sh": "ufw default deny incoming\nufw allow 1935/tcp\nufw --force enable\n",
    }


# "-H unix:///run/docker.sock": the socket was read as the command, so the unit was no
# container at all, SRS's published API (past ufw, by Docker's DNAT) went unnoticed.
@pytest.mark.parametrize(("engine_options", "command"), [
    ("-H unix:///run/docker.sock", "run"), ("--host unix:///run/docker.sock", "run"), ("-H=tcp://10.0.0.5:2376", "run"),
    ("--log-level warn", "run"), ("-l warn", "run"), ("--context prod", "run"), ("-c prod", "run"), ("-cprod", "run"),
    ("--config /etc/docker-cli", "run"), ("-D", "run"), ("-Dl warn", "run"),
    ("--tls --tlscacert /etc/ca.pem --tlscert /etc/cert.pem --tlskey /etc/key.pem", "run"),
    ("--tlsverify -H tcp://10.0.0.5:2376", "run"), ("--tls=false", "run"),
    ("-H unix:///run/docker.sock", "container run"), ("", "container run"),
])
def test_engine_options_before_run_are_the_docker_clis_own(tmp_path: Path, engine_options: str, command: str) -> None:
    files = _ingest(engine_options, command)
    result = _write(tmp_path, files)
    assert _rules(result, "BRL002", "BRL102") == [f"BRL102 {_at(files, _INGEST, '1985:1985')}"]
    srs = _component(result, "ingest")
    assert srs.role_reason == "image ossrs/srs:5 run by ExecStart"
    assert srs.command == []


# An engine option docker's tables do not have: the image is unknown, as after an unknown run
# option, but what the run options say is still read.
@pytest.mark.parametrize("engine_options", ["--some-new-flag", "--some-new-flag value", "-x"])
def test_an_unknown_engine_option_leaves_the_image_unknown(tmp_path: Path, engine_options: str) -> None:
    files = _ingest(engine_options)
    result = _write(tmp_path, files)
    srs = _component(result, "ingest")
    name = engine_options.split()[0]
    assert srs.role_reason.startswith(f"the image ExecStart runs is unknown ({name} is a docker option "
                                      "bitriver-lint does not know")
    assert srs.command == []
    assert [li.port for li in result.graph.listeners(srs)] == [1985]


# A loopback-only publish behind an engine option: read as a host process, the API was taken to
# bind 8080 on every interface (BRL104 and BRL107 at the ExecStart), and its data directory was
# not seen in the container's writable layer.
def test_a_loopback_publish_behind_engine_options_is_not_public(tmp_path: Path) -> None:
    rel = "units/bitriver-live.service"
    files = {rel: "[Unit]\nDescription=API\n\n[Service]\nRestart=always\n"
                  "ExecStart=/usr/bin/docker --log-level warn -H unix:///run/docker.sock run --rm "
                  "-p 127.0.0.1:8080:8080 registry.example.net/bitriver-live:1.4\n"}
    result = _write(tmp_path, files)
    assert _rules(result, "BRL104", "BRL107", "BRL503") == [f"BRL503 {rel}:1:1"]
    api = _component(result, "bitriver-live")
    assert api.runtime.value == "container"


# -- `-e KEY` of a variable systemd itself gives the unit -----------------------------------------------

_API = "units/bitriver-live.service"


def _api_unit(service: str, run_options: str) -> str:
    return f"""[Unit]
Description=BitRiver Live API in a container

[Service]
Restart=always
{service}
ExecStart=/usr/bin/docker run --rm --network host \\
    {run_options} \\
    registry.example.net/bitriver-live:1.4
"""


# systemd gives every service PATH, and USER, LOGNAME, HOME and SHELL with User=: the docker CLI
# has them, so "-e PATH" passes them into the container. They were read as unset, as if the
# CLI had none to pass.
def test_e_key_passes_the_variables_systemd_gives_the_unit(tmp_path: Path) -> None:
    files = {_API: _api_unit("User=bitriver\nStateDirectory=bitriver-live other:alias\nType=notify",
                             "-e PATH -e USER -e LOGNAME -e HOME -e SHELL -e INVOCATION_ID -e STATE_DIRECTORY "
                             "--env NOTIFY_SOCKET -e LANG -e NOPE")}
    api = _component(_write(tmp_path, files), "bitriver-live")
    path = api.env["PATH"]
    assert isinstance(path.value, Unknown)
    assert path.value.names == ("PATH",)
    assert "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin" in path.value.why
    assert str(path.location) == _at(files, _API, "PATH -e")
    assert api.env["USER"].value == api.env["LOGNAME"].value == "bitriver"
    assert str(api.env["USER"].location) == _at(files, _API, "bitriver\n")
    for key in ("HOME", "SHELL"):
        value = api.env[key].value
        assert isinstance(value, Unknown) and "of user bitriver in the host's user database" in value.why
        assert str(api.env[key].location) == _at(files, _API, "bitriver\n")
    invocation = api.env["INVOCATION_ID"]
    assert isinstance(invocation.value, Unknown)
    assert str(invocation.location) == _at(files, _API, "INVOCATION_ID")
    assert api.env["STATE_DIRECTORY"].value == "/var/lib/bitriver-live:/var/lib/other"
    assert str(api.env["STATE_DIRECTORY"].location) == _at(files, _API, "bitriver-live other")
    assert api.env["NOTIFY_SOCKET"].value == "/run/systemd/notify"
    assert str(api.env["NOTIFY_SOCKET"].location) == _at(files, _API, "notify\n")
    assert isinstance(api.env["LANG"].value, Unknown)
    assert "NOPE" not in api.env


def test_the_units_own_setting_wins_over_systemds(tmp_path: Path) -> None:
    files = {_API: _api_unit("Environment=PATH=/opt/bitriver/bin HOME=/srv/api", "-e PATH -e HOME -e USER")}
    api = _component(_write(tmp_path, files), "bitriver-live")
    assert api.env["PATH"].value == "/opt/bitriver/bin"
    assert str(api.env["PATH"].location) == _at(files, _API, "PATH=/opt")
    assert api.env["HOME"].value == "/srv/api"
    # Without User=, systemd sets no USER (nor HOME): the CLI has none to pass.
    assert "USER" not in api.env


def test_root_and_a_dynamic_user(tmp_path: Path) -> None:
    files = {_API: _api_unit("User=root", "-e HOME -e USER")}
    api = _component(_write(tmp_path, files), "bitriver-live")
    assert (api.env["HOME"].value, api.env["USER"].value) == ("/root", "root")
    files = {_API: _api_unit("DynamicUser=yes", "-e HOME -e USER")}
    api = _component(_write(tmp_path, files), "bitriver-live")
    for key in ("HOME", "USER"):
        value = api.env[key].value
        assert isinstance(value, Unknown) and "DynamicUser=yes allocates" in value.why
        assert str(api.env[key].location) == _at(files, _API, "yes\n")


# "PATH" alone in an --env-file passes the CLI's PATH, placed at that line.
def test_a_key_alone_in_an_env_file_passes_systemds_variable(tmp_path: Path) -> None:
    files = {_API: _api_unit("User=bitriver\nWorkingDirectory=/opt/bitriver", "--env-file api.env"),
             "units/api.env": "LOG_LEVEL=info\nPATH\nUSER\n"}
    api = _component(_write(tmp_path, files), "bitriver-live")
    assert isinstance(api.env["PATH"].value, Unknown)
    assert str(api.env["PATH"].location) == "units/api.env:2:1"
    assert api.env["USER"].value == "bitriver"


# -- a quoted connection string in an --env-file ------------------------------------------------------

_DB = {"units/postgres.service": "[Unit]\nDescription=db\n\n[Service]\nRestart=always\n"
                                 "ExecStart=/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main\n"}


def _quoted_env(run_options: str, env_text: str, second_unit: bool = False) -> dict[str, str]:
    files = {_API: _api_unit("WorkingDirectory=/opt/bitriver", run_options), "units/api.env": env_text, **_DB}
    if second_unit:
        files["units/bitriver-live-2.service"] = files[_API]
    return files


# docker keeps the quotes: the app gets '"postgres://…"', no connection string. Since the env
# file is read as docker reads it, no connection was made and nothing said why.
def test_a_quoted_connection_string_in_an_env_file_is_a_note_where_it_is_written(tmp_path: Path) -> None:
    env_text = "LOG_LEVEL=info\nDATABASE_URL=\"postgres://api@127.0.0.1:5432/bitriver\"\nREDIS_URL='redis://cache:6379'\n"
    files = _quoted_env("--env-file api.env", env_text, second_unit=True)
    result = _write(tmp_path, files)
    # Once per value, however many units read the file.
    assert _rules(result, "BRL002", "BRL604") == ["BRL002 units/api.env:2:14", "BRL002 units/api.env:3:11"]
    notes = [f.message for f in result.active if f.rule_id == "BRL002"]
    assert notes[0].startswith("DATABASE_URL in units/api.env is quoted, and docker run --env-file keeps the quotes")
    assert '"postgres://api@127.0.0.1:5432/bitriver"' in notes[0]
    assert notes[0].endswith("remove the quotes")
    assert notes[1].startswith("REDIS_URL in units/api.env is quoted")
    api = _component(result, "bitriver-live")
    assert api.env["DATABASE_URL"].value == '"postgres://api@127.0.0.1:5432/bitriver"'


def test_unquoted_or_overridden_connection_strings_are_no_note(tmp_path: Path) -> None:
    env_text = "DATABASE_URL=postgres://api@127.0.0.1:5432/bitriver\nREDIS_URL=\"redis://127.0.0.1:6379\"\n"
    files = _quoted_env("--env-file api.env -e REDIS_URL=redis://127.0.0.1:6379 -e MOTD='\"hello\"'", env_text)
    result = _write(tmp_path, files)
    assert _rules(result, "BRL002") == []
    api, db = _component(result, "bitriver-live"), _component(result, "postgres")
    assert [target for _, target, _ in result.graph.out_edges(api.id, "connects_to")] == [f"{db.id}#5432/tcp"]
