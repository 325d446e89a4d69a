"""SRS's own config (srs.conf) says which ports SRS listens on. It used to be recognised and left
alone: SRS's listeners were the guide's defaults (RTMP 1935, API 1985) or its environment, so a
published 1985 whose API the config turns off was reported as the SRS API, and an API moved to
11985 was never judged. Now the file of the compose service or systemd unit that runs it gives
the ports, its environment over them (SRS 5 reads SRS_<PATH> variables first), and BRL101/BRL102
find RTMP and the API by what the port serves, not by its usual number."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree
from hypothesis import given
from hypothesis import strategies as st

from bitriver_lint.engine import ScanResult
from bitriver_lint.formats import FORMATS, FileName
from bitriver_lint.graph import Listener
from bitriver_lint.loaders.srs import SrsConfig, listening, read
from bitriver_lint.model import Location


def _write(root: Path, files: dict[str, str | bytes]) -> ScanResult:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            (root / rel).write_bytes(text)
        else:
            (root / rel).write_text(text, encoding="utf-8")
    return scan_tree(root)


def _where(result: ScanResult, *rules: str) -> list[tuple[str, str]]:
    return [(f.rule_id, str(f.location)) for f in result.active if not rules or f.rule_id in rules]


def _listener(result: ScanResult, name: str, port: int) -> Listener:
    (component,) = [c for c in result.graph.components() if c.name == name]
    (found,) = [li for li in result.graph.listeners(component) if li.port == port]
    return found


_COMPOSE = """services:
  srs:
    image: ossrs/srs:5
    ports:
      - "1935:1935"
      - "1985:1985"
      - "11985:11985"
    volumes:
      - ./srs.conf:/usr/local/srs/conf/srs.conf
"""


def test_an_api_the_config_turns_off_is_no_api(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE, "srs.conf": (
        "listen 1935;\n"
        "http_api {\n"
        "    enabled off;\n"
        "    listen 1985;\n"
        "}\n")})
    assert _where(result, "BRL102", "BRL001") == []
    assert _listener(result, "srs", 1985).purpose is None
    assert _listener(result, "srs", 1935).purpose == "rtmp"


def test_an_absent_http_api_block_is_an_api_turned_off(tmp_path: Path) -> None:
    """SRS's get_http_api_enabled(): no http_api block, or no ``enabled``, is off."""
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE, "srs.conf": (
        "listen 1935;\n"
        "http_server {\n"
        "    enabled on;\n"
        "}\n"
        "vhost __defaultVhost__ {\n"
        "}\n")})
    assert _where(result, "BRL102", "BRL001") == []
    assert _listener(result, "srs", 8080).purpose == "srs-http"
    assert str(_listener(result, "srs", 8080).location) == "srs.conf:2:1"  # no listen: the block's default


def test_an_api_moved_to_another_port_is_judged_there(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE, "srs.conf": (
        "listen 1935;\n"
        "http_api {\n"
        "    enabled on;\n"
        "    listen 11985;\n"
        "}\n")})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:7:9")]
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert "the SRS HTTP API (11985/tcp) of srs is reachable from anywhere" in finding.message
    chain = [(str(r.location), r.message) for r in finding.related]
    assert chain[0] == ("docker-compose.yml:7:9", "published on port 11985 of all interfaces → container port 11985")
    assert ("srs.conf:4:12", "the SRS HTTP API (11985/tcp) of srs is set here: the HTTP API of srs.conf: "
            "listen 11985") in chain


def test_the_https_api_and_an_address_in_listen(tmp_path: Path) -> None:
    compose = _COMPOSE.replace('      - "11985:11985"\n', '      - "1990:1990"\n')
    result = _write(tmp_path, {"docker-compose.yml": compose, "srs.conf": (
        "listen 1935;\n"
        "http_api {\n"
        "    enabled on;\n"
        "    listen 127.0.0.1:1985;\n"
        "    https {\n"
        "        enabled on;\n"
        "    }\n"
        "}\n")})
    # Both are the API: 1985 (published, whatever the process binds in its container) and the
    # HTTPS API on its default 1990.
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:6:9"), ("BRL102", "docker-compose.yml:7:9")]
    api = _listener(result, "srs", 1985)
    assert (api.bind, api.tls, str(api.location)) == ("127.0.0.1", False, "srs.conf:4:12")
    https = _listener(result, "srs", 1990)
    assert (https.tls, https.purpose, str(https.location)) == (True, "srs-api", "srs.conf:5:5")


def test_the_environment_beats_the_file(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("    volumes:\n", "    environment:\n      SRS_HTTP_API_ENABLED: \"on\"\n"
                               "      SRS_HTTP_API_LISTEN: \"11985\"\n    volumes:\n")
    result = _write(tmp_path, {"docker-compose.yml": compose, "srs.conf": (
        "listen 1935;\n"
        "http_api {\n"
        "    enabled off;\n"
        "    listen 1985;\n"
        "}\n")})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:7:9")]
    api = _listener(result, "srs", 11985)
    assert (api.purpose, str(api.location), api.reason) == ("srs-api", "docker-compose.yml:10:28",
                                                            "SRS_HTTP_API_LISTEN=11985")
    (finding,) = [f for f in result.active if f.rule_id == "BRL102"]
    assert ("docker-compose.yml:10:28", "the SRS HTTP API (11985/tcp) of srs is set here: SRS_HTTP_API_LISTEN=11985"
            ) not in [(str(r.location), r.message) for r in finding.related]  # same file: no extra link


def test_the_environment_turns_the_api_off_without_a_config(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("    volumes:\n      - ./srs.conf:/usr/local/srs/conf/srs.conf\n",
                               "    environment:\n      SRS_HTTP_API_ENABLED: \"off\"\n")
    result = _write(tmp_path, {"docker-compose.yml": compose})
    assert _where(result, "BRL102") == []


def test_a_config_named_by_the_command_and_a_mounted_directory(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("      - ./srs.conf:/usr/local/srs/conf/srs.conf\n",
                               "      - ./conf:/usr/local/srs/conf\n"
                               "    command: [\"./objs/srs\", \"-c\", \"conf/origin.conf\"]\n")
    result = _write(tmp_path, {"docker-compose.yml": compose,
                               # the image's default config name, which this command does not read
                               "conf/srs.conf": "http_api {\n    enabled on;\n    listen 1985;\n}\n",
                               "conf/origin.conf": "listen 1935;\nhttp_api {\n  enabled on;\n  listen 11985;\n}\n"})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:7:9")]
    assert str(_listener(result, "srs", 11985).location) == "conf/origin.conf:4:10"


def test_every_service_mounting_the_config_runs_it_and_srs_conf_beats_docker_conf(tmp_path: Path) -> None:
    one = _COMPOSE.replace("./srs.conf:/usr/local/srs/conf/srs.conf", "./conf:/usr/local/srs/conf")
    compose = one + (one.split("services:\n")[1].replace("  srs:", "  srs2:").replace('"1935:1935"', '"1936:1935"')
                     .replace('"1985:1985"', '"1986:1985"').replace('"11985:11985"', '"11986:11985"'))
    result = _write(tmp_path, {"docker-compose.yml": compose,
                               # the pre-5 images' name: the SRS 5 image reads srs.conf
                               "conf/docker.conf": "listen 1935;\nhttp_api {\n  enabled on;\n}\n",
                               "conf/srs.conf": "listen 1935;\nhttp_api {\n  enabled on;\n  listen 11985;\n}\n"})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:7:9"), ("BRL102", "docker-compose.yml:15:9")]
    assert str(_listener(result, "srs", 11985).location) == "conf/srs.conf:4:10"
    assert str(_listener(result, "srs2", 11985).location) == "conf/srs.conf:4:10"


def test_a_systemd_unit_runs_the_config_its_exec_start_names(tmp_path: Path) -> None:
    result = _write(tmp_path, {
        "etc/systemd/system/srs.service": ("[Unit]\nDescription=SRS\n\n[Service]\n"
                                           "ExecStart=/usr/local/srs/objs/srs -c /etc/srs/srs.conf\n\n"
                                           "[Install]\nWantedBy=multi-user.target\n"),
        "etc/srs/srs.conf": "listen 1935;\nhttp_api {\n    enabled on;\n    listen 11985;\n}\n"})
    assert _where(result, "BRL102") == [("BRL102", "etc/srs/srs.conf:4:12")]
    assert _listener(result, "srs", 11985).host_bound
    assert not _listener(result, "srs", 1985).host_bound  # the default SRS no longer binds


def test_a_config_nothing_runs_changes_nothing(tmp_path: Path) -> None:
    """Guard against over-reading: a config no runner reads leaves the guide's defaults."""
    compose = _COMPOSE.replace("    volumes:\n      - ./srs.conf:/usr/local/srs/conf/srs.conf\n", "")
    result = _write(tmp_path, {"docker-compose.yml": compose,
                               "srs.conf": "listen 1935;\nhttp_api {\n    enabled off;\n}\n"})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:6:9")]


def test_an_include_leaves_the_ports_to_the_defaults_with_a_note(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE,
                               "srs.conf": "listen 1935;\ninclude ./conf/api.conf;\n"})
    assert _where(result, "BRL102", "BRL002") == [("BRL102", "docker-compose.yml:6:9"), ("BRL002", "srs.conf:2:9")]


def test_a_variable_in_listen_is_the_runners(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("    volumes:\n", "    environment:\n      API_PORT: \"11985\"\n    volumes:\n")
    result = _write(tmp_path, {"docker-compose.yml": compose,
                               "srs.conf": "listen 1935;\nhttp_api {\n    enabled on;\n    listen $API_PORT;\n}\n"})
    assert _where(result, "BRL102") == [("BRL102", "docker-compose.yml:7:9")]
    unset = _write(tmp_path / "unset", {"docker-compose.yml": _COMPOSE, "srs.conf": (
        "listen 1935;\nhttp_api {\n    enabled on;\n    listen $API_PORT;\n}\n")})
    assert _where(unset, "BRL102", "BRL002") == [("BRL002", "srs.conf:4:12")]


def test_srs_configs_are_recognised_by_name_and_content() -> None:
    srs = FORMATS["srs"]
    docker_conf = "listen 1935;\nhttp_api {\n  enabled on;\n}\n"
    assert srs.by_content(FileName.of("conf/docker.conf"), docker_conf).value == "yes"
    assert srs.by_content(FileName.of("deploy/srs.conf"), "listen 1935;\n").value == "yes"
    # nginx's site in front of SRS, named for it, stays nginx's.
    site = "server {\n  listen 80;\n  location / {\n    proxy_pass http://srs:8080;\n  }\n}\n"
    assert srs.by_content(FileName.of("nginx/conf.d/srs.conf"), site).value == "pass"
    nginx = FORMATS["nginx"]
    assert nginx.by_content(FileName.of("nginx/conf.d/srs.conf"), site).value == "yes"
    assert nginx.by_content(FileName.of("conf/docker.conf"), "http_server {\n listen 8080;\n}\n").value == "no"


# -- hostile input: BRL001, and the rest of the tree is still judged -------------------------------

def test_unbalanced_braces(tmp_path: Path) -> None:
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE,
                               "srs.conf": "listen 1935;\nhttp_api {\n    enabled off;\n    listen 1985;\n"})
    assert _where(result, "BRL001", "BRL102") == [("BRL102", "docker-compose.yml:6:9"), ("BRL001", "srs.conf:2:1")]
    (error,) = [f for f in result.active if f.rule_id == "BRL001"]
    assert "the block http_api is never closed" in error.message
    stray = _write(tmp_path / "stray", {"docker-compose.yml": _COMPOSE, "srs.conf": "listen 1935;\n}\n"})
    assert _where(stray, "BRL001") == [("BRL001", "srs.conf:2:1")]


def test_a_brace_variable_in_a_value_opens_a_block_as_srs_reads_it(tmp_path: Path) -> None:
    """SRS ends a word only at a space, ';' or '{': "token=${TOKEN};" is "token=$", a block, and
    a directive "TOKEN}" that closes nothing. BitRiver Live's own srs.conf does this in its hooks;
    SRS refuses it, so the file gives no ports and the runner keeps the guide's defaults."""
    hooks = ("listen 1935;\nhttp_api {\n    enabled off;\n}\nvhost __defaultVhost__ {\n    http_hooks {\n"
             "        enabled on;\n        on_publish http://api:8080/hook?token=${TOKEN};\n    }\n}\n")
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE, "srs.conf": hooks})
    assert _where(result, "BRL001", "BRL102") == [("BRL102", "docker-compose.yml:6:9"), ("BRL001", "srs.conf:8:20")]
    (error,) = [f for f in result.active if f.rule_id == "BRL001"]
    assert "on_publish's value http://api:8080/hook?token=${...} opens a block" in error.message
    # '}' and '#' inside a word are part of it, as for SRS; $NAME is fine.
    plain = hooks.replace("${TOKEN}", "$TOKEN#x}")
    assert _where(_write(tmp_path / "plain", {"docker-compose.yml": _COMPOSE, "srs.conf": plain}),
                  "BRL001", "BRL102") == []


def test_deep_nesting_and_a_bad_port(tmp_path: Path) -> None:
    deep = "http_api {\n" + "a {\n" * 5000 + "}\n" * 5001
    result = _write(tmp_path, {"docker-compose.yml": _COMPOSE, "srs.conf": deep})
    assert _where(result, "BRL001", "BRL102") == [("BRL102", "docker-compose.yml:6:9"), ("BRL001", "srs.conf:33:1")]
    bad = _write(tmp_path / "bad", {"docker-compose.yml": _COMPOSE,
                                    "srs.conf": "listen 1935;\nhttp_api {\n    enabled on;\n    listen 99999;\n}\n"})
    assert _where(bad, "BRL001", "BRL102") == [("BRL102", "docker-compose.yml:6:9"), ("BRL001", "srs.conf:4:12")]


def test_a_binary_srs_conf(tmp_path: Path) -> None:
    """In SRS's own layout (conf/srs.conf) the file is SRS's by its name, so a file that is no
    text says so; elsewhere only content makes a srs.conf SRS's (nginx's conf.d/srs.conf is the
    site in front of SRS), and a file that is no text is nobody's, as any *.conf."""
    compose = _COMPOSE.replace("./srs.conf:/usr/local/srs/conf/srs.conf", "./conf:/usr/local/srs/conf")
    result = _write(tmp_path, {"docker-compose.yml": compose, "conf/srs.conf": b"\x00\xff\xfe binary \x00" * 50,
                               "conf/docker.conf": "listen 1935;\nhttp_api {\n  enabled on;\n}\n".encode("gbk")
                               + "# 注释\n".encode("gbk")})
    assert _where(result, "BRL001", "BRL102") == [("BRL001", "conf/docker.conf:5:5"), ("BRL001", "conf/srs.conf:1:2"),
                                                  ("BRL102", "docker-compose.yml:6:9")]
    messages = [f.message for f in result.active if f.rule_id == "BRL001"]
    assert messages == ["not UTF-8 text (byte 0xca)", "not UTF-8 text (byte 0xff)"]


# -- any text: read() never raises, and every position is inside the text ----------------------

_TOKENS = ("listen", " 1935", " 127.0.0.1:1985", " [::]:8080", " 99999", " $PORT", "http_api", "http_server",
           "https", "rtc_server", "srt_server", "vhost __defaultVhost__", "enabled", " on", " off", "include x;",
           " {", "{", "}", ";", "\n", "#", '"', "'", "\\", "\t", "\r", "é", "\u2028", "9" * 4400)


@given(st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=5)), max_size=80))
def test_any_text_is_read_without_raising(parts: list[str]) -> None:
    """Guard against crashes, not a behaviour change: whatever the text, the loader returns a
    document, and its diagnostics and values point inside the file."""
    text = "".join(parts)
    doc = SrsConfig("conf/srs.conf", Location("conf/srs.conf"))
    read(doc, text)
    lines = text.count("\n") + 1
    places = [d.location for d in doc.diagnostics] + [i.location for i in doc.includes]
    if doc.root is not None:
        found = listening(doc, {}, doc.location)
        places += [p.location for p in found.ports if p.location is not None]
        places += [u.location for u in found.unknown]
    for place in places:
        assert place.path == "conf/srs.conf" and 1 <= place.line <= lines and place.column >= 1, place
